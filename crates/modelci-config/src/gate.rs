//! `[[suite.gate]]`: the model gate. A candidate model (a file, or a version in the MLflow
//! registry) is evaluated on a dataset, with a baseline (the champion) on the same rows, and
//! judged against accuracy, fairness and latency thresholds from a local file and the registry.
//!
//! The same settings are what `modelci gate` takes as flags.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::values::Device;
use crate::{ConfigError, Origin};

/// What kind of model is gated.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// Class labels (binary or multiclass); metrics like MLflow's classifier evaluator.
    #[default]
    Classifier,
    /// Numbers; metrics like MLflow's regressor evaluator.
    Regressor,
}

/// How per-class precision, recall and F1 are averaged for more than two classes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Average {
    Micro,
    Macro,
    /// Weighted by support (MLflow's default for multiclass).
    #[default]
    Weighted,
}

/// `[suite.gate.latency]`: timed inferences of the candidate.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Latency {
    /// Untimed inferences first (default 10).
    #[serde(default = "warmup")]
    pub warmup: usize,
    /// Timed inferences per batch size (default 100).
    #[serde(default = "iterations")]
    pub iterations: usize,
    /// Rows per inference (default `[1]`); metrics of the first batch size have plain names
    /// (`latency_p95_ms`), the others a suffix (`latency_p95_ms/batch=32`).
    #[serde(default = "batch_sizes")]
    pub batch_sizes: Vec<usize>,
}

fn warmup() -> usize {
    10
}
fn iterations() -> usize {
    100
}
fn batch_sizes() -> Vec<usize> {
    vec![1]
}

/// One `[[suite.gate]]` table, as written.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GateSuiteFile {
    /// The suite's name: unique in the file; letters, digits, `.`, `_` and `-`.
    #[schemars(with = "String")]
    pub name: toml::Spanned<String>,
    /// The registered model's name in MLflow (needed for `version:`/`alias:` references,
    /// registry thresholds, `record` and `promote_alias`).
    #[serde(default)]
    pub model_name: Option<String>,
    /// The candidate: `version:N`, `alias:NAME` (registry) or a path to an `.onnx` file.
    pub candidate: String,
    /// The baseline to compare with (e.g. `alias:champion`), in the same forms.
    #[serde(default)]
    pub baseline: Option<String>,
    /// Serve the candidate's features to a live Open Inference Protocol endpoint instead of
    /// running the candidate's file (its base URL); `endpoint_model` names it there.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The model's name on `endpoint` (default: `model_name`).
    #[serde(default)]
    pub endpoint_model: Option<String>,
    /// The evaluation data: `.csv`, `.jsonl` or `.parquet`.
    pub dataset: PathBuf,
    /// The column with the true label (or target, for regressors).
    pub label: String,
    /// Feature columns, in the model's input order (default: every numeric column that is not
    /// the label, a prediction, probability or sensitive column).
    #[serde(default)]
    pub features: Vec<String>,
    /// For models with several named inputs: each input's feature columns, in order
    /// (`inputs = { age = ["age"], money = ["income", "debt"] }`); each input gets a
    /// `float32[rows, columns]` tensor. Instead of `features`.
    #[serde(default)]
    pub inputs: std::collections::BTreeMap<String, Vec<String>>,
    /// A column holding the candidate's predictions computed elsewhere (then the candidate is
    /// not run).
    #[serde(default)]
    pub prediction: Option<String>,
    /// A column holding the baseline's predictions computed elsewhere.
    #[serde(default)]
    pub baseline_prediction: Option<String>,
    /// The candidate's class probabilities computed elsewhere: one list column, or one column
    /// per class in class order.
    #[serde(default)]
    pub probabilities: Vec<String>,
    /// Sensitive-attribute columns for fairness (each alone, and their intersection when
    /// several).
    #[serde(default)]
    pub sensitive: Vec<String>,
    /// `classifier` (default) or `regressor`.
    #[serde(default)]
    pub task: Task,
    /// Averaging for multiclass precision/recall/F1 (default `weighted`, as MLflow).
    #[serde(default)]
    pub average: Average,
    /// The positive class for binary metrics and fairness (default: the larger of the two, as
    /// scikit-learn's `1`).
    #[serde(default)]
    pub pos_label: Option<String>,
    /// Groups smaller than this are reported but not judged (default 30).
    #[serde(default)]
    pub min_group_size: Option<usize>,
    /// The model output holding labels (default: the first integer output).
    #[serde(default)]
    pub label_output: Option<String>,
    /// The model output holding class probabilities (default: the first float output).
    #[serde(default)]
    pub probabilities_output: Option<String>,
    /// The local thresholds file (JSON like the `modelci.thresholds` tag, or TOML with a table
    /// per metric); registry tags override it.
    #[serde(default)]
    pub thresholds: Option<PathBuf>,
    /// The MLflow tracking server (default: `MLFLOW_TRACKING_URI`).
    #[serde(default)]
    pub tracking_uri: Option<String>,
    /// Seconds each request to MLflow or to the endpoint may take, from connecting to the last
    /// byte of the answer (default: `MLFLOW_HTTP_REQUEST_TIMEOUT` for MLflow, else 30).
    #[serde(default)]
    pub timeout_secs: Option<f64>,
    /// Seconds all of the gate's MLflow requests may take together, retries included (default:
    /// no limit beyond each request's and the retries' own).
    #[serde(default)]
    pub budget_secs: Option<f64>,
    /// `cpu` (default), `cuda` or `auto`.
    #[serde(default)]
    pub device: Option<String>,
    /// Bootstrap resamples for confidence intervals and paired comparisons (default 1000).
    #[serde(default)]
    pub resamples: Option<usize>,
    /// Seed of the bootstraps (default 0).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Timed inferences.
    #[serde(default)]
    pub latency: Option<Latency>,
    /// Log the candidate's metrics to an MLflow run and tag the model version with the verdict.
    #[serde(default)]
    pub record: bool,
    /// Move this registry alias (e.g. `canary`) to the candidate when the gate passes.
    #[serde(default)]
    pub promote_alias: Option<String>,
}

