//! The whole mission against the reference service (crates/modelci-service), started by
//! `[service]`: its consumer pact, its OpenAPI document, the model suite on the ONNX file and on
//! the live endpoint (same golden cases), and the release gate on the endpoint. Then the same
//! configuration with a regressed model behind the service: the gate and the live golden cases
//! fail.

use std::path::PathBuf;

use modelci_test_support::{Dependency, require};
use serde_json::Value;

use crate::{modelci, root, run};

/// The service binary, built with the workspace next to `modelci`, or `None` under the test
/// dependency guard.
fn service_binary() -> Option<PathBuf> {
    let bin = crate::service_bin();
    let found = if bin.exists() {
        Ok(bin)
    } else {
        Err(format!("{} is not built", bin.display()))
    };
    require(Dependency::ServiceBinary, found)
}

fn config(dir: &std::path::Path, bin: &std::path::Path, served: &str) -> PathBuf {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let root = root().display().to_string();
    let features: Vec<String> = (0..20).map(|i| format!("\"f{i}\"")).collect();
    let text = format!(
        r#"[service]
command = ["{bin}", "--port", "{port}", "--model", "mlp={root}/{served},fallback={root}/fixtures/models/mlp_fallback.onnx"]
url = "http://127.0.0.1:{port}"
ready_url = "${{service.url}}/v2/health/ready"
ready_timeout_secs = 60

[[suite.pact]]
name = "consumer-pact"
pacts = ["{root}/contracts/service/pacts"]
provider_url = "${{service.url}}"

[[suite.openapi]]
name = "api"
openapi = "{root}/contracts/service/openapi.yaml"
base_url = "${{service.url}}"
max_cases = 20

[[suite.model]]
name = "mlp-file"
model = "{root}/fixtures/models/mlp.onnx"
cases = ["{root}/fixtures/golden/mlp_rows.npz"]
per_row = true

[[suite.model]]
name = "mlp-live"
endpoint = "${{service.url}}"
model_name = "mlp"
model = "{root}/fixtures/models/mlp.onnx"
cases = ["{root}/fixtures/golden/mlp_rows.npz"]
per_row = true

[[suite.gate]]
name = "gate"
candidate = "{root}/fixtures/models/mlp.onnx"
endpoint = "${{service.url}}"
endpoint_model = "mlp"
dataset = "{root}/fixtures/gate/eval.csv"
label = "label"
features = [{features}]
sensitive = ["region"]
thresholds = "thresholds.toml"
[suite.gate.latency]
iterations = 20
"#,
        bin = bin.display(),
        features = features.join(", ")
    );
    std::fs::write(
        dir.join("thresholds.toml"),
        "[accuracy_score]\nthreshold = 0.93\ngreater_is_better = true\n\n\
         [demographic_parity_difference]\nthreshold = 0.25\ngreater_is_better = false\n\n\
         [latency_p95_ms]\nthreshold = 10000\ngreater_is_better = false\n",
    )
    .expect("thresholds");
    let path = dir.join(format!("modelci-{port}.toml"));
    std::fs::write(&path, text).expect("config");
    path
}

fn suites(r: &Value) -> Vec<(String, String)> {
    r["suites"]
        .as_array()
        .expect("suites")
        .iter()
        .map(|s| {
            let c = &s["summary"];
            (
                s["name"].as_str().unwrap_or_default().to_owned(),
                format!(
                    "{} passed, {} failed, {} errored",
                    c["passed"], c["failed"], c["errored"]
                ),
            )
        })
        .collect()
}

#[test]
fn the_reference_service_passes_every_suite_and_a_regressed_model_fails_the_gate() {
    let Some(bin) = service_binary() else { return };
    if !crate::runtime_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("r.json");
    let good = config(dir.path(), &bin, "fixtures/models/mlp.onnx");
    let (code, out, err) = run(&mut modelci(&[
        "check",
        "--config",
        good.to_str().expect("utf8"),
        "--json",
        json.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 0, "{out}\n{err}");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&json).expect("r")).expect("j");
    let names: Vec<String> = suites(&r).into_iter().map(|s| s.0).collect();
    assert_eq!(
        names,
        ["consumer-pact", "api", "mlp-file", "mlp-live", "gate"]
    );

    // The previous model behind the same service: the live golden cases and the gate fail.
    let bad = config(dir.path(), &bin, "fixtures/models/mlp_previous.onnx");
    let (code, out, err) = run(&mut modelci(&[
        "check",
        "--config",
        bad.to_str().expect("utf8"),
        "--json",
        json.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 1, "{out}\n{err}");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&json).expect("r")).expect("j");
    let by: std::collections::BTreeMap<String, String> = suites(&r).into_iter().collect();
    assert!(by["mlp-file"].starts_with("64 passed, 0 failed"), "{by:?}");
    assert!(!by["mlp-live"].contains(" 0 failed"), "{by:?}");
    assert!(!by["gate"].contains(" 0 failed"), "{by:?}");
    assert!(
        r["properties"]["service_log"].is_string(),
        "the service's log is attached when a case fails: {:#}",
        r["properties"]
    );
}
