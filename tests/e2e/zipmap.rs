//! scikit-learn classifiers as skl2onnx exports them by default (ZipMap on: the probabilities
//! are a sequence of class → probability maps), from fixtures/models/make_zipmap.py: golden
//! cases in every format that can hold them, `model record`, expectations, and the gate
//! (ZipMap probabilities, and a model with two named inputs fed from dataset columns).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::{modelci, run, runtime_available};

const MODEL: &str = "fixtures/models/mlp_zipmap.onnx";
const TWO_INPUTS: &str = "fixtures/models/mlp_zipmap_two_inputs.onnx";
/// Recorded by `modelci model record` from mlp_zipmap_inputs.json, cross-checked once against
/// onnxruntime in Python (`make_zipmap.py --check`).
const CASES: &str = "fixtures/golden/mlp_zipmap_cases.json";

fn model_test(cases: &str) -> (i32, String, String) {
    run(&mut modelci(&[
        "model", "test", "--model", MODEL, "--cases", cases,
    ]))
}

#[test]
fn zipmap_golden_cases_pass_in_json_and_in_the_onnx_layout() {
    if !runtime_available() {
        return;
    }
    let (code, out, err) = model_test(CASES);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("8 passed, 0 failed"), "{out}");
    // output_1.pb is a SequenceProto of MapProtos, as onnx.numpy_helper.from_list writes it.
    let (code, out, err) = model_test("fixtures/golden/mlp_zipmap_onnx_layout");
    assert_eq!(code, 0, "{out}\n{err}");
    let (code, out, _) = run(&mut modelci(&["model", "inspect", MODEL]));
    assert_eq!(code, 0);
    assert!(
        out.contains("output_probability: seq(map(int64, float32))"),
        "{out}"
    );
}

#[test]
fn a_changed_probability_a_missing_key_and_a_length_are_named_by_row_and_key() {
    if !runtime_available() {
        return;
    }
    let mut golden: Value =
        serde_json::from_str(&std::fs::read_to_string(crate::root().join(CASES)).expect("r"))
            .expect("json");
    let cases = golden["cases"].as_array_mut().expect("cases");
    let probs = |c: &mut Value| -> Value { c["outputs"]["output_probability"]["data"].clone() };
    let mut p1 = probs(&mut cases[1]);
    p1[0]["0"] = Value::from(0.5);
    cases[1]["outputs"]["output_probability"]["data"] = p1;
    let mut p2 = probs(&mut cases[2]);
    p2[0].as_object_mut().expect("map").remove("1");
    cases[2]["outputs"]["output_probability"]["data"] = p2;
    cases[3]["outputs"]["output_probability"]["data"] = Value::Array(Vec::new());
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.json");
    std::fs::write(&path, golden.to_string()).expect("w");
    let (code, out, err) = model_test(path.to_str().expect("utf8"));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("5 passed, 3 failed"), "{out}");
    assert!(
        out.contains("`output_probability`: 1 of 3 map value(s) differ beyond rtol 0.0000013 / atol 0.00001; worst at row 0, key 0: expected 0.5, got "),
        "{out}"
    );
    assert!(
        out.contains("keys differ: row 0, key 1: not expected (extra key)"),
        "{out}"
    );
    assert!(
        out.contains("`output_probability`: expected 0 map(s) but got 1"),
        "{out}"
    );
}

#[test]
fn an_npz_cannot_hold_a_zipmap_and_says_to_use_json() {
    if !runtime_available() {
        return;
    }
    let (code, out, err) = model_test("fixtures/golden/mlp_zipmap_object.npz");
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        out.contains("mlp_zipmap_object.npz: array `output_probability`: an object array (pickled Python objects, such as a ZipMap's list of dicts) cannot be read from .npz"),
        "{out}"
    );
}

#[test]
fn recorded_zipmap_outputs_pass_model_test_and_re_record_unchanged() {
    if !runtime_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let out_path = dir.path().join("golden.json");
    let record = || {
        run(&mut modelci(&[
            "model",
            "record",
            "--model",
            MODEL,
            "--inputs",
            "fixtures/golden/mlp_zipmap_inputs.json",
            "--out",
            out_path.to_str().expect("utf8"),
        ]))
    };
    let (code, out, err) = record();
    assert_eq!(code, 0, "{out}\n{err}");
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(&out_path).expect("r")).expect("json");
    let p = &v["cases"][0]["outputs"]["output_probability"];
    assert_eq!(p["dtype"], "seq(map(int64, float32))");
    let keys: Vec<&String> = p["data"][0].as_object().expect("a map").keys().collect();
    assert_eq!(keys, ["0", "1", "2"]);
    let (code, out, err) = model_test(out_path.to_str().expect("utf8"));
    assert_eq!(code, 0, "{out}\n{err}");
    // Re-recording compares exactly: the same model answers the same.
    let (code, out, err) = record();
    assert_eq!(code, 0, "{out}\n{err}");
}

