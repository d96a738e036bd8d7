//! Sending one request and reading its whole answer, as cheaply as possible: the generator's
//! own cost is part of every latency it measures.
//!
//! Plain `http://` targets that no proxy applies to go over hyper's HTTP/1.1 client
//! connections, kept in a pool of idle connections (one per request in flight at most): no
//! per-request URL parsing, pool bookkeeping or redirect policy. `https://` targets, and targets
//! reached through a proxy, go through the same `reqwest` client as the rest of modelci (TLS,
//! proxies, the system's and Mozilla's roots).

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use reqwest::Url;

use crate::run::RequestTemplate;
use crate::stats::{ErrorKind, Sample, Tokens};

/// Counts the events of a server-sent events stream as its bytes arrive (an event ends with an
/// empty line: `\n\n`, `\r` ignored) and times them.
#[derive(Debug)]
pub(crate) struct EventClock {
    due: Instant,
    newline: bool,
    last: Option<Instant>,
    tokens: Tokens,
}

impl EventClock {
    pub(crate) fn new(due: Instant) -> EventClock {
        EventClock {
            due,
            newline: false,
            last: None,
            tokens: Tokens::default(),
        }
    }

    /// Feeds the bytes that just arrived.
    pub(crate) fn feed(&mut self, bytes: &[u8]) {
        let now = Instant::now();
        for &b in bytes {
            match b {
                b'\r' => {}
                b'\n' if self.newline => {
                    self.newline = false;
                    match self.last {
                        None => self.tokens.first = Some(now.duration_since(self.due)),
                        Some(last) => self.tokens.gaps.push(now.duration_since(last)),
                    }
                    self.last = Some(now);
                }
                b'\n' => self.newline = true,
                _ => self.newline = false,
            }
        }
    }

    pub(crate) fn finish(self) -> Tokens {
        self.tokens
    }
}

fn is_event_stream(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("text/event-stream")
        })
}

/// How requests are sent.
pub(crate) enum Transport {
    /// hyper connections to one address.
    Direct(Direct),
    /// reqwest (TLS, proxies).
    Client(reqwest::Client),
}

/// A request made ready for the direct transport: everything but the body's bytes built once.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    parts: http::request::Parts,
    body: Bytes,
}

/// Idle HTTP/1.1 connections to one server.
pub(crate) struct Direct {
    addrs: Vec<SocketAddr>,
    idle: Mutex<Vec<SendRequest<Full<Bytes>>>>,
    connect_timeout: Duration,
}

impl Transport {
    /// The transport for `requests`: direct when every one is plain HTTP to one host and port
    /// that no proxy applies to, else `client`.
    pub(crate) async fn choose(
        requests: &[RequestTemplate],
        client: reqwest::Client,
        connect_timeout: Duration,
    ) -> (Transport, Vec<Option<Prepared>>) {
        let proxies = modelci_net::ProxySettings::from_env().ok();
        let origin = |u: &Url| {
            (
                u.scheme().to_owned(),
                u.host_str().map(str::to_owned),
                u.port_or_known_default(),
            )
        };
        let first = requests.first().map(|r| origin(&r.url));
        let direct_ok = requests.iter().all(|r| {
            r.url.scheme() == "http"
                && Some(origin(&r.url)) == first
                && proxies
                    .as_ref()
                    .is_some_and(|p| p.proxy_for(&r.url).is_none())
        });
        let addrs = match requests.first() {
            Some(r) if direct_ok => match (r.url.host_str(), r.url.port_or_known_default()) {
                (Some(host), Some(port)) => {
                    let host = host
                        .trim_start_matches('[')
                        .trim_end_matches(']')
                        .to_owned();
                    tokio::net::lookup_host((host, port))
                        .await
                        .map(Iterator::collect::<Vec<_>>)
                        .unwrap_or_default()
                }
                _ => Vec::new(),
            },
            _ => Vec::new(),
        };
        if addrs.is_empty() {
            return (Transport::Client(client), vec![None; requests.len()]);
        }
        let prepared = requests.iter().map(prepare).collect::<Vec<_>>();
        if prepared.iter().any(Option::is_none) {
            return (Transport::Client(client), vec![None; requests.len()]);
        }
        (
            Transport::Direct(Direct {
                addrs,
                idle: Mutex::new(Vec::new()),
                connect_timeout,
            }),
            prepared,
        )
    }

