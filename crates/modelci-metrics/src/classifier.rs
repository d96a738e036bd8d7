//! Classifier metrics under the names of MLflow's default evaluator
//! (`mlflow/models/evaluation/evaluators/classifier.py`: `_get_binary_classifier_metrics`,
//! `_get_multiclass_classifier_metrics`), computed as scikit-learn computes them.
//!
//! # Binary (`n_classes == 2`)
//! In MLflow's order: `true_negatives`, `false_positives`, `false_negatives`, `true_positives`
//! (relative to [`ClassifierOptions::pos_label`]), `example_count`, `accuracy_score`,
//! `recall_score`, `precision_score`, `f1_score` (scikit-learn `average="binary"` with
//! `pos_label`), then with probabilities `log_loss`, `roc_auc` (`roc_auc_score` of the positive
//! class's column) and `precision_recall_auc`. MLflow reports the latter as scikit-learn's
//! `average_precision_score` (its PR-curve helper returns AP, "more appropriate for summarizing a
//! precision-recall curve"), not as `auc(recall, precision)`; so does this crate.
//!
//! # Multiclass (`n_classes >= 3`)
//! `example_count`, `accuracy_score`, `recall_score`, `precision_score`, `f1_score` averaged with
//! [`ClassifierOptions::average`] (MLflow's default: weighted), then with probabilities
//! `log_loss` and `roc_auc`: one-vs-rest, averaged macro or weighted by prevalence, as MLflow
//! passes `average` and `multi_class="ovr"` to `roc_auc_score`. MLflow logs no multiclass
//! `roc_auc` for micro averaging; here it is absent with that reason. Like scikit-learn, the
//! averages run over the classes that occur in `y_true` or `y_pred`.
//!
//! # Per class (both kinds, when [`ClassifierOptions::per_class`])
//! `precision_score/class_<k>`, `recall_score/class_<k>`, `f1_score/class_<k>` and
//! `support/class_<k>` (rows whose true class is `k`) for every declared class `k`, plus, for
//! multiclass with probabilities, `roc_auc/class_<k>` and `precision_recall_auc/class_<k>`
//! (one-vs-rest). These are the columns of MLflow's `per_class_metrics` artifact, flattened with
//! a `/class_<k>` suffix; `k` is the class index, the caller keeps the class names. A class that
//! occurs neither in `y_true` nor in `y_pred` has its precision, recall and F1 absent.
//!
//! # Undefined values
//! An ill-defined precision, recall or F1 (zero denominator) is 0 with a warning, scikit-learn's
//! default `zero_division="warn"`. `log_loss`, `roc_auc` and `precision_recall_auc` without
//! probabilities are absent; `roc_auc` with one class present and `precision_recall_auc` without
//! positives are absent (scikit-learn raises, respectively returns 0 with a warning); `log_loss`
//! with probabilities outside `[0, 1]` is absent (scikit-learn raises). Probabilities are clipped
//! to `[ε, 1 − ε]` for `log_loss` and rows that do not sum to one raise a warning, as in
//! scikit-learn; multiclass `roc_auc` needs rows summing to one (scikit-learn's check).

use std::cell::OnceCell;

use crate::metrics::Metrics;
use crate::ranking::{Ranking, rank};
use crate::sum::{Sum, sum};
use crate::{MetricsError, parallel};

/// The rows to evaluate, already decoded.
#[derive(Debug, Clone, Copy)]
pub struct ClassifierData<'a> {
    /// True class of each row, in `0..n_classes`.
    pub y_true: &'a [u32],
    /// Predicted class of each row, in `0..n_classes`.
    pub y_pred: &'a [u32],
    /// Predicted probabilities, row-major `rows × n_classes`, if the model gives them.
    pub y_proba: Option<&'a [f64]>,
    /// The number of classes (2 for a binary classifier).
    pub n_classes: u32,
}

/// How precision, recall and F1 are averaged over classes for a multiclass classifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Average {
    /// Global counts: precision = recall = F1 = accuracy when every class is counted.
    Micro,
    /// Unweighted mean over classes.
    Macro,
    /// Mean weighted by each class's support (rows of that true class). MLflow's default.
    #[default]
    Weighted,
}

