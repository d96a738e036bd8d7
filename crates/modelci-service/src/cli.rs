//! The command line: what to serve, where, and the resilience limits.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use modelci_tensor::runtime::Device;

/// Serves ONNX models over the Open Inference Protocol (KServe v2 REST), with ONNX Runtime, or
/// stands as a gateway in front of remote v2 model servers.
///
/// Each model gets a deadline per request (504 past it), a bulkhead (at most --max-concurrency
/// inferences at once and --max-queue waiting; beyond that 429 with Retry-After), and a circuit
/// breaker that opens after --breaker-failures consecutive failures or deadline overruns, serves
/// the model's fallback while open (`"served_by": "fallback"` in the response's `parameters`, and
/// the header `X-Model-Fallback: true`), lets one trial request through to the model after
/// --breaker-cooldown-ms and closes again when it succeeds.
///
/// A model whose PATH is a URL (`NAME=http://HOST:PORT`) is served by that remote v2 REST server:
/// its metadata is fetched at startup (waiting up to --remote-wait-ms for the server), and each
/// inference is sent to it, retried on connection errors, cut-off answers and 500/502/503/504
/// (--retries more attempts, after a jittered exponential backoff from --retry-backoff-ms, never
/// past the deadline, never for a request with `"parameters": {"idempotent": false}`). After
/// failed attempts the answer is 502; a 4xx of the remote server is passed on. The request's
/// `X-Request-Id` goes to every attempt, with `X-Attempt: N`, and comes back on the response.
///
/// The first line on stdout is `listening on http://HOST:PORT` once every model is loaded.
/// SIGTERM or SIGINT stop accepting connections and let in-flight requests finish (for at most
/// --shutdown-grace-ms), then exit 0. Startup errors exit 2.
#[derive(Debug, Parser)]
#[command(name = "modelci-service", version, max_term_width = 100)]
pub(crate) struct Cli {
    /// A model to serve (repeatable): `NAME=PATH[,fallback=PATH][,version=V][,remote_name=R]`.
    /// NAME is the name in URLs (`/v2/models/NAME`); PATH an ONNX file, or the base URL of a
    /// remote v2 REST server (`http://HOST:PORT[/PREFIX]`) that serves the model as R (default
    /// NAME); `fallback=` a smaller local ONNX model with the same inputs and outputs, served
    /// while the circuit breaker is open; `version=` the version the metadata declares and
    /// `/versions/V` URLs accept (default `1`). Paths and URLs cannot hold commas.
    #[arg(
        long = "model",
        value_name = "NAME=PATH|URL[,fallback=PATH][,version=V][,remote_name=R]",
        required = true,
        value_parser = ModelSpec::parse,
    )]
    pub models: Vec<ModelSpec>,

    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,

    /// The port to listen on; 0 picks a free one (read it from the `listening on` line).
    #[arg(long, default_value_t = 8000)]
    pub port: u16,

    /// Where the models run: `cpu`, `cuda` (an error where ONNX Runtime has no CUDA), or `auto`
    /// (CUDA when available, else the CPU).
    #[arg(long, value_enum, default_value_t = DeviceArg::Auto)]
    pub device: DeviceArg,

    /// ONNX Runtime sessions per model (and per fallback): inferences of one model that can run
    /// at the same time.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub sessions: u16,

    /// The ONNX Runtime library (libonnxruntime.so); by default ORT_DYLIB_PATH, then the
    /// `onnxruntime` Python package that `python3` finds, then the system library folders.
    #[arg(long, value_name = "PATH")]
    pub ort_lib: Option<PathBuf>,

    /// The deadline of every request, from its arrival (queueing included); past it the answer
    /// is 504 and, for the primary model, the overrun counts as a failure for the breaker.
    #[arg(long, value_name = "MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    pub deadline_ms: u64,

    /// Inferences of one model running at once (the bulkhead's width); default: --sessions.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub max_concurrency: Option<u32>,

    /// Requests of one model waiting for a free slot; one more is refused with 429 and
    /// Retry-After. 0 refuses whenever every slot is busy.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    pub max_queue: u32,

    /// Consecutive failures (errors or deadline overruns) of a model that open its breaker.
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub breaker_failures: u32,

    /// How long an open breaker waits before letting one trial request through (half-open).
    #[arg(long, value_name = "MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1..=86_400_000))]
    pub breaker_cooldown_ms: u64,

    /// Enable the fault switch `POST /faults` / `DELETE /faults` (make a model fail or slow
    /// down, to exercise deadlines and fallbacks). Off by default: the endpoint is then 404.
    /// Never enable it in production.
    #[arg(long)]
    pub enable_faults: bool,

    /// On SIGTERM/SIGINT, how long in-flight requests may take to finish before the service
    /// exits anyway.
    #[arg(long, value_name = "MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(0..=3_600_000))]
    pub shutdown_grace_ms: u64,

    /// How long a connection may take to send a request's head (request line and headers)
    /// after opening, and after going idle between requests; then it is closed. Silent
    /// sockets, half-sent requests and idle keep-alive connections do not stay open.
    #[arg(long, value_name = "MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(100..=3_600_000))]
    pub header_timeout_ms: u64,

    /// Connections open at once, at most; one over the limit is closed as soon as it is
    /// accepted.
    #[arg(long, value_name = "N", default_value_t = 4096, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_connections: u64,

    /// Bytes of inference request bodies each model takes in at once (their Content-Length,
    /// counted before they are read, until their answer is written); a request over it is
    /// refused with 429 and Retry-After. Bounds the memory a burst of large requests takes.
    #[arg(long, value_name = "BYTES", default_value_t = 256 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1024 * 1024..=64 * 1024 * 1024 * 1024))]
    pub max_inflight_body_bytes: u64,

    /// The largest request body accepted; larger ones are refused with 413.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1024..=4 * 1024 * 1024 * 1024))]
    pub max_body_bytes: u64,

    /// Remote models: attempts after the first one, on connection errors, resets, cut-off
    /// answers and 500/502/503/504 (never on 4xx, never for non-idempotent requests, never past
    /// the deadline). 0: no retries.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub retries: u32,

    /// Remote models: the base B of the backoff before a retry. Before attempt k+1 the service
    /// waits a random time between B·2^(k-1)/2 and B·2^(k-1) ("equal jitter").
    #[arg(long, value_name = "MS", default_value_t = 25, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub retry_backoff_ms: u64,

    /// Remote models: how long to wait at startup for a remote server to answer the model's
    /// metadata (each try times out after 10 s; tries are 500 ms apart). Past it, exit 2.
    #[arg(long, value_name = "MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(0..=3_600_000))]
    pub remote_wait_ms: u64,

    /// Deliberately disables one resilience pattern (repeatable), for the tests of modelci's
    /// resilience checks only: no-deadline, no-breaker, no-half-open, retry-no-backoff,
    /// retry-non-idempotent, shared-pool, no-fallback. See docs/service.md.
    #[arg(long = "broken", value_enum, value_name = "KIND", hide = true)]
    pub broken: Vec<BrokenKind>,
}

