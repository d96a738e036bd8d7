//! `[[suite.shadow]]` (and `modelci canary shadow`): the same requests sent to a baseline and
//! a canary at the same moment, their answers compared (prediction agreement, output drift as a
//! population stability index, latency, errors) and judged into the canary judgement's score
//! and verdict.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

use crate::load::{DurationValue, LoadSuite, LoadSuiteFile};
use crate::{ConfigError, Origin};

/// The metrics a shadow comparison judges, in their order.
pub const METRICS: [&str; 4] = ["latency", "errors", "agreement", "drift"];

/// A `[[suite.shadow]]` table as written (and `modelci canary shadow`'s flags).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShadowSuiteFile {
    /// The suite's name.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// The baseline's base URL (the model in production): requests' paths join it.
    #[schemars(with = "String")]
    pub baseline: Spanned<String>,
    /// The canary's base URL (the candidate): the same paths join it.
    #[schemars(with = "String")]
    pub canary: Spanned<String>,
    /// The method of a single request (default `GET`, or `POST` with a body).
    #[serde(default)]
    pub method: Option<String>,
    /// A single request's body, as text (sent to the base URLs themselves).
    #[serde(default)]
    pub body: Option<String>,
    /// A file whose content is a single request's body.
    #[serde(default)]
    pub body_file: Option<PathBuf>,
    /// Recorded traffic: a JSON Lines file of requests, as `[[suite.load]]` reads it (`path`,
    /// not `url`: the same path goes to both sides).
    #[serde(default)]
    pub requests: Option<PathBuf>,
    /// An Open Inference Protocol v2 model, served under this name by both sides: its golden
    /// `cases`' inputs, or its `dataset`'s rows, make the requests.
    #[serde(default)]
    pub model_name: Option<String>,
    /// Golden case files (JSON) for `model_name`.
    #[serde(default)]
    pub cases: Vec<PathBuf>,
    /// A dataset (CSV or Parquet) whose rows, `rows_per_request` at a time, make the requests.
    #[serde(default)]
    pub dataset: Option<PathBuf>,
    /// The dataset's feature columns, in the model's order.
    #[serde(default)]
    pub features: Vec<String>,
    /// The input the features go to (default `input`).
    #[serde(default)]
    pub input: Option<String>,
    /// Rows per request (default 1).
    #[serde(default)]
    pub rows_per_request: Option<usize>,
    /// Headers for every request.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Headers whose values come from environment variables (never printed).
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub secret_headers: BTreeMap<String, Spanned<String>>,
    /// Pairs of requests measured (default: 100, or one per request if there are more): the
    /// requests are sent in turn, again from the first when they run out.
    #[serde(default)]
    pub samples: Option<usize>,
    /// Pairs sent first and not measured, to warm both sides up (default 5).
    #[serde(default)]
    pub warmup: Option<usize>,
    /// Pairs in flight at once (default 4).
    #[serde(default)]
    pub concurrency: Option<usize>,
    /// Seconds each request may take, its body included (default 30).
    #[serde(default)]
    pub timeout_secs: Option<f64>,
    /// The outputs compared (default: every output both sides answer).
    #[serde(default)]
    pub outputs: Vec<String>,
    /// Two values of a float output with one value per row agree within `atol + rtol·|baseline|`
    /// (default 0.01).
    #[serde(default)]
    pub rtol: Option<f64>,
    /// See `rtol` (default 1e-6).
    #[serde(default)]
    pub atol: Option<f64>,
    /// The share of rows whose predictions must agree (default 0.99).
    #[serde(default)]
    pub min_agreement: Option<f64>,
    /// The largest population stability index of the canary's scores against the baseline's
    /// (default 0.1: under 0.1 is usually read as no drift, over 0.25 as a major one).
    #[serde(default)]
    pub max_psi: Option<f64>,
    /// The bins of the stability index (default 10, on the baseline's deciles).
    #[serde(default)]
    pub psi_bins: Option<usize>,
    /// The latency shift tolerated, relative to the baseline's median (default 0.1).
    #[serde(default)]
    pub latency_tolerance: Option<f64>,
    /// A latency shift tolerated in milliseconds, added to `latency_tolerance` (default 1).
    #[serde(default)]
    pub latency_tolerance_ms: Option<f64>,
    /// The rise of the error rate tolerated (default 0: any significant rise fails).
    #[serde(default)]
    pub max_error_increase: Option<f64>,
    /// The metrics that fail the whole judgement when they fail (default `["errors",
    /// "agreement"]`); of `latency`, `errors`, `agreement`, `drift`.
    #[serde(default)]
    pub critical: Option<Vec<String>>,
    /// Group weights (`latency`, `errors`, `predictions`; default 1 each).
    #[serde(default)]
    pub groups: BTreeMap<String, f64>,
    /// The confidence of the tests (default 0.95).
    #[serde(default)]
    pub confidence: Option<f64>,
    /// The score from which the verdict is Pass (default 95).
    #[serde(default)]
    pub pass_score: Option<f64>,
    /// The score from which the verdict is Marginal (default 75); under it, Fail.
    #[serde(default)]
    pub marginal_score: Option<f64>,
    /// Whether a Marginal verdict passes the run (default false).
    #[serde(default)]
    pub marginal_passes: bool,
    /// Samples needed on each side to judge a metric (default 10).
    #[serde(default)]
    pub min_samples: Option<usize>,
}

