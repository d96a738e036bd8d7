//! `modelci model inspect` on a real ONNX model (fixtures/models/linear.onnx, made by
//! fixtures/models/make_linear.py with the `onnx` package).

use serde_json::Value;

use crate::{modelci, run};

#[test]
fn inspect_shows_the_signature_opsets_and_hash() {
    let (code, out, err) = run(&mut modelci(&[
        "model",
        "inspect",
        "fixtures/models/linear.onnx",
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("input: float32[batch, 4]"), "{out}");
    assert!(out.contains("probabilities: float32[batch, 3]"), "{out}");
    assert!(out.contains("label: int64[batch]"), "{out}");
    assert!(out.contains("opsets:   ai.onnx 17"), "{out}");
    let (code, out, _) = run(&mut modelci(&[
        "model",
        "inspect",
        "fixtures/models/linear.onnx",
        "--json",
    ]));
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["inputs"][0]["shape"], serde_json::json!(["batch", 4]));
    assert_eq!(v["sha256"].as_str().map(str::len), Some(64));
}

#[test]
fn a_corrupt_model_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bytes = std::fs::read(crate::root().join("fixtures/models/linear.onnx")).expect("model");
    let cut = dir.path().join("cut.onnx");
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).expect("w");
    let (code, _, err) = run(&mut modelci(&[
        "model",
        "inspect",
        cut.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 2);
    assert!(
        err.contains("cut.onnx: not an ONNX model (corrupt or truncated?)"),
        "{err}"
    );
}
