//! Accuracy against a server whose latency is known: each request takes 50, 60, ... or 140 ms
//! (in turn), and the server stalls for one second in the middle of the run. The open model's
//! percentiles match the truth (the stall charged to every request due during it); a closed
//! loop hides the stall, which is why it is not the default.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed assumption is a failed test"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use modelci_load::{Arrivals, Live, LoadSpec, Model, Profile, RequestTemplate, Threshold};

/// The tests measure latency: one at a time, so that they do not slow each other down.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// When the server stalls, from its start.
const STALL_FROM: Duration = Duration::from_millis(2000);
const STALL_TO: Duration = Duration::from_millis(3000);

/// A server: the n-th request takes 50 + 10·(n mod 10) ms; requests that arrive during the
/// stall wait for its end first. `/fail` answers 503.
/// The server's address, its stall switch, and the latency it injected into each request (ms).
type Injected = Arc<std::sync::Mutex<Vec<f64>>>;

fn server() -> (String, Arc<AtomicBool>, Injected) {
    let (tx, rx) = std::sync::mpsc::channel();
    let stall_on = Arc::new(AtomicBool::new(true));
    let stall = Arc::clone(&stall_on);
    let injected: Injected = Arc::default();
    let log = Arc::clone(&injected);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let start = Instant::now();
            tx.send(listener.local_addr().expect("addr")).expect("send");
            let n = Arc::new(AtomicU64::new(0));
            let app = axum::Router::new()
                .route(
                    "/",
                    axum::routing::get(move || {
                        let n = n.fetch_add(1, Ordering::Relaxed);
                        let stall = Arc::clone(&stall);
                        let log = Arc::clone(&log);
                        async move {
                            let since = start.elapsed();
                            let mut wait = Duration::ZERO;
                            if stall.load(Ordering::Relaxed)
                                && since >= STALL_FROM
                                && since < STALL_TO
                            {
                                wait = STALL_TO - since;
                            }
                            wait += Duration::from_millis(50 + 10 * (n % 10));
                            log.lock().expect("log").push(wait.as_secs_f64() * 1000.0);
                            tokio::time::sleep(wait).await;
                            "ok"
                        }
                    }),
                )
                .route(
                    "/fail",
                    axum::routing::get(|| async {
                        (axum::http::StatusCode::SERVICE_UNAVAILABLE, "busy")
                    }),
                );
            axum::serve(listener, app).await.expect("serve");
        });
    });
    let addr = rx.recv().expect("address");
    (format!("http://{addr}"), stall_on, injected)
}

fn request(url: &str) -> RequestTemplate {
    RequestTemplate {
        name: "get".into(),
        method: reqwest::Method::GET,
        url: url.parse().expect("url"),
        headers: reqwest::header::HeaderMap::new(),
        body: bytes::Bytes::new(),
        weight: 1.0,
    }
}

fn spec(url: &str, model: Model) -> LoadSpec {
    LoadSpec {
        requests: vec![request(url)],
        model,
        warmup: Duration::ZERO,
        timeout: Duration::from_secs(10),
        seed: 1,
        workers: 2,
        abort_on: Vec::new(),
        success_below: 400,
        phase: 0.0,
        tracing: None,
    }
}

