//! The expectations a `[[suite.model]]` declares beyond exact golden outputs: edge cases,
//! invariants, robustness to perturbations, and regression against a baseline model.
//!
//! The expectations' types are both what the file says (they deserialize from TOML) and what the
//! runner gets (paths resolved, numbers checked by [`resolve`], which `modelci check` and
//! `modelci model test` share).

use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

use crate::values::{ConvAlgoSearch, CudaOptions, Device, non_negative};
use crate::{ConfigError, Origin};

/// `[suite.model.edge_cases]`: inputs built from the suite's golden inputs that probe how the
/// model copes with bad or unusual data. Each enabled check is one case in the report.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EdgeCases {
    /// An input of the wrong rank must be rejected with an error, not crash or answer.
    #[serde(default = "yes")]
    pub wrong_shape: bool,
    /// An input of the wrong element type must be rejected with an error.
    #[serde(default = "yes")]
    pub wrong_dtype: bool,
    /// A batch of zero rows must either answer zero rows or be rejected cleanly (models with a
    /// dynamic batch dimension only).
    #[serde(default = "yes")]
    pub empty_batch: bool,
    /// NaN and ±Inf in floating-point inputs: the outputs must stay finite (or the input must be
    /// rejected when `non_finite = "reject"`). `"finite"` (default), `"reject"` or `"off"`.
    #[serde(default)]
    pub non_finite: NonFinite,
    /// Extreme finite values (±1e30 and the largest float32) in floating-point inputs: outputs
    /// must stay finite.
    #[serde(default = "yes")]
    pub extreme_values: bool,
}

/// What NaN/Inf inputs must give.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NonFinite {
    /// The model answers, and every floating-point output is finite.
    #[default]
    Finite,
    /// The model rejects the input with an error.
    Reject,
    /// Not checked.
    Off,
}

/// `[suite.model.invariants]`: properties every answer must have.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Invariants {
    /// A row's outputs are the same alone as inside a batch of all the golden rows (within the
    /// suite's tolerance). Needs a dynamic batch dimension.
    #[serde(default = "yes")]
    pub batch_invariance: bool,
    /// Two runs on the same inputs agree exactly.
    #[serde(default = "yes")]
    pub determinism: bool,
    /// Outputs that must be probability distributions: every value in [0, 1] and each row (the
    /// last axis) summing to 1 within `probability_tolerance`.
    #[serde(default)]
    pub probabilities: Vec<String>,
    /// How far a row's sum may be from 1 (default 1e-4).
    #[serde(default = "probability_tolerance")]
    pub probability_tolerance: f64,
}

/// How inputs are perturbed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Perturbation {
    /// Adds N(0, scale²) noise to every floating-point input value.
    Gaussian,
    /// Adds uniform noise in [-scale, +scale].
    Uniform,
    /// Sets each floating-point feature to 0 with probability `scale`.
    Dropout,
    /// For each row, a seeded black-box search for the smallest uniform ±eps perturbation (eps up
    /// to `scale`) that changes the label; the smallest found must be at least `min_flip_eps`.
    Search,
}

/// One `[[suite.model.robustness]]`: perturbed copies of the golden inputs, with bounds on how
/// much the answers may change. Seeded, so every run perturbs the same way.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Robustness {
    /// Name of the case in reports (default: `<perturbation>-<scale>`).
    #[serde(default)]
    pub name: Option<String>,
    pub perturbation: Perturbation,
    /// Noise standard deviation (gaussian), half-width (uniform), drop probability (dropout) or
    /// the largest eps tried (search). Relative to each feature's value when `relative = true`.
    pub scale: f64,
    /// Scale noise by each value's magnitude (|x|·scale) instead of absolute units.
    #[serde(default)]
    pub relative: bool,
    /// Perturbed copies per golden row (default 10; search: candidates tried per eps, default 10).
    #[serde(default = "samples")]
    pub samples: usize,
    /// Random seed (default 0).
    #[serde(default)]
    pub seed: u64,
    /// The most the labels may flip, as a fraction of perturbed rows (e.g. 0.05).
    #[serde(default)]
    pub max_flip_rate: Option<f64>,
    /// The most any output may change, relative to the largest magnitude of that output
    /// (max |perturbed - original| / max |original|).
    #[serde(default)]
    pub max_relative_change: Option<f64>,
    /// Search only: the smallest label-flipping eps found must be at least this.
    #[serde(default)]
    pub min_flip_eps: Option<f64>,
}

