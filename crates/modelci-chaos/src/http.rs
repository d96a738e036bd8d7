//! The HTTP proxy: for a proxy of [`Protocol::Http`](crate::Protocol::Http), each accepted
//! connection is served as HTTP/1.1 (hyper), and each request is forwarded to the upstream
//! through a pooled, kept-alive client, its method, path, query, headers (less the hop-by-hop
//! ones) and body streamed, and the answer streamed back.
//!
//! The toxics act per request. When a request arrives, the proxy picks the toxics whose route
//! filter (`path_prefix`, `method`) matches it, each with its `toxicity` as the probability,
//! and applies them in the order they were added:
//!
//! | type | on a request |
//! |---|---|
//! | `latency` | waits `latency` ± `jitter` before going on (before it is forwarded) |
//! | `timeout` | holds it while the toxic is there; forwards it once the toxic is removed, or closes the connection without an answer when the toxic's `timeout` (ms, not 0) passes first |
//! | `http_error` | answers `status` with `{"error": "injected by modelci chaos proxy"}`; the upstream never sees it |
//! | `reset` | resets the client's connection (TCP RST) without an answer |
//! | `reset_peer` | the same, after `timeout` ms |
//! | `abort_body`, `limit_data` | forwards it, then sends the answer's head and the first `bytes` bytes of its body, and closes the connection |
//! | `bandwidth` | limits the answer's body (`stream` downstream) or the request's body (upstream) to `rate` KB/s |
//! | `slicer` | cuts that body into pieces, `delay` µs apart |
//! | `slow_close` | delays the end of the answer's body (its last byte) by `delay` ms |
//!
//! The proxy does not pass protocol upgrades (`Upgrade` is a hop-by-hop header): WebSocket and
//! `h2c` clients get the upstream's plain HTTP/1.1 answer.
//!
//! Toxics added or removed while a request is in flight do not change what it gets, except
//! that removing a `timeout` releases the requests it holds. An upstream that cannot be reached
//! (within 10 s) gets the client a 502 with a JSON `error`.
//!
//! Every request is logged (see [`crate::requests`]).

use std::collections::VecDeque;
use std::future::Future as _;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker, ready};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode, Uri, Version};
use http_body_util::BodyExt as _;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::proxy::Proxy;
use crate::requests::Outcome;
use crate::toxic::{Kind, Stream, Toxic};

/// How long connecting to the upstream may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an idle kept-alive connection to the upstream stays in the pool.
const POOL_IDLE: Duration = Duration::from_secs(90);
/// The body of an `http_error` answer.
pub const INJECTED_ERROR: &str = "injected by modelci chaos proxy";

/// A body's error.
type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The bodies the proxy passes on, both ways.
type ProxyBody = UnsyncBoxBody<Bytes, BoxError>;
/// A proxy's client to its upstream.
pub(crate) type UpstreamClient = Client<HttpConnector, ProxyBody>;

/// A client to the upstream that keeps connections alive in a pool.
pub(crate) fn upstream_client() -> UpstreamClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
    Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(POOL_IDLE)
        .build(connector)
}

/// Why the proxy closed a client's connection without an answer (the service's error, which
/// makes hyper close the connection).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Closed(&'static str);

/// One client connection.
struct Conn {
    proxy: Arc<Proxy>,
    /// Its socket's flushes.
    flushes: Arc<Flushes>,
    /// A second handle on the client's socket: a reset sets its linger to 0 before the socket
    /// closes, so that the client gets a TCP RST.
    socket: std::net::TcpStream,
}

impl Conn {
    /// Resets the client's connection (once the service's error closes it).
    fn reset(&self, ticket: &Ticket) -> Closed {
        ticket.update(|r| r.outcome = Outcome::Reset);
        let _ = socket2::SockRef::from(&self.socket).set_linger(Some(Duration::ZERO));
        Closed("the connection was reset by a toxic")
    }
}

