//! The HTTP mode through the API, against a real axum upstream on 127.0.0.1: transparent
//! forwarding, the HTTP toxics per request and per route, and the request log. Timings are
//! checked with wide margins only (the latency accuracy is `proxy.rs`'s, run alone).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed assumption is a failed test"
)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use axum::serve::ListenerExt as _;
use modelci_chaos::{Outcome, Registry};
use serde_json::{Value, json};

/// What the upstream saw.
#[derive(Default)]
struct Seen {
    requests: AtomicUsize,
    connections: AtomicUsize,
}

/// The upstream: answers every request with what it received as JSON (`method`, `path`,
/// `query`, `headers`, `body`) and an `x-upstream` header; `/big` answers 100 KB; `?status=N`
/// answers N; `?ms=N` waits N ms first.
async fn answer(seen: Arc<Seen>, req: Request<Body>) -> Response<Body> {
    seen.requests.fetch_add(1, Ordering::SeqCst);
    let (parts, body) = req.into_parts();
    let query = parts.uri.query().unwrap_or_default().to_owned();
    let param = |k: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
            .and_then(|v| v.parse::<u64>().ok())
    };
    if let Some(ms) = param("ms") {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let body = axum::body::to_bytes(body, usize::MAX).await.expect("body");
    let status = StatusCode::from_u16(param("status").map_or(200, |s| s as u16)).expect("status");
    let content = if parts.uri.path() == "/big" {
        vec![b'x'; 100_000]
    } else {
        let headers: serde_json::Map<String, Value> = parts
            .headers
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), json!(v.to_str().unwrap_or_default())))
            .collect();
        json!({
            "method": parts.method.as_str(),
            "path": parts.uri.path(),
            "query": query,
            "headers": headers,
            "body": String::from_utf8_lossy(&body),
        })
        .to_string()
        .into_bytes()
    };
    Response::builder()
        .status(status)
        .header("x-upstream", "yes")
        .header("content-type", "application/json")
        .body(Body::from(content))
        .expect("response")
}

struct Api {
    base: String,
    http: reqwest::blocking::Client,
    registry: Arc<Registry>,
    upstream: SocketAddr,
    seen: Arc<Seen>,
    _rt: tokio::runtime::Runtime,
}

impl Api {
    /// The API, and an upstream, on a runtime of their own.
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
        let seen = Arc::new(Seen::default());
        let upstream = rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let addr = listener.local_addr().expect("addr");
            let counted = Arc::clone(&seen);
            let listener = listener.tap_io(move |_| {
                counted.connections.fetch_add(1, Ordering::SeqCst);
            });
            let state = Arc::clone(&seen);
            let app = axum::Router::new().fallback(move |req: Request<Body>| {
                let state = Arc::clone(&state);
                async move { answer(state, req).await }
            });
            tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
            addr
        });
        Api {
            base: format!("http://{}", server.addr),
            http: reqwest::blocking::Client::new(),
            registry: server.registry,
            upstream,
            seen,
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

    /// An HTTP proxy to the upstream; its base URL.
    fn proxy(&self, name: &str) -> String {
        let (status, p) = self.call(
            "POST",
            "/proxies",
            Some(json!({"name": name, "upstream": self.upstream.to_string(), "protocol": "http"})),
        );
        assert_eq!(status, 201, "{p}");
        assert_eq!(p["protocol"], "http", "{p}");
        format!("http://{}", p["listen"].as_str().expect("listen"))
    }

    /// Adds a toxic, which must be taken.
    fn toxic(&self, proxy: &str, toxic: Value) {
        let (status, t) = self.call("POST", &format!("/proxies/{proxy}/toxics"), Some(toxic));
        assert_eq!(status, 200, "{t}");
    }
}

/// A client of its own (its own kept-alive connections).
fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// Sends raw HTTP/1.1 to `base` (with `Connection: close`) and reads until the connection
/// closes: what came, or the error that ended it, and the time it took.
fn raw(base: &str, method: &str, path: &str) -> (Vec<u8>, Option<std::io::Error>, Duration) {
    let addr = base.trim_start_matches("http://");
    let started = Instant::now();
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s.write_all(
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .expect("send");
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (got, None, started.elapsed()),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => return (got, Some(e), started.elapsed()),
        }
    }
}

