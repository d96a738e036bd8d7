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