/// Serves one client connection as HTTP/1.1 until it closes or the proxy stops.
pub(crate) async fn connection(
    client: TcpStream,
    proxy: Arc<Proxy>,
    mut stop: watch::Receiver<bool>,
) {
    proxy.counters.open.fetch_add(1, Ordering::Relaxed);
    serve(client, &proxy, &mut stop).await;
    proxy.counters.open.fetch_sub(1, Ordering::Relaxed);
}

async fn serve(client: TcpStream, proxy: &Arc<Proxy>, stop: &mut watch::Receiver<bool>) {
    let _ = client.set_nodelay(true);
    let Ok(std_client) = client.into_std() else {
        return;
    };
    let Ok(socket) = std_client.try_clone() else {
        return;
    };
    let Ok(client) = TcpStream::from_std(std_client) else {
        return;
    };
    let flushes = Arc::new(Flushes::default());
    let conn = Arc::new(Conn {
        proxy: Arc::clone(proxy),
        flushes: Arc::clone(&flushes),
        socket,
    });
    let service = hyper::service::service_fn(move |req| handle(Arc::clone(&conn), req));
    let io = Watched {
        inner: client,
        flushes,
    };
    let serving = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), service);
    tokio::select! {
        _ = serving => {}
        _ = stop.changed() => {}
    }
}

/// A request's entry in the log: it ends (finished, out of the in-flight count) when dropped
/// at the latest.
struct Ticket {
    proxy: Arc<Proxy>,
    id: u64,
    ended: bool,
}

impl Ticket {
    fn update(&self, f: impl FnOnce(&mut crate::requests::RequestRecord)) {
        self.proxy.log.update(self.id, f);
    }

    fn end(&mut self) {
        if !self.ended {
            self.ended = true;
            self.proxy.log.end(self.id);
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.end();
    }
}

/// What the toxics do to one body.
#[derive(Debug, Clone, Default)]
struct Shape {
    /// KB/s (0: nothing passes).
    rate: Option<u64>,
    /// Pieces of `.0` ± `.1` bytes, `.2` apart.
    slicer: Option<(usize, usize, Duration)>,
    /// Bytes that pass before the connection is closed.
    limit: Option<u64>,
    /// A wait before the end.
    slow_close: Duration,
}

/// The toxics that apply to a request of `method` to `path`: those whose route matches, each
/// drawn with its toxicity.
fn choose(proxy: &Proxy, method: &str, path: &str) -> Vec<Toxic> {
    let toxics = proxy.toxics();
    let mut rng = proxy.rng.lock().unwrap_or_else(PoisonError::into_inner);
    toxics
        .into_iter()
        .filter(|t| t.route.matches(method, path))
        .filter(|t| t.toxicity >= 1.0 || (t.toxicity > 0.0 && rng.unit() < t.toxicity))
        .collect()
}

/// `latency` ± `jitter` (uniform), never negative.
fn delay(proxy: &Proxy, latency: Duration, jitter: Duration) -> Duration {
    let spread = if jitter.is_zero() {
        0.0
    } else {
        let mut rng = proxy.rng.lock().unwrap_or_else(PoisonError::into_inner);
        (rng.unit() * 2.0 - 1.0) * jitter.as_secs_f64()
    };
    Duration::from_secs_f64((latency.as_secs_f64() + spread).max(0.0))
}

/// A header's value as text.
fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned())
}

