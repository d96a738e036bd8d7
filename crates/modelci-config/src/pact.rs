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
    /// Pact files, folders of pact files (every `*.json`), or `http(s)://` URLs.
    #[schemars(with = "Vec<String>", length(min = 1))]
    pub pacts: Spanned<Vec<String>>,
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
}

/// Checks a `[[suite.pact]]` table (or `contract verify`'s flags) and resolves its paths.
///
/// # Errors
/// No pacts, a URL that is not http(s), a filter that is not a regular expression, a bad
/// secret header variable, a timeout or concurrency out of range.
pub fn resolve(raw: PactSuiteFile, origin: &Origin<'_>) -> Result<PactSuite, ConfigError> {
    if raw.pacts.get_ref().is_empty() {
        return Err(origin.error(
            raw.pacts.span().start,
            format!(
                "{} must list at least one pact file, folder or URL",
                origin.name("pacts")
            ),
        ));
    }
    let pacts = raw
        .pacts
        .get_ref()
        .iter()
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
        pacts_line: origin.line(raw.pacts.span().start),
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
    })
}
