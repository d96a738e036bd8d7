//! Datasets under random edits: CSV, JSON Lines and Parquet files are read or refused with the
//! file (and row), never a panic.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and benchmark code: a failed assumption is a failed run"
)]

use modelci_test_support::fuzz;
use proptest::prelude::*;

const CSV: &str = include_str!("../../../fixtures/gate/eval_small.csv");
const JSONL: &str = include_str!("../../../fixtures/datasets/classification.jsonl");
const PARQUET: &[u8] = include_bytes!("../../../fixtures/gate/eval.parquet");

fn read(name: &str, bytes: &[u8]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write");
    let _ = modelci_dataset::read(&path);
}

proptest! {
    #![proptest_config(fuzz::config())]

    #[test]
    fn a_csv_never_panics(bytes in fuzz::mutated_bytes(CSV.as_bytes().to_vec())) {
        read("fuzz.csv", &bytes);
    }

    #[test]
    fn json_lines_never_panic(bytes in fuzz::mutated_bytes(JSONL.as_bytes().to_vec())) {
        read("fuzz.jsonl", &bytes);
    }

    #[test]
    fn a_parquet_file_never_panics(bytes in fuzz::mutated_bytes(PARQUET.to_vec())) {
        read("fuzz.parquet", &bytes);
    }
}