async fn handle(conn: Arc<Conn>, req: Request<Incoming>) -> Result<Response<ProxyBody>, Closed> {
    let proxy = &conn.proxy;
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let id = proxy.log.begin(
        header_text(req.headers(), "x-request-id"),
        header_text(req.headers(), "x-attempt").and_then(|a| a.parse().ok()),
        method.clone(),
        path.clone(),
    );
    let ticket = Ticket {
        proxy: Arc::clone(proxy),
        id,
        ended: false,
    };
    let chosen = choose(proxy, &method, &path);
    if !chosen.is_empty() {
        ticket.update(|r| r.toxics = chosen.iter().map(|t| t.name.clone()).collect());
    }
    let mut up = Shape::default();
    let mut down = Shape::default();
    for t in &chosen {
        let shape = match t.stream {
            Stream::Upstream => &mut up,
            Stream::Downstream => &mut down,
        };
        match &t.kind {
            Kind::Latency { latency, jitter } => {
                tokio::time::sleep(delay(proxy, *latency, *jitter)).await;
            }
            Kind::Timeout { .. } => {
                if !hold(proxy, t, &ticket).await {
                    return Err(Closed("the request was held until the toxic's timeout"));
                }
            }
            Kind::Reset => return Err(conn.reset(&ticket)),
            Kind::ResetPeer { timeout } => {
                tokio::time::sleep(*timeout).await;
                return Err(conn.reset(&ticket));
            }
            Kind::HttpError { status } => return Ok(injected(&conn, *status, ticket)),
            Kind::AbortBody { bytes } | Kind::LimitData { bytes } => {
                down.limit = Some(down.limit.map_or(*bytes, |l| l.min(*bytes)));
            }
            Kind::Bandwidth { rate } => {
                shape.rate = Some(shape.rate.map_or(*rate, |r| r.min(*rate)));
            }
            Kind::Slicer {
                average_size,
                size_variation,
                delay,
            } => shape.slicer = Some((*average_size, *size_variation, *delay)),
            Kind::SlowClose { delay } => down.slow_close = down.slow_close.max(*delay),
        }
    }
    Ok(forward(&conn, req, up, down, ticket).await)
}

/// Holds a request while the `timeout` toxic `t` is on the proxy: `true` once it is removed
/// (the request goes on), `false` when its `timeout` passes first (the connection closes).
async fn hold(proxy: &Proxy, t: &Toxic, ticket: &Ticket) -> bool {
    ticket.update(|r| r.outcome = Outcome::Held);
    // Subscribed before looking, so that no change is missed.
    let mut changes = proxy.changes.subscribe();
    let since = Instant::now();
    while let Some(Toxic {
        kind: Kind::Timeout { timeout },
        ..
    }) = proxy.toxics().into_iter().find(|x| x.name == t.name)
    {
        let expire = async move {
            if timeout.is_zero() {
                std::future::pending::<()>().await;
            } else {
                tokio::time::sleep_until((since + timeout).into()).await;
            }
        };
        tokio::select! {
            changed = changes.changed() => {
                if changed.is_err() {
                    return false;
                }
            }
            () = expire => return false,
        }
    }
    ticket.update(|r| r.outcome = Outcome::Forwarded);
    true
}

/// A small JSON answer.
fn json_response(
    conn: &Conn,
    status: StatusCode,
    body: String,
    ticket: Ticket,
) -> Response<ProxyBody> {
    let body = Shaped::new(
        http_body_util::Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed_unsync(),
        Shape::default(),
        &conn.proxy,
        Stream::Downstream,
        Some((ticket, Arc::clone(&conn.flushes))),
    );
    let mut response = Response::new(body.boxed_unsync());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// An `http_error` toxic's answer.
fn injected(conn: &Conn, status: u16, ticket: Ticket) -> Response<ProxyBody> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    ticket.update(|r| {
        r.outcome = Outcome::InjectedError;
        r.status = Some(status.as_u16());
    });
    let body = serde_json::json!({ "error": INJECTED_ERROR }).to_string();
    json_response(conn, status, body, ticket)
}

/// A 502 for an upstream that failed, with why.
fn bad_gateway(
    conn: &Conn,
    upstream: &str,
    why: &dyn std::error::Error,
    ticket: Ticket,
) -> Response<ProxyBody> {
    ticket.update(|r| {
        r.outcome = Outcome::UpstreamError;
        r.status = Some(StatusCode::BAD_GATEWAY.as_u16());
    });
    let mut message = why.to_string();
    let mut source = why.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    let body = serde_json::json!({
        "error": format!("modelci chaos proxy: upstream `{upstream}` failed: {message}")
    })
    .to_string();
    json_response(conn, StatusCode::BAD_GATEWAY, body, ticket)
}