/// The percentile `q` of `values` (nearest rank, as HdrHistogram gives it).
fn percentile(values: &[f64], q: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((q / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

#[test]
fn open_model_percentiles_match_the_truth_and_show_the_stall() {
    let _serial = serial();
    let (url, _, injected) = server();
    let open = Model::Open {
        profile: Profile::constant(100.0, Duration::from_secs(5)),
        arrivals: Arrivals::Uniform,
        max_in_flight: 1000,
    };
    let cancel = AtomicBool::new(false);
    let out = modelci_load::run(&spec(&url, open), &cancel, &Live::default()).expect("run");
    let s = out.recorder.summary(out.measured, out.target_rps);
    assert_eq!(s.ok, 500, "{s:?}");
    assert_eq!(s.dropped, 0);
    // The truth: what the server injected (stall wait + service time), request by request.
    let truth = injected.lock().expect("log").clone();
    assert_eq!(truth.len(), 500);
    assert!(percentile(&truth, 99.0) > 800.0, "the stall was injected");
    for q in [50.0, 90.0, 95.0, 99.0] {
        let got = out.recorder.percentile_ms(q).expect("p");
        let want = percentile(&truth, q);
        let tolerance = (want * 0.05).max(3.0);
        assert!(
            (got - want).abs() <= tolerance,
            "p{q}: measured {got} ms, truth {want} ms (± {tolerance})"
        );
    }
    assert!(s.p99_ms.expect("p99") > 800.0, "{s:?}");
    let verdict = Threshold::parse("p(99)<300ms")
        .expect("t")
        .judge(&s, |q| out.recorder.percentile_ms(q));
    assert!(!verdict.passed, "the stall fails a p99 SLO");
}

#[test]
fn a_closed_loop_hides_the_stall() {
    let _serial = serial();
    let (url, _, _) = server();
    let closed = Model::Closed {
        vus: 1,
        duration: Duration::from_secs(5),
    };
    let cancel = AtomicBool::new(false);
    let out = modelci_load::run(&spec(&url, closed), &cancel, &Live::default()).expect("run");
    let s = out.recorder.summary(out.measured, None);
    // One user waits out the stall once: one slow sample among ~45.
    assert!(s.ok >= 30, "{s:?}");
    assert!(s.p90_ms.expect("p90") < 200.0, "{s:?}");
    assert!(
        s.max_ms.expect("max") > 800.0,
        "the stall is in one sample: {s:?}"
    );
}

#[test]
fn errors_and_dropped_requests_are_counted_and_abort_early() {
    let _serial = serial();
    let (url, stall, _) = server();
    stall.store(false, Ordering::Relaxed);
    let fail = format!("{url}/fail");
    let open = Model::Open {
        profile: Profile::constant(200.0, Duration::from_secs(10)),
        arrivals: Arrivals::Poisson { seed: 3 },
        max_in_flight: 64,
    };
    let mut spec = spec(&fail, open);
    spec.abort_on = vec![Threshold::parse("error_rate<1%").expect("t")];
    let cancel = AtomicBool::new(false);
    let started = Instant::now();
    let out = modelci_load::run(&spec, &cancel, &Live::default()).expect("run");
    assert!(
        out.aborted
            .as_deref()
            .is_some_and(|w| w.contains("error_rate<1%")),
        "{:?}",
        out.aborted
    );
    assert!(started.elapsed() < Duration::from_secs(8), "stopped early");
    let s = out.recorder.summary(out.measured, out.target_rps);
    assert!(s.failed > 20, "{s:?}");
    assert_eq!(s.errors.get("status 503"), Some(&s.failed), "{s:?}");

    // Slots: 4 in flight at most, 100 ms answers, 200 rps: most requests cannot start.
    let open = Model::Open {
        profile: Profile::constant(200.0, Duration::from_secs(1)),
        arrivals: Arrivals::Uniform,
        max_in_flight: 4,
    };
    let spec2 = LoadSpec {
        model: open,
        ..spec_for(&url)
    };
    let out = modelci_load::run(&spec2, &cancel, &Live::default()).expect("run");
    let s = out.recorder.summary(out.measured, out.target_rps);
    assert_eq!(s.scheduled, 200, "{s:?}");
    assert!(s.dropped > 100, "{s:?}");
    assert_eq!(s.sent + s.dropped, s.scheduled, "{s:?}");

    // An unreachable server: connection errors, not a hang.
    let spec3 = LoadSpec {
        model: Model::Open {
            profile: Profile::constant(20.0, Duration::from_millis(500)),
            arrivals: Arrivals::Uniform,
            max_in_flight: 8,
        },
        ..spec_for("http://127.0.0.1:9")
    };
    let out = modelci_load::run(&spec3, &cancel, &Live::default()).expect("run");
    let s = out.recorder.summary(out.measured, out.target_rps);
    assert_eq!(s.errors.get("connection"), Some(&10), "{s:?}");
}

fn spec_for(url: &str) -> LoadSpec {
    spec(
        url,
        Model::Closed {
            vus: 1,
            duration: Duration::from_secs(1),
        },
    )
}

/// A server that refuses (503) whatever goes beyond 150 requests in any second: the search
/// finds a rate below that and above what it doubled from.
#[test]
fn find_max_brackets_the_rate_a_server_can_take() {
    let _serial = serial();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(listener.local_addr().expect("addr")).expect("send");
            let seen = Arc::new(std::sync::Mutex::new(
                std::collections::VecDeque::<Instant>::new(),
            ));
            let app = axum::Router::new().route(
                "/",
                axum::routing::get(move || {
                    let seen = Arc::clone(&seen);
                    async move {
                        let now = Instant::now();
                        let mut q = seen.lock().expect("lock");
                        while q
                            .front()
                            .is_some_and(|t| now.duration_since(*t) > Duration::from_secs(1))
                        {
                            q.pop_front();
                        }
                        q.push_back(now);
                        if q.len() > 150 {
                            axum::http::StatusCode::SERVICE_UNAVAILABLE
                        } else {
                            axum::http::StatusCode::OK
                        }
                    }
                }),
            );
            axum::serve(listener, app).await.expect("serve");
        });
    });
    let url = format!("http://{}", rx.recv().expect("address"));
    let base = spec(
        &url,
        Model::Open {
            profile: Profile::constant(40.0, Duration::from_secs(1)),
            arrivals: Arrivals::Uniform,
            max_in_flight: 100,
        },
    );
    let slo = [Threshold::parse("error_rate<1%").expect("slo")];
    let cancel = AtomicBool::new(false);
    let found =
        modelci_load::find_max(&base, &slo, 40.0, 10_000.0, 0.2, 10, &cancel).expect("search");
    let best = found.best.expect("a rate held");
    assert!(
        (80.0..160.0).contains(&best),
        "{best}: {:?}",
        found
            .steps
            .iter()
            .map(|s| (s.rate, s.held))
            .collect::<Vec<_>>()
    );
    assert!(found.steps.iter().any(|s| !s.held && s.rate > best));
    assert_eq!(found.steps[0].rate, 40.0);
    assert!(found.steps.len() <= 10);
}