    /// Sends `r` (its prepared form for the direct transport), due at `due`, and reads the whole
    /// answer within `timeout`.
    pub(crate) async fn send(
        &self,
        r: &RequestTemplate,
        prepared: Option<&Prepared>,
        due: Instant,
        timeout: Duration,
        success_below: u16,
    ) -> Result<Sample, (ErrorKind, u64)> {
        match (self, prepared) {
            (Transport::Direct(d), Some(p)) => {
                match tokio::time::timeout(timeout, d.send(p, due, success_below)).await {
                    Ok(result) => result,
                    Err(_) => Err((ErrorKind::Timeout, 0)),
                }
            }
            (Transport::Client(c), _) => send_client(c, r, due, success_below).await,
            (Transport::Direct(_), None) => Err((ErrorKind::Other, 0)),
        }
    }
}

/// The request's head, built once: method, path and query, `Host`, and the headers.
fn prepare(r: &RequestTemplate) -> Option<Prepared> {
    let path = match r.url.query() {
        Some(q) => format!("{}?{q}", r.url.path()),
        None => r.url.path().to_owned(),
    };
    let host = match r.url.port() {
        Some(p) => format!("{}:{p}", r.url.host_str()?),
        None => r.url.host_str()?.to_owned(),
    };
    let mut builder = http::Request::builder()
        .method(r.method.clone())
        .uri(path)
        .header(http::header::HOST, host);
    for (k, v) in &r.headers {
        builder = builder.header(k, v);
    }
    if !r.body.is_empty() {
        builder = builder.header(http::header::CONTENT_LENGTH, r.body.len());
    }
    let (parts, ()) = builder.body(()).ok()?.into_parts();
    Some(Prepared {
        parts,
        body: r.body.clone(),
    })
}

impl Direct {
    /// An idle connection, or a new one.
    async fn connection(&self) -> Result<SendRequest<Full<Bytes>>, ErrorKind> {
        loop {
            let idle = self.idle.lock().ok().and_then(|mut v| v.pop());
            match idle {
                Some(c) if !c.is_closed() => return Ok(c),
                Some(_) => continue,
                None => break,
            }
        }
        let mut last = ErrorKind::Connection;
        for addr in &self.addrs {
            let stream = match tokio::time::timeout(
                self.connect_timeout,
                tokio::net::TcpStream::connect(addr),
            )
            .await
            {
                Ok(Ok(s)) => s,
                Ok(Err(_)) => continue,
                Err(_) => {
                    last = ErrorKind::Timeout;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let Ok((sender, conn)) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await
            else {
                continue;
            };
            tokio::spawn(async move {
                let _ = conn.await;
            });
            return Ok(sender);
        }
        Err(last)
    }

    async fn send(
        &self,
        p: &Prepared,
        due: Instant,
        success_below: u16,
    ) -> Result<Sample, (ErrorKind, u64)> {
        let mut conn = self.connection().await.map_err(|k| (k, 0))?;
        let sent = Instant::now();
        let request = http::Request::from_parts(p.parts.clone(), Full::new(p.body.clone()));
        if conn.ready().await.is_err() {
            return Err((ErrorKind::Connection, 0));
        }
        let response = conn
            .send_request(request)
            .await
            .map_err(|_| (ErrorKind::Connection, 0))?;
        let first_byte = due.elapsed();
        let status = response.status().as_u16();
        let mut clock = is_event_stream(response.headers()).then(|| EventClock::new(due));
        let mut body = response.into_body();
        let mut bytes = 0u64;
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(f) => {
                    if let Some(d) = f.data_ref() {
                        bytes += d.len() as u64;
                        if let Some(c) = clock.as_mut() {
                            c.feed(d);
                        }
                    }
                }
                Err(_) => return Err((ErrorKind::Connection, bytes)),
            }
        }
        // A connection the server keeps open goes back to the pool.
        if !conn.is_closed()
            && let Ok(mut idle) = self.idle.lock()
        {
            idle.push(conn);
        }
        if status >= success_below {
            return Err((ErrorKind::Status(status), bytes));
        }
        Ok(Sample {
            latency: due.elapsed(),
            service: sent.elapsed(),
            first_byte: Some(first_byte),
            bytes,
            tokens: clock.map(EventClock::finish),
        })
    }
}

