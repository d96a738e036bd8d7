//! Cross-check against scikit-learn, fairlearn and statsmodels: the datasets and the values those
//! libraries computed on them live in `fixtures/metrics/` (made by
//! `fixtures/metrics/make_expected.py`). Every value must agree to 1e-9 relative.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and benchmark code: a failed assumption is a failed run"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use modelci_metrics::Metrics;
use modelci_metrics::classifier::{self, Average, ClassifierData, ClassifierOptions};
use modelci_metrics::fairness::{
    self, EqualizedOddsAgg, FairnessData, FairnessOptions, FairnessReport, GroupRate,
};
use modelci_metrics::regressor::{self, RegressorData};
use modelci_metrics::stats::{McNemar, McNemarMethod};
use serde_json::{Map, Value};

const RTOL: f64 = 1e-9;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/metrics")
}

fn expected() -> Value {
    let text = std::fs::read_to_string(fixtures().join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A numeric CSV with a header row.
struct Csv {
    columns: BTreeMap<String, Vec<String>>,
}

impl Csv {
    fn read(name: &str) -> Self {
        let text = std::fs::read_to_string(fixtures().join(name)).unwrap();
        let mut lines = text.lines();
        let header: Vec<String> = lines
            .next()
            .unwrap()
            .split(',')
            .map(str::to_string)
            .collect();
        let mut columns: BTreeMap<String, Vec<String>> =
            header.iter().map(|h| (h.clone(), Vec::new())).collect();
        for line in lines.filter(|l| !l.is_empty()) {
            for (h, cell) in header.iter().zip(line.split(',')) {
                columns.get_mut(h).unwrap().push(cell.to_string());
            }
        }
        Self { columns }
    }

    fn u32s(&self, name: &str) -> Vec<u32> {
        self.columns[name]
            .iter()
            .map(|c| c.parse().unwrap())
            .collect()
    }

    fn f64s(&self, name: &str) -> Vec<f64> {
        self.columns[name]
            .iter()
            .map(|c| c.parse().unwrap())
            .collect()
    }

    /// Row-major `rows × names.len()` matrix of the named columns.
    fn matrix(&self, names: &[&str]) -> Vec<f64> {
        let cols: Vec<Vec<f64>> = names.iter().map(|n| self.f64s(n)).collect();
        (0..cols[0].len())
            .flat_map(|i| cols.iter().map(move |c| c[i]))
            .collect()
    }
}

fn close(actual: f64, expected: f64) -> bool {
    (actual - expected).abs() <= RTOL * actual.abs().max(expected.abs()) + 1e-15
}

/// Collects every mismatch between `metrics` and the expected `name -> value` map.
fn compare(
    context: &str,
    metrics: &Metrics,
    expected: &Map<String, Value>,
    errors: &mut Vec<String>,
) {
    for (name, value) in expected {
        let want = value.as_f64().unwrap();
        match metrics.get(name) {
            None => errors.push(format!("{context}: `{name}` missing (expected {want})")),
            Some(got) => match got.value() {
                Some(v) if close(v, want) => {}
                Some(v) => errors.push(format!("{context}: `{name}` = {v}, expected {want}")),
                None => errors.push(format!(
                    "{context}: `{name}` absent ({:?}), expected {want}",
                    got.reason()
                )),
            },
        }
    }
}

fn finish(errors: Vec<String>) {
    assert!(
        errors.is_empty(),
        "{} mismatches:\n{}",
        errors.len(),
        errors.join("\n")
    );
}

fn object<'a>(v: &'a Value, path: &[&str]) -> &'a Map<String, Value> {
    path.iter()
        .fold(v, |v, k| &v[*k])
        .as_object()
        .unwrap_or_else(|| panic!("no object at {path:?}"))
}

fn u32_list(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| u32::try_from(x.as_u64().unwrap()).unwrap())
        .collect()
}

#[test]
fn binary_classifier_matches_sklearn() {
    let e = expected();
    let csv = Csv::read("binary.csv");
    let (y_true, y_pred, proba) = (
        csv.u32s("y_true"),
        csv.u32s("y_pred"),
        csv.matrix(&["p0", "p1"]),
    );
    let data = ClassifierData {
        y_true: &y_true,
        y_pred: &y_pred,
        y_proba: Some(&proba),
        n_classes: 2,
    };
    let mut errors = Vec::new();
    for (key, pos_label) in [("pos_label_1", 1), ("pos_label_0", 0)] {
        let m = classifier::evaluate(
            &data,
            &ClassifierOptions {
                pos_label,
                ..ClassifierOptions::default()
            },
        )
        .unwrap();
        compare(key, &m, object(&e, &["binary", key]), &mut errors);
        assert!(m.warnings().is_empty(), "{:?}", m.warnings());
    }
    finish(errors);
}