/// The head and the body of a raw answer.
fn split(answer: &[u8]) -> (String, &[u8]) {
    let at = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head");
    (
        String::from_utf8_lossy(&answer[..at]).into_owned(),
        &answer[at + 4..],
    )
}

#[test]
fn forwarding_is_transparent_and_kept_alive() {
    let api = Api::start();
    let base = api.proxy("model");
    let c = client();
    let resp = c
        .post(format!("{base}/v2/models/a/infer?x=1&y=two"))
        .header("x-custom", "a")
        .header("x-request-id", "r-1")
        .body("hello")
        .send()
        .expect("through");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.headers().get("x-upstream").map(|v| v.as_bytes()),
        Some(&b"yes"[..])
    );
    let echo: Value = resp.json().expect("json");
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["path"], "/v2/models/a/infer");
    assert_eq!(echo["query"], "x=1&y=two");
    assert_eq!(echo["body"], "hello");
    assert_eq!(echo["headers"]["x-custom"], "a");
    assert_eq!(echo["headers"]["x-request-id"], "r-1");
    assert_eq!(echo["headers"]["content-length"], "5");
    // The upstream's status and the methods pass as they are.
    let resp = c.get(format!("{base}/x?status=418")).send().expect("418");
    assert_eq!(resp.status().as_u16(), 418);
    let resp = c.delete(format!("{base}/items/7")).send().expect("delete");
    assert_eq!(resp.json::<Value>().expect("json")["method"], "DELETE");
    // A large answer, and a streamed (chunked) request body.
    let big = c.get(format!("{base}/big")).send().expect("big");
    assert_eq!(big.bytes().expect("body").len(), 100_000);
    // A reader of unknown length: sent chunked.
    let echo: Value = c
        .post(format!("{base}/stream"))
        .body(reqwest::blocking::Body::new(std::io::Cursor::new(
            b"part one, part two".to_vec(),
        )))
        .send()
        .expect("stream")
        .json()
        .expect("json");
    assert_eq!(echo["body"], "part one, part two");
    // Hop-by-hop headers stay with their hop; the others pass.
    let addr = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s.write_all(
        format!(
            "GET /hop HTTP/1.1\r\nHost: {addr}\r\nConnection: close, x-private\r\nX-Private: 1\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nX-Kept: 2\r\n\r\n"
        )
        .as_bytes(),
    )
    .expect("send");
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).expect("answer");
    let (head, body) = split(&answer);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let echo: Value = serde_json::from_slice(body).expect("json");
    let headers = echo["headers"].as_object().expect("headers");
    // (A GET without a body is sent without one: no chunked framing.)
    for gone in [
        "connection",
        "x-private",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
    ] {
        assert!(!headers.contains_key(gone), "{gone} passed: {echo}");
    }
    assert_eq!(headers["x-kept"], "2");
    assert_eq!(headers["host"], base.trim_start_matches("http://"));

    // Keep-alive: 30 more requests on one client connection, and on one pooled upstream
    // connection.
    let proxy = api.registry.get("model").expect("proxy");
    let c = client();
    let before_up = api.seen.connections.load(Ordering::SeqCst);
    let before_in = proxy.counters.connections.load(Ordering::SeqCst);
    for i in 0..30 {
        let r = c.get(format!("{base}/ka/{i}")).send().expect("ka");
        assert_eq!(r.status().as_u16(), 200);
        let _ = r.bytes();
    }
    assert_eq!(
        proxy.counters.connections.load(Ordering::SeqCst) - before_in,
        1,
        "one client connection"
    );
    assert!(
        api.seen.connections.load(Ordering::SeqCst) - before_up <= 1,
        "the upstream connection is reused"
    );
    assert!(proxy.counters.bytes_down.load(Ordering::SeqCst) >= 100_000);
    assert!(proxy.counters.bytes_up.load(Ordering::SeqCst) >= 5);
}

