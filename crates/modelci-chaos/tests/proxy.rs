//! The proxy through its Toxiproxy API, against a real upstream on 127.0.0.1: what each toxic
//! does to the bytes, and how accurately.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed assumption is a failed test"
)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// An upstream that answers every line with `echo: LINE` and, to `big`, 100 KB.
fn upstream() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 1024];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 {
                        return;
                    }
                    let line = String::from_utf8_lossy(&buf[..n]).trim().to_owned();
                    let answer = if line == "big" {
                        vec![b'x'; 100_000]
                    } else {
                        format!("echo: {line}\n").into_bytes()
                    };
                    if s.write_all(&answer).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

struct Api {
    base: String,
    http: reqwest::blocking::Client,
    _rt: tokio::runtime::Runtime,
}

impl Api {
    fn start() -> Api {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (server, _task) = rt
            .block_on(modelci_chaos::serve(
                "127.0.0.1:0".parse().expect("addr"),
                &[],
                std::future::pending(),
            ))
            .expect("serve");
        Api {
            base: format!("http://{}", server.addr),
            http: reqwest::blocking::Client::new(),
            _rt: rt,
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let req = match method {
            "GET" => self.http.get(&url),
            "DELETE" => self.http.delete(&url),
            _ => self.http.post(&url),
        };
        let req = match body {
            Some(b) => req.json(&b),
            None => req,
        };
        let resp = req.send().expect("api");
        let status = resp.status().as_u16();
        let text = resp.text().expect("text");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// A proxy to `upstream`; its listen address.
    fn proxy(&self, name: &str, upstream: SocketAddr) -> String {
        let (status, p) = self.call(
            "POST",
            "/proxies",
            Some(json!({"name": name, "listen": "127.0.0.1:0", "upstream": upstream.to_string()})),
        );
        assert_eq!(status, 201, "{p}");
        p["listen"].as_str().expect("listen").to_owned()
    }
}

/// Sends a line through `addr` and reads the answer; the time it took.
fn ask(addr: &str, line: &str) -> (std::io::Result<Vec<u8>>, Duration) {
    let started = Instant::now();
    let result = (|| {
        let mut s = TcpStream::connect(addr)?;
        s.set_read_timeout(Some(Duration::from_secs(3)))?;
        s.write_all(format!("{line}\n").as_bytes())?;
        let want = if line == "big" {
            100_000
        } else {
            line.len() + 7
        };
        let mut got = Vec::new();
        let mut buf = [0u8; 8192];
        while got.len() < want {
            let n = s.read(&mut buf)?;
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        Ok(got)
    })();
    (result, started.elapsed())
}

#[test]
fn the_api_speaks_toxiproxy() {
    let api = Api::start();
    let up = upstream();
    let (status, v) = api.call("GET", "/version", None);
    assert_eq!(status, 200);
    assert!(v["version"].is_string(), "{v}");
    let listen = api.proxy("model", up);
    let (status, p) = api.call("GET", "/proxies", None);
    assert_eq!(status, 200);
    assert_eq!(p["model"]["listen"], listen.as_str());
    assert_eq!(p["model"]["upstream"], up.to_string());
    assert_eq!(p["model"]["enabled"], true);
    // Taken names, missing proxies and toxics, bad toxics: Toxiproxy's statuses and errors.
    let (status, e) = api.call(
        "POST",
        "/proxies",
        Some(json!({"name": "model", "upstream": up.to_string()})),
    );
    assert_eq!((status, e["status"].clone()), (409, json!(409)), "{e}");
    let (status, e) = api.call("GET", "/proxies/nope", None);
    assert_eq!(status, 404);
    assert!(
        e["error"].as_str().is_some_and(|m| m.contains("not found")),
        "{e}"
    );
    let (status, e) = api.call(
        "POST",
        "/proxies/model/toxics",
        Some(json!({"type": "gremlin"})),
    );
    assert_eq!(status, 400, "{e}");
    let (status, t) = api.call(
        "POST",
        "/proxies/model/toxics",
        Some(json!({"type": "latency", "attributes": {"latency": 50}})),
    );
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["name"], "latency_downstream");
    let (status, t) = api.call(
        "POST",
        "/proxies/model/toxics/latency_downstream",
        Some(json!({"attributes": {"jitter": 5}})),
    );
    assert_eq!(status, 200);
    assert_eq!(t["attributes"], json!({"latency": 50, "jitter": 5}));
    let (_, list) = api.call("GET", "/proxies/model/toxics", None);
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    // Disabled: no connection; reset: enabled again, toxics gone.
    let (status, _) = api.call("POST", "/proxies/model", Some(json!({"enabled": false})));
    assert_eq!(status, 200);
    assert!(
        TcpStream::connect(&listen).is_err(),
        "a disabled proxy refuses"
    );
    let (status, _) = api.call("POST", "/reset", None);
    assert_eq!(status, 204);
    let (_, p) = api.call("GET", "/proxies/model", None);
    assert_eq!(p["enabled"], true);
    assert_eq!(p["toxics"], json!([]));
    assert_eq!(
        ask(&listen, "hi").0.expect("through").as_slice(),
        b"echo: hi\n"
    );
    let (status, _) = api.call("DELETE", "/proxies/model", None);
    assert_eq!(status, 204);
    let (status, _) = api.call("GET", "/proxies/model", None);
    assert_eq!(status, 404);
}

#[test]
fn latency_is_accurate_and_removing_it_restores_the_link() {
    let api = Api::start();
    let listen = api.proxy("slow", upstream());
    let median = |n: usize| {
        let mut t: Vec<f64> = (0..n)
            .map(|_| {
                let (r, took) = ask(&listen, "ping");
                r.expect("answer");
                took.as_secs_f64() * 1000.0
            })
            .collect();
        t.sort_by(f64::total_cmp);
        t[n / 2]
    };
    let direct = median(15);
    api.call(
        "POST",
        "/proxies/slow/toxics",
        Some(json!({"type": "latency", "attributes": {"latency": 100, "jitter": 20}})),
    );
    let slowed = median(21);
    // Each answer is delayed by 100 ms ± 20: the median within 10 ms of 100 ms over the
    // direct one (bench/chaos/proxy.py measures the accuracy itself, on a quiet machine).
    assert!(
        ((slowed - direct) - 100.0).abs() <= 10.0,
        "median {slowed} ms, without the toxic {direct} ms"
    );
    api.call("DELETE", "/proxies/slow/toxics/latency_downstream", None);
    assert!(median(9) < 50.0);
}

#[test]
fn faults_hold_cut_and_reset_connections() {
    let api = Api::start();
    let up = upstream();
    // A blackhole: accepted, never answered.
    let hole = api.proxy("hole", up);
    api.call(
        "POST",
        "/proxies/hole/toxics",
        Some(json!({"type": "timeout", "attributes": {"timeout": 0}})),
    );
    let (r, took) = ask(&hole, "ping");
    let e = r.expect_err("no answer");
    assert!(
        matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        "{e:?}"
    );
    assert!(
        took >= Duration::from_secs(3),
        "held until the client gave up"
    );
    // A timeout that closes after 200 ms.
    api.call(
        "POST",
        "/proxies/hole/toxics/timeout_downstream",
        Some(json!({"attributes": {"timeout": 200}})),
    );
    let (r, took) = ask(&hole, "ping");
    assert!(r.expect("closed").is_empty());
    assert!(
        took >= Duration::from_millis(150) && took < Duration::from_secs(2),
        "{took:?}"
    );

    // An answer cut off mid-body.
    let cut = api.proxy("cut", up);
    api.call(
        "POST",
        "/proxies/cut/toxics",
        Some(json!({"type": "limit_data", "attributes": {"bytes": 1000}})),
    );
    let (r, _) = ask(&cut, "big");
    assert_eq!(r.expect("some").len(), 1000);

    // A reset after 50 ms: the client sees the connection reset.
    let reset = api.proxy("reset", up);
    api.call(
        "POST",
        "/proxies/reset/toxics",
        Some(json!({"type": "reset_peer", "attributes": {"timeout": 50}})),
    );
    let mut s = TcpStream::connect(&reset).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(3)))
        .expect("timeout");
    std::thread::sleep(Duration::from_millis(150));
    let mut buf = [0u8; 16];
    // A reset, not a close: reading gives ECONNRESET (a close would read 0 bytes).
    let e = s.read(&mut buf).expect_err("reset");
    assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e:?}");

    // Bandwidth: 100 KB at 500 KB/s takes about 200 ms.
    let thin = api.proxy("thin", up);
    api.call(
        "POST",
        "/proxies/thin/toxics",
        Some(json!({"type": "bandwidth", "attributes": {"rate": 500}})),
    );
    let (r, took) = ask(&thin, "big");
    assert_eq!(r.expect("all").len(), 100_000);
    assert!(
        took >= Duration::from_millis(190) && took < Duration::from_millis(400),
        "{took:?}"
    );
}

#[test]
fn toxicity_is_the_share_of_connections_affected() {
    let api = Api::start();
    let listen = api.proxy("some", upstream());
    api.call(
        "POST",
        "/proxies/some/toxics",
        Some(json!({"type": "limit_data", "toxicity": 0.3, "attributes": {"bytes": 0}})),
    );
    let n = 400;
    let cut = (0..n)
        .filter(|_| ask(&listen, "ping").0.map(|b| b.is_empty()).unwrap_or(true))
        .count();
    let share = cut as f64 / n as f64;
    // 30% ± 5 points (the standard deviation over 400 links is 2.3 points).
    assert!((share - 0.3).abs() <= 0.05, "{cut} of {n} links cut");
}