/// `[suite.model.regression]`: the candidate and a baseline model run on the same golden inputs.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Regression {
    /// The baseline `.onnx` model (resolved against the config file's folder).
    #[serde(default)]
    pub baseline: Option<PathBuf>,
    /// Or a baseline served over the Open Inference Protocol: its base URL.
    #[serde(default)]
    pub baseline_endpoint: Option<String>,
    /// The baseline's model name at `baseline_endpoint` (default: the suite's `model_name`).
    #[serde(default)]
    pub baseline_model_name: Option<String>,
    /// The most labels may change, as a fraction of rows (e.g. 0.01).
    #[serde(default)]
    pub max_label_change_rate: Option<f64>,
    /// The most any floating-point output may drift: max |candidate - baseline| over all
    /// elements.
    #[serde(default)]
    pub max_output_drift: Option<f64>,
    /// Mean |candidate - baseline| bound, over all floating-point output elements.
    #[serde(default)]
    pub max_mean_drift: Option<f64>,
}

fn yes() -> bool {
    true
}

fn probability_tolerance() -> f64 {
    1e-4
}

fn samples() -> usize {
    10
}

impl Robustness {
    /// The name used in reports.
    pub fn display_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            let kind = match self.perturbation {
                Perturbation::Gaussian => "gaussian",
                Perturbation::Uniform => "uniform",
                Perturbation::Dropout => "dropout",
                Perturbation::Search => "search",
            };
            format!("{kind}-{}", self.scale)
        })
    }
}

/// One `[[suite.model]]` table.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelSuiteFile {
    /// The suite's name: unique in the file; letters, digits, `.`, `_` and `-`.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// The `.onnx` model. With `endpoint`, the cases run on the endpoint and this file is the
    /// signature the endpoint's metadata must match.
    #[serde(default)]
    #[schemars(with = "Option<PathBuf>")]
    pub model: Option<Spanned<PathBuf>>,
    /// Base URL of a live model server speaking the Open Inference Protocol (KServe v2 REST),
    /// e.g. `http://127.0.0.1:8000`. At least one of `model` and `endpoint`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub endpoint: Option<Spanned<String>>,
    /// The model's name on the endpoint (`/v2/models/{model_name}`). Required with `endpoint`.
    #[serde(default)]
    pub model_name: Option<String>,
    /// The model's version on the endpoint (`/v2/models/{name}/versions/{version}`).
    #[serde(default)]
    pub model_version: Option<String>,
    /// Seconds each endpoint request may take (default 30).
    #[serde(default)]
    pub timeout_secs: Option<f64>,
    /// Send NaN and infinities to the endpoint as the bare JSON tokens `NaN`, `Infinity`,
    /// `-Infinity` (Triton reads them; strict JSON parsers do not). Off: such inputs are not sent.
    #[serde(default)]
    pub nonfinite_tokens: bool,
    /// Golden cases: folders of `test_data_set_N` folders, `.json` files or `.npz` archives.
    #[schemars(with = "Vec<PathBuf>", length(min = 1))]
    pub cases: Spanned<Vec<PathBuf>>,
    /// Split every golden case along its first axis into one case per row (for `.npz` archives
    /// that stack many cases).
    #[serde(default)]
    pub per_row: bool,
    /// The most rows batched into one inference when cases share shapes and the model has a
    /// dynamic batch dimension (default 1024; 1 turns batching off).
    #[serde(default)]
    pub max_batch: Option<usize>,
    /// `cpu` (default), `cuda` or `auto`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub device: Option<Spanned<String>>,
    /// Relative tolerance for floating-point outputs (default: per dtype).
    #[serde(default)]
    pub rtol: Option<f64>,
    /// Absolute tolerance for floating-point outputs (default: per dtype).
    #[serde(default)]
    pub atol: Option<f64>,
    /// Tolerances for the device the model ran on, over `rtol`/`atol`:
    /// `[suite.model.tolerance.cuda]` (e.g. for TF32) and `[suite.model.tolerance.cpu]`.
    #[serde(default)]
    pub tolerance: Option<DeviceTolerances>,
    /// On CUDA, let float32 matrix products and convolutions use TF32 (off by default: it is
    /// about 1e-3 off float32; give it its own `[suite.model.tolerance.cuda]`).
    #[serde(default)]
    pub tf32: bool,
    /// On CUDA, cuDNN's convolution algorithm search: `exhaustive` (ONNX Runtime's default),
    /// `heuristic` or `default`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub cudnn_conv_algo_search: Option<Spanned<String>>,
    /// The output holding class labels, for label flips (default: an integer output, else the
    /// argmax of the first floating-point output).
    #[serde(default)]
    pub label_output: Option<String>,
    /// Edge cases to probe.
    #[serde(default)]
    pub edge_cases: Option<EdgeCases>,
    /// Invariants every answer must keep.
    #[serde(default)]
    pub invariants: Option<Invariants>,
    /// Robustness checks: perturbed inputs with bounds on the change.
    #[serde(default)]
    pub robustness: Vec<Robustness>,
    /// Regression against a baseline model.
    #[serde(default)]
    pub regression: Option<Regression>,
}

