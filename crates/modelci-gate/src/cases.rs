//! From resolved thresholds and computed metrics to report cases: one case per threshold, and
//! per group (or per grouping) when a threshold names a family of metrics.
//!
//! Threshold keys match metric names:
//! - exactly (`accuracy_score`, `recall_score/sex=F`, `latency_p95_ms/batch=32`);
//! - `name/*`: every metric `name/<anything>` (e.g. `recall_score/*`: one case per class and
//!   per group); any key ending in `*` matches the names it starts (`recall_score/region=*`:
//!   the groups of `region` only);
//! - a bare name that was only computed per grouping (e.g. `demographic_parity_difference`
//!   when it exists as `demographic_parity_difference/sex`): every grouping.
//!
//! A key that matches nothing is an errored case (the gate fails closed) that lists the closest
//! computed names.

use std::collections::BTreeMap;

use modelci_report::{Case, Outcome};

use crate::threshold::{Comparison, Evidence, Resolved, Verdict, judge};

/// Metrics of one model: values, metrics that could not be computed (with why), and metrics
/// reported but not judged (groups below the minimum size).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricSet {
    pub values: BTreeMap<String, f64>,
    pub absent: BTreeMap<String, String>,
    pub not_judged: BTreeMap<String, String>,
}

impl MetricSet {
    /// Records a value.
    pub fn set(&mut self, name: impl Into<String>, value: f64) {
        let name = name.into();
        self.absent.remove(&name);
        self.values.insert(name, value);
    }

    /// Records why a metric has no value.
    pub fn absent(&mut self, name: impl Into<String>, why: impl Into<String>) {
        let name = name.into();
        if !self.values.contains_key(&name) {
            self.absent.insert(name, why.into());
        }
    }

    /// Whether anything is known about `name`.
    pub fn knows(&self, name: &str) -> bool {
        self.values.contains_key(name) || self.absent.contains_key(name)
    }

    fn names(&self) -> impl Iterator<Item = &String> {
        self.values.keys().chain(self.absent.keys())
    }
}

/// The metric names a threshold key stands for (the key itself when nothing matches).
pub fn expand(key: &str, computed: &MetricSet) -> Vec<String> {
    if computed.knows(key) {
        return vec![key.to_owned()];
    }
    let prefix = match key.strip_suffix('*') {
        Some(p) if p.contains('/') => p.to_owned(),
        _ if !key.contains('/') => format!("{key}/"),
        _ => return vec![key.to_owned()],
    };
    let mut found: Vec<String> = computed
        .names()
        .filter(|n| n.starts_with(&prefix))
        .cloned()
        .collect();
    found.sort();
    found.dedup();
    if found.is_empty() {
        vec![key.to_owned()]
    } else {
        found
    }
}

/// Everything the cases are judged on.
pub struct Judged<'a> {
    pub candidate: &'a MetricSet,
    /// The baseline's metrics, when there is a baseline.
    pub baseline: Option<&'a MetricSet>,
    /// Paired comparisons per metric (only computed for thresholds that ask for statistics).
    pub comparisons: &'a BTreeMap<String, Comparison>,
}

/// One case per threshold and matched metric, in threshold order.
pub fn cases(resolved: &[Resolved], j: &Judged<'_>) -> Vec<Case> {
    let mut out = Vec::new();
    for r in resolved {
        for metric in expand(&r.metric, j.candidate) {
            out.push(case(&metric, r, j));
        }
    }
    out
}

