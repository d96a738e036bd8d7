//! Real clients against real loopback servers: through a forward proxy, around it (NO_PROXY,
//! loopback), and capped body reads of answers that are too large or trickle.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and benchmark code: a failed assumption is a failed run"
)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use modelci_net::testing::ForwardProxy;
use modelci_net::{BodyError, ClientPolicy, Deadline, ProxySettings};

/// A loopback HTTP server: `/big` answers 1 MiB, `/trickle` one byte every 30 ms, anything
/// else `hello from {path}`.
fn upstream() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || answer(stream));
        }
    });
    addr
}

fn answer(mut s: TcpStream) {
    let mut head = Vec::new();
    let mut b = [0_u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut b) {
            Ok(1) => head.push(b[0]),
            _ => return,
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let path = text.split_whitespace().nth(1).unwrap_or("/").to_owned();
    match path.as_str() {
        "/redirect" => {
            let _ = s.write_all(
                b"HTTP/1.1 302 Found\r\nLocation: /hello\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
        "/ua" => {
            let ua = text
                .lines()
                .find_map(|l| {
                    l.split_once(':')
                        .filter(|(k, _)| k.eq_ignore_ascii_case("user-agent"))
                        .map(|(_, v)| v.trim().to_owned())
                })
                .unwrap_or_default();
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{ua}",
                ua.len()
            );
        }
        "/big" => {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
            let _ = s.write_all(&vec![b'x'; 1 << 20]);
        }
        "/trickle" => {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
            for _ in 0..100_000 {
                if s.write_all(b"x").and_then(|()| s.flush()).is_err() {
                    return;
                }
                thread::sleep(Duration::from_millis(30));
            }
        }
        _ => {
            let body = format!("hello from {path}");
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    }
}

const UPSTREAM: &str = "upstream.modelci.invalid";

fn policy(proxy: ProxySettings) -> ClientPolicy {
    ClientPolicy::new(Duration::from_secs(5)).proxy(proxy)
}

#[test]
fn a_host_only_the_proxy_can_reach_is_reached_through_it() {
    let proxy = ForwardProxy::start(&[(UPSTREAM, upstream())]).expect("proxy");
    let with_credentials = proxy.url().replace("http://", "http://ann:s3cret@");
    let settings = ProxySettings::explicit(Some(&with_credentials), None, "").expect("settings");
    let client = policy(settings.clone()).build_blocking().expect("client");
    let url = format!("http://{UPSTREAM}/hello?x=1");
    let answer = client.get(&url).send().expect("through the proxy");
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.text().expect("body"), "hello from /hello?x=1");
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].target, url);
    assert_eq!(
        seen[0].proxy_authorization.as_deref(),
        Some(modelci_net::basic_auth("ann", "s3cret").as_str())
    );
    // Messages name the route without the credentials.
    let route = settings
        .describe(&url.parse().expect("url"))
        .expect("proxied");
    assert!(
        route.starts_with("through proxy http://***@127.0.0.1:"),
        "{route}"
    );

    // The async client takes the same route.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let body = rt.block_on(async {
        let client = policy(settings).build().expect("client");
        let answer = client
            .get(format!("http://{UPSTREAM}/async"))
            .send()
            .await
            .expect("through the proxy");
        modelci_net::read_capped(answer, 1000, Deadline::after(Duration::from_secs(5)))
            .await
            .expect("body")
    });
    assert_eq!(body.bytes, b"hello from /async");
    assert_eq!(proxy.seen().len(), 2);
}

#[test]
fn no_proxy_and_loopback_go_direct() {
    let up = upstream();
    let proxy = ForwardProxy::start(&[(UPSTREAM, up)]).expect("proxy");
    // NO_PROXY names the host: the client goes direct, where the name does not resolve.
    let settings = ProxySettings::explicit(Some(&proxy.url()), None, &format!(".{UPSTREAM}"))
        .expect("settings");
    let client = ClientPolicy::new(Duration::from_secs(3))
        .proxy(settings.clone())
        .build_blocking()
        .expect("client");
    let e = client
        .get(format!("http://{UPSTREAM}/hello"))
        .send()
        .expect_err("direct, and unreachable");
    assert!(e.is_connect() || e.is_timeout(), "{e}");
    assert!(proxy.seen().is_empty(), "{:?}", proxy.seen());
    // Loopback never goes through the proxy, even when NO_PROXY does not name it.
    let settings = ProxySettings::explicit(Some(&proxy.url()), None, "").expect("settings");
    let client = policy(settings).build_blocking().expect("client");
    for host in [
        format!("127.0.0.1:{}", up.port()),
        format!("localhost:{}", up.port()),
    ] {
        let text = client
            .get(format!("http://{host}/direct"))
            .send()
            .and_then(reqwest::blocking::Response::text)
            .expect("direct");
        assert_eq!(text, "hello from /direct");
    }
    assert!(proxy.seen().is_empty(), "{:?}", proxy.seen());
}