/// The hop-by-hop headers (RFC 9110 7.6.1, and those in use before it), which one connection's
/// ends keep to themselves.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Removes the hop-by-hop headers, and those that `Connection` names.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for n in named {
        headers.remove(n);
    }
    for n in HOP_BY_HOP {
        headers.remove(*n);
    }
}

/// Forwards a request to the upstream; the answer to send back.
async fn forward(
    conn: &Conn,
    req: Request<Incoming>,
    up: Shape,
    down: Shape,
    ticket: Ticket,
) -> Response<ProxyBody> {
    let proxy = &conn.proxy;
    let (mut parts, body) = req.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    let upstream = proxy.upstream();
    let authority = upstream
        .trim()
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let uri: Uri = match format!("http://{authority}{target}").parse() {
        Ok(u) => u,
        Err(e) => return bad_gateway(conn, &upstream, &e, ticket),
    };
    parts.uri = uri;
    parts.version = Version::HTTP_11;
    let body = Shaped::new(
        body.map_err(BoxError::from).boxed_unsync(),
        up,
        proxy,
        Stream::Upstream,
        None,
    );
    match proxy
        .client
        .request(Request::from_parts(parts, body.boxed_unsync()))
        .await
    {
        Err(e) => bad_gateway(conn, &upstream, &e, ticket),
        Ok(answer) => {
            let (mut parts, body) = answer.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            ticket.update(|r| r.status = Some(parts.status.as_u16()));
            let body = Shaped::new(
                body.map_err(BoxError::from).boxed_unsync(),
                down,
                proxy,
                Stream::Downstream,
                Some((ticket, Arc::clone(&conn.flushes))),
            );
            Response::from_parts(parts, body.boxed_unsync())
        }
    }
}

/// How long a cut-off body waits at most for its last bytes to be flushed to the client
/// before the connection closes all the same (a client that does not read).
const CUT_GRACE: Duration = Duration::from_secs(5);

/// The flushes of one client connection. hyper flushes its connection only once its write
/// buffer is empty, so a flush after an answer's body handed over its last bytes means they
/// are on the socket: a body cut off waits for one before its error closes the connection
/// (which would drop what hyper still buffers).
#[derive(Debug, Default)]
struct Flushes {
    count: AtomicU64,
    waker: Mutex<Option<Waker>>,
}

