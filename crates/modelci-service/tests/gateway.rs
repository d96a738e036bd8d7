//! End-to-end tests of `modelci-service` as a gateway in front of a remote Open Inference
//! Protocol server (`--model NAME=http://HOST:PORT`): the built binary, started on a free port,
//! in front of either another `modelci-service` (the fixture models through ONNX Runtime) or a
//! scripted stub server in this process that records every attempt it receives (its arrival
//! time, `X-Request-Id`, `X-Attempt`, body) and answers as told (a status, after a delay).
//!
//! The tests that serve an ONNX model (the upstream service, a local fallback) need ONNX Runtime
//! (the `onnxruntime` Python package, or `ORT_DYLIB_PATH`); without it they are skipped with a
//! loud message, except in CI (`CI=true`), where that is a failure. The others need nothing.
//!
//! Timings are asserted with wide margins only: lower bounds where a wait must have happened
//! (a sleep never ends early), and upper bounds far above what is expected.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed assumption is a failed run"
)]

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path as FsPath, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use modelci_tensor::runtime::runtime;
use modelci_tensor::{DType, Data, Tensor};
use reqwest::blocking::Client;
use serde_json::{Value, json};

const STARTUP: Duration = Duration::from_secs(60);

fn repo(rel: &str) -> PathBuf {
    FsPath::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

/// Whether ONNX Runtime is here (see the module docs).
fn prerequisites() -> bool {
    modelci_test_support::require(
        modelci_test_support::Dependency::OnnxRuntime,
        runtime(None).map(|_| ()).map_err(|e| e.to_string()),
    )
    .is_some()
}

// ---------------------------------------------------------------------------------------------
// The service under test.

/// A running `modelci-service`, killed when dropped. Its stderr is kept (and shown).
struct Service {
    child: Child,
    base: String,
    client: Client,
    stderr: Arc<Mutex<String>>,
}

/// A finished answer: status, headers, body.
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn error(&self) -> &str {
        self.body["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error string in {}", self.body))
    }
}

impl Service {
    fn start(args: &[&str]) -> Service {
        let mut child = Command::new(env!("CARGO_BIN_EXE_modelci-service"))
            .args(["--host", "127.0.0.1", "--port", "0", "--device", "cpu"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("modelci-service starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        {
            let pipe = child.stderr.take().expect("stderr");
            let kept = Arc::clone(&stderr);
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    eprintln!("[service] {line}");
                    let mut kept = kept.lock().unwrap();
                    kept.push_str(&line);
                    kept.push('\n');
                }
            });
        }
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(STARTUP).expect("the `listening on` line");
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Service {
            child,
            base,
            client: Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            stderr,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn post_with(&self, path: &str, body: &Value, request_id: Option<&str>) -> Answer {
        let mut request = self
            .client
            .post(self.url(path))
            .header("Content-Type", "application/json")
            .body(body.to_string());
        if let Some(id) = request_id {
            request = request.header("X-Request-Id", id);
        }
        let r = request.send().expect("POST");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().expect("body");
        let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON body: {text}"));
        Answer {
            status,
            headers,
            body,
        }
    }

    fn post(&self, path: &str, body: &Value) -> Answer {
        self.post_with(path, body, None)
    }

    fn get(&self, path: &str) -> Value {
        self.client
            .get(self.url(path))
            .send()
            .expect("GET")
            .json()
            .expect("json")
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `modelci-service` expecting it to stop on its own: its exit code and stderr.
fn run_to_exit(args: &[&str], limit: Duration) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_modelci-service"))
        .args(["--host", "127.0.0.1", "--port", "0", "--device", "cpu"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let mut pipe = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (status.code(), reader.join().expect("stderr"))
}

// ---------------------------------------------------------------------------------------------
// A scripted v2 server.

/// What the stub does with one inference request.
#[derive(Debug, Clone, Copy)]
struct Step {
    status: u16,
    delay_ms: u64,
}

const fn answer(status: u16) -> Step {
    Step {
        status,
        delay_ms: 0,
    }
}

const fn late(status: u16, delay_ms: u64) -> Step {
    Step { status, delay_ms }
}

/// The model shapes the stub declares.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// `input` FP32 [-1, 4] -> `sum` FP32 [-1] (the sum of each row).
    Sum,
    /// `fixtures/models/mlp.onnx`'s signature (answers are zeros).
    Mlp,
}

struct Behaviour {
    shape: Shape,
    script: VecDeque<Step>,
    then: Step,
}

/// One inference request as the stub received it.
#[derive(Debug, Clone)]
struct Hit {
    model: String,
    at: Instant,
    request_id: Option<String>,
    attempt: Option<String>,
    body: Value,
}

#[derive(Default)]
struct StubState {
    models: Mutex<HashMap<String, Behaviour>>,
    hits: Mutex<Vec<Hit>>,
}

/// A v2 server in this process (see the module docs); it lives until the test ends.
struct Stub {
    base: String,
    state: Arc<StubState>,
}

impl Stub {
    fn start() -> Stub {
        Stub::start_on("127.0.0.1:0", &[])
    }

    /// Listens on `address`, serving the `preset` models from the start (name, shape, answer).
    fn start_on(address: &str, preset: &[(&str, Shape, Step)]) -> Stub {
        let state = Arc::new(StubState::default());
        for (name, shape, then) in preset {
            state.models.lock().unwrap().insert(
                (*name).to_owned(),
                Behaviour {
                    shape: *shape,
                    script: VecDeque::new(),
                    then: *then,
                },
            );
        }
        let app = Router::new()
            .route("/v2/models/{name}", get(stub_metadata))
            .route("/v2/models/{name}/infer", post(stub_infer))
            .with_state(Arc::clone(&state));
        let (tx, rx) = mpsc::channel();
        let address = address.to_owned();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("tokio");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind(&address)
                    .await
                    .expect("the stub listens");
                tx.send(listener.local_addr().expect("address"))
                    .expect("send");
                axum::serve(listener, app).await.expect("the stub serves");
            });
        });
        let address = rx.recv_timeout(STARTUP).expect("the stub's address");
        Stub {
            base: format!("http://{address}"),
            state,
        }
    }

    /// Serves model `name`: the steps of `script` in turn, then `then` for ever.
    fn model(&self, name: &str, shape: Shape, script: &[Step], then: Step) {
        self.state.models.lock().unwrap().insert(
            name.to_owned(),
            Behaviour {
                shape,
                script: script.iter().copied().collect(),
                then,
            },
        );
    }

    /// The requests model `name` received so far, in order.
    fn hits(&self, name: &str) -> Vec<Hit> {
        self.state
            .hits
            .lock()
            .unwrap()
            .iter()
            .filter(|h| h.model == name)
            .cloned()
            .collect()
    }

    fn clear(&self) {
        self.state.hits.lock().unwrap().clear();
    }

    /// `--model` for `name` served by this stub.
    fn arg(&self, name: &str) -> String {
        format!("{name}={}", self.base)
    }

    fn infer_url(&self, name: &str) -> String {
        format!("{}/v2/models/{name}/infer", self.base)
    }
}

