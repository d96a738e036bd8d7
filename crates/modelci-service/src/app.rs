//! Starting and stopping: load every model (and read the metadata of every remote one), listen,
//! announce the address, serve until SIGTERM or SIGINT, then let in-flight requests finish within
//! the grace period.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use modelci_tensor::runtime::{RuntimeError, runtime};

use crate::bulkhead::Bulkhead;
use crate::cli::{Broken, BrokenKind, Cli, Source};
use crate::metrics::Metrics;
use crate::remote::{self, RemoteModel, RetryPolicy};
use crate::served::{Backend, Limits, LoadError, ServedModel, check_fallback, load_onnx};
use crate::server::{AppState, router};

/// Why the service could not start, or stopped on its own.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StartError {
    #[error("{0}")]
    Runtime(#[from] RuntimeError),
    #[error("{0}")]
    Model(#[from] LoadError),
    #[error("model `{0}` is given twice (--model)")]
    Duplicate(String),
    #[error("failed to start the async runtime: {0}")]
    Tokio(std::io::Error),
    #[error("{0}")]
    Client(String),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
    #[error("cannot install the SIGTERM/SIGINT handlers: {0}")]
    Signals(std::io::Error),
    #[error("the server stopped: {0}")]
    Serve(String),
}

/// Runs the service until a shutdown signal (see the module docs).
///
/// # Errors
/// [`StartError`]: nothing was served, or serving failed.
pub(crate) fn run(cli: Cli) -> Result<(), StartError> {
    let broken = Broken::of(&cli.broken);
    if !cli.broken.is_empty() {
        let mut kinds: Vec<BrokenKind> = cli.broken.clone();
        kinds.sort_by_key(|k| k.name());
        kinds.dedup();
        eprintln!(
            "modelci-service: BROKEN on purpose, for tests only (--broken {}): {}",
            kinds
                .iter()
                .map(|k| k.name())
                .collect::<Vec<_>>()
                .join(", "),
            kinds
                .iter()
                .map(|k| k.effect())
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    let sessions = usize::from(cli.sessions);
    let limits = Limits {
        max_concurrency: cli
            .max_concurrency
            .map_or(sessions, |n| usize::try_from(n).unwrap_or(usize::MAX)),
        max_queue: usize::try_from(cli.max_queue).unwrap_or(usize::MAX),
        breaker_failures: cli.breaker_failures,
        breaker_cooldown: Duration::from_millis(cli.breaker_cooldown_ms),
        max_inflight_body_bytes: cli.max_inflight_body_bytes,
        broken,
    };
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("modelci-service")
        .build()
        .map_err(StartError::Tokio)?;
    // ONNX Runtime only where a model or a fallback runs here; one HTTP client for every remote
    // model.
    let needs_runtime = cli
        .models
        .iter()
        .any(|m| matches!(m.source, Source::File(_)) || m.fallback.is_some());
    let rt = if needs_runtime {
        Some(runtime(cli.ort_lib.as_deref())?)
    } else {
        None
    };
    let needs_client = cli
        .models
        .iter()
        .any(|m| matches!(m.source, Source::Remote(_)));
    let client = if needs_client {
        Some(remote::client().map_err(StartError::Client)?)
    } else {
        None
    };
    let policy = RetryPolicy {
        retries: cli.retries,
        backoff: Duration::from_millis(cli.retry_backoff_ms),
        broken,
    };
    let shared = Arc::new(Bulkhead::new(limits.max_concurrency, limits.max_queue));
    let mut models = BTreeMap::new();
    for spec in &cli.models {
        if models.contains_key(&spec.name) {
            return Err(StartError::Duplicate(spec.name.clone()));
        }
        let fail = |message: String| LoadError {
            name: spec.name.clone(),
            message,
        };
        let (primary, shown, runs) = match (&spec.source, rt, &client) {
            (Source::File(path), Some(rt), _) => {
                let model = load_onnx(
                    rt,
                    &spec.name,
                    path,
                    "the model",
                    cli.device.device(),
                    sessions,
                )?;
                let runs = format!("on {}, {sessions} session(s)", model.device.name());
                (
                    Backend::Local(Arc::new(model)),
                    path.display().to_string(),
                    runs,
                )
            }
            (Source::Remote(base), _, Some(client)) => {
                let remote = tokio
                    .block_on(RemoteModel::connect(
                        &spec.name,
                        base,
                        spec.remote_name(),
                        client.clone(),
                        policy,
                        Duration::from_millis(cli.remote_wait_ms),
                    ))
                    .map_err(fail)?;
                let shown = format!("{base}/v2/models/{}", remote.remote_name);
                let runs = format!(
                    "(remote; at most {} attempt(s), backoff {} ms)",
                    cli.retries.saturating_add(1),
                    cli.retry_backoff_ms
                );
                (Backend::Remote(Arc::new(remote)), shown, runs)
            }
            _ => {
                return Err(StartError::Model(fail(
                    "neither ONNX Runtime nor the HTTP client is ready for it".to_owned(),
                )));
            }
        };
        let fallback = match (&spec.fallback, rt) {
            (Some(path), Some(rt)) => {
                let fallback = load_onnx(
                    rt,
                    &spec.name,
                    path,
                    "the fallback",
                    cli.device.device(),
                    sessions,
                )?;
                check_fallback(&spec.name, &primary, &shown, &fallback, path)?;
                Some(fallback)
            }
            _ => None,
        };
        let bulkhead = if broken.shared_pool {
            Arc::clone(&shared)
        } else {
            Arc::new(Bulkhead::new(limits.max_concurrency, limits.max_queue))
        };
        let model = ServedModel::new(
            &spec.name,
            &spec.version,
            primary,
            fallback,
            bulkhead,
            limits,
        );
        eprintln!(
            "modelci-service: model `{}` version {} from {shown} {runs}, {}; at most {} running and {} waiting",
            model.name,
            model.version,
            match &spec.fallback {
                Some(f) => format!("fallback {}", f.display()),
                None => "no fallback".to_owned(),
            },
            limits.max_concurrency,
            limits.max_queue,
        );
        models.insert(spec.name.clone(), Arc::new(model));
    }
    let metrics = Metrics::new(
        models
            .values()
            .map(|m| (m.name.as_str(), m.version.as_str())),
    );
    let state = Arc::new(AppState {
        models,
        ready: AtomicBool::new(true),
        faults_enabled: cli.enable_faults,
        deadline: Duration::from_millis(cli.deadline_ms),
        enforce_deadline: !broken.no_deadline,
        max_body_bytes: usize::try_from(cli.max_body_bytes).unwrap_or(usize::MAX),
        metrics,
    });
    if cli.enable_faults {
        eprintln!(
            "modelci-service: the fault switch is ON (POST/DELETE /faults); never in production"
        );
    }
    let grace = Duration::from_millis(cli.shutdown_grace_ms);
    let limits = crate::listen::ConnectionLimits {
        header_timeout: Duration::from_millis(cli.header_timeout_ms),
        max_connections: usize::try_from(cli.max_connections).unwrap_or(usize::MAX),
    };
    let result = tokio.block_on(serve(state, &cli.host, cli.port, grace, limits));
    // Inferences that outlived the grace period are abandoned, not waited for.
    tokio.shutdown_timeout(Duration::from_millis(100));
    result
}

async fn serve(
    state: Arc<AppState>,
    host: &str,
    port: u16,
    grace: Duration,
    limits: crate::listen::ConnectionLimits,
) -> Result<(), StartError> {
    // Installed before the address is announced, so that a signal right after it is handled.
    let signals = Signals::install().map_err(StartError::Signals)?;
    let address = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let listener = tokio::net::TcpListener::bind(&address)
        .await
        .map_err(|source| StartError::Bind {
            address: address.clone(),
            source,
        })?;
    let local = listener.local_addr().map_err(|source| StartError::Bind {
        address: address.clone(),
        source,
    })?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = router(Arc::clone(&state));
    let server = crate::listen::serve(listener, app, limits, async move {
        let _ = stopped.await;
    });
    let mut server = tokio::spawn(async move {
        server.await;
        Ok::<(), std::io::Error>(())
    });
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on http://{local}");
        let _ = out.flush();
    }
    let signal = tokio::select! {
        ended = &mut server => {
            return Err(StartError::Serve(match ended {
                Ok(Ok(())) => "it ended without a shutdown signal".to_owned(),
                Ok(Err(e)) => e.to_string(),
                Err(e) => e.to_string(),
            }));
        }
        signal = signals.wait() => signal,
    };
    state.ready.store(false, Ordering::Release);
    eprintln!(
        "modelci-service: {signal} received; finishing in-flight requests (at most {} ms)",
        grace.as_millis()
    );
    let _ = stop.send(());
    match tokio::time::timeout(grace, &mut server).await {
        Ok(Ok(Ok(()))) => {
            eprintln!("modelci-service: stopped");
            Ok(())
        }
        Ok(Ok(Err(e))) => Err(StartError::Serve(e.to_string())),
        Ok(Err(e)) => Err(StartError::Serve(e.to_string())),
        Err(_) => {
            server.abort();
            eprintln!(
                "modelci-service: requests still in flight after {} ms; stopping anyway",
                grace.as_millis()
            );
            Ok(())
        }
    }
}

/// SIGTERM and SIGINT (Ctrl-C elsewhere).
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Signals {})
        }
    }

    /// Waits for the first signal and names it.
    async fn wait(self) -> &'static str {
        #[cfg(unix)]
        {
            let Signals { mut term, mut int } = self;
            tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
            "Ctrl-C"
        }
    }
}