#[test]
fn http_error_answers_without_the_upstream_on_a_share_of_requests() {
    let api = Api::start();
    let base = api.proxy("err");
    api.toxic(
        "err",
        json!({"name": "boom", "type": "http_error", "toxicity": 1.0}),
    );
    let c = client();
    let before = api.seen.requests.load(Ordering::SeqCst);
    for _ in 0..10 {
        let r = c
            .post(format!("{base}/infer"))
            .body("x")
            .send()
            .expect("answer");
        assert_eq!(r.status().as_u16(), 503);
        assert_eq!(
            r.json::<Value>().expect("json"),
            json!({"error": "injected by modelci chaos proxy"})
        );
    }
    assert_eq!(
        api.seen.requests.load(Ordering::SeqCst),
        before,
        "the upstream saw none"
    );
    let log = api.registry.get("err").expect("proxy").requests();
    assert_eq!(log.len(), 10);
    assert!(log.iter().all(|r| r.outcome == Outcome::InjectedError
        && r.status == Some(503)
        && r.toxics == ["boom"]
        && r.finished.is_some()));
    // Another status; then 30% of requests.
    let (status, t) = api.call(
        "POST",
        "/proxies/err/toxics/boom",
        Some(json!({"toxicity": 0.3, "attributes": {"status": 429}})),
    );
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["attributes"]["status"], 429);
    let n = 500;
    let mut hit = 0;
    for _ in 0..n {
        let r = c.get(format!("{base}/x")).send().expect("answer");
        match r.status().as_u16() {
            429 => hit += 1,
            200 => {}
            s => panic!("status {s}"),
        }
        let _ = r.bytes();
    }
    let share = f64::from(hit) / f64::from(n);
    // 30% ± 8 points (the standard deviation over 500 requests is 2 points).
    assert!((share - 0.3).abs() <= 0.08, "{hit} of {n} requests failed");
}

#[test]
fn route_filters_pick_the_requests() {
    let api = Api::start();
    let base = api.proxy("routes");
    api.toxic(
        "routes",
        json!({"name": "a-down", "type": "http_error", "attributes": {"status": 500, "path_prefix": "/a"}}),
    );
    let c = client();
    let status = |method: &str, path: &str| {
        let url = format!("{base}{path}");
        let r = match method {
            "GET" => c.get(url),
            _ => c.post(url),
        }
        .send()
        .expect("answer");
        r.status().as_u16()
    };
    assert_eq!(status("GET", "/a"), 500);
    assert_eq!(status("POST", "/a/deeper?q=1"), 500);
    assert_eq!(status("GET", "/b"), 200);
    assert_eq!(status("GET", "/"), 200);
    // Method too: only POSTs to /a.
    let (code, t) = api.call(
        "POST",
        "/proxies/routes/toxics/a-down",
        Some(json!({"attributes": {"method": "post"}})),
    );
    assert_eq!(code, 200, "{t}");
    assert_eq!(t["attributes"]["method"], "POST");
    assert_eq!(t["attributes"]["path_prefix"], "/a");
    assert_eq!(status("GET", "/a"), 200);
    assert_eq!(status("POST", "/a"), 500);
    assert_eq!(status("POST", "/b"), 200);
    // A null lifts the path filter: every POST.
    api.call(
        "POST",
        "/proxies/routes/toxics/a-down",
        Some(json!({"attributes": {"path_prefix": null}})),
    );
    assert_eq!(status("POST", "/b"), 500);
    assert_eq!(status("GET", "/b"), 200);
    let log = api.registry.get("routes").expect("proxy").requests();
    let untouched = log.iter().filter(|r| r.toxics.is_empty()).count();
    let hit = log.iter().filter(|r| r.toxics == ["a-down"]).count();
    assert_eq!((hit, untouched), (4, 5), "{log:?}");
}

