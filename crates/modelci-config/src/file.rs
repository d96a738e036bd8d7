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
    description = "Configuration of `modelci check`. Relative paths resolve against the folder of this file. In every string value, `${NAME}` is the environment variable NAME (an error when it is unset), `${NAME:-default}` the same with a default for unset or empty, `${service.url}` is `[service] url`, and `$${` is a literal `${`. `modelci check --set KEY=VALUE` overrides a key."
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
    #[schemars(with = "Vec<crate::json_schema::JsonSchemaSuiteFile>")]
    pub json_schema: Vec<Spanned<crate::json_schema::JsonSchemaSuiteFile>>,
    /// `[[suite.pact]]`: verify a running provider against pact files (consumer-driven
    /// contracts). One case per interaction.
    #[serde(default)]
    #[schemars(with = "Vec<crate::pact::PactSuiteFile>")]
    pub pact: Vec<Spanned<crate::pact::PactSuiteFile>>,
    /// `[[suite.openapi]]`: check a running service (`base_url`) and/or recorded traffic
    /// (`recorded`) against its OpenAPI document. One case per operation and check, or per
    /// recorded exchange.
    #[serde(default)]
    #[schemars(with = "Vec<crate::openapi::OpenApiSuiteFile>")]
    pub openapi: Vec<Spanned<crate::openapi::OpenApiSuiteFile>>,
    /// `[[suite.model]]`: golden cases run on an ONNX model with ONNX Runtime. One case per
    /// golden case.
    #[serde(default)]
    #[schemars(with = "Vec<crate::model::ModelSuiteFile>")]
    pub model: Vec<Spanned<crate::model::ModelSuiteFile>>,
    /// `[[suite.gate]]`: a candidate model judged against accuracy, fairness and latency
    /// thresholds (a local file and the MLflow registry), with a baseline on the same rows. One
    /// case per threshold (and per group for group thresholds).
    #[serde(default)]
    #[schemars(with = "Vec<crate::gate::GateSuiteFile>")]
    pub gate: Vec<Spanned<crate::gate::GateSuiteFile>>,
    /// `[[suite.load]]`: a load test of an HTTP endpoint at a target rate (or with virtual
    /// users), judged by k6-style thresholds. One case per threshold.
    #[serde(default)]
    #[schemars(with = "Vec<crate::load::LoadSuiteFile>")]
    pub load: Vec<Spanned<crate::load::LoadSuiteFile>>,
    /// `[[suite.resilience]]`: traffic at a service while faults are injected into it or its
    /// dependencies (through fault proxies and process faults), judged by resilience oracles
    /// (timeout, retries, circuit breaker, bulkhead, fallback, recovery). One case per oracle
    /// per scenario.
    #[serde(default)]
    #[schemars(with = "Vec<crate::resilience::ResilienceSuiteFile>")]
    pub resilience: Vec<Spanned<crate::resilience::ResilienceSuiteFile>>,
    /// `[[suite.canary]]`: a canary judged against its baseline over the same window (metrics
    /// from Prometheus or files): per metric a Mann-Whitney U test and a Hodges-Lehmann shift
    /// with its interval, groups with weights into a score, a verdict. One case per metric and
    /// one for the verdict.
    #[serde(default)]
    #[schemars(with = "Vec<crate::canary::CanarySuiteFile>")]
    pub canary: Vec<Spanned<crate::canary::CanarySuiteFile>>,
    /// `[[suite.shadow]]`: the same requests sent to a baseline and a canary at once, their
    /// answers compared (prediction agreement, output drift, latency, errors) and judged into a
    /// score and a verdict as `[[suite.canary]]` does. One case per metric and one for the
    /// verdict.
    #[serde(default)]
    #[schemars(with = "Vec<crate::shadow::ShadowSuiteFile>")]
    pub shadow: Vec<Spanned<crate::shadow::ShadowSuiteFile>>,
}