/// A `[[suite.shadow]]`, checked.
#[derive(Debug, Clone)]
pub struct ShadowSuite {
    /// The requests, built against the baseline's URL (`traffic.url`).
    pub traffic: LoadSuite,
    /// The canary's base URL.
    pub canary: String,
    /// Pairs measured.
    pub samples: Option<usize>,
    /// Pairs sent first, unmeasured.
    pub warmup: usize,
    /// Pairs in flight.
    pub concurrency: usize,
    /// Per request.
    pub timeout: Duration,
    /// Outputs compared (empty: all).
    pub outputs: Vec<String>,
    /// Relative tolerance of single float values.
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Share of rows that must agree.
    pub min_agreement: f64,
    /// Largest stability index.
    pub max_psi: f64,
    /// Its bins.
    pub psi_bins: usize,
    /// Relative latency tolerance.
    pub latency_tolerance: f64,
    /// Absolute latency tolerance, in milliseconds.
    pub latency_tolerance_ms: f64,
    /// Error-rate rise tolerated.
    pub max_error_increase: f64,
    /// Critical metrics (of [`METRICS`]).
    pub critical: Vec<String>,
    /// Weights of `latency`, `errors`, `predictions`.
    pub groups: Vec<(String, f64)>,
    /// Of the tests.
    pub confidence: f64,
    /// Pass from this score.
    pub pass_score: f64,
    /// Marginal from this score.
    pub marginal_score: f64,
    /// A Marginal verdict passes.
    pub marginal_passes: bool,
    /// Per side.
    pub min_samples: usize,
}

/// The group of each metric.
pub fn group_of(metric: &str) -> &'static str {
    match metric {
        "latency" => "latency",
        "errors" => "errors",
        _ => "predictions",
    }
}