#[test]
fn without_settings_the_proxy_is_not_used() {
    let proxy = ForwardProxy::start(&[(UPSTREAM, upstream())]).expect("proxy");
    let client = policy(ProxySettings::none())
        .build_blocking()
        .expect("client");
    assert!(client.get(format!("http://{UPSTREAM}/")).send().is_err());
    assert!(proxy.seen().is_empty());
}

#[test]
fn bodies_over_the_cap_are_cut_without_reading_the_rest() {
    let up = upstream();
    let client = policy(ProxySettings::none())
        .build_blocking()
        .expect("client");
    let answer = client
        .get(format!("http://{up}/big"))
        .send()
        .expect("answer");
    let body =
        modelci_net::read_capped_blocking(answer, 1000, Deadline::after(Duration::from_secs(5)))
            .expect("body");
    assert!(body.truncated);
    assert_eq!(body.bytes.len(), 1000);
    let answer = client
        .get(format!("http://{up}/small"))
        .send()
        .expect("answer");
    let body =
        modelci_net::read_capped_blocking(answer, 1000, Deadline::after(Duration::from_secs(5)))
            .expect("body");
    assert!(!body.truncated);
    assert_eq!(body.bytes, b"hello from /small");

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let body = rt.block_on(async {
        let client = policy(ProxySettings::none()).build().expect("client");
        let answer = client
            .get(format!("http://{up}/big"))
            .send()
            .await
            .expect("answer");
        modelci_net::read_capped(answer, 4096, Deadline::after(Duration::from_secs(5)))
            .await
            .expect("body")
    });
    assert!(body.truncated);
    assert_eq!(body.bytes.len(), 4096);
}

#[test]
fn a_trickling_body_ends_at_the_deadline() {
    let up = upstream();
    let limit = Duration::from_millis(400);
    // Each read comes well within the client's timeout; only the deadline ends the body.
    let client = ClientPolicy::new(limit)
        .proxy(ProxySettings::none())
        .build_blocking()
        .expect("client");
    let started = Instant::now();
    let answer = client
        .get(format!("http://{up}/trickle"))
        .send()
        .expect("answer");
    let e = modelci_net::read_capped_blocking(answer, 1 << 20, Deadline::after(limit))
        .expect_err("deadline");
    assert!(matches!(e, BodyError::TimedOut { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        "timed out after 400 ms while reading the body"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let started = Instant::now();
    let e = rt.block_on(async {
        // A client with a long timeout: the read's own deadline ends it.
        let client = ClientPolicy::new(Duration::from_secs(30))
            .proxy(ProxySettings::none())
            .build()
            .expect("client");
        let answer = client
            .get(format!("http://{up}/trickle"))
            .send()
            .await
            .expect("answer");
        modelci_net::read_capped(answer, 1 << 20, Deadline::after(limit))
            .await
            .expect_err("deadline")
    });
    assert!(matches!(e, BodyError::TimedOut { .. }), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn https_requests_tunnel_through_the_https_proxy() {
    let proxy = ForwardProxy::start(&[]).expect("proxy");
    let settings = ProxySettings::explicit(None, Some(&proxy.url()), "").expect("settings");
    let client = policy(settings).build_blocking().expect("client");
    // The test proxy refuses tunnels; what matters is that the client asked it for one.
    assert!(client.get(format!("https://{UPSTREAM}/x")).send().is_err());
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].method, "CONNECT");
    assert_eq!(seen[0].target, format!("{UPSTREAM}:443"));
}

#[test]
fn redirects_are_returned_unless_asked_for_and_the_user_agent_is_modelci() {
    let up = upstream();
    let client = policy(ProxySettings::none())
        .build_blocking()
        .expect("client");
    let answer = client
        .get(format!("http://{up}/redirect"))
        .send()
        .expect("answer");
    assert_eq!(answer.status(), 302);
    let followed = policy(ProxySettings::none())
        .redirects(modelci_net::Redirects::Follow(3))
        .build_blocking()
        .expect("client")
        .get(format!("http://{up}/redirect"))
        .send()
        .and_then(reqwest::blocking::Response::text)
        .expect("followed");
    assert_eq!(followed, "hello from /hello");
    let ua = client
        .get(format!("http://{up}/ua"))
        .send()
        .and_then(reqwest::blocking::Response::text)
        .expect("ua");
    assert_eq!(ua, modelci_net::USER_AGENT);
    assert!(ua.starts_with("modelci/"), "{ua}");
}
