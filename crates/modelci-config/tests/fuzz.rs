//! modelci.toml under random edits: loading returns a configuration or an error with a place,
//! never a panic. `MODELCI_FUZZ_CASES` sets how many inputs (see modelci-test-support).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and benchmark code: a failed assumption is a failed run"
)]

use std::path::Path;

use modelci_test_support::fuzz;
use proptest::prelude::*;

const SEED: &str = include_str!("../../../examples/quickstart/modelci.toml");

proptest! {
    #![proptest_config(fuzz::config())]

    #[test]
    fn a_config_never_panics(text in fuzz::mutated_text(SEED)) {
        if let Err(e) = modelci_config::parse(Path::new("modelci.toml"), &text) {
            prop_assert!(!e.to_string().is_empty());
        }
    }
}