fn port(name: &str, datatype: &str, shape: Value) -> Value {
    json!({"name": name, "datatype": datatype, "shape": shape})
}

async fn stub_metadata(State(st): State<Arc<StubState>>, Path(name): Path<String>) -> Response {
    let shape = st.models.lock().unwrap().get(&name).map(|b| b.shape);
    let (inputs, outputs) = match shape {
        None => {
            return (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"error": format!("no model {name}")})),
            )
                .into_response();
        }
        Some(Shape::Sum) => (
            vec![port("input", "FP32", json!([-1, 4]))],
            vec![port("sum", "FP32", json!([-1]))],
        ),
        Some(Shape::Mlp) => (
            vec![port("input", "FP32", json!([-1, 20]))],
            vec![
                port("label", "INT64", json!([-1])),
                port("probabilities", "FP32", json!([-1, 3])),
            ],
        ),
    };
    axum::Json(json!({
        "name": name, "versions": ["1"], "platform": "stub_platform",
        "inputs": inputs, "outputs": outputs,
    }))
    .into_response()
}

async fn stub_infer(
    State(st): State<Arc<StubState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let text = |h: &str| {
        headers
            .get(h)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    st.hits.lock().unwrap().push(Hit {
        model: name.clone(),
        at: Instant::now(),
        request_id: text("x-request-id"),
        attempt: text("x-attempt"),
        body: body.clone(),
    });
    let (step, shape) = {
        let mut models = st.models.lock().unwrap();
        let Some(b) = models.get_mut(&name) else {
            return StatusCode::NOT_FOUND.into_response();
        };
        (b.script.pop_front().unwrap_or(b.then), b.shape)
    };
    if step.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(step.delay_ms)).await;
    }
    if step.status != 200 {
        let status = StatusCode::from_u16(step.status).expect("status");
        let mut r = (
            status,
            axum::Json(json!({"error": format!("stub says {}", step.status)})),
        )
            .into_response();
        if step.status == 429 {
            r.headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from_static("7"));
        }
        return r;
    }
    let input = &body["inputs"][0];
    let rows = input["shape"][0].as_u64().unwrap_or(0) as usize;
    let data: Vec<f64> = input["data"]
        .as_array()
        .map(|d| d.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    let outputs = match shape {
        Shape::Sum => {
            let sums: Vec<f64> = data.chunks(4).map(|r| r.iter().sum()).collect();
            json!([{"name": "sum", "datatype": "FP32", "shape": [rows], "data": sums}])
        }
        Shape::Mlp => json!([
            {"name": "label", "datatype": "INT64", "shape": [rows], "data": vec![0; rows]},
            {"name": "probabilities", "datatype": "FP32", "shape": [rows, 3], "data": vec![0.0; rows * 3]},
        ]),
    };
    axum::Json(json!({"model_name": name, "outputs": outputs})).into_response()
}

