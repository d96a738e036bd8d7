//! Ctrl-C (SIGINT) while a single batch suite runs: modelci stops starting cases, reports the
//! rest as skipped, writes its reports and exits 2, for `modelci check` with one pact or OpenAPI
//! suite and for the single-suite commands. The provider here answers every request after a
//! pause, so without the signal the run would take many times longer.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::modelci;

/// Seconds the slow provider waits before it answers each request.
const PAUSE: Duration = Duration::from_millis(1500);

/// Requests (interactions, operations) in each run: 12 x 1.5 s one at a time is 18 s.
const REQUESTS: usize = 12;

/// A provider on 127.0.0.1 that answers every request `200 {}` after [`PAUSE`]: its base URL,
/// and a channel that hears of each request as it arrives.
fn slow_provider() -> (String, mpsc::Receiver<()>) {
    let (tx, rx) = mpsc::channel();
    let url = crate::raw::serve(move |stream, _| {
        let _ = tx.send(());
        std::thread::sleep(PAUSE);
        let _ = stream.write_all(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
        );
    });
    (url, rx)
}

fn pact(dir: &Path) -> String {
    let interactions: Vec<Value> = (0..REQUESTS)
        .map(|i| {
            serde_json::json!({
                "description": format!("slow answer {i}"),
                "request": {"method": "GET", "path": format!("/slow/{i}")},
                "response": {"status": 200}
            })
        })
        .collect();
    crate::raw::pact_file(dir, "slow", interactions)
        .display()
        .to_string()
}

fn openapi(dir: &Path) -> String {
    let mut paths = serde_json::Map::new();
    for i in 0..REQUESTS {
        paths.insert(
            format!("/slow/{i}"),
            serde_json::json!({"get": {
                "operationId": format!("slow{i}"),
                "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}}
            }}),
        );
    }
    let doc = serde_json::json!({
        "openapi": "3.0.3",
        "info": {"title": "slow", "version": "1"},
        "paths": paths
    });
    let path = dir.join("openapi.json");
    std::fs::write(&path, doc.to_string()).expect("openapi");
    path.display().to_string()
}

/// Runs modelci, sends SIGINT once the first request reached the provider (so cases are
/// running), and returns the exit code, the seconds it took, stderr and the JSON report.
fn interrupted(
    args: &[&str],
    json: &Path,
    first: &mpsc::Receiver<()>,
) -> (i32, f64, String, Value) {
    let started = Instant::now();
    let mut child = modelci(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn modelci");
    if first.recv_timeout(Duration::from_secs(60)).is_err() {
        let _ = child.kill();
        panic!("modelci never reached the provider");
    }
    let pid = i32::try_from(child.id()).expect("pid");
    // SAFETY: sends a signal to the child this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let out = child.wait_with_output().expect("wait");
    let elapsed = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report: Value = serde_json::from_str(&std::fs::read_to_string(json).unwrap_or_default())
        .unwrap_or_else(|e| panic!("no JSON report after SIGINT ({e}); stderr:\n{stderr}"));
    (out.status.code().unwrap_or(-1), elapsed, stderr, report)
}

fn assert_stopped(code: i32, elapsed: f64, stderr: &str, report: &Value) {
    assert_eq!(code, 2, "an interrupted run exits 2; stderr:\n{stderr}");
    assert_eq!(report["interrupted"], true, "{report:#}");
    let skipped = report["summary"]["skipped"].as_u64().unwrap_or(0);
    assert!(
        skipped >= (REQUESTS / 2) as u64,
        "cases not started are reported as skipped: {report:#}"
    );
    let skipped_case = report["suites"][0]["cases"]
        .as_array()
        .and_then(|cases| cases.iter().find(|c| c["outcome"] == "skipped"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        skipped_case["message"], "not run: the run was interrupted",
        "{skipped_case:#}"
    );
    // A bound only a run that ignored the signal breaks (it would take 18 s).
    assert!(elapsed < 12.0, "took {elapsed:.1} s after SIGINT");
}

/// `modelci check` on the one suite that `table` declares (given the slow provider's URL and
/// a scratch folder), interrupted once its first request reached the provider.
fn check_interrupted(table: impl Fn(&str, &Path) -> String) -> (i32, f64, String, Value) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("modelci.toml");
    let (provider, first) = slow_provider();
    std::fs::write(&config, table(&provider, dir.path())).expect("config");
    let json = dir.path().join("r.json");
    interrupted(
        &[
            "check",
            "--config",
            config.to_str().expect("utf8"),
            "--json",
            json.to_str().expect("utf8"),
        ],
        &json,
        &first,
    )
}

#[test]
fn ctrl_c_stops_a_single_pact_suite_in_check() {
    let (code, elapsed, stderr, report) = check_interrupted(|provider, dir| {
        format!(
            "[[suite.pact]]\nname = \"slow\"\npacts = [\"{}\"]\nprovider_url = \"{provider}\"\nconcurrency = 1\n",
            pact(dir)
        )
    });
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_stopped(code, elapsed, &stderr, &report);
}

#[test]
fn ctrl_c_stops_a_single_openapi_suite_in_check() {
    let (code, elapsed, stderr, report) = check_interrupted(|provider, dir| {
        format!(
            "[[suite.openapi]]\nname = \"slow\"\nopenapi = \"{}\"\nbase_url = \"{provider}\"\nmax_cases = 1\nconcurrency = 1\n",
            openapi(dir)
        )
    });
    assert_stopped(code, elapsed, &stderr, &report);
}

#[test]
fn ctrl_c_in_contract_verify_still_writes_the_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("r.json");
    let pact = pact(dir.path());
    let (provider, first) = slow_provider();
    let (code, elapsed, stderr, report) = interrupted(
        &[
            "contract",
            "verify",
            "--pact",
            &pact,
            "--provider-url",
            &provider,
            "--concurrency",
            "1",
            "--json",
            json.to_str().expect("utf8"),
        ],
        &json,
        &first,
    );
    assert_stopped(code, elapsed, &stderr, &report);
}

