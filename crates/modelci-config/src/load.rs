//! `[[suite.load]]` (and `modelci load`'s flags): a load test with thresholds.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

use crate::resolve::secret_headers;
use crate::values::is_http_url;
use crate::{ConfigError, Origin};

/// A duration: a number of seconds, or a text with units (`500ms`, `30s`, `2m`, `1m30s`, `1h`).
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum DurationValue {
    /// Seconds.
    Seconds(f64),
    /// With units.
    Text(String),
}

impl DurationValue {
    /// The duration.
    ///
    /// # Errors
    /// `what` and why.
    pub fn get(&self, what: &str) -> Result<Duration, String> {
        let secs = match self {
            DurationValue::Seconds(s) => *s,
            DurationValue::Text(t) => parse_duration(t)
                .ok_or_else(|| {
                    format!("{what} must be a duration such as `30s`, `2m`, `1m30s` or `500ms`, not `{t}`")
                })?
                .as_secs_f64(),
        };
        if !(secs.is_finite() && (0.0..=crate::values::MAX_SECONDS).contains(&secs)) {
            return Err(format!(
                "{what} must be from 0 to {} seconds, not {secs}",
                crate::values::MAX_SECONDS
            ));
        }
        Ok(Duration::from_secs_f64(secs))
    }
}

/// `1h2m3s`, `500ms`, `1.5s`, `90` (seconds).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    if let Ok(secs) = t.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let mut total = 0.0_f64;
    let mut rest = t;
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, after) = rest.split_at(end);
        let value: f64 = num.parse().ok()?;
        let unit_end = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_end);
        let scale = match unit {
            "ms" => 0.001,
            "s" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            "us" | "µs" => 1e-6,
            _ => return None,
        };
        total += value * scale;
        rest = next;
    }
    (total.is_finite() && total >= 0.0).then(|| Duration::from_secs_f64(total))
}

/// One stage of a ramping profile.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StageFile {
    /// How long the stage lasts.
    pub duration: DurationValue,
    /// The rate (requests per second) the stage ramps to, linearly from the previous stage's.
    pub target: f64,
}

/// `[suite.load.find_max]`: search for the highest rate that holds an SLO.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FindMaxFile {
    /// The SLO each rate must hold, as thresholds (`p(99)<300ms`, `error_rate<1%`).
    pub slo: Vec<String>,
    /// The highest rate tried (default 100000).
    #[serde(default)]
    pub max_rate: Option<f64>,
    /// Stop bisecting when the rates that held and did not are this close, as a fraction of
    /// the one that held (default 0.05).
    #[serde(default)]
    pub precision: Option<f64>,
    /// Runs at most (default 12).
    #[serde(default)]
    pub max_steps: Option<usize>,
}

/// A resolved `find_max`.
#[derive(Debug, Clone, PartialEq)]
pub struct FindMax {
    /// SLO expressions.
    pub slo: Vec<String>,
    /// The highest rate tried.
    pub max_rate: f64,
    /// Relative precision.
    pub precision: f64,
    /// Runs at most.
    pub max_steps: usize,
}

/// How requests arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ArrivalsFile {
    /// Evenly spaced at the rate.
    #[default]
    Uniform,
    /// A Poisson process of the rate (independent users).
    Poisson,
}