/// A streaming (server-sent events) endpoint: 5 events, the first at once, then one every
/// 40 ms. Time to first token and inter-token latency come out as such.
#[test]
fn streaming_answers_give_time_to_first_token_and_inter_token_latency() {
    use std::io::{Read, Write};
    let _serial = serial();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            // Each event goes out when written: with Nagle's algorithm the first event would
            // wait for the client's delayed ACK of the head (40 ms on Linux).
            let _ = s.set_nodelay(true);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                loop {
                    // One request per read (small GETs), answered as a chunked event stream.
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
                    if s.write_all(head.as_bytes()).is_err() {
                        return;
                    }
                    for i in 0..5 {
                        if i > 0 {
                            std::thread::sleep(Duration::from_millis(40));
                        }
                        let event = format!("data: token {i}\n\n");
                        let chunk = format!("{:x}\r\n{event}\r\n", event.len());
                        if s.write_all(chunk.as_bytes())
                            .and_then(|()| s.flush())
                            .is_err()
                        {
                            return;
                        }
                    }
                    if s.write_all(b"0\r\n\r\n").is_err() {
                        return;
                    }
                }
            });
        }
    });
    let url = format!("http://{addr}/stream");
    let model = Model::Open {
        profile: Profile::constant(10.0, Duration::from_secs(1)),
        arrivals: Arrivals::Uniform,
        max_in_flight: 50,
    };
    let cancel = AtomicBool::new(false);
    let out = modelci_load::run(&spec(&url, model), &cancel, &Live::default()).expect("run");
    let s = out.recorder.summary(out.measured, out.target_rps);
    assert_eq!(s.ok, 10, "{s:?}");
    let ttft = s.first_token_p50_ms.expect("ttft");
    let itl = s.inter_token_p50_ms.expect("itl");
    assert!(ttft < 30.0, "{s:?}");
    assert!((35.0..60.0).contains(&itl), "{s:?}");
    // The whole answer takes the 4 gaps.
    assert!(s.p50_ms.expect("p50") >= 160.0, "{s:?}");
    let t = Threshold::parse("itl_p(99)<100ms").expect("t");
    assert!(t.judge_with(&out.recorder, &s).passed);
    // The gaps are 40 ms: a 10 ms inter-token SLO fails.
    let t = Threshold::parse("itl_p(50)<10ms").expect("t");
    assert!(!t.judge_with(&out.recorder, &s).passed);
}
