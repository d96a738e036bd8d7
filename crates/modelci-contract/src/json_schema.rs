//! `[[suite.json-schema]]`: validate recorded JSON documents against a JSON Schema.
//!
//! Each file is a case (or, for JSON Lines, each non-empty line). A case passes when the
//! document (or the part of it that `pointer` selects) validates; it fails with every violation
//! listed, the first one located at its line in the file; it errors when the document cannot be
//! read (missing, too large, not UTF-8, not JSON). Problems with the schema itself, or with a
//! file pattern, are reported once, at the line of the configuration that declares them.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use jsonschema::Validator;
use modelci_config::{JsonSchemaSuite, RecordFormat, display_path};
use modelci_report::{Case, Location, Outcome, Properties};
use modelci_text::truncate;
use serde_json::Value;

use crate::locate::{line_col, pointer_offset};

/// Documents larger than this are not read: they are reported as errored cases.
pub const MAX_DOCUMENT_BYTES: u64 = 64 * 1024 * 1024;
/// Violations listed in a failed case's detail; the rest are counted.
const MAX_LISTED_VIOLATIONS: usize = 50;
/// Longest `actual` text kept in a case.
const MAX_VALUE_TEXT: usize = 2000;

/// A suite-level problem that keeps the suite from running (unreadable or invalid schema, bad
/// glob pattern). The runner reports it as one errored case at `location`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupError {
    /// What went wrong, as a lowercase sentence fragment.
    pub message: String,
    /// Where: the configuration line or the schema file position.
    pub location: Location,
}

/// A planned `json-schema` suite, ready to run its cases one by one (from any thread).
pub struct JsonSchemaCheck {
    validator: Validator,
    schema: Value,
    pointer: String,
    cases: Vec<Planned>,
    properties: Properties,
}

struct Planned {
    name: String,
    source: Source,
}

enum Source {
    /// A whole file is one document.
    File { path: PathBuf, display: String },
    /// One line of a JSON Lines file.
    Line {
        display: String,
        line: u32,
        text: Arc<str>,
        start: usize,
        end: usize,
    },
    /// A problem found while planning (pattern matched nothing, unreadable JSON Lines file).
    Problem(Case),
}