/// A request for the stub's `Sum` models: two rows.
fn sum_request() -> Value {
    json!({"inputs": [{"name": "input", "shape": [2, 4], "datatype": "FP32", "data": [1, 2, 3, 4, 0.5, 0.25, 0, -1]}]})
}

/// The same, not idempotent.
fn sum_request_not_idempotent() -> Value {
    let mut r = sum_request();
    r["parameters"] = json!({"idempotent": false});
    r
}

/// Gaps between successive arrivals.
fn gaps(hits: &[Hit]) -> Vec<Duration> {
    hits.windows(2).map(|w| w[1].at - w[0].at).collect()
}

// ---------------------------------------------------------------------------------------------
// The fixture models, for the tests against a real upstream service.

fn model_arg(name: &str, file: &str, fallback: Option<&str>) -> String {
    let mut arg = format!("{name}={}", repo(file).display());
    if let Some(f) = fallback {
        arg.push_str(&format!(",fallback={}", repo(f).display()));
    }
    arg
}

fn rows(n: usize, width: usize) -> Vec<f32> {
    (0..n * width)
        .map(|k| ((k as f64 * 0.37).sin() * 2.5) as f32)
        .collect()
}

fn mlp_request(n: usize) -> Value {
    json!({"inputs": [{"name": "input", "shape": [n, 20], "datatype": "FP32", "data": rows(n, 20)}]})
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

/// Checks a response's outputs against locally computed ones, exactly at float32.
fn assert_outputs_equal(body: &Value, expected: &[Tensor]) {
    let outputs = body["outputs"].as_array().expect("outputs");
    for t in expected {
        let o = outputs
            .iter()
            .find(|o| o["name"] == t.name.as_str())
            .unwrap_or_else(|| panic!("output {} in {body}", t.name));
        assert_eq!(o["shape"], json!(t.shape), "{}", t.name);
        match &t.data {
            Data::Int(v) => assert_eq!(o["data"], json!(v), "{}", t.name),
            Data::Float(v) => {
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

// ---------------------------------------------------------------------------------------------
// The tests.

#[test]
fn a_gateway_serves_a_remote_service_and_falls_back_when_it_fails_or_is_down() {
    if !prerequisites() {
        return;
    }
    let mut upstream = Service::start(&[
        "--model",
        &model_arg("mlp", "fixtures/models/mlp.onnx", None),
        "--enable-faults",
        // Its own breaker stays closed: the gateway's is the one under test.
        "--breaker-failures",
        "1000",
    ]);
    let fallback = repo("fixtures/models/mlp_fallback.onnx");
    let gateway = Service::start(&[
        "--model",
        &format!("mlp={},fallback={}", upstream.base, fallback.display()),
        "--retries",
        "2",
        "--retry-backoff-ms",
        "10",
        "--breaker-failures",
        "2",
        "--breaker-cooldown-ms",
        "1500",
    ]);
    // The same metadata as the upstream's, under the gateway's name and version.
    assert_eq!(
        gateway.get("/v2/models/mlp"),
        upstream.get("/v2/models/mlp")
    );

    // The same outputs as the model run here, and as the upstream's own answer.
    let primary = local("fixtures/models/mlp.onnx", 5);
    let through = gateway.post_with("/v2/models/mlp/infer", &mlp_request(5), Some("req-1"));
    assert_eq!(through.status, 200, "{}", through.body);
    assert_eq!(through.header("x-request-id"), Some("req-1"));
    assert_eq!(through.header("x-model-fallback"), Some("false"));
    assert_eq!(
        through.body["parameters"],
        json!({"served_by": "primary", "breaker": "closed"})
    );
    assert_outputs_equal(&through.body, &primary);
    let direct = upstream.post("/v2/models/mlp/infer", &mlp_request(5));
    assert_eq!(through.body["outputs"], direct.body["outputs"]);

    // The upstream fails: each request is tried 3 times, then 502; two of them open the
    // breaker, and the fallback answers.
    let r = upstream.post("/faults", &json!({"model": "mlp", "fail": true}));
    assert_eq!(r.status, 200);
    let upstream_url = format!("{}/v2/models/mlp/infer", upstream.base);
    for _ in 0..2 {
        let r = gateway.post_with("/v2/models/mlp/infer", &mlp_request(3), Some("req-2"));
        assert_eq!(r.status, 502, "{}", r.body);
        assert_eq!(r.header("x-request-id"), Some("req-2"));
        let e = r.error();
        assert!(
            e.starts_with(&format!(
                "model `mlp`: the remote model at {upstream_url} failed after 3 attempt(s); the last: answered 500 Internal Server Error: model `mlp` failed: injected fault"
            )),
            "{e}"
        );
    }
    let fallback_outputs = local("fixtures/models/mlp_fallback.onnx", 3);
    let r = gateway.post("/v2/models/mlp/infer", &mlp_request(3));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("x-model-fallback"), Some("true"));
    assert_eq!(
        r.body["parameters"],
        json!({"served_by": "fallback", "breaker": "open"})
    );
    assert_outputs_equal(&r.body, &fallback_outputs);
    assert!(gateway.stderr().contains(
        "model `mlp`: circuit breaker open after 2 consecutive failures; serving the fallback"
    ));

    // The upstream recovers: after the cooldown the trial reaches it and closes the breaker.
    let r = upstream
        .client
        .delete(upstream.url("/faults"))
        .send()
        .expect("DELETE");
    assert_eq!(r.status(), 200);
    std::thread::sleep(Duration::from_millis(1_700));
    let r = gateway.post("/v2/models/mlp/infer", &mlp_request(3));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["parameters"],
        json!({"served_by": "primary", "breaker": "closed"})
    );

    // The upstream goes down: connections are refused, the breaker opens, the fallback answers.
    let _ = upstream.child.kill();
    let _ = upstream.child.wait();
    for _ in 0..2 {
        let r = gateway.post("/v2/models/mlp/infer", &mlp_request(3));
        assert_eq!(r.status, 502, "{}", r.body);
        let e = r.error();
        assert!(
            e.contains(&format!("the remote model at {upstream_url} failed after 3 attempt(s); the last: cannot connect")),
            "{e}"
        );
    }
    let r = gateway.post("/v2/models/mlp/infer", &mlp_request(3));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("x-model-fallback"), Some("true"));
    assert_outputs_equal(&r.body, &fallback_outputs);
}

#[test]
fn retries_back_off_with_growing_jittered_gaps_and_carry_the_request_id() {
    let stub = Stub::start();
    stub.model("sum", Shape::Sum, &[answer(503), answer(503)], answer(200));
    let gateway = Service::start(&[
        "--model",
        &stub.arg("sum"),
        "--retries",
        "2",
        "--retry-backoff-ms",
        "200",
    ]);
    // The metadata comes from the remote server.
    let meta = gateway.get("/v2/models/sum");
    assert_eq!(meta["platform"], "stub_platform");
    assert_eq!(
        meta["inputs"],
        json!([port("input", "FP32", json!([-1, 4]))])
    );

    let r = gateway.post_with("/v2/models/sum/infer", &sum_request(), Some("trace-7"));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("x-request-id"), Some("trace-7"));
    assert_eq!(r.body["outputs"][0]["name"], "sum");
    assert_eq!(r.body["outputs"][0]["data"], json!([10.0, -0.25]));
    assert_eq!(r.body["parameters"]["served_by"], "primary");
    let hits = stub.hits("sum");
    assert_eq!(hits.len(), 3);
    for (k, hit) in hits.iter().enumerate() {
        assert_eq!(hit.request_id.as_deref(), Some("trace-7"));
        assert_eq!(hit.attempt, Some((k + 1).to_string()));
        let sent: Vec<f64> = hit.body["inputs"][0]["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|v| v.as_f64().expect("a number"))
            .collect();
        assert_eq!(sent, [1.0, 2.0, 3.0, 4.0, 0.5, 0.25, 0.0, -1.0]);
        assert_eq!(hit.body["inputs"][0]["shape"], json!([2, 4]));
        assert_eq!(hit.body["inputs"][0]["datatype"], "FP32");
    }
    // Equal jitter: the first gap in [100, 200] ms, the second in [200, 400] ms.
    let g = gaps(&hits);
    assert!(g[0] >= Duration::from_millis(95), "{g:?}");
    assert!(g[1] >= Duration::from_millis(190), "{g:?}");
    assert!(g[1] + Duration::from_millis(20) > g[0], "{g:?}");
    assert!(g.iter().all(|g| *g < Duration::from_secs(5)), "{g:?}");

    // Without an X-Request-Id, none is sent (and none is echoed); X-Attempt still is.
    stub.clear();
    stub.model("sum", Shape::Sum, &[], answer(200));
    let r = gateway.post("/v2/models/sum/infer", &sum_request());
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-request-id"), None);
    let hits = stub.hits("sum");
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].request_id, None);
    assert_eq!(hits[0].attempt.as_deref(), Some("1"));

    // The backoff is random per request: the first gaps of six requests are spread out.
    let mut first_gaps = Vec::new();
    for _ in 0..6 {
        stub.clear();
        stub.model("sum", Shape::Sum, &[answer(503)], answer(200));
        assert_eq!(
            gateway.post("/v2/models/sum/infer", &sum_request()).status,
            200
        );
        first_gaps.push(gaps(&stub.hits("sum"))[0]);
    }
    assert!(
        first_gaps.iter().all(|g| *g >= Duration::from_millis(95)),
        "{first_gaps:?}"
    );
    let spread = *first_gaps.iter().max().unwrap() - *first_gaps.iter().min().unwrap();
    assert!(spread >= Duration::from_millis(10), "{first_gaps:?}");
}

