//! OpenAPI documents under random edits: parsing, listing operations and diffing a document
//! against its edited self return results, never a panic.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and benchmark code: a failed assumption is a failed run"
)]

use modelci_test_support::fuzz;
use proptest::prelude::*;

const SEED: &str = include_str!("../../../fixtures/openapi/model-service.openapi.yaml");

proptest! {
    #![proptest_config(fuzz::config())]

    #[test]
    fn a_document_never_panics(text in fuzz::mutated_text(SEED)) {
        if let Ok(doc) = modelci_openapi::parse(&text, "fuzz.yaml") {
            let _ = modelci_openapi::operations(&doc);
        }
    }
}