impl Flushes {
    fn flushed(&self) {
        self.count.fetch_add(1, Ordering::SeqCst);
        let waker = self
            .waker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// A client's socket that counts its flushes.
struct Watched {
    inner: TcpStream,
    flushes: Arc<Flushes>,
}

impl tokio::io::AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let done = ready!(Pin::new(&mut this.inner).poll_flush(cx));
        if done.is_ok() {
            this.flushes.flushed();
        }
        Poll::Ready(done)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// A body being cut off: it waits for a flush after `after` (or the grace) first.
struct Cut {
    after: u64,
    grace: Pin<Box<tokio::time::Sleep>>,
    outcome: Outcome,
    why: BoxError,
}

/// A body passed on through its toxics (rate, slices, a limit, a slow end), counted in the
/// proxy's counters; the answer's body also ends its request's log entry.
struct Shaped {
    inner: ProxyBody,
    shape: Shape,
    proxy: Arc<Proxy>,
    stream: Stream,
    /// The request's log entry (answers only).
    ticket: Option<Ticket>,
    /// The client connection's flushes (answers only).
    flushes: Option<Arc<Flushes>>,
    /// Pieces read and not yet passed on.
    pending: VecDeque<Bytes>,
    /// Whether the first pending piece waited for the rate.
    paced: bool,
    /// A wait before the next piece (or the end).
    wait: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Bytes passed on.
    passed: u64,
    inner_done: bool,
    /// Whether the slow close's wait was made.
    closing: bool,
    /// With a slow close: the last byte read, held back until the wait is over (hyper ends
    /// a body of known length with its last byte).
    tail: Option<Bytes>,
    /// The trailers, passed on after the data.
    trailers: Option<Frame<Bytes>>,
    /// Set once the body is being cut off.
    cut: Option<Cut>,
    finished: bool,
}

impl Shaped {
    fn new(
        inner: ProxyBody,
        shape: Shape,
        proxy: &Arc<Proxy>,
        stream: Stream,
        answer: Option<(Ticket, Arc<Flushes>)>,
    ) -> Shaped {
        let (ticket, flushes) = answer.map_or((None, None), |(t, f)| (Some(t), Some(f)));
        Shaped {
            inner,
            shape,
            proxy: Arc::clone(proxy),
            stream,
            ticket,
            flushes,
            pending: VecDeque::new(),
            paced: false,
            wait: None,
            passed: 0,
            inner_done: false,
            closing: false,
            tail: None,
            trailers: None,
            cut: None,
            finished: false,
        }
    }

    /// The body is over (its request's log entry too).
    fn finish(&mut self) {
        self.finished = true;
        if let Some(mut t) = self.ticket.take() {
            t.end();
        }
    }

    /// Starts cutting the body off with `why` (the request's outcome becomes `outcome`).
    fn start_cut(&mut self, outcome: Outcome, why: BoxError) {
        let after = self
            .flushes
            .as_ref()
            .map_or(0, |f| f.count.load(Ordering::SeqCst));
        self.cut = Some(Cut {
            after,
            grace: Box::pin(tokio::time::sleep(CUT_GRACE)),
            outcome,
            why,
        });
    }

    /// Cuts the body off once what was handed over is flushed: the error makes hyper close
    /// the connection.
    fn poll_cut(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let Some(cut) = self.cut.as_mut() else {
            return Poll::Pending;
        };
        let flushed = match &self.flushes {
            None => true,
            Some(f) => {
                // The waker first, so that a flush between the two is not missed.
                *f.waker.lock().unwrap_or_else(PoisonError::into_inner) = Some(cx.waker().clone());
                f.count.load(Ordering::SeqCst) > cut.after
            }
        };
        if !flushed && cut.grace.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        let Some(cut) = self.cut.take() else {
            return Poll::Pending;
        };
        if let Some(t) = &self.ticket {
            t.update(|r| r.outcome = cut.outcome);
        }
        self.finish();
        Poll::Ready(Some(Err(cut.why)))
    }

    /// Queues `data` as the pieces the slicer and the rate make.
    fn queue(&mut self, data: Bytes) {
        let mut pieces = Vec::new();
        match self.shape.slicer {
            Some((average, variation, _)) if average > 0 => {
                let mut rest = data;
                let mut rng = self
                    .proxy
                    .rng
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                while !rest.is_empty() {
                    let spread = variation.min(average.saturating_sub(1));
                    let jitter = if spread == 0 {
                        0
                    } else {
                        rng.index(2 * spread + 1)
                    };
                    let size = (average + jitter).saturating_sub(spread).max(1);
                    pieces.push(rest.split_to(size.min(rest.len())));
                }
            }
            _ => pieces.push(data),
        }
        for mut piece in pieces {
            match self.shape.rate {
                // A slice of 100 ms worth at a time.
                Some(rate) if rate > 0 => {
                    let per_tick = usize::try_from(rate.saturating_mul(100)).unwrap_or(usize::MAX);
                    while !piece.is_empty() {
                        self.pending
                            .push_back(piece.split_to(per_tick.min(piece.len())));
                    }
                }
                _ => self.pending.push_back(piece),
            }
        }
    }

    /// Bytes queued and not yet passed on.
    fn queued(&self) -> u64 {
        self.pending.iter().map(|p| p.len() as u64).sum()
    }
}

/// Why an answer's body stopped at its limit.
fn cut_off() -> BoxError {
    Box::new(std::io::Error::other(
        "the body was cut off by the modelci chaos proxy",
    ))
}

impl Body for Shaped {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        loop {
            if this.finished {
                return Poll::Ready(None);
            }
            if this.cut.is_some() {
                return this.poll_cut(cx);
            }
            if let Some(wait) = this.wait.as_mut() {
                ready!(wait.as_mut().poll(cx));
                this.wait = None;
            }
            if let Some(front) = this.pending.front()
                && !this.paced
                && let Some(rate) = this.shape.rate
            {
                // The rate: each piece waits for its time before it goes (a rate of zero lets
                // nothing through).
                this.paced = true;
                let pause = if rate == 0 {
                    this.paced = false;
                    Duration::from_secs(3600)
                } else {
                    Duration::from_secs_f64(front.len() as f64 / (rate as f64 * 1000.0))
                };
                this.wait = Some(Box::pin(tokio::time::sleep(pause)));
                continue;
            }
            if let Some(mut piece) = this.pending.pop_front() {
                this.paced = false;
                if let Some(limit) = this.shape.limit {
                    let room = limit.saturating_sub(this.passed);
                    if room == 0 {
                        this.start_cut(Outcome::Aborted, cut_off());
                        continue;
                    }
                    piece.truncate(usize::try_from(room).unwrap_or(usize::MAX));
                }
                let len = piece.len() as u64;
                this.passed += len;
                let counter = match this.stream {
                    Stream::Upstream => &this.proxy.counters.bytes_up,
                    Stream::Downstream => &this.proxy.counters.bytes_down,
                };
                counter.fetch_add(len, Ordering::Relaxed);
                if let Some((_, _, gap)) = this.shape.slicer
                    && !gap.is_zero()
                {
                    this.wait = Some(Box::pin(tokio::time::sleep(gap)));
                }
                return Poll::Ready(Some(Ok(Frame::data(piece))));
            }
            if this.shape.limit.is_some_and(|l| this.passed >= l) {
                this.start_cut(Outcome::Aborted, cut_off());
                continue;
            }
            if this.inner_done {
                if !this.shape.slow_close.is_zero() && !this.closing {
                    this.closing = true;
                    this.wait = Some(Box::pin(tokio::time::sleep(this.shape.slow_close)));
                    continue;
                }
                if let Some(tail) = this.tail.take() {
                    this.queue(tail);
                    continue;
                }
                if this.shape.limit.is_some() {
                    // Shorter than the limit: the connection closes all the same.
                    this.start_cut(Outcome::Aborted, cut_off());
                    continue;
                }
                if let Some(trailers) = this.trailers.take() {
                    return Poll::Ready(Some(Ok(trailers)));
                }
                this.finish();
                return Poll::Ready(None);
            }
            match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                None => this.inner_done = true,
                Some(Err(e)) => this.start_cut(Outcome::UpstreamError, e),
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(mut data) if !data.is_empty() => {
                        if this.shape.slow_close.is_zero() {
                            this.queue(data);
                        } else {
                            if let Some(tail) = this.tail.take() {
                                this.queue(tail);
                            }
                            this.tail = Some(data.split_off(data.len() - 1));
                            if !data.is_empty() {
                                this.queue(data);
                            }
                        }
                    }
                    Ok(_) => {}
                    Err(trailers) => this.trailers = Some(trailers),
                },
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.finished
            || (self.pending.is_empty()
                && self.wait.is_none()
                && self.cut.is_none()
                && self.shape.limit.is_none()
                && self.shape.slow_close.is_zero()
                && self.inner.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        if self.finished {
            return SizeHint::with_exact(0);
        }
        let inner = self.inner.size_hint();
        let queued = self.queued();
        let mut hint = SizeHint::new();
        hint.set_lower(inner.lower().saturating_add(queued));
        if let Some(upper) = inner.upper() {
            hint.set_upper(upper.saturating_add(queued));
        }
        hint
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_stay_behind() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("connection", "keep-alive, x-private"),
            ("keep-alive", "timeout=5"),
            ("x-private", "1"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "h2c"),
            ("x-request-id", "r1"),
            ("content-length", "3"),
        ] {
            h.append(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        strip_hop_by_hop(&mut h);
        let mut left: Vec<&str> = h.keys().map(HeaderName::as_str).collect();
        left.sort_unstable();
        assert_eq!(left, ["content-length", "x-request-id"]);
    }
}