/// One `[[suite.load]]` table.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadSuiteFile {
    /// The suite's name: unique in the file; letters, digits, `.`, `_` and `-`.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// The URL to load (with `requests`: the base that their paths join).
    #[schemars(with = "String")]
    pub url: Spanned<String>,
    /// The method (default `GET`, or `POST` when there is a body).
    #[serde(default)]
    pub method: Option<String>,
    /// The request body, as text (JSON for a JSON API).
    #[serde(default)]
    pub body: Option<String>,
    /// A file whose content is the request body.
    #[serde(default)]
    pub body_file: Option<PathBuf>,
    /// A JSON Lines file of requests, one kind per line, sent in proportion to their `weight`:
    /// `{"name", "method", "path" (joined to url) or "url", "headers", "body" (JSON) or
    /// "body_text", "weight"}`.
    #[serde(default)]
    pub requests: Option<PathBuf>,
    /// An Open Inference Protocol v2 model: `url` is then the server's base URL and each golden
    /// case of `cases` becomes an inference request to `/v2/models/{model_name}/infer`.
    #[serde(default)]
    pub model_name: Option<String>,
    /// Golden cases (JSON files, as `model test` reads them) whose inputs make the inference
    /// requests, in equal shares.
    #[serde(default)]
    pub cases: Vec<PathBuf>,
    /// Instead of `cases`: a dataset (`.csv`, `.jsonl`, `.parquet`) whose rows make the
    /// inference requests to `model_name` (one kind of request per batch of rows).
    #[serde(default)]
    pub dataset: Option<PathBuf>,
    /// The dataset's feature columns, in the model input's order.
    #[serde(default)]
    pub features: Vec<String>,
    /// The model input the features go to (default `input`).
    #[serde(default)]
    pub input: Option<String>,
    /// Rows per inference request (default 1).
    #[serde(default)]
    pub rows_per_request: Option<usize>,
    /// Headers for every request.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Headers whose values come from environment variables (never printed).
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub secret_headers: BTreeMap<String, Spanned<String>>,
    /// Requests per second (open model), for `duration`.
    #[serde(default)]
    pub rate: Option<f64>,
    /// How long the measured part lasts (with `rate` or `vus`).
    #[serde(default)]
    pub duration: Option<DurationValue>,
    /// Ramping stages instead of `rate` and `duration`: each ramps linearly to its `target`.
    #[serde(default)]
    pub stages: Vec<StageFile>,
    /// The rate the first stage ramps from (default 0).
    #[serde(default)]
    pub start_rate: Option<f64>,
    /// `uniform` (default) or `poisson` arrivals.
    #[serde(default)]
    pub arrivals: ArrivalsFile,
    /// Closed model instead: this many virtual users, each sending when its last answer came.
    #[serde(default)]
    pub vus: Option<usize>,
    /// Unmeasured time first (at the first rate).
    #[serde(default)]
    pub warmup: Option<DurationValue>,
    /// Each request's limit in seconds (default 30).
    #[serde(default)]
    pub timeout_secs: Option<f64>,
    /// Requests in flight at most (default 1000); a request due when all are busy is dropped.
    #[serde(default)]
    pub max_in_flight: Option<usize>,
    /// Thresholds, k6-style: `p(95)<200ms`, `error_rate<1%`, `dropped<1%`, `rps>=500`.
    #[serde(default)]
    pub thresholds: Vec<String>,
    /// Stop as soon as a threshold is already lost (error counts and rates, dropped, max).
    #[serde(default)]
    pub abort_on_fail: bool,
    /// The seed of the request mix and of Poisson arrivals (default 0).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Write the latency distribution as CSV here (percentile, latency_ms, count).
    #[serde(default)]
    pub histogram_csv: Option<PathBuf>,
    /// Write a latency-percentile plot (SVG) here.
    #[serde(default)]
    pub plot: Option<PathBuf>,
    /// Find the highest rate that holds an SLO instead: `rate` is the first tried and
    /// `duration` the length of each try; `thresholds` are judged at the highest rate found.
    #[serde(default)]
    pub find_max: Option<FindMaxFile>,
}

/// How load is offered, resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum LoadShape {
    /// Stages of (duration, from rate, to rate).
    Open {
        /// (duration, from, to).
        stages: Vec<(Duration, f64, f64)>,
        /// Poisson arrivals.
        poisson: bool,
    },
    /// Virtual users for a duration.
    Closed {
        /// Users.
        vus: usize,
        /// How long.
        duration: Duration,
    },
}

