//! The service's Prometheus metrics (`GET /metrics`): the built binary, started on a free port
//! with the fixture models, asked for successful, failing, fallback, refused and late
//! inferences; the exposition is parsed here and its counts checked. Then a real Prometheus
//! server scrapes two services that serve two versions of a model, and its query API tells the
//! versions apart (what `modelci canary judge` relies on).
//!
//! Needs ONNX Runtime (the `onnxruntime` Python package, or `ORT_DYLIB_PATH`), and for the last
//! test a Prometheus server binary (`MODELCI_TEST_PROMETHEUS`, which `scripts/test` sets from
//! `scripts/prometheus`, or `prometheus` on PATH); without them the tests are skipped with a loud
//! message, except in CI (`CI=true`), where that is a failure unless `MODELCI_TEST_SKIP` opts out
//! of `onnxruntime` or `prometheus`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed assumption is a failed run"
)]

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use modelci_tensor::runtime::runtime;
use reqwest::blocking::{Client, Response};
use serde_json::{Value, json};

const STARTUP: Duration = Duration::from_secs(60);

/// The `Content-Type` of the Prometheus text exposition format 0.0.4.
const EXPOSITION: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The latency histogram's bucket bounds, as the exposition writes them.
const BUCKETS: [&str; 14] = [
    "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5",
    "10", "+Inf",
];

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

