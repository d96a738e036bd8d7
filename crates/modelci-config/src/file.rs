//! The types of `modelci.toml` as written in the file (serde + schemars).
//!
//! These types are the source of the configuration's JSON Schema (`modelci schema config`,
//! `contracts/modelci/config.schema.json`); their doc comments are the schema's descriptions.
//! Suites are arrays of tables keyed by kind (`[[suite.json-schema]]`), which keeps every field
//! span-accurate for error messages and lets editors complete each kind's keys.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

/// `modelci.toml`: what `modelci check` runs and where it reports.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "modelci.toml",
    description = "Configuration of `modelci check`. Relative paths resolve against the folder of this file."
)]
pub struct ConfigFile {
    /// About the project under test.
    #[serde(default)]
    pub project: ProjectSection,
    /// Where `modelci check` writes its reports when the command line does not say.
    #[serde(default)]
    pub report: ReportSection,
    /// The suites to run, grouped by kind: `[[suite.json-schema]]`, ...
    #[serde(default)]
    pub suite: SuiteSection,
    /// The system under test, started before the suites and stopped after them.
    #[serde(default)]
    #[schemars(with = "Option<crate::service::ServiceFile>")]
    pub service: Option<Spanned<crate::service::ServiceFile>>,
}

/// `[project]`
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectSection {
    /// A name for the project, shown in reports.
    #[serde(default)]
    pub name: Option<String>,
}

/// `[report]`
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportSection {
    /// JUnit XML report path (overridden by `--junit`). Its folder must exist.
    #[serde(default)]
    #[schemars(with = "Option<PathBuf>")]
    pub junit: Option<Spanned<PathBuf>>,
    /// JSON report path (overridden by `--json`). Its folder must exist.
    #[serde(default)]
    #[schemars(with = "Option<PathBuf>")]
    pub json: Option<Spanned<PathBuf>>,
}

/// `[suite]`: one array of tables per kind of suite.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SuiteSection {
    /// `[[suite.json-schema]]`: validate recorded JSON documents (responses, payloads, logs)
    /// against a JSON Schema. One case per file, or per line of a JSON Lines file.
    #[serde(default, rename = "json-schema")]
    #[schemars(with = "Vec<JsonSchemaSuiteFile>")]
    pub json_schema: Vec<Spanned<JsonSchemaSuiteFile>>,
    /// `[[suite.pact]]`: verify a running provider against pact files (consumer-driven
    /// contracts). One case per interaction.
    #[serde(default)]
    #[schemars(with = "Vec<PactSuiteFile>")]
    pub pact: Vec<Spanned<PactSuiteFile>>,
    /// `[[suite.openapi]]`: check a running service (`base_url`) and/or recorded traffic
    /// (`recorded`) against its OpenAPI document. One case per operation and check, or per
    /// recorded exchange.
    #[serde(default)]
    #[schemars(with = "Vec<OpenApiSuiteFile>")]
    pub openapi: Vec<Spanned<OpenApiSuiteFile>>,
    /// `[[suite.model]]`: golden cases run on an ONNX model with ONNX Runtime. One case per
    /// golden case.
    #[serde(default)]
    #[schemars(with = "Vec<ModelSuiteFile>")]
    pub model: Vec<Spanned<ModelSuiteFile>>,
    /// `[[suite.gate]]`: a candidate model judged against accuracy, fairness and latency
    /// thresholds (a local file and the MLflow registry), with a baseline on the same rows. One
    /// case per threshold (and per group for group thresholds).
    #[serde(default)]
    #[schemars(with = "Vec<crate::gate::GateSuiteFile>")]
    pub gate: Vec<Spanned<crate::gate::GateSuiteFile>>,
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
    /// The output holding class labels, for label flips (default: an integer output, else the
    /// argmax of the first floating-point output).
    #[serde(default)]
    pub label_output: Option<String>,
    /// Edge cases to probe.
    #[serde(default)]
    pub edge_cases: Option<crate::model::EdgeCases>,
    /// Invariants every answer must keep.
    #[serde(default)]
    pub invariants: Option<crate::model::Invariants>,
    /// Robustness checks: perturbed inputs with bounds on the change.
    #[serde(default)]
    pub robustness: Vec<crate::model::Robustness>,
    /// Regression against a baseline model.
    #[serde(default)]
    pub regression: Option<crate::model::Regression>,
}

