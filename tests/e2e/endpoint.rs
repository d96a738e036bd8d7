//! Model suites on a live Open Inference Protocol (KServe v2) server: `tests/servers/v2_server.py`
//! serving the fixture models through ONNX Runtime, reached by `modelci model test --endpoint`
//! and by `[[suite.model]] endpoint = ...` in `modelci check`.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::{modelci, root, run};

/// A running `v2_server.py`, killed when dropped (also when a test fails).
pub struct V2Server {
    child: Child,
    pub url: String,
}

impl Drop for V2Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the server on a free port with `models` (`NAME=PATH` relative to the repository) and
/// a fault; `None` when python3 with numpy and onnxruntime is missing (under the test dependency
/// guard: a loud skip, or a failure in CI).
pub fn start(models: &[&str], fault: &str) -> Option<V2Server> {
    if !modelci_test_support::python_servers() {
        return None;
    }
    let mut cmd = Command::new("python3");
    cmd.arg(root().join("tests/servers/v2_server.py"));
    for m in models {
        let (name, path) = m.split_once('=').expect("NAME=PATH");
        cmd.args([
            "--model",
            &format!("{name}={}", root().join(path).display()),
        ]);
    }
    let mut child = cmd
        .args(["--fault", fault])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let mut server = V2Server {
        child,
        url: String::new(),
    };
    let line = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the v2 server says where it listens");
    server.url = line
        .trim()
        .strip_prefix("listening on ")
        .expect("listening on URL")
        .to_owned();
    Some(server)
}

fn report(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("report")).expect("json")
}

