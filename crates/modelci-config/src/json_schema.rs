//! `[[suite.json-schema]]`: recorded JSON documents validated against a JSON Schema.

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

use crate::{ConfigError, Origin};

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

/// A resolved `[[suite.json-schema]]`.
#[derive(Debug, Clone)]
pub struct JsonSchemaSuite {
    /// The schema file, resolved against the config folder.
    pub schema: PathBuf,
    /// 1-based line of the `schema` key.
    pub schema_line: u32,
    /// File patterns, each resolved against the config folder, with the text as written.
    pub files: Vec<FilePattern>,
    /// 1-based line of the `files` key.
    pub files_line: u32,
    /// How files are read.
    pub format: RecordFormat,
    /// JSON Pointer to the validated part of each document ("" for all of it).
    pub pointer: String,
    /// Whether `format` keywords are asserted.
    pub validate_formats: bool,
}

/// A path or glob pattern from the config, resolved against the config's folder.
#[derive(Debug, Clone)]
pub struct FilePattern {
    /// As written in the config.
    pub written: String,
    /// Resolved against the config's folder.
    pub resolved: String,
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

/// Checks a `[[suite.json-schema]]` table and resolves its paths.
///
/// # Errors
/// An empty `schema` or `files`, an empty pattern, a `pointer` that is not a JSON Pointer.
pub fn resolve(
    raw: JsonSchemaSuiteFile,
    origin: &Origin<'_>,
) -> Result<JsonSchemaSuite, ConfigError> {
    if raw.schema.get_ref().as_os_str().is_empty() {
        return Err(origin.error(
            raw.schema.span().start,
            format!("{} must not be empty", origin.name("schema")),
        ));
    }
    if raw.files.get_ref().is_empty() {
        return Err(origin.error(
            raw.files.span().start,
            format!(
                "{} must list at least one path or glob pattern",
                origin.name("files")
            ),
        ));
    }
    if let Some(p) = raw.files.get_ref().iter().find(|p| p.trim().is_empty()) {
        return Err(origin.error(
            raw.files.span().start,
            format!("{} holds an empty pattern {p:?}", origin.name("files")),
        ));
    }
    let pointer = match raw.pointer {
        Some(p) if !p.get_ref().is_empty() && !p.get_ref().starts_with('/') => {
            return Err(origin.error(
                p.span().start,
                format!(
                    "{} must be a JSON Pointer starting with `/` (or empty), not `{}`",
                    origin.name("pointer"),
                    p.get_ref()
                ),
            ));
        }
        Some(p) => p.into_inner(),
        None => String::new(),
    };
    let files = raw
        .files
        .get_ref()
        .iter()
        .map(|p| FilePattern {
            written: p.clone(),
            resolved: origin.path(Path::new(p)).to_string_lossy().into_owned(),
        })
        .collect();
    Ok(JsonSchemaSuite {
        schema: origin.path(raw.schema.get_ref()),
        schema_line: origin.line(raw.schema.span().start),
        files,
        files_line: origin.line(raw.files.span().start),
        format: raw.format,
        pointer,
        validate_formats: raw.validate_formats,
    })
}
