//! `contract verify`'s Pact Broker part: the broker settings from the flags (checked as a
//! `[[suite.pact]]`'s would be), the client with its credentials (flags, else the
//! `PACT_BROKER_*` environment variables), and one suite per broker pact.

use modelci_contract::pact_broker::{self, Fetched};
use modelci_contract::pact_verify::{PactCheck, VerifyOptions};
use modelci_runner::{Planned, SetupFailed};

use crate::cli::{BrokerVerifyArgs, VerifyArgs};

/// `contract verify`'s broker flags, by the `[[suite.pact]]` key each one sets.
pub const BROKER_FLAGS: &[(&str, &str)] = &[
    ("broker_url", "--broker-url"),
    ("provider", "--provider"),
    ("consumer_version_selectors", "--consumer-version-selector"),
    ("enable_pending", "--enable-pending"),
    ("include_wip_pacts_since", "--include-wip-pacts-since"),
    ("provider_version", "--provider-version"),
    ("provider_branch", "--provider-branch"),
    ("provider_tags", "--provider-tag"),
    ("build_url", "--build-url"),
    ("publish_results", "--publish"),
];

/// The broker URL: the flag, else `PACT_BROKER_BASE_URL` when a provider is named (a broker
/// verification without --broker-url).
pub fn broker_url(args: &BrokerVerifyArgs) -> Option<String> {
    args.broker_url
        .clone()
        .filter(|u| !u.trim().is_empty())
        .or_else(|| {
            args.provider.as_ref()?;
            std::env::var("PACT_BROKER_BASE_URL")
                .ok()
                .filter(|u| !u.trim().is_empty())
        })
}

/// The flags' broker keys, into the `[[suite.pact]]` table `raw`.
///
/// # Errors
/// A selector that is neither JSON nor `key=value` pairs, or uses an unknown key.
pub fn fill(
    raw: &mut modelci_config::PactSuiteFile,
    args: &BrokerVerifyArgs,
) -> Result<(), String> {
    use toml::Spanned;
    let spanned = |v: &Option<String>| v.clone().map(|v| Spanned::new(0..0, v));
    let selectors = args
        .selectors
        .iter()
        .map(|s| {
            modelci_broker::parse_selector(s)
                .map_err(|e| format!("--consumer-version-selector: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    raw.broker_url = broker_url(args).map(|u| Spanned::new(0..0, u));
    raw.provider = spanned(&args.provider);
    raw.consumer_version_selectors = (!selectors.is_empty()).then(|| Spanned::new(0..0, selectors));
    raw.enable_pending = args.enable_pending;
    raw.include_wip_pacts_since = spanned(&args.include_wip_pacts_since);
    raw.provider_version = spanned(&args.provider_version);
    raw.provider_branch.clone_from(&args.provider_branch);
    raw.provider_tags.clone_from(&args.provider_tags);
    raw.build_url.clone_from(&args.build_url);
    raw.publish_results = args.publish;
    Ok(())
}

/// The suites of the broker's pacts: one per pact (each with its publishing case when
/// --publish), a suite with one errored case for what could not be fetched. The broker's
/// notices go in each suite's `broker_notices` property, which the terminal shows.
///
/// # Errors
/// Unusable broker settings (a malformed URL, a password without a user name).
pub fn plan(
    args: &VerifyArgs,
    settings: &modelci_config::PactBroker,
    opts: &VerifyOptions,
) -> Result<Vec<Planned>, String> {
    let env = |k: &str| std::env::var(k).ok();
    let b = &args.broker;
    let config = modelci_broker::Config::resolve(
        Some(&settings.url),
        b.broker_token.as_deref(),
        b.broker_username.as_deref(),
        b.broker_password.as_deref(),
        env,
        opts.timeout,
    )
    .map_err(|e| e.to_string())?;
    let broker = modelci_broker::Broker::new(&config).map_err(|e| e.to_string())?;
    let secrets = {
        let mut r = modelci_contract::redactor(
            Default::default(),
            &[opts.provider_url.as_str()],
            &opts.headers,
        );
        for secret in [&config_token(&config), &config_password(&config)]
            .into_iter()
            .flatten()
        {
            r.secret(secret);
        }
        r
    };
    let Fetched {
        pacts,
        publisher,
        shown,
    } = pact_broker::fetch(broker, settings, opts.allow_empty);
    let mut planned = Vec::new();
    if pacts.is_empty() {
        let case = modelci_report::Case::skipped(
            "(no pacts)",
            format!(
                "the Pact Broker at {shown} has no pacts for provider `{}` to verify; passing \
                 because --allow-empty is set",
                settings.provider
            ),
        );
        planned.push(Planned {
            name: format!("{} (Pact Broker)", settings.provider),
            kind: "pact".into(),
            location: None,
            suite: Box::new(SetupFailed::from_case(case)),
        });
    }
    for pact in pacts {
        match pact {
            Ok(bp) => {
                let mut properties = modelci_report::Properties::new();
                properties.insert("pact", bp.fetched.shown.clone());
                properties.insert("broker_url", shown.clone());
                properties.insert("consumer", bp.loaded.pact.consumer.clone());
                properties.insert("provider", bp.loaded.pact.provider.clone());
                properties.insert("pact_specification", bp.loaded.pact.version.as_str());
                if !bp.fetched.reference.description.is_empty() {
                    properties.insert("selected_as", bp.fetched.reference.description.clone());
                }
                if bp.pending() {
                    properties.insert("pending", "true");
                }
                let name = format!(
                    "{} -> {}{}",
                    bp.loaded.pact.consumer,
                    bp.loaded.pact.provider,
                    if bp.fetched.reference.description.is_empty() {
                        String::new()
                    } else {
                        format!(" [{}]", bp.fetched.reference.description)
                    }
                );
                let location = Some(modelci_report::Location::file(bp.fetched.shown.clone()));
                let fetched = Fetched {
                    pacts: vec![Ok(bp)],
                    publisher: publisher.clone(),
                    shown: shown.clone(),
                };
                planned.push(Planned {
                    name,
                    kind: "pact".into(),
                    location,
                    suite: Box::new(PactCheck::with_broker(
                        Vec::new(),
                        fetched,
                        opts.clone(),
                        secrets.clone(),
                        properties,
                    )),
                });
            }
            Err(e) => planned.push(Planned {
                name: format!("{} (Pact Broker)", settings.provider),
                kind: "pact".into(),
                location: None,
                suite: Box::new(SetupFailed::from_case(e.to_case())),
            }),
        }
    }
    if args.broker.publish && publisher.is_none() {
        crate::output::warning("--publish: no results to publish (the broker gave no pacts)");
    }
    Ok(planned)
}

fn config_token(config: &modelci_broker::Config) -> Option<String> {
    match &config.auth {
        modelci_broker::Auth::Bearer(t) => Some(t.clone()),
        _ => None,
    }
}

fn config_password(config: &modelci_broker::Config) -> Option<String> {
    match &config.auth {
        modelci_broker::Auth::Basic { password, .. } if !password.is_empty() => {
            Some(password.clone())
        }
        _ => None,
    }
}
