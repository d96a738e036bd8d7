//! `[[suite.resilience]]` against the reference model service as a gateway in front of a
//! second instance of it (its model server), with modelci's fault proxy between the two: every
//! oracle passes against the real service, and each broken variant (`--broken KIND`, options
//! of the reference service used only by tests) fails the oracle of the pattern it disables,
//! with a message that says what went wrong.

use serde_json::Value;

use crate::{modelci, root, run, runtime_available, service_bin};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// One request kind per line: model `a`, model `b`, and a non-idempotent call to `a`.
fn requests(dir: &std::path::Path) -> std::path::PathBuf {
    let row = |v: f64| (0..20).map(|i| v + f64::from(i) * 0.1).collect::<Vec<_>>();
    let body = |v: f64, params: Option<Value>| {
        let mut b = serde_json::json!({"inputs": [{"name": "input", "shape": [1, 20], "datatype": "FP32", "data": row(v)}]});
        if let Some(p) = params {
            b["parameters"] = p;
        }
        b
    };
    let lines = [
        serde_json::json!({"name": "a", "method": "POST", "path": "/v2/models/a/infer", "body": body(0.5, None), "weight": 4}),
        serde_json::json!({"name": "a-once", "method": "POST", "path": "/v2/models/a/infer", "body": body(0.2, Some(serde_json::json!({"idempotent": false}))), "weight": 1}),
        serde_json::json!({"name": "b", "method": "POST", "path": "/v2/models/b/infer", "body": body(0.7, None), "weight": 3}),
    ];
    let path = dir.join("requests.jsonl");
    let text: Vec<String> = lines.iter().map(Value::to_string).collect();
    std::fs::write(&path, text.join("\n") + "\n").expect("write requests");
    path
}

const HANG: &str = r#"
[[suite.resilience.scenario]]
name = "model-server-hangs"
before = "1.5s"
during = "2s"
after = "2.5s"
fault = { proxy = "model-server", toxic = "timeout", attributes = { timeout = 0 }, path_prefix = "/v2/models/a" }
timeout = { deadline = "300ms", margin = "250ms" }
recovery = { within = "1.5s" }
"#;

const ERRORS: &str = r#"
[[suite.resilience.scenario]]
name = "model-server-fails"
before = "1.5s"
during = "2.5s"
after = "2.5s"
fault = { proxy = "model-server", toxic = "http_error", attributes = { status = 503 }, path_prefix = "/v2/models/a" }
retries = { max_attempts = 3, non_idempotent = ["a-once"] }
circuit_breaker = { kinds = ["a", "a-once"], threshold = 5, cooldown = "1s", fail_fast = "150ms", close_within = "2s" }
fallback = { kinds = ["a", "a-once"], min_share = 0.9, openapi = "OPENAPI" }
recovery = { within = "1.5s" }
"#;

const OVERLOAD: &str = r#"
[[suite.resilience.scenario]]
name = "model-a-overloaded"
before = "1.5s"
during = "2s"
after = "1s"
rate = 40
fault = { proxy = "model-server", toxic = "latency", attributes = { latency = 250 }, path_prefix = "/v2/models/a" }
bulkhead = { protected = ["b"], p95 = "150ms", error_rate = 0.01 }
"#;

const GPU: &str = r#"
[[suite.resilience.scenario]]
name = "gpu-out-of-memory"
before = "1s"
during = "2.5s"
after = "2.5s"
fault = { post = "GATEWAY/faults", body = '{"model": "a", "gpu_oom": true}', delete = "GATEWAY/faults" }
fallback = { kinds = ["a", "a-once"], min_share = 0.9 }
recovery = { within = "1.5s" }
"#;

const KILL: &str = r#"
[[suite.resilience.scenario]]
name = "model-server-killed"
before = "1s"
during = "2.5s"
after = "4s"
fault = { process = "model-server", action = "kill" }
fallback = { min_share = 0.8 }
recovery = { within = "3s" }
"#;