#[test]
fn ctrl_c_in_contract_test_still_writes_the_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("r.json");
    let doc = openapi(dir.path());
    let (provider, first) = slow_provider();
    let (code, elapsed, stderr, report) = interrupted(
        &[
            "contract",
            "test",
            "--openapi",
            &doc,
            "--base-url",
            &provider,
            "--max-cases",
            "1",
            "--concurrency",
            "1",
            "--json",
            json.to_str().expect("utf8"),
        ],
        &json,
        &first,
    );
    assert_stopped(code, elapsed, &stderr, &report);
}

/// SIGINT at several moments of a run (as the first request arrives, while requests are in
/// flight, between them): every time modelci exits 2 with a complete, valid report in which
/// every case is either finished or skipped as interrupted, and the report's counts add up.
#[test]
fn ctrl_c_at_any_moment_leaves_a_complete_report() {
    for delay_ms in [0u64, 200, 900, 1700, 2600] {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("modelci.toml");
        let (provider, first) = slow_provider();
        std::fs::write(
            &config,
            format!(
                "[[suite.pact]]\nname = \"slow\"\npacts = [\"{}\"]\nprovider_url = \"{provider}\"\nconcurrency = 2\n",
                pact(dir.path())
            ),
        )
        .expect("config");
        let json = dir.path().join("r.json");
        let junit = dir.path().join("r.xml");
        let mut child = modelci(&[
            "check",
            "--config",
            config.to_str().expect("utf8"),
            "--json",
            json.to_str().expect("utf8"),
            "--junit",
            junit.to_str().expect("utf8"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
        first
            .recv_timeout(Duration::from_secs(60))
            .expect("modelci reached the provider");
        std::thread::sleep(Duration::from_millis(delay_ms));
        let pid = i32::try_from(child.id()).expect("pid");
        // SAFETY: sends a signal to the child this test started.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
        let status = child.wait().expect("wait");
        assert_eq!(status.code(), Some(2), "after {delay_ms} ms");
        let report: Value =
            serde_json::from_str(&std::fs::read_to_string(&json).expect("json report"))
                .expect("a whole JSON report");
        assert_eq!(report["interrupted"], true);
        let cases = report["suites"][0]["cases"].as_array().expect("cases");
        assert_eq!(
            cases.len(),
            REQUESTS,
            "every case is in the report ({delay_ms} ms)"
        );
        for c in cases {
            assert!(
                c["outcome"] == "passed"
                    || (c["outcome"] == "skipped"
                        && c["message"] == "not run: the run was interrupted"),
                "{c:#}"
            );
        }
        let s = &report["summary"];
        assert_eq!(
            s["passed"].as_u64().unwrap_or(0) + s["skipped"].as_u64().unwrap_or(0),
            REQUESTS as u64
        );
        crate::validate_junit(&junit);
    }
}

/// `model test` on a slow live endpoint (64 row cases, one request each, 0.5 s per answer, 8 s
/// in all): SIGINT stops it between batches, the rest is skipped, the report is written, exit 2.
#[test]
fn ctrl_c_in_model_test_still_writes_the_report() {
    let Some(server) = crate::endpoint::start(&["mlp=fixtures/models/mlp.onnx"], "slow:0.5") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("r.json");
    let started = Instant::now();
    let child = modelci(&[
        "model",
        "test",
        "--endpoint",
        &server.url,
        "--model-name",
        "mlp",
        "--cases",
        "fixtures/golden/mlp_rows.npz",
        "--per-row",
        "--max-batch",
        "1",
        "--json",
        json.to_str().expect("utf8"),
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .expect("spawn modelci");
    // Past connecting (metadata answers at once), into the slow inferences.
    std::thread::sleep(Duration::from_millis(1500));
    let pid = i32::try_from(child.id()).expect("pid");
    // SAFETY: sends a signal to the child this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let out = child.wait_with_output().expect("wait");
    let elapsed = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("report")).expect("json");
    assert_eq!(report["interrupted"], true, "{report:#}");
    let skipped = report["summary"]["skipped"].as_u64().unwrap_or(0);
    assert!(skipped >= 16, "cases not started are skipped: {report:#}");
    assert_eq!(
        report["summary"]["total"], 64,
        "every case is in the report"
    );
    // A bound only a run that ignored the signal breaks (it would take 8 s more).
    assert!(elapsed < 7.5, "took {elapsed:.1} s after SIGINT");
}