/// `[suite.model.tolerance]`: tolerances by the device the model ran on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceTolerances {
    /// On the CPU.
    #[serde(default)]
    pub cpu: Option<DeviceTolerance>,
    /// On CUDA.
    #[serde(default)]
    pub cuda: Option<DeviceTolerance>,
}

/// `rtol`/`atol` for one device; what it leaves out comes from the suite's `rtol`/`atol`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceTolerance {
    /// Relative tolerance for floating-point outputs.
    #[serde(default)]
    pub rtol: Option<f64>,
    /// Absolute tolerance for floating-point outputs.
    #[serde(default)]
    pub atol: Option<f64>,
}

impl ModelSuite {
    /// `rtol` and `atol` for a model that ran on `device` (`Cpu` or `Cuda`): the device's own
    /// where `[suite.model.tolerance.DEVICE]` gives them, else the suite's.
    pub fn tolerance_on(&self, device: Device) -> (Option<f64>, Option<f64>) {
        let own = match device {
            Device::Cpu => self.tolerance.cpu,
            Device::Cuda => self.tolerance.cuda,
            Device::Auto => None,
        }
        .unwrap_or_default();
        (own.rtol.or(self.rtol), own.atol.or(self.atol))
    }
}

/// A resolved `[[suite.model]]`.
#[derive(Debug, Clone)]
pub struct ModelSuite {
    /// The `.onnx` file (run locally, or the signature an endpoint must match).
    pub model: Option<PathBuf>,
    /// 1-based line of the `model` key (or of `endpoint` when there is no model).
    pub model_line: u32,
    /// A live Open Inference Protocol endpoint (base URL) to run the cases on.
    pub endpoint: Option<String>,
    pub model_name: Option<String>,
    pub model_version: Option<String>,
    /// Each endpoint request's deadline.
    pub timeout: Duration,
    /// Send NaN/Inf to the endpoint as bare JSON tokens.
    pub nonfinite_tokens: bool,
    pub cases: Vec<PathBuf>,
    pub per_row: bool,
    /// Rows per batched inference (1: no batching).
    pub max_batch: usize,
    /// Where the model runs.
    pub device: Device,
    pub rtol: Option<f64>,
    pub atol: Option<f64>,
    /// Per-device tolerances (see [`ModelSuite::tolerance_on`]).
    pub tolerance: DeviceTolerances,
    /// How the model runs on CUDA.
    pub cuda: CudaOptions,
    pub label_output: Option<String>,
    pub edge_cases: Option<EdgeCases>,
    pub invariants: Option<Invariants>,
    pub robustness: Vec<Robustness>,
    pub regression: Option<Regression>,
}

