//! `[[suite.canary]]`: judge a canary against its baseline over the same window, Kayenta's
//! way: per metric a Mann-Whitney U test and a Hodges-Lehmann estimate of the shift with its
//! confidence interval, an effect-size tolerance and a direction; metric groups with weights
//! into a 0-100 score; a verdict Pass, Marginal, Fail or Inconclusive.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

use crate::load::DurationValue;
use crate::resolve::secret_headers;
use crate::{ConfigError, Origin};

/// Where the metrics come from: a Prometheus server.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PrometheusFile {
    /// The server's base URL (`http://prometheus:9090`).
    pub url: String,
    /// How long the analysis window lasts (default `10m`); it ends at `end`.
    #[serde(default)]
    pub window: Option<DurationValue>,
    /// When the window ends: RFC 3339 (`2026-12-05T10:00:00Z`) or Unix seconds (default: now).
    #[serde(default)]
    pub end: Option<String>,
    /// The resolution of the range queries: one sample per step (default `15s`).
    #[serde(default)]
    pub step: Option<DurationValue>,
    /// Seconds each query may take (default 30).
    #[serde(default)]
    pub timeout_secs: Option<f64>,
    /// Headers for every query.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Headers whose values come from environment variables (`Authorization = "PROM_TOKEN"`;
    /// never printed).
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub secret_headers: BTreeMap<String, Spanned<String>>,
}

/// Where the metrics come from: two files of samples.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FilesFile {
    /// The baseline's samples: CSV (a header row, a column per metric, a row per sample; empty
    /// cells are missing) or JSON (`{"metric": [numbers]}`, or a list of rows as objects).
    pub baseline: PathBuf,
    /// The canary's samples, in the same form.
    pub canary: PathBuf,
}

/// One metric of the judgement.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricFile {
    /// Its name (a case `metric NAME`).
    pub name: String,
    /// The PromQL query (with Prometheus), with `{{ KEY }}` placeholders filled from the
    /// `baseline` and `canary` scopes: `rate(errors_total{version="{{ version }}"}[1m])`.
    #[serde(default)]
    pub query: Option<String>,
    /// The column or key in the files (default: the name).
    #[serde(default)]
    pub column: Option<String>,
    /// Which change is bad: `increase` (default: latency, errors), `decrease` (throughput,
    /// accuracy) or `either`.
    #[serde(default)]
    pub direction: Option<String>,
    /// The change tolerated, relative to the baseline's median (default 0.05: 5%): a
    /// significant shift smaller than this passes.
    #[serde(default)]
    pub tolerance: Option<f64>,
    /// A change tolerated in the metric's own unit, added to `tolerance` (default 0): for
    /// metrics whose baseline median is 0, such as error rates.
    #[serde(default)]
    pub tolerance_abs: Option<f64>,
    /// A critical metric fails the whole judgement when it fails (default false).
    #[serde(default)]
    pub critical: bool,
    /// With fewer than `min_samples` samples on a side: `ignore` (default: left out of the
    /// score), `fail` (counts as failed) or `inconclusive` (the verdict is Inconclusive).
    #[serde(default)]
    pub nodata: Option<String>,
    /// The group its result counts in (default: `default`).
    #[serde(default)]
    pub group: Option<String>,
}

/// A `[[suite.canary]]` table as written.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CanarySuiteFile {
    /// The suite's name.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// The baseline's scope: the values of the queries' placeholders (`{ version = "1" }`).
    #[serde(default)]
    pub baseline: BTreeMap<String, String>,
    /// The canary's scope (`{ version = "2" }`).
    #[serde(default)]
    pub canary: BTreeMap<String, String>,
    /// Metrics from a Prometheus server.
    #[serde(default)]
    pub prometheus: Option<PrometheusFile>,
    /// Metrics from two files.
    #[serde(default)]
    pub files: Option<FilesFile>,
    /// The confidence of the tests and intervals (default 0.95: a shift counts when the
    /// Mann-Whitney p-value is under 0.05).
    #[serde(default)]
    pub confidence: Option<f64>,
    /// The score from which the verdict is Pass (default 95).
    #[serde(default)]
    pub pass_score: Option<f64>,
    /// The score from which the verdict is Marginal (default 75); under it, Fail.
    #[serde(default)]
    pub marginal_score: Option<f64>,
    /// Whether a Marginal verdict passes the run (default false: it fails, for review).
    #[serde(default)]
    pub marginal_passes: bool,
    /// Samples needed on each side to judge a metric (default 10).
    #[serde(default)]
    pub min_samples: Option<usize>,
    /// A/A mode: judge the baseline against itself (its samples split in two interleaved
    /// halves) to show the noise floor and the samples a change of `tolerance` needs.
    #[serde(default)]
    pub aa: bool,
    /// The power the sample sizes of A/A mode are computed for (default 0.8).
    #[serde(default)]
    pub power: Option<f64>,
    /// Group weights (`{ latency = 60, errors = 40 }`); a group not listed weighs 1.
    #[serde(default)]
    pub groups: BTreeMap<String, f64>,
    /// The metrics.
    #[serde(default)]
    pub metric: Vec<MetricFile>,
}

