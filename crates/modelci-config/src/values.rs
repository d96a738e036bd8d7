//! Typed values shared by the suite kinds, resolved once while the configuration (or a
//! single-suite command's flags) is read: devices, durations, URLs, bounds. Each check names the
//! value the way the user wrote it (a key or a flag, see [`crate::Origin::name`]).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Where a model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Device {
    /// ONNX Runtime's CPU provider (the default).
    #[default]
    Cpu,
    /// The CUDA provider; an error when this runtime has no CUDA or it does not start.
    Cuda,
    /// CUDA when this runtime has it and it starts, else the CPU; the model records which ran.
    Auto,
}

impl Device {
    /// `cpu`, `cuda`, `auto`.
    pub fn name(self) -> &'static str {
        match self {
            Device::Cpu => "cpu",
            Device::Cuda => "cuda",
            Device::Auto => "auto",
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A device that is not `cpu`, `cuda` or `auto`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be `cpu`, `cuda` or `auto`, not `{0}`")]
pub struct BadDevice(pub String);

impl FromStr for Device {
    type Err = BadDevice;

    /// Reads `cpu`, `cuda` (or `gpu`) or `auto`, in any case.
    fn from_str(text: &str) -> Result<Device, BadDevice> {
        match text.trim().to_ascii_lowercase().as_str() {
            "cpu" => Ok(Device::Cpu),
            "cuda" | "gpu" => Ok(Device::Cuda),
            "auto" => Ok(Device::Auto),
            _ => Err(BadDevice(text.to_owned())),
        }
    }
}

/// How ONNX Runtime's CUDA provider picks cuDNN's convolution algorithms
/// (`cudnn_conv_algo_search`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConvAlgoSearch {
    /// Tries every algorithm on the first run of each convolution shape and keeps the fastest
    /// (ONNX Runtime's default: the slowest first batch, the fastest after).
    #[default]
    Exhaustive,
    /// cuDNN's heuristics, without trying: a quick first batch, maybe slower ones after.
    Heuristic,
    /// One fixed algorithm (`IMPLICIT_PRECOMP_GEMM`): the least memory.
    Default,
}

impl ConvAlgoSearch {
    /// `exhaustive`, `heuristic`, `default`.
    pub fn name(self) -> &'static str {
        match self {
            ConvAlgoSearch::Exhaustive => "exhaustive",
            ConvAlgoSearch::Heuristic => "heuristic",
            ConvAlgoSearch::Default => "default",
        }
    }
}

impl FromStr for ConvAlgoSearch {
    type Err = String;

    /// Reads `exhaustive`, `heuristic` or `default`, in any case.
    fn from_str(text: &str) -> Result<ConvAlgoSearch, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "exhaustive" => Ok(ConvAlgoSearch::Exhaustive),
            "heuristic" => Ok(ConvAlgoSearch::Heuristic),
            "default" => Ok(ConvAlgoSearch::Default),
            _ => Err(format!(
                "must be `exhaustive`, `heuristic` or `default`, not `{text}`"
            )),
        }
    }
}

/// How a model runs on ONNX Runtime's CUDA provider (ignored on the CPU).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CudaOptions {
    /// Let float32 matrix products and convolutions use TF32 (10-bit mantissas on Ampere and
    /// later GPUs): faster, and about 1e-3 off float32. Off unless asked for: a validation
    /// tool must not lower precision behind the user's back (ONNX Runtime's own default is on).
    pub tf32: bool,
    /// cuDNN's convolution algorithm search.
    pub conv_algo_search: ConvAlgoSearch,
}

/// Request timeouts when a suite does not give one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Requests in flight at once when a suite does not say.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// The longest wait modelci accepts for anything (a request, a readiness wait): one day.
pub const MAX_SECONDS: f64 = 86_400.0;

/// Requests in flight at once, at most.
pub const MAX_CONCURRENCY: usize = 1024;

/// A number of seconds above 0 and at most [`MAX_SECONDS`], as a [`Duration`].
///
/// # Errors
/// `what` (the key or flag, quoted) and the range, e.g. "`timeout_secs` must be a number of
/// seconds above 0 and at most 86400, not 1e308".
pub fn seconds(value: f64, what: &str) -> Result<Duration, String> {
    if !(value.is_finite() && value > 0.0 && value <= MAX_SECONDS) {
        return Err(format!(
            "{what} must be a number of seconds above 0 and at most {MAX_SECONDS}, not {value:?}"
        ));
    }
    Ok(Duration::from_secs_f64(value))
}