/// A resolved `[[suite.load]]`.
#[derive(Debug, Clone)]
pub struct LoadSuite {
    /// The URL.
    pub url: String,
    /// 1-based line of `url`.
    pub url_line: u32,
    /// The method, when given.
    pub method: Option<String>,
    /// The body text.
    pub body: Option<String>,
    /// The body file, resolved.
    pub body_file: Option<PathBuf>,
    /// The requests file, resolved.
    pub requests: Option<PathBuf>,
    /// The v2 model and its golden cases (resolved).
    pub model: Option<(String, Vec<PathBuf>)>,
    /// The v2 model, a dataset, its feature columns, the input name and rows per request.
    pub dataset: Option<DatasetRequests>,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// (header name, environment variable, 1-based line).
    pub secret_headers: Vec<(String, String, u32)>,
    /// The load.
    pub shape: LoadShape,
    /// Unmeasured time first.
    pub warmup: Duration,
    /// Each request's limit.
    pub timeout: Duration,
    /// Requests in flight at most.
    pub max_in_flight: usize,
    /// Threshold expressions.
    pub thresholds: Vec<String>,
    /// Stop when a threshold is lost.
    pub abort_on_fail: bool,
    /// Seed.
    pub seed: u64,
    /// Where to write the histogram CSV.
    pub histogram_csv: Option<PathBuf>,
    /// Search for the highest rate holding an SLO.
    pub find_max: Option<FindMax>,
    /// Where to write the latency plot.
    pub plot: Option<PathBuf>,
}

/// Inference requests made from a dataset's rows.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetRequests {
    /// The model.
    pub model_name: String,
    /// The dataset, resolved.
    pub path: PathBuf,
    /// Feature columns.
    pub features: Vec<String>,
    /// The input name.
    pub input: String,
    /// Rows per request.
    pub rows_per_request: usize,
}

/// In-flight requests at most, unless told.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 1000;
/// The largest `max_in_flight` and `vus` (each is a connection).
pub const MAX_IN_FLIGHT: usize = 100_000;
/// The largest rate (requests per second).
pub const MAX_RATE: f64 = 10_000_000.0;

