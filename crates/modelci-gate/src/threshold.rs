//! Metric thresholds: MLflow's `MetricThreshold` (`threshold`, `min_absolute_change`,
//! `min_relative_change`, `greater_is_better`) plus non-inferiority bounds
//! (`max_absolute_degradation`, `max_relative_degradation`) and optional statistics, where they
//! come from (a local file, registered-model tags, model-version tags), and how a metric is
//! judged against one.
//!
//! MLflow's semantics are followed exactly for its keys, including its corner cases: a relative
//! change is `(candidate - baseline) / baseline` (reversed when lower is better), and a zero
//! baseline falls back to "the candidate must be better by 1e-10".

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The registered-model and model-version tag holding a JSON object of metric → threshold.
pub const TAG_ALL: &str = "modelci.thresholds";
/// The prefix of per-metric tags: `modelci.threshold.<metric>` holds one threshold object.
pub const TAG_PREFIX: &str = "modelci.threshold.";

/// One metric's threshold, as written in a thresholds file or a registry tag.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricThreshold {
    /// The candidate's value must be >= this (<= when lower is better).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// MLflow: the candidate must beat the baseline by at least this much (a positive number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_absolute_change: Option<f64>,
    /// MLflow: the candidate must beat the baseline by at least this fraction of the baseline's
    /// value (between 0 and 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_relative_change: Option<f64>,
    /// Non-inferiority: the candidate may be worse than the baseline by at most this much.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_absolute_degradation: Option<f64>,
    /// Non-inferiority: the candidate may be worse than the baseline by at most this fraction
    /// of the baseline's magnitude.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_relative_degradation: Option<f64>,
    /// Whether higher values are better (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greater_is_better: Option<bool>,
    /// MLflow's deprecated name for `greater_is_better`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub higher_is_better: Option<bool>,
    /// Statistics for the comparisons with the baseline: fail them only when the candidate is
    /// worse with this confidence (e.g. 0.95), and warn when the sample is too small to tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// The paired test: `bootstrap` (a confidence interval of the difference, any metric;
    /// the default) or `mcnemar` (per-row correctness, accuracy only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<StatTest>,
}

/// A paired test of candidate against baseline on the same rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StatTest {
    Bootstrap,
    Mcnemar,
}

impl MetricThreshold {
    /// Whether higher is better (after [`MetricThreshold::check`], always known).
    pub fn greater(&self) -> bool {
        self.greater_is_better
            .or(self.higher_is_better)
            .unwrap_or(true)
    }

    /// Whether any bound needs a baseline.
    pub fn compares(&self) -> bool {
        self.min_absolute_change.is_some()
            || self.min_relative_change.is_some()
            || self.max_absolute_degradation.is_some()
            || self.max_relative_degradation.is_some()
    }

    /// MLflow's checks (and the same kind for the added keys).
    ///
    /// # Errors
    /// What is wrong, in MLflow's words where it has them.
    pub fn check(&self) -> Result<(), String> {
        let finite = |key: &str, v: Option<f64>| match v {
            Some(x) if !x.is_finite() => Err(format!("`{key}` must be a finite number")),
            _ => Ok(()),
        };
        finite("threshold", self.threshold)?;
        if self
            .min_absolute_change
            .is_some_and(|x| !(x.is_finite() && x > 0.0))
        {
            return Err("`min_absolute_change` must be a positive number".into());
        }
        if self
            .min_relative_change
            .is_some_and(|x| !(0.0..=1.0).contains(&x))
        {
            return Err("`min_relative_change` must be between 0 and 1".into());
        }
        for (key, v) in [
            ("max_absolute_degradation", self.max_absolute_degradation),
            ("max_relative_degradation", self.max_relative_degradation),
        ] {
            if v.is_some_and(|x| !(x.is_finite() && x >= 0.0)) {
                return Err(format!("`{key}` must be a non-negative number"));
            }
        }
        match (self.greater_is_better, self.higher_is_better) {
            (None, None) => return Err("`greater_is_better` must be given (true or false)".into()),
            (Some(_), Some(_)) => {
                return Err(
                    "give `greater_is_better` only (`higher_is_better` is its deprecated name)"
                        .into(),
                );
            }
            _ => {}
        }
        if self.threshold.is_none() && !self.compares() {
            return Err("no threshold was given: set `threshold`, `min_absolute_change`, `min_relative_change`, `max_absolute_degradation` or `max_relative_degradation`".into());
        }
        if let Some(c) = self.confidence
            && !(c > 0.0 && c < 1.0)
        {
            return Err("`confidence` must be between 0 and 1 (e.g. 0.95)".into());
        }
        if (self.confidence.is_some() || self.test.is_some()) && !self.compares() {
            return Err(
                "`confidence` and `test` apply to comparisons with the baseline: add a change or degradation bound"
                    .into(),
            );
        }
        Ok(())
    }

