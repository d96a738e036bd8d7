//! Reports given to `modelci report merge` under random edits: JUnit XML and JSON reports are
//! read or refused, never a panic.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and benchmark code: a failed assumption is a failed run"
)]

use modelci_test_support::fuzz;
use proptest::prelude::*;

fn seeds() -> (String, String) {
    let run = modelci_report::sample::run();
    let mut xml = Vec::new();
    modelci_report::junit::write(&run, &mut xml).expect("junit");
    (
        String::from_utf8(xml).expect("utf8"),
        modelci_report::json::to_string(&run),
    )
}

proptest! {
    #![proptest_config(fuzz::config())]

    #[test]
    fn junit_never_panics(text in fuzz::mutated_text(&seeds().0)) {
        let _ = modelci_report::junit::read_str(&text);
    }

    #[test]
    fn a_json_report_never_panics(bytes in fuzz::mutated_bytes(seeds().1.into_bytes())) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("fuzz.json");
        std::fs::write(&path, &bytes).expect("write");
        let _ = modelci_report::json::read_file(&path);
    }
}