impl JsonSchemaCheck {
    /// Reads the schema and expands the file patterns.
    ///
    /// `config_file` is the configuration's display path (for locations) and `config_dir` the
    /// folder its relative paths resolve against (case names are relative to it).
    ///
    /// # Errors
    /// A [`SetupError`] when the schema cannot be read or compiled, or a pattern is malformed.
    pub fn plan(
        suite: &JsonSchemaSuite,
        config_file: &str,
        config_dir: &Path,
    ) -> Result<JsonSchemaCheck, SetupError> {
        let schema_display = display_path(&suite.schema);
        let at_config = |line: u32, message: String| SetupError {
            message,
            location: Location::line(config_file, line),
        };
        let text = std::fs::read(&suite.schema).map_err(|e| {
            at_config(
                suite.schema_line,
                format!(
                    "failed to read schema `{schema_display}`: {}",
                    io_reason(&e)
                ),
            )
        })?;
        let mut text = String::from_utf8(text).map_err(|_| SetupError {
            message: format!("schema `{schema_display}` is not valid UTF-8"),
            location: Location::file(schema_display.clone()),
        })?;
        if text.starts_with('\u{feff}') {
            text.drain(..'\u{feff}'.len_utf8());
        }
        let schema: Value = serde_json::from_str(&text).map_err(|e| SetupError {
            message: format!(
                "schema `{schema_display}` is not valid JSON: {}",
                json_reason(&e)
            ),
            location: Location {
                file: schema_display.clone(),
                line: u32::try_from(e.line()).ok(),
                column: u32::try_from(e.column()).ok(),
            },
        })?;
        let mut options = jsonschema::options()
            .should_validate_formats(suite.validate_formats)
            .with_retriever(LocalFiles);
        if let Ok(abs) = std::fs::canonicalize(&suite.schema) {
            options = options.with_base_uri(file_uri(&abs));
        }
        let validator = options.build(&schema).map_err(|e| {
            let pointer = e.instance_path().as_str().to_owned();
            let (line, column) = pointer_offset(&text, &pointer).map_or((None, None), |o| {
                let (l, c) = line_col(&text, o);
                (Some(l), Some(c))
            });
            SetupError {
                message: format!("schema `{schema_display}` is not a valid JSON Schema: {e}"),
                location: Location {
                    file: schema_display.clone(),
                    line,
                    column,
                },
            }
        })?;

        let mut cases = Vec::new();
        let mut seen = HashSet::new();
        for pattern in &suite.files {
            let matches = expand(&pattern.resolved).map_err(|m| {
                at_config(
                    suite.files_line,
                    format!("bad file pattern `{}`: {m}", pattern.written),
                )
            })?;
            if matches.is_empty() {
                cases.push(Planned {
                    name: pattern.written.clone(),
                    source: Source::Problem(
                        Case::errored(
                            pattern.written.clone(),
                            format!("file pattern `{}` matched no files", pattern.written),
                        )
                        .with_location(Location::line(config_file, suite.files_line)),
                    ),
                });
                continue;
            }
            for path in matches {
                // `./a.json` and `a.json` are one file: one case.
                let key = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
                if !seen.insert(key) {
                    continue;
                }
                let display = display_path(&path);
                let name = relative_name(&path, config_dir);
                let jsonl = match suite.format {
                    RecordFormat::Json => false,
                    RecordFormat::Jsonl => true,
                    RecordFormat::Auto => matches!(
                        path.extension().and_then(|e| e.to_str()),
                        Some("jsonl" | "ndjson")
                    ),
                };
                if jsonl {
                    plan_lines(&mut cases, &path, &display, &name);
                } else {
                    cases.push(Planned {
                        name,
                        source: Source::File { path, display },
                    });
                }
            }
        }

        let mut properties = Properties::new();
        properties.insert("schema", schema_display);
        properties.insert("draft", draft_name(validator.draft()));
        if !suite.pointer.is_empty() {
            properties.insert("pointer", suite.pointer.clone());
        }
        Ok(JsonSchemaCheck {
            validator,
            schema,
            pointer: suite.pointer.clone(),
            cases,
            properties,
        })
    }

    /// The stable names of the planned cases, in order.
    pub fn case_names(&self) -> impl Iterator<Item = &str> {
        self.cases.iter().map(|c| c.name.as_str())
    }

    /// Number of planned cases.
    pub fn len(&self) -> usize {
        self.cases.len()
    }

    /// Whether no case was planned.
    pub fn is_empty(&self) -> bool {
        self.cases.is_empty()
    }

    /// Suite properties: schema path, draft, pointer.
    pub fn properties(&self) -> &Properties {
        &self.properties
    }

    /// Runs the case at `index` (as ordered by [`case_names`](Self::case_names)).
    pub fn run(&self, index: usize) -> Case {
        let Some(planned) = self.cases.get(index) else {
            return Case::errored(format!("#{index}"), "no such case");
        };
        let started = Instant::now();
        let mut case = match &planned.source {
            Source::Problem(case) => case.clone(),
            Source::File { path, display } => match read_document(path, display) {
                Ok(text) => self.check_text(&planned.name, &text, display, 1),
                Err(why) => why.into_case(&planned.name),
            },
            Source::Line {
                display,
                line,
                text,
                start,
                end,
            } => self.check_text(&planned.name, &text[*start..*end], display, *line),
        };
        case.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        case
    }