#[test]
fn the_same_golden_cases_pass_on_the_endpoint_and_its_signature_matches() {
    let Some(server) = start(&["linear=fixtures/models/linear.onnx"], "none") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("r.json");
    let (code, out, err) = run(&mut modelci(&[
        "model",
        "test",
        "--endpoint",
        &server.url,
        "--model-name",
        "linear",
        "--model",
        "fixtures/models/linear.onnx",
        "--cases",
        "fixtures/golden/linear_cases.json",
        "fixtures/golden/linear_onnx_layout",
        "fixtures/golden/linear_cases.npz",
        "--json",
        json.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("7 cases: 7 passed"), "{out}");
    let r = report(&json);
    let suite = &r["suites"][0];
    assert_eq!(suite["properties"]["endpoint"], server.url.as_str());
    assert_eq!(suite["properties"]["model_name"], "linear");
    assert_eq!(
        suite["cases"][0]["name"],
        "signature: endpoint metadata matches the model"
    );
}

#[test]
fn wrong_metadata_fails_the_signature_case() {
    let Some(server) = start(&["linear=fixtures/models/linear.onnx"], "wrong-metadata") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("r.json");
    let (code, out, err) = run(&mut modelci(&[
        "model",
        "test",
        "--endpoint",
        &server.url,
        "--model-name",
        "linear",
        "--model",
        "fixtures/models/linear.onnx",
        "--cases",
        "fixtures/golden/linear_cases.json",
        "--json",
        json.to_str().expect("utf8"),
    ]));
    assert_ne!(code, 0, "{out}\n{err}");
    let r = report(&json);
    let sig = &r["suites"][0]["cases"][0];
    assert_eq!(sig["outcome"], "failed", "{sig:#}");
    let m = sig["message"].as_str().expect("message");
    assert!(m.contains("the endpoint declares FP64"), "{m}");
}

#[test]
fn a_slow_or_garbage_endpoint_errors_each_case_and_a_dead_one_exits_2() {
    let Some(slow) = start(&["linear=fixtures/models/linear.onnx"], "slow:10") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("r.json");
    let started = std::time::Instant::now();
    let (code, out, err) = run(&mut modelci(&[
        "model",
        "test",
        "--endpoint",
        &slow.url,
        "--model-name",
        "linear",
        "--timeout",
        "1",
        "--cases",
        "fixtures/golden/linear_cases.json",
        "--json",
        json.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "the timeout holds"
    );
    let r = report(&json);
    for c in r["suites"][0]["cases"].as_array().expect("cases") {
        assert_eq!(c["outcome"], "errored", "{c:#}");
        assert!(
            c["message"]
                .as_str()
                .expect("m")
                .contains("timed out after 1 s"),
            "{c:#}"
        );
    }
    drop(slow);

    let Some(garbage) = start(&["linear=fixtures/models/linear.onnx"], "garbage") else {
        return;
    };
    let (code, out, _) = run(&mut modelci(&[
        "model",
        "test",
        "--endpoint",
        &garbage.url,
        "--model-name",
        "linear",
        "--cases",
        "fixtures/golden/linear_cases.json",
    ]));
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("not JSON"), "{out}");
    let url = garbage.url.clone();
    drop(garbage);

    // The endpoint that cannot be reached is one errored case, and the report is still written.
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("r.json");
    let (code, out, _) = run(&mut modelci(&[
        "model",
        "test",
        "--endpoint",
        &url,
        "--model-name",
        "linear",
        "--timeout",
        "2",
        "--cases",
        "fixtures/golden/linear_cases.json",
        "--json",
        json.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 2);
    assert!(out.contains("cannot reach"), "{out}");
    let r: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("report")).expect("json");
    let case = &r["suites"][0]["cases"][0];
    assert_eq!(case["outcome"], "errored", "{r}");
    assert!(
        case["message"]
            .as_str()
            .is_some_and(|m| m.contains("cannot reach")),
        "{r}"
    );
}

#[test]
fn expectations_run_on_the_endpoint_as_on_the_file() {
    let Some(server) = start(
        &[
            "mlp=fixtures/models/mlp.onnx",
            "prev=fixtures/models/mlp_previous.onnx",
        ],
        "none",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("modelci.toml");
    let root = root();
    let suite = |name: &str, tokens: bool| {
        format!(
            r#"
[[suite.model]]
name = "{name}"
endpoint = "{url}"
model_name = "mlp"
model = "{root}/fixtures/models/mlp.onnx"
cases = ["{root}/fixtures/golden/mlp_rows.npz"]
per_row = true
nonfinite_tokens = {tokens}

[suite.model.edge_cases]
extreme_values = false

[suite.model.invariants]
probabilities = ["probabilities"]

[[suite.model.robustness]]
perturbation = "uniform"
scale = 0.01
max_flip_rate = 0.05

[suite.model.regression]
baseline_endpoint = "{url}"
baseline_model_name = "prev"
max_label_change_rate = 0.05
"#,
            url = server.url,
            root = root.display()
        )
    };
    std::fs::write(
        &config,
        format!(
            "{}{}",
            suite("strict-json", false),
            suite("nan-tokens", true)
        ),
    )
    .expect("w");
    let json = dir.path().join("r.json");
    let (code, out, err) = run(&mut modelci(&[
        "check",
        "--config",
        config.to_str().expect("utf8"),
        "--json",
        json.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 1, "{out}\n{err}");
    let r = report(&json);
    let outcome = |suite: usize, name: &str| -> String {
        r["suites"][suite]["cases"]
            .as_array()
            .expect("cases")
            .iter()
            .find(|c| c["name"].as_str().is_some_and(|n| n.starts_with(name)))
            .map(|c| c["outcome"].as_str().unwrap_or_default().to_owned())
            .unwrap_or_else(|| panic!("no case `{name}` in {r:#}"))
    };
    for s in [0, 1] {
        assert_eq!(outcome(s, "signature: endpoint metadata matches"), "passed");
        assert_eq!(outcome(s, "mlp_rows.npz#63"), "passed");
        assert_eq!(outcome(s, "edge: wrong shape is rejected"), "passed");
        assert_eq!(outcome(s, "edge: wrong dtype is rejected"), "passed");
        assert_eq!(outcome(s, "invariant: batch invariance"), "passed");
        assert_eq!(
            outcome(s, "invariant: `probabilities` are probabilities"),
            "passed"
        );
        assert_eq!(outcome(s, "robustness: uniform-0.01"), "passed");
        assert_eq!(outcome(s, "regression: against"), "passed");
    }
    // Strict JSON cannot carry NaN: the check is skipped, not passed. With NaN tokens the
    // server's model answers NaN, as the file does locally.
    assert_eq!(outcome(0, "edge: NaN and ±Inf inputs"), "skipped");
    assert_eq!(outcome(1, "edge: NaN and ±Inf inputs"), "failed");
}
