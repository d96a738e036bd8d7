//! `modelci canary judge` against a real Prometheus scraping real reference services: the
//! baseline serves the previous model (version 1), the canary the current one (version 2) with
//! 25 ms of added latency (the service's fault switch), and a third service serves the baseline's
//! model again (version 3). The judge fails the regressed canary naming its latency, passes the
//! identical one, and A/A passes.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{modelci, root, run, runtime_available, service_bin};

pub(crate) struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A reference service on a free port: (process, base URL).
pub(crate) fn service(model: &str, version: &str, faults: bool) -> (Killed, String) {
    let model = root().join("fixtures/models").join(model);
    let mut cmd = Command::new(service_bin());
    cmd.args(["--host", "127.0.0.1", "--port", "0", "--device", "cpu"])
        .arg("--model")
        .arg(format!("mlp={},version={version}", model.display()));
    if faults {
        cmd.arg("--enable-faults");
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("modelci-service starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("a line");
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{line}"))
        .to_owned();
    (Killed(child), base)
}

/// A Prometheus scraping `targets` every second, on a free port: (process, base URL, its folder).
fn prometheus(bin: &std::path::Path, targets: &[&str]) -> (Killed, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("prometheus.yml");
    let targets: Vec<String> = targets
        .iter()
        .map(|t| format!("\"{}\"", t.trim_start_matches("http://")))
        .collect();
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: services\n    static_configs:\n      - targets: [{}]\n",
            targets.join(", ")
        ),
    )
    .expect("config");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let child = Command::new(bin)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--log.level=warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus starts");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::blocking::Client::new();
    let start = Instant::now();
    while !client
        .get(format!("{base}/-/ready"))
        .timeout(Duration::from_secs(2))
        .send()
        .is_ok_and(|r| r.status() == 200)
    {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "Prometheus was never ready"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    (Killed(child), base, dir)
}

const CONFIG: &str = r#"
[[suite.canary]]
name = "canary"
baseline = { version = "1" }
canary = { version = "2" }
min_samples = 10

[suite.canary.prometheus]
url = "PROMETHEUS"
window = "20s"
step = "1s"
timeout_secs = 10

[[suite.canary.metric]]
name = "mean latency"
query = 'sum(rate(modelci_service_request_duration_seconds_sum{version="{{ version }}"}[4s])) / sum(rate(modelci_service_request_duration_seconds_count{version="{{ version }}"}[4s]))'
# Two processes on a busy 2-core machine differ by more than 5%; 25 ms on ~2 ms is +1000%.
tolerance = 1.0

[[suite.canary.metric]]
name = "error rate"
query = 'sum(rate(modelci_service_request_errors_total{version="{{ version }}"}[4s])) / sum(rate(modelci_service_requests_total{version="{{ version }}"}[4s]))'
tolerance_abs = 0.01
critical = true
nodata = "fail"
"#;

#[test]
fn the_judge_fails_a_regressed_canary_passes_an_identical_one_and_aa_passes() {
    if !runtime_available() {
        return;
    }
    let Some(bin) = modelci_test_support::prometheus() else {
        return;
    };
    let (_v1, baseline) = service("mlp_previous.onnx", "1", false);
    let (_v2, canary) = service("mlp.onnx", "2", true);
    let (_v3, same) = service("mlp_previous.onnx", "3", false);
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let r = client
        .post(format!("{canary}/faults"))
        .json(&json!({"model": "mlp", "delay_ms": 25}))
        .send()
        .expect("faults");
    assert_eq!(r.status(), 200);
    let (_prom, prom, _dir) = prometheus(&bin, &[&baseline, &canary, &same]);

    // Traffic at each service, about 20 requests per second each, while the window fills.
    let stop = Arc::new(AtomicBool::new(false));
    let body = json!({"inputs": [{"name": "input", "shape": [1, 20], "datatype": "FP32",
        "data": (0..20).map(|k| (f64::from(k) * 0.37).sin()).collect::<Vec<_>>()}]});
    let senders: Vec<_> = [baseline.clone(), canary.clone(), same.clone()]
        .into_iter()
        .map(|base| {
            let (stop, body, client) = (Arc::clone(&stop), body.clone(), client.clone());
            std::thread::spawn(move || {
                let mut answered = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    if client
                        .post(format!("{base}/v2/models/mlp/infer"))
                        .json(&body)
                        .send()
                        .is_ok_and(|r| r.status() == 200)
                    {
                        answered += 1;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                answered
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(26));

    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("modelci.toml");
    std::fs::write(&config, CONFIG.replace("PROMETHEUS", &prom)).expect("config");
    let config = config.to_str().expect("utf8");
    let json = dir.path().join("report.json");
    let judge = |extra: &[&str]| {
        let mut args = vec![
            "canary",
            "judge",
            "--config",
            config,
            "--json",
            json.to_str().expect("utf8"),
        ];
        args.extend_from_slice(extra);
        let (code, out, err) = run(&mut modelci(&args));
        let report: Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap_or_default())
                .unwrap_or(Value::Null);
        (code, report, format!("exit {code}\n{out}\n{err}"))
    };
    let case = |report: &Value, name: &str| -> Value {
        report["suites"][0]["cases"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["name"] == name).cloned())
            .unwrap_or(Value::Null)
    };

    let regressed = judge(&[]);
    let identical = judge(&["--canary", "version=3"]);
    let aa = judge(&["--aa"]);
    stop.store(true, Ordering::Relaxed);
    for s in senders {
        assert!(s.join().expect("sender") > 100, "too little traffic");
    }

    let (code, report, shown) = regressed;
    assert_eq!(code, 1, "{shown}\n{report:#}");
    let latency = case(&report, "metric mean latency");
    assert_eq!(latency["outcome"], "failed", "{latency:#}");
    assert_eq!(latency["properties"]["class"], "High", "{latency:#}");
    let count: usize = latency["properties"]["canary_count"]
        .as_str()
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    assert!(count >= 10, "{latency:#}");
    assert_eq!(case(&report, "metric error rate")["outcome"], "passed");
    assert_eq!(case(&report, "verdict")["properties"]["verdict"], "Fail");
    assert_eq!(
        case(&report, "verdict")["properties"]["prometheus"],
        prom.as_str()
    );

    let (code, report, shown) = identical;
    assert_eq!(code, 0, "{shown}\n{report:#}");
    assert_eq!(case(&report, "verdict")["properties"]["verdict"], "Pass");

    let (code, report, shown) = aa;
    assert_eq!(code, 0, "{shown}\n{report:#}");
    assert_eq!(report["suites"][0]["properties"]["mode"], "aa");
    assert!(
        case(&report, "metric mean latency")["properties"]["noise_floor"].is_string(),
        "{report:#}"
    );
}