/// Checks a `[[suite.shadow]]` table (or the command's flags).
///
/// # Errors
/// A URL that is not http(s), no requests or two sources, a setting out of range, at its line.
pub fn resolve(raw: ShadowSuiteFile, origin: &Origin<'_>) -> Result<ShadowSuite, ConfigError> {
    let name = raw.name.get_ref().clone();
    let at = raw.name.span().start;
    let err = |m: String| {
        if origin.display().is_empty() {
            origin.error(at, m)
        } else {
            origin.error(at, format!("suite `{name}`: {m}"))
        }
    };
    for (key, url) in [("baseline", &raw.baseline), ("canary", &raw.canary)] {
        if !crate::values::is_http_url(url.get_ref()) {
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
    let single = raw.body.is_some() || raw.body_file.is_some() || raw.method.is_some();
    if raw.requests.is_none() && raw.model_name.is_none() && !single {
        return Err(err(format!(
            "has no requests to send: give {} (recorded traffic), {} with {} or {}, or a single request ({}/{})",
            origin.name("requests"),
            origin.name("model_name"),
            origin.name("cases"),
            origin.name("dataset"),
            origin.name("method"),
            origin.name("body"),
        )));
    }
    let timeout_secs = raw.timeout_secs.unwrap_or(30.0);
    let traffic = crate::load::resolve(
        LoadSuiteFile {
            name: raw.name.clone(),
            url: raw.baseline.clone(),
            method: raw.method.clone(),
            body: raw.body.clone(),
            body_file: raw.body_file.clone(),
            requests: raw.requests.clone(),
            model_name: raw.model_name.clone(),
            cases: raw.cases.clone(),
            dataset: raw.dataset.clone(),
            features: raw.features.clone(),
            input: raw.input.clone(),
            rows_per_request: raw.rows_per_request,
            headers: raw.headers.clone(),
            secret_headers: raw.secret_headers.clone(),
            // The load shape is not used: the shadow comparison sends its own pairs.
            rate: Some(1.0),
            duration: Some(DurationValue::Seconds(1.0)),
            stages: Vec::new(),
            start_rate: None,
            arrivals: crate::load::ArrivalsFile::Uniform,
            vus: None,
            warmup: None,
            timeout_secs: Some(timeout_secs),
            max_in_flight: None,
            thresholds: Vec::new(),
            abort_on_fail: false,
            seed: None,
            histogram_csv: None,
            plot: None,
            find_max: None,
        },
        origin,
    )?;
    let samples = match raw.samples {
        None => None,
        Some(n) => {
            Some(crate::values::count(n, 1, 10_000_000, &origin.name("samples")).map_err(&err)?)
        }
    };
    let warmup = crate::values::count(
        raw.warmup.unwrap_or(5),
        0,
        1_000_000,
        &origin.name("warmup"),
    )
    .map_err(&err)?;
    let concurrency = crate::values::count(
        raw.concurrency.unwrap_or(4),
        1,
        10_000,
        &origin.name("concurrency"),
    )
    .map_err(&err)?;
    let fraction = |key: &str, v: f64| {
        if (0.0..=1.0).contains(&v) {
            Ok(v)
        } else {
            Err(err(format!(
                "{} must be from 0 to 1, not {v}",
                origin.name(key)
            )))
        }
    };
    let non_negative = |key: &str, v: f64| {
        if v.is_finite() && v >= 0.0 {
            Ok(v)
        } else {
            Err(err(format!(
                "{} must be a number of 0 or more, not {v}",
                origin.name(key)
            )))
        }
    };
    let min_agreement = fraction("min_agreement", raw.min_agreement.unwrap_or(0.99))?;
    let max_error_increase = fraction("max_error_increase", raw.max_error_increase.unwrap_or(0.0))?;
    let rtol = non_negative("rtol", raw.rtol.unwrap_or(0.01))?;
    let atol = non_negative("atol", raw.atol.unwrap_or(1e-6))?;
    let max_psi = non_negative("max_psi", raw.max_psi.unwrap_or(0.1))?;
    let latency_tolerance =
        non_negative("latency_tolerance", raw.latency_tolerance.unwrap_or(0.1))?;
    let latency_tolerance_ms = non_negative(
        "latency_tolerance_ms",
        raw.latency_tolerance_ms.unwrap_or(1.0),
    )?;
    let psi_bins = crate::values::count(
        raw.psi_bins.unwrap_or(10),
        2,
        1000,
        &origin.name("psi_bins"),
    )
    .map_err(&err)?;
    let critical = raw
        .critical
        .unwrap_or_else(|| vec!["errors".to_owned(), "agreement".to_owned()]);
    if let Some(bad) = critical.iter().find(|c| !METRICS.contains(&c.as_str())) {
        return Err(err(format!(
            "{} names `{bad}`, which is not one of {}",
            origin.name("critical"),
            METRICS.join(", ")
        )));
    }
    let mut groups = Vec::new();
    for g in ["latency", "errors", "predictions"] {
        let w = raw.groups.get(g).copied().unwrap_or(1.0);
        if !(w.is_finite() && w >= 0.0) {
            return Err(err(format!(
                "the weight of group `{g}` must be a number of 0 or more, not {w}"
            )));
        }
        groups.push((g.to_owned(), w));
    }
    if let Some(bad) = raw
        .groups
        .keys()
        .find(|k| !["latency", "errors", "predictions"].contains(&k.as_str()))
    {
        return Err(err(format!(
            "{} has `{bad}`: the groups are `latency`, `errors` and `predictions`",
            origin.name("groups")
        )));
    }
    let (confidence, pass_score, marginal_score) =
        crate::canary::verdict_settings(raw.confidence, raw.pass_score, raw.marginal_score, origin)
            .map_err(&err)?;
    let min_samples = crate::values::count(
        raw.min_samples.unwrap_or(10),
        3,
        1_000_000,
        &origin.name("min_samples"),
    )
    .map_err(&err)?;
    Ok(ShadowSuite {
        traffic,
        canary: raw.canary.into_inner(),
        samples,
        warmup,
        concurrency,
        timeout: Duration::from_secs_f64(timeout_secs),
        outputs: raw.outputs,
        rtol,
        atol,
        min_agreement,
        max_psi,
        psi_bins,
        latency_tolerance,
        latency_tolerance_ms,
        max_error_increase,
        critical,
        groups,
        confidence,
        pass_score,
        marginal_score,
        marginal_passes: raw.marginal_passes,
        min_samples,
    })
}