impl Average {
    /// scikit-learn's (and MLflow's) name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Micro => "micro",
            Self::Macro => "macro",
            Self::Weighted => "weighted",
        }
    }
}

/// Options of [`evaluate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassifierOptions {
    /// The positive class of a binary classifier (default 1, MLflow's default of the larger
    /// label). Ignored for multiclass.
    pub pos_label: u32,
    /// Averaging of multiclass precision, recall, F1 and ROC AUC (default weighted). Ignored for
    /// binary, which uses the positive class.
    pub average: Average,
    /// Whether to add the per-class metrics (default true).
    pub per_class: bool,
    /// Worker threads for the per-class one-vs-rest rankings (`0` = available parallelism).
    pub threads: usize,
}

impl Default for ClassifierOptions {
    fn default() -> Self {
        Self {
            pos_label: 1,
            average: Average::Weighted,
            per_class: true,
            threads: 0,
        }
    }
}

/// Per-class sufficient statistics: true positives, predicted and true counts per class.
#[derive(Debug, Clone)]
pub(crate) struct ClassCounts {
    pub tp: Vec<u64>,
    pub pred: Vec<u64>,
    pub truth: Vec<u64>,
    pub n: u64,
}

impl ClassCounts {
    fn new(y_true: &[u32], y_pred: &[u32], n_classes: usize) -> Self {
        let mut c = Self {
            tp: vec![0; n_classes],
            pred: vec![0; n_classes],
            truth: vec![0; n_classes],
            n: y_true.len() as u64,
        };
        for (&t, &p) in y_true.iter().zip(y_pred) {
            let (t, p) = (t as usize, p as usize);
            c.truth[t] += 1;
            c.pred[p] += 1;
            if t == p {
                c.tp[t] += 1;
            }
        }
        c
    }

    fn present(&self, class: usize) -> bool {
        self.truth[class] > 0 || self.pred[class] > 0
    }
}

/// Checks lengths, labels and probabilities; returns the number of rows.
pub(crate) fn validate(data: &ClassifierData<'_>) -> Result<usize, MetricsError> {
    let n = data.y_true.len();
    if n == 0 {
        return Err(MetricsError::Empty { what: "y_true" });
    }
    if data.y_pred.len() != n {
        return Err(MetricsError::LengthMismatch {
            what: "y_pred",
            expected: n,
            actual: data.y_pred.len(),
        });
    }
    if data.n_classes < 2 {
        return Err(MetricsError::TooFewClasses(data.n_classes));
    }
    for (what, labels) in [("y_true", data.y_true), ("y_pred", data.y_pred)] {
        if let Some((row, &label)) = labels
            .iter()
            .enumerate()
            .find(|(_, l)| **l >= data.n_classes)
        {
            return Err(MetricsError::LabelOutOfRange {
                what,
                row,
                label,
                n_classes: data.n_classes,
            });
        }
    }
    if let Some(proba) = data.y_proba {
        let expected =
            n.checked_mul(data.n_classes as usize)
                .ok_or(MetricsError::InvalidOption {
                    option: "n_classes",
                    reason: "rows × n_classes overflows".into(),
                })?;
        if proba.len() != expected {
            return Err(MetricsError::LengthMismatch {
                what: "y_proba (rows × n_classes)",
                expected,
                actual: proba.len(),
            });
        }
        if let Some((index, &value)) = proba.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(MetricsError::NonFinite {
                what: "y_proba",
                index,
                value,
            });
        }
    }
    Ok(n)
}

