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
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
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