/// Runs the suite with the gateway started with `broken` and these scenarios; the JSON
/// report and the exit code.
fn check(broken: &[&str], scenarios: &[&str]) -> (i32, Value, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (upstream, proxy, gateway) = (free_port(), free_port(), free_port());
    let bin = service_bin();
    let bin = bin.to_str().expect("utf8");
    let models = root().join("fixtures/models");
    let mlp = models.join("mlp.onnx");
    let small = models.join("mlp_fallback.onnx");
    let (mlp, small) = (mlp.to_str().expect("utf8"), small.to_str().expect("utf8"));
    let broken: String = broken
        .iter()
        .map(|b| format!(" \"--broken\", \"{b}\","))
        .collect();
    let openapi = root().join("contracts/service/openapi.yaml");
    let config = format!(
        r#"
[[suite.resilience]]
name = "gateway"
url = "http://127.0.0.1:{gateway}"
requests = "{requests}"
rate = 20
timeout_secs = 10

[[suite.resilience.proxy]]
name = "model-server"
listen = "127.0.0.1:{proxy}"
upstream = "127.0.0.1:{upstream}"

[[suite.resilience.process]]
name = "model-server"
command = ["{bin}", "--port", "{upstream}", "--model", "a={mlp}", "--model", "b={mlp}", "--sessions", "2"]
ready_url = "http://127.0.0.1:{upstream}/v2/health/ready"

[[suite.resilience.process]]
name = "gateway"
command = ["{bin}", "--port", "{gateway}", "--model", "a=http://127.0.0.1:{proxy},fallback={small}", "--model", "b=http://127.0.0.1:{proxy},fallback={small}", "--deadline-ms", "300", "--max-concurrency", "2", "--max-queue", "2", "--retries", "2", "--retry-backoff-ms", "25", "--breaker-failures", "5", "--breaker-cooldown-ms", "1000", "--enable-faults",{broken}]
ready_url = "http://127.0.0.1:{gateway}/v2/health/ready"
{scenarios}
"#,
        requests = requests(dir.path()).display(),
        scenarios = scenarios
            .join("\n")
            .replace("OPENAPI", openapi.to_str().expect("utf8"))
            .replace("GATEWAY", &format!("http://127.0.0.1:{gateway}")),
    );
    let path = dir.path().join("modelci.toml");
    std::fs::write(&path, config).expect("write config");
    let json = dir.path().join("report.json");
    let (code, out, err) = run(&mut modelci(&[
        "check",
        "--config",
        path.to_str().expect("utf8"),
        "--json",
        json.to_str().expect("utf8"),
    ]));
    let report = std::fs::read_to_string(&json)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    (code, report, format!("{out}\n{err}"))
}

/// (name, outcome, message) of every case.
fn cases(report: &Value) -> Vec<(String, String, String)> {
    report["suites"][0]["cases"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    (
                        c["name"].as_str().unwrap_or_default().to_owned(),
                        c["outcome"].as_str().unwrap_or_default().to_owned(),
                        c["message"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn case<'a>(
    all: &'a [(String, String, String)],
    name: &str,
    shown: &str,
) -> &'a (String, String, String) {
    all.iter()
        .find(|c| c.0 == name)
        .unwrap_or_else(|| panic!("no case `{name}`:\n{shown}"))
}

#[test]
fn every_oracle_passes_against_the_reference_service() {
    if !runtime_available() {
        return;
    }
    let (code, report, shown) = check(&[], &[HANG, ERRORS, OVERLOAD, GPU, KILL]);
    let all = cases(&report);
    let names: Vec<&str> = all.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "model-server-hangs: timeout",
            "model-server-hangs: recovery",
            "model-server-fails: retries",
            "model-server-fails: circuit_breaker",
            "model-server-fails: fallback",
            "model-server-fails: recovery",
            "model-a-overloaded: bulkhead",
            "gpu-out-of-memory: fallback",
            "gpu-out-of-memory: recovery",
            "model-server-killed: fallback",
            "model-server-killed: recovery",
        ],
        "{shown}\n{all:#?}"
    );
    for c in &all {
        assert_eq!(c.1, "passed", "{c:?}\n{shown}");
    }
    assert_eq!(code, 0, "{shown}");
    let retries = case(&all, "model-server-fails: retries", &shown);
    assert!(retries.2.contains("requests were retried"), "{retries:?}");
}

/// Each broken variant fails the oracle of the pattern it disables, saying why.
#[test]
fn each_oracle_fails_against_the_variant_that_breaks_its_pattern() {
    if !runtime_available() {
        return;
    }
    let expect = |broken: &str, scenario: &str, name: &str, words: &str| {
        let (code, report, shown) = check(&[broken], &[scenario]);
        let all = cases(&report);
        let c = case(&all, name, &shown);
        assert_eq!(c.1, "failed", "--broken {broken}: {c:?}\n{shown}");
        assert!(
            c.2.contains(words),
            "--broken {broken}: `{words}` not in {c:?}"
        );
        assert_eq!(code, 1, "--broken {broken}\n{shown}");
    };
    expect(
        "no-deadline",
        HANG,
        "model-server-hangs: timeout",
        "outlived the deadline 300 ms + margin 250 ms",
    );
    expect(
        "retry-no-backoff",
        ERRORS,
        "model-server-fails: retries",
        "no backoff",
    );
    expect(
        "retry-non-idempotent",
        ERRORS,
        "model-server-fails: retries",
        "non-idempotent requests (a-once) were retried",
    );
    expect(
        "no-breaker",
        ERRORS,
        "model-server-fails: circuit_breaker",
        "the dependency kept receiving traffic after the breaker should have opened",
    );
    expect(
        "no-fallback",
        ERRORS,
        "model-server-fails: fallback",
        "came from the fallback",
    );
    expect(
        "no-half-open",
        GPU,
        "gpu-out-of-memory: recovery",
        "did not recover",
    );
    expect(
        "no-half-open",
        ERRORS,
        "model-server-fails: circuit_breaker",
        "the primary never answered again",
    );
    expect(
        "shared-pool",
        OVERLOAD,
        "model-a-overloaded: bulkhead",
        "`b`",
    );
}