/// A bound that must be a finite number >= 0 (a tolerance, a rate, a drift).
///
/// # Errors
/// `what` and why.
pub fn non_negative(value: Option<f64>, what: &str) -> Result<Option<f64>, String> {
    match value {
        Some(v) if !(v.is_finite() && v >= 0.0) => {
            Err(format!("{what} must be a non-negative number, not {v:?}"))
        }
        other => Ok(other),
    }
}

/// A count that must be at least 1.
///
/// # Errors
/// `what` and why.
pub fn at_least_one(value: usize, what: &str) -> Result<usize, String> {
    if value == 0 {
        return Err(format!("{what} must be at least 1"));
    }
    Ok(value)
}

/// A count within `min..=max` (sizes of things modelci allocates or loops over, so that an
/// absurd number is a message, not an exhausted machine).
///
/// # Errors
/// `what` and the range, e.g. "`--latency-batch-sizes` must be from 1 to 65536, not 99999999999".
pub fn count(value: usize, min: usize, max: usize, what: &str) -> Result<usize, String> {
    if !(min..=max).contains(&value) {
        return Err(format!("{what} must be from {min} to {max}, not {value}"));
    }
    Ok(value)
}

/// Whether `text` is an http:// or https:// URL.
pub fn is_http_url(text: &str) -> bool {
    text.starts_with("http://") || text.starts_with("https://")
}

/// An http(s) base URL, without a trailing `/`.
///
/// # Errors
/// `what` and why.
pub fn base_url(text: &str, what: &str) -> Result<String, String> {
    let url = text.trim_end_matches('/');
    if !is_http_url(url) {
        return Err(format!(
            "{what} must be an http:// or https:// URL, not `{text}`"
        ));
    }
    Ok(url.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_read_in_any_case_and_gpu_is_cuda() {
        assert_eq!("CPU".parse::<Device>(), Ok(Device::Cpu));
        assert_eq!("gpu".parse::<Device>(), Ok(Device::Cuda));
        assert_eq!(" auto ".parse::<Device>(), Ok(Device::Auto));
        assert_eq!(
            "tpu".parse::<Device>().map_err(|e| e.to_string()),
            Err("must be `cpu`, `cuda` or `auto`, not `tpu`".into())
        );
        assert_eq!(Device::default(), Device::Cpu);
    }

    #[test]
    fn seconds_are_positive_finite_and_at_most_a_day() {
        assert_eq!(seconds(1.5, "`t`"), Ok(Duration::from_millis(1500)));
        assert_eq!(seconds(86_400.0, "`t`"), Ok(Duration::from_secs(86_400)));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e20, 1e308, 86_400.5] {
            assert!(seconds(bad, "`t`").is_err(), "{bad}");
        }
        assert_eq!(
            seconds(1e308, "`--timeout`"),
            Err(
                "`--timeout` must be a number of seconds above 0 and at most 86400, not 1e308"
                    .into()
            )
        );
    }

    #[test]
    fn counts_state_their_range() {
        assert_eq!(count(5, 1, 10, "`n`"), Ok(5));
        assert_eq!(
            count(99_999_999_999, 1, 65_536, "`--latency-batch-sizes`"),
            Err("`--latency-batch-sizes` must be from 1 to 65536, not 99999999999".into())
        );
        assert!(count(0, 1, 10, "`n`").is_err());
    }

    #[test]
    fn bounds_and_urls() {
        assert_eq!(non_negative(Some(0.0), "`atol`"), Ok(Some(0.0)));
        assert!(non_negative(Some(-0.1), "`atol`").is_err());
        assert!(at_least_one(0, "`--jobs`").is_err());
        assert_eq!(base_url("http://h:1/", "`u`"), Ok("http://h:1".into()));
        assert_eq!(
            base_url("ftp://h", "`--endpoint`"),
            Err("`--endpoint` must be an http:// or https:// URL, not `ftp://h`".into())
        );
    }
}
