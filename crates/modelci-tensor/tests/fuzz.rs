//! Golden files under random edits: JSON golden cases, serialized TensorProtos and .npz
//! archives are read or refused, never a panic or an unbounded allocation.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and benchmark code: a failed assumption is a failed run"
)]

use modelci_test_support::fuzz;
use proptest::prelude::*;

const JSON: &str = include_str!("../../../fixtures/golden/linear_cases.json");
const PB: &[u8] =
    include_bytes!("../../../fixtures/golden/linear_onnx_layout/test_data_set_0/input_0.pb");
const NPZ: &[u8] = include_bytes!("../../../fixtures/golden/linear_cases.npz");

proptest! {
    #![proptest_config(fuzz::config())]

    #[test]
    fn golden_json_never_panics(text in fuzz::mutated_text(JSON)) {
        let _ = modelci_tensor::golden::parse_json(&text, "fuzz.json");
    }

    #[test]
    fn a_tensor_proto_never_panics(bytes in fuzz::mutated_bytes(PB.to_vec())) {
        let _ = modelci_tensor::pb::decode(&bytes, "x");
    }

    #[test]
    fn an_npz_never_panics(bytes in fuzz::mutated_bytes(NPZ.to_vec())) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("fuzz.npz");
        std::fs::write(&path, &bytes).expect("write");
        let _ = modelci_tensor::golden::read_npz(&path);
    }
}
