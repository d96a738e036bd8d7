//! Group fairness of a binary classifier, with fairlearn's definitions
//! (`fairlearn.metrics`: `MetricFrame`, `selection_rate`, `true_positive_rate`,
//! `false_positive_rate`, `demographic_parity_difference/ratio`,
//! `equalized_odds_difference/ratio`, `equal_opportunity_difference/ratio`).
//!
//! Rows are split by sensitive-group id (the caller maps a column, or the intersection of
//! several columns, to ids and keeps their names). For each group, [`GroupReport::metrics`] holds
//! `selection_rate` (share predicted positive), `true_positive_rate`, `false_positive_rate` and
//! every binary metric of [`crate::classifier::evaluate`] on the group's rows (`accuracy_score`,
//! `precision_score`, `recall_score`, `f1_score`, confusion counts, and with probabilities
//! `roc_auc`, `log_loss`, `precision_recall_auc`).
//!
//! # Aggregates
//! fairlearn's `method="between_groups"`: the difference is `max − min` of a per-group rate and
//! the ratio `min / max`, over the groups that take part:
//! - `demographic_parity_difference` / `_ratio`: of `selection_rate`;
//! - `equal_opportunity_difference` / `_ratio`: of `true_positive_rate`;
//! - `equalized_odds_difference` / `_ratio`: of both `true_positive_rate` and
//!   `false_positive_rate`, combined by [`EqualizedOddsAgg`] (fairlearn's default `worst_case`:
//!   the larger difference, the smaller ratio; or `mean`);
//! - `<rate>_difference` / `_ratio` for each extra [`GroupRate`] asked for.
//!
//! The four-fifths rule holds when `demographic_parity_ratio` (smallest selection rate over the
//! largest) is at least 0.8.
//!
//! # Where this differs from fairlearn, on purpose
//! - A group with fewer rows than [`FairnessOptions::min_group_size`] is reported (flagged) but
//!   takes part in no aggregate.
//! - A rate with a zero denominator is undefined for that group (no positives: TPR; no
//!   negatives: FPR; nothing predicted positive: precision): the group's entry is absent with
//!   the reason, and the group is left out of that rate's aggregates, listed in
//!   [`FairnessReport::exclusions`]. fairlearn's `true_positive_rate` goes through scikit-learn's
//!   normalised confusion matrix, which turns `0/0` into 0, and would silently count the group
//!   with a TPR of 0.
//! - An aggregate over fewer than two groups, and a ratio whose maximum is 0, are absent with a
//!   reason (fairlearn gives 0 and 1, respectively NaN).
//!
//! # Confidence intervals
//! With [`FairnessOptions::bootstrap`], every aggregate gets a percentile interval from a
//! bootstrap stratified by group: each resample draws, within every taking-part group, as many
//! rows as it has, with replacement (fairlearn's `MetricFrame(n_boot=...)` resamples the whole
//! data instead, so group sizes vary and small groups can vanish). Only the confusion counts of a
//! group matter, so each row is drawn as its confusion cell. Resamples on which an aggregate is
//! undefined (a group drew no positive) are left out of its interval and counted.

use serde::Serialize;

use crate::bootstrap::{BootstrapOptions, ConfidenceInterval, percentile_interval};
use crate::classifier::{self, ClassifierData, ClassifierOptions};
use crate::metrics::{MetricValue, Metrics};
use crate::rng::Streams;
use crate::{MetricsError, parallel};

/// Rows of a binary classifier with their sensitive group.
#[derive(Debug, Clone, Copy)]
pub struct FairnessData<'a> {
    /// True class of each row, 0 or 1.
    pub y_true: &'a [u32],
    /// Predicted class of each row, 0 or 1.
    pub y_pred: &'a [u32],
    /// Predicted probabilities, row-major `rows × 2`, if the model gives them.
    pub y_proba: Option<&'a [f64]>,
    /// Sensitive-group id of each row.
    pub groups: &'a [u32],
}

/// How `equalized_odds_difference` and `_ratio` combine the TPR and FPR aggregates
/// (fairlearn's `agg`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EqualizedOddsAgg {
    /// The larger difference, the smaller ratio (fairlearn's default).
    #[default]
    WorstCase,
    /// The mean of the two.
    Mean,
}