/// `--broken`: one resilience pattern deliberately disabled (tests only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum BrokenKind {
    /// The deadline is not enforced: no timeout on the model or upstream call, no 504.
    NoDeadline,
    /// The breaker never opens (failures are not counted).
    NoBreaker,
    /// Once open, the breaker never half-opens: the fallback (or 503) until a restart.
    NoHalfOpen,
    /// Retries are sent at once one after another, and ignore the deadline.
    RetryNoBackoff,
    /// Non-idempotent requests are retried too.
    RetryNonIdempotent,
    /// One bulkhead shared by every model instead of one per model.
    SharedPool,
    /// The fallback is never used: while the breaker is open the answer is 503.
    NoFallback,
}

impl BrokenKind {
    /// The `--broken` value.
    pub(crate) fn name(self) -> &'static str {
        match self {
            BrokenKind::NoDeadline => "no-deadline",
            BrokenKind::NoBreaker => "no-breaker",
            BrokenKind::NoHalfOpen => "no-half-open",
            BrokenKind::RetryNoBackoff => "retry-no-backoff",
            BrokenKind::RetryNonIdempotent => "retry-non-idempotent",
            BrokenKind::SharedPool => "shared-pool",
            BrokenKind::NoFallback => "no-fallback",
        }
    }

    /// What is disabled, for the startup log.
    pub(crate) fn effect(self) -> &'static str {
        match self {
            BrokenKind::NoDeadline => "the deadline is not enforced (no timeout, no 504)",
            BrokenKind::NoBreaker => "the circuit breaker never opens",
            BrokenKind::NoHalfOpen => "the circuit breaker never half-opens once open",
            BrokenKind::RetryNoBackoff => {
                "retries are sent at once, without backoff or jitter, ignoring the deadline"
            }
            BrokenKind::RetryNonIdempotent => "non-idempotent requests are retried",
            BrokenKind::SharedPool => "one bulkhead is shared by every model",
            BrokenKind::NoFallback => "the fallback is never used (503 while the breaker is open)",
        }
    }
}

