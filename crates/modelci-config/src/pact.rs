//! `[[suite.pact]]`: a running provider verified against pact files (consumer-driven contracts).

use std::path::Path;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

use crate::resolve::{limits, secret_headers};
use crate::values::is_http_url;
use crate::{ConfigError, Origin};

/// One `[[suite.pact]]` table.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PactSuiteFile {
    /// The suite's name: unique in the file; letters, digits, `.`, `_` and `-`.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// Pact files, folders of pact files (every `*.json`), or `http(s)://` URLs. Optional when
    /// `broker_url` is set (the broker's pacts are verified as well).
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub pacts: Option<Spanned<Vec<String>>>,
    /// Base URL of the provider under test.
    #[schemars(with = "String")]
    pub provider_url: Spanned<String>,
    /// Where provider states are set up: modelci POSTs `{"state", "params", "action": "setup"}`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub state_change_url: Option<Spanned<String>>,
    /// Also POST `"action": "teardown"` after each interaction with provider states.
    #[serde(default)]
    pub state_change_teardown: bool,
    /// Only interactions whose description matches this regular expression.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub filter_description: Option<Spanned<String>>,
    /// Only interactions with a provider state matching this regular expression.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub filter_state: Option<Spanned<String>>,
    /// Extra headers sent with every request, as written (no secrets here: see
    /// `secret_headers`).
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    /// Headers whose values are secrets: header name -> the name of the environment variable
    /// that holds the whole value (e.g. `Authorization = "PROVIDER_AUTH"` with
    /// `PROVIDER_AUTH="Bearer ..."`). Values are never printed.
    #[serde(default)]
    #[schemars(with = "std::collections::BTreeMap<String, String>")]
    pub secret_headers: std::collections::BTreeMap<String, Spanned<String>>,
    /// Seconds to wait for each request (default 30).
    #[serde(default)]
    pub timeout_secs: Option<f64>,
    /// Interactions without provider states verified at once (default 8).
    #[serde(default)]
    pub concurrency: Option<usize>,
    /// Pass when there is nothing to verify (no interactions, or filters that match none)
    /// instead of failing with exit 2 (the Pact CLIs' `--fail-if-no-pacts-found=false`).
    #[serde(default)]
    pub allow_empty: bool,
    /// A Pact Broker (or PactFlow) to fetch the pacts to verify from (its pacts-for-verification
    /// API). Credentials come from the environment: see `broker_token_env`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub broker_url: Option<Spanned<String>>,
    /// The environment variable holding the broker's bearer token (default
    /// `PACT_BROKER_TOKEN`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub broker_token_env: Option<Spanned<String>>,
    /// The environment variable holding the broker's user name, for basic authentication
    /// (default `PACT_BROKER_USERNAME`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub broker_username_env: Option<Spanned<String>>,
    /// The environment variable holding the broker's password (default
    /// `PACT_BROKER_PASSWORD`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub broker_password_env: Option<Spanned<String>>,
    /// The provider's name in the broker (required with `broker_url`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub provider: Option<Spanned<String>>,
    /// Which consumer versions' pacts to verify, as the broker documents them:
    /// `[{mainBranch = true}, {deployedOrReleased = true}]`. Keys: `mainBranch`, `branch`,
    /// `matchingBranch`, `fallbackBranch`, `deployed`, `released`, `deployedOrReleased`,
    /// `environment`, `latest`, `tag`, `fallbackTag`, `consumer`. None leaves the choice to
    /// the broker.
    #[serde(default)]
    #[schemars(with = "Vec<serde_json::Map<String, serde_json::Value>>")]
    pub consumer_version_selectors: Option<Spanned<Vec<serde_json::Value>>>,
    /// Ask the broker which pacts are pending: their failures are reported but do not fail the
    /// run.
    #[serde(default)]
    pub enable_pending: bool,
    /// Also verify work-in-progress pacts created since this date (`2024-01-31`); they are
    /// pending, so this enables pending pacts too.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub include_wip_pacts_since: Option<Spanned<String>>,
    /// The provider version being verified (required with `publish_results`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub provider_version: Option<Spanned<String>>,
    /// The provider version's branch: sent to the broker (pending pacts, `matchingBranch`)
    /// and recorded with the results.
    #[serde(default)]
    pub provider_branch: Option<String>,
    /// The provider version's tags (older brokers' alternative to branches).
    #[serde(default)]
    pub provider_tags: Vec<String>,
    /// The CI build's URL, published with the results.
    #[serde(default)]
    pub build_url: Option<String>,
    /// Publish each broker pact's verification result to the broker, once the whole run is
    /// complete (never from a sharded run).
    #[serde(default)]
    pub publish_results: bool,
}