/// A per-group rate computed from a group's confusion counts, usable in aggregates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupRate {
    /// Share of rows predicted positive.
    SelectionRate,
    /// `tp / (tp + fn)`; undefined without positives.
    TruePositiveRate,
    /// `fp / (fp + tn)`; undefined without negatives.
    FalsePositiveRate,
    /// Share of rows predicted correctly.
    Accuracy,
    /// `tp / (tp + fp)`; undefined when nothing is predicted positive.
    Precision,
    /// Same as the true positive rate.
    Recall,
    /// `2tp / (2tp + fp + fn)`; undefined with no positive and nothing predicted positive.
    F1,
}

impl GroupRate {
    /// The per-group metric's name (`selection_rate`, `accuracy_score`, ...).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::SelectionRate => "selection_rate",
            Self::TruePositiveRate => "true_positive_rate",
            Self::FalsePositiveRate => "false_positive_rate",
            Self::Accuracy => "accuracy_score",
            Self::Precision => "precision_score",
            Self::Recall => "recall_score",
            Self::F1 => "f1_score",
        }
    }

    /// The rate of `c`, or why it is undefined.
    fn of(self, c: &Confusion) -> Result<f64, &'static str> {
        let ratio = |num: u64, den: u64, why: &'static str| {
            if den == 0 {
                Err(why)
            } else {
                Ok(num as f64 / den as f64)
            }
        };
        match self {
            Self::SelectionRate => ratio(c.tp + c.fp, c.total(), "the group has no rows"),
            Self::TruePositiveRate | Self::Recall => {
                ratio(c.tp, c.tp + c.fn_, "the group has no positive rows")
            }
            Self::FalsePositiveRate => ratio(c.fp, c.fp + c.tn, "the group has no negative rows"),
            Self::Accuracy => ratio(c.tp + c.tn, c.total(), "the group has no rows"),
            Self::Precision => ratio(
                c.tp,
                c.tp + c.fp,
                "nothing in the group is predicted positive",
            ),
            Self::F1 => ratio(
                2 * c.tp,
                2 * c.tp + c.fp + c.fn_,
                "the group has no positive rows and nothing predicted positive",
            ),
        }
    }
}

/// Options of [`evaluate`].
#[derive(Debug, Clone, PartialEq)]
pub struct FairnessOptions {
    /// The positive class, 0 or 1 (default 1).
    pub pos_label: u32,
    /// Groups with fewer rows are reported but left out of every aggregate (default 1: none).
    pub min_group_size: usize,
    /// Combination for equalized odds (default worst case).
    pub equalized_odds_agg: EqualizedOddsAgg,
    /// More rates to aggregate as `<name>_difference` and `<name>_ratio`.
    pub extra_rates: Vec<GroupRate>,
    /// Threshold of the four-fifths rule (default 0.8).
    pub four_fifths_threshold: f64,
    /// Bootstrap confidence intervals for every aggregate, if set.
    pub bootstrap: Option<BootstrapOptions>,
}

impl Default for FairnessOptions {
    fn default() -> Self {
        Self {
            pos_label: 1,
            min_group_size: 1,
            equalized_odds_agg: EqualizedOddsAgg::WorstCase,
            extra_rates: Vec::new(),
            four_fifths_threshold: 0.8,
            bootstrap: None,
        }
    }
}

/// One group's rows and metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupReport {
    /// The group id.
    pub group: u32,
    /// Rows in the group.
    pub count: usize,
    /// Rows whose true class is the positive one.
    pub positives: usize,
    /// Rows predicted positive.
    pub predicted_positives: usize,
    /// Whether the group is smaller than `min_group_size` (and so in no aggregate).
    pub below_min_size: bool,
    /// `selection_rate`, `true_positive_rate`, `false_positive_rate`, then the binary classifier
    /// metrics of the group's rows.
    pub metrics: Metrics,
}

/// A group left out of some aggregates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exclusion {
    /// The group id.
    pub group: u32,
    /// The rate whose aggregates leave it out; `None` for every aggregate.
    pub metric: Option<&'static str>,
    /// Why.
    pub reason: String,
}