#[test]
fn only_idempotent_requests_are_retried_and_4xx_never() {
    let stub = Stub::start();
    stub.model("sum", Shape::Sum, &[], answer(503));
    let args = |extra: &[&str]| {
        let mut a = vec![
            "--model".to_owned(),
            stub.arg("sum"),
            "--retries".to_owned(),
            "3".to_owned(),
            "--retry-backoff-ms".to_owned(),
            "5".to_owned(),
        ];
        a.extend(extra.iter().map(|s| (*s).to_owned()));
        a
    };
    let a = args(&[]);
    let gateway = Service::start(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let url = stub.infer_url("sum");

    // 503 every time: 4 attempts, then 502 naming the upstream and the last failure.
    let r = gateway.post_with("/v2/models/sum/infer", &sum_request(), Some("a-1"));
    assert_eq!(r.status, 502);
    assert_eq!(r.header("x-request-id"), Some("a-1"));
    assert_eq!(
        r.error(),
        format!(
            "model `sum`: the remote model at {url} failed after 4 attempt(s); the last: answered 503 Service Unavailable: stub says 503"
        )
    );
    assert_eq!(stub.hits("sum").len(), 4);
    // Every answer echoes the request id, a 404 too.
    let r = gateway.post_with("/v2/models/nope/infer", &sum_request(), Some("a-2"));
    assert_eq!(r.status, 404);
    assert_eq!(r.header("x-request-id"), Some("a-2"));

    // Not idempotent: one attempt only.
    stub.clear();
    let r = gateway.post("/v2/models/sum/infer", &sum_request_not_idempotent());
    assert_eq!(r.status, 502);
    assert_eq!(
        r.error(),
        format!(
            "model `sum`: the remote model at {url} failed after 1 attempt(s) (the request is not idempotent: it is never retried); the last: answered 503 Service Unavailable: stub says 503"
        )
    );
    assert_eq!(stub.hits("sum").len(), 1);
    let r = gateway.post(
        "/v2/models/sum/infer",
        &json!({"parameters": {"idempotent": "no"}, "inputs": sum_request()["inputs"]}),
    );
    assert_eq!(r.status, 400);
    assert!(
        r.error()
            .contains("`parameters.idempotent` must be true or false")
    );

    // A 4xx is passed on at once, never retried (Retry-After too).
    for status in [400u16, 404, 429] {
        stub.clear();
        stub.model("sum", Shape::Sum, &[answer(status)], answer(200));
        let r = gateway.post("/v2/models/sum/infer", &sum_request());
        assert_eq!(r.status, status, "{}", r.body);
        assert!(
            r.error().starts_with(&format!(
                "model `sum`: the remote model at {url} refused the request with {status} "
            )),
            "{}",
            r.error()
        );
        assert!(r.error().ends_with(&format!(": stub says {status}")));
        assert_eq!(r.header("retry-after"), (status == 429).then_some("7"));
        assert_eq!(stub.hits("sum").len(), 1, "{status}");
    }
    // Other failures, then success: retried, transparent to the client.
    for failure in [500u16, 502, 504] {
        stub.clear();
        stub.model("sum", Shape::Sum, &[answer(failure)], answer(200));
        assert_eq!(
            gateway.post("/v2/models/sum/infer", &sum_request()).status,
            200
        );
        assert_eq!(stub.hits("sum").len(), 2, "{failure}");
    }
    // 501 is not a transient failure: not retried, 502.
    stub.clear();
    stub.model("sum", Shape::Sum, &[answer(501)], answer(200));
    let r = gateway.post("/v2/models/sum/infer", &sum_request());
    assert_eq!(r.status, 502);
    assert!(
        r.error()
            .contains("gave an unusable answer (attempt 1): answered 501")
    );
    assert_eq!(stub.hits("sum").len(), 1);
    drop(gateway);

    // Broken on purpose: non-idempotent requests are retried.
    stub.clear();
    stub.model("sum", Shape::Sum, &[], answer(503));
    let a = args(&["--broken", "retry-non-idempotent"]);
    let broken = Service::start(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        broken
            .post("/v2/models/sum/infer", &sum_request_not_idempotent())
            .status,
        502
    );
    assert_eq!(stub.hits("sum").len(), 4);
    assert!(broken.stderr().contains(
        "modelci-service: BROKEN on purpose, for tests only (--broken retry-non-idempotent): non-idempotent requests are retried"
    ));
}

#[test]
fn the_breaker_counts_one_outcome_per_request_unless_broken() {
    let stub = Stub::start();
    stub.model("sum", Shape::Sum, &[], answer(503));
    let args = |broken: Option<&str>| {
        let mut a = vec![
            "--model".to_owned(),
            stub.arg("sum"),
            "--retries".to_owned(),
            "2".to_owned(),
            "--retry-backoff-ms".to_owned(),
            "5".to_owned(),
            "--breaker-failures".to_owned(),
            "2".to_owned(),
            "--breaker-cooldown-ms".to_owned(),
            "60000".to_owned(),
        ];
        if let Some(kind) = broken {
            a.push("--broken".to_owned());
            a.push(kind.to_owned());
        }
        a
    };
    let a = args(None);
    let gateway = Service::start(&a.iter().map(String::as_str).collect::<Vec<_>>());
    // Two requests of three failed attempts each: two failures, not six.
    assert_eq!(
        gateway.post("/v2/models/sum/infer", &sum_request()).status,
        502
    );
    assert_eq!(stub.hits("sum").len(), 3);
    assert!(!gateway.stderr().contains("circuit breaker open"));
    assert_eq!(
        gateway.post("/v2/models/sum/infer", &sum_request()).status,
        502
    );
    assert_eq!(stub.hits("sum").len(), 6);
    // Open, no fallback: 503 without asking the upstream.
    let r = gateway.post("/v2/models/sum/infer", &sum_request());
    assert_eq!(r.status, 503);
    assert!(r.header("retry-after").is_some());
    assert!(
        r.error().contains("circuit breaker is open"),
        "{}",
        r.error()
    );
    assert_eq!(stub.hits("sum").len(), 6);
    drop(gateway);

    // Broken on purpose: the breaker never opens; every request reaches the upstream.
    stub.clear();
    let a = args(Some("no-breaker"));
    let broken = Service::start(&a.iter().map(String::as_str).collect::<Vec<_>>());
    for _ in 0..4 {
        assert_eq!(
            broken.post("/v2/models/sum/infer", &sum_request()).status,
            502
        );
    }
    assert_eq!(stub.hits("sum").len(), 12);
    assert!(broken.stderr().contains(
        "modelci-service: BROKEN on purpose, for tests only (--broken no-breaker): the circuit breaker never opens"
    ));
}

#[test]
fn the_deadline_bounds_the_attempts_unless_broken() {
    let stub = Stub::start();
    // Hangs for 2.5 s, then answers.
    stub.model("slow", Shape::Sum, &[], late(200, 2_500));
    // 503 after 150 ms, every time.
    stub.model("flaky", Shape::Sum, &[], late(503, 150));
    let common = [
        "--model".to_owned(),
        stub.arg("slow"),
        "--model".to_owned(),
        stub.arg("flaky"),
        "--deadline-ms".to_owned(),
        "500".to_owned(),
        "--retries".to_owned(),
        "5".to_owned(),
        "--retry-backoff-ms".to_owned(),
        "50".to_owned(),
        "--max-concurrency".to_owned(),
        "4".to_owned(),
    ];
    let start = |extra: &[&str]| {
        let mut a: Vec<&str> = common.iter().map(String::as_str).collect();
        a.extend_from_slice(extra);
        Service::start(&a)
    };
    let gateway = start(&[]);
    // The attempt is cut at the deadline: 504, long before the upstream would answer.
    let started = Instant::now();
    let r = gateway.post("/v2/models/slow/infer", &sum_request());
    assert_eq!(r.status, 504, "{}", r.body);
    assert!(started.elapsed() < Duration::from_millis(2_000));
    assert_eq!(
        r.error(),
        format!(
            "deadline of 500 ms exceeded while waiting for the remote model at {} (1 attempt(s)) (model `slow`; the limit is --deadline-ms)",
            stub.infer_url("slow")
        )
    );
    assert_eq!(stub.hits("slow").len(), 1);
    // Retries stop at the deadline: no attempt starts past it.
    let started = Instant::now();
    let r = gateway.post("/v2/models/flaky/infer", &sum_request());
    assert!(matches!(r.status, 502 | 504), "{}", r.body);
    assert!(started.elapsed() < Duration::from_millis(2_000));
    let hits = stub.hits("flaky");
    assert!((1..=4).contains(&hits.len()), "{hits:?}");
    assert!(
        hits.iter()
            .all(|h| h.at.duration_since(started) < Duration::from_millis(500)),
        "{:?}",
        hits.iter()
            .map(|h| h.at.duration_since(started))
            .collect::<Vec<_>>()
    );
    drop(gateway);

    // Broken on purpose: no deadline, the gateway waits for the slow upstream.
    stub.clear();
    let broken = start(&["--broken", "no-deadline"]);
    let started = Instant::now();
    let r = broken.post("/v2/models/slow/infer", &sum_request());
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(started.elapsed() >= Duration::from_millis(2_400));
    drop(broken);

    // Broken on purpose: retries at once, past the deadline. The client gets its 504 but all
    // six attempts reach the upstream, back to back.
    stub.clear();
    let broken = start(&["--broken", "retry-no-backoff"]);
    let started = Instant::now();
    let r = broken.post("/v2/models/flaky/infer", &sum_request());
    assert_eq!(r.status, 504, "{}", r.body);
    let waited = Instant::now();
    while stub.hits("flaky").len() < 6 && waited.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let hits = stub.hits("flaky");
    assert_eq!(hits.len(), 6);
    assert!(hits.last().unwrap().at.duration_since(started) >= Duration::from_millis(500));
    assert!(broken.stderr().contains("(--broken retry-no-backoff)"));
}

#[test]
fn retries_without_backoff_come_back_to_back_when_broken() {
    let stub = Stub::start();
    stub.model("sum", Shape::Sum, &[], answer(503));
    let start = |extra: &[&str]| {
        let model = stub.arg("sum");
        let mut a = vec![
            "--model",
            &model,
            "--retries",
            "3",
            "--retry-backoff-ms",
            "300",
        ];
        a.extend_from_slice(extra);
        Service::start(&a)
    };
    let gateway = start(&[]);
    assert_eq!(
        gateway.post("/v2/models/sum/infer", &sum_request()).status,
        502
    );
    let g = gaps(&stub.hits("sum"));
    assert_eq!(g.len(), 3);
    assert!(g[0] >= Duration::from_millis(145), "{g:?}");
    assert!(g[1] >= Duration::from_millis(295), "{g:?}");
    assert!(g[2] >= Duration::from_millis(595), "{g:?}");
    drop(gateway);

    stub.clear();
    let broken = start(&["--broken", "retry-no-backoff"]);
    assert_eq!(
        broken.post("/v2/models/sum/infer", &sum_request()).status,
        502
    );
    let g = gaps(&stub.hits("sum"));
    assert_eq!(g.len(), 3);
    assert!(g.iter().all(|g| *g < Duration::from_millis(140)), "{g:?}");
}

#[test]
fn each_model_has_its_own_bulkhead_unless_the_pool_is_shared() {
    let stub = Stub::start();
    stub.model("a", Shape::Sum, &[], late(200, 1_500));
    stub.model("b", Shape::Sum, &[], answer(200));
    let start = |extra: &[&str]| {
        let (a, b) = (stub.arg("a"), stub.arg("b"));
        let mut args = vec![
            "--model",
            &a,
            "--model",
            &b,
            "--max-concurrency",
            "1",
            "--max-queue",
            "0",
        ];
        args.extend_from_slice(extra);
        Service::start(&args)
    };
    // While a's only slot is held, b answers (its own bulkhead), or gets 429 when broken.
    for (extra, b_status) in [(&[][..], 200u16), (&["--broken", "shared-pool"][..], 429)] {
        stub.clear();
        let gateway = start(extra);
        let (url, client) = (gateway.url("/v2/models/a/infer"), gateway.client.clone());
        let a = std::thread::spawn(move || {
            client
                .post(url)
                .body(sum_request().to_string())
                .send()
                .map(|r| r.status().as_u16())
        });
        let waited = Instant::now();
        while stub.hits("a").is_empty() && waited.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(10));
        }
        let r = gateway.post("/v2/models/b/infer", &sum_request());
        assert_eq!(r.status, b_status, "{extra:?}: {}", r.body);
        if b_status == 429 {
            assert!(
                r.error().starts_with("model `b` is at capacity"),
                "{}",
                r.error()
            );
            assert!(stub.hits("b").is_empty());
        }
        assert_eq!(a.join().expect("thread").expect("answered"), 200);
    }
}