fn case(metric: &str, r: &Resolved, j: &Judged<'_>) -> Case {
    let mut c = if let Some(why) = j.candidate.not_judged.get(metric) {
        Case::skipped(metric, why.clone())
    } else if let (false, Some(why)) = (
        j.candidate.values.contains_key(metric),
        j.candidate.absent.get(metric),
    ) {
        Case::errored(
            metric,
            format!(
                "`{metric}` could not be computed for the candidate: {why}; its threshold cannot pass (fails closed)"
            ),
        )
    } else if !j.candidate.knows(metric) {
        let mut message = format!(
            "no metric `{metric}` was computed, so its threshold cannot pass (fails closed)"
        );
        if let Some(close) = modelci_text::suggest(metric, j.candidate.names().map(String::as_str))
        {
            message.push_str(&format!("; did you mean `{close}`?"));
        } else if [
            "demographic_parity",
            "equalized_odds",
            "equal_opportunity",
            "selection_rate",
            "true_positive_rate",
            "false_positive_rate",
        ]
        .iter()
        .any(|f| metric.starts_with(f))
        {
            message.push_str(
                "; fairness metrics are computed per sensitive column (`sensitive`, --sensitive)",
            );
        } else if metric.starts_with("latency_") || metric.starts_with("throughput_") {
            message.push_str(
                "; latency is measured only when asked for (`[suite.gate.latency]`, --latency-batch-sizes)",
            );
        }
        Case::errored(metric, message)
    } else {
        let ev = Evidence {
            candidate: j.candidate.values.get(metric).copied(),
            baseline: j.baseline.and_then(|b| b.values.get(metric).copied()),
            has_baseline: j.baseline.is_some(),
            comparison: j.comparisons.get(metric).cloned(),
        };
        let judgement = judge(metric, &r.threshold, &ev);
        let mut c = match judgement.verdict {
            Verdict::Passed => Case::passed(metric),
            Verdict::Failed => Case::new(metric, Outcome::Failed),
            Verdict::Errored => Case::new(metric, Outcome::Errored),
        };
        let mut message = judgement.message.clone();
        if !judgement.warnings.is_empty() {
            message = format!("warning: {}", judgement.warnings[0]);
            if judgement.verdict != Verdict::Passed {
                message = judgement.message.clone();
            }
            c = c.with_property("warnings", judgement.warnings.join("\n"));
        }
        c = c.with_message(message);
        if let Some(v) = ev.candidate {
            c = c.with_property("candidate", v.to_string());
            c.actual = Some(v.to_string());
        }
        if let Some(v) = ev.baseline {
            c = c.with_property("baseline", v.to_string());
        }
        c.expected = Some(r.threshold.describe());
        let shown = c.message.clone().unwrap_or_default();
        let lines: Vec<String> = judgement
            .details
            .iter()
            .chain(&judgement.warnings)
            .filter(|l| !shown.contains(l.as_str()))
            .cloned()
            .collect();
        if !lines.is_empty() {
            c.detail = Some(lines.join("\n"));
        }
        c
    };
    if let (Outcome::Skipped, Some(v)) = (c.outcome, j.candidate.values.get(metric)) {
        c = c.with_property("candidate", v.to_string());
    }
    c.with_property("threshold", r.threshold.describe())
        .with_property("threshold_source", r.source.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::threshold::{MetricThreshold, Source};

    fn resolved(metric: &str, json: &str) -> Resolved {
        Resolved {
            metric: metric.into(),
            threshold: serde_json::from_str::<MetricThreshold>(json).expect("t"),
            source: Source::File("t.json".into()),
            overrides: Vec::new(),
        }
    }

    fn set(pairs: &[(&str, f64)]) -> MetricSet {
        let mut m = MetricSet::default();
        for (k, v) in pairs {
            m.set(*k, *v);
        }
        m
    }

    #[test]
    fn keys_expand_to_groups_and_groupings() {
        let m = set(&[
            ("recall_score", 0.9),
            ("recall_score/sex=F", 0.8),
            ("recall_score/sex=M", 0.95),
            ("demographic_parity_difference/sex", 0.1),
            ("demographic_parity_difference/sex&race", 0.2),
        ]);
        assert_eq!(expand("recall_score", &m), ["recall_score"]);
        assert_eq!(
            expand("recall_score/*", &m),
            ["recall_score/sex=F", "recall_score/sex=M"]
        );
        assert_eq!(
            expand("demographic_parity_difference", &m),
            [
                "demographic_parity_difference/sex",
                "demographic_parity_difference/sex&race"
            ]
        );
        assert_eq!(expand("f1_score", &m), ["f1_score"]);
        assert_eq!(
            expand("recall_score/sex=*", &m),
            ["recall_score/sex=F", "recall_score/sex=M"]
        );
        assert_eq!(expand("recall_score/race=*", &m), ["recall_score/race=*"]);
    }

    #[test]
    fn one_case_per_matched_metric_and_unknown_metrics_fail_closed() {
        let mut m = set(&[
            ("accuracy_score", 0.9),
            ("recall_score/sex=F", 0.7),
            ("recall_score/sex=M", 0.95),
        ]);
        m.not_judged.insert(
            "recall_score/sex=M".into(),
            "12 rows, below min_group_size 30: reported, not judged".into(),
        );
        m.absent("roc_auc", "only one class is present in the labels");
        let rs = vec![
            resolved(
                "accuracy_score",
                r#"{"threshold": 0.8, "greater_is_better": true}"#,
            ),
            resolved(
                "recall_score/*",
                r#"{"threshold": 0.75, "greater_is_better": true}"#,
            ),
            resolved(
                "roc_auc",
                r#"{"threshold": 0.7, "greater_is_better": true}"#,
            ),
            resolved(
                "acuracy_score",
                r#"{"threshold": 0.7, "greater_is_better": true}"#,
            ),
        ];
        let comparisons = BTreeMap::new();
        let out = cases(
            &rs,
            &Judged {
                candidate: &m,
                baseline: None,
                comparisons: &comparisons,
            },
        );
        let summary: Vec<(String, Outcome)> =
            out.iter().map(|c| (c.name.clone(), c.outcome)).collect();
        assert_eq!(
            summary,
            [
                ("accuracy_score".into(), Outcome::Passed),
                ("recall_score/sex=F".into(), Outcome::Failed),
                ("recall_score/sex=M".into(), Outcome::Skipped),
                ("roc_auc".into(), Outcome::Errored),
                ("acuracy_score".into(), Outcome::Errored),
            ]
        );
        assert!(
            out[3]
                .message
                .as_deref()
                .unwrap_or_default()
                .contains("only one class")
        );
        assert!(
            out[4]
                .message
                .as_deref()
                .unwrap_or_default()
                .contains("did you mean `accuracy_score`?")
        );
        assert_eq!(
            out[0]
                .properties
                .get("threshold_source")
                .map(String::as_str),
            Some("file t.json")
        );
    }
}