#[test]
fn abort_body_cuts_the_answer_off() {
    let api = Api::start();
    let base = api.proxy("cut");
    api.toxic(
        "cut",
        json!({"type": "abort_body", "attributes": {"bytes": 1000, "path_prefix": "/big"}}),
    );
    let (answer, _, _) = raw(&base, "GET", "/big");
    let (head, body) = split(&answer);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("content-length: 100000"),
        "{head}"
    );
    assert_eq!(body.len(), 1000, "the head and 1000 bytes, then the close");
    // More than one write's worth: every byte allowed is flushed before the close.
    api.call(
        "POST",
        "/proxies/cut/toxics/abort_body_downstream",
        Some(json!({"attributes": {"bytes": 70000}})),
    );
    let (answer, _, _) = raw(&base, "GET", "/big");
    assert_eq!(split(&answer).1.len(), 70_000);
    api.call(
        "POST",
        "/proxies/cut/toxics/abort_body_downstream",
        Some(json!({"attributes": {"bytes": 1000}})),
    );
    // A client sees an error reading the body.
    let r = client()
        .get(format!("{base}/big"))
        .send()
        .expect("the head");
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.bytes().is_err(), "a truncated body is an error");
    // Other routes are whole.
    let r = client().get(format!("{base}/small")).send().expect("whole");
    assert!(r.json::<Value>().is_ok());
    let log = api.registry.get("cut").expect("proxy").requests();
    assert_eq!(log.len(), 4);
    assert!(
        log[..3].iter().all(|r| r.outcome == Outcome::Aborted
            && r.status == Some(200)
            && r.finished.is_some())
    );
    assert_eq!(log[3].outcome, Outcome::Forwarded);
}

#[test]
fn reset_closes_the_connection_without_an_answer() {
    let api = Api::start();
    let base = api.proxy("rst");
    api.toxic(
        "rst",
        json!({"type": "reset", "attributes": {"method": "GET"}}),
    );
    let (got, e, _) = raw(&base, "GET", "/x");
    assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
    let e = e.expect("an error, not a close");
    assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e:?}");
    assert!(client().get(format!("{base}/x")).send().is_err());
    // reset_peer: the same, after its timeout.
    api.call("DELETE", "/proxies/rst/toxics/reset_downstream", None);
    api.toxic(
        "rst",
        json!({"type": "reset_peer", "attributes": {"timeout": 100}}),
    );
    let (got, e, took) = raw(&base, "GET", "/y");
    assert!(got.is_empty());
    assert_eq!(
        e.map(|e| e.kind()),
        Some(std::io::ErrorKind::ConnectionReset)
    );
    assert!(took >= Duration::from_millis(90), "{took:?}");
    let log = api.registry.get("rst").expect("proxy").requests();
    assert_eq!(log.len(), 3);
    assert!(
        log.iter()
            .all(|r| r.outcome == Outcome::Reset && r.status.is_none()),
        "{log:?}"
    );
    assert_eq!(api.seen.requests.load(Ordering::SeqCst), 0);
}