/// The `--broken` switches, one flag each (all off in a correct service).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Broken {
    pub no_deadline: bool,
    pub no_breaker: bool,
    pub no_half_open: bool,
    pub retry_no_backoff: bool,
    pub retry_non_idempotent: bool,
    pub shared_pool: bool,
    pub no_fallback: bool,
}

impl Broken {
    /// The switches of these `--broken` values.
    pub(crate) fn of(kinds: &[BrokenKind]) -> Broken {
        let mut b = Broken::default();
        for kind in kinds {
            match kind {
                BrokenKind::NoDeadline => b.no_deadline = true,
                BrokenKind::NoBreaker => b.no_breaker = true,
                BrokenKind::NoHalfOpen => b.no_half_open = true,
                BrokenKind::RetryNoBackoff => b.retry_no_backoff = true,
                BrokenKind::RetryNonIdempotent => b.retry_non_idempotent = true,
                BrokenKind::SharedPool => b.shared_pool = true,
                BrokenKind::NoFallback => b.no_fallback = true,
            }
        }
        b
    }
}

/// `--device`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DeviceArg {
    Cpu,
    Cuda,
    Auto,
}

impl DeviceArg {
    pub(crate) fn device(self) -> Device {
        match self {
            DeviceArg::Cpu => Device::Cpu,
            DeviceArg::Cuda => Device::Cuda,
            DeviceArg::Auto => Device::Auto,
        }
    }
}

/// Where a model runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// An ONNX file, run here with ONNX Runtime.
    File(PathBuf),
    /// A remote Open Inference Protocol (v2 REST) server: its base URL (`http://HOST:PORT`, an
    /// optional path prefix, no trailing `/`).
    Remote(String),
}

/// One `--model` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ModelSpec {
    pub name: String,
    pub source: Source,
    pub fallback: Option<PathBuf>,
    pub version: String,
    /// The model's name on the remote server (remote models only; default: `name`).
    pub remote_name: Option<String>,
}