/// One `[[suite.openapi]]` table.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenApiSuiteFile {
    /// The suite's name: unique in the file; letters, digits, `.`, `_` and `-`.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// The OpenAPI document (3.0 or 3.1, YAML or JSON).
    #[schemars(with = "PathBuf")]
    pub openapi: Spanned<PathBuf>,
    /// Base URL of the running service to test live. At least one of `base_url` and `recorded`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub base_url: Option<Spanned<String>>,
    /// Recorded traffic to check: HAR files or JSON Lines of exchanges.
    #[serde(default)]
    pub recorded: Vec<PathBuf>,
    /// The previous version of the document, to check for breaking changes (a file).
    #[serde(default)]
    pub previous: Option<PathBuf>,
    /// Check for breaking changes against the document as it is at this git revision
    /// (e.g. `origin/main`).
    #[serde(default)]
    pub base_ref: Option<String>,
    /// Breaking-change findings at or above this severity fail (`breaking` or `warning`;
    /// default `breaking`).
    #[serde(default)]
    pub fail_on: Option<FailOn>,
    /// Only these operations (operationId or `METHOD /path`); all when empty.
    #[serde(default)]
    pub operations: Vec<String>,
    /// Fetch `$ref`s to http(s):// documents (never fetched otherwise). Default false.
    #[serde(default)]
    pub allow_remote_refs: bool,
    /// Generated valid requests per operation (default 10).
    #[serde(default)]
    pub max_cases: Option<usize>,
    /// Seed of the generated requests (default 0).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Seconds to wait for each request (default 30).
    #[serde(default)]
    pub timeout_secs: Option<f64>,
    /// Requests in flight at once (default 8).
    #[serde(default)]
    pub concurrency: Option<usize>,
    /// Extra headers on every request, as written (no secrets here).
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    /// Headers whose values are secrets: header name -> environment variable holding the value.
    #[serde(default)]
    #[schemars(with = "std::collections::BTreeMap<String, String>")]
    pub secret_headers: std::collections::BTreeMap<String, Spanned<String>>,
}

/// One `[[suite.pact]]` table.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PactSuiteFile {
    /// The suite's name: unique in the file; letters, digits, `.`, `_` and `-`.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// Pact files, folders of pact files (every `*.json`), or `http(s)://` URLs.
    #[schemars(with = "Vec<String>", length(min = 1))]
    pub pacts: Spanned<Vec<String>>,
    /// Base URL of the provider under test.
    #[schemars(with = "String")]
    pub provider_url: Spanned<String>,
    /// Where provider states are set up: modelci POSTs `{"state", "params", "action": "setup"}`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub state_change_url: Option<Spanned<String>>,
    /// Also POST `"action": "teardown"` after each interaction with provider states.
    #[serde(default)]
    pub state_change_teardown: bool,
    /// Only interactions whose description matches this regular expression.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub filter_description: Option<Spanned<String>>,
    /// Only interactions with a provider state matching this regular expression.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub filter_state: Option<Spanned<String>>,
    /// Extra headers sent with every request, as written (no secrets here: see
    /// `secret_headers`).
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    /// Headers whose values are secrets: header name -> the name of the environment variable
    /// that holds the whole value (e.g. `Authorization = "PROVIDER_AUTH"` with
    /// `PROVIDER_AUTH="Bearer ..."`). Values are never printed.
    #[serde(default)]
    #[schemars(with = "std::collections::BTreeMap<String, String>")]
    pub secret_headers: std::collections::BTreeMap<String, Spanned<String>>,
    /// Seconds to wait for each request (default 30).
    #[serde(default)]
    pub timeout_secs: Option<f64>,
    /// Interactions without provider states verified at once (default 8).
    #[serde(default)]
    pub concurrency: Option<usize>,
}

/// One `[[suite.json-schema]]` table.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonSchemaSuiteFile {
    /// The suite's name: unique in the file; letters, digits, `.`, `_` and `-`. `--only NAME`
    /// selects it.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// The JSON Schema file (draft 4, 6, 7, 2019-09 or 2020-12, from its `$schema`; 2020-12
    /// when absent). `$ref`s to local files resolve against its folder (or its `$id`); remote
    /// `$ref`s are refused.
    #[schemars(with = "PathBuf")]
    pub schema: Spanned<PathBuf>,
    /// Files to check: paths or glob patterns (`recorded/*.json`, `logs/**/*.jsonl`). A pattern
    /// that matches nothing is an error, so a moved folder cannot pass silently.
    #[schemars(with = "Vec<String>", length(min = 1))]
    pub files: Spanned<Vec<String>>,
    /// How files are read: `json` (one document per file), `jsonl` (one document per non-empty
    /// line; a case per line) or `auto` (`jsonl` for `.jsonl`/`.ndjson` files, else `json`).
    #[serde(default)]
    pub format: RecordFormat,
    /// A JSON Pointer (RFC 6901) to the part of each document to validate, e.g. `/body` when
    /// the recordings wrap the payload in an envelope. Empty or absent: the whole document.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub pointer: Option<Spanned<String>>,
    /// Also assert `format` keywords (`date-time`, `email`, `uri`, ...). Default true.
    #[serde(default = "yes")]
    pub validate_formats: bool,
}

fn yes() -> bool {
    true
}

/// The severity at which a contract change fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FailOn {
    /// Only breaking changes fail.
    Breaking,
    /// Warnings fail too.
    Warning,
}

/// How the files of a `json-schema` suite are read.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RecordFormat {
    /// `jsonl` for `.jsonl` and `.ndjson` files, `json` otherwise.
    #[default]
    Auto,
    /// One JSON document per file.
    Json,
    /// One JSON document per non-empty line (JSON Lines); each line is a case.
    Jsonl,
}
