//! A forward HTTP proxy on loopback for tests (feature `testing`): it forwards absolute-form
//! requests (`GET http://upstream.modelci.invalid/x HTTP/1.1`) to the loopback servers it is
//! given for each host name, and records every request it forwards. Host names it does not
//! know are answered `502 Bad Gateway`; `CONNECT` (HTTPS tunnels) is answered `405`. Each
//! connection carries one request (`Connection: close` is sent upstream, and in the answer
//! to the client).

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

/// One request the proxy forwarded (or refused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarded {
    /// `GET`, `POST`...
    pub method: String,
    /// The request target as the client sent it (`http://upstream.modelci.invalid/x`).
    pub target: String,
    /// The `Proxy-Authorization` header the client sent, if any.
    pub proxy_authorization: Option<String>,
}

/// A running proxy; it stops when dropped.
pub struct ForwardProxy {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Forwarded>>>,
    stop: Arc<AtomicBool>,
}

impl ForwardProxy {
    /// Starts a proxy on `127.0.0.1` that sends requests for each host name (without port) to
    /// its loopback address.
    ///
    /// # Errors
    /// When it cannot listen.
    pub fn start(routes: &[(&str, SocketAddr)]) -> io::Result<ForwardProxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let routes: Arc<HashMap<String, SocketAddr>> = Arc::new(
            routes
                .iter()
                .map(|(h, a)| (h.to_ascii_lowercase(), *a))
                .collect(),
        );
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen2, stop2) = (Arc::clone(&seen), Arc::clone(&stop));
        thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (routes, seen) = (Arc::clone(&routes), Arc::clone(&seen2));
                thread::spawn(move || {
                    let _ = serve(stream, &routes, &seen);
                });
            }
        });
        Ok(ForwardProxy { addr, seen, stop })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The requests seen so far, in order.
    pub fn seen(&self) -> Vec<Forwarded> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for ForwardProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

/// Reads an HTTP head, up to and including the blank line that ends it (all of it when the
/// stream ends first).
fn read_head(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut head = Vec::new();
    let mut byte = [0_u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 {
            break;
        }
        head.push(byte[0]);
    }
    Ok(head)
}

/// The response head with its connection headers replaced by `Connection: close`.
fn close_connection(head: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(head);
    let Some(body) = text.strip_suffix("\r\n\r\n") else {
        return head.to_vec();
    };
    let mut out = String::new();
    for (i, line) in body.split("\r\n").enumerate() {
        let name = line
            .split_once(':')
            .map(|(n, _)| n.trim().to_ascii_lowercase());
        if i > 0 && matches!(name.as_deref(), Some("connection" | "keep-alive")) {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    out.into_bytes()
}

fn serve(
    mut client: TcpStream,
    routes: &HashMap<String, SocketAddr>,
    seen: &Mutex<Vec<Forwarded>>,
) -> io::Result<()> {
    let head = read_head(&mut client)?;
    if !head.ends_with(b"\r\n\r\n") {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split_whitespace();
    let (method, target) = (
        parts.next().unwrap_or_default().to_owned(),
        parts.next().unwrap_or_default().to_owned(),
    );
    let mut proxy_authorization = None;
    let mut headers = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        match name.trim().to_ascii_lowercase().as_str() {
            "proxy-authorization" => proxy_authorization = Some(value.trim().to_owned()),
            "proxy-connection" | "connection" | "keep-alive" => {}
            _ => headers.push(line.to_owned()),
        }
    }
    seen.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Forwarded {
            method: method.clone(),
            target: target.clone(),
            proxy_authorization,
        });
    let refuse = |client: &mut TcpStream, status: &str| {
        client.write_all(
            format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
    };
    if method.eq_ignore_ascii_case("CONNECT") {
        return refuse(&mut client, "405 Method Not Allowed");
    }
    let Some(rest) = target.strip_prefix("http://") else {
        return refuse(&mut client, "400 Bad Request");
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let host = authority
        .rsplit_once(':')
        .map_or(authority, |(h, _)| h)
        .to_ascii_lowercase();
    let Some(upstream_addr) = routes.get(&host) else {
        return refuse(&mut client, "502 Bad Gateway");
    };
    let mut upstream = TcpStream::connect(upstream_addr)?;
    let mut out = format!("{method} {path} HTTP/1.1\r\n");
    for h in &headers {
        out.push_str(h);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    upstream.write_all(out.as_bytes())?;
    // The request body, if any, then the answer back.
    let (mut from_client, mut to_upstream) = (client.try_clone()?, upstream.try_clone()?);
    let pump = thread::spawn(move || {
        let _ = io::copy(&mut from_client, &mut to_upstream);
    });
    // The answer's head says `Connection: close` whatever the upstream said: the proxy closes
    // the connection after it, and a client that was not told so could send its next request
    // on a connection that is being closed.
    let answer = read_head(&mut upstream)?;
    client.write_all(&close_connection(&answer))?;
    let _ = io::copy(&mut upstream, &mut client);
    let _ = client.shutdown(Shutdown::Both);
    let _ = upstream.shutdown(Shutdown::Both);
    let _ = pump.join();
    Ok(())
}