/// Which change of a metric is bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// An increase (latency, errors).
    Increase,
    /// A decrease (throughput, accuracy).
    Decrease,
    /// Any change.
    Either,
}

impl Direction {
    /// As written in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Increase => "increase",
            Direction::Decrease => "decrease",
            Direction::Either => "either",
        }
    }
}

/// What a metric without enough data does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoData {
    /// Left out of the score.
    Ignore,
    /// Counts as failed.
    Fail,
    /// Makes the verdict Inconclusive.
    Inconclusive,
}

/// A metric, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// Its name.
    pub name: String,
    /// The PromQL query with placeholders.
    pub query: Option<String>,
    /// The column in the files.
    pub column: String,
    /// Which change is bad.
    pub direction: Direction,
    /// Relative tolerance.
    pub tolerance: f64,
    /// Absolute tolerance.
    pub tolerance_abs: f64,
    /// Fails the whole judgement.
    pub critical: bool,
    /// Without data.
    pub nodata: NoData,
    /// Its group.
    pub group: String,
}

/// The Prometheus source, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Prometheus {
    /// The base URL.
    pub url: String,
    /// The window's length.
    pub window: Duration,
    /// Its end, in Unix seconds (None: now).
    pub end: Option<f64>,
    /// The query step.
    pub step: Duration,
    /// Per query.
    pub timeout: Duration,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// (header name, environment variable, 1-based line).
    pub secret_headers: Vec<(String, String, u32)>,
}

/// Where the samples come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// Range queries.
    Prometheus(Prometheus),
    /// Two files.
    Files {
        /// The baseline's.
        baseline: PathBuf,
        /// The canary's.
        canary: PathBuf,
    },
}

/// A `[[suite.canary]]` table, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct CanarySuite {
    /// The samples' source.
    pub source: Source,
    /// The baseline's placeholder values.
    pub baseline: BTreeMap<String, String>,
    /// The canary's.
    pub canary: BTreeMap<String, String>,
    /// Of the tests and intervals.
    pub confidence: f64,
    /// Pass from this score.
    pub pass_score: f64,
    /// Marginal from this score.
    pub marginal_score: f64,
    /// A Marginal verdict passes.
    pub marginal_passes: bool,
    /// Per side.
    pub min_samples: usize,
    /// A/A mode.
    pub aa: bool,
    /// For A/A sample sizes.
    pub power: f64,
    /// The metrics, in order.
    pub metrics: Vec<Metric>,
    /// Every group the metrics use, in first-use order, with its weight.
    pub groups: Vec<(String, f64)>,
}

/// Reads an RFC 3339 time or Unix seconds (None when it is neither).
pub fn parse_end(text: &str) -> Option<f64> {
    if let Ok(secs) = text.trim().parse::<f64>() {
        return secs.is_finite().then_some(secs);
    }
    let t = chrono::DateTime::parse_from_rfc3339(text.trim()).ok()?;
    #[expect(
        clippy::cast_precision_loss,
        reason = "milliseconds since 1970 fit in f64"
    )]
    Some(t.timestamp_millis() as f64 / 1000.0)
}

/// The judgement's `confidence` (default 0.95), `pass_score` (95) and `marginal_score` (75),
/// checked: for `[[suite.canary]]` and `[[suite.shadow]]` alike.
///
/// # Errors
/// A value out of range, or a Marginal threshold above the Pass one, naming the key.
pub(crate) fn verdict_settings(
    confidence: Option<f64>,
    pass_score: Option<f64>,
    marginal_score: Option<f64>,
    origin: &Origin<'_>,
) -> Result<(f64, f64, f64), String> {
    let confidence = confidence.unwrap_or(0.95);
    if !(confidence > 0.5 && confidence < 1.0) {
        return Err(format!(
            "{} must be between 0.5 and 1 (0.95 is usual), not {confidence}",
            origin.name("confidence")
        ));
    }
    let pass_score = pass_score.unwrap_or(95.0);
    let marginal_score = marginal_score.unwrap_or(75.0);
    for (key, v) in [
        ("pass_score", pass_score),
        ("marginal_score", marginal_score),
    ] {
        if !(0.0..=100.0).contains(&v) {
            return Err(format!(
                "{} must be from 0 to 100, not {v}",
                origin.name(key)
            ));
        }
    }
    if marginal_score > pass_score {
        return Err(format!(
            "{} ({marginal_score}) is above {} ({pass_score})",
            origin.name("marginal_score"),
            origin.name("pass_score")
        ));
    }
    Ok((confidence, pass_score, marginal_score))
}

