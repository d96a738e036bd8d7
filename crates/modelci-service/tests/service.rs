//! End-to-end tests of `modelci-service`: the built binary, started on a free port, serving the
//! fixture models (`fixtures/models/mlp.onnx`, its fallback `mlp_fallback.onnx`, `linear.onnx`)
//! through ONNX Runtime, asked over HTTP.
//!
//! Needs ONNX Runtime (the `onnxruntime` Python package, or `ORT_DYLIB_PATH`); without it the
//! tests are skipped with a loud message, except in CI (`CI=true`), where that is a failure.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and benchmark code: a failed assumption is a failed run"
)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use modelci_tensor::backend::Backend as _;
use modelci_tensor::runtime::runtime;
use modelci_tensor::{DType, Data, Tensor};
use modelci_v2::Endpoint;
use reqwest::blocking::{Client, Response};
use serde_json::{Value, json};

const STARTUP: Duration = Duration::from_secs(60);

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

fn model_arg(name: &str, file: &str, fallback: Option<&str>) -> String {
    let mut arg = format!("{name}={}", repo(file).display());
    if let Some(f) = fallback {
        arg.push_str(&format!(",fallback={}", repo(f).display()));
    }
    arg
}

/// Whether ONNX Runtime is here. Without it: a loud skip, or a failure under `CI=true` unless
/// `MODELCI_TEST_SKIP` opts out of `onnxruntime`.
fn prerequisites() -> bool {
    modelci_test_support::require(
        modelci_test_support::Dependency::OnnxRuntime,
        runtime(None).map(|_| ()).map_err(|e| e.to_string()),
    )
    .is_some()
}

/// A running service, killed when dropped (also when a test fails).
struct Service {
    child: Child,
    base: String,
    client: Client,
}