/// The four-fifths (80 %) rule on selection rates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FourFifthsRule {
    /// The threshold (0.8 unless changed).
    pub threshold: f64,
    /// Smallest selection rate over the largest (`demographic_parity_ratio`), if defined.
    pub ratio: Option<f64>,
    /// Whether `ratio >= threshold`; `None` when the ratio is undefined.
    pub passed: Option<bool>,
}

/// A bootstrap interval of one aggregate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AggregateInterval {
    /// The aggregate's name.
    pub metric: String,
    /// The interval; `None` when the aggregate was undefined on every resample.
    pub interval: Option<ConfidenceInterval>,
}

/// The outcome of [`evaluate`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FairnessReport {
    /// Every group that has rows, by ascending id.
    pub by_group: Vec<GroupReport>,
    /// The aggregates across groups, each a value or absent with a reason.
    pub aggregates: Metrics,
    /// The four-fifths rule.
    pub four_fifths_rule: FourFifthsRule,
    /// Groups left out of aggregates, and why.
    pub exclusions: Vec<Exclusion>,
    /// Bootstrap intervals of the aggregates, in their order (empty without bootstrap).
    pub intervals: Vec<AggregateInterval>,
}

impl FairnessReport {
    /// fairlearn's `MetricFrame.difference()` (between groups) of any per-group metric, over the
    /// groups at or above the minimum size where the metric has a value.
    #[must_use]
    pub fn difference(&self, metric: &str) -> MetricValue {
        self.between_groups(metric, |min, max| Ok(max - min))
    }

    /// fairlearn's `MetricFrame.ratio()` (between groups, `min / max`) of any per-group metric,
    /// over the groups at or above the minimum size where the metric has a value.
    #[must_use]
    pub fn ratio(&self, metric: &str) -> MetricValue {
        self.between_groups(metric, |min, max| {
            if max == 0.0 {
                Err(format!(
                    "{metric} is 0 in every group, so the ratio is undefined"
                ))
            } else {
                Ok(min / max)
            }
        })
    }

    fn between_groups(
        &self,
        metric: &str,
        f: impl Fn(f64, f64) -> Result<f64, String>,
    ) -> MetricValue {
        let values: Vec<f64> = self
            .by_group
            .iter()
            .filter(|g| !g.below_min_size)
            .filter_map(|g| g.metrics.value(metric))
            .collect();
        match min_max(&values, metric).and_then(|(min, max)| f(min, max)) {
            Ok(v) => MetricValue::Value(v),
            Err(reason) => MetricValue::Absent { reason },
        }
    }
}

/// Confusion counts of one group, relative to the positive class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Confusion {
    tn: u64,
    fp: u64,
    fn_: u64,
    tp: u64,
}

impl Confusion {
    fn total(&self) -> u64 {
        self.tn + self.fp + self.fn_ + self.tp
    }

    fn add_cell(&mut self, cell: u8) {
        match cell {
            0 => self.tn += 1,
            1 => self.fp += 1,
            2 => self.fn_ += 1,
            _ => self.tp += 1,
        }
    }
}

/// The confusion cell of a row: bit 1 = truly positive, bit 0 = predicted positive.
fn cell(truth: bool, predicted: bool) -> u8 {
    (u8::from(truth) << 1) | u8::from(predicted)
}