/// Bootstrap resamples, at most.
pub const MAX_RESAMPLES: usize = 1_000_000;

/// Timed (or warm-up) inferences per batch size, at most.
pub const MAX_ITERATIONS: usize = 1_000_000;

/// Rows in one timed batch, at most.
pub const MAX_LATENCY_BATCH: usize = 65_536;

/// A resolved `[[suite.gate]]` (paths against the config file's folder, defaults applied).
#[derive(Debug, Clone, PartialEq)]
pub struct GateSuite {
    pub model_name: Option<String>,
    pub candidate: ModelRef,
    pub baseline: Option<ModelRef>,
    pub endpoint: Option<String>,
    pub endpoint_model: Option<String>,
    pub dataset: PathBuf,
    pub label: String,
    pub features: Vec<String>,
    /// Model input → its feature columns (models with several inputs); empty: one input
    /// holding `features`.
    pub inputs: Vec<(String, Vec<String>)>,
    pub prediction: Option<String>,
    pub baseline_prediction: Option<String>,
    pub probabilities: Vec<String>,
    pub sensitive: Vec<String>,
    pub task: Task,
    pub average: Average,
    pub pos_label: Option<String>,
    pub min_group_size: usize,
    pub label_output: Option<String>,
    pub probabilities_output: Option<String>,
    pub thresholds: Option<PathBuf>,
    pub tracking_uri: Option<String>,
    /// Each request's deadline (MLflow and the endpoint), when given.
    pub timeout: Option<std::time::Duration>,
    /// The most time all MLflow requests may take together, when given.
    pub budget: Option<std::time::Duration>,
    pub device: Device,
    pub resamples: usize,
    pub seed: u64,
    pub latency: Option<Latency>,
    pub record: bool,
    pub promote_alias: Option<String>,
}

/// A model: a registry version, a registry alias, or a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelRef {
    Version(String),
    Alias(String),
    File(PathBuf),
}

impl ModelRef {
    /// Reads `version:N`, `alias:NAME` or a path (resolved against `dir`).
    ///
    /// # Errors
    /// An empty version or alias, or a version that is not a positive integer.
    pub fn parse(text: &str, dir: &std::path::Path) -> Result<ModelRef, String> {
        let text = text.trim();
        if let Some(v) = text.strip_prefix("version:") {
            let v = v.trim();
            if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) || v.starts_with('0') {
                return Err(format!(
                    "`{text}`: a registry version is a positive integer (`version:3`)"
                ));
            }
            return Ok(ModelRef::Version(v.to_owned()));
        }
        if let Some(a) = text.strip_prefix("alias:") {
            let a = a.trim();
            if a.is_empty() {
                return Err(format!("`{text}`: the alias is empty (`alias:champion`)"));
            }
            return Ok(ModelRef::Alias(a.to_owned()));
        }
        if text.is_empty() {
            return Err("an empty model reference: use `version:N`, `alias:NAME` or a path to an .onnx file".into());
        }
        Ok(ModelRef::File(crate::resolve(
            dir,
            std::path::Path::new(text),
        )))
    }

    /// Whether it needs the registry.
    pub fn in_registry(&self) -> bool {
        !matches!(self, ModelRef::File(_))
    }
}

impl std::fmt::Display for ModelRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelRef::Version(v) => write!(f, "version:{v}"),
            ModelRef::Alias(a) => write!(f, "alias:{a}"),
            ModelRef::File(p) => write!(f, "{}", crate::display_path(p)),
        }
    }
}