impl Service {
    fn start(args: &[&str]) -> Service {
        let mut child = Command::new(env!("CARGO_BIN_EXE_modelci-service"))
            .args(["--host", "127.0.0.1", "--port", "0", "--device", "cpu"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("modelci-service starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let mut service = Service {
            child,
            base: String::new(),
            client: Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
        };
        let line = rx.recv_timeout(STARTUP).expect("the `listening on` line");
        service.base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        assert!(service.base.starts_with("http://127.0.0.1:"), "{line}");
        service
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().expect("GET")
    }

    fn post(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .expect("POST")
    }

    fn post_raw(&self, path: &str, body: &str) -> Response {
        self.client
            .post(self.url(path))
            .body(body.to_owned())
            .send()
            .expect("POST")
    }

    fn fault(&self, model: &str, fail: bool, delay_ms: u64) {
        let r = self.post(
            "/faults",
            &json!({"model": model, "fail": fail, "delay_ms": delay_ms}),
        );
        assert_eq!(r.status(), 200, "{:?}", r.text());
    }

    fn clear_faults(&self) {
        let r = self
            .client
            .delete(self.url("/faults"))
            .send()
            .expect("DELETE");
        assert_eq!(r.status(), 200);
        assert_eq!(r.json::<Value>().expect("json"), json!({"faults": []}));
    }

    fn infer(&self, model: &str, rows: usize) -> Response {
        self.post(&format!("/v2/models/{model}/infer"), &request(rows, 20))
    }

    /// Waits for the process to end, at most `limit`.
    fn wait(&mut self, limit: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Deterministic rows of `width` float32 features.
fn rows(n: usize, width: usize) -> Vec<f32> {
    (0..n * width)
        .map(|k| ((k as f64 * 0.37).sin() * 2.5) as f32)
        .collect()
}

fn request(n: usize, width: usize) -> Value {
    json!({"inputs": [{"name": "input", "shape": [n, width], "datatype": "FP32", "data": rows(n, width)}]})
}

/// The outputs of a model run locally, by name.
fn local(file: &str, n: usize) -> Vec<Tensor> {
    let model = runtime(None)
        .expect("runtime")
        .load(&repo(file))
        .expect("model");
    let x = rows(n, 20);
    let input = Tensor::new(
        "input",
        DType::F32,
        vec![n as i64, 20],
        Data::Float(x.iter().map(|v| f64::from(*v)).collect()),
    )
    .expect("tensor");
    model.run(&[input]).expect("local run")
}

/// Checks a response's outputs against locally computed ones: labels exactly, probabilities
/// exactly at float32.
fn assert_outputs_equal(body: &Value, expected: &[Tensor]) {
    let outputs = body["outputs"].as_array().expect("outputs");
    for t in expected {
        let o = outputs
            .iter()
            .find(|o| o["name"] == t.name.as_str())
            .unwrap_or_else(|| panic!("output {} in {body}", t.name));
        assert_eq!(o["shape"], json!(t.shape), "{}", t.name);
        match &t.data {
            Data::Int(v) => {
                assert_eq!(o["datatype"], "INT64");
                assert_eq!(o["data"], json!(v), "{}", t.name);
            }
            Data::Float(v) => {
                assert_eq!(o["datatype"], "FP32");
                let got: Vec<f32> = o["data"]
                    .as_array()
                    .expect("data")
                    .iter()
                    .map(|x| x.as_f64().expect("number") as f32)
                    .collect();
                let want: Vec<f32> = v.iter().map(|x| *x as f32).collect();
                assert_eq!(got, want, "{}", t.name);
            }
            other => panic!("unexpected data {other:?}"),
        }
    }
}

/// Asserts that `value` is valid against `contracts/service/{schema}`.
fn assert_conforms(schema: &str, value: &Value) {
    let path = repo(&format!("contracts/service/{schema}"));
    let text = std::fs::read_to_string(&path).expect("schema file");
    let schema: Value = serde_json::from_str(&text).expect("schema JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "{} against {}: {errors:?}",
        value,
        path.display()
    );
}

fn error_of(r: Response) -> String {
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(ct.starts_with("application/json"), "content type {ct}");
    let body: Value = r.json().expect("json error body");
    body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error string in {body}"))
        .to_owned()
}

fn header(r: &Response, name: &str) -> Option<String> {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[test]
fn metadata_and_inference_match_local_onnx_runtime() {
    if !prerequisites() {
        return;
    }
    let mlp = model_arg(
        "mlp",
        "fixtures/models/mlp.onnx",
        Some("fixtures/models/mlp_fallback.onnx"),
    );
    let s = Service::start(&["--model", &mlp, "--sessions", "2"]);
    for path in [
        "/v2/health/live",
        "/v2/health/ready",
        "/v2/models/mlp/ready",
    ] {
        assert_eq!(s.get(path).status(), 200, "{path}");
    }
    assert_eq!(s.get("/v2/models/mlp/versions/1/ready").status(), 200);
    let server: Value = s.get("/v2").json().expect("json");
    assert_eq!(server["name"], "modelci-service");
    assert!(server["extensions"].is_array());

    let expected = json!({
        "name": "mlp",
        "versions": ["1"],
        "platform": "onnxruntime_onnx",
        "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, 20]}],
        "outputs": [
            {"name": "label", "datatype": "INT64", "shape": [-1]},
            {"name": "probabilities", "datatype": "FP32", "shape": [-1, 3]}
        ]
    });
    assert_eq!(
        s.get("/v2/models/mlp").json::<Value>().expect("json"),
        expected
    );
    assert_eq!(
        s.get("/v2/models/mlp/versions/1")
            .json::<Value>()
            .expect("json"),
        expected
    );

    let want = local("fixtures/models/mlp.onnx", 7);
    assert_conforms("infer-request.schema.json", &request(7, 20));
    let r = s.infer("mlp", 7);
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-model-fallback").as_deref(), Some("false"));
    let body: Value = r.json().expect("json");
    assert_conforms("infer-response.schema.json", &body);
    assert_eq!(body["model_name"], "mlp");
    assert_eq!(body["model_version"], "1");
    assert_eq!(
        body["parameters"],
        json!({"served_by": "primary", "breaker": "closed"})
    );
    let names: Vec<&str> = body["outputs"]
        .as_array()
        .expect("outputs")
        .iter()
        .filter_map(|o| o["name"].as_str())
        .collect();
    assert_eq!(names, ["label", "probabilities"]);
    assert_outputs_equal(&body, &want);

    // Nested data, an id, one output asked for, the versioned URL.
    let x = rows(7, 20);
    let nested: Vec<Vec<f32>> = x.chunks(20).map(<[f32]>::to_vec).collect();
    let nested_request = json!({
        "id": "req-42",
        "parameters": {"note": "ignored"},
        "inputs": [{"name": "input", "shape": [7, 20], "datatype": "FP32", "data": nested}],
        "outputs": [{"name": "probabilities"}]
    });
    assert_conforms("infer-request.schema.json", &nested_request);
    let r = s.post("/v2/models/mlp/versions/1/infer", &nested_request);
    assert_eq!(r.status(), 200);
    let body: Value = r.json().expect("json");
    assert_conforms("infer-response.schema.json", &body);
    assert_eq!(body["id"], "req-42");
    assert_eq!(body["outputs"].as_array().map(Vec::len), Some(1));
    assert_outputs_equal(&body, &want[1..]);

    // The project's own v2 client reads the same answers.
    let endpoint =
        Endpoint::connect(&s.base, "mlp", None, Duration::from_secs(30)).expect("connect");
    let input = Tensor::new(
        "input",
        DType::F32,
        vec![7, 20],
        Data::Float(x.iter().map(|v| f64::from(*v)).collect()),
    )
    .expect("tensor");
    let got = endpoint.run(&[input]).expect("endpoint run");
    assert_eq!(got, want);
}

#[test]
fn bad_requests_are_400_with_a_message() {
    if !prerequisites() {
        return;
    }
    let mlp = model_arg("mlp", "fixtures/models/mlp.onnx", None);
    let s = Service::start(&["--model", &mlp, "--max-body-bytes", "65536"]);
    let input = |name: &str, datatype: &str, shape: Value, data: Value| json!({"inputs": [{"name": name, "datatype": datatype, "shape": shape, "data": data}]});
    let ok_data = json!(rows(1, 20));
    let cases: Vec<(Value, &str)> = vec![
        (
            input("features", "FP32", json!([1, 20]), ok_data.clone()),
            "model `mlp` has no input `features` (its inputs: input)",
        ),
        (
            input("input", "FP64", json!([1, 20]), ok_data.clone()),
            "input `input`: datatype FP64 given, but model `mlp` takes FP32",
        ),
        (
            input("input", "FP32", json!([1, 19]), json!(rows(1, 19))),
            "input `input`: shape [1, 19] does not fit model `mlp`'s [-1, 20]",
        ),
        (
            input("input", "FP32", json!([20]), ok_data.clone()),
            "input `input`: shape [20] does not fit",
        ),
        (
            input("input", "FP32", json!([2, 20]), ok_data.clone()),
            "input `input`: shape [2, 20] holds 40 element(s) but `data` has 20",
        ),
        (
            input("input", "FP32", json!([1, 20]), json!(vec!["x"; 20])),
            "input `input`: element 0 (\"x\") is not a FP32 value",
        ),
        (
            json!({"inputs": []}),
            "model `mlp` needs input `input`, which the request does not give",
        ),
        (json!({"outputs": []}), "the request has no `inputs` list"),
        (
            json!({"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 20], "data": rows(1, 20)}], "outputs": [{"name": "logits"}]}),
            "model `mlp` has no output `logits` (its outputs: label, probabilities)",
        ),
    ];
    for (body, fragment) in cases {
        let r = s.post("/v2/models/mlp/infer", &body);
        assert_eq!(r.status(), 400, "{body}");
        let e = error_of(r);
        assert!(e.contains(fragment), "{e:?} should say {fragment:?}");
    }
    let r = s.post_raw("/v2/models/mlp/infer", "{\"inputs\": [");
    assert_eq!(r.status(), 400);
    assert!(error_of(r).starts_with("the body is not valid JSON"));
    let r = s.post_raw("/v2/models/mlp/infer", "");
    assert_eq!(r.status(), 400);
    let r = s.post_raw("/v2/models/mlp/infer", &"x".repeat(70_000));
    assert_eq!(r.status(), 413);
    assert_eq!(
        error_of(r),
        "the request body (70000 bytes, from Content-Length) is larger than the 65536 bytes allowed (--max-body-bytes)"
    );
    let r = s.get("/v2/models/mlp/infer");
    assert_eq!(r.status(), 405);
    assert!(error_of(r).contains("does not take GET"));
}

#[test]
fn unknown_models_and_versions_are_404() {
    if !prerequisites() {
        return;
    }
    let mlp = format!(
        "{},version=3",
        model_arg("mlp", "fixtures/models/mlp.onnx", None)
    );
    let s = Service::start(&["--model", &mlp]);
    for path in [
        "/v2/models/nope",
        "/v2/models/nope/ready",
        "/v2/models/mlp/versions/1",
        "/v2/models/mlp/versions/1/ready",
        "/v2/nothing",
    ] {
        let r = s.get(path);
        assert_eq!(r.status(), 404, "{path}");
        let e = error_of(r);
        assert!(!e.is_empty(), "{path}");
    }
    let r = s.infer("nope", 1);
    assert_eq!(r.status(), 404);
    // The served models are not listed to a client guessing names.
    assert_eq!(error_of(r), "model `nope` is not served here");
    let r = s.post("/v2/models/mlp/versions/1/infer", &request(1, 20));
    assert_eq!(r.status(), 404);
    assert_eq!(error_of(r), "model `mlp` has no version `1` (versions: 3)");
    let r = s.post("/v2/models/mlp/versions/3/infer", &request(1, 20));
    assert_eq!(r.status(), 200);
    let meta: Value = s.get("/v2/models/mlp").json().expect("json");
    assert_eq!(meta["versions"], json!(["3"]));
}

#[test]
fn faults_endpoint_is_404_without_enable_faults() {
    if !prerequisites() {
        return;
    }
    let mlp = model_arg("mlp", "fixtures/models/mlp.onnx", None);
    let s = Service::start(&["--model", &mlp]);
    let r = s.post("/faults", &json!({"model": "mlp", "fail": true}));
    assert_eq!(r.status(), 404);
    assert!(error_of(r).contains("--enable-faults"));
    assert_eq!(
        s.client
            .delete(s.url("/faults"))
            .send()
            .expect("DELETE")
            .status(),
        404
    );
    assert_eq!(s.get("/faults").status(), 404);
    // And the model is untouched.
    assert_eq!(s.infer("mlp", 1).status(), 200);
}

#[test]
fn fault_requests_are_checked() {
    if !prerequisites() {
        return;
    }
    let mlp = model_arg("mlp", "fixtures/models/mlp.onnx", None);
    let s = Service::start(&["--model", &mlp, "--enable-faults"]);
    let r = s.post("/faults", &json!({"model": "nope", "fail": true}));
    assert_eq!(r.status(), 404);
    let r = s.post("/faults", &json!({"model": "mlp", "fial": true}));
    assert_eq!(r.status(), 400);
    assert!(error_of(r).contains("unknown field `fial`"));
    let r = s.post("/faults", &json!({"model": "mlp", "delay_ms": 700_000}));
    assert_eq!(r.status(), 400);
    let r = s.post("/faults", &json!({"model": "mlp", "delay_ms": 5}));
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().expect("json"),
        json!({"faults": [{"model": "mlp", "fail": false, "delay_ms": 5, "gpu_oom": false}]})
    );
    assert_eq!(s.infer("mlp", 1).status(), 200);
    s.clear_faults();
    // A GPU that is out of memory: the inference fails with ONNX Runtime's CUDA words.
    let r = s.post("/faults", &json!({"model": "mlp", "gpu_oom": true}));
    assert_eq!(r.status(), 200);
    let r = s.infer("mlp", 1);
    assert_eq!(r.status(), 500);
    let message = error_of(r);
    assert!(
        message.contains("CUDA failure 2: out of memory"),
        "{message}"
    );
    s.clear_faults();
    assert_eq!(s.infer("mlp", 1).status(), 200);
}

#[test]
fn a_deadline_overrun_is_504_and_counts_as_a_failure() {
    if !prerequisites() {
        return;
    }
    let mlp = model_arg(
        "mlp",
        "fixtures/models/mlp.onnx",
        Some("fixtures/models/mlp_fallback.onnx"),
    );
    let s = Service::start(&[
        "--model",
        &mlp,
        "--enable-faults",
        "--deadline-ms",
        "300",
        "--breaker-failures",
        "2",
        "--breaker-cooldown-ms",
        "60000",
    ]);
    s.fault("mlp", false, 5_000);
    for _ in 0..2 {
        let started = Instant::now();
        let r = s.infer("mlp", 1);
        assert_eq!(r.status(), 504);
        let e = error_of(r);
        assert!(
            e.starts_with("deadline of 300 ms exceeded while the model was running"),
            "{e}"
        );
        // Answered at the deadline, not when the slow model would have finished.
        assert!(started.elapsed() < Duration::from_secs(4));
    }
    // Two overruns opened the breaker: the fallback (which has no fault) answers in time.
    let r = s.infer("mlp", 1);
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-model-fallback").as_deref(), Some("true"));
    let body: Value = r.json().expect("json");
    assert_eq!(body["parameters"]["served_by"], "fallback");
    assert_eq!(body["parameters"]["breaker"], "open");
}

#[test]
fn a_full_bulkhead_answers_429_with_retry_after_and_spares_other_models() {
    if !prerequisites() {
        return;
    }
    let mlp = model_arg("mlp", "fixtures/models/mlp.onnx", None);
    let linear = model_arg("linear", "fixtures/models/linear.onnx", None);
    let s = Service::start(&[
        "--model",
        &mlp,
        "--model",
        &linear,
        "--enable-faults",
        "--max-concurrency",
        "1",
        "--max-queue",
        "0",
    ]);
    s.fault("mlp", false, 2_500);
    // Two requests at once: whichever comes first holds mlp's only slot for 2.5 s, the other
    // is refused at once.
    let (tx, rx) = mpsc::channel();
    for _ in 0..2 {
        let (url, client, tx) = (s.url("/v2/models/mlp/infer"), s.client.clone(), tx.clone());
        std::thread::spawn(move || {
            let answer = client
                .post(url)
                .body(request(1, 20).to_string())
                .send()
                .map(|r| {
                    let retry = header(&r, "retry-after");
                    (r.status().as_u16(), retry, r.text().unwrap_or_default())
                });
            let _ = tx.send(answer);
        });
    }
    let (status, retry, body) = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("an answer")
        .expect("the first answer");
    assert_eq!(status, 429, "{body}");
    let retry: u64 = retry.expect("Retry-After").parse().expect("seconds");
    assert!(retry >= 1);
    let body: Value = serde_json::from_str(&body).expect("json");
    let e = body["error"].as_str().unwrap_or_default();
    assert!(e.starts_with("model `mlp` is at capacity"), "{e}");
    // Another model has its own bulkhead: it answers while mlp's is full.
    let r = s.post(
        "/v2/models/linear/infer",
        &json!({"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}),
    );
    assert_eq!(r.status(), 200);
    let (status, _, body) = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("an answer")
        .expect("the second answer");
    assert_eq!(status, 200, "{body}");
    s.clear_faults();
    assert_eq!(s.infer("mlp", 1).status(), 200);
}

#[test]
fn the_breaker_opens_serves_the_fallback_half_opens_and_closes() {
    if !prerequisites() {
        return;
    }
    let cooldown = Duration::from_millis(1_500);
    let mlp = model_arg(
        "mlp",
        "fixtures/models/mlp.onnx",
        Some("fixtures/models/mlp_fallback.onnx"),
    );
    let linear = model_arg("linear", "fixtures/models/linear.onnx", None);
    let s = Service::start(&[
        "--model",
        &mlp,
        "--model",
        &linear,
        "--enable-faults",
        "--breaker-failures",
        "2",
        "--breaker-cooldown-ms",
        "1500",
    ]);
    let open = |s: &Service| {
        s.fault("mlp", true, 0);
        for _ in 0..2 {
            let r = s.infer("mlp", 3);
            assert_eq!(r.status(), 500);
            assert_eq!(header(&r, "x-model-fallback"), None);
            let e = error_of(r);
            assert!(e.starts_with("model `mlp` failed: injected fault"), "{e}");
        }
        Instant::now()
    };
    let opened = open(&s);
    let fallback = local("fixtures/models/mlp_fallback.onnx", 3);
    let served_by_fallback = |s: &Service| {
        let r = s.infer("mlp", 3);
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "x-model-fallback").as_deref(), Some("true"));
        let body: Value = r.json().expect("json");
        assert_conforms("infer-response.schema.json", &body);
        assert_eq!(body["parameters"]["served_by"], "fallback");
        assert_outputs_equal(&body, &fallback);
    };
    served_by_fallback(&s);
    // Clearing the fault does not close the breaker before the cooldown.
    s.clear_faults();
    if opened.elapsed() < cooldown / 2 {
        served_by_fallback(&s);
    }
    // After the cooldown, a trial goes to the primary; it succeeds and closes the breaker.
    std::thread::sleep(cooldown.saturating_sub(opened.elapsed()) + Duration::from_millis(100));
    let primary = local("fixtures/models/mlp.onnx", 3);
    for _ in 0..2 {
        let r = s.infer("mlp", 3);
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "x-model-fallback").as_deref(), Some("false"));
        let body: Value = r.json().expect("json");
        assert_eq!(
            body["parameters"],
            json!({"served_by": "primary", "breaker": "closed"})
        );
        assert_outputs_equal(&body, &primary);
    }

    // A failed trial opens the breaker again.
    let opened = open(&s);
    std::thread::sleep(cooldown.saturating_sub(opened.elapsed()) + Duration::from_millis(100));
    let r = s.infer("mlp", 3);
    assert_eq!(r.status(), 500, "the trial reaches the failing primary");
    served_by_fallback(&s);
    s.clear_faults();

    // Without a fallback, an open breaker answers 503 with Retry-After.
    s.fault("linear", true, 0);
    let linear_request = json!({"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]});
    for _ in 0..2 {
        assert_eq!(
            s.post("/v2/models/linear/infer", &linear_request).status(),
            500
        );
    }
    let r = s.post("/v2/models/linear/infer", &linear_request);
    assert_eq!(r.status(), 503);
    assert!(header(&r, "retry-after").is_some());
    let e = error_of(r);
    assert!(e.contains("circuit breaker is open"), "{e}");
    // mlp is unaffected by linear's breaker.
    assert_eq!(s.infer("mlp", 1).status(), 200);
}

#[cfg(unix)]
#[test]
fn sigterm_finishes_in_flight_requests_and_exits_0() {
    if !prerequisites() {
        return;
    }
    let mlp = model_arg("mlp", "fixtures/models/mlp.onnx", None);
    let mut s = Service::start(&["--model", &mlp, "--enable-faults"]);
    s.fault("mlp", false, 1_500);
    let in_flight = {
        let url = s.url("/v2/models/mlp/infer");
        let client = s.client.clone();
        std::thread::spawn(move || {
            client
                .post(url)
                .body(request(2, 20).to_string())
                .send()
                .map(|r| r.status().as_u16())
        })
    };
    std::thread::sleep(Duration::from_millis(400));
    let killed = Command::new("kill")
        .args(["-TERM", &s.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    assert_eq!(in_flight.join().expect("thread").expect("answered"), 200);
    let status = s.wait(Duration::from_secs(10)).expect("exits promptly");
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[test]
fn startup_errors_exit_2_with_a_message() {
    if !prerequisites() {
        return;
    }
    let run = |args: &[String]| {
        let out = Command::new(env!("CARGO_BIN_EXE_modelci-service"))
            .args(["--port", "0", "--device", "cpu"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            out.stdout,
        )
    };
    let (code, err, out) = run(&["--model".into(), "mlp=/no/such/model.onnx".into()]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("model `mlp`: the model `/no/such/model.onnx` is not a file"),
        "{err}"
    );
    assert!(out.is_empty());
    let wrong = model_arg(
        "mlp",
        "fixtures/models/mlp.onnx",
        Some("fixtures/models/linear.onnx"),
    );
    let (code, err, _) = run(&["--model".into(), wrong]);
    assert_eq!(code, Some(2));
    assert!(err.contains("cannot stand in for"), "{err}");
    let mlp = model_arg("mlp", "fixtures/models/mlp.onnx", None);
    let (code, err, _) = run(&["--model".into(), mlp.clone(), "--model".into(), mlp]);
    assert_eq!(code, Some(2));
    assert!(err.contains("model `mlp` is given twice"), "{err}");
    let (code, err, _) = run(&[]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--model"), "{err}");
}

/// Sends raw bytes on a new connection and reads what comes back within `limit` (until the
/// server closes, or `limit` passes): (the text read, when it ended).
fn raw_exchange(base: &str, bytes: &[u8], limit: Duration) -> (String, Duration) {
    use std::io::{Read as _, Write as _};
    let addr = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(limit)).expect("timeout");
    let started = Instant::now();
    stream.write_all(bytes).expect("write");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while started.elapsed() < limit {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                // A whole JSON answer is enough.
                let text = String::from_utf8_lossy(&got);
                if text.contains("\r\n\r\n{") && text.trim_end().ends_with('}') {
                    break;
                }
            }
        }
    }
    (
        String::from_utf8_lossy(&got).into_owned(),
        started.elapsed(),
    )
}

#[test]
fn client_errors_are_4xx_and_never_open_the_breaker() {
    if !prerequisites() {
        return;
    }
    let s = Service::start(&[
        "--model",
        &model_arg("mlp", "fixtures/models/mlp.onnx", None),
        "--breaker-failures",
        "2",
    ]);
    // An empty batch: ONNX Runtime would refuse it; the service refuses it first, as the
    // client's error, naming nothing internal.
    let empty =
        json!({"inputs": [{"name": "input", "shape": [0, 20], "datatype": "FP32", "data": []}]});
    for _ in 0..5 {
        let r = s.post("/v2/models/mlp/infer", &empty);
        assert_eq!(r.status(), 400);
        let e = error_of(r);
        assert_eq!(
            e,
            "input `input`: shape [0, 20] holds no element: an inference needs at least one"
        );
    }
    // A float32 value beyond the float range is refused, not turned into infinity.
    let mut data = rows(1, 20);
    let mut big: Vec<Value> = data.drain(..).map(|x| json!(x)).collect();
    big[3] = json!(3.5e38);
    let r = s.post(
        "/v2/models/mlp/infer",
        &json!({"inputs": [{"name": "input", "shape": [1, 20], "datatype": "FP32", "data": big}]}),
    );
    assert_eq!(r.status(), 400);
    assert_eq!(
        error_of(r),
        "input `input`: element 3 (3.5e+38) is beyond the FP32 range"
    );
    // Seven client errors later, with a breaker that opens after two failures: still closed,
    // the model answers.
    let r = s.infer("mlp", 2);
    assert_eq!(r.status(), 200);
    let body: Value = r.json().expect("json");
    assert_eq!(
        body["parameters"],
        json!({"served_by": "primary", "breaker": "closed"})
    );
}

#[test]
fn an_announced_body_over_the_limit_is_refused_at_once() {
    if !prerequisites() {
        return;
    }
    let s = Service::start(&[
        "--model",
        &model_arg("mlp", "fixtures/models/mlp.onnx", None),
        "--max-body-bytes",
        "65536",
    ]);
    // 10 GB announced, nothing sent: 413 now, not `100 Continue` and a timeout later.
    let (text, took) = raw_exchange(
        &s.base,
        b"POST /v2/models/mlp/infer HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\nExpect: 100-continue\r\n\r\n",
        Duration::from_secs(10),
    );
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(!text.contains("100 Continue"), "{text}");
    assert!(
        text.contains("the request body (10000000000 bytes, from Content-Length) is larger than the 65536 bytes allowed (--max-body-bytes)"),
        "{text}"
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

/// How long until the server closes a connection on which `bytes` were sent (None: still open
/// after `limit`).
fn closed_after(base: &str, bytes: &[u8], limit: Duration) -> Option<Duration> {
    use std::io::{Read as _, Write as _};
    let addr = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    let started = Instant::now();
    stream.write_all(bytes).expect("write");
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let mut buf = [0u8; 4096];
    while started.elapsed() < limit {
        match stream.read(&mut buf) {
            Ok(0) => return Some(started.elapsed()),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return Some(started.elapsed()),
        }
    }
    None
}

#[test]
fn silent_half_sent_and_idle_connections_are_closed() {
    if !prerequisites() {
        return;
    }
    let s = Service::start(&[
        "--model",
        &model_arg("mlp", "fixtures/models/mlp.onnx", None),
        "--header-timeout-ms",
        "500",
    ]);
    let limit = Duration::from_secs(5);
    // A socket that says nothing.
    let silent = closed_after(&s.base, b"", limit).expect("a silent socket is closed");
    assert!(silent >= Duration::from_millis(400), "{silent:?}");
    // A request line cut in the middle.
    let half = closed_after(&s.base, b"GET /v2/health/li", limit).expect("closed");
    assert!(half < limit, "{half:?}");
    // A whole request, answered, then nothing: the kept-alive connection is closed too.
    let idle = closed_after(
        &s.base,
        b"GET /v2/health/live HTTP/1.1\r\nHost: test\r\n\r\n",
        limit,
    )
    .expect("an idle keep-alive connection is closed");
    assert!(idle >= Duration::from_millis(400), "{idle:?}");
    // The service still answers.
    assert_eq!(s.get("/v2/health/live").status(), 200);
}

#[cfg(unix)]
#[test]
fn connections_over_the_limit_are_closed_and_silent_ones_do_not_hold_sigterm() {
    if !prerequisites() {
        return;
    }
    let mut s = Service::start(&[
        "--model",
        &model_arg("mlp", "fixtures/models/mlp.onnx", None),
        "--max-connections",
        "8",
        "--header-timeout-ms",
        "60000",
    ]);
    let addr = s.base.trim_start_matches("http://").to_owned();
    let silent: Vec<std::net::TcpStream> = (0..8)
        .map(|_| std::net::TcpStream::connect(&addr).expect("connect"))
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    // A ninth connection is closed at once.
    let over = closed_after(&s.base, b"", Duration::from_secs(5)).expect("closed");
    assert!(over < Duration::from_secs(2), "{over:?}");
    // Freed places are taken again.
    drop(silent);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(s.get("/v2/health/live").status(), 200);
    // Silent sockets do not keep SIGTERM waiting for the grace period (10 s by default).
    let _silent: Vec<std::net::TcpStream> = (0..6)
        .map(|_| std::net::TcpStream::connect(&addr).expect("connect"))
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &s.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = s.wait(Duration::from_secs(8)).expect("exits");
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn requests_the_http_layer_refuses_get_json_errors() {
    if !prerequisites() {
        return;
    }
    let s = Service::start(&[
        "--model",
        &model_arg("mlp", "fixtures/models/mlp.onnx", None),
    ]);
    let limit = Duration::from_secs(10);
    let json_error = |text: &str| -> String {
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text, ""));
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: application/json"),
            "{head}"
        );
        let v: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("{text}"));
        v["error"].as_str().unwrap_or_default().to_owned()
    };
    // Headers too large.
    let big = format!(
        "GET /v2/health/live HTTP/1.1\r\nHost: test\r\nX-Big: {}\r\n\r\n",
        "a".repeat(500_000)
    );
    let (text, _) = raw_exchange(&s.base, big.as_bytes(), limit);
    assert!(
        text.starts_with("HTTP/1.1 431"),
        "{}",
        &text[..text.len().min(200)]
    );
    assert_eq!(json_error(&text), "the request's headers are too large");
    // A URL too long.
    let long = format!("GET /{} HTTP/1.1\r\nHost: test\r\n\r\n", "a".repeat(70_000));
    let (text, _) = raw_exchange(&s.base, long.as_bytes(), limit);
    assert!(
        text.starts_with("HTTP/1.1 414"),
        "{}",
        &text[..text.len().min(200)]
    );
    assert_eq!(json_error(&text), "the request's URL is too long");
    // A header that is not HTTP.
    let (text, _) = raw_exchange(
        &s.base,
        b"GET /v2/health/live HTTP/1.1\r\nHost: test\r\nBad Header\r\n\r\n",
        limit,
    );
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(
        json_error(&text).starts_with("the request cannot be read as HTTP"),
        "{text}"
    );
    // The service's own answers are untouched.
    assert_eq!(s.get("/v2/health/live").status(), 200);
}

#[test]
fn large_bodies_beyond_the_inflight_budget_wait_their_turn_with_429() {
    if !prerequisites() {
        return;
    }
    let s = Service::start(&[
        "--model",
        &model_arg("mlp", "fixtures/models/mlp.onnx", None),
        "--enable-faults",
        "--max-inflight-body-bytes",
        "2097152",
        "--max-concurrency",
        "4",
    ]);
    s.fault("mlp", false, 1_500);
    // About 1.5 MB: one fits the 2 MiB budget, two do not.
    let big = request(3_900, 20).to_string();
    assert!((1_100_000..1_900_000).contains(&big.len()), "{}", big.len());
    let first = {
        let (url, client, body) = (s.url("/v2/models/mlp/infer"), s.client.clone(), big.clone());
        std::thread::spawn(move || {
            client
                .post(url)
                .body(body)
                .send()
                .map(|r| r.status().as_u16())
        })
    };
    std::thread::sleep(Duration::from_millis(400));
    let r = s.post_raw("/v2/models/mlp/infer", &big);
    assert_eq!(r.status(), 429);
    assert_eq!(header(&r, "retry-after").as_deref(), Some("1"));
    assert!(error_of(r).contains("--max-inflight-body-bytes"));
    // A small request still fits beside the large one.
    assert_eq!(s.infer("mlp", 1).status(), 200);
    assert_eq!(first.join().expect("thread").expect("answered"), 200);
    // Once it is answered, the budget is free again.
    assert_eq!(s.post_raw("/v2/models/mlp/infer", &big).status(), 200);
}