/// Where a `[[suite.pact]]`'s broker pacts come from, and what to publish.
#[derive(Clone)]
pub struct PactBroker {
    /// The broker's base URL.
    pub url: String,
    /// The environment variables of the credentials: token, user name, password.
    pub token_env: String,
    pub username_env: String,
    pub password_env: String,
    /// The provider's name.
    pub provider: String,
    /// Consumer version selectors (JSON objects).
    pub selectors: Vec<serde_json::Value>,
    /// 1-based line of `consumer_version_selectors` (or of `broker_url`).
    pub selectors_line: u32,
    pub enable_pending: bool,
    pub include_wip_pacts_since: Option<String>,
    pub provider_version: Option<String>,
    pub provider_branch: Option<String>,
    pub provider_tags: Vec<String>,
    pub build_url: Option<String>,
    pub publish_results: bool,
    /// 1-based line of `broker_url`.
    pub line: u32,
}

impl std::fmt::Debug for PactBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PactBroker")
            .field("url", &self.url)
            .field("provider", &self.provider)
            .field("selectors", &self.selectors)
            .field("publish_results", &self.publish_results)
            .finish_non_exhaustive()
    }
}

/// A resolved `[[suite.pact]]`.
#[derive(Debug, Clone)]
pub struct PactSuite {
    /// Pact sources: paths resolved against the config folder, and URLs as written.
    pub pacts: Vec<String>,
    /// 1-based line of the `pacts` key.
    pub pacts_line: u32,
    pub provider_url: String,
    pub state_change_url: Option<String>,
    pub state_change_teardown: bool,
    pub filter_description: Option<String>,
    pub filter_state: Option<String>,
    /// Plain headers.
    pub headers: Vec<(String, String)>,
    /// Secret headers: (header name, environment variable, 1-based line).
    pub secret_headers: Vec<(String, String, u32)>,
    /// Each request's deadline.
    pub timeout: Duration,
    pub concurrency: usize,
    /// Nothing to verify passes (a skipped case) instead of erroring.
    pub allow_empty: bool,
    /// Pacts from a Pact Broker.
    pub broker: Option<Box<PactBroker>>,
}

/// Checks a `[[suite.pact]]` table (or `contract verify`'s flags) and resolves its paths.
///
/// # Errors
/// No pacts, a URL that is not http(s), a filter that is not a regular expression, a bad
/// secret header variable, a timeout or concurrency out of range.
pub fn resolve(raw: PactSuiteFile, origin: &Origin<'_>) -> Result<PactSuite, ConfigError> {
    let listed = raw.pacts.as_ref().is_some_and(|p| !p.get_ref().is_empty());
    if !listed && raw.broker_url.is_none() {
        let at = raw
            .pacts
            .as_ref()
            .map_or(raw.name.span().start, |p| p.span().start);
        return Err(origin.error(
            at,
            format!(
                "{} must list at least one pact file, folder or URL (or set {} to verify a Pact \
                 Broker's pacts)",
                origin.name("pacts"),
                origin.name("broker_url")
            ),
        ));
    }
    let broker = broker(&raw, origin)?;
    let pacts_line = raw
        .pacts
        .as_ref()
        .map_or(0, |p| origin.line(p.span().start));
    let pacts = raw
        .pacts
        .as_ref()
        .map(Spanned::get_ref)
        .into_iter()
        .flatten()
        .map(|p| {
            if is_http_url(p) {
                p.clone()
            } else {
                origin.path(Path::new(p)).to_string_lossy().into_owned()
            }
        })
        .collect();
    for (key, url) in std::iter::once(("provider_url", &raw.provider_url))
        .chain(raw.state_change_url.iter().map(|u| ("state_change_url", u)))
    {
        if !is_http_url(url.get_ref()) {
            return Err(origin.error(
                url.span().start,
                format!(
                    "{} must be an http:// or https:// URL, not `{}`",
                    origin.name(key),
                    url.get_ref()
                ),
            ));
        }
    }
    for (key, re) in raw
        .filter_description
        .iter()
        .map(|r| ("filter_description", r))
        .chain(raw.filter_state.iter().map(|r| ("filter_state", r)))
    {
        if let Err(e) = crate::regex_syntax_check(re.get_ref()) {
            return Err(origin.error(
                re.span().start,
                format!(
                    "{}: invalid regex `{}`: {e}",
                    origin.name(key),
                    re.get_ref()
                ),
            ));
        }
    }
    let secret_headers = secret_headers(&raw.secret_headers, origin)?;
    let (timeout, concurrency) = limits(
        raw.timeout_secs,
        raw.concurrency,
        raw.provider_url.span().start,
        origin,
    )?;
    Ok(PactSuite {
        pacts,
        pacts_line,
        provider_url: raw.provider_url.into_inner(),
        state_change_url: raw.state_change_url.map(Spanned::into_inner),
        state_change_teardown: raw.state_change_teardown,
        filter_description: raw.filter_description.map(Spanned::into_inner),
        filter_state: raw.filter_state.map(Spanned::into_inner),
        headers: raw.headers.into_iter().collect(),
        secret_headers,
        timeout,
        concurrency,
        allow_empty: raw.allow_empty,
        broker,
    })
}