/// Whether ONNX Runtime is here (else a loud skip, or a failure under `CI=true`).
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

    /// `127.0.0.1:PORT`, a scrape target.
    fn address(&self) -> &str {
        self.base.trim_start_matches("http://")
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

    /// Posts an inference and checks its status and whether the fallback answered.
    fn infer(&self, path: &str, body: &Value, status: u16, fallback: bool) {
        let r = self.post(path, body);
        assert_eq!(r.status(), status, "{path}");
        if status == 200 {
            assert_eq!(
                r.headers()["x-model-fallback"],
                if fallback { "true" } else { "false" },
                "{path}"
            );
        }
    }

    fn fault(&self, model: &str, fail: bool, delay_ms: u64) {
        let r = self.post(
            "/faults",
            &json!({"model": model, "fail": fail, "delay_ms": delay_ms}),
        );
        assert_eq!(r.status(), 200, "{:?}", r.text());
    }

    /// `GET /metrics`, checked for its status and content type, parsed.
    fn metrics(&self) -> Exposition {
        let r = self.get("/metrics");
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], EXPOSITION);
        Exposition::parse(&r.text().expect("text"))
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Deterministic rows of 20 float32 features (the MLP's input).
fn mlp_request(n: usize) -> Value {
    let data: Vec<f32> = (0..n * 20)
        .map(|k| ((k as f64 * 0.37).sin() * 2.5) as f32)
        .collect();
    json!({"inputs": [{"name": "input", "shape": [n, 20], "datatype": "FP32", "data": data}]})
}

fn linear_request() -> Value {
    json!({"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]})
}

/// One sample of an exposition: `name{labels} value`.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A parsed Prometheus text exposition (format 0.0.4).
#[derive(Debug)]
struct Exposition {
    /// `# TYPE` of each metric family.
    types: BTreeMap<String, String>,
    samples: Vec<Sample>,
    text: String,
}

impl Exposition {
    /// Parses `text`, panicking on a line that is not a comment, a `# HELP`/`# TYPE` line or a
    /// sample, on a sample of a family without a `# TYPE` before it, and on a sample given twice.
    fn parse(text: &str) -> Exposition {
        let mut types = BTreeMap::new();
        let mut samples: Vec<Sample> = Vec::new();
        for line in text.lines() {
            if line.trim().is_empty() {
                continue;
            }
            if let Some(comment) = line.strip_prefix('#') {
                let mut words = comment.split_whitespace();
                match words.next() {
                    Some("TYPE") => {
                        let name = words.next().expect("a TYPE line's name");
                        let kind = words.next().expect("a TYPE line's type");
                        assert!(
                            ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                            "{line}"
                        );
                        assert!(
                            types.insert(name.to_owned(), kind.to_owned()).is_none(),
                            "{name} is typed twice"
                        );
                    }
                    Some("HELP") => {
                        assert!(words.next().is_some(), "{line}");
                    }
                    _ => {}
                }
                continue;
            }
            let sample = parse_sample(line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| {
                    let base = sample.name.strip_suffix(suffix)?;
                    (types.get(base).map(String::as_str) == Some("histogram")).then_some(base)
                })
                .unwrap_or(&sample.name);
            assert!(
                types.contains_key(family),
                "{} has no # TYPE before it",
                sample.name
            );
            assert!(
                !samples
                    .iter()
                    .any(|s| s.name == sample.name && s.labels == sample.labels),
                "{line} is given twice"
            );
            samples.push(sample);
        }
        Exposition {
            types,
            samples,
            text: text.to_owned(),
        }
    }

    /// The value of the sample with exactly these labels.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let want: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.samples
            .iter()
            .find(|s| s.name == name && s.labels == want)
            .map(|s| s.value)
    }

    /// [`Exposition::value`], which must be there.
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.value(name, labels)
            .unwrap_or_else(|| panic!("no {name}{labels:?} in\n{}", self.text))
    }

    /// The samples of `name`.
    fn all(&self, name: &str) -> impl Iterator<Item = &Sample> {
        self.samples.iter().filter(move |s| s.name == name)
    }
}

/// `name{k="v",...} value [timestamp]`.
fn parse_sample(line: &str) -> Result<Sample, String> {
    let end = line.find(['{', ' ']).ok_or_else(|| "no value".to_owned())?;
    let name = &line[..end];
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        || name.starts_with(|c: char| c.is_ascii_digit())
    {
        return Err(format!("the metric name {name:?} is not valid"));
    }
    let mut labels = BTreeMap::new();
    let mut rest = &line[end..];
    if let Some(after) = rest.strip_prefix('{') {
        let mut chars = after.char_indices().peekable();
        loop {
            // A label name, `=`, a quoted value, then `,` or `}`.
            let Some(&(start, c)) = chars.peek() else {
                return Err("the labels are not closed".to_owned());
            };
            if c == '}' {
                rest = &after[start + 1..];
                break;
            }
            let mut key = String::new();
            for (_, c) in chars.by_ref() {
                if c == '=' {
                    break;
                }
                key.push(c);
            }
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!("the label name {key:?} is not valid"));
            }
            if chars.next().map(|(_, c)| c) != Some('"') {
                return Err(format!("label {key} has no quoted value"));
            }
            let mut value = String::new();
            loop {
                match chars.next().map(|(_, c)| c) {
                    Some('"') => break,
                    Some('\\') => match chars.next().map(|(_, c)| c) {
                        Some('\\') => value.push('\\'),
                        Some('"') => value.push('"'),
                        Some('n') => value.push('\n'),
                        other => return Err(format!("bad escape {other:?} in label {key}")),
                    },
                    Some(c) => value.push(c),
                    None => return Err(format!("label {key}'s value is not closed")),
                }
            }
            if labels.insert(key.clone(), value).is_some() {
                return Err(format!("label {key} is given twice"));
            }
            match chars.peek().map(|&(_, c)| c) {
                Some(',') => {
                    chars.next();
                }
                Some('}') => {}
                other => return Err(format!("{other:?} after label {key}")),
            }
        }
    }
    let mut fields = rest.split_whitespace();
    let value = fields.next().ok_or_else(|| "no value".to_owned())?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        v => v.parse().map_err(|e| format!("the value {v:?}: {e}"))?,
    };
    if let Some(ts) = fields.next() {
        ts.parse::<i64>()
            .map_err(|e| format!("the timestamp {ts:?}: {e}"))?;
    }
    if fields.next().is_some() {
        return Err("more than a value and a timestamp".to_owned());
    }
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

#[test]
fn the_exposition_parser_reads_labels_escapes_and_special_values() {
    let e = Exposition::parse(
        "# HELP a_total Some help.\n# TYPE a_total counter\n\
         a_total{model=\"m\\\"x\\\\y\\nz\",code=\"200\"} 3\n\
         # a comment\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2 1700000000000\nh_sum 0.5\nh_count 2\n\
         # TYPE g gauge\ng -Inf\n",
    );
    assert_eq!(
        e.get("a_total", &[("model", "m\"x\\y\nz"), ("code", "200")]),
        3.0
    );
    assert_eq!(e.get("h_bucket", &[("le", "+Inf")]), 2.0);
    assert_eq!(e.get("h_count", &[]), 2.0);
    assert_eq!(e.get("g", &[]), f64::NEG_INFINITY);
    assert_eq!(e.types["h"], "histogram");
    for bad in [
        "x{a=\"1\"",
        "x{a=1} 2",
        "x{a=\"1\",a=\"2\"} 2",
        "x 1 2 3",
        "x{a=\"\\t\"} 1",
        "9x 1",
    ] {
        assert!(parse_sample(bad).is_err(), "{bad}");
    }
}

