//! `[[suite.openapi]]`: a running service and/or recorded traffic checked against an OpenAPI
//! document, and breaking changes against a previous version.

use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

use crate::resolve::{limits, secret_headers};
use crate::values::is_http_url;
use crate::{ConfigError, Origin};

/// One `[[suite.openapi]]` table.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenApiSuiteFile {
    /// The suite's name: unique in the file; letters, digits, `.`, `_` and `-`.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// The OpenAPI document (3.0 or 3.1, YAML or JSON).
    #[schemars(with = "PathBuf")]
    pub openapi: Spanned<PathBuf>,
    /// Base URL of the running service to test live. At least one of `base_url` and `recorded`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub base_url: Option<Spanned<String>>,
    /// Recorded traffic to check: HAR files or JSON Lines of exchanges.
    #[serde(default)]
    pub recorded: Vec<PathBuf>,
    /// The previous version of the document, to check for breaking changes (a file).
    #[serde(default)]
    pub previous: Option<PathBuf>,
    /// Check for breaking changes against the document as it is at this git revision
    /// (e.g. `origin/main`).
    #[serde(default)]
    pub base_ref: Option<String>,
    /// Breaking-change findings at or above this severity fail (`breaking` or `warning`;
    /// default `breaking`).
    #[serde(default)]
    pub fail_on: Option<FailOn>,
    /// Ignore files of intentional breaking changes for the `previous`/`base_ref` diff (see
    /// `contract diff --ignore`).
    #[serde(default)]
    pub diff_ignore: Vec<PathBuf>,
    /// Only these operations (operationId or `METHOD /path`); all when empty.
    #[serde(default)]
    pub operations: Vec<String>,
    /// Fetch `$ref`s to http(s):// documents (never fetched otherwise). Default false.
    #[serde(default)]
    pub allow_remote_refs: bool,
    /// Generated valid requests per operation (default 10).
    #[serde(default)]
    pub max_cases: Option<usize>,
    /// Seed of the generated requests (default 0).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Seconds to wait for each request (default 30).
    #[serde(default)]
    pub timeout_secs: Option<f64>,
    /// Requests in flight at once (default 8).
    #[serde(default)]
    pub concurrency: Option<usize>,
    /// Distinct failures reported per operation and check (default 10).
    #[serde(default)]
    pub max_failures: Option<usize>,
    /// Seconds an answer may take: slower ones fail the `response time` check (default: no
    /// such check).
    #[serde(default)]
    pub max_response_time_secs: Option<f64>,
    /// Send invalid requests that must be rejected with a 4xx (default true).
    #[serde(default)]
    pub negative: Option<bool>,
    /// Follow the document's links: the data of an answer fed to the operations it links to
    /// (default true).
    #[serde(default)]
    pub stateful: Option<bool>,
    /// Shrink a failing generated request to the smallest one that fails the same way
    /// (default true).
    #[serde(default)]
    pub shrink: Option<bool>,
    /// Extra headers on every request, as written (no secrets here).
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    /// Headers whose values are secrets: header name -> environment variable holding the value.
    #[serde(default)]
    #[schemars(with = "std::collections::BTreeMap<String, String>")]
    pub secret_headers: std::collections::BTreeMap<String, Spanned<String>>,
    /// Pass when there is nothing to check (no operation selected, nothing recorded, no
    /// change to judge) instead of failing with exit 2.
    #[serde(default)]
    pub allow_empty: bool,
}

/// A resolved `[[suite.openapi]]`.
#[derive(Debug, Clone)]
pub struct OpenApiSuite {
    pub openapi: PathBuf,
    /// 1-based line of the `openapi` key.
    pub openapi_line: u32,
    pub base_url: Option<String>,
    pub recorded: Vec<PathBuf>,
    /// Previous version to diff against, resolved.
    pub previous: Option<PathBuf>,
    /// Git revision to diff against.
    pub base_ref: Option<String>,
    pub fail_on: FailOn,
    /// Ignore files for the diff, resolved.
    pub diff_ignore: Vec<PathBuf>,
    pub operations: Vec<String>,
    pub allow_remote_refs: bool,
    pub max_cases: usize,
    pub seed: u64,
    /// Each request's deadline.
    pub timeout: Duration,
    pub concurrency: usize,
    /// Distinct failures per operation and check.
    pub max_failures: usize,
    /// The response time limit.
    pub max_response_time: Option<Duration>,
    /// Negative testing.
    pub negative: bool,
    /// Links followed.
    pub stateful: bool,
    /// Failing requests shrunk.
    pub shrink: bool,
    pub headers: Vec<(String, String)>,
    /// (header name, environment variable, 1-based line).
    pub secret_headers: Vec<(String, String, u32)>,
    /// Nothing to check passes (a skipped case) instead of erroring.
    pub allow_empty: bool,
}

