//! Cross-check of `modelci_metrics::rank` against SciPy's `mannwhitneyu`, R's
//! `wilcox.test(conf.int = TRUE)` rule (computed by brute force over all pairwise differences),
//! NumPy's population stability index and Noether's formula: the cases and reference values live
//! in `fixtures/stats/rank_cases.json` (made by `fixtures/stats/make_rank_cases.py`, which
//! documents each reference).
//!
//! Tolerances: U exactly; p-values to 1e-9 relative (1e-300 absolute for values that small);
//! Hodges-Lehmann values to 1e-12 (they are pairwise differences, so in fact exactly);
//! PSI and Noether's N to 1e-12 relative.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed assumption is a failed test"
)]

use std::path::Path;

use modelci_metrics::rank::{
    self, Alternative, Sorted, hodges_lehmann, hodges_lehmann_sorted, mann_whitney_u,
    mann_whitney_u_sorted, noether_sample_size, population_stability_index,
};
use serde_json::Value;

fn fixture() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/stats/rank_cases.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn num(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("missing {key} in {v}"))
}

fn close(actual: f64, expected: f64, rtol: f64, atol: f64) -> bool {
    (actual - expected).abs() <= atol.max(rtol * expected.abs())
}

fn alternative(name: &str) -> Alternative {
    match name {
        "two-sided" => Alternative::TwoSided,
        "less" => Alternative::Less,
        "greater" => Alternative::Greater,
        other => panic!("unknown alternative {other}"),
    }
}

#[test]
fn mann_whitney_matches_scipy() {
    let fixture = fixture();
    let mut checked = 0;
    for case in fixture["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (x, y) = (floats(&case["x"]), floats(&case["y"]));
        let (sx, sy) = (Sorted::new(&x).unwrap(), Sorted::new(&y).unwrap());
        for (alt, expected) in case["mann_whitney"].as_object().unwrap() {
            let got = mann_whitney_u(&x, &y, alternative(alt)).unwrap();
            assert_eq!(
                got,
                mann_whitney_u_sorted(&sx, &sy, alternative(alt)).unwrap()
            );
            assert_eq!(got.u, num(expected, "u"), "{name} {alt}: U");
            assert_eq!(
                got.exact,
                expected["exact"].as_bool().unwrap(),
                "{name} {alt}: method"
            );
            let p = num(expected, "p_value");
            assert!(
                close(got.p_value, p, 1e-9, 1e-300),
                "{name} {alt}: p = {} (scipy {p})",
                got.p_value
            );
            checked += 1;
        }
    }
    assert!(checked >= 90, "only {checked} comparisons");
}

#[test]
fn hodges_lehmann_matches_r_rule() {
    let fixture = fixture();
    let mut checked = 0;
    for case in fixture["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (x, y) = (floats(&case["x"]), floats(&case["y"]));
        let (sx, sy) = (Sorted::new(&x).unwrap(), Sorted::new(&y).unwrap());
        for expected in case["hodges_lehmann"].as_array().unwrap() {
            let confidence = num(expected, "confidence");
            let got = hodges_lehmann(&x, &y, confidence).unwrap();
            assert_eq!(got, hodges_lehmann_sorted(&sx, &sy, confidence).unwrap());
            let rule = expected["rule"].as_str().unwrap();
            for (field, value) in [
                ("estimate", got.estimate),
                ("low", got.low),
                ("high", got.high),
            ] {
                let want = num(expected, field);
                assert!(
                    close(value, want, 1e-12, 1e-12),
                    "{name} at {confidence} ({rule}): {field} = {value}, reference {want}"
                );
            }
            let reported = num(expected, "reported_confidence");
            assert!(
                close(got.confidence, reported, 1e-12, 1e-12),
                "{name} at {confidence}: confidence {} (R reports {reported})",
                got.confidence
            );
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} comparisons");
}

#[test]
fn psi_matches_numpy() {
    let fixture = fixture();
    for case in fixture["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (x, y) = (floats(&case["x"]), floats(&case["y"]));
        for expected in case["psi"].as_array().unwrap() {
            let bins = expected["bins"].as_u64().unwrap() as usize;
            let got = population_stability_index(&x, &y, bins).unwrap();
            let want = num(expected, "value");
            assert!(
                close(got, want, 1e-12, 1e-15),
                "{name} with {bins} bins: PSI {got}, numpy {want}"
            );
        }
    }
}

#[test]
fn noether_matches_formula() {
    let fixture = fixture();
    for case in fixture["noether"].as_array().unwrap() {
        let got = noether_sample_size(
            num(case, "p"),
            num(case, "alpha"),
            num(case, "power"),
            num(case, "fraction"),
        )
        .unwrap();
        let want = num(case, "n");
        assert!(close(got, want, 1e-12, 0.0), "{case}: N = {got}");
    }
    // The module is reachable under its own name too.
    assert!(rank::noether_sample_size(0.5, 0.05, 0.8, 0.5).is_none());
}