    /// The bounds in words, for `--explain` and messages: `>= 0.8; >= baseline + 0.01`.
    pub fn describe(&self) -> String {
        let g = self.greater();
        let (ge, better) = if g { (">=", "+") } else { ("<=", "-") };
        let mut parts = Vec::new();
        if let Some(t) = self.threshold {
            parts.push(format!("{ge} {t}"));
        }
        if let Some(m) = self.min_absolute_change {
            parts.push(format!("{ge} baseline {better} {m}"));
        }
        if let Some(m) = self.min_relative_change {
            parts.push(format!("{ge} baseline {better} {}%", m * 100.0));
        }
        if let Some(d) = self.max_absolute_degradation {
            parts.push(format!("at most {d} worse than baseline"));
        }
        if let Some(d) = self.max_relative_degradation {
            parts.push(format!("at most {}% worse than baseline", d * 100.0));
        }
        let mut text = parts.join("; ");
        text.push_str(if g {
            " (higher is better)"
        } else {
            " (lower is better)"
        });
        if let Some(c) = self.confidence {
            let test = match self.test.unwrap_or(StatTest::Bootstrap) {
                StatTest::Bootstrap => "paired bootstrap",
                StatTest::Mcnemar => "McNemar",
            };
            text.push_str(&format!(
                "; comparisons fail only when worse with {}% confidence ({test})",
                c * 100.0
            ));
        }
        text
    }
}

/// Where a threshold came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A local thresholds file.
    File(String),
    /// A registered model's tag.
    ModelTag { model: String, tag: String },
    /// A model version's tag.
    VersionTag {
        model: String,
        version: String,
        tag: String,
    },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File(p) => write!(f, "file {p}"),
            Source::ModelTag { model, tag } => write!(f, "registered model `{model}` tag `{tag}`"),
            Source::VersionTag {
                model,
                version,
                tag,
            } => write!(f, "model `{model}` version {version} tag `{tag}`"),
        }
    }
}

/// A threshold that cannot be read, and where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_}: {message}")]
pub struct ThresholdError {
    pub source_: String,
    pub message: String,
}

/// A metric's threshold, where it came from, and what it overrode.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub metric: String,
    pub threshold: MetricThreshold,
    pub source: Source,
    /// Lower layers that also set this metric (overridden), most recent first.
    pub overrides: Vec<Source>,
}

impl Resolved {
    /// One line for `--explain`.
    pub fn explain(&self) -> String {
        let mut s = format!(
            "{}: {} (from {})",
            self.metric,
            self.threshold.describe(),
            self.source
        );
        if !self.overrides.is_empty() {
            let o: Vec<String> = self.overrides.iter().map(ToString::to_string).collect();
            s.push_str(&format!("; overrides {}", o.join(", ")));
        }
        s
    }
}

/// A metric name → threshold map from one source.
pub type Layer = Vec<(String, MetricThreshold, Source)>;

/// Reads a JSON object of metric → threshold (the `modelci.thresholds` tag and `.json` files).
///
/// # Errors
/// Not JSON, not an object, or a threshold that fails [`MetricThreshold::check`] (named).
pub fn parse_json_map(text: &str, source: &Source) -> Result<Layer, ThresholdError> {
    let err = |message: String| ThresholdError {
        source_: source.to_string(),
        message,
    };
    let map: BTreeMap<String, serde_json::Value> = serde_json::from_str(text).map_err(|e| {
        err(format!(
            "not a JSON object of metric name to threshold: {e}"
        ))
    })?;
    let mut out = Vec::new();
    for (metric, value) in map {
        let t: MetricThreshold =
            serde_json::from_value(value).map_err(|e| err(format!("`{metric}`: {e}")))?;
        t.check().map_err(|e| err(format!("`{metric}`: {e}")))?;
        out.push((metric, t, source.clone()));
    }
    Ok(out)
}

