//! `modelci contract verify` and `modelci contract mock`.

use std::time::Duration;

use modelci_contract::pact_verify::{self, PactCheck, VerifyOptions};
use modelci_runner::{Planned, SetupFailed};

use crate::cli::{MockArgs, VerifyArgs};
use crate::output::{self, EXIT_ERROR};

/// Parses `Name: value`.
pub fn parse_header(text: &str) -> Result<(String, String), String> {
    match text.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        }
        // The value may be a secret: only the name part is shown.
        _ => Err("--header takes `Name: value` (the header given has no `:`)".to_owned()),
    }
}

/// `contract verify`'s flags, by the `[[suite.pact]]` key each one sets.
const VERIFY_FLAGS: &[(&str, &str)] = &[
    ("pacts", "--pact"),
    ("provider_url", "--provider-url"),
    ("state_change_url", "--state-change-url"),
    ("filter_description", "--filter-description"),
    ("filter_state", "--filter-state"),
    ("allow_empty", "--allow-empty"),
    ("timeout_secs", "--timeout"),
    ("concurrency", "--concurrency"),
];

/// The flags make a `[[suite.pact]]` table, checked as the configuration's would be.
fn options(args: &VerifyArgs) -> Result<(VerifyOptions, modelci_config::PactSuite), String> {
    use toml::Spanned;
    let headers = args
        .header
        .iter()
        .map(|h| parse_header(h))
        .collect::<Result<Vec<_>, _>>()?;
    let raw = modelci_config::PactSuiteFile {
        name: Spanned::new(0..0, "pact".to_owned()),
        pacts: (!args.pact.is_empty()).then(|| Spanned::new(0..0, args.pact.clone())),
        provider_url: Spanned::new(0..0, args.provider_url.clone()),
        state_change_url: args.state_change_url.clone().map(|u| Spanned::new(0..0, u)),
        state_change_teardown: args.state_change_teardown,
        filter_description: args
            .filter_description
            .clone()
            .map(|r| Spanned::new(0..0, r)),
        filter_state: args.filter_state.clone().map(|r| Spanned::new(0..0, r)),
        headers: std::collections::BTreeMap::new(),
        secret_headers: std::collections::BTreeMap::new(),
        timeout_secs: Some(args.timeout),
        concurrency: Some(args.concurrency),
        allow_empty: args.allow_empty,
        broker_url: None,
        broker_token_env: None,
        broker_username_env: None,
        broker_password_env: None,
        provider: None,
        consumer_version_selectors: None,
        enable_pending: false,
        include_wip_pacts_since: None,
        provider_version: None,
        provider_branch: None,
        provider_tags: Vec::new(),
        build_url: None,
        publish_results: false,
    };
    let mut raw = raw;
    crate::commands::contract_broker::fill(&mut raw, &args.broker)?;
    let flags: Vec<(&str, &str)> = VERIFY_FLAGS
        .iter()
        .chain(crate::commands::contract_broker::BROKER_FLAGS)
        .copied()
        .collect();
    let spec = modelci_config::pact::resolve(raw, &modelci_config::Origin::flags(&flags))
        .map_err(|e| e.to_string())?;
    // Headers as given, in order (a name may repeat).
    Ok((VerifyOptions::from_suite(&spec, headers), spec))
}

pub fn verify(args: &VerifyArgs) -> u8 {
    let (opts, spec) = match options(args) {
        Ok(o) => o,
        Err(message) => {
            output::error(&message, None);
            return EXIT_ERROR;
        }
    };
    let outputs = match output::requested(&args.reports) {
        Ok(o) => o,
        Err(message) => {
            output::error(&message, None);
            return EXIT_ERROR;
        }
    };
    let options = crate::commands::run_options(None);
    // One suite per pact (a source that cannot be read is a suite with one errored case).
    let planned: Vec<Planned> = pact_verify::load(&args.pact, opts.timeout)
        .into_iter()
        .map(|loaded| match loaded {
            Ok(pact) => {
                let mut properties = modelci_report::Properties::new();
                properties.insert("pact", pact.pact.source.clone());
                properties.insert("consumer", pact.pact.consumer.clone());
                properties.insert("provider", pact.pact.provider.clone());
                properties.insert("pact_specification", pact.pact.version.as_str());
                Planned {
                    name: suite_name(&pact.pact),
                    kind: "pact".into(),
                    location: Some(modelci_report::Location::file(pact.pact.source.clone())),
                    suite: Box::new(PactCheck::new(
                        vec![Ok(pact)],
                        opts.clone(),
                        modelci_contract::redactor(
                            Default::default(),
                            &[opts.provider_url.as_str()],
                            &opts.headers,
                        ),
                        properties,
                    )),
                }
            }
            Err(e) => Planned {
                name: e.source.clone(),
                kind: "pact".into(),
                location: None,
                suite: Box::new(SetupFailed::from_case(e.to_case())),
            },
        })
        .collect();
    let mut planned = planned;
    if let Some(settings) = &spec.broker {
        match crate::commands::contract_broker::plan(args, settings, &opts) {
            Ok(suites) => planned.extend(suites),
            Err(message) => {
                output::error(&message, None);
                return EXIT_ERROR;
            }
        }
    }
    let mut progress = crate::terminal::Progress::new();
    let mut run = modelci_runner::run_planned(planned, &options, &mut progress);
    progress.finish();
    run.properties.insert(
        "provider_url",
        modelci_contract::shown_url(&opts.provider_url),
    );
    output::finish(&run, &outputs)
}

fn suite_name(pact: &modelci_pact::Pact) -> String {
    match (pact.consumer.as_str(), pact.provider.as_str()) {
        ("", "") => pact.source.clone(),
        (c, p) => format!("{c} -> {p}"),
    }
}

pub fn chrono_now() -> String {
    modelci_runner::now_rfc3339()
}

pub fn mock(args: &MockArgs) -> u8 {
    let mut pacts = Vec::new();
    for loaded in pact_verify::load(&args.pact, Duration::from_secs(30)) {
        match loaded {
            Ok(p) => pacts.push(p.pact),
            Err(e) => {
                output::error(&e.message, None);
                return EXIT_ERROR;
            }
        }
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            output::error(&format!("failed to start the server runtime: {e}"), None);
            return EXIT_ERROR;
        }
    };
    rt.block_on(async {
        let (addr, listener, skipped) =
            match modelci_contract::pact_mock::bind(&pacts, &args.host, args.port).await {
                Ok(b) => b,
                Err(e) => {
                    output::error(
                        &format!("cannot listen on {}:{}: {e}", args.host, args.port),
                        None,
                    );
                    return EXIT_ERROR;
                }
            };
        output::stdout(&format!("listening on http://{addr}\n"));
        for s in skipped {
            output::warning(&s);
        }
        let shutdown = async {
            let ctrl_c = tokio::signal::ctrl_c();
            #[cfg(unix)]
            {
                let mut term =
                    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    {
                        Ok(t) => t,
                        Err(_) => {
                            let _ = ctrl_c.await;
                            return;
                        }
                    };
                tokio::select! {
                    _ = ctrl_c => {},
                    _ = term.recv() => {},
                }
            }
            #[cfg(not(unix))]
            {
                let _ = ctrl_c.await;
            }
        };
        match modelci_contract::pact_mock::serve(&pacts, listener, shutdown).await {
            Ok(()) => 0,
            Err(e) => {
                output::error(&format!("the stub server failed: {e}"), None);
                EXIT_ERROR
            }
        }
    })
}