#[test]
fn multiclass_classifier_matches_sklearn() {
    let e = expected();
    let csv = Csv::read("multiclass.csv");
    let k = e["multiclass"]["n_classes"].as_u64().unwrap() as u32;
    let names: Vec<String> = (0..k).map(|c| format!("p{c}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let (y_true, y_pred, proba) = (csv.u32s("y_true"), csv.u32s("y_pred"), csv.matrix(&names));
    let data = ClassifierData {
        y_true: &y_true,
        y_pred: &y_pred,
        y_proba: Some(&proba),
        n_classes: k,
    };
    let mut errors = Vec::new();
    for average in [Average::Micro, Average::Macro, Average::Weighted] {
        let m = classifier::evaluate(
            &data,
            &ClassifierOptions {
                average,
                ..ClassifierOptions::default()
            },
        )
        .unwrap();
        compare(
            average.as_str(),
            &m,
            object(&e, &["multiclass", average.as_str()]),
            &mut errors,
        );
        compare(
            "per_class",
            &m,
            object(&e, &["multiclass", "per_class"]),
            &mut errors,
        );
        if average == Average::Micro {
            assert!(m.get("roc_auc").and_then(|v| v.reason()).is_some());
        }
    }
    finish(errors);
}

#[test]
fn multiclass_with_a_class_only_predicted_matches_sklearn() {
    let e = expected();
    let case = &e["multiclass_sparse"];
    let (y_true, y_pred) = (u32_list(&case["y_true"]), u32_list(&case["y_pred"]));
    let data = ClassifierData {
        y_true: &y_true,
        y_pred: &y_pred,
        y_proba: None,
        n_classes: case["n_classes"].as_u64().unwrap() as u32,
    };
    let mut errors = Vec::new();
    for average in [Average::Micro, Average::Macro, Average::Weighted] {
        let m = classifier::evaluate(
            &data,
            &ClassifierOptions {
                average,
                ..ClassifierOptions::default()
            },
        )
        .unwrap();
        compare(
            average.as_str(),
            &m,
            object(case, &[average.as_str()]),
            &mut errors,
        );
        compare("per_class", &m, object(case, &["per_class"]), &mut errors);
        // Class 3 never occurs: its precision/recall/F1 are absent, not 0.
        assert!(
            m.get("precision_score/class_3")
                .and_then(|v| v.reason())
                .is_some()
        );
        // Class 2 is predicted but never true: recall 0 with scikit-learn's warning.
        if average != Average::Micro {
            assert!(m.warnings().iter().any(|w| w.metric == "recall_score"));
        }
    }
    finish(errors);
}

#[test]
fn zero_division_matches_sklearn() {
    let e = expected();
    let case = &e["binary_zero_division"];
    let (y_true, y_pred) = (u32_list(&case["y_true"]), u32_list(&case["y_pred"]));
    let m = classifier::evaluate(
        &ClassifierData {
            y_true: &y_true,
            y_pred: &y_pred,
            y_proba: None,
            n_classes: 2,
        },
        &ClassifierOptions::default(),
    )
    .unwrap();
    let mut errors = Vec::new();
    compare("zero_division", &m, object(case, &["metrics"]), &mut errors);
    finish(errors);
    // scikit-learn warns about precision only; so do we (for the averaged metrics).
    let warned: Vec<&str> = m
        .warnings()
        .iter()
        .map(|w| w.metric.as_str())
        .filter(|name| !name.contains('/'))
        .collect();
    assert_eq!(warned, ["precision_score"]);
    assert_eq!(case["sklearn_warnings"][0], "Precision");
}

#[test]
fn regressor_matches_sklearn() {
    let e = expected();
    let csv = Csv::read("regression.csv");
    let (y_true, y_pred) = (csv.f64s("y_true"), csv.f64s("y_pred"));
    let m = regressor::evaluate(&RegressorData {
        y_true: &y_true,
        y_pred: &y_pred,
    })
    .unwrap();
    let mut errors = Vec::new();
    compare(
        "regression",
        &m,
        object(&e, &["regression", "metrics"]),
        &mut errors,
    );
    finish(errors);
}

fn fairness_report(column: &str, min_group_size: usize, agg: EqualizedOddsAgg) -> FairnessReport {
    let csv = Csv::read("fairness.csv");
    let (y_true, y_pred, proba, groups) = (
        csv.u32s("y_true"),
        csv.u32s("y_pred"),
        csv.matrix(&["p0", "p1"]),
        csv.u32s(column),
    );
    fairness::evaluate(
        &FairnessData {
            y_true: &y_true,
            y_pred: &y_pred,
            y_proba: Some(&proba),
            groups: &groups,
        },
        &FairnessOptions {
            min_group_size,
            equalized_odds_agg: agg,
            extra_rates: vec![GroupRate::Accuracy],
            ..FairnessOptions::default()
        },
    )
    .unwrap()
}

#[test]
fn fairness_matches_fairlearn() {
    let e = expected();
    let mut errors = Vec::new();
    for (key, column) in [("sex", "sex_id"), ("intersection", "group_id")] {
        let case = &e["fairness"][key];
        let min_group_size = case["min_group_size"].as_u64().unwrap() as usize;
        let r = fairness_report(column, min_group_size, EqualizedOddsAgg::WorstCase);

        compare(
            key,
            &r.aggregates,
            object(case, &["aggregates"]),
            &mut errors,
        );
        compare(
            key,
            &r.aggregates,
            object(case, &["extra_aggregates"]),
            &mut errors,
        );
        let mean = fairness_report(column, min_group_size, EqualizedOddsAgg::Mean);
        compare(
            key,
            &mean.aggregates,
            object(case, &["aggregates_mean_agg"]),
            &mut errors,
        );

        let by_group = object(case, &["by_group"]);
        assert_eq!(r.by_group.len(), by_group.len(), "{key}: group count");
        for g in &r.by_group {
            let want = by_group[&g.group.to_string()].as_object().unwrap();
            let mut want = want.clone();
            want.remove("name");
            let count = want.remove("count").and_then(|v| v.as_f64()).unwrap();
            assert_eq!(g.count as f64, count, "{key}: group {} count", g.group);
            compare(
                &format!("{key} group {}", g.group),
                &g.metrics,
                &want,
                &mut errors,
            );
            // Rates fairlearn would report as 0 for want of a denominator are absent here.
            for rate in ["true_positive_rate", "false_positive_rate"] {
                if !want.contains_key(rate) {
                    assert!(g.metrics.get(rate).and_then(|v| v.reason()).is_some());
                }
            }
        }

        assert_eq!(
            r.four_fifths_rule.passed,
            case["four_fifths_passed"].as_bool(),
            "{key}: four-fifths"
        );
        let too_small: Vec<u32> = r
            .exclusions
            .iter()
            .filter(|x| x.metric.is_none())
            .map(|x| x.group)
            .collect();
        assert_eq!(too_small, u32_list(&case["excluded_too_small"]), "{key}");
        let no_tpr: Vec<u32> = r
            .exclusions
            .iter()
            .filter(|x| x.metric == Some("true_positive_rate"))
            .map(|x| x.group)
            .collect();
        assert_eq!(no_tpr, u32_list(&case["excluded_from_tpr"]), "{key}");
    }
    finish(errors);
}

#[test]
fn mcnemar_matches_statsmodels() {
    let e = expected();
    let mut errors = Vec::new();
    for case in e["mcnemar"].as_array().unwrap() {
        let b = case["baseline_only"].as_u64().unwrap();
        let c = case["candidate_only"].as_u64().unwrap();
        let r = McNemar::from_discordant(b, c);
        let method = match r.method {
            McNemarMethod::ExactBinomial => "exact_binomial",
            McNemarMethod::ChiSquareCorrected => "chi_square_corrected",
        };
        assert_eq!(method, case["method"], "b={b} c={c}");
        for (name, got) in [("statistic", r.statistic), ("p_value", r.p_value)] {
            let want = case[name].as_f64().unwrap();
            if !close(got, want) {
                errors.push(format!(
                    "mcnemar b={b} c={c}: {name} = {got}, expected {want}"
                ));
            }
        }
    }
    finish(errors);
}