/// Checks a `[[suite.load]]` table (or `modelci load`'s flags).
///
/// # Errors
/// A URL that is not http(s), no load shape or two, bad durations, rates or counts.
pub fn resolve(raw: LoadSuiteFile, origin: &Origin<'_>) -> Result<LoadSuite, ConfigError> {
    let name = raw.name.get_ref();
    let at = raw.name.span().start;
    let err = |m: String| {
        if origin.display().is_empty() {
            origin.error(at, m)
        } else {
            origin.error(at, format!("suite `{name}`: {m}"))
        }
    };
    if !is_http_url(raw.url.get_ref()) {
        return Err(origin.error(
            raw.url.span().start,
            format!(
                "{} must be an http:// or https:// URL, not `{}`",
                origin.name("url"),
                raw.url.get_ref()
            ),
        ));
    }
    if raw.body.is_some() && raw.body_file.is_some() {
        return Err(err(format!(
            "give {} or {}, not both",
            origin.name("body"),
            origin.name("body_file")
        )));
    }
    let dataset = match (&raw.model_name, &raw.dataset) {
        (Some(m), Some(d)) => {
            if !raw.cases.is_empty() {
                return Err(err(format!(
                    "give {} or {}, not both",
                    origin.name("cases"),
                    origin.name("dataset")
                )));
            }
            if raw.features.is_empty() {
                return Err(err(format!(
                    "{} needs {} (the feature columns)",
                    origin.name("dataset"),
                    origin.name("features")
                )));
            }
            Some(DatasetRequests {
                model_name: m.clone(),
                path: origin.path(d),
                features: raw.features.clone(),
                input: raw.input.clone().unwrap_or_else(|| "input".to_owned()),
                rows_per_request: crate::values::count(
                    raw.rows_per_request.unwrap_or(1),
                    1,
                    1_000_000,
                    &origin.name("rows_per_request"),
                )
                .map_err(&err)?,
            })
        }
        (None, Some(_)) => {
            return Err(err(format!(
                "{} needs {} (the v2 model its rows are sent to)",
                origin.name("dataset"),
                origin.name("model_name")
            )));
        }
        _ => None,
    };
    let model = match (&raw.model_name, raw.cases.is_empty()) {
        (Some(_), true) if dataset.is_some() => None,
        (Some(m), false) => {
            if raw.requests.is_some() || raw.body.is_some() || raw.body_file.is_some() {
                return Err(err(format!(
                    "{} sends the golden cases' inputs: leave out {}, {} and {}",
                    origin.name("model_name"),
                    origin.name("requests"),
                    origin.name("body"),
                    origin.name("body_file")
                )));
            }
            Some((
                m.clone(),
                raw.cases.iter().map(|p| origin.path(p)).collect(),
            ))
        }
        (None, true) => None,
        (Some(_), true) => {
            return Err(err(format!(
                "{} needs {} (golden cases whose inputs make the requests) or {}",
                origin.name("model_name"),
                origin.name("cases"),
                origin.name("dataset")
            )));
        }
        (None, false) => {
            return Err(err(format!(
                "{} needs {} (the v2 model they are sent to)",
                origin.name("cases"),
                origin.name("model_name")
            )));
        }
    };
    let rate_ok = |r: f64, what: &str| {
        if r.is_finite() && (0.0..=MAX_RATE).contains(&r) {
            Ok(r)
        } else {
            Err(err(format!(
                "{what} must be a rate from 0 to {MAX_RATE} requests per second, not {r}"
            )))
        }
    };
    let duration = raw
        .duration
        .as_ref()
        .map(|d| d.get(&origin.name("duration")))
        .transpose()
        .map_err(&err)?;
    let shape = match (raw.vus, raw.rate, raw.stages.is_empty()) {
        (Some(vus), None, true) => {
            let vus =
                crate::values::count(vus, 1, MAX_IN_FLIGHT, &origin.name("vus")).map_err(&err)?;
            let duration = duration.ok_or_else(|| {
                err(format!(
                    "{} needs {}",
                    origin.name("vus"),
                    origin.name("duration")
                ))
            })?;
            LoadShape::Closed { vus, duration }
        }
        (None, Some(rate), true) => {
            let rate = rate_ok(rate, &origin.name("rate"))?;
            let duration = duration.ok_or_else(|| {
                err(format!(
                    "{} needs {}",
                    origin.name("rate"),
                    origin.name("duration")
                ))
            })?;
            LoadShape::Open {
                stages: vec![(duration, rate, rate)],
                poisson: raw.arrivals == ArrivalsFile::Poisson,
            }
        }
        (None, None, false) => {
            if duration.is_some() {
                return Err(err(format!(
                    "{} sets each stage's duration: leave out {}",
                    origin.name("stages"),
                    origin.name("duration")
                )));
            }
            let mut from = rate_ok(raw.start_rate.unwrap_or(0.0), &origin.name("start_rate"))?;
            let mut stages = Vec::new();
            for (i, s) in raw.stages.iter().enumerate() {
                let d = s
                    .duration
                    .get(&format!("stage {}'s duration", i + 1))
                    .map_err(&err)?;
                let to = rate_ok(s.target, &format!("stage {}'s target", i + 1))?;
                stages.push((d, from, to));
                from = to;
            }
            LoadShape::Open {
                stages,
                poisson: raw.arrivals == ArrivalsFile::Poisson,
            }
        }
        (None, None, true) => {
            return Err(err(format!(
                "no load: give {} and {} (open model), {} (ramping), or {} and {} (closed model)",
                origin.name("rate"),
                origin.name("duration"),
                origin.name("stages"),
                origin.name("vus"),
                origin.name("duration")
            )));
        }
        _ => {
            return Err(err(format!(
                "give one of {}, {} or {}",
                origin.name("rate"),
                origin.name("stages"),
                origin.name("vus")
            )));
        }
    };
    let total: Duration = match &shape {
        LoadShape::Open { stages, .. } => stages.iter().map(|s| s.0).sum(),
        LoadShape::Closed { duration, .. } => *duration,
    };
    if total.is_zero() {
        return Err(err("the load lasts no time".to_owned()));
    }
    let warmup = raw
        .warmup
        .as_ref()
        .map(|d| d.get(&origin.name("warmup")))
        .transpose()
        .map_err(&err)?
        .unwrap_or(Duration::ZERO);
    let timeout = match raw.timeout_secs {
        None => crate::values::DEFAULT_TIMEOUT,
        Some(t) => crate::values::seconds(t, &origin.name("timeout_secs")).map_err(&err)?,
    };
    let max_in_flight = crate::values::count(
        raw.max_in_flight.unwrap_or(DEFAULT_MAX_IN_FLIGHT),
        1,
        MAX_IN_FLIGHT,
        &origin.name("max_in_flight"),
    )
    .map_err(&err)?;
    let find_max = match raw.find_max {
        None => None,
        Some(f) => {
            let LoadShape::Open { stages, .. } = &shape else {
                return Err(err(format!(
                    "{} needs the open model: a {} to start from, not {}",
                    origin.name("find_max"),
                    origin.name("rate"),
                    origin.name("vus")
                )));
            };
            if stages.len() != 1 || stages[0].1 != stages[0].2 {
                return Err(err(format!(
                    "{} starts from {} and tries each rate for {}: leave out {}",
                    origin.name("find_max"),
                    origin.name("rate"),
                    origin.name("duration"),
                    origin.name("stages")
                )));
            }
            if f.slo.is_empty() {
                return Err(err(format!(
                    "{} needs at least one SLO ({})",
                    origin.name("find_max"),
                    origin.name("slo")
                )));
            }
            let max_rate = rate_ok(f.max_rate.unwrap_or(100_000.0), &origin.name("max_rate"))?;
            let precision = f.precision.unwrap_or(0.05);
            if !(precision.is_finite() && precision > 0.0 && precision < 1.0) {
                return Err(err(format!(
                    "{} is a fraction between 0 and 1, not {precision}",
                    origin.name("precision")
                )));
            }
            let max_steps =
                crate::values::count(f.max_steps.unwrap_or(12), 1, 100, &origin.name("max_steps"))
                    .map_err(&err)?;
            Some(FindMax {
                slo: f.slo,
                max_rate,
                precision,
                max_steps,
            })
        }
    };
    Ok(LoadSuite {
        find_max,
        url: raw.url.get_ref().clone(),
        url_line: origin.line(raw.url.span().start),
        method: raw.method,
        body: raw.body,
        body_file: raw.body_file.as_deref().map(|p| origin.path(p)),
        requests: raw.requests.as_deref().map(|p| origin.path(p)),
        model,
        dataset,
        headers: raw.headers.into_iter().collect(),
        secret_headers: secret_headers(&raw.secret_headers, origin)?,
        shape,
        warmup,
        timeout,
        max_in_flight,
        thresholds: raw.thresholds,
        abort_on_fail: raw.abort_on_fail,
        seed: raw.seed.unwrap_or(0),
        histogram_csv: raw.histogram_csv.as_deref().map(|p| origin.path(p)),
        plot: raw.plot.as_deref().map(|p| origin.path(p)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let d = |s: &str| parse_duration(s).map(|d| d.as_secs_f64());
        assert_eq!(d("30s"), Some(30.0));
        assert_eq!(d("1m30s"), Some(90.0));
        assert_eq!(d("500ms"), Some(0.5));
        assert_eq!(d("1h"), Some(3600.0));
        assert_eq!(d("2.5"), Some(2.5));
        assert_eq!(d("1.5m"), Some(90.0));
        for bad in ["", "s", "3 parsecs", "1x", "-1s", "1s2"] {
            assert_eq!(d(bad), None, "{bad}");
        }
    }
}