/// Names and versions in URLs: letters, digits, `_`, `-`, `.`, starting with a letter or digit.
fn valid_name(s: &str) -> bool {
    s.len() <= 128
        && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// The base URL of a remote server, checked: `http://HOST[:PORT][/PREFIX]`, without
/// credentials, query or fragment; returned without a trailing `/`.
fn remote_base(name: &str, text: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(text)
        .map_err(|e| format!("model `{name}`: `{text}` is not a URL: {e}"))?;
    if url.scheme() != "http" {
        return Err(format!(
            "model `{name}`: `{text}`: only http:// remote servers are supported"
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("model `{name}`: `{text}` has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "model `{name}`: the URL of the remote server cannot hold credentials"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "model `{name}`: `{text}` has a query or fragment; give the server's base URL"
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

impl ModelSpec {
    /// Reads `NAME=PATH|URL[,fallback=PATH][,version=V][,remote_name=R]`.
    pub(crate) fn parse(text: &str) -> Result<ModelSpec, String> {
        let (name, rest) = text.split_once('=').ok_or_else(|| {
            format!("`{text}` is not NAME=PATH[,fallback=PATH][,version=V][,remote_name=R]")
        })?;
        let name = name.trim();
        if !valid_name(name) {
            return Err(format!(
                "model name `{name}` must be letters, digits, `_`, `-` or `.`, starting with a letter or digit"
            ));
        }
        let mut parts = rest.split(',');
        let path = parts.next().unwrap_or_default().trim();
        if path.is_empty() {
            return Err(format!("model `{name}` has no path (NAME=PATH)"));
        }
        let lower = path.to_ascii_lowercase();
        let source = if lower.starts_with("http://") || lower.starts_with("https://") {
            Source::Remote(remote_base(name, path)?)
        } else {
            Source::File(PathBuf::from(path))
        };
        let mut spec = ModelSpec {
            name: name.to_owned(),
            source,
            fallback: None,
            version: "1".to_owned(),
            remote_name: None,
        };
        for part in parts {
            let (key, value) = part.split_once('=').ok_or_else(|| {
                format!(
                    "model `{name}`: `{part}` is not `fallback=PATH`, `version=V` or `remote_name=R`"
                )
            })?;
            let value = value.trim();
            match key.trim() {
                "fallback" if value.is_empty() => {
                    return Err(format!("model `{name}`: `fallback=` has no path"));
                }
                "fallback" if spec.fallback.is_some() => {
                    return Err(format!("model `{name}`: `fallback=` is given twice"));
                }
                "fallback" => spec.fallback = Some(PathBuf::from(value)),
                "version" if !valid_name(value) => {
                    return Err(format!(
                        "model `{name}`: version `{value}` must be letters, digits, `_`, `-` or `.`"
                    ));
                }
                "version" => spec.version = value.to_owned(),
                "remote_name" if !matches!(spec.source, Source::Remote(_)) => {
                    return Err(format!(
                        "model `{name}`: `remote_name=` is for remote models (PATH an http:// URL)"
                    ));
                }
                "remote_name" if !valid_name(value) => {
                    return Err(format!(
                        "model `{name}`: remote name `{value}` must be letters, digits, `_`, `-` or `.`"
                    ));
                }
                "remote_name" => spec.remote_name = Some(value.to_owned()),
                other => {
                    return Err(format!(
                        "model `{name}`: unknown option `{other}` (expected `fallback`, `version` or `remote_name`)"
                    ));
                }
            }
        }
        Ok(spec)
    }

    /// The model's name on its remote server.
    pub(crate) fn remote_name(&self) -> &str {
        self.remote_name.as_deref().unwrap_or(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_specs_parse() {
        let s = ModelSpec::parse("mlp=fixtures/models/mlp.onnx").expect("plain");
        assert_eq!(s.name, "mlp");
        assert_eq!(
            s.source,
            Source::File(PathBuf::from("fixtures/models/mlp.onnx"))
        );
        assert_eq!(s.fallback, None);
        assert_eq!(s.version, "1");
        let s = ModelSpec::parse("mlp=a.onnx,fallback=b.onnx,version=2024-05").expect("full");
        assert_eq!(s.fallback, Some(PathBuf::from("b.onnx")));
        assert_eq!(s.version, "2024-05");
        assert_eq!(s.remote_name(), "mlp");
    }

    #[test]
    fn remote_model_specs_parse() {
        let s = ModelSpec::parse("mlp=http://127.0.0.1:8001").expect("plain");
        assert_eq!(s.source, Source::Remote("http://127.0.0.1:8001".to_owned()));
        assert_eq!(s.remote_name(), "mlp");
        let s = ModelSpec::parse(
            "m=http://models.internal:9000/api/,fallback=f.onnx,version=2,remote_name=mlp-v2",
        )
        .expect("full");
        assert_eq!(
            s.source,
            Source::Remote("http://models.internal:9000/api".to_owned())
        );
        assert_eq!(s.fallback, Some(PathBuf::from("f.onnx")));
        assert_eq!(s.version, "2");
        assert_eq!(s.remote_name(), "mlp-v2");
    }

    #[test]
    fn bad_model_specs_say_why() {
        let e = |t: &str| ModelSpec::parse(t).expect_err(t);
        assert!(e("mlp").contains("is not NAME=PATH"));
        assert!(e("=a.onnx").contains("model name ``"));
        assert!(e("a/b=a.onnx").contains("must be letters"));
        assert!(e("mlp=").contains("has no path"));
        assert!(e("mlp=a.onnx,fallback=").contains("has no path"));
        assert!(e("mlp=a.onnx,fallback=b,fallback=c").contains("twice"));
        assert!(e("mlp=a.onnx,colour=red").contains("unknown option `colour`"));
        assert!(e("mlp=a.onnx,b.onnx").contains("is not `fallback=PATH`"));
        assert!(e("mlp=a.onnx,version=a b").contains("version `a b`"));
        assert!(e("mlp=a.onnx,remote_name=x").contains("is for remote models"));
        assert!(e("mlp=http://h:1,remote_name=a/b").contains("remote name `a/b`"));
        assert!(e("mlp=https://h:1").contains("only http://"));
        assert!(e("mlp=http://u:secret@h:1").contains("cannot hold credentials"));
        assert!(!e("mlp=http://u:secret@h:1").contains("secret"));
        assert!(e("mlp=http://h:1/?x=1").contains("query or fragment"));
        assert!(e("mlp=http://").contains("is not a URL"));
    }

    #[test]
    fn broken_kinds_are_read() {
        let cli = Cli::try_parse_from([
            "modelci-service",
            "--model",
            "m=a.onnx",
            "--broken",
            "no-deadline",
            "--broken",
            "shared-pool",
        ])
        .expect("parses");
        let b = Broken::of(&cli.broken);
        assert!(b.no_deadline && b.shared_pool);
        assert!(!(b.no_breaker || b.no_fallback || b.retry_no_backoff || b.retry_non_idempotent));
        for kind in BrokenKind::value_variants() {
            let value = kind.to_possible_value().expect("a value");
            assert_eq!(value.get_name(), kind.name());
        }
        assert!(Cli::try_parse_from(["x", "--model", "m=a", "--broken", "nope"]).is_err());
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory as _;
        Cli::command().debug_assert();
    }
}