#[test]
fn metrics_count_every_inference_by_model_version_and_code() {
    if !prerequisites() {
        return;
    }
    let mlp = format!(
        "mlp={},fallback={},version=3",
        repo("fixtures/models/mlp.onnx").display(),
        repo("fixtures/models/mlp_fallback.onnx").display()
    );
    let linear = format!("linear={}", repo("fixtures/models/linear.onnx").display());
    let s = Service::start(&[
        "--model",
        &mlp,
        "--model",
        &linear,
        "--enable-faults",
        "--breaker-failures",
        "2",
        "--breaker-cooldown-ms",
        "600000",
        "--deadline-ms",
        "3000",
    ]);
    let mlp3: [(&str, &str); 2] = [("model", "mlp"), ("version", "3")];
    let lin1: [(&str, &str); 2] = [("model", "linear"), ("version", "1")];
    let with = |labels: &[(&'static str, &'static str)], code: &'static str| {
        let mut l = labels.to_vec();
        l.push(("code", code));
        l
    };

    // Before any inference: every served model's series, at 0.
    let m = s.metrics();
    for (name, kind) in [
        ("modelci_service_requests_total", "counter"),
        ("modelci_service_request_errors_total", "counter"),
        ("modelci_service_request_duration_seconds", "histogram"),
        ("modelci_service_fallback_total", "counter"),
        ("modelci_service_in_flight", "gauge"),
        ("modelci_service_breaker_open", "gauge"),
    ] {
        assert_eq!(m.types.get(name).map(String::as_str), Some(kind), "{name}");
    }
    for labels in [&mlp3, &lin1] {
        assert_eq!(
            m.get("modelci_service_requests_total", &with(labels, "200")),
            0.0
        );
        for name in [
            "modelci_service_request_errors_total",
            "modelci_service_fallback_total",
            "modelci_service_in_flight",
            "modelci_service_breaker_open",
            "modelci_service_request_duration_seconds_count",
        ] {
            assert_eq!(m.get(name, labels), 0.0, "{name}{labels:?}");
        }
    }

    // Successes, by name and at the version; a bad request; names that are not served.
    for _ in 0..3 {
        s.infer("/v2/models/mlp/infer", &mlp_request(2), 200, false);
    }
    s.infer(
        "/v2/models/mlp/versions/3/infer",
        &mlp_request(1),
        200,
        false,
    );
    s.infer("/v2/models/linear/infer", &linear_request(), 200, false);
    let r = s
        .client
        .post(s.url("/v2/models/mlp/infer"))
        .body("{not json")
        .send()
        .expect("POST");
    assert_eq!(r.status(), 400);
    s.infer("/v2/models/nope/infer", &mlp_request(1), 404, false);
    s.infer(
        "/v2/models/mlp/versions/9/infer",
        &mlp_request(1),
        404,
        false,
    );
    // Not inferences: not counted.
    assert_eq!(s.get("/v2/models/mlp").status(), 200);
    assert_eq!(s.get("/v2/models/mlp/infer").status(), 405);
    assert_eq!(
        s.client
            .post(s.url("/metrics"))
            .send()
            .expect("POST")
            .status(),
        405
    );

    // Two failures open mlp's breaker; then its fallback answers.
    s.fault("mlp", true, 0);
    for _ in 0..2 {
        s.infer("/v2/models/mlp/infer", &mlp_request(1), 500, false);
    }
    for _ in 0..2 {
        s.infer("/v2/models/mlp/infer", &mlp_request(1), 200, true);
    }

    // A late inference of linear: in flight while it waits, then 504 at the deadline.
    s.fault("linear", false, 5000);
    let late = {
        let client = s.client.clone();
        let url = s.url("/v2/models/linear/infer");
        std::thread::spawn(move || {
            client
                .post(url)
                .header("Content-Type", "application/json")
                .body(linear_request().to_string())
                .send()
                .expect("POST")
                .status()
        })
    };
    let start = Instant::now();
    while s.metrics().get("modelci_service_in_flight", &lin1) != 1.0 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "linear is never in flight"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(late.join().expect("the late request"), 504);

    let m = s.metrics();
    let requests = "modelci_service_requests_total";
    assert_eq!(m.get(requests, &with(&mlp3, "200")), 6.0);
    assert_eq!(m.get(requests, &with(&mlp3, "400")), 1.0);
    assert_eq!(m.get(requests, &with(&mlp3, "500")), 2.0);
    assert_eq!(m.get(requests, &with(&lin1, "200")), 1.0);
    assert_eq!(m.get(requests, &with(&lin1, "504")), 1.0);
    // Names that are not served: under empty (absent) model and version labels.
    assert_eq!(
        m.get(requests, &[("model", ""), ("version", ""), ("code", "404")]),
        2.0
    );
    let total: f64 = m.all(requests).map(|s| s.value).sum();
    assert_eq!(total, 13.0, "every inference once, and nothing else");

    let errors = "modelci_service_request_errors_total";
    assert_eq!(m.get(errors, &mlp3), 2.0);
    assert_eq!(m.get(errors, &lin1), 1.0);
    assert_eq!(m.get("modelci_service_fallback_total", &mlp3), 2.0);
    assert_eq!(m.get("modelci_service_fallback_total", &lin1), 0.0);
    assert_eq!(m.get("modelci_service_in_flight", &mlp3), 0.0);
    assert_eq!(m.get("modelci_service_in_flight", &lin1), 0.0);
    assert_eq!(m.get("modelci_service_breaker_open", &mlp3), 1.0);
    assert_eq!(m.get("modelci_service_breaker_open", &lin1), 0.0);

    // The histogram: every answered request of a served model, in cumulative buckets.
    let hist = "modelci_service_request_duration_seconds";
    for (labels, count) in [(&mlp3, 9.0), (&lin1, 2.0)] {
        assert_eq!(m.get(&format!("{hist}_count"), labels), count);
        let mut previous = 0.0;
        for le in BUCKETS {
            let mut l = labels.to_vec();
            l.push(("le", le));
            let v = m.get(&format!("{hist}_bucket"), &l);
            assert!(v >= previous, "{labels:?} le={le}: {v} < {previous}");
            previous = v;
        }
        assert_eq!(previous, count, "+Inf holds every request");
        let buckets = m
            .all(&format!("{hist}_bucket"))
            .filter(|s| s.labels.get("model").map(String::as_str) == Some(labels[0].1))
            .count();
        assert_eq!(buckets, BUCKETS.len());
    }
    // The late request took the deadline (3 s): past the 2.5 s bucket.
    let mut le = lin1.to_vec();
    le.push(("le", "2.5"));
    assert_eq!(m.get(&format!("{hist}_bucket"), &le), 1.0);
    assert!(m.get(&format!("{hist}_sum"), &lin1) >= 3.0);
    assert!(
        m.all(&format!("{hist}_count"))
            .all(|s| !s.labels["model"].is_empty()),
        "requests that name no served model are not timed"
    );
}