/// The severity at which a contract change fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FailOn {
    /// Only breaking changes fail.
    Breaking,
    /// Warnings fail too.
    Warning,
}

/// Generated requests per operation, at most.
pub const MAX_CASES: usize = 100_000;

/// Checks a `[[suite.openapi]]` table (or `contract test`'s flags) and resolves its paths.
///
/// # Errors
/// Nothing to check, both `previous` and `base_ref`, a `base_url` that is not http(s), a bad
/// secret header variable, a timeout or concurrency out of range.
pub fn resolve(raw: OpenApiSuiteFile, origin: &Origin<'_>) -> Result<OpenApiSuite, ConfigError> {
    let name = raw.name.get_ref();
    let name_offset = raw.name.span().start;
    if raw.base_url.is_none()
        && raw.recorded.is_empty()
        && raw.previous.is_none()
        && raw.base_ref.is_none()
    {
        return Err(origin.error(
            name_offset,
            format!(
                "suite `{name}` has nothing to check: give {} (a running service), {} (traffic), or {}/{} (a version to diff against)",
                origin.name("base_url"),
                origin.name("recorded"),
                origin.name("previous"),
                origin.name("base_ref"),
            ),
        ));
    }
    if raw.previous.is_some() && raw.base_ref.is_some() {
        return Err(origin.error(
            name_offset,
            format!(
                "suite `{name}`: give {} or {}, not both",
                origin.name("previous"),
                origin.name("base_ref")
            ),
        ));
    }
    if let Some(url) = &raw.base_url
        && !is_http_url(url.get_ref())
    {
        return Err(origin.error(
            url.span().start,
            format!(
                "{} must be an http:// or https:// URL, not `{}`",
                origin.name("base_url"),
                url.get_ref()
            ),
        ));
    }
    let secret_headers = secret_headers(&raw.secret_headers, origin)?;
    let (timeout, concurrency) = limits(raw.timeout_secs, raw.concurrency, name_offset, origin)?;
    let max_response_time = match raw.max_response_time_secs {
        None => None,
        Some(t) if t.is_finite() && t > 0.0 && t <= crate::values::MAX_SECONDS => {
            Some(Duration::from_secs_f64(t))
        }
        Some(t) => {
            return Err(origin.error(
                name_offset,
                format!(
                    "{} must be a positive number of seconds, not {t}",
                    origin.name("max_response_time_secs")
                ),
            ));
        }
    };
    Ok(OpenApiSuite {
        openapi: origin.path(raw.openapi.get_ref()),
        openapi_line: origin.line(raw.openapi.span().start),
        base_url: raw.base_url.map(Spanned::into_inner),
        recorded: raw.recorded.iter().map(|p| origin.path(p)).collect(),
        previous: raw.previous.as_deref().map(|p| origin.path(p)),
        base_ref: raw.base_ref,
        fail_on: raw.fail_on.unwrap_or(FailOn::Breaking),
        diff_ignore: raw.diff_ignore.iter().map(|p| origin.path(p)).collect(),
        operations: raw.operations,
        allow_remote_refs: raw.allow_remote_refs,
        max_cases: crate::values::count(
            raw.max_cases.unwrap_or(10),
            0,
            MAX_CASES,
            &origin.name("max_cases"),
        )
        .map_err(|m| origin.error(name_offset, m))?,
        seed: raw.seed.unwrap_or(0),
        timeout,
        concurrency,
        max_failures: crate::values::count(
            raw.max_failures.unwrap_or(10),
            1,
            10_000,
            &origin.name("max_failures"),
        )
        .map_err(|m| origin.error(name_offset, m))?,
        max_response_time,
        negative: raw.negative.unwrap_or(true),
        stateful: raw.stateful.unwrap_or(true),
        shrink: raw.shrink.unwrap_or(true),
        headers: raw.headers.into_iter().collect(),
        secret_headers,
        allow_empty: raw.allow_empty,
    })
}
