//! Pact files (v2 and v4, with matching rules, generators and messages) under random edits:
//! parsing returns a pact or an error naming the file, never a panic.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and benchmark code: a failed assumption is a failed run"
)]

use modelci_test_support::fuzz;
use proptest::prelude::*;

const SEED: &str = include_str!("../../../tests/e2e/pacts/dashboard-model-service.json");
const SEED_V4: &str = include_str!("../../../tests/e2e/pacts/generators-and-messages.json");

proptest! {
    #![proptest_config(fuzz::config())]

    #[test]
    fn a_pact_never_panics(text in fuzz::mutated_text(SEED)) {
        let _ = modelci_pact::pact::parse(&text, "fuzz.json");
    }

    #[test]
    fn a_v4_pact_never_panics(text in fuzz::mutated_text(SEED_V4)) {
        let _ = modelci_pact::pact::parse(&text, "fuzz.json");
    }
}
