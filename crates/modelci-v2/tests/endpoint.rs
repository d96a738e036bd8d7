//! End-to-end tests of the Open Inference Protocol client ([`modelci_v2::client`]) against
//! a real v2 server: `tests/servers/v2_server.py` serving `fixtures/models/linear.onnx` through
//! ONNX Runtime. The answers must equal those of the same model run locally.
//!
//! Needs `python3` with `numpy` and `onnxruntime`, and ONNX Runtime for the local runs; without
//! them the tests skip loudly under `modelci_test_support`'s guard, except in CI (`CI=true`),
//! where that is a failure unless `MODELCI_TEST_SKIP` opts out of `python` or `onnxruntime`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and benchmark code: a failed assumption is a failed run"
)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use modelci_net::ProxySettings;
use modelci_net::testing::ForwardProxy;
use modelci_tensor::backend::Backend;
use modelci_tensor::onnx::inspect;
use modelci_tensor::runtime::{Port, RuntimeError, runtime};
use modelci_tensor::{DType, Data, Tensor};
use modelci_test_support::{Dependency, require};
use modelci_v2::{ConnectOptions, Endpoint, signature_mismatches};

const TIMEOUT: Duration = Duration::from_secs(20);

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

/// Whether python3 with numpy and onnxruntime, and ONNX Runtime for the local run, are here;
/// without them the test skips loudly, under the test dependency guard (a failure in CI).
fn prerequisites() -> bool {
    modelci_test_support::python_servers()
        && require(
            Dependency::OnnxRuntime,
            runtime(None).map(|_| ()).map_err(|e| e.to_string()),
        )
        .is_some()
}

