//! The Pact specification's compliance cases (803 JSON files, versions 1 to 4), read in place
//! from `../shared/conformance/pact-specification`: the engine must report no mismatch exactly
//! when a case says `"match": true`.
//!
//! Disputed cases (see `shared/conformance/README.md`): we follow upstream's verdicts on all
//! four, so none is exempted.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and benchmark code: a failed assumption is a failed run"
)]

use std::path::{Path, PathBuf};

use modelci_pact::{
    MessageContents, Request, Response, SpecVersion, compare_message, compare_request,
    compare_response,
};
use serde_json::Value;

fn corpus() -> Option<PathBuf> {
    modelci_test_support::corpus("pact-specification")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

fn version_of(path: &Path) -> SpecVersion {
    let s = path.to_string_lossy();
    if s.contains("version-1.1") {
        SpecVersion::V1_1
    } else if s.contains("version-1/") {
        SpecVersion::V1
    } else if s.contains("version-2") {
        SpecVersion::V2
    } else if s.contains("version-3") {
        SpecVersion::V3
    } else {
        SpecVersion::V4
    }
}

/// Runs one case: Ok(verdict) or Err(why it could not be read).
fn run_case(path: &Path) -> Result<(bool, bool, Vec<String>), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let text = text.trim_start_matches('\u{feff}');
    let case: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let want = case["match"].as_bool().ok_or("no `match`")?;
    let version = version_of(path);
    let s = path.to_string_lossy();
    let mismatches = if s.contains("/request/") {
        let e = Request::from_json(&case["expected"], version)?;
        let a = Request::from_json(&case["actual"], version)?;
        compare_request(&e, &a)
    } else if s.contains("/response/") {
        let e = Response::from_json(&case["expected"], version)?;
        let a = Response::from_json(&case["actual"], version)?;
        compare_response(&e, &a)
    } else {
        let e = MessageContents::from_json(&case["expected"], version)?;
        let a = MessageContents::from_json(&case["actual"], version)?;
        compare_message(&e, &a)
    };
    Ok((
        want,
        mismatches.is_empty(),
        mismatches.iter().map(ToString::to_string).collect(),
    ))
}

#[test]
fn every_pact_specification_case() {
    let Some(dir) = corpus() else { return };
    let mut all = Vec::new();
    files(&dir, &mut all);
    all.sort();
    assert!(all.len() >= 800, "found only {} cases", all.len());
    let mut failures = Vec::new();
    for path in &all {
        let rel = path
            .strip_prefix(&dir)
            .unwrap_or(path)
            .display()
            .to_string();
        match run_case(path) {
            Ok((want, got, mismatches)) if want != got => failures.push(format!(
                "{rel}: expected match={want}, got match={got} {mismatches:?}"
            )),
            Ok(_) => {}
            Err(e) => failures.push(format!("{rel}: could not run: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} conformance cases disagree:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}