/// Reads one threshold object (a `modelci.threshold.<metric>` tag).
///
/// # Errors
/// Not a threshold object, or one that fails [`MetricThreshold::check`].
pub fn parse_json_one(text: &str, source: &Source) -> Result<MetricThreshold, ThresholdError> {
    let err = |message: String| ThresholdError {
        source_: source.to_string(),
        message,
    };
    let t: MetricThreshold =
        serde_json::from_str(text).map_err(|e| err(format!("not a threshold object: {e}")))?;
    t.check().map_err(err)?;
    Ok(t)
}

/// Reads a thresholds file: JSON (like the `modelci.thresholds` tag) or TOML (a table per
/// metric: `[accuracy_score]` then its keys).
///
/// # Errors
/// The file cannot be read or parsed, or a threshold is invalid (named with the file).
pub fn read_file(path: &Path) -> Result<Layer, ThresholdError> {
    let shown = path.display().to_string();
    let source = Source::File(shown.clone());
    let text = std::fs::read_to_string(path).map_err(|e| ThresholdError {
        source_: shown.clone(),
        message: format!("cannot read: {e}"),
    })?;
    let is_toml = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    if !is_toml {
        return parse_json_map(&text, &source);
    }
    let table: BTreeMap<String, toml::Value> =
        toml::from_str(&text).map_err(|e| ThresholdError {
            source_: shown.clone(),
            message: e.to_string().trim_end().to_owned(),
        })?;
    let mut out = Vec::new();
    for (metric, value) in table {
        let t: MetricThreshold = value
            .try_into()
            .map_err(|e: toml::de::Error| ThresholdError {
                source_: shown.clone(),
                message: format!("[{metric}]: {}", e.message()),
            })?;
        t.check().map_err(|e| ThresholdError {
            source_: shown.clone(),
            message: format!("[{metric}]: {e}"),
        })?;
        out.push((metric, t, source.clone()));
    }
    Ok(out)
}

/// Reads the thresholds in a registry object's tags: `modelci.thresholds` (a JSON map) and
/// `modelci.threshold.<metric>` (one object each; it wins over the map's entry for the same
/// metric). `source` makes the [`Source`] of a tag.
///
/// Returns the thresholds of the well-formed tags, and every malformed tag's error (each named):
/// one bad tag does not hide the others.
pub fn from_tags(
    tags: &BTreeMap<String, String>,
    source: impl Fn(&str) -> Source,
) -> (Layer, Vec<ThresholdError>) {
    let mut out: Layer = Vec::new();
    let mut errors = Vec::new();
    if let Some(text) = tags.get(TAG_ALL) {
        match parse_json_map(text, &source(TAG_ALL)) {
            Ok(layer) => out.extend(layer),
            Err(e) => errors.push(e),
        }
    }
    for (tag, text) in tags {
        let Some(metric) = tag.strip_prefix(TAG_PREFIX) else {
            continue;
        };
        if metric.is_empty() {
            errors.push(ThresholdError {
                source_: source(tag).to_string(),
                message: format!("the tag names no metric (`{TAG_PREFIX}<metric>`)"),
            });
            continue;
        }
        match parse_json_one(text, &source(tag)) {
            Ok(t) => {
                out.retain(|(m, _, _)| m != metric);
                out.push((metric.to_owned(), t, source(tag)));
            }
            Err(e) => errors.push(e),
        }
    }
    (out, errors)
}