#[test]
fn expectations_read_zipmap_probabilities_as_a_matrix() {
    if !runtime_available() {
        return;
    }
    let root = crate::root();
    let root = root.to_str().expect("utf8");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("modelci.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[[suite.model]]
name = "zipmap"
model = "{root}/{MODEL}"
cases = ["{root}/{CASES}"]

[suite.model.invariants]
probabilities = ["output_probability"]

[[suite.model.robustness]]
perturbation = "gaussian"
scale = 0.01
max_flip_rate = 0.25
max_relative_change = 0.5

[suite.model.regression]
baseline = "{root}/{MODEL}"
max_output_drift = 0.0
"#
        ),
    )
    .expect("w");
    let json = dir.path().join("r.json");
    let (code, out, err) = run(&mut modelci(&[
        "check",
        "--config",
        config.to_str().expect("utf8"),
        "--json",
        json.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 0, "{out}\n{err}");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&json).expect("r")).expect("j");
    let cases: BTreeMap<String, (String, String)> = r["suites"][0]["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or_default().to_owned(),
                (
                    c["outcome"].as_str().unwrap_or_default().to_owned(),
                    c["message"].as_str().unwrap_or_default().to_owned(),
                ),
            )
        })
        .collect();
    let (outcome, message) = &cases["invariant: `output_probability` are probabilities"];
    assert_eq!(outcome, "passed");
    assert!(
        message.starts_with("8 row(s) of `output_probability`"),
        "{message}"
    );
    let (_, message) = &cases[&format!("regression: against {root}/{MODEL}")];
    assert!(
        message.contains("max output drift 0 at `output_probability`[0, 0]"),
        "{message}"
    );
}

fn columns(range: std::ops::Range<usize>) -> String {
    range.map(|i| format!("f{i}")).collect::<Vec<_>>().join(",")
}

#[test]
fn the_gate_reads_zipmap_probabilities_and_feeds_two_named_inputs() {
    if !runtime_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("r.json");
    let head = format!("head={}", columns(0..8));
    let tail = format!("tail={}", columns(8..20));
    let thresholds = dir.path().join("t.toml");
    std::fs::write(
        &thresholds,
        r#"
[accuracy_score]
threshold = 0.9
max_absolute_degradation = 0.0
greater_is_better = true

[log_loss]
threshold = 0.3
greater_is_better = false

[roc_auc]
threshold = 0.9
greater_is_better = true
"#,
    )
    .expect("w");
    // The two-input candidate against the one-input export of the same classifier: the
    // one-input baseline takes every listed column, in order.
    let (code, out, err) = run(&mut modelci(&[
        "gate",
        "--candidate",
        TWO_INPUTS,
        "--baseline",
        MODEL,
        "--dataset",
        "fixtures/gate/eval.csv",
        "--label",
        "label",
        "--input",
        &head,
        "--input",
        &tail,
        "--thresholds",
        thresholds.to_str().expect("utf8"),
        "--latency-batch-sizes",
        "1,4",
        "--latency-iterations",
        "3",
        "--json",
        json.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 0, "{out}\n{err}");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&json).expect("r")).expect("j");
    let cases = r["suites"][0]["cases"].as_array().expect("cases");
    let message = |name: &str| {
        cases
            .iter()
            .find(|c| c["name"] == name)
            .and_then(|c| c["message"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    // Probabilities from the ZipMap: log_loss and roc_auc exist.
    assert!(
        message("log_loss").starts_with("log_loss = 0.2"),
        "{}",
        message("log_loss")
    );
    assert!(
        message("roc_auc").starts_with("roc_auc = 0.9"),
        "{}",
        message("roc_auc")
    );
    assert!(
        message("accuracy_score").starts_with("accuracy_score = 0.917"),
        "{}",
        message("accuracy_score")
    );

    // Without the mapping, a two-input model is a clear error (exit 2).
    let (code, _, err) = run(&mut modelci(&[
        "gate",
        "--candidate",
        TWO_INPUTS,
        "--dataset",
        "fixtures/gate/eval.csv",
        "--label",
        "label",
        "--thresholds",
        thresholds.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("the model takes 2 inputs (head, tail): map the feature columns to them with `inputs` (`--input NAME=COL,...`)"),
        "{err}"
    );
    // An input the model lacks, and a malformed flag.
    let (code, _, err) = run(&mut modelci(&[
        "gate",
        "--candidate",
        TWO_INPUTS,
        "--dataset",
        "fixtures/gate/eval.csv",
        "--label",
        "label",
        "--input",
        &head,
        "--input",
        "tale=f8",
        "--thresholds",
        thresholds.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("the model needs input `tail`, which `inputs` does not map to columns"),
        "{err}"
    );
    let (code, _, err) = run(&mut modelci(&[
        "gate",
        "--candidate",
        TWO_INPUTS,
        "--dataset",
        "fixtures/gate/eval.csv",
        "--label",
        "label",
        "--input",
        "head",
        "--feature",
        "f0",
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--input must be NAME=COL[,COL...]"), "{err}");
}