/// Checks a `[[suite.canary]]` table.
///
/// # Errors
/// No source or two, no metric, a bad direction, tolerance, score or placeholder, at its line.
pub fn resolve(raw: CanarySuiteFile, origin: &Origin<'_>) -> Result<CanarySuite, ConfigError> {
    let name = raw.name.get_ref().clone();
    let at = raw.name.span().start;
    let err = |m: String| origin.error(at, format!("suite `{name}`: {m}"));
    let source = match (raw.prometheus, raw.files) {
        (Some(_), Some(_)) => {
            return Err(err(
                "has both `prometheus` and `files`: the samples come from one of them".to_owned(),
            ));
        }
        (None, None) => {
            return Err(err(
                "has no source of samples: add `[suite.canary.prometheus]` (url) or `[suite.canary.files]` (baseline, canary)"
                    .to_owned(),
            ));
        }
        (Some(p), None) => {
            if !crate::values::is_http_url(&p.url) {
                return Err(err(format!(
                    "`prometheus.url` must be an http:// or https:// URL, not `{}`",
                    p.url
                )));
            }
            let window = p
                .window
                .as_ref()
                .map_or(Ok(Duration::from_secs(600)), |d| {
                    d.get("`prometheus.window`")
                })
                .map_err(&err)?;
            let step = p
                .step
                .as_ref()
                .map_or(Ok(Duration::from_secs(15)), |d| d.get("`prometheus.step`"))
                .map_err(&err)?;
            if window.is_zero() || step.is_zero() {
                return Err(err(
                    "`prometheus.window` and `prometheus.step` must be more than zero".to_owned(),
                ));
            }
            if step > window {
                return Err(err(format!(
                    "`prometheus.step` ({} s) is longer than the window ({} s): there would be one sample",
                    step.as_secs_f64(),
                    window.as_secs_f64()
                )));
            }
            // Prometheus refuses more than 11,000 points per series.
            if window.as_secs_f64() / step.as_secs_f64() > 11_000.0 {
                return Err(err(format!(
                    "the window ({} s) over the step ({} s) makes more than the 11,000 points a Prometheus range query returns: make the step longer",
                    window.as_secs_f64(),
                    step.as_secs_f64()
                )));
            }
            let end = match p.end.as_deref() {
                None => None,
                Some(t) => Some(parse_end(t).ok_or_else(|| {
                    err(format!(
                        "`prometheus.end` must be an RFC 3339 time (`2026-12-05T10:00:00Z`) or Unix seconds, not `{t}`"
                    ))
                })?),
            };
            let timeout = p.timeout_secs.unwrap_or(30.0);
            if !(timeout.is_finite() && timeout > 0.0 && timeout <= crate::values::MAX_SECONDS) {
                return Err(err(format!(
                    "`prometheus.timeout_secs` must be a positive number of seconds, not {timeout}"
                )));
            }
            Source::Prometheus(Prometheus {
                url: p.url.trim_end_matches('/').to_owned(),
                window,
                end,
                step,
                timeout: Duration::from_secs_f64(timeout),
                headers: p.headers.into_iter().collect(),
                secret_headers: secret_headers(&p.secret_headers, origin)?,
            })
        }
        (None, Some(f)) => Source::Files {
            baseline: origin.path(&f.baseline),
            canary: origin.path(&f.canary),
        },
    };
    let (confidence, pass_score, marginal_score) =
        verdict_settings(raw.confidence, raw.pass_score, raw.marginal_score, origin)
            .map_err(&err)?;
    let min_samples = raw.min_samples.unwrap_or(10);
    if min_samples < 3 {
        return Err(err(format!(
            "`min_samples` must be at least 3, not {min_samples}"
        )));
    }
    let power = raw.power.unwrap_or(0.8);
    if !(power > 0.0 && power < 1.0) {
        return Err(err(format!(
            "`power` must be between 0 and 1 (0.8 is usual), not {power}"
        )));
    }
    if raw.metric.is_empty() {
        return Err(err(
            "has no metric: add `[[suite.canary.metric]]` tables".to_owned()
        ));
    }
    let prometheus = matches!(source, Source::Prometheus(_));
    let mut metrics: Vec<Metric> = Vec::new();
    let mut groups: Vec<(String, f64)> = Vec::new();
    for m in raw.metric {
        let e = |msg: String| err(format!("metric `{}`: {msg}", m.name));
        if m.name.trim().is_empty() {
            return Err(err("a metric has an empty `name`".to_owned()));
        }
        if metrics.iter().any(|x| x.name == m.name) {
            return Err(e("is declared twice".to_owned()));
        }
        let direction = match m.direction.as_deref() {
            None | Some("increase") => Direction::Increase,
            Some("decrease") => Direction::Decrease,
            Some("either") => Direction::Either,
            Some(other) => {
                return Err(e(format!(
                    "`direction` is `increase`, `decrease` or `either`, not `{other}`"
                )));
            }
        };
        let nodata = match m.nodata.as_deref() {
            None | Some("ignore") => NoData::Ignore,
            Some("fail") => NoData::Fail,
            Some("inconclusive") => NoData::Inconclusive,
            Some(other) => {
                return Err(e(format!(
                    "`nodata` is `ignore`, `fail` or `inconclusive`, not `{other}`"
                )));
            }
        };
        let tolerance = m.tolerance.unwrap_or(0.05);
        let tolerance_abs = m.tolerance_abs.unwrap_or(0.0);
        for (key, v) in [("tolerance", tolerance), ("tolerance_abs", tolerance_abs)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(e(format!("`{key}` must be a number of 0 or more, not {v}")));
            }
        }
        if prometheus {
            let Some(q) = m.query.as_deref() else {
                return Err(e(
                    "has no `query`: with `prometheus`, each metric is a PromQL query".to_owned(),
                ));
            };
            for scope in [("baseline", &raw.baseline), ("canary", &raw.canary)] {
                if let Some(missing) = placeholders(q)
                    .into_iter()
                    .find(|p| !scope.1.contains_key(p))
                {
                    return Err(e(format!(
                        "the query's placeholder `{{{{ {missing} }}}}` has no value in `{}` (set `{}.{missing}`)",
                        scope.0, scope.0
                    )));
                }
            }
        }
        let group = m.group.clone().unwrap_or_else(|| "default".to_owned());
        if !groups.iter().any(|(g, _)| *g == group) {
            let weight = raw.groups.get(&group).copied().unwrap_or(1.0);
            groups.push((group.clone(), weight));
        }
        metrics.push(Metric {
            column: m.column.clone().unwrap_or_else(|| m.name.clone()),
            name: m.name,
            query: m.query,
            direction,
            tolerance,
            tolerance_abs,
            critical: m.critical,
            nodata,
            group,
        });
    }
    for (g, w) in &raw.groups {
        if !(w.is_finite() && *w > 0.0) {
            return Err(err(format!(
                "group `{g}`'s weight must be a positive number, not {w}"
            )));
        }
        if !groups.iter().any(|(x, _)| x == g) {
            let known: Vec<&str> = groups.iter().map(|(x, _)| x.as_str()).collect();
            return Err(err(format!(
                "`groups` weighs `{g}`, which no metric is in (groups: {})",
                known.join(", ")
            )));
        }
    }
    Ok(CanarySuite {
        source,
        baseline: raw.baseline,
        canary: raw.canary,
        confidence,
        pass_score,
        marginal_score,
        marginal_passes: raw.marginal_passes,
        min_samples,
        aa: raw.aa,
        power,
        metrics,
        groups,
    })
}

