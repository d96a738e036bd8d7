//! The command line: what to serve, where, and the resilience limits.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use modelci_tensor::runtime::Device;

/// Serves ONNX models over the Open Inference Protocol (KServe v2 REST), with ONNX Runtime.
///
/// Each model gets a deadline per request (504 past it), a bulkhead (at most --max-concurrency
/// inferences at once and --max-queue waiting; beyond that 429 with Retry-After), and a circuit
/// breaker that opens after --breaker-failures consecutive failures or deadline overruns, serves
/// the model's fallback while open (`"served_by": "fallback"` in the response's `parameters`, and
/// the header `X-Model-Fallback: true`), lets one trial request through to the model after
/// --breaker-cooldown-ms and closes again when it succeeds.
///
/// The first line on stdout is `listening on http://HOST:PORT` once every model is loaded.
/// SIGTERM or SIGINT stop accepting connections and let in-flight requests finish (for at most
/// --shutdown-grace-ms), then exit 0. Startup errors exit 2.
#[derive(Debug, Parser)]
#[command(name = "modelci-service", version, max_term_width = 100)]
pub(crate) struct Cli {
    /// A model to serve (repeatable): `NAME=PATH[,fallback=PATH][,version=V]`. NAME is the name
    /// in URLs (`/v2/models/NAME`), PATH an ONNX file; `fallback=` a smaller model with the same
    /// inputs and outputs, served while the circuit breaker is open; `version=` the version the
    /// metadata declares and `/versions/V` URLs accept (default `1`). Paths cannot hold commas.
    #[arg(
        long = "model",
        value_name = "NAME=PATH[,fallback=PATH][,version=V]",
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

    /// The largest request body accepted; larger ones are refused with 413.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1024..=4 * 1024 * 1024 * 1024))]
    pub max_body_bytes: u64,
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

/// One `--model` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ModelSpec {
    pub name: String,
    pub path: PathBuf,
    pub fallback: Option<PathBuf>,
    pub version: String,
}

/// Names and versions in URLs: letters, digits, `_`, `-`, `.`, starting with a letter or digit.
fn valid_name(s: &str) -> bool {
    s.len() <= 128
        && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

impl ModelSpec {
    /// Reads `NAME=PATH[,fallback=PATH][,version=V]`.
    pub(crate) fn parse(text: &str) -> Result<ModelSpec, String> {
        let (name, rest) = text
            .split_once('=')
            .ok_or_else(|| format!("`{text}` is not NAME=PATH[,fallback=PATH][,version=V]"))?;
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
        let mut spec = ModelSpec {
            name: name.to_owned(),
            path: PathBuf::from(path),
            fallback: None,
            version: "1".to_owned(),
        };
        for part in parts {
            let (key, value) = part.split_once('=').ok_or_else(|| {
                format!("model `{name}`: `{part}` is not `fallback=PATH` or `version=V`")
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
                other => {
                    return Err(format!(
                        "model `{name}`: unknown option `{other}` (expected `fallback` or `version`)"
                    ));
                }
            }
        }
        Ok(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_specs_parse() {
        let s = ModelSpec::parse("mlp=fixtures/models/mlp.onnx").expect("plain");
        assert_eq!(s.name, "mlp");
        assert_eq!(s.path, PathBuf::from("fixtures/models/mlp.onnx"));
        assert_eq!(s.fallback, None);
        assert_eq!(s.version, "1");
        let s = ModelSpec::parse("mlp=a.onnx,fallback=b.onnx,version=2024-05").expect("full");
        assert_eq!(s.fallback, Some(PathBuf::from("b.onnx")));
        assert_eq!(s.version, "2024-05");
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
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory as _;
        Cli::command().debug_assert();
    }
}
