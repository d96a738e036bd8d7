use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use crate::{modelci, run, validate_junit};

fn case_ids(report: &Path) -> BTreeSet<(String, String)> {
    let v: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(report).expect("read")).expect("json");
    let mut out = BTreeSet::new();
    for suite in v["suites"].as_array().expect("suites") {
        for case in suite["cases"].as_array().expect("cases") {
            out.insert((
                suite["name"].as_str().expect("name").to_owned(),
                case["name"].as_str().expect("name").to_owned(),
            ));
        }
    }
    out
}

#[test]
fn shards_cover_every_case_once_and_merge_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let p = |name: &str| d.join(name).to_str().expect("utf8").to_owned();
    let config = "examples/failing/modelci.toml";
    run(&mut modelci(&[
        "check",
        "--config",
        config,
        "--json",
        &p("full.json"),
    ]));
    let mut union = BTreeSet::new();
    let mut total = 0;
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let (code, out, err) = run(&mut modelci(&[
            "check",
            "--config",
            config,
            "--shard",
            &shard,
            "--json",
            &p(&format!("s{k}.json")),
            "--junit",
            &p(&format!("s{k}.xml")),
        ]));
        assert!(code == 0 || code == 1, "{out}{err}");
        assert!(out.contains(&format!("shard {shard}")), "{out}");
        let ids = case_ids(&d.join(format!("s{k}.json")));
        total += ids.len();
        union.extend(ids);
    }
    let full = case_ids(&d.join("full.json"));
    assert_eq!(total, full.len(), "no case runs twice");
    assert_eq!(union, full, "every case runs once");

    let (code, out, err) = run(&mut modelci(&[
        "report",
        "merge",
        "--json",
        &p("merged.json"),
        &p("s1.json"),
        &p("s2.json"),
        &p("s3.json"),
    ]));
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(case_ids(&d.join("merged.json")), full);
    let merged: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(d.join("merged.json")).expect("r")).expect("j");
    assert_eq!(merged["shards"].as_array().expect("shards").len(), 3);
    assert_eq!(merged["summary"]["failed"], 4);

    let (code, out, err) = run(&mut modelci(&[
        "report",
        "merge",
        "--junit",
        &p("merged.xml"),
        &p("s1.xml"),
        &p("s2.xml"),
        &p("s3.xml"),
    ]));
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("6 tests, 4 failures, 0 errors, 0 skipped; verdict: fail"),
        "{out}"
    );
    validate_junit(&d.join("merged.xml"));

    // The same shard twice is not a set of disjoint shards.
    fs::copy(d.join("s1.json"), d.join("s1-again.json")).expect("copy");
    let (code, _, err) = run(&mut modelci(&[
        "report",
        "merge",
        "--json",
        &p("bad.json"),
        &p("s1.json"),
        &p("s1-again.json"),
    ]));
    assert_eq!(code, 2);
    assert!(
        err.contains("merge the reports of disjoint shards"),
        "{err}"
    );
    let (code, _, err) = run(&mut modelci(&[
        "report",
        "merge",
        "--json",
        &p("bad.json"),
        &p("s1.json"),
        &p("s1.json"),
    ]));
    assert_eq!(code, 2);
    assert!(err.contains("s1.json` is given twice"), "{err}");
    // Unreadable and foreign inputs.
    fs::write(d.join("junk.json"), "not json").expect("w");
    let (code, _, err) = run(&mut modelci(&[
        "report",
        "merge",
        "--json",
        &p("x.json"),
        &p("junk.json"),
    ]));
    assert_eq!(code, 2);
    assert!(
        err.contains("junk.json` is not a valid modelci JSON report"),
        "{err}"
    );
    let (code, _, err) = run(&mut modelci(&[
        "report",
        "merge",
        "--junit",
        &p("x.xml"),
        &p("nope.xml"),
    ]));
    assert_eq!(code, 2);
    assert!(err.contains("failed to read report"), "{err}");
}

/// JUnit files from other producers often have a single `<testsuite>` as their root; `report
/// merge --junit` accepts them beside modelci's own `<testsuites>` reports.
#[test]
fn junit_merge_accepts_a_single_testsuite_root() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let ours = d.join("ours.xml");
    let (code, out, err) = run(&mut modelci(&[
        "check",
        "--config",
        "examples/failing/modelci.toml",
        "--junit",
        ours.to_str().expect("utf8"),
    ]));
    assert!(code == 0 || code == 1, "{out}{err}");
    let theirs = d.join("pytest.xml");
    fs::write(
        &theirs,
        r#"<?xml version="1.0" encoding="utf-8"?><testsuite name="pytest" errors="0" failures="0" skipped="0" tests="2" time="0.1"><testcase classname="test_api" name="test_ok" time="0.01"/><testcase classname="test_api" name="test_also_ok" time="0.01"/></testsuite>"#,
    )
    .expect("write");
    let merged = d.join("merged.xml");
    let (code, out, err) = run(&mut modelci(&[
        "report",
        "merge",
        "--junit",
        merged.to_str().expect("utf8"),
        ours.to_str().expect("utf8"),
        theirs.to_str().expect("utf8"),
    ]));
    assert!(code == 0 || code == 1, "{out}\n{err}");
    let xml = fs::read_to_string(&merged).expect("merged");
    assert!(xml.contains(r#"name="test_also_ok""#), "{xml}");
    validate_junit(&merged);
}