/// Checks a `[[suite.gate]]` table (or `modelci gate`'s flags) and resolves its paths.
///
/// # Errors
/// The first problem found, at the table (or naming the flag).
pub fn resolve(raw: GateSuiteFile, origin: &Origin<'_>) -> Result<GateSuite, ConfigError> {
    let offset = raw.name.span().start;
    raw.check(origin).map_err(|m| origin.error(offset, m))
}

impl GateSuiteFile {
    fn check(self, origin: &Origin<'_>) -> Result<GateSuite, String> {
        let dir = origin.dir.as_path();
        let key = |k: &str| origin.name(k);
        let candidate = ModelRef::parse(&self.candidate, dir)
            .map_err(|e| format!("{} {e}", key("candidate")))?;
        let baseline = self
            .baseline
            .as_deref()
            .map(|b| ModelRef::parse(b, dir))
            .transpose()
            .map_err(|e| format!("{} {e}", key("baseline")))?;
        let registry = candidate.in_registry()
            || baseline.as_ref().is_some_and(ModelRef::in_registry)
            || self.record
            || self.promote_alias.is_some();
        if registry && self.model_name.as_deref().is_none_or(str::is_empty) {
            return Err(format!(
                "{} is needed with registry references (`version:`, `alias:`), {} and {}",
                key("model_name"),
                key("record"),
                key("promote_alias")
            ));
        }
        let endpoint = self
            .endpoint
            .as_deref()
            .map(|e| crate::values::base_url(e, &key("endpoint")))
            .transpose()?;
        if self.endpoint.is_some() && self.prediction.is_some() {
            return Err(format!(
                "give {} or {}, not both: both say where the candidate's predictions come from",
                key("endpoint"),
                key("prediction")
            ));
        }
        let device = match &self.device {
            Some(d) => d
                .parse::<Device>()
                .map_err(|e| format!("{} {e}", key("device")))?,
            None => Device::default(),
        };
        let timeout = self
            .timeout_secs
            .map(|t| crate::values::seconds(t, &key("timeout_secs")))
            .transpose()?;
        let budget = self
            .budget_secs
            .map(|t| crate::values::seconds(t, &key("budget_secs")))
            .transpose()?;
        let resamples = crate::values::count(
            self.resamples.unwrap_or(1000),
            1,
            MAX_RESAMPLES,
            &key("resamples"),
        )?;
        if let Some(l) = &self.latency {
            crate::values::count(l.iterations, 1, MAX_ITERATIONS, &key("latency.iterations"))?;
            crate::values::count(l.warmup, 0, MAX_ITERATIONS, &key("latency.warmup"))?;
            if l.batch_sizes.is_empty() {
                return Err(format!(
                    "{} must list at least one batch size",
                    key("latency.batch_sizes")
                ));
            }
            for &size in &l.batch_sizes {
                crate::values::count(size, 1, MAX_LATENCY_BATCH, &key("latency.batch_sizes"))?;
            }
            if self.prediction.is_some() {
                return Err(format!(
                    "{} times the model, but {} says it is not run",
                    key("latency"),
                    key("prediction")
                ));
            }
        }
        if !self.inputs.is_empty() && !self.features.is_empty() {
            return Err(format!(
                "give {} or {}, not both: {} maps the feature columns to the model's inputs",
                key("features"),
                key("inputs"),
                key("inputs")
            ));
        }
        for (input, columns) in &self.inputs {
            if input.trim().is_empty() {
                return Err(format!("{} has an input with an empty name", key("inputs")));
            }
            if columns.is_empty() {
                return Err(format!(
                    "{} lists no feature columns for input `{input}`",
                    key("inputs")
                ));
            }
            if let Some(c) = columns.iter().find(|c| c.trim().is_empty()) {
                return Err(format!(
                    "{} lists an empty column name ({c:?}) for input `{input}`",
                    key("inputs")
                ));
            }
        }
        if self.task == Task::Regressor && !self.sensitive.is_empty() {
            return Err(format!(
                "fairness ({}) is computed for classifiers only",
                key("sensitive")
            ));
        }
        Ok(GateSuite {
            model_name: self.model_name,
            candidate,
            baseline,
            endpoint,
            endpoint_model: self.endpoint_model,
            dataset: origin.path(&self.dataset),
            label: self.label,
            features: self.features,
            inputs: self.inputs.into_iter().collect(),
            prediction: self.prediction,
            baseline_prediction: self.baseline_prediction,
            probabilities: self.probabilities,
            sensitive: self.sensitive,
            task: self.task,
            average: self.average,
            pos_label: self.pos_label,
            min_group_size: self.min_group_size.unwrap_or(30),
            label_output: self.label_output,
            probabilities_output: self.probabilities_output,
            thresholds: self.thresholds.map(|p| origin.path(&p)),
            tracking_uri: self.tracking_uri,
            timeout,
            budget,
            device,
            resamples,
            seed: self.seed.unwrap_or(0),
            latency: self.latency,
            record: self.record,
            promote_alias: self.promote_alias,
        })
    }
}