/// Computes per-group metrics, aggregates, the four-fifths rule, exclusions and (optionally)
/// bootstrap intervals, as described in the [module docs](self).
///
/// # Errors
/// Empty input, lengths that differ, labels other than 0 and 1, a `pos_label` other than 0 and
/// 1, non-finite probabilities, or invalid bootstrap options.
pub fn evaluate(
    data: &FairnessData<'_>,
    options: &FairnessOptions,
) -> Result<FairnessReport, MetricsError> {
    let n = classifier::validate(&ClassifierData {
        y_true: data.y_true,
        y_pred: data.y_pred,
        y_proba: data.y_proba,
        n_classes: 2,
    })?;
    if data.groups.len() != n {
        return Err(MetricsError::LengthMismatch {
            what: "groups",
            expected: n,
            actual: data.groups.len(),
        });
    }
    if options.pos_label >= 2 {
        return Err(MetricsError::InvalidOption {
            option: "pos_label",
            reason: format!("class {} is not 0 or 1", options.pos_label),
        });
    }
    if !options.four_fifths_threshold.is_finite() {
        return Err(MetricsError::InvalidOption {
            option: "four_fifths_threshold",
            reason: "not a finite number".into(),
        });
    }
    if let Some(b) = &options.bootstrap {
        b.validate()?;
    }

    let (ids, row_group) = index_groups(data.groups);
    let pos = options.pos_label;
    let mut rows_of: Vec<Vec<usize>> = vec![Vec::new(); ids.len()];
    let mut confusions = vec![Confusion::default(); ids.len()];
    for (row, &g) in row_group.iter().enumerate() {
        rows_of[g].push(row);
        confusions[g].add_cell(cell(data.y_true[row] == pos, data.y_pred[row] == pos));
    }

    let mut by_group = Vec::with_capacity(ids.len());
    let mut exclusions = Vec::new();
    for ((&id, rows), c) in ids.iter().zip(&rows_of).zip(&confusions) {
        let below = rows.len() < options.min_group_size;
        if below {
            exclusions.push(Exclusion {
                group: id,
                metric: None,
                reason: format!(
                    "the group has {} rows, fewer than min_group_size {}",
                    rows.len(),
                    options.min_group_size
                ),
            });
        }
        by_group.push(GroupReport {
            group: id,
            count: rows.len(),
            positives: (c.tp + c.fn_) as usize,
            predicted_positives: (c.tp + c.fp) as usize,
            below_min_size: below,
            metrics: group_metrics(data, rows, c, pos)?,
        });
    }

    let taking_part: Vec<usize> = (0..ids.len())
        .filter(|&g| !by_group[g].below_min_size)
        .collect();
    for rate in rates_used(options) {
        for &g in &taking_part {
            if let Err(reason) = rate.of(&confusions[g]) {
                exclusions.push(Exclusion {
                    group: ids[g],
                    metric: Some(rate.name()),
                    reason: reason.to_string(),
                });
            }
        }
    }

    let included: Vec<Confusion> = taking_part.iter().map(|&g| confusions[g]).collect();
    let mut aggregates = Metrics::new();
    for (name, value) in compute_aggregates(&included, options) {
        match value {
            Ok(v) => aggregates.set(name, v),
            Err(reason) => aggregates.set_absent(name, reason),
        }
    }
    let ratio = aggregates.value("demographic_parity_ratio");
    let four_fifths_rule = FourFifthsRule {
        threshold: options.four_fifths_threshold,
        ratio,
        passed: ratio.map(|r| r >= options.four_fifths_threshold),
    };

    let intervals = match &options.bootstrap {
        Some(b) => {
            let cells: Vec<Vec<u8>> = taking_part
                .iter()
                .map(|&g| {
                    rows_of[g]
                        .iter()
                        .map(|&r| cell(data.y_true[r] == pos, data.y_pred[r] == pos))
                        .collect()
                })
                .collect();
            bootstrap(&cells, &aggregates, options, b)
        }
        None => Vec::new(),
    };

    Ok(FairnessReport {
        by_group,
        aggregates,
        four_fifths_rule,
        exclusions,
        intervals,
    })
}

/// Distinct group ids in ascending order, and each row's index into them.
fn index_groups(groups: &[u32]) -> (Vec<u32>, Vec<usize>) {
    const DENSE_LIMIT: u32 = 1 << 20;
    let max = groups.iter().copied().max().unwrap_or(0);
    if max < DENSE_LIMIT {
        let mut slot = vec![usize::MAX; max as usize + 1];
        for &g in groups {
            slot[g as usize] = 0;
        }
        let mut ids = Vec::new();
        for (id, s) in slot.iter_mut().enumerate() {
            if *s == 0 {
                *s = ids.len();
                ids.push(id as u32);
            }
        }
        let rows = groups.iter().map(|&g| slot[g as usize]).collect();
        (ids, rows)
    } else {
        let mut ids = groups.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let rows = groups
            .iter()
            .map(|g| ids.binary_search(g).unwrap_or_default())
            .collect();
        (ids, rows)
    }
}