    /// Parses and validates one document. `first_line` is the line of `text` in its file.
    fn check_text(&self, name: &str, text: &str, display: &str, first_line: u32) -> Case {
        let locate = |offset: usize| {
            let (line, column) = line_col(text, offset);
            Location {
                file: display.to_owned(),
                line: Some(first_line + line - 1),
                column: Some(column),
            }
        };
        let document: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                let line = u32::try_from(e.line()).unwrap_or(1).max(1);
                return Case::errored(name, format!("not valid JSON: {}", json_reason(&e)))
                    .with_location(Location {
                        file: display.to_owned(),
                        line: Some(first_line + line - 1),
                        column: u32::try_from(e.column()).ok(),
                    });
            }
        };
        let Some(target) = document.pointer(&self.pointer) else {
            return Case::failed(
                name,
                format!("the document has no value at pointer `{}`", self.pointer),
            )
            .with_location(locate(pointer_offset(text, &self.pointer).unwrap_or(0)));
        };

        let errors: Vec<_> = self.validator.iter_errors(target).collect();
        if errors.is_empty() {
            return Case::passed(name)
                .with_location(locate(pointer_offset(text, &self.pointer).unwrap_or(0)));
        }
        let first = &errors[0];
        let first_path = format!("{}{}", self.pointer, first.instance_path().as_str());
        let mut message = format!("{}: {first}", shown_path(&first_path));
        if errors.len() > 1 {
            let _ = write!(message, " (and {} more)", errors.len() - 1);
        }
        let mut case = Case::new(name, Outcome::Failed)
            .with_message(message)
            .with_location(locate(pointer_offset(text, &first_path).unwrap_or(0)));
        case.expected = expected_text(&self.schema, first.schema_path().as_str());
        case.actual = Some(value_text(first.instance()));
        case.properties
            .insert("violations", errors.len().to_string());
        case.properties
            .insert("schema_keyword", first.schema_path().as_str().to_owned());
        if errors.len() == 1 {
            return case;
        }
        let mut detail = format!(
            "{} violation{} of `{}`:\n",
            errors.len(),
            if errors.len() == 1 { "" } else { "s" },
            self.properties.get("schema").map_or("", String::as_str)
        );
        for e in errors.iter().take(MAX_LISTED_VIOLATIONS) {
            let path = format!("{}{}", self.pointer, e.instance_path().as_str());
            let _ = writeln!(
                detail,
                "  {}: {e} (schema {})",
                shown_path(&path),
                shown_path(e.schema_path().as_str())
            );
        }
        if errors.len() > MAX_LISTED_VIOLATIONS {
            let _ = writeln!(
                detail,
                "  … and {} more",
                errors.len() - MAX_LISTED_VIOLATIONS
            );
        }
        case.detail = Some(detail.trim_end().to_owned());
        case
    }
}

/// Why a document could not be read, and where.
struct Unreadable {
    message: String,
    location: Location,
}

impl Unreadable {
    fn into_case(self, name: &str) -> Case {
        Case::errored(name, self.message).with_location(self.location)
    }
}

/// Reads a document, turning every way it can be unreadable into a message.
fn read_document(path: &Path, display: &str) -> Result<String, Unreadable> {
    let unreadable = |message: String| Unreadable {
        message,
        location: Location::file(display),
    };
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => {
            return Err(unreadable(format!("`{display}` is a folder, not a file")));
        }
        Ok(m) if m.len() > MAX_DOCUMENT_BYTES => {
            return Err(unreadable(format!(
                "`{display}` is {} MiB, over the {} MiB limit for one document",
                m.len() / (1024 * 1024),
                MAX_DOCUMENT_BYTES / (1024 * 1024)
            )));
        }
        Ok(_) => {}
        Err(e) => {
            return Err(unreadable(format!(
                "failed to read `{display}`: {}",
                io_reason(&e)
            )));
        }
    }
    let bytes = std::fs::read(path)
        .map_err(|e| unreadable(format!("failed to read `{display}`: {}", io_reason(&e))))?;
    let mut text = String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let lossy = String::from_utf8_lossy(e.as_bytes());
        let (line, column) = line_col(&lossy, offset);
        Unreadable {
            message: format!("`{display}` is not valid UTF-8 (byte {offset}, line {line})"),
            location: Location {
                file: display.to_owned(),
                line: Some(line),
                column: Some(column),
            },
        }
    })?;
    // Editors on Windows often save a byte-order mark, which JSON parsers reject.
    if text.starts_with('\u{feff}') {
        text.drain(..'\u{feff}'.len_utf8());
    }
    Ok(text)
}