/// The broker keys, checked: all of them need `broker_url`, which needs `provider`;
/// publishing needs `provider_version`.
fn broker(
    raw: &PactSuiteFile,
    origin: &Origin<'_>,
) -> Result<Option<Box<PactBroker>>, ConfigError> {
    let Some(url) = &raw.broker_url else {
        let stray = [
            ("provider", raw.provider.as_ref().map(|p| p.span().start)),
            (
                "consumer_version_selectors",
                raw.consumer_version_selectors
                    .as_ref()
                    .map(|p| p.span().start),
            ),
            (
                "provider_version",
                raw.provider_version.as_ref().map(|p| p.span().start),
            ),
            (
                "include_wip_pacts_since",
                raw.include_wip_pacts_since.as_ref().map(|p| p.span().start),
            ),
        ];
        if let Some((key, Some(at))) = stray.iter().find(|(_, at)| at.is_some()) {
            return Err(origin.error(
                *at,
                format!(
                    "{} is a Pact Broker setting: set {} too",
                    origin.name(key),
                    origin.name("broker_url")
                ),
            ));
        }
        if raw.publish_results {
            return Err(origin.error(
                raw.name.span().start,
                format!(
                    "{} publishes to a Pact Broker: set {} too",
                    origin.name("publish_results"),
                    origin.name("broker_url")
                ),
            ));
        }
        return Ok(None);
    };
    if !is_http_url(url.get_ref()) {
        return Err(origin.error(
            url.span().start,
            format!(
                "{} must be an http:// or https:// URL",
                origin.name("broker_url"),
            ),
        ));
    }
    let line = origin.line(url.span().start);
    let provider = match &raw.provider {
        Some(p) if !p.get_ref().trim().is_empty() => p.get_ref().trim().to_owned(),
        Some(p) => {
            return Err(origin.error(
                p.span().start,
                format!("{} is empty", origin.name("provider")),
            ));
        }
        None => {
            return Err(origin.error(
                url.span().start,
                format!(
                    "{} needs {}: the provider's name in the broker",
                    origin.name("broker_url"),
                    origin.name("provider")
                ),
            ));
        }
    };
    let provider_version = raw
        .provider_version
        .as_ref()
        .map(|v| v.get_ref().trim().to_owned())
        .filter(|v| !v.is_empty());
    if raw.publish_results && provider_version.is_none() {
        return Err(origin.error(
            raw.provider_version
                .as_ref()
                .map_or(url.span().start, |v| v.span().start),
            format!(
                "{} needs {}: the provider version the results are for",
                origin.name("publish_results"),
                origin.name("provider_version")
            ),
        ));
    }
    if let Some(since) = &raw.include_wip_pacts_since
        && !is_date(since.get_ref())
    {
        return Err(origin.error(
            since.span().start,
            format!(
                "{} must be a date (YYYY-MM-DD, or an RFC 3339 time), not `{}`",
                origin.name("include_wip_pacts_since"),
                since.get_ref()
            ),
        ));
    }
    let mut vars = Vec::new();
    for (key, value, default) in [
        (
            "broker_token_env",
            &raw.broker_token_env,
            "PACT_BROKER_TOKEN",
        ),
        (
            "broker_username_env",
            &raw.broker_username_env,
            "PACT_BROKER_USERNAME",
        ),
        (
            "broker_password_env",
            &raw.broker_password_env,
            "PACT_BROKER_PASSWORD",
        ),
    ] {
        match value {
            Some(v) => {
                crate::secret::check_var_name(v.get_ref()).map_err(|e| {
                    origin.error(v.span().start, format!("{}: {e}", origin.name(key)))
                })?;
                vars.push(v.get_ref().clone());
            }
            None => vars.push(default.to_owned()),
        }
    }
    let [token_env, username_env, password_env]: [String; 3] =
        vars.try_into().unwrap_or_else(|_| Default::default());
    let (selectors, selectors_line) = match &raw.consumer_version_selectors {
        Some(s) => (s.get_ref().clone(), origin.line(s.span().start)),
        None => (Vec::new(), line),
    };
    Ok(Some(Box::new(PactBroker {
        url: url.get_ref().clone(),
        token_env,
        username_env,
        password_env,
        provider,
        selectors,
        selectors_line,
        enable_pending: raw.enable_pending,
        include_wip_pacts_since: raw
            .include_wip_pacts_since
            .as_ref()
            .map(|s| s.get_ref().clone()),
        provider_version,
        provider_branch: raw.provider_branch.clone().filter(|b| !b.trim().is_empty()),
        provider_tags: raw.provider_tags.clone(),
        build_url: raw.build_url.clone().filter(|b| !b.trim().is_empty()),
        publish_results: raw.publish_results,
        line,
    })))
}

/// `YYYY-MM-DD`, optionally followed by a time.
fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() >= 10
        && b[..10].iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
        && (b.len() == 10 || matches!(b[10], b'T' | b't' | b' '))
}