#[test]
fn the_fallback_stands_in_for_a_remote_model_unless_broken() {
    if !prerequisites() {
        return;
    }
    let stub = Stub::start();
    stub.model("mlp", Shape::Mlp, &[], answer(503));
    stub.model("sum", Shape::Sum, &[], answer(200));
    let fallback = repo("fixtures/models/mlp_fallback.onnx");
    let model = format!("mlp={},fallback={}", stub.base, fallback.display());
    let common = [
        "--model",
        &model,
        "--retries",
        "0",
        "--breaker-failures",
        "1",
        "--breaker-cooldown-ms",
        "60000",
    ];
    let gateway = Service::start(&common);
    assert_eq!(
        gateway.post("/v2/models/mlp/infer", &mlp_request(2)).status,
        502
    );
    let r = gateway.post("/v2/models/mlp/infer", &mlp_request(2));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("x-model-fallback"), Some("true"));
    assert_outputs_equal(&r.body, &local("fixtures/models/mlp_fallback.onnx", 2));
    assert_eq!(stub.hits("mlp").len(), 1);
    drop(gateway);

    let mut args = common.to_vec();
    args.extend(["--broken", "no-fallback"]);
    let broken = Service::start(&args);
    assert_eq!(
        broken.post("/v2/models/mlp/infer", &mlp_request(2)).status,
        502
    );
    let r = broken.post("/v2/models/mlp/infer", &mlp_request(2));
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(
        r.error(),
        "model `mlp` is unavailable: its circuit breaker is open after repeated failures and its fallback is disabled (--broken no-fallback)"
    );
    assert!(broken.stderr().contains(
        "(--broken no-fallback): the fallback is never used (503 while the breaker is open)"
    ));
    drop(broken);

    // A fallback must have the remote model's signature.
    let wrong = format!("sum={},fallback={}", stub.base, fallback.display());
    let (code, err) = run_to_exit(&["--model", &wrong], Duration::from_secs(60));
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "model `sum`: the fallback `{}` cannot stand in for `{}/v2/models/sum`",
            fallback.display(),
            stub.base
        )),
        "{err}"
    );
}

