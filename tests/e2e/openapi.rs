//! `modelci contract test` and `modelci contract validate` against a real service on loopback.

use serde_json::Value;

use crate::{QuickstartProvider, modelci, run, validate_junit};

const SPEC: &str = "fixtures/openapi/model-service.openapi.yaml";

fn report(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("report")).expect("json")
}

#[test]
fn live_conformance_passes_against_the_example_provider() {
    let p = QuickstartProvider::start_private();
    let dir = tempfile::tempdir().expect("tempdir");
    let junit = dir.path().join("j.xml");
    let (code, out, err) = run(&mut modelci(&[
        "contract",
        "test",
        "--openapi",
        SPEC,
        "--base-url",
        &p.url,
        "--seed",
        "7",
        "--junit",
        junit.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("23 passed"), "{out}");
    validate_junit(&junit);
    let xml = std::fs::read_to_string(&junit).expect("junit");
    assert!(
        xml.contains("POST /v2/models/classifier/infer › rejects invalid requests"),
        "{xml}"
    );
}

#[test]
fn violations_carry_a_curl_command_and_the_seed_and_repeat_with_the_seed() {
    let p = QuickstartProvider::start_private();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut details = Vec::new();
    for attempt in 0..2 {
        let json = dir.path().join(format!("r{attempt}.json"));
        let (code, out, err) = run(&mut modelci(&[
            "contract",
            "test",
            "--openapi",
            "tests/e2e/openapi/strict.yaml",
            "--base-url",
            &p.url,
            "--seed",
            "42",
            "--max-cases",
            "4",
            "--json",
            json.to_str().expect("utf8"),
        ]));
        assert_eq!(code, 1, "{out}\n{err}");
        let r = report(&json);
        let cases = r["suites"][0]["cases"].as_array().expect("cases").clone();
        let body = cases
            .iter()
            .find(|c| c["name"] == "GET /v2/models/{name} › body matches schema")
            .expect("case");
        assert_eq!(body["outcome"], "failed");
        assert!(
            body["message"]
                .as_str()
                .expect("m")
                .contains("\"labels\" is a required property"),
            "{body:#}"
        );
        let detail = body["detail"].as_str().expect("detail");
        assert!(
            detail.contains(&format!("reproduce: curl -sS -X GET '{}/v2/models/", p.url)),
            "{detail}"
        );
        assert!(detail.contains("seed: 42"), "{detail}");
        let status = cases
            .iter()
            .find(|c| c["name"] == "GET /v2/models/{name} › status code documented")
            .expect("case");
        assert_eq!(
            status["outcome"], "failed",
            "404 is not documented in the strict contract"
        );
        details.push(
            cases
                .iter()
                .map(|c| c["detail"].clone())
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(
        details[0], details[1],
        "the same seed sends the same requests"
    );
}

#[test]
fn unreachable_service_and_broken_documents_exit_2() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("a")
        .port();
    let (code, out, _) = run(&mut modelci(&[
        "contract",
        "test",
        "--openapi",
        SPEC,
        "--base-url",
        &format!("http://127.0.0.1:{port}"),
    ]));
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("connection failed: Connection refused")
            && out.contains("(is the service running?)"),
        "{out}"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "openapi: 3.0.3\npaths:\n  /a: [\n").expect("w");
    let (code, _, err) = run(&mut modelci(&[
        "contract",
        "test",
        "--openapi",
        bad.to_str().expect("utf8"),
        "--base-url",
        "http://127.0.0.1:1",
    ]));
    assert_eq!(code, 2);
    assert!(
        err.contains("bad.yaml:") && err.contains("not valid YAML"),
        "{err}"
    );
    let dangling = dir.path().join("dangling.yaml");
    std::fs::write(
        &dangling,
        "openapi: 3.0.3\npaths:\n  /a:\n    get:\n      responses:\n        '200': {$ref: '#/components/responses/Nope'}\n",
    )
    .expect("w");
    let (code, _, err) = run(&mut modelci(&[
        "contract",
        "validate",
        "--openapi",
        dangling.to_str().expect("utf8"),
        "--recorded",
        "tests/e2e/openapi/traffic.jsonl",
    ]));
    assert_eq!(code, 2);
    assert!(
        err.contains("unresolvable $ref `#/components/responses/Nope`"),
        "{err}"
    );
}

#[test]
fn recorded_traffic_is_validated_without_a_service() {
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("r.json");
    let (code, out, err) = run(&mut modelci(&[
        "contract",
        "validate",
        "--openapi",
        SPEC,
        "--recorded",
        "tests/e2e/openapi/traffic.jsonl",
        "--json",
        json.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 1, "{out}\n{err}");
    let r = report(&json);
    let cases = r["suites"][0]["cases"].as_array().expect("cases");
    let outcomes: Vec<&str> = cases
        .iter()
        .map(|c| c["outcome"].as_str().expect("o"))
        .collect();
    assert_eq!(outcomes, ["passed", "failed", "passed"]);
    assert_eq!(cases[1]["location"]["line"], 2);
    assert!(
        cases[1]["message"]
            .as_str()
            .expect("m")
            .contains("/outputs/0/data/1: 1.7 is greater than the maximum of 1"),
        "{:#}",
        cases[1]
    );
}

#[test]
fn remote_refs_are_fetched_only_when_allowed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(
        d.join("label.json"),
        r#"{"type": "string", "enum": ["cat", "dog"]}"#,
    )
    .expect("w");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("a")
        .port();
    let mut server = std::process::Command::new("python3")
        .args([
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            &port.to_string(),
        ])
        .current_dir(d)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("python3 http.server");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let spec = d.join("api.yaml");
    std::fs::write(
        &spec,
        format!(
            "openapi: 3.1.0\npaths:\n  /predict:\n    get:\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema:\n                type: object\n                properties:\n                  label: {{$ref: 'http://127.0.0.1:{port}/label.json'}}\n"
        ),
    )
    .expect("w");
    let traffic = d.join("t.jsonl");
    std::fs::write(
        &traffic,
        "{\"method\": \"GET\", \"path\": \"/predict\", \"status\": 200, \"body\": {\"label\": \"cat\"}}\n{\"method\": \"GET\", \"path\": \"/predict\", \"status\": 200, \"body\": {\"label\": \"cow\"}}\n",
    )
    .expect("w");
    let args = |allow: bool| {
        let mut a = vec![
            "contract".to_owned(),
            "validate".to_owned(),
            "--openapi".to_owned(),
            spec.to_string_lossy().into_owned(),
            "--recorded".to_owned(),
            traffic.to_string_lossy().into_owned(),
        ];
        if allow {
            a.push("--allow-remote-refs".to_owned());
        }
        a
    };
    let refuse: Vec<String> = args(false);
    let (code, _, err) = run(&mut modelci(
        &refuse.iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    assert_eq!(code, 2);
    assert!(
        err.contains("is not fetched without --allow-remote-refs"),
        "{err}"
    );
    let allow: Vec<String> = args(true);
    let (code, out, err) = run(&mut modelci(
        &allow.iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("1 passed, 1 failed"), "{out}");
    assert!(out.contains("\"cow\" is not one of"), "{out}");
}