/// Rows per batched inference, at most.
pub const MAX_BATCH_ROWS: usize = 1 << 20;

/// Perturbed samples per golden row in a robustness check, at most.
pub const MAX_SAMPLES: usize = 100_000;

/// Rows per batched inference when a suite does not say.
pub const DEFAULT_MAX_BATCH: usize = 1024;

/// Checks a `[[suite.model]]` table (or `model test`'s flags) and resolves its paths.
///
/// # Errors
/// No cases, neither a model nor an endpoint, an endpoint without a model name or not http(s),
/// a device, tolerance, timeout or batch size out of range, an expectation that bounds nothing
/// or cannot be checked.
#[expect(
    clippy::too_many_lines,
    reason = "one check after the other, each with its message"
)]
pub fn resolve(raw: ModelSuiteFile, origin: &Origin<'_>) -> Result<ModelSuite, ConfigError> {
    let name_at = raw.name.span().start;
    let at = |offset: usize, message: String| origin.error(offset, message);
    let key = |k: &str| origin.name(k);
    if raw.cases.get_ref().is_empty() {
        return Err(at(
            raw.cases.span().start,
            format!(
                "{} must list at least one golden folder or file",
                key("cases")
            ),
        ));
    }
    let device = match &raw.device {
        Some(d) => d
            .get_ref()
            .parse::<Device>()
            .map_err(|e| at(d.span().start, format!("{} {e}", key("device"))))?,
        None => Device::default(),
    };
    let nonneg = |k: &str, v: Option<f64>| non_negative(v, &key(k)).map_err(|m| at(name_at, m));
    nonneg("rtol", raw.rtol)?;
    nonneg("atol", raw.atol)?;
    let tolerance = raw.tolerance.unwrap_or_default();
    for (device, t) in [("cpu", tolerance.cpu), ("cuda", tolerance.cuda)] {
        let t = t.unwrap_or_default();
        nonneg(&format!("tolerance.{device}.rtol"), t.rtol)?;
        nonneg(&format!("tolerance.{device}.atol"), t.atol)?;
    }
    let conv_algo_search = match &raw.cudnn_conv_algo_search {
        Some(v) => v.get_ref().parse::<ConvAlgoSearch>().map_err(|e| {
            at(
                v.span().start,
                format!("{} {e}", key("cudnn_conv_algo_search")),
            )
        })?,
        None => ConvAlgoSearch::default(),
    };
    let cuda = CudaOptions {
        tf32: raw.tf32,
        conv_algo_search,
    };
    let timeout = match raw.timeout_secs {
        None => crate::values::DEFAULT_TIMEOUT,
        Some(t) => crate::values::seconds(t, &key("timeout_secs")).map_err(|m| at(name_at, m))?,
    };
    let max_batch = crate::values::count(
        raw.max_batch.unwrap_or(DEFAULT_MAX_BATCH),
        1,
        MAX_BATCH_ROWS,
        &key("max_batch"),
    )
    .map_err(|m| at(name_at, m))?;
    let (model_line, endpoint) = match (&raw.model, &raw.endpoint) {
        (None, None) => {
            return Err(at(
                name_at,
                format!(
                    "a model suite needs {} (an .onnx file) or {} (a live server's URL)",
                    key("model"),
                    key("endpoint")
                ),
            ));
        }
        (_, Some(e)) => {
            let url = crate::values::base_url(e.get_ref(), &key("endpoint"))
                .map_err(|m| at(e.span().start, m))?;
            if raw.model_name.as_deref().is_none_or(str::is_empty) {
                return Err(at(
                    e.span().start,
                    format!(
                        "{} needs {}, the model's name on the server",
                        key("endpoint"),
                        key("model_name")
                    ),
                ));
            }
            (origin.line(e.span().start), Some(url))
        }
        (Some(m), None) => (origin.line(m.span().start), None),
    };
    if let Some(inv) = &raw.invariants {
        nonneg(
            "invariants.probability_tolerance",
            Some(inv.probability_tolerance),
        )?;
    }
    for r in &raw.robustness {
        let what = format!("robustness `{}`", r.display_name());
        if !(r.scale.is_finite() && r.scale > 0.0) {
            return Err(at(
                name_at,
                format!("{what}: `scale` must be a positive number"),
            ));
        }
        if r.perturbation == Perturbation::Dropout && r.scale > 1.0 {
            return Err(at(
                name_at,
                format!("{what}: a dropout `scale` is a probability, at most 1"),
            ));
        }
        crate::values::count(r.samples, 1, MAX_SAMPLES, &format!("{what}: `samples`"))
            .map_err(|m| at(name_at, m))?;
        for (k, v) in [
            ("max_flip_rate", r.max_flip_rate),
            ("max_relative_change", r.max_relative_change),
            ("min_flip_eps", r.min_flip_eps),
        ] {
            non_negative(v, &format!("{what}: `{k}`")).map_err(|m| at(name_at, m))?;
        }
        if let Some(eps) = r.min_flip_eps {
            if r.perturbation != Perturbation::Search {
                return Err(at(
                    name_at,
                    format!("{what}: `min_flip_eps` needs `perturbation = \"search\"`"),
                ));
            }
            if eps > r.scale {
                return Err(at(
                    name_at,
                    format!(
                        "{what}: `min_flip_eps` {eps} is above `scale` {}, the largest eps searched, so it could never be checked",
                        r.scale
                    ),
                ));
            }
        }
        if r.max_flip_rate.is_none() && r.max_relative_change.is_none() && r.min_flip_eps.is_none()
        {
            return Err(at(
                name_at,
                format!(
                    "{what} bounds nothing: give `max_flip_rate`, `max_relative_change` or (search) `min_flip_eps`"
                ),
            ));
        }
    }
    let regression = match raw.regression {
        None => None,
        Some(mut r) => {
            if r.baseline.is_none() && r.baseline_endpoint.is_none() {
                return Err(at(
                    name_at,
                    "`regression` needs `baseline` (an .onnx file) or `baseline_endpoint`".into(),
                ));
            }
            if r.max_label_change_rate.is_none()
                && r.max_output_drift.is_none()
                && r.max_mean_drift.is_none()
            {
                return Err(at(
                    name_at,
                    "`regression` bounds nothing: give `max_label_change_rate`, `max_output_drift` or `max_mean_drift`".into(),
                ));
            }
            for (k, v) in [
                ("regression.max_label_change_rate", r.max_label_change_rate),
                ("regression.max_output_drift", r.max_output_drift),
                ("regression.max_mean_drift", r.max_mean_drift),
            ] {
                nonneg(k, v)?;
            }
            r.baseline = r.baseline.map(|p| origin.path(&p));
            r.baseline_endpoint = r
                .baseline_endpoint
                .map(|u| u.trim_end_matches('/').to_owned());
            if r.baseline_model_name.is_none() {
                r.baseline_model_name.clone_from(&raw.model_name);
            }
            Some(r)
        }
    };
    Ok(ModelSuite {
        model: raw.model.as_ref().map(|m| origin.path(m.get_ref())),
        model_line,
        endpoint,
        model_name: raw.model_name,
        model_version: raw.model_version,
        timeout,
        nonfinite_tokens: raw.nonfinite_tokens,
        cases: raw.cases.get_ref().iter().map(|p| origin.path(p)).collect(),
        per_row: raw.per_row,
        max_batch,
        device,
        rtol: raw.rtol,
        atol: raw.atol,
        tolerance,
        cuda,
        label_output: raw.label_output,
        edge_cases: raw.edge_cases,
        invariants: raw.invariants,
        robustness: raw.robustness,
        regression,
    })
}