/// Sends one request with reqwest and reads its whole answer.
async fn send_client(
    client: &reqwest::Client,
    r: &RequestTemplate,
    due: Instant,
    success_below: u16,
) -> Result<Sample, (ErrorKind, u64)> {
    let sent = Instant::now();
    let mut request = client
        .request(r.method.clone(), r.url.clone())
        .headers(r.headers.clone());
    if !r.body.is_empty() {
        request = request.body(r.body.clone());
    }
    let classify = |e: &reqwest::Error| {
        if e.is_timeout() {
            ErrorKind::Timeout
        } else if e.is_connect() || e.is_request() {
            ErrorKind::Connection
        } else {
            ErrorKind::Other
        }
    };
    let mut response = request.send().await.map_err(|e| (classify(&e), 0))?;
    let first_byte = due.elapsed();
    let status = response.status().as_u16();
    let mut clock = is_event_stream(response.headers()).then(|| EventClock::new(due));
    let mut bytes = 0u64;
    loop {
        match response.chunk().await {
            Ok(Some(c)) => {
                bytes += c.len() as u64;
                if let Some(clock) = clock.as_mut() {
                    clock.feed(&c);
                }
            }
            Ok(None) => break,
            Err(e) => return Err((classify(&e), bytes)),
        }
    }
    if status >= success_below {
        return Err((ErrorKind::Status(status), bytes));
    }
    Ok(Sample {
        latency: due.elapsed(),
        service: sent.elapsed(),
        first_byte: Some(first_byte),
        bytes,
        tokens: clock.map(EventClock::finish),
    })
}

/// Where a traced request sits in its run.
pub(crate) struct TraceSlot {
    pub seq: u64,
    pub kind: usize,
    pub due: Instant,
    pub measured: bool,
}

/// Sends `r` with its `X-Request-Id`, within `timeout`, and keeps what `tracing` asks for.
pub(crate) async fn send_traced(
    client: &reqwest::Client,
    r: &RequestTemplate,
    tracing: &crate::run::Tracing,
    slot: TraceSlot,
    timeout: Duration,
    success_below: u16,
) -> (Result<Sample, (ErrorKind, u64)>, crate::run::TraceEntry) {
    let sent = Instant::now();
    let mut entry = crate::run::TraceEntry {
        seq: slot.seq,
        kind: slot.kind,
        due: slot.due,
        sent,
        ended: sent,
        status: None,
        error: None,
        headers: Vec::new(),
        body: None,
        measured: slot.measured,
    };
    let mut request = client
        .request(r.method.clone(), r.url.clone())
        .headers(r.headers.clone())
        .header(
            "x-request-id",
            format!("{}-{}", tracing.id_prefix, slot.seq),
        )
        .timeout(timeout);
    if !r.body.is_empty() {
        request = request.body(r.body.clone());
    }
    let classify = |e: &reqwest::Error| {
        if e.is_timeout() {
            ErrorKind::Timeout
        } else if e.is_connect() || e.is_request() || e.is_body() {
            ErrorKind::Connection
        } else {
            ErrorKind::Other
        }
    };
    let result = async {
        let mut response = request.send().await.map_err(|e| (classify(&e), 0))?;
        let first_byte = slot.due.elapsed();
        let status = response.status().as_u16();
        entry.status = Some(status);
        for name in &tracing.headers {
            if let Some(v) = response.headers().get(name.as_str()) {
                entry.headers.push((
                    name.clone(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                ));
            }
        }
        let mut bytes = 0u64;
        let mut kept = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(c)) => {
                    bytes += c.len() as u64;
                    let room = tracing.body_limit.saturating_sub(kept.len());
                    kept.extend_from_slice(&c[..c.len().min(room)]);
                }
                Ok(None) => break,
                Err(e) => return Err((classify(&e), bytes)),
            }
        }
        if tracing.body_limit > 0 {
            entry.body = Some(Bytes::from(kept));
        }
        if status >= success_below {
            return Err((ErrorKind::Status(status), bytes));
        }
        Ok(Sample {
            latency: slot.due.elapsed(),
            service: sent.elapsed(),
            first_byte: Some(first_byte),
            bytes,
            tokens: None,
        })
    }
    .await;
    entry.ended = Instant::now();
    if let Err((kind, _)) = &result {
        entry.error = Some(kind.clone());
    }
    (result, entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_counted_across_reads() {
        let mut c = EventClock::new(Instant::now());
        c.feed(b"data: a\n\ndata: b\n");
        c.feed(b"\ndata: c\r\n\r\n: comment\n");
        c.feed(b"data: [DONE]\n\n");
        let t = c.finish();
        assert!(t.first.is_some());
        assert_eq!(t.gaps.len(), 3, "{t:?}");
        let mut none = EventClock::new(Instant::now());
        none.feed(b"{\"no\": \"events\"}\n");
        assert_eq!(none.finish(), Tokens::default());
    }
}
