//! `modelci contract test` with its default settings against a small service with twelve planted
//! contract bugs (fixtures/provider/planted_service.py; its contract is
//! fixtures/openapi/planted.openapi.yaml): every bug is reported, each distinct failure with its
//! own reproduction; a server error found by a generated request is shrunk; without negative
//! testing the accepted invalid inputs go unnoticed.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::{modelci, root, run};

struct Service {
    child: Child,
    url: String,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The planted service on a free port.
fn planted() -> Service {
    let mut child = Command::new("python3")
        .arg(root().join("fixtures/provider/planted_service.py"))
        .arg("0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs the planted service");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("a line");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{line}"))
        .to_owned();
    Service { child, url }
}

/// Runs `contract test` on the planted service: (exit code, failed cases by name with message
/// and detail).
fn test(extra: &[&str]) -> (i32, Vec<(String, String, String)>) {
    let service = planted();
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("report.json");
    let mut args = vec![
        "contract",
        "test",
        "--openapi",
        "fixtures/openapi/planted.openapi.yaml",
        "--base-url",
        &service.url,
        "--json",
        json.to_str().expect("utf8"),
    ];
    args.extend_from_slice(extra);
    let (code, out, err) = run(&mut modelci(&args));
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap_or_default())
        .unwrap_or_else(|_| panic!("no report: {out}{err}"));
    let failed = report["suites"][0]["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .filter(|c| c["outcome"] == "failed")
        .map(|c| {
            (
                c["name"].as_str().unwrap_or_default().to_owned(),
                c["message"].as_str().unwrap_or_default().to_owned(),
                c["detail"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    (code, failed)
}

fn find<'a>(failed: &'a [(String, String, String)], name: &str) -> &'a (String, String, String) {
    failed
        .iter()
        .find(|c| c.0 == name)
        .unwrap_or_else(|| panic!("`{name}` did not fail: {failed:#?}"))
}

#[test]
fn every_planted_bug_is_found_with_the_default_settings() {
    let (code, failed) = test(&[]);
    assert_eq!(code, 1, "{failed:#?}");
    let expect = |name: &str, needle: &str| {
        let (_, message, _) = find(&failed, name);
        assert!(
            message.contains(needle),
            "{name}: `{needle}` not in {message}"
        );
    };
    // P1: an array over maxItems accepted; P12: JSON sent as text/plain accepted.
    expect(
        "POST /items › rejects invalid requests",
        "`/tags`: 4 items, over `maxItems` 3 was answered with HTTP 201 instead of a 4xx",
    );
    expect(
        "POST /items › rejects invalid requests",
        "sent as `text/plain`, a content type the operation does not take was answered with HTTP 201",
    );
    // P2: a 404 error path answered as text/plain.
    expect(
        "GET /items/{id} › content type documented",
        "content type `text/plain` is not documented for HTTP 404 (documented: application/json)",
    );
    // P3 and P4: two different schema violations of the same operation, both reported.
    expect("POST /items › body matches schema", "2 distinct failures");
    expect(
        "POST /items › body matches schema",
        "/name: \"\" is shorter than 1 character",
    );
    expect(
        "POST /items › body matches schema",
        "is not of type \"number\"",
    );
    // P5 and P6: query parameters out of range and null accepted.
    expect(
        "GET /items › rejects invalid requests",
        "query parameter `limit` 101, over `maximum` 100 was answered with HTTP 200",
    );
    expect(
        "GET /items › rejects invalid requests",
        "query parameter `flag` null instead of boolean was answered with HTTP 200",
    );
    // P7: an undocumented 400.
    expect(
        "PUT /items/{id} › status code documented",
        "HTTP 400 is not documented for PUT /items/{id} (documented: 200, 404, 422)",
    );
    // P8: undeclared methods answered 501.
    expect(
        "/items › undeclared methods answer 405",
        "TRACE /items were answered HTTP 501 instead of 405 Method Not Allowed (the path declares GET, POST)",
    );
    expect(
        "/items/{id} › undeclared methods answer 405",
        "answered HTTP 501 instead of 405",
    );
    // P9: a server error on the documented maximum, found by boundary coverage and shrunk.
    let (_, message, detail) = find(&failed, "POST /items › no server error");
    assert_eq!(message, "the service answered HTTP 500");
    assert!(
        detail.contains("coverage: body `/price` = 10000 (maximum)"),
        "{detail}"
    );
    assert!(detail.contains("\"price\":10000"), "{detail}");
    assert!(
        detail.contains("shrunk: the smallest request found that fails the same way"),
        "{detail}"
    );
    assert!(!detail.contains("\"tags\""), "not shrunk: {detail}");
    // P10: a required response header missing.
    expect(
        "GET /items › required headers present",
        "required response header(s) missing: X-Total-Count",
    );
    // P11: reachable by deleting an item that exists, which the POST's link does (a random id
    // may hit one too, so the report may name either request).
    let (_, message, detail) = find(&failed, "DELETE /items/{id} › no server error");
    assert_eq!(message, "the service answered HTTP 500");
    assert!(
        detail.contains("linked request: `DeleteItem` with the data of an answer of POST /items")
            || detail.contains("generated request"),
        "{detail}"
    );
    // Every failure carries its reproduction and the seed.
    for (name, _, detail) in &failed {
        assert!(
            detail.contains("reproduce: curl -sS -X "),
            "{name}: {detail}"
        );
        assert!(detail.contains("seed: 0"), "{name}: {detail}");
    }
}

#[test]
fn without_negative_testing_accepted_invalid_input_goes_unnoticed() {
    let (code, failed) = test(&["--no-negative", "--no-stateful"]);
    assert_eq!(code, 1);
    let names: Vec<&str> = failed.iter().map(|c| c.0.as_str()).collect();
    assert!(
        !names
            .iter()
            .any(|n| n.ends_with("rejects invalid requests")),
        "{names:?}"
    );
    // What valid requests alone show is still there.
    assert!(
        names.contains(&"POST /items › body matches schema"),
        "{names:?}"
    );
}

#[test]
fn a_response_time_limit_and_a_failure_cap_apply() {
    // Nothing answers within a microsecond: every operation fails its `response time` case.
    let (code, failed) = test(&["--max-response-time", "0.000001", "--max-failures", "1"]);
    assert_eq!(code, 1);
    let (_, message, _) = find(&failed, "GET /items › response time");
    assert!(
        message.contains("over the limit of 0.000001 s"),
        "{message}"
    );
    // At most one failure per case: P3 and P4 are one case, so only one is listed.
    let (_, message, _) = find(&failed, "POST /items › body matches schema");
    assert!(!message.contains("distinct failures"), "{message}");
}

#[test]
fn the_terminal_report_of_one_operation() {
    // One operation, one request at a time, on a fresh service: the same output every run.
    let service = planted();
    let (code, out, err) = run(&mut modelci(&[
        "contract",
        "test",
        "--openapi",
        "fixtures/openapi/planted.openapi.yaml",
        "--base-url",
        &service.url,
        "--operation",
        "listItems",
        "--concurrency",
        "1",
        "--color",
        "never",
    ]));
    assert_eq!(code, 1, "{out}{err}");
    let out = out.replace(&service.url, "http://127.0.0.1:[PORT]");
    insta::assert_snapshot!("contract_test_planted_list_items", crate::stable(&out));
}