/// Computes the classifier metrics described in the [module docs](self).
///
/// # Errors
/// Empty input, lengths that differ, labels outside `0..n_classes`, fewer than two classes,
/// non-finite probabilities, or a `pos_label` outside `0..2` for a binary classifier.
pub fn evaluate(
    data: &ClassifierData<'_>,
    options: &ClassifierOptions,
) -> Result<Metrics, MetricsError> {
    let n = validate(data)?;
    let k = data.n_classes as usize;
    let counts = ClassCounts::new(data.y_true, data.y_pred, k);
    // One-vs-rest rankings of a multiclass model, computed at most once, when first needed.
    let rankings = OnceRankings {
        data,
        k,
        threads: options.threads,
        cell: OnceCell::new(),
    };
    let mut m = Metrics::new();
    if k == 2 {
        if options.pos_label >= 2 {
            return Err(MetricsError::InvalidOption {
                option: "pos_label",
                reason: format!(
                    "class {} does not exist in a binary classifier",
                    options.pos_label
                ),
            });
        }
        binary(&mut m, data, &counts, options.pos_label as usize);
    } else {
        multiclass(&mut m, data, &counts, options, &rankings);
    }
    if options.per_class {
        per_class(&mut m, &counts);
    }
    if options.per_class
        && let Some(rankings) = rankings.get()
    {
        for (c, r) in rankings.iter().enumerate() {
            let name = format!("roc_auc/class_{c}");
            match r.roc_auc {
                Some(v) => m.set(name, v),
                None => m.set_absent(name, roc_reason(r)),
            }
            set_or(
                &mut m,
                &format!("precision_recall_auc/class_{c}"),
                r.average_precision,
                "no sample of this class in y_true; average precision is undefined",
            );
        }
    }
    debug_assert_eq!(counts.n, n as u64);
    Ok(m)
}

fn binary(m: &mut Metrics, data: &ClassifierData<'_>, counts: &ClassCounts, pos: usize) {
    let tp = counts.tp[pos];
    let fp = counts.pred[pos] - tp;
    let fn_ = counts.truth[pos] - tp;
    let tn = counts.n - tp - fp - fn_;
    m.set("true_negatives", tn as f64);
    m.set("false_positives", fp as f64);
    m.set("false_negatives", fn_ as f64);
    m.set("true_positives", tp as f64);
    common_head(m, counts);
    let recall = zero_division(m, "recall_score", tp, tp + fn_, NO_TRUE);
    m.set("recall_score", recall);
    let precision = zero_division(m, "precision_score", tp, tp + fp, NO_PRED);
    m.set("precision_score", precision);
    let f1 = zero_division(m, "f1_score", 2 * tp, 2 * tp + fp + fn_, NO_EITHER);
    m.set("f1_score", f1);

    let Some(proba) = data.y_proba else {
        absent_without_probabilities(m, &["log_loss", "roc_auc", "precision_recall_auc"]);
        return;
    };
    log_loss(m, data.y_true, proba, 2);
    let mut pairs: Vec<(f64, bool)> = data
        .y_true
        .iter()
        .enumerate()
        .map(|(i, &t)| (proba[i * 2 + pos], t as usize == pos))
        .collect();
    let r = rank(&mut pairs);
    set_or(
        m,
        "roc_auc",
        r.roc_auc,
        "only one class is present in y_true; ROC AUC is undefined",
    );
    set_or(
        m,
        "precision_recall_auc",
        r.average_precision,
        "no positive sample in y_true; average precision is undefined",
    );
}

/// The one-vs-rest rankings of every class of a multiclass model with probabilities, computed
/// on first use.
struct OnceRankings<'a, 'd> {
    data: &'a ClassifierData<'d>,
    k: usize,
    threads: usize,
    cell: OnceCell<Option<Vec<Ranking>>>,
}

impl OnceRankings<'_, '_> {
    fn get(&self) -> Option<&[Ranking]> {
        self.cell
            .get_or_init(|| {
                let proba = self.data.y_proba.filter(|_| self.k > 2)?;
                Some(one_vs_rest(self.data.y_true, proba, self.k, self.threads))
            })
            .as_deref()
    }
}