#[test]
fn startup_waits_for_the_remote_server_then_gives_up_naming_it() {
    // Nothing listens there: exit 2 once --remote-wait-ms has passed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = closed.local_addr().expect("address");
    drop(closed);
    let started = Instant::now();
    let (code, err) = run_to_exit(
        &[
            "--model",
            &format!("m=http://{address}"),
            "--remote-wait-ms",
            "1200",
        ],
        Duration::from_secs(30),
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(started.elapsed() >= Duration::from_millis(1_000));
    assert!(
        err.contains(&format!(
            "modelci-service: model `m`: waiting for the remote server at http://{address}/v2/models/m (cannot connect"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "modelci-service: error: model `m`: the remote server at http://{address}/v2/models/m did not answer the model's metadata within 1200 ms ("
        )),
        "{err}"
    );

    // A server that does not know the model: exit 2 at once.
    let stub = Stub::start();
    let (code, err) = run_to_exit(
        &["--model", &format!("m={},remote_name=nope", stub.base)],
        Duration::from_secs(30),
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "model `m`: the remote model at {}/v2/models/nope: answered 404 Not Found: no model nope",
            stub.base
        )),
        "{err}"
    );

    // A server that comes up late is waited for.
    let late_port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = late_port.local_addr().expect("address");
    drop(late_port);
    let starter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1_200));
        Stub::start_on(&address.to_string(), &[("late", Shape::Sum, answer(200))])
    });
    let gateway = Service::start(&[
        "--model",
        &format!("m=http://{address},remote_name=late"),
        "--remote-wait-ms",
        "20000",
    ]);
    let stub = starter.join().expect("the stub starts");
    let r = gateway.post("/v2/models/m/infer", &sum_request());
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(stub.hits("late").len(), 1);
}