fn group_metrics(
    data: &FairnessData<'_>,
    rows: &[usize],
    c: &Confusion,
    pos: u32,
) -> Result<Metrics, MetricsError> {
    let y_true: Vec<u32> = rows.iter().map(|&r| data.y_true[r]).collect();
    let y_pred: Vec<u32> = rows.iter().map(|&r| data.y_pred[r]).collect();
    let y_proba: Option<Vec<f64>> = data.y_proba.map(|p| {
        rows.iter()
            .flat_map(|&r| [p[2 * r], p[2 * r + 1]])
            .collect()
    });
    let classifier_metrics = classifier::evaluate(
        &ClassifierData {
            y_true: &y_true,
            y_pred: &y_pred,
            y_proba: y_proba.as_deref(),
            n_classes: 2,
        },
        &ClassifierOptions {
            pos_label: pos,
            per_class: false,
            threads: 1,
            ..ClassifierOptions::default()
        },
    )?;
    let mut m = Metrics::new();
    for rate in [
        GroupRate::SelectionRate,
        GroupRate::TruePositiveRate,
        GroupRate::FalsePositiveRate,
    ] {
        match rate.of(c) {
            Ok(v) => m.set(rate.name(), v),
            Err(reason) => m.set_absent(rate.name(), reason),
        }
    }
    for metric in &classifier_metrics {
        m.set_entry(metric.name.clone(), metric.value.clone());
    }
    for w in classifier_metrics.warnings() {
        m.warn(w.metric.clone(), w.message.clone());
    }
    Ok(m)
}

/// Every rate some aggregate uses, without repeats, in order.
fn rates_used(options: &FairnessOptions) -> Vec<GroupRate> {
    let mut rates = vec![
        GroupRate::SelectionRate,
        GroupRate::TruePositiveRate,
        GroupRate::FalsePositiveRate,
    ];
    for &r in &options.extra_rates {
        if !rates.contains(&r) {
            rates.push(r);
        }
    }
    rates
}

fn min_max(values: &[f64], metric: &str) -> Result<(f64, f64), String> {
    if values.len() < 2 {
        return Err(format!(
            "fewer than two groups have a defined {metric} ({} does)",
            values.len()
        ));
    }
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Ok((min, max))
}

type Aggregate = (String, Result<f64, String>);

/// `(difference, ratio)` between groups of one rate over the taking-part groups where it is
/// defined.
fn between(groups: &[Confusion], rate: GroupRate) -> (Result<f64, String>, Result<f64, String>) {
    let values: Vec<f64> = groups.iter().filter_map(|c| rate.of(c).ok()).collect();
    match min_max(&values, rate.name()) {
        Err(e) => (Err(e.clone()), Err(e)),
        Ok((min, max)) => {
            let ratio = if max == 0.0 {
                Err(format!(
                    "{} is 0 in every group, so the ratio is undefined",
                    rate.name()
                ))
            } else {
                Ok(min / max)
            };
            (Ok(max - min), ratio)
        }
    }
}

/// Every aggregate, in report order, from the confusion counts of the taking-part groups.
fn compute_aggregates(groups: &[Confusion], options: &FairnessOptions) -> Vec<Aggregate> {
    let (dp_diff, dp_ratio) = between(groups, GroupRate::SelectionRate);
    let (tpr_diff, tpr_ratio) = between(groups, GroupRate::TruePositiveRate);
    let (fpr_diff, fpr_ratio) = between(groups, GroupRate::FalsePositiveRate);
    let combine =
        |a: &Result<f64, String>, b: &Result<f64, String>, worst: fn(f64, f64) -> f64| match (a, b)
        {
            (Ok(a), Ok(b)) => Ok(match options.equalized_odds_agg {
                EqualizedOddsAgg::WorstCase => worst(*a, *b),
                EqualizedOddsAgg::Mean => (a + b) / 2.0,
            }),
            (Err(e), _) | (_, Err(e)) => Err(e.clone()),
        };
    let eo_diff = combine(&tpr_diff, &fpr_diff, f64::max);
    let eo_ratio = combine(&tpr_ratio, &fpr_ratio, f64::min);
    let mut out = vec![
        ("demographic_parity_difference".to_string(), dp_diff),
        ("demographic_parity_ratio".to_string(), dp_ratio),
        ("equalized_odds_difference".to_string(), eo_diff),
        ("equalized_odds_ratio".to_string(), eo_ratio),
        ("equal_opportunity_difference".to_string(), tpr_diff),
        ("equal_opportunity_ratio".to_string(), tpr_ratio),
    ];
    let mut seen = Vec::new();
    for &rate in &options.extra_rates {
        if seen.contains(&rate) {
            continue;
        }
        seen.push(rate);
        let (d, r) = between(groups, rate);
        out.push((format!("{}_difference", rate.name()), d));
        out.push((format!("{}_ratio", rate.name()), r));
    }
    out
}