fn multiclass(
    m: &mut Metrics,
    data: &ClassifierData<'_>,
    counts: &ClassCounts,
    options: &ClassifierOptions,
    rankings: &OnceRankings<'_, '_>,
) {
    common_head(m, counts);
    let k = counts.tp.len();
    let labels: Vec<usize> = (0..k).filter(|&c| counts.present(c)).collect();
    match options.average {
        Average::Micro => {
            let tp: u64 = labels.iter().map(|&c| counts.tp[c]).sum();
            let pred: u64 = labels.iter().map(|&c| counts.pred[c]).sum();
            let truth: u64 = labels.iter().map(|&c| counts.truth[c]).sum();
            let recall = zero_division(m, "recall_score", tp, truth, NO_TRUE);
            m.set("recall_score", recall);
            let precision = zero_division(m, "precision_score", tp, pred, NO_PRED);
            m.set("precision_score", precision);
            let f1 = zero_division(m, "f1_score", 2 * tp, truth + pred, NO_EITHER);
            m.set("f1_score", f1);
        }
        average @ (Average::Macro | Average::Weighted) => {
            let weights: Vec<f64> = labels
                .iter()
                .map(|&c| match average {
                    Average::Weighted => counts.truth[c] as f64,
                    _ => 1.0,
                })
                .collect();
            let total_weight = sum(weights.iter().copied());
            for (name, per) in [
                ("recall_score", PerClass::Recall),
                ("precision_score", PerClass::Precision),
                ("f1_score", PerClass::F1),
            ] {
                let mut ill_defined = Vec::new();
                let mut acc = Sum::default();
                for (&c, &w) in labels.iter().zip(&weights) {
                    let (num, den) = per.fraction(counts, c);
                    if den == 0 {
                        ill_defined.push(c.to_string());
                    } else {
                        acc.add(w * (num as f64 / den as f64));
                    }
                }
                if !ill_defined.is_empty() {
                    m.warn(
                        name,
                        format!(
                            "{name} is ill-defined and set to 0.0 in labels with {} (classes {})",
                            per.missing(),
                            ill_defined.join(", ")
                        ),
                    );
                }
                if total_weight > 0.0 {
                    m.set(name, acc.total() / total_weight);
                } else {
                    m.set_absent(name, "no class has any support");
                }
            }
        }
    }

    let Some(proba) = data.y_proba else {
        absent_without_probabilities(m, &["log_loss", "roc_auc"]);
        return;
    };
    log_loss(m, data.y_true, proba, k);
    if options.average == Average::Micro {
        m.set_absent(
            "roc_auc",
            "MLflow's default evaluator reports multiclass roc_auc only for macro and weighted \
             averaging",
        );
        return;
    }
    if let Some(row) = first_row_not_summing_to_one(proba, k) {
        m.set_absent(
            "roc_auc",
            format!(
                "probabilities of row {row} do not sum to one; multiclass one-vs-rest ROC AUC \
                 needs probabilities (scikit-learn's requirement)"
            ),
        );
        return;
    }
    if let Some(c) = (0..k).find(|&c| counts.truth[c] == 0 || counts.truth[c] == counts.n) {
        m.set_absent(
            "roc_auc",
            format!(
                "class {c} has {} of the rows in y_true; its one-vs-rest ROC AUC is undefined",
                if counts.truth[c] == 0 { "none" } else { "all" }
            ),
        );
        return;
    }
    let Some(rankings) = rankings.get() else {
        return;
    };
    let mut acc = Sum::default();
    let mut total = 0.0;
    for (c, r) in rankings.iter().enumerate() {
        let w = match options.average {
            Average::Weighted => counts.truth[c] as f64,
            _ => 1.0,
        };
        // Every class has positives and negatives (checked above), so every AUC is defined.
        if let Some(auc) = r.roc_auc {
            acc.add(w * auc);
            total += w;
        }
    }
    m.set("roc_auc", acc.total() / total);
}

#[derive(Clone, Copy)]
enum PerClass {
    Precision,
    Recall,
    F1,
}

impl PerClass {
    fn fraction(self, counts: &ClassCounts, c: usize) -> (u64, u64) {
        match self {
            Self::Precision => (counts.tp[c], counts.pred[c]),
            Self::Recall => (counts.tp[c], counts.truth[c]),
            Self::F1 => (2 * counts.tp[c], counts.truth[c] + counts.pred[c]),
        }
    }

    fn missing(self) -> &'static str {
        match self {
            Self::Precision => NO_PRED,
            Self::Recall => NO_TRUE,
            Self::F1 => NO_EITHER,
        }
    }
}

const NO_PRED: &str = "no predicted samples";
const NO_TRUE: &str = "no true samples";
const NO_EITHER: &str = "no true nor predicted samples";

fn common_head(m: &mut Metrics, counts: &ClassCounts) {
    m.set("example_count", counts.n as f64);
    let correct: u64 = counts.tp.iter().sum();
    m.set("accuracy_score", correct as f64 / counts.n as f64);
}

