//! Accepting connections with limits a hostile or broken client cannot get around:
//!
//! - **a header timeout**: a connection must bring a whole request head (request line and
//!   headers) within `header_timeout` of opening, and of going idle after an answer (HTTP/1.1
//!   keep-alive); a silent socket, a half-sent request line or an idle keep-alive connection is
//!   closed when it passes. The first byte is awaited here (hyper-util's protocol detection
//!   would wait for it forever); the rest is hyper's header read timeout, which since hyper 1.6
//!   also runs while a kept-alive connection waits for its next request. A slow *body* is bounded by the
//!   request's deadline instead (`--deadline-ms`, see `server`).
//! - **a connection limit**: at most `max_connections` at once; a connection over it is closed
//!   as soon as it is accepted, so that file descriptors and memory stay bounded whatever
//!   clients do.
//! - **graceful shutdown**: when told to stop, no connection is accepted any more, idle ones
//!   are closed at once and the others after their answer in flight (bounded by the caller's
//!   grace period).
//!
//! `axum::serve` has none of the first two (it waits for headers forever and accepts until
//! the process runs out of file descriptors), hence this loop over hyper-util's connection
//! builder.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// The limits on connections.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnectionLimits {
    /// A request head must arrive within this of the connection opening or going idle.
    pub header_timeout: Duration,
    /// Connections open at once, at most.
    pub max_connections: usize,
}

/// Serves `app` on `listener` until `stop` completes, then shuts down gracefully (waiting for
/// the answers in flight; the caller bounds that wait).
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    stop: impl Future<Output = ()>,
) {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    // Told to connections still waiting for their first byte when the service stops.
    let (stopping, stopped) = tokio::sync::watch::channel(false);
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut stop => break,
        };
        let (stream, _) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors (or another transient error): wait a little rather
                // than spin, as axum and hyper do.
                eprintln!("modelci-service: accepting a connection failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            // Over the limit: closed at once (dropped).
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let builder = Arc::clone(&builder);
        let watcher = graceful.watcher();
        let header_timeout = limits.header_timeout;
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            // The first byte must come within the header timeout: the protocol detection
            // (HTTP/1 or HTTP/2) would wait for it forever. A stop closes the wait.
            let mut first = [0u8; 1];
            tokio::select! {
                read = tokio::time::timeout(header_timeout, stream.peek(&mut first)) => {
                    match read {
                        Ok(Ok(n)) if n > 0 => {}
                        _ => return,
                    }
                }
                _ = stopped.wait_for(|s| *s) => return,
            }
            let connection = builder
                .serve_connection_with_upgrades(TokioIo::new(JsonErrors::new(stream)), service)
                .into_owned();
            // Errors of one connection (a client going away, a header timeout) end it only.
            let _ = watcher.watch(connection).await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = stopping.send(true);
    graceful.shutdown().await;
}

/// A connection whose automatic error answers (hyper's, for requests it cannot parse: 400, 414
/// URI too long, 431 headers too large, sent with no body and before any routing) get the JSON
/// body every other error has (`{"error": "..."}`), as the Open Inference Protocol and the
/// service's document say. Every other byte passes through untouched.
///
/// hyper writes such an answer as one head with `content-length: 0` and closes; the service
/// itself never answers a 4xx without a body, so a 4xx head with `content-length: 0` is
/// hyper's. Vectored writes are turned off so that hyper flattens each answer into one write.
pub(crate) struct JsonErrors<S> {
    inner: S,
    /// Bytes still to write in place of an automatic answer.
    pending: Vec<u8>,
    written: usize,
}

impl<S> JsonErrors<S> {
    pub(crate) fn new(inner: S) -> JsonErrors<S> {
        JsonErrors {
            inner,
            pending: Vec::new(),
            written: 0,
        }
    }
}

/// The JSON answer that replaces an automatic one (None: `head` is not one).
fn json_error(head: &[u8]) -> Option<Vec<u8>> {
    let end = head.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    if end != head.len() {
        return None;
    }
    let text = std::str::from_utf8(head).ok()?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next()?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next()?;
    let code: u16 = parts.next()?.parse().ok()?;
    if !version.starts_with("HTTP/1.") || !(400..500).contains(&code) {
        return None;
    }
    let headers: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();
    let empty = headers.iter().any(|h| {
        h.split_once(':').is_some_and(|(n, v)| {
            n.trim().eq_ignore_ascii_case("content-length") && v.trim() == "0"
        })
    });
    if !empty {
        return None;
    }
    let message = match code {
        400 => "the request cannot be read as HTTP (a malformed request line or header)",
        414 => "the request's URL is too long",
        431 => "the request's headers are too large",
        _ => "the request cannot be read",
    };
    let body = serde_json::json!({ "error": message }).to_string();
    let mut out = format!("{status_line}\r\n");
    for h in headers {
        let is_length = h
            .split_once(':')
            .is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case("content-length"));
        if !is_length {
            out.push_str(h);
            out.push_str("\r\n");
        }
    }
    out.push_str("content-type: application/json\r\n");
    out.push_str(&format!("content-length: {}\r\n\r\n{body}", body.len()));
    Some(out.into_bytes())
}

impl<S: tokio::io::AsyncWrite + Unpin> JsonErrors<S> {
    /// Writes what is pending; ready when nothing is.
    fn drain(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        use std::task::Poll;
        while self.written < self.pending.len() {
            match std::pin::Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.written..])
            {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
                }
                Poll::Ready(Ok(n)) => self.written += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        self.pending.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl<S: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for JsonErrors<S> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for JsonErrors<S> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        use std::task::Poll;
        match self.drain(cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        }
        if buf.len() < 4096
            && buf.starts_with(b"HTTP/1.")
            && let Some(replacement) = json_error(buf)
        {
            self.pending = replacement;
            self.written = 0;
            // Taken whole; written by `drain` (now, and on flush).
            let _ = self.drain(cx);
            return Poll::Ready(Ok(buf.len()));
        }
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::task::Poll;
        match self.drain(cx) {
            Poll::Ready(Ok(())) => std::pin::Pin::new(&mut self.inner).poll_flush(cx),
            other => other,
        }
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::task::Poll;
        match self.drain(cx) {
            Poll::Ready(Ok(())) => std::pin::Pin::new(&mut self.inner).poll_shutdown(cx),
            other => other,
        }
    }

    fn is_write_vectored(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::json_error;

    #[test]
    fn automatic_error_answers_get_a_json_body() {
        let head = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Sat, 05 Dec 2026 10:00:00 GMT\r\n\r\n";
        let out = String::from_utf8(json_error(head).expect("replaced")).expect("utf8");
        assert!(
            out.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
            "{out}"
        );
        assert!(
            out.contains("date: Sat, 05 Dec 2026 10:00:00 GMT\r\n"),
            "{out}"
        );
        assert!(out.contains("content-type: application/json\r\n"), "{out}");
        let body = r#"{"error":"the request's headers are too large"}"#;
        assert!(
            out.ends_with(&format!("content-length: {}\r\n\r\n{body}", body.len())),
            "{out}"
        );
        // The service's own answers pass untouched: with a body, or not an error.
        assert!(json_error(b"HTTP/1.1 404 Not Found\r\ncontent-length: 20\r\n\r\n").is_none());
        assert!(json_error(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n").is_none());
        assert!(json_error(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n{").is_none());
    }
}
