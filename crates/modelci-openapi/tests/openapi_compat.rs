//! The jsoncompat corpus's 17 OpenAPI pairs (`../shared/conformance/jsoncompat/openapi_compat`),
//! read in place: `modelci contract diff` must find a breaking change exactly when a case says the
//! new version is not compatible.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and benchmark code: a failed assumption is a failed run"
)]

use std::path::PathBuf;

use modelci_openapi::compat::Compat;
use modelci_openapi::diff::{Severity, diff_openapi};

#[test]
fn every_openapi_compat_case() {
    let Some(dir) = modelci_test_support::corpus("jsoncompat/openapi_compat") else {
        return;
    };
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 17, "found {} cases", cases.len());
    let mut problems = Vec::new();
    for case in &cases {
        let name = case
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let read = |f: &str| std::fs::read_to_string(case.join(f)).expect(f);
        let expect: serde_json::Value = serde_json::from_str(&read("expect.json")).expect("expect");
        let want = expect["compatible"].as_bool().expect("compatible");
        let old = modelci_openapi::parse(&read("old.json"), "old.json").expect("old");
        let new = modelci_openapi::parse(&read("new.json"), "new.json").expect("new");
        let findings = diff_openapi(&old, &new, &Compat).expect("diff");
        let breaking: Vec<String> = findings
            .iter()
            .filter(|f| f.severity == Severity::Breaking)
            .map(|f| format!("{}: {}", f.id, f.message))
            .collect();
        let got = breaking.is_empty();
        if got != want {
            problems.push(format!(
                "{name}: expected compatible={want}, got {got} {breaking:?}"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} cases disagree:\n{}",
        problems.len(),
        cases.len(),
        problems.join("\n")
    );
}
