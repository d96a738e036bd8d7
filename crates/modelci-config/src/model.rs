//! The expectations a `[[suite.model]]` declares beyond exact golden outputs: edge cases,
//! invariants, robustness to perturbations, and regression against a baseline model.
//!
//! These types are both what the file says (they deserialize from TOML) and what the runner gets
//! (paths resolved, numbers checked by [`crate::load`]).

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Deserialize;

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