/// Plans one case per non-empty line of a JSON Lines file.
fn plan_lines(cases: &mut Vec<Planned>, path: &Path, display: &str, name: &str) {
    let text = match read_document(path, display) {
        Ok(t) => Arc::<str>::from(t),
        Err(why) => {
            cases.push(Planned {
                name: name.to_owned(),
                source: Source::Problem(why.into_case(name)),
            });
            return;
        }
    };
    let mut start = 0;
    let mut any = false;
    for (i, line) in text.split('\n').enumerate() {
        let end = start + line.len();
        if !line.trim().is_empty() {
            any = true;
            let line_no = u32::try_from(i + 1).unwrap_or(u32::MAX);
            cases.push(Planned {
                name: format!("{name}:{line_no}"),
                source: Source::Line {
                    display: display.to_owned(),
                    line: line_no,
                    text: Arc::clone(&text),
                    start,
                    end,
                },
            });
        }
        start = end + 1;
    }
    if !any {
        cases.push(Planned {
            name: name.to_owned(),
            source: Source::Problem(
                Case::errored(name, format!("`{display}` holds no JSON lines"))
                    .with_location(Location::file(display)),
            ),
        });
    }
}

/// Expands a resolved path or glob pattern into files, sorted. A plain path (no `*`, `?`, `[`)
/// is returned as is, even when missing, so that the case reports the problem.
fn expand(pattern: &str) -> Result<Vec<PathBuf>, String> {
    if !pattern.contains(['*', '?', '[']) {
        return Ok(vec![PathBuf::from(pattern)]);
    }
    let paths = glob::glob(pattern).map_err(|e| e.to_string())?;
    let mut out: Vec<PathBuf> = paths
        .filter_map(Result::ok)
        .filter(|p| !p.is_dir())
        .collect();
    out.sort();
    Ok(out)
}

/// Resolves `$ref`s to local files (percent-decoding the URI path) and refuses remote ones:
/// a gate must not depend on what a network fetch returns today.
struct LocalFiles;

impl jsonschema::Retrieve for LocalFiles {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        if uri.scheme().as_str() != "file" {
            return Err(format!(
                "remote `$ref` {uri} is not fetched; keep referenced schemas in local files"
            )
            .into());
        }
        let path = PathBuf::from(percent_decode(uri.path().as_str()));
        let bytes = std::fs::read(&path)
            .map_err(|e| format!("failed to read `{}`: {}", path.display(), io_reason(&e)))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| format!("`{}` is not valid JSON: {e}", path.display()).into())
    }
}

/// `%XX` escapes decoded; bytes that are not UTF-8 become U+FFFD (the one policy for bad UTF-8
/// wherever modelci percent-decodes).
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// A `file://` URI for an absolute path, percent-encoding what a URI path cannot hold (spaces,
/// `#`, `?`, non-ASCII), so that relative `$ref`s resolve against the schema's folder.
fn file_uri(abs: &Path) -> String {
    let mut uri = String::from("file://");
    for b in abs.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~!$&'()*+,;=:@".contains(&b) {
            uri.push(char::from(b));
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri
}

fn relative_name(path: &Path, dir: &Path) -> String {
    let rel = if dir == Path::new(".") {
        path
    } else {
        path.strip_prefix(dir).unwrap_or(path)
    };
    display_path(rel)
}

fn shown_path(pointer: &str) -> &str {
    if pointer.is_empty() {
        "(root)"
    } else {
        pointer
    }
}

/// The schema keyword that failed, as `keyword: value` (e.g. `maximum: 1`).
fn expected_text(schema: &Value, schema_path: &str) -> Option<String> {
    let value = schema.pointer(schema_path)?;
    let keyword = schema_path.rsplit('/').next()?;
    Some(format!("{keyword}: {}", value_text(value)))
}

/// A value on one line when it is short, pretty-printed (and clipped) when it is not.
fn value_text(value: &Value) -> String {
    let compact = serde_json::to_string(value).unwrap_or_default();
    if compact.len() <= 200 {
        return compact;
    }
    truncate(
        &serde_json::to_string_pretty(value).unwrap_or_default(),
        MAX_VALUE_TEXT,
    )
}

fn draft_name(draft: jsonschema::Draft) -> &'static str {
    match draft {
        jsonschema::Draft::Draft4 => "4",
        jsonschema::Draft::Draft6 => "6",
        jsonschema::Draft::Draft7 => "7",
        jsonschema::Draft::Draft201909 => "2019-09",
        jsonschema::Draft::Draft202012 => "2020-12",
        _ => "unknown",
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

fn json_reason(e: &serde_json::Error) -> String {
    // serde_json appends " at line L column C"; the location is reported separately.
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

#[cfg(test)]
mod tests;