/// Merges layers, lowest precedence first (file, then registered-model tags, then model-version
/// tags): a metric set by a higher layer replaces the whole threshold of a lower one.
pub fn resolve(layers: Vec<Layer>) -> Vec<Resolved> {
    let mut by_metric: BTreeMap<String, Resolved> = BTreeMap::new();
    for layer in layers {
        for (metric, threshold, source) in layer {
            match by_metric.get_mut(&metric) {
                Some(r) => {
                    let old = std::mem::replace(&mut r.source, source);
                    r.overrides.insert(0, old);
                    r.threshold = threshold;
                }
                None => {
                    by_metric.insert(
                        metric.clone(),
                        Resolved {
                            metric,
                            threshold,
                            source,
                            overrides: Vec::new(),
                        },
                    );
                }
            }
        }
    }
    by_metric.into_values().collect()
}

/// What a paired statistical comparison of candidate and baseline found for one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Confidence interval of `candidate - baseline` at the threshold's confidence (bootstrap).
    pub delta_ci: Option<(f64, f64)>,
    /// McNemar's two-sided p-value on per-row correctness, and whether the candidate made more
    /// errors than the baseline on the discordant rows.
    pub mcnemar: Option<(f64, bool)>,
    /// Why the sample is too small to tell, when it is.
    pub too_small: Option<String>,
}

/// What is known about a metric.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evidence {
    pub candidate: Option<f64>,
    /// `None` when there is no baseline, or the baseline lacks the metric.
    pub baseline: Option<f64>,
    /// Whether a baseline model (or its logged metrics) was part of the gate at all.
    pub has_baseline: bool,
    pub comparison: Option<Comparison>,
}

/// How a metric fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    Failed,
    /// It could not be judged (a metric that was not computed, a missing baseline): the gate
    /// fails closed.
    Errored,
}

/// The judgement of one metric against its threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    pub verdict: Verdict,
    /// One line: what failed, or what passed.
    pub message: String,
    /// Each bound's result, one per line.
    pub details: Vec<String>,
    /// Passes that statistics granted (the point estimate failed but the sample cannot tell),
    /// and samples too small to tell.
    pub warnings: Vec<String>,
}

fn num(x: f64) -> String {
    if x == 0.0 || (x.abs() >= 1e-4 && x.abs() < 1e6) {
        let s = format!("{x:.6}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s.is_empty() || s == "-" {
            "0".into()
        } else {
            s.to_owned()
        }
    } else {
        format!("{x:e}")
    }
}