fn bootstrap(
    cells: &[Vec<u8>],
    observed: &Metrics,
    options: &FairnessOptions,
    b: &BootstrapOptions,
) -> Vec<AggregateInterval> {
    let streams = Streams::new(b.seed, b.resamples);
    let per_resample: Vec<Vec<Option<f64>>> = parallel::map(
        b.resamples,
        b.threads,
        || vec![Confusion::default(); cells.len()],
        |confusions, i| {
            let mut rng = streams.stream(i);
            for (c, group) in confusions.iter_mut().zip(cells) {
                *c = Confusion::default();
                for _ in 0..group.len() {
                    c.add_cell(group[rng.index(group.len())]);
                }
            }
            compute_aggregates(confusions, options)
                .into_iter()
                .map(|(_, v)| v.ok())
                .collect()
        },
    );
    observed
        .iter()
        .enumerate()
        .map(|(k, metric)| {
            let mut values: Vec<f64> = per_resample.iter().filter_map(|r| r[k]).collect();
            AggregateInterval {
                metric: metric.name.clone(),
                interval: percentile_interval(&mut values, b.confidence, b.resamples),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data<'a>(y_true: &'a [u32], y_pred: &'a [u32], groups: &'a [u32]) -> FairnessData<'a> {
        FairnessData {
            y_true,
            y_pred,
            y_proba: None,
            groups,
        }
    }

    #[test]
    fn fairlearn_style_aggregates() {
        // Group 0: 4 rows, 2 positives, selects 2 (tp 1, fp 1); group 1: 4 rows, 2 positives,
        // selects 1 (tp 1).
        let y_true = [1, 1, 0, 0, 1, 1, 0, 0];
        let y_pred = [1, 0, 1, 0, 1, 0, 0, 0];
        let groups = [0, 0, 0, 0, 1, 1, 1, 1];
        let r = evaluate(
            &data(&y_true, &y_pred, &groups),
            &FairnessOptions::default(),
        )
        .unwrap();
        assert_eq!(r.by_group.len(), 2);
        assert_eq!(r.by_group[0].metrics.value("selection_rate"), Some(0.5));
        assert_eq!(r.by_group[1].metrics.value("selection_rate"), Some(0.25));
        let a = &r.aggregates;
        assert_eq!(a.value("demographic_parity_difference"), Some(0.25));
        assert_eq!(a.value("demographic_parity_ratio"), Some(0.5));
        assert_eq!(a.value("equal_opportunity_difference"), Some(0.0));
        assert_eq!(a.value("equal_opportunity_ratio"), Some(1.0));
        // FPR 0.5 vs 0: worst case difference 0.5, ratio 0.
        assert_eq!(a.value("equalized_odds_difference"), Some(0.5));
        assert_eq!(a.value("equalized_odds_ratio"), Some(0.0));
        assert_eq!(r.four_fifths_rule.passed, Some(false));
        assert!(r.exclusions.is_empty());
        assert_eq!(r.difference("accuracy_score"), MetricValue::Value(0.25));
        assert!(r.intervals.is_empty());
    }

    #[test]
    fn group_without_positives_is_excluded_from_tpr_aggregates() {
        let y_true = [1, 0, 1, 0, 0, 0, 1, 0];
        let y_pred = [1, 0, 0, 0, 1, 0, 1, 1];
        let groups = [0, 0, 0, 0, 1, 1, 2, 2];
        let r = evaluate(
            &data(&y_true, &y_pred, &groups),
            &FairnessOptions::default(),
        )
        .unwrap();
        let g1 = &r.by_group[1];
        assert!(
            g1.metrics
                .get("true_positive_rate")
                .and_then(MetricValue::reason)
                .is_some()
        );
        assert!(
            r.exclusions
                .iter()
                .any(|e| e.group == 1 && e.metric == Some("true_positive_rate"))
        );
        // TPR: group 0 0.5, group 2 1.0 (group 1 left out, not counted as 0).
        assert_eq!(
            r.aggregates.value("equal_opportunity_difference"),
            Some(0.5)
        );
        assert_eq!(r.aggregates.value("equal_opportunity_ratio"), Some(0.5));
    }

    #[test]
    fn small_groups_are_flagged_and_left_out() {
        let y_true = [1, 0, 1, 0, 1];
        let y_pred = [1, 0, 0, 1, 1];
        let groups = [0, 0, 0, 0, 9];
        let o = FairnessOptions {
            min_group_size: 2,
            ..FairnessOptions::default()
        };
        let r = evaluate(&data(&y_true, &y_pred, &groups), &o).unwrap();
        assert!(r.by_group[1].below_min_size);
        assert_eq!(r.by_group[1].group, 9);
        assert_eq!(r.exclusions[0].metric, None);
        // Only one group takes part: every aggregate is absent with a reason.
        for m in &r.aggregates {
            assert!(m.value.reason().is_some(), "{}", m.name);
        }
        assert_eq!(r.four_fifths_rule.passed, None);
    }

    #[test]
    fn errors() {
        let e = evaluate(&data(&[], &[], &[]), &FairnessOptions::default()).unwrap_err();
        assert!(matches!(e, MetricsError::Empty { .. }));
        let e = evaluate(&data(&[0, 1], &[0, 1], &[0]), &FairnessOptions::default()).unwrap_err();
        assert!(matches!(
            e,
            MetricsError::LengthMismatch { what: "groups", .. }
        ));
        let e = evaluate(
            &data(&[0, 2], &[0, 1], &[0, 0]),
            &FairnessOptions::default(),
        )
        .unwrap_err();
        assert!(matches!(e, MetricsError::LabelOutOfRange { .. }));
    }

    #[test]
    fn bootstrap_is_seeded_and_thread_independent() {
        let n = 400;
        let y_true: Vec<u32> = (0..n).map(|i| u32::from(i % 3 == 0)).collect();
        let groups: Vec<u32> = (0..n).map(|i| (i % 5) as u32).collect();
        // Selection rates from 0.2 (group 0) to 0.6 (group 4).
        let y_pred: Vec<u32> = (0..n)
            .map(|i| u32::from((i / 5) % 10 < 2 + groups[i] as usize))
            .collect();
        let run = |threads| {
            evaluate(
                &data(&y_true, &y_pred, &groups),
                &FairnessOptions {
                    extra_rates: vec![GroupRate::Accuracy],
                    bootstrap: Some(BootstrapOptions {
                        resamples: 200,
                        seed: 7,
                        threads,
                        ..BootstrapOptions::default()
                    }),
                    ..FairnessOptions::default()
                },
            )
            .unwrap()
        };
        let a = run(1);
        let b = run(3);
        assert_eq!(a.intervals, b.intervals);
        assert_eq!(a.intervals.len(), a.aggregates.len());
        let dp = a.aggregates.value("demographic_parity_difference").unwrap();
        let ci = a.intervals[0].interval.as_ref().unwrap();
        assert!(ci.low <= dp && dp <= ci.high, "{ci:?} vs {dp}");
        assert_eq!(ci.defined, 200);
    }

    #[test]
    fn sparse_group_ids() {
        let r = evaluate(
            &data(&[1, 0, 1, 0], &[1, 0, 0, 0], &[u32::MAX, u32::MAX, 5, 5]),
            &FairnessOptions::default(),
        )
        .unwrap();
        let ids: Vec<u32> = r.by_group.iter().map(|g| g.group).collect();
        assert_eq!(ids, [5, u32::MAX]);
    }
}