/// A running `v2_server.py`, killed when dropped (also when a test fails).
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(fault: &str) -> Server {
        let model = format!("linear={}", repo("fixtures/models/linear.onnx").display());
        let mut child = Command::new("python3")
            .arg(repo("tests/servers/v2_server.py"))
            .args(["--model", &model, "--fault", fault])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut server = Server {
            child,
            base: String::new(),
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the server says where it listens within 60 s");
        server.base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        server
    }

    fn connect(&self, timeout: Duration) -> Result<Endpoint, RuntimeError> {
        Endpoint::connect(&self.base, "linear", None, timeout)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Rows of iris-like features, some far out of range.
fn features() -> Tensor {
    let rows: [[f64; 4]; 6] = [
        [5.1, 3.5, 1.4, 0.2],
        [6.2, 2.9, 4.3, 1.3],
        [7.7, 3.0, 6.1, 2.3],
        [0.0, 0.0, 0.0, 0.0],
        [-1e6, 3.25e-3, 1e-7, 12345.678],
        [0.1, -0.2, 0.3, -0.4],
    ];
    let data = rows
        .iter()
        .flatten()
        .map(|x| f64::from(*x as f32))
        .collect();
    Tensor::new("input", DType::F32, vec![6, 4], Data::Float(data)).expect("tensor")
}

#[test]
fn metadata_signature_and_answers_match_the_local_model() {
    if !prerequisites() {
        return;
    }
    let server = Server::start("none");
    let endpoint = server.connect(TIMEOUT).expect("connects");
    assert_eq!(
        endpoint.inputs,
        vec![Port {
            name: "input".into(),
            dtype: Some(DType::F32),
            shape: vec![-1, 4],
        }]
    );
    let outputs: Vec<(&str, Option<DType>, &[i64])> = endpoint
        .outputs
        .iter()
        .map(|p| (p.name.as_str(), p.dtype, p.shape.as_slice()))
        .collect();
    assert_eq!(
        outputs,
        vec![
            ("probabilities", Some(DType::F32), &[-1, 3][..]),
            ("label", Some(DType::I64), &[-1][..]),
        ]
    );
    assert_eq!(endpoint.platform.as_deref(), Some("onnxruntime_onnx"));
    assert_eq!(endpoint.versions, vec!["1"]);
    assert_eq!(
        endpoint.target(),
        format!("{}/v2/models/linear", server.base)
    );

    let path = repo("fixtures/models/linear.onnx");
    let info = inspect(&path).expect("the model's signature");
    assert_eq!(signature_mismatches(&endpoint, &info), Vec::<String>::new());

    let local = runtime(None).expect("runtime").load(&path).expect("model");
    let input = features();
    let expected = local
        .run(std::slice::from_ref(&input))
        .expect("runs locally");
    let versioned = Endpoint::connect(&server.base, "linear", Some("1"), TIMEOUT).expect("v1");
    let backends: [&dyn Backend; 2] = [&endpoint, &versioned];
    for backend in backends {
        let got = backend
            .run(std::slice::from_ref(&input))
            .expect("runs remotely");
        // Same runtime, same float32 inputs, exact decimal round trips: equal to the bit.
        assert_eq!(got, expected, "{}", backend.target());
    }
    // One row at a time, from several threads on the one endpoint.
    std::thread::scope(|s| {
        for row in 0..6 {
            let (endpoint, input, expected) = (&endpoint, &input, &expected);
            s.spawn(move || {
                let one = input.slice_rows(row, 1).expect("row");
                let got = endpoint.run(&[one]).expect("runs");
                assert_eq!(got[1], expected[1].slice_rows(row, 1).expect("label"));
            });
        }
    });
}

#[test]
fn a_server_only_a_proxy_reaches_answers_through_it() {
    if !prerequisites() {
        return;
    }
    let server = Server::start("none");
    let addr = server
        .base
        .strip_prefix("http://")
        .and_then(|a| a.parse().ok())
        .expect("a loopback address");
    // A host name no resolver knows: only the proxy reaches it.
    let host = "v2.modelci.invalid";
    let proxy = ForwardProxy::start(&[(host, addr)]).expect("proxy");
    let options = ConnectOptions::new(TIMEOUT)
        .with_proxy(ProxySettings::explicit(Some(&proxy.url()), None, "").expect("settings"));
    let base = format!("http://{host}");
    let through = Endpoint::connect_with(&base, "linear", None, &options).expect("connects");
    assert_eq!(through.target(), format!("{base}/v2/models/linear"));
    let input = features();
    let got = through
        .run(std::slice::from_ref(&input))
        .expect("runs through the proxy");
    let seen = proxy.seen();
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert_eq!(seen[3].method, "POST");
    assert_eq!(seen[3].target, format!("{base}/v2/models/linear/infer"));
    // The same answer as directly: the loopback URL does not go through the proxy.
    let direct = Endpoint::connect_with(&server.base, "linear", None, &options).expect("direct");
    assert_eq!(direct.run(&[input]).expect("runs directly"), got);
    assert_eq!(proxy.seen().len(), 4);
}

#[test]
fn wrong_metadata_is_reported_as_mismatches() {
    if !prerequisites() {
        return;
    }
    let server = Server::start("wrong-metadata");
    let endpoint = server.connect(TIMEOUT).expect("connects");
    let info = inspect(&repo("fixtures/models/linear.onnx")).expect("signature");
    assert_eq!(
        signature_mismatches(&endpoint, &info),
        vec![
            "input `input`: the endpoint declares FP64, the model takes float32",
            "input `input`: the endpoint declares shape [1, 5], the model takes [batch, 4]",
        ]
    );
}

#[test]
fn refusals_name_the_url_status_and_reason() {
    if !prerequisites() {
        return;
    }
    let server = Server::start("none");
    let endpoint = server.connect(TIMEOUT).expect("connects");
    let infer = format!("{}/v2/models/linear/infer", server.base);

    let narrow =
        Tensor::new("input", DType::F32, vec![2, 3], Data::Float(vec![0.5; 6])).expect("t");
    assert_eq!(
        endpoint
            .run(&[narrow])
            .expect_err("wrong shape")
            .to_string(),
        format!(
            "{infer}: the server refused the request: answered 400 Bad Request: input 'input': unexpected shape [2, 3], the model expects [-1, 4]"
        )
    );
    let double =
        Tensor::new("input", DType::F64, vec![1, 4], Data::Float(vec![0.5; 4])).expect("t");
    let msg = endpoint.run(&[double]).expect_err("FP64").to_string();
    assert!(
        msg.ends_with("answered 400 Bad Request: input 'input': datatype 'FP64' does not match the model's FP32"),
        "{msg}"
    );
    let mut nan = features();
    nan.data = Data::Float(vec![f64::NAN; 24]);
    let msg = endpoint.run(&[nan]).expect_err("NaN").to_string();
    assert!(
        msg.contains("which the Open Inference Protocol's JSON encoding cannot carry"),
        "{msg}"
    );

    let msg = Endpoint::connect(&server.base, "nope", None, TIMEOUT)
        .expect_err("unknown model")
        .to_string();
    assert_eq!(
        msg,
        format!(
            "{}/v2/models/nope/ready: the server does not have model `nope`: answered 404 Not Found: model 'nope' is not loaded (models: linear)",
            server.base
        )
    );
    let msg = Endpoint::connect(&server.base, "linear", Some("7"), TIMEOUT)
        .expect_err("unknown version")
        .to_string();
    assert!(
        msg.contains("does not have model `linear` version `7`: answered 404 Not Found"),
        "{msg}"
    );
}

#[test]
fn a_slow_server_times_out() {
    if !prerequisites() {
        return;
    }
    let server = Server::start("slow:10");
    let endpoint = server
        .connect(Duration::from_secs(1))
        .expect("only inference is slow");
    let started = Instant::now();
    let msg = endpoint.run(&[features()]).expect_err("slow").to_string();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        msg,
        format!(
            "{}/v2/models/linear/infer: timed out after 1 s",
            server.base
        )
    );
}

#[test]
fn garbage_and_server_errors() {
    if !prerequisites() {
        return;
    }
    let server = Server::start("garbage");
    let endpoint = server.connect(TIMEOUT).expect("connects");
    assert_eq!(
        endpoint
            .run(&[features()])
            .expect_err("garbage")
            .to_string(),
        format!(
            "{}/v2/models/linear/infer: answered 200 OK with a body that is not UTF-8 text (so not JSON); it starts with b\"\\x00\\xff\\xfe<html>not json</html>\"",
            server.base
        )
    );

    let server = Server::start("error500");
    let endpoint = server.connect(TIMEOUT).expect("connects");
    assert_eq!(
        endpoint.run(&[features()]).expect_err("500").to_string(),
        format!(
            "{}/v2/models/linear/infer: the server refused the request: answered 500 Internal Server Error: injected fault: internal error",
            server.base
        )
    );
}

#[test]
fn the_server_stops_cleanly_on_sigterm() {
    if !prerequisites() {
        return;
    }
    let mut server = Server::start("none");
    server.connect(TIMEOUT).expect("connects");
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = server.child.try_wait().expect("waits") {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "still running 10 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit}");
    let msg = server
        .connect(Duration::from_secs(2))
        .expect_err("stopped")
        .to_string();
    assert!(msg.starts_with("cannot reach "), "{msg}");
}