/// Judges `metric` (named as in reports) against `t`.
pub fn judge(metric: &str, t: &MetricThreshold, ev: &Evidence) -> Judgement {
    let errored = |message: String| Judgement {
        verdict: Verdict::Errored,
        message,
        details: Vec::new(),
        warnings: Vec::new(),
    };
    let Some(c) = ev.candidate else {
        return errored(format!(
            "`{metric}` was not computed for the candidate, so its threshold cannot pass (fails closed)"
        ));
    };
    if !c.is_finite() {
        return errored(format!(
            "`{metric}` of the candidate is {c}, not a number to judge"
        ));
    }
    let g = t.greater();
    let mut failed = Vec::new();
    let mut details = Vec::new();
    let mut warnings = Vec::new();
    if let Some(thr) = t.threshold {
        let ok = if g { c >= thr } else { c <= thr };
        let line = format!(
            "candidate {metric} = {} {} threshold {}",
            num(c),
            match (ok, g) {
                (true, true) => ">=",
                (true, false) => "<=",
                (false, true) => "<",
                (false, false) => ">",
            },
            num(thr)
        );
        if !ok {
            failed.push(line.clone());
        }
        details.push(line);
    }
    if t.compares() {
        let Some(b) = ev.baseline.filter(|_| ev.has_baseline) else {
            let why = if ev.has_baseline {
                format!("`{metric}` is missing from the baseline's results")
            } else {
                "there is no baseline to compare with (give --baseline or `baseline`)".to_owned()
            };
            let mut j = errored(format!(
                "`{metric}` compares with the baseline, but {why} (fails closed)"
            ));
            j.details = details;
            return j;
        };
        if !b.is_finite() {
            return errored(format!(
                "`{metric}` of the baseline is {b}, not a number to compare"
            ));
        }
        // Improvement: positive when the candidate is better. Each bound is checked with
        // MLflow's own arithmetic (`c >= b + m`, not `c - b >= m`, which rounds differently),
        // and kept as a bound on the improvement for the statistics.
        let imp = if g { c - b } else { b - c };
        let beats = |by: f64| if g { c >= b + by } else { c <= b - by };
        let mut bounds: Vec<(bool, f64, String)> = Vec::new();
        if let Some(m) = t.min_absolute_change {
            bounds.push((beats(m), m, format!("min_absolute_change {}", num(m))));
        }
        if let Some(m) = t.min_relative_change {
            if b == 0.0 {
                bounds.push((
                    beats(1e-10),
                    1e-10,
                    format!(
                        "min_relative_change {} (baseline 0: must be better by 1e-10)",
                        num(m)
                    ),
                ));
            } else {
                // MLflow: (c - b) / b >= m, reversed when lower is better.
                let change = imp / b;
                bounds.push((
                    change >= m,
                    m * b,
                    format!("min_relative_change {}", num(m)),
                ));
            }
        }
        if let Some(d) = t.max_absolute_degradation {
            bounds.push((
                beats(-d),
                -d,
                format!("max_absolute_degradation {}", num(d)),
            ));
        }
        if let Some(d) = t.max_relative_degradation {
            let allowed = d * b.abs();
            bounds.push((
                beats(-allowed),
                -allowed,
                format!("max_relative_degradation {}", num(d)),
            ));
        }
        let interval = ev.comparison.as_ref().filter(|_| t.confidence.is_some());
        for (ok, bound, what) in bounds {
            let line = format!(
                "candidate {metric} = {}, baseline = {}: {} {what}",
                num(c),
                num(b),
                if ok { "meets" } else { "misses" }
            );
            details.push(line.clone());
            if ok {
                continue;
            }
            match interval.and_then(|cmp| statistically_worse(t, cmp, g, bound)) {
                Some((true, why)) => failed.push(format!("{line}; {why}")),
                Some((false, why)) => warnings.push(format!(
                    "{line}, but not with {}% confidence: {why}; passed",
                    t.confidence.unwrap_or(0.0) * 100.0
                )),
                None => failed.push(line),
            }
        }
        if let Some(cmp) = interval
            && let Some(why) = &cmp.too_small
        {
            warnings.push(format!("the sample may be too small to tell: {why}"));
        }
    }
    let verdict = if failed.is_empty() {
        Verdict::Passed
    } else {
        Verdict::Failed
    };
    let message = match failed.first() {
        Some(first) if failed.len() > 1 => format!("{first} (and {} more)", failed.len() - 1),
        Some(first) => first.clone(),
        None => format!("{metric} = {}: {}", num(c), t.describe()),
    };
    Judgement {
        verdict,
        message,
        details,
        warnings,
    }
}

/// With statistics: whether a missed comparison bound is missed with the threshold's
/// confidence, and why. `None` when the evidence has nothing for this test.
fn statistically_worse(
    t: &MetricThreshold,
    cmp: &Comparison,
    g: bool,
    bound: f64,
) -> Option<(bool, String)> {
    let confidence = t.confidence?;
    match t.test.unwrap_or(StatTest::Bootstrap) {
        StatTest::Bootstrap => {
            let (lo, hi) = cmp.delta_ci?;
            // The improvement's interval.
            let (ilo, ihi) = if g { (lo, hi) } else { (-hi, -lo) };
            let worse = ihi < bound;
            Some((
                worse,
                format!(
                    "the {}% interval of the improvement is [{}, {}]{}",
                    confidence * 100.0,
                    num(ilo),
                    num(ihi),
                    if worse {
                        ", entirely below the bound"
                    } else {
                        ", which reaches the bound"
                    }
                ),
            ))
        }
        StatTest::Mcnemar => {
            let (p, candidate_worse) = cmp.mcnemar?;
            let alpha = 1.0 - confidence;
            let worse = candidate_worse && p < alpha;
            Some((
                worse,
                format!(
                    "McNemar p = {} ({} alpha {}){}",
                    num(p),
                    if p < alpha { "<" } else { ">=" },
                    num(alpha),
                    if candidate_worse {
                        ""
                    } else {
                        "; the candidate is not the one making more errors"
                    }
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests;
