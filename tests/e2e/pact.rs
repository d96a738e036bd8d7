//! `modelci contract verify` and `modelci contract mock` against real HTTP servers on loopback.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::{modelci, provider, root, run, validate_junit};

fn report(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("report")).expect("json")
}

fn case<'a>(report: &'a Value, name_part: &str) -> &'a Value {
    report["suites"]
        .as_array()
        .expect("suites")
        .iter()
        .flat_map(|s| s["cases"].as_array().expect("cases"))
        .find(|c| c["name"].as_str().is_some_and(|n| n.contains(name_part)))
        .unwrap_or_else(|| panic!("no case named like {name_part:?} in {report:#}"))
}

#[test]
fn verifies_a_provider_with_states_and_reports_every_interaction() {
    let p = provider::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let junit = dir.path().join("junit.xml");
    let json = dir.path().join("report.json");
    let state_url = format!("{}/_pact/state", p.url);
    let (code, out, err) = run(&mut modelci(&[
        "contract",
        "verify",
        "--pact",
        "fixtures/pacts/web-app-model-service.json",
        "--provider-url",
        &p.url,
        "--state-change-url",
        &state_url,
        "--state-change-teardown",
        "--junit",
        junit.to_str().expect("utf8"),
        "--json",
        json.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 0, "{out}\n{err}");
    validate_junit(&junit);
    let r = report(&json);
    assert_eq!(r["summary"]["passed"], 4, "{r:#}");
    let xml = std::fs::read_to_string(&junit).expect("junit");
    assert!(
        xml.contains(r#"file="fixtures/pacts/web-app-model-service.json" line="5""#),
        "{xml}"
    );
    let seen = p.seen.lock().expect("lock");
    assert_eq!(
        seen.states,
        [
            "model version exists/setup",
            "model version exists/teardown"
        ]
    );
}

#[test]
fn mismatches_errors_timeouts_and_pending_interactions() {
    let p = provider::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("report.json");
    let state_url = format!("{}/_pact/state", p.url);
    let (code, out, err) = run(&mut modelci(&[
        "contract",
        "verify",
        "--pact",
        "tests/e2e/pacts/dashboard-model-service.json",
        "--provider-url",
        &p.url,
        "--state-change-url",
        &state_url,
        "--timeout",
        "1",
        "--json",
        json.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 2, "errored cases make it exit 2\n{out}\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    let r = report(&json);

    let labels = case(&r, "metadata with labels");
    assert_eq!(labels["outcome"], "failed");
    let detail = labels["detail"].as_str().expect("detail");
    assert!(
        detail.contains("body $.labels: expected key \"labels\" but it is missing"),
        "{detail}"
    );
    assert!(
        detail.contains("body $.platform [regex /^tensorrt_.*$/]"),
        "{detail}"
    );
    assert!(
        labels["expected"]
            .as_str()
            .expect("expected")
            .contains("\"labels\"")
    );
    assert!(
        labels["actual"]
            .as_str()
            .expect("actual")
            .contains("\"versions\"")
    );

    let status = case(&r, "unknown model is a 200");
    assert_eq!(status["outcome"], "failed");
    assert_eq!(
        status["message"],
        "status: expected status 200 but received 404"
    );

    let state = case(&r, "a state whose setup fails");
    assert_eq!(state["outcome"], "errored");
    assert!(
        state["message"]
            .as_str()
            .expect("m")
            .contains("provider state `the state that breaks` setup failed"),
        "{state:#}"
    );
    assert!(
        state["message"].as_str().expect("m").contains("HTTP 500"),
        "{state:#}"
    );

    let slow = case(&r, "a slow endpoint");
    assert_eq!(slow["outcome"], "errored");
    assert!(
        slow["message"]
            .as_str()
            .expect("m")
            .ends_with("/slow: timed out after 1 s"),
        "{slow:#}"
    );

    assert_eq!(case(&r, "a binary body")["outcome"], "failed");
    assert_eq!(case(&r, "a 10 MB body")["outcome"], "failed");

    let pending = case(&r, "pending expectation");
    assert_eq!(pending["outcome"], "skipped");
    assert!(
        pending["message"]
            .as_str()
            .expect("m")
            .starts_with("pending interaction failed (not counted against the run): status")
    );

    // Without the errored interactions, the mismatches alone give exit 1.
    let (code, out, _) = run(&mut modelci(&[
        "contract",
        "verify",
        "--pact",
        "tests/e2e/pacts/dashboard-model-service.json",
        "--provider-url",
        &p.url,
        "--filter-description",
        "labels|unknown|pending",
    ]));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("1 skipped"), "{out}");
}

#[test]
fn an_unreachable_provider_and_a_bad_pact_file_are_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\n  \"interactions\": [\n    {\"description\": }\n").expect("w");
    // A port nobody listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let json = dir.path().join("r.json");
    let (code, out, err) = run(&mut modelci(&[
        "contract",
        "verify",
        "--pact",
        "fixtures/pacts/web-app-model-service.json",
        "--pact",
        bad.to_str().expect("utf8"),
        "--provider-url",
        &url,
        "--json",
        json.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 2, "{out}\n{err}");
    let r = report(&json);
    let unreachable = case(&r, "classifier's metadata");
    assert_eq!(unreachable["outcome"], "errored");
    assert!(
        unreachable["message"]
            .as_str()
            .expect("m")
            .contains("connection failed"),
        "{unreachable:#}"
    );
    let bad_case = case(&r, "bad.json");
    assert_eq!(bad_case["outcome"], "errored");
    assert_eq!(bad_case["location"]["line"], 3);
    assert!(
        bad_case["message"]
            .as_str()
            .expect("m")
            .contains("invalid pact file"),
        "{bad_case:#}"
    );
}

#[test]
fn secret_headers_reach_the_provider_but_never_the_reports() {
    let p = provider::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("r.json");
    let (code, out, err) = run(&mut modelci(&[
        "contract",
        "verify",
        "--pact",
        "fixtures/pacts/web-app-model-service.json",
        "--provider-url",
        &p.url,
        "--filter-description",
        "metadata",
        "--header",
        "Authorization: Bearer s3cr3t-t0ken",
        "--json",
        json.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(p.seen.lock().expect("lock").auth, ["Bearer s3cr3t-t0ken"]);
    let text = std::fs::read_to_string(&json).expect("r");
    assert!(!text.contains("s3cr3t") && !out.contains("s3cr3t") && !err.contains("s3cr3t"));
    let (code, _, err) = run(&mut modelci(&[
        "contract",
        "verify",
        "--pact",
        "x.json",
        "--provider-url",
        &p.url,
        "--header",
        "no-colon-s3cr3t",
    ]));
    assert_eq!(code, 2);
    assert!(!err.contains("s3cr3t"), "{err}");
}

/// Starts `modelci contract mock` on a free port; returns the process and its `host:port`, read
/// from the first line it prints.
fn spawn_mock(pact: &str) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_modelci"))
        .args(["contract", "mock", "--pact", pact, "--port", "0"])
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("first line");
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("first line: {line:?}"))
        .to_owned();
    (child, addr)
}

/// Sends one HTTP/1.1 request and returns (status, body).
fn http(addr: &str, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let body = body.unwrap_or("");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read");
    let status = raw[9..12].parse().expect("status");
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn the_stub_server_serves_interactions_and_explains_misses() {
    let (mut child, addr) = spawn_mock("fixtures/pacts/web-app-model-service.json");
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");

    let (status, body) = http(&addr, "GET", "/v2/models/classifier", None);
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["name"], "classifier");

    let (status, body) = http(
        &addr,
        "POST",
        "/v2/models/classifier/infer",
        Some(
            r#"{"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 4], "data": [1.0, 2.0, 3.0, 4.0]}]}"#,
        ),
    );
    assert_eq!(status, 500, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["closest"], "an inference request");
    assert!(
        v["mismatches"][0]["path"]
            .as_str()
            .expect("path")
            .starts_with("$.inputs[0].data[0]"),
        "{v:#}"
    );

    // The provider verifies against the stub server that serves its own pact.
    let (code, out, err) = run(&mut modelci(&[
        "contract",
        "verify",
        "--pact",
        "fixtures/pacts/web-app-model-service.json",
        "--provider-url",
        &format!("http://{addr}"),
        "--filter-description",
        "metadata|inference|does not exist",
    ]));
    assert_eq!(code, 0, "{out}\n{err}");

    let pid = child.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0), "SIGTERM stops it cleanly");
}

#[test]
fn provider_state_generators_and_message_pacts() {
    let p = provider::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("r.json");
    let state_url = format!("{}/_pact/state", p.url);
    let (code, out, err) = run(&mut modelci(&[
        "contract",
        "verify",
        "--pact",
        "tests/e2e/pacts/generators-and-messages.json",
        "--pact",
        "tests/e2e/pacts/scoring-events.json",
        "--provider-url",
        &p.url,
        "--state-change-url",
        &state_url,
        "--filter-description",
        "version picked|prediction event|drift alert",
        "--json",
        json.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 1, "{out}\n{err}");
    let r = report(&json);
    // The path came from the provider state's `version` parameter, not the example's `1`.
    assert_eq!(case(&r, "version picked")["outcome"], "passed", "{r:#}");
    assert_eq!(case(&r, "prediction event")["outcome"], "passed", "{r:#}");
    let alert = case(&r, "drift alert");
    assert_eq!(alert["outcome"], "failed");
    assert!(
        alert["message"]
            .as_str()
            .expect("m")
            .starts_with("metadata topic: expected \"alerts\" but received \"metrics\""),
        "{alert:#}"
    );
}

#[test]
fn the_stub_server_applies_response_generators() {
    let (mut child, addr) = spawn_mock("tests/e2e/pacts/generators-and-messages.json");
    let (status, body) = http(&addr, "GET", "/jobs/1", None);
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).expect("json");
    let id = v["id"].as_i64().expect("id");
    assert!((100..=200).contains(&id), "generated id {id}");
    assert_eq!(v["state"], "done");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn mismatch_report_snapshot() {
    let p = provider::start();
    let (code, out, _) = run(&mut modelci(&[
        "contract",
        "verify",
        "--pact",
        "tests/e2e/pacts/dashboard-model-service.json",
        "--provider-url",
        &p.url,
        "--filter-description",
        "labels|unknown",
    ]));
    assert_eq!(code, 1);
    let out = crate::stable(&out.replace(&p.url, "[PROVIDER]"));
    insta::assert_snapshot!("pact_mismatch_report", out);
}

#[test]
fn pact_suites_in_check_shard_and_read_secrets_from_the_environment() {
    let p = provider::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("modelci.toml");
    let pact = crate::root().join("fixtures/pacts/web-app-model-service.json");
    std::fs::write(
        &config,
        format!(
            "[[suite.pact]]\nname = \"web\"\npacts = [{pact:?}]\nprovider_url = \"{}\"\nstate_change_url = \"{}/_pact/state\"\nsecret_headers = {{ Authorization = \"MODELCI_E2E_PROVIDER_AUTH\" }}\n",
            p.url, p.url
        ),
    )
    .expect("w");
    let cfg = config.to_str().expect("utf8");
    // Without the variable: one errored case at the line that names it, nothing sent.
    let (code, out, _) =
        run(modelci(&["check", "--config", cfg]).env_remove("MODELCI_E2E_PROVIDER_AUTH"));
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("secret header `Authorization`: environment variable `MODELCI_E2E_PROVIDER_AUTH` is not set"), "{out}");
    assert!(out.contains("modelci.toml:6"), "{out}");
    // With it: two shards verify disjoint halves, and the header reaches the provider.
    let mut total = 0;
    for shard in ["1/2", "2/2"] {
        let json = dir.path().join(format!("{}.json", shard.replace('/', "-")));
        let (code, out, err) = run(modelci(&[
            "check",
            "--config",
            cfg,
            "--shard",
            shard,
            "--json",
            json.to_str().expect("utf8"),
        ])
        .env("MODELCI_E2E_PROVIDER_AUTH", "Bearer e2e-secret"));
        assert_eq!(code, 0, "{out}\n{err}");
        assert!(!out.contains("e2e-secret"), "{out}");
        total += report(&json)["summary"]["total"].as_u64().expect("total");
    }
    assert_eq!(
        total, 4,
        "every interaction verified exactly once across the shards"
    );
    assert!(
        p.seen
            .lock()
            .expect("lock")
            .auth
            .iter()
            .all(|a| a == "Bearer e2e-secret")
    );
}

/// A JSON file that is not a pact (here a Pact Broker's HAL index) is an error naming the file,
/// not an empty pact that passes; a pact with no interactions checks nothing, which never
/// passes either.
#[test]
fn a_json_file_that_is_not_a_pact_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let index = dir.path().join("index.json");
    std::fs::write(
        &index,
        r#"{"_links": {"pb:latest-pact-versions": {"href": "/pacts/latest"}}}"#,
    )
    .expect("write");
    let empty = dir.path().join("empty.json");
    std::fs::write(
        &empty,
        r#"{"consumer": {"name": "a"}, "provider": {"name": "b"}, "interactions": []}"#,
    )
    .expect("write");
    for pact in [&index, &empty] {
        let (code, out, err) = run(&mut modelci(&[
            "contract",
            "verify",
            "--pact",
            pact.to_str().expect("utf8"),
            "--provider-url",
            "http://127.0.0.1:9",
        ]));
        assert_eq!(code, 2, "{}: {out}\n{err}", pact.display());
    }
    let config = dir.path().join("modelci.toml");
    std::fs::write(
        &config,
        format!(
            "[[suite.pact]]\nname = \"broker\"\npacts = [\"{}\"]\nprovider_url = \"http://127.0.0.1:9\"\n",
            index.display()
        ),
    )
    .expect("config");
    let (code, out, err) = run(&mut modelci(&[
        "check",
        "--config",
        config.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        out.contains("not a pact file: it has no `interactions` or `messages`"),
        "{out}"
    );
}

#[test]
fn nothing_to_verify_is_exit_2_unless_allowed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("empty.json");
    std::fs::write(
        &empty,
        r#"{"consumer": {"name": "web"}, "provider": {"name": "api"}, "interactions": [],
            "metadata": {"pactSpecification": {"version": "2.0.0"}}}"#,
    )
    .expect("write");
    let pacts = root().join("examples/quickstart/pacts");
    let json = dir.path().join("r.json");
    // An empty pact, and filters that select none of a real pact's interactions: exit 2, with
    // the way out in the message. No provider is needed to find that out.
    for args in [
        vec!["--pact", empty.to_str().expect("utf8")],
        vec![
            "--pact",
            pacts.to_str().expect("utf8"),
            "--filter-description",
            "^no such interaction$",
        ],
    ] {
        let mut all = vec![
            "contract",
            "verify",
            "--provider-url",
            "http://127.0.0.1:9",
            "--json",
            json.to_str().expect("utf8"),
        ];
        all.extend(args.iter().copied());
        let (code, out, err) = run(&mut modelci(&all));
        assert_eq!(code, 2, "{out}\n{err}");
        assert!(out.contains("--allow-empty"), "{out}");
        let r = report(&json);
        assert_eq!(r["suites"][0]["cases"][0]["outcome"], "errored", "{r}");

        // Allowed: passes, with one skipped case that says why.
        all.push("--allow-empty");
        let (code, out, err) = run(&mut modelci(&all));
        assert_eq!(code, 0, "{out}\n{err}");
        let r = report(&json);
        let case = &r["suites"][0]["cases"][0];
        assert_eq!(case["outcome"], "skipped", "{r}");
        assert!(
            case["message"]
                .as_str()
                .is_some_and(|m| m.contains("`allow_empty` is set")),
            "{r}"
        );
    }

    // The same in `modelci.toml`.
    let config = dir.path().join("modelci.toml");
    let toml = format!(
        "[[suite.pact]]\nname = \"api\"\npacts = [{:?}]\nprovider_url = \"http://127.0.0.1:9\"\n",
        empty.to_str().expect("utf8")
    );
    std::fs::write(&config, &toml).expect("write");
    let check = |config: &std::path::Path| {
        run(&mut modelci(&[
            "check",
            "--config",
            config.to_str().expect("utf8"),
        ]))
    };
    let (code, out, err) = check(&config);
    assert_eq!(code, 2, "{out}\n{err}");
    std::fs::write(&config, format!("{toml}allow_empty = true\n")).expect("write");
    let (code, out, err) = check(&config);
    assert_eq!(code, 0, "{out}\n{err}");
}
