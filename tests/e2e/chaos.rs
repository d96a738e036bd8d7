//! `modelci chaos proxy`: the fault proxy between `modelci load` and the example provider,
//! driven through its Toxiproxy API, and stopped by SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use serde_json::{Value, json};

use crate::{QuickstartProvider, modelci, run};

struct ChaosProxy {
    child: Child,
    api: String,
    listen: String,
}

impl Drop for ChaosProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(config: &std::path::Path) -> ChaosProxy {
    let mut child = modelci(&[
        "chaos",
        "proxy",
        "--port",
        "0",
        "--config",
        config.to_str().expect("utf8"),
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit())
    .spawn()
    .expect("modelci chaos proxy starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines.next().expect("a line").expect("utf8");
    let api = first
        .strip_prefix("listening on ")
        .expect("listening on URL")
        .to_owned();
    let second = lines.next().expect("a proxy line").expect("utf8");
    // `proxy NAME: LISTEN -> UPSTREAM`
    let listen = second
        .split(": ")
        .nth(1)
        .and_then(|r| r.split(" -> ").next())
        .expect("listen address")
        .to_owned();
    ChaosProxy { child, api, listen }
}

fn report(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("report")).expect("json")
}

fn p50(r: &Value) -> f64 {
    r["suites"][0]["properties"]["p50_ms"]
        .as_str()
        .expect("p50")
        .parse()
        .expect("number")
}

#[test]
fn a_latency_toxic_added_through_the_api_slows_every_answer() {
    let provider = QuickstartProvider::start_private();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("toxiproxy.json");
    let upstream = provider.url.trim_start_matches("http://").to_owned();
    std::fs::write(
        &config,
        json!([{"name": "model", "listen": "127.0.0.1:0", "upstream": upstream}]).to_string(),
    )
    .expect("config");
    let proxy = start(&config);
    let http = reqwest::blocking::Client::new();
    let proxies: Value = http
        .get(format!("{}/proxies", proxy.api))
        .send()
        .expect("api")
        .json()
        .expect("json");
    assert_eq!(proxies["model"]["upstream"], upstream.as_str());

    let load = |name: &str| {
        let json = dir.path().join(format!("{name}.json"));
        let (code, out, err) = run(&mut modelci(&[
            "load",
            "--url",
            &format!("http://{}/v2/health/ready", proxy.listen),
            "--rate",
            "20",
            "--duration",
            "1s",
            "-t",
            "error_rate<1%",
            "--json",
            json.to_str().expect("utf8"),
        ]));
        assert_eq!(code, 0, "{out}\n{err}");
        report(&json)
    };
    let before = p50(&load("before"));
    let added: Value = http
        .post(format!("{}/proxies/model/toxics", proxy.api))
        .json(&json!({"name": "slow", "type": "latency", "attributes": {"latency": 200}}))
        .send()
        .expect("api")
        .json()
        .expect("json");
    assert_eq!(added["attributes"]["latency"], 200);
    let slowed = p50(&load("slowed"));
    assert!(
        slowed - before >= 190.0 && slowed - before <= 260.0,
        "p50 {before} ms, then {slowed} ms with 200 ms of latency"
    );

    // A bad toxic is a 400 with Toxiproxy's error body.
    let bad = http
        .post(format!("{}/proxies/model/toxics", proxy.api))
        .json(&json!({"type": "latency", "attributes": {"latency": "slow"}}))
        .send()
        .expect("api");
    assert_eq!(bad.status().as_u16(), 400);
    let body: Value = bad.json().expect("json");
    assert_eq!(body["status"], 400);

    // SIGTERM stops it cleanly.
    let mut proxy = proxy;
    // SAFETY: kill(2) on the child this test started; no memory is involved.
    let rc = unsafe { libc::kill(proxy.child.id() as i32, libc::SIGTERM) };
    assert_eq!(rc, 0);
    let status = proxy.child.wait().expect("exits");
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_bad_config_is_exit_2_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("bad.json");
    std::fs::write(&config, r#"[{"name": "x"}]"#).expect("write");
    let (code, _, err) = run(&mut modelci(&[
        "chaos",
        "proxy",
        "--port",
        "0",
        "--config",
        config.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("bad.json") && err.contains("no `upstream`"),
        "{err}"
    );
}