fn per_class(m: &mut Metrics, counts: &ClassCounts) {
    for c in 0..counts.tp.len() {
        for (name, per) in [
            ("precision_score", PerClass::Precision),
            ("recall_score", PerClass::Recall),
            ("f1_score", PerClass::F1),
        ] {
            let key = format!("{name}/class_{c}");
            if counts.present(c) {
                let (num, den) = per.fraction(counts, c);
                let v = zero_division(m, &key, num, den, per.missing());
                m.set(key, v);
            } else {
                m.set_absent(
                    key,
                    format!("class {c} occurs in neither y_true nor y_pred"),
                );
            }
        }
        m.set(format!("support/class_{c}"), counts.truth[c] as f64);
    }
}

/// `num / den`, or 0 with scikit-learn's warning when `den == 0`.
fn zero_division(m: &mut Metrics, name: &str, num: u64, den: u64, missing: &str) -> f64 {
    if den == 0 {
        m.warn(
            name,
            format!("{name} is ill-defined and set to 0.0 due to {missing}"),
        );
        0.0
    } else {
        num as f64 / den as f64
    }
}

fn absent_without_probabilities(m: &mut Metrics, names: &[&str]) {
    for name in names {
        m.set_absent(*name, "the model gave no probabilities");
    }
}

fn set_or(m: &mut Metrics, name: &str, value: Option<f64>, reason: &str) {
    match value {
        Some(v) => m.set(name, v),
        None => m.set_absent(name, reason),
    }
}

fn roc_reason(r: &Ranking) -> &'static str {
    if r.positives == 0 {
        "no sample of this class in y_true; ROC AUC is undefined"
    } else {
        "every sample in y_true is of this class; ROC AUC is undefined"
    }
}

/// scikit-learn's `log_loss(y_true, y_proba, labels=range(k))`: mean of `−ln p(true class)` with
/// `p` clipped to `[ε, 1 − ε]` (ε = `f64::EPSILON`).
fn log_loss(m: &mut Metrics, y_true: &[u32], proba: &[f64], k: usize) {
    if let Some((i, v)) = proba
        .iter()
        .enumerate()
        .find(|(_, v)| !(0.0..=1.0).contains(*v))
    {
        m.set_absent(
            "log_loss",
            format!(
                "probability of row {} class {} is {v}, outside [0, 1]",
                i / k,
                i % k
            ),
        );
        return;
    }
    let off = rows_not_summing_to_one(proba, k, f64::EPSILON.sqrt(), 1e-8);
    if off > 0 {
        m.warn(
            "log_loss",
            format!("the probabilities of {off} rows do not sum to one"),
        );
    }
    let eps = f64::EPSILON;
    let total = sum(y_true
        .iter()
        .enumerate()
        .map(|(i, &t)| -proba[i * k + t as usize].clamp(eps, 1.0 - eps).ln()));
    m.set("log_loss", total / y_true.len() as f64);
}

/// Rows whose sum `s` fails NumPy's `isclose(s, 1, rtol, atol)`: `|s − 1| <= atol + rtol`.
fn rows_not_summing_to_one(proba: &[f64], k: usize, rtol: f64, atol: f64) -> usize {
    proba
        .chunks_exact(k)
        .filter(|row| (sum(row.iter().copied()) - 1.0).abs() > atol + rtol)
        .count()
}

/// scikit-learn's multiclass ROC AUC check `np.allclose(1, y_score.sum(axis=1))`:
/// `|1 − s| <= 1e-8 + 1e-5·|s|`.
fn first_row_not_summing_to_one(proba: &[f64], k: usize) -> Option<usize> {
    proba.chunks_exact(k).position(|row| {
        let s = sum(row.iter().copied());
        (1.0 - s).abs() > 1e-8 + 1e-5 * s.abs()
    })
}