/// The names of the `{{ NAME }}` placeholders in `query`, in order.
pub fn placeholders(query: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = query;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let name = after[..end].trim();
        if !name.is_empty() && !out.iter().any(|n| n == name) {
            out.push(name.to_owned());
        }
        rest = &after[end + 2..];
    }
    out
}

/// `query` with every `{{ NAME }}` replaced by its value in `scope` (placeholders without a
/// value are left as they are; [`resolve`] refuses them).
pub fn fill(query: &str, scope: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(query.len());
    let mut rest = query;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        out.push_str(&rest[..start]);
        match scope.get(after[..end].trim()) {
            Some(v) => out.push_str(v),
            None => out.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_found_and_filled() {
        let q = r#"sum(rate(x{version="{{ version }}",pod=~"{{pod}}"}[1m])) / {{ version }}"#;
        assert_eq!(placeholders(q), ["version", "pod"]);
        let scope = BTreeMap::from([
            ("version".to_owned(), "2".to_owned()),
            ("pod".to_owned(), "a-.*".to_owned()),
        ]);
        assert_eq!(
            fill(q, &scope),
            r#"sum(rate(x{version="2",pod=~"a-.*"}[1m])) / 2"#
        );
        assert_eq!(fill("{{ nope }} {{", &scope), "{{ nope }} {{");
    }

    #[test]
    fn ends_are_rfc3339_or_unix_seconds() {
        assert_eq!(parse_end("1700000000"), Some(1_700_000_000.0));
        assert_eq!(parse_end("2023-11-14T22:13:20Z"), Some(1_700_000_000.0));
        assert_eq!(parse_end("yesterday"), None);
    }
}