/// A Prometheus server on a free port of 127.0.0.1 that scrapes `targets` every second, with
/// its configuration and storage in a temporary folder; killed when dropped.
struct Prometheus {
    child: Child,
    base: String,
    log: PathBuf,
    client: Client,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    fn start(bin: &Path, targets: &[&str]) -> Prometheus {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("prometheus.yml");
        let targets: Vec<String> = targets.iter().map(|t| format!("\"{t}\"")).collect();
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: modelci-service\n    static_configs:\n      \
                 - targets: [{}]\n",
                targets.join(", ")
            ),
        )
        .expect("config");
        let client = Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        let log = dir.path().join("prometheus.log");
        let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
        // A port taken between choosing it and Prometheus binding it: another try.
        for _ in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .expect("a free port");
            let base = format!("http://127.0.0.1:{port}");
            let out = File::create(&log).expect("log");
            let mut child = Command::new(bin)
                .arg(format!("--config.file={}", config.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.path().join("data").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .arg("--log.level=warn")
                .stdin(Stdio::null())
                .stdout(out.try_clone().expect("log"))
                .stderr(out)
                .spawn()
                .unwrap_or_else(|e| panic!("{} does not start: {e}", bin.display()));
            let start = Instant::now();
            let ready = loop {
                if let Ok(Some(status)) = child.try_wait() {
                    let text = log_text();
                    assert!(
                        text.contains("address already in use"),
                        "prometheus exited ({status}):\n{text}"
                    );
                    break false;
                }
                let ready = client
                    .get(format!("{base}/-/ready"))
                    .send()
                    .is_ok_and(|r| r.status() == 200);
                if ready {
                    break true;
                }
                if start.elapsed() > STARTUP {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("prometheus is not ready after {STARTUP:?}:\n{}", log_text());
                }
                std::thread::sleep(Duration::from_millis(100));
            };
            if ready {
                return Prometheus {
                    child,
                    base,
                    log,
                    client,
                    _dir: dir,
                };
            }
        }
        panic!("prometheus could not bind a free port in 3 tries")
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// An instant query's result: each series' `by` label and its value.
    fn query(&self, query: &str, by: &str) -> BTreeMap<String, f64> {
        let r = self
            .client
            .get(format!(
                "{}/api/v1/query?query={}",
                self.base,
                encode(query)
            ))
            .send()
            .expect("query");
        assert_eq!(r.status(), 200, "{query}");
        let body: Value = r.json().expect("json");
        assert_eq!(body["status"], "success", "{body}");
        body["data"]["result"]
            .as_array()
            .expect("result")
            .iter()
            .map(|series| {
                let key = series["metric"][by].as_str().unwrap_or_default().to_owned();
                let value = series["value"][1]
                    .as_str()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(f64::NAN);
                (key, value)
            })
            .collect()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Percent-encodes a query parameter's value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[test]
fn a_real_prometheus_scrapes_two_versions_and_tells_them_apart() {
    if !prerequisites() {
        return;
    }
    let Some(bin) = modelci_test_support::prometheus() else {
        return;
    };
    // The baseline (the previous model, version 1) and the canary (version 2), as two services.
    let v1 = Service::start(&[
        "--model",
        &format!(
            "mlp={},version=1",
            repo("fixtures/models/mlp_previous.onnx").display()
        ),
    ]);
    let v2 = Service::start(&[
        "--model",
        &format!(
            "mlp={},version=2",
            repo("fixtures/models/mlp.onnx").display()
        ),
        "--enable-faults",
    ]);
    let prometheus = Prometheus::start(&bin, &[v1.address(), v2.address()]);

    for _ in 0..3 {
        v1.infer("/v2/models/mlp/infer", &mlp_request(2), 200, false);
    }
    for _ in 0..4 {
        v2.infer("/v2/models/mlp/infer", &mlp_request(2), 200, false);
    }
    v2.fault("mlp", true, 0);
    for _ in 0..2 {
        v2.infer("/v2/models/mlp/infer", &mlp_request(1), 500, false);
    }

    let expected = |a: f64, b: f64| BTreeMap::from([("1".to_owned(), a), ("2".to_owned(), b)]);
    let queries = [
        (
            "sum by (version) (modelci_service_requests_total)",
            expected(3.0, 6.0),
        ),
        (
            "sum by (version) (modelci_service_requests_total{code=~\"5..\"})",
            BTreeMap::from([("2".to_owned(), 2.0)]),
        ),
        (
            "sum by (version) (modelci_service_request_errors_total)",
            expected(0.0, 2.0),
        ),
        (
            "sum by (version) (modelci_service_request_duration_seconds_count)",
            expected(3.0, 6.0),
        ),
    ];
    // Scrapes come every second: wait until the last one has every request.
    let start = Instant::now();
    loop {
        let answers: Vec<BTreeMap<String, f64>> = queries
            .iter()
            .map(|(q, _)| prometheus.query(q, "version"))
            .collect();
        let up = prometheus.query("up{job=\"modelci-service\"}", "instance");
        let done = queries
            .iter()
            .zip(&answers)
            .all(|((_, want), got)| want == got)
            && up.len() == 2
            && up.values().all(|v| *v == 1.0);
        if done {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "Prometheus never had every request: {answers:?}, up {up:?}\n{}",
            prometheus.log_text()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    // The latency of each version, as a canary judge would ask for it.
    let p95 = prometheus.query(
        "histogram_quantile(0.95, sum by (version, le) (modelci_service_request_duration_seconds_bucket))",
        "version",
    );
    assert_eq!(p95.keys().collect::<Vec<_>>(), ["1", "2"], "{p95:?}");
    assert!(
        p95.values()
            .all(|v| v.is_finite() && *v > 0.0 && *v <= 10.0),
        "{p95:?}"
    );
}
