//! A real model in ONNX Runtime answers its golden cases within the default tolerances (the
//! runtime layer, the `.npz` golden format and the comparison together).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and benchmark code: a failed assumption is a failed run"
)]

use std::path::{Path, PathBuf};

use modelci_model::compare::{NanPolicy, Tolerance, compare};
use modelci_tensor::DType;
use modelci_tensor::golden::read_npz;
use modelci_tensor::runtime::{Runtime, runtime};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../")
        .join(rel)
}

/// The real runtime, or `None` after a loud notice where ONNX Runtime is not installed (a
/// failure under `CI=true` unless `MODELCI_TEST_SKIP` opts out of `onnxruntime`).
fn real_runtime() -> Option<&'static Runtime> {
    modelci_test_support::require(
        modelci_test_support::Dependency::OnnxRuntime,
        runtime(None).map_err(|e| e.to_string()),
    )
}

#[test]
fn golden_cases_of_a_real_model_match() {
    let Some(rt) = real_runtime() else { return };
    let model = rt
        .load(&fixture("fixtures/models/linear.onnx"))
        .expect("model");
    assert_eq!(model.inputs[0].name, "input");
    assert_eq!(model.inputs[0].dtype, Some(DType::F32));
    assert_eq!(model.inputs[0].shape, vec![-1, 4]);
    let arrays = read_npz(&fixture("fixtures/golden/linear_cases.npz")).expect("npz");
    let input = arrays
        .iter()
        .find(|t| t.name == "input")
        .expect("input")
        .clone();
    let outputs = model.run(&[input]).expect("runs");
    for out in &outputs {
        let expected = arrays.iter().find(|t| t.name == out.name).expect("golden");
        let tol = Tolerance::default_for(out.dtype);
        assert!(
            compare(expected, out, tol, NanPolicy::Equal).is_none(),
            "{}",
            out.name
        );
    }
}