#[test]
fn a_timeout_holds_requests_until_it_is_removed() {
    let api = Api::start();
    let base = api.proxy("hole");
    api.toxic(
        "hole",
        json!({"name": "hole", "type": "timeout", "attributes": {"timeout": 0, "path_prefix": "/a"}}),
    );
    let proxy = api.registry.get("hole").expect("proxy");
    let url = format!("{base}/a");
    let held = std::thread::spawn(move || {
        let started = Instant::now();
        let r = client().get(url).send().expect("answered once released");
        (r.status().as_u16(), started.elapsed())
    });
    // /b passes meanwhile.
    assert_eq!(
        client()
            .get(format!("{base}/b"))
            .send()
            .expect("b")
            .status()
            .as_u16(),
        200
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while proxy.in_flight() == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(proxy.in_flight(), 1);
    let waiting = proxy
        .requests()
        .into_iter()
        .find(|r| r.path == "/a")
        .expect("logged");
    assert_eq!(waiting.outcome, Outcome::Held);
    assert!(waiting.finished.is_none() && waiting.status.is_none());
    let (_, log) = api.call("GET", "/proxies/hole/requests", None);
    assert_eq!(log["in_flight"], 1, "{log}");
    let (status, _) = api.call("DELETE", "/proxies/hole/toxics/hole", None);
    assert_eq!(status, 204);
    let (status, took) = held.join().expect("thread");
    assert_eq!(status, 200);
    assert!(took >= Duration::from_millis(400), "{took:?}");
    let released = proxy
        .requests()
        .into_iter()
        .find(|r| r.path == "/a")
        .expect("logged");
    assert_eq!(released.outcome, Outcome::Forwarded);
    assert_eq!(released.status, Some(200));
    assert_eq!(released.toxics, ["hole"]);
    assert_eq!(proxy.in_flight(), 0);

    // With a timeout: the connection closes without an answer once it passes.
    api.toxic(
        "hole",
        json!({"name": "hole", "type": "timeout", "attributes": {"timeout": 200}}),
    );
    let (got, _, took) = raw(&base, "GET", "/a");
    assert!(got.is_empty());
    assert!(
        took >= Duration::from_millis(150) && took < Duration::from_secs(4),
        "{took:?}"
    );
    let last = proxy.requests().pop().expect("logged");
    assert_eq!(last.outcome, Outcome::Held);
    assert!(last.finished.is_some() && last.status.is_none());
}

#[test]
fn latency_and_bandwidth_apply_per_route() {
    let api = Api::start();
    let base = api.proxy("slow");
    api.toxic(
        "slow",
        json!({"type": "latency", "attributes": {"latency": 300, "path_prefix": "/a"}}),
    );
    let c = client();
    let took = |path: &str| {
        let started = Instant::now();
        let r = c.get(format!("{base}{path}")).send().expect("answer");
        let _ = r.bytes().expect("body");
        started.elapsed()
    };
    let _ = took("/warm");
    assert!(took("/a") >= Duration::from_millis(290));
    // The fastest of three, so that a busy machine does not fail it.
    let b = (0..3).map(|_| took("/b")).min().expect("three");
    assert!(b < Duration::from_millis(250), "{b:?}");
    // 100 KB at 500 KB/s: about 200 ms.
    api.toxic(
        "slow",
        json!({"type": "bandwidth", "attributes": {"rate": 500, "path_prefix": "/big"}}),
    );
    let started = Instant::now();
    let body = c.get(format!("{base}/big")).send().expect("big").bytes();
    let elapsed = started.elapsed();
    assert_eq!(body.expect("whole").len(), 100_000);
    assert!(
        elapsed >= Duration::from_millis(150) && elapsed < Duration::from_secs(5),
        "{elapsed:?}"
    );
}

#[test]
fn the_request_log_tells_attempts_times_and_concurrency() {
    let api = Api::start();
    let base = api.proxy("log");
    let proxy = api.registry.get("log").expect("proxy");
    let c = client();
    for attempt in 1..=2 {
        let r = c
            .post(format!("{base}/infer?status=503"))
            .header("X-Request-Id", "client-7")
            .header("X-Attempt", attempt.to_string())
            .body("{}")
            .send()
            .expect("answer");
        assert_eq!(r.status().as_u16(), 503);
    }
    let r = c.get(format!("{base}/health")).send().expect("answer");
    assert_eq!(r.status().as_u16(), 200);
    // Five at once, each held 800 ms by the upstream.
    let barrier = Arc::new(std::sync::Barrier::new(5));
    let threads: Vec<_> = (0..5)
        .map(|i| {
            let url = format!("{base}/slow?ms=800");
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let c = client();
                barrier.wait();
                c.get(url)
                    .header("x-request-id", format!("par-{i}"))
                    .send()
                    .expect("answer")
                    .status()
                    .as_u16()
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().expect("thread"), 200);
    }
    assert_eq!(proxy.in_flight(), 0);
    assert_eq!(proxy.max_in_flight(), 5);
    let log = proxy.requests();
    assert_eq!(log.len(), 8);
    assert_eq!(
        log.iter().map(|r| r.id).collect::<Vec<_>>(),
        (1..=8).collect::<Vec<_>>()
    );
    assert_eq!(log[0].request_id.as_deref(), Some("client-7"));
    assert_eq!(
        (log[0].attempt, log[1].attempt, log[2].attempt),
        (Some(1), Some(2), None)
    );
    assert_eq!(
        (log[0].method.as_str(), log[0].path.as_str()),
        ("POST", "/infer")
    );
    assert_eq!(
        log.iter().map(|r| r.status).collect::<Vec<_>>()[..3],
        [Some(503), Some(503), Some(200)]
    );
    assert!(log.iter().all(|r| r.outcome == Outcome::Forwarded
        && r.toxics.is_empty()
        && r.finished.is_some_and(|f| f >= r.started)));
    let slow = &log[3..];
    assert!(
        slow.iter()
            .all(|r| r.finished.expect("done") - r.started >= Duration::from_millis(750))
    );

    // The API's JSON: times in ms since the proxy's creation.
    let (status, j) = api.call("GET", "/proxies/log/requests", None);
    assert_eq!(status, 200);
    assert_eq!(j["proxy"], "log");
    assert_eq!(j["protocol"], "http");
    assert_eq!(j["in_flight"], 0);
    assert_eq!(j["max_in_flight"], 5);
    let records = j["requests"].as_array().expect("requests");
    assert_eq!(records.len(), 8);
    let first = &records[0];
    assert_eq!(first["id"], 1);
    assert_eq!(first["request_id"], "client-7");
    assert_eq!(first["attempt"], 1);
    assert_eq!(first["method"], "POST");
    assert_eq!(first["path"], "/infer");
    assert_eq!(first["status"], 503);
    assert_eq!(first["outcome"], "forwarded");
    assert_eq!(first["toxics"], json!([]));
    assert_eq!(records[2]["attempt"], Value::Null);
    let started = first["started_ms"].as_f64().expect("started");
    let finished = first["finished_ms"].as_f64().expect("finished");
    assert!(started >= 0.0 && finished >= started, "{first}");
    let expect = (log[0].started - proxy.created()).as_secs_f64() * 1000.0;
    assert!((started - expect).abs() < 0.01, "{started} vs {expect}");

    // Cleared by DELETE, and by POST /reset; ids go on.
    let (status, _) = api.call("DELETE", "/proxies/log/requests", None);
    assert_eq!(status, 204);
    assert!(proxy.requests().is_empty());
    assert_eq!(proxy.max_in_flight(), 0);
    let _ = c
        .get(format!("{base}/again"))
        .send()
        .expect("answer")
        .bytes();
    assert_eq!(proxy.requests()[0].id, 9);
    let (status, _) = api.call("POST", "/reset", None);
    assert_eq!(status, 204);
    let (_, j) = api.call("GET", "/proxies/log/requests", None);
    assert_eq!(j["requests"], json!([]));
    let (status, _) = api.call("GET", "/proxies/nope/requests", None);
    assert_eq!(status, 404);
}

#[test]
fn http_toxics_need_an_http_proxy() {
    let api = Api::start();
    let (status, p) = api.call(
        "POST",
        "/proxies",
        Some(json!({"name": "plain", "upstream": api.upstream.to_string()})),
    );
    assert_eq!(status, 201);
    assert_eq!(p["protocol"], "tcp", "Toxiproxy's clients get TCP");
    for (toxic, why) in [
        (
            json!({"type": "http_error"}),
            "toxic type `http_error` needs an http proxy, and proxy `plain` is tcp",
        ),
        (
            json!({"type": "abort_body", "attributes": {"bytes": 3}}),
            "`abort_body` needs an http proxy",
        ),
        (json!({"type": "reset"}), "`reset` needs an http proxy"),
        (
            json!({"type": "latency", "attributes": {"latency": 5, "path_prefix": "/a"}}),
            "`path_prefix` and `method` filter the requests of an http proxy",
        ),
    ] {
        let (status, e) = api.call("POST", "/proxies/plain/toxics", Some(toxic.clone()));
        assert_eq!(status, 400, "{toxic}: {e}");
        let message = e["error"].as_str().expect("error");
        assert!(message.contains(why), "{toxic}: {message}");
    }
    let (status, e) = api.call(
        "POST",
        "/proxies",
        Some(json!({"name": "odd", "upstream": "127.0.0.1:1", "protocol": "udp"})),
    );
    assert_eq!(status, 400, "{e}");
    let (status, e) = api.call(
        "POST",
        "/proxies/plain/toxics",
        Some(json!({"type": "http_error", "attributes": {"status": 99}})),
    );
    assert_eq!(status, 400, "{e}");

    // Switched to http, it takes them and speaks HTTP; back to tcp is refused while they are
    // there.
    let (status, p) = api.call("POST", "/proxies/plain", Some(json!({"protocol": "http"})));
    assert_eq!((status, p["protocol"].clone()), (200, json!("http")), "{p}");
    api.toxic(
        "plain",
        json!({"type": "http_error", "attributes": {"status": 502, "path_prefix": "/x"}}),
    );
    let base = format!("http://{}", p["listen"].as_str().expect("listen"));
    assert_eq!(
        client()
            .get(format!("{base}/x"))
            .send()
            .expect("answer")
            .status()
            .as_u16(),
        502
    );
    let (status, e) = api.call("POST", "/proxies/plain", Some(json!({"protocol": "tcp"})));
    assert_eq!(status, 400, "{e}");
    assert!(
        e["error"]
            .as_str()
            .is_some_and(|m| m.contains("needs an http proxy")),
        "{e}"
    );
}

#[test]
fn an_unreachable_upstream_is_a_502() {
    let api = Api::start();
    // A port nothing listens on.
    let free = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead = free.local_addr().expect("addr");
    drop(free);
    let proxy = api
        .registry
        .create_with(
            "dead",
            "127.0.0.1:0",
            &dead.to_string(),
            true,
            modelci_chaos::Protocol::Http,
        )
        .expect("create");
    let r = client()
        .get(format!("http://{}/x", proxy.listen()))
        .send()
        .expect("an answer");
    assert_eq!(r.status().as_u16(), 502);
    let e: Value = r.json().expect("json");
    assert!(
        e["error"]
            .as_str()
            .is_some_and(|m| m.contains(&dead.to_string())),
        "{e}"
    );
    let log = proxy.requests();
    assert_eq!(log[0].outcome, Outcome::UpstreamError);
    assert_eq!(log[0].status, Some(502));
}

#[test]
fn slicer_slow_close_and_upstream_bandwidth_act_per_request() {
    let api = Api::start();
    let base = api.proxy("shape");
    api.toxic(
        "shape",
        json!({"type": "slicer", "attributes": {"average_size": 5000, "size_variation": 1000, "delay": 100, "path_prefix": "/big"}}),
    );
    let c = client();
    let body = c.get(format!("{base}/big")).send().expect("big").bytes();
    assert_eq!(body.expect("whole").len(), 100_000, "sliced, whole");
    // The answer's end waits 300 ms.
    api.toxic(
        "shape",
        json!({"type": "slow_close", "attributes": {"delay": 300, "path_prefix": "/late"}}),
    );
    let started = Instant::now();
    let raw_answer = raw(&base, "GET", "/late");
    assert!(raw_answer.1.is_none(), "{:?}", raw_answer.1);
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
    // 50 KB of request body at 100 KB/s: about half a second before the upstream has it.
    api.toxic(
        "shape",
        json!({"type": "bandwidth", "stream": "upstream", "attributes": {"rate": 100, "method": "PUT"}}),
    );
    let started = Instant::now();
    let echo: Value = c
        .put(format!("{base}/upload"))
        .body(vec![b'y'; 50_000])
        .send()
        .expect("upload")
        .json()
        .expect("json");
    let took = started.elapsed();
    assert_eq!(echo["body"].as_str().map(str::len), Some(50_000));
    assert!(
        took >= Duration::from_millis(350) && took < Duration::from_secs(5),
        "{took:?}"
    );
    let log = api.registry.get("shape").expect("proxy").requests();
    assert_eq!(
        log.iter().map(|r| r.toxics.clone()).collect::<Vec<_>>(),
        [
            vec!["slicer_downstream".to_owned()],
            vec!["slow_close_downstream".to_owned()],
            vec!["bandwidth_upstream".to_owned()],
        ]
    );
}