/// One-vs-rest rankings of every class's probability column, computed in parallel.
fn one_vs_rest(y_true: &[u32], proba: &[f64], k: usize, threads: usize) -> Vec<Ranking> {
    parallel::map(
        k,
        threads,
        || Vec::with_capacity(y_true.len()),
        |pairs: &mut Vec<(f64, bool)>, c| {
            pairs.clear();
            pairs.extend(
                y_true
                    .iter()
                    .enumerate()
                    .map(|(i, &t)| (proba[i * k + c], t as usize == c)),
            );
            rank(pairs)
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MetricValue;

    fn eval(
        y_true: &[u32],
        y_pred: &[u32],
        y_proba: Option<&[f64]>,
        n_classes: u32,
        options: &ClassifierOptions,
    ) -> Result<Metrics, MetricsError> {
        evaluate(
            &ClassifierData {
                y_true,
                y_pred,
                y_proba,
                n_classes,
            },
            options,
        )
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-12)
    }

    #[test]
    fn empty_input_is_an_error() {
        let e = eval(&[], &[], None, 2, &ClassifierOptions::default()).unwrap_err();
        assert_eq!(e, MetricsError::Empty { what: "y_true" });
    }

    #[test]
    fn bad_input_is_an_error() {
        let o = ClassifierOptions::default();
        assert!(matches!(
            eval(&[0, 1], &[0], None, 2, &o),
            Err(MetricsError::LengthMismatch { .. })
        ));
        assert!(matches!(
            eval(&[0, 2], &[0, 1], None, 2, &o),
            Err(MetricsError::LabelOutOfRange {
                what: "y_true",
                row: 1,
                ..
            })
        ));
        assert!(matches!(
            eval(&[0], &[0], None, 1, &o),
            Err(MetricsError::TooFewClasses(1))
        ));
        assert!(matches!(
            eval(&[0], &[0], Some(&[0.5]), 2, &o),
            Err(MetricsError::LengthMismatch { .. })
        ));
        assert!(matches!(
            eval(&[0], &[0], Some(&[f64::NAN, 0.5]), 2, &o),
            Err(MetricsError::NonFinite { index: 0, .. })
        ));
        let bad_pos = ClassifierOptions { pos_label: 2, ..o };
        assert!(matches!(
            eval(&[0], &[0], None, 2, &bad_pos),
            Err(MetricsError::InvalidOption { .. })
        ));
    }

    #[test]
    fn binary_basics() {
        let m = eval(
            &[0, 0, 1, 1],
            &[0, 1, 1, 1],
            Some(&[0.9, 0.1, 0.4, 0.6, 0.35, 0.65, 0.2, 0.8]),
            2,
            &ClassifierOptions::default(),
        )
        .unwrap();
        assert_eq!(m.value("true_negatives"), Some(1.0));
        assert_eq!(m.value("false_positives"), Some(1.0));
        assert_eq!(m.value("false_negatives"), Some(0.0));
        assert_eq!(m.value("true_positives"), Some(2.0));
        assert_eq!(m.value("accuracy_score"), Some(0.75));
        assert!(close(m.value("precision_score"), 2.0 / 3.0));
        assert_eq!(m.value("recall_score"), Some(1.0));
        assert!(close(m.value("f1_score"), 0.8));
        assert_eq!(m.value("roc_auc"), Some(1.0));
        assert!(m.warnings().is_empty());
        let names: Vec<_> = m.iter().take(12).map(|x| x.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "true_negatives",
                "false_positives",
                "false_negatives",
                "true_positives",
                "example_count",
                "accuracy_score",
                "recall_score",
                "precision_score",
                "f1_score",
                "log_loss",
                "roc_auc",
                "precision_recall_auc"
            ]
        );
    }

    #[test]
    fn pos_label_zero_swaps_the_confusion_counts() {
        let o = ClassifierOptions {
            pos_label: 0,
            ..ClassifierOptions::default()
        };
        let m = eval(&[0, 0, 1, 1], &[0, 1, 1, 1], None, 2, &o).unwrap();
        assert_eq!(m.value("true_positives"), Some(1.0));
        assert_eq!(m.value("false_negatives"), Some(1.0));
        assert_eq!(m.value("precision_score"), Some(1.0));
        assert_eq!(m.value("recall_score"), Some(0.5));
    }

    #[test]
    fn single_class_present() {
        let m = eval(
            &[1, 1, 1],
            &[1, 1, 0],
            Some(&[0.2, 0.8, 0.3, 0.7, 0.6, 0.4]),
            2,
            &ClassifierOptions::default(),
        )
        .unwrap();
        assert!(m.get("roc_auc").and_then(MetricValue::reason).is_some());
        assert_eq!(m.value("precision_recall_auc"), Some(1.0));
        assert!(m.value("log_loss").is_some());
        // Class 0 has a prediction but no true sample: recall/class_0 is 0 with a warning.
        assert_eq!(m.value("recall_score/class_0"), Some(0.0));
        assert!(
            m.warnings()
                .iter()
                .any(|w| w.metric == "recall_score/class_0")
        );
    }

    #[test]
    fn all_same_predictions_zero_division() {
        // Nothing predicted positive: precision is ill-defined, set to 0 with a warning.
        let m = eval(
            &[0, 1, 1],
            &[0, 0, 0],
            None,
            2,
            &ClassifierOptions::default(),
        )
        .unwrap();
        assert_eq!(m.value("precision_score"), Some(0.0));
        assert_eq!(m.value("recall_score"), Some(0.0));
        assert_eq!(m.value("f1_score"), Some(0.0));
        let w: Vec<_> = m.warnings().iter().map(|w| w.metric.as_str()).collect();
        assert!(w.contains(&"precision_score"));
        assert!(
            !w.contains(&"f1_score"),
            "f1 has fn > 0, so it is 0 without warning"
        );
        for name in ["log_loss", "roc_auc", "precision_recall_auc"] {
            assert_eq!(
                m.get(name).and_then(MetricValue::reason),
                Some("the model gave no probabilities")
            );
        }
    }

    #[test]
    fn no_positive_anywhere_warns_for_f1() {
        let m = eval(
            &[0, 0],
            &[0, 0],
            Some(&[1.0, 0.0, 0.9, 0.1]),
            2,
            &ClassifierOptions::default(),
        )
        .unwrap();
        assert_eq!(m.value("f1_score"), Some(0.0));
        assert!(m.warnings().iter().any(|w| w.metric == "f1_score"));
        assert!(m.value("precision_recall_auc").is_none());
        assert!(m.value("roc_auc").is_none());
        // log loss clips p = 0 to ε instead of giving infinity.
        assert!(m.value("log_loss").is_some_and(f64::is_finite));
    }

    #[test]
    fn log_loss_out_of_range_is_absent() {
        let m = eval(
            &[0, 1],
            &[0, 1],
            Some(&[1.5, -0.5, 0.0, 1.0]),
            2,
            &ClassifierOptions::default(),
        )
        .unwrap();
        assert!(m.value("log_loss").is_none());
        // Scores outside [0, 1] still rank.
        assert_eq!(m.value("roc_auc"), Some(1.0));
    }

    #[test]
    fn multiclass_averages() {
        // sklearn: precision_score([0,1,2,0,1,2], [0,2,1,0,0,1], average=...) =
        //   macro 0.2222..., micro 0.3333..., weighted 0.2222...
        let y_true = [0, 1, 2, 0, 1, 2];
        let y_pred = [0, 2, 1, 0, 0, 1];
        for (average, p) in [
            (Average::Macro, 2.0 / 9.0),
            (Average::Micro, 1.0 / 3.0),
            (Average::Weighted, 2.0 / 9.0),
        ] {
            let o = ClassifierOptions {
                average,
                ..ClassifierOptions::default()
            };
            let m = eval(&y_true, &y_pred, None, 3, &o).unwrap();
            assert!(close(m.value("precision_score"), p), "{average:?}");
            assert!(m.get("true_positives").is_none());
        }
    }

    #[test]
    fn multiclass_roc_auc_needs_every_class() {
        let proba = [0.8, 0.1, 0.1, 0.1, 0.8, 0.1, 0.2, 0.7, 0.1];
        let m = eval(
            &[0, 1, 1],
            &[0, 1, 1],
            Some(&proba),
            3,
            &ClassifierOptions::default(),
        )
        .unwrap();
        assert!(m.get("roc_auc").and_then(MetricValue::reason).is_some());
        assert!(m.value("roc_auc/class_2").is_none());
        assert_eq!(m.value("roc_auc/class_0"), Some(1.0));
        assert!(
            m.get("precision_score/class_2")
                .and_then(MetricValue::reason)
                .is_some()
        );
        assert_eq!(m.value("support/class_2"), Some(0.0));
    }
}
