//! What one file is: an OpenAPI document, a pact, a JSON Schema, golden cases, a model, a
//! dataset, recorded documents or traffic, a thresholds file, a container recipe, or nothing
//! modelci uses. Each file is read at most once and only when its name says it may matter.

use std::io::Read;

use serde_json::Value;

use crate::Limits;
use crate::walk::{FileEntry, reason};

/// What a file was found to be.
#[derive(Debug, Clone)]
pub enum Kind {
    /// An OpenAPI 3.x document.
    OpenApi,
    /// A pact file, with its provider's name.
    Pact { provider: String },
    /// A JSON Schema (the parsed schema).
    JsonSchema(Value),
    /// Golden cases in modelci's JSON form.
    GoldenJson,
    /// A NumPy `.npz` archive (golden cases next to a model).
    Npz,
    /// An ONNX model; `lfs_pointer` when the file is a Git LFS pointer, not the model.
    Onnx { lfs_pointer: bool },
    /// A CSV or Parquet table with its columns.
    Dataset(Dataset),
    /// A HAR file (recorded HTTP traffic).
    Har,
    /// JSON documents that may be recordings (one per file, or the first lines of JSON Lines).
    Documents { values: Vec<Value>, lines: bool },
    /// A thresholds file for the gate.
    Thresholds,
    /// A Dockerfile or a Compose file.
    Container(Container),
}

/// A container recipe, for the commented `[service]` block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Dockerfile,
    Compose,
}

/// A table's columns, as the gate would read them.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Columns in file order: name, whether numeric, and the distinct values of an integer
    /// column when there are few of them.
    pub columns: Vec<ColumnInfo>,
}

/// One dataset column.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnInfo {
    pub name: String,
    pub numeric: bool,
    /// For integer columns: how many distinct values (capped at 1000).
    pub distinct_ints: Option<usize>,
}

/// JSON files larger than this are not taken for recordings (they are kept in memory until the
/// schemas have been tried on them).
pub const MAX_RECORDING_BYTES: usize = 1024 * 1024;

/// How much of a JSON Lines file is read: its first lines are enough to try schemas on.
pub const JSON_LINES_HEAD: u64 = 2 * 1024 * 1024;

/// Sampled lines of a JSON Lines file.
const SAMPLE_LINES: usize = 20;

/// Classifies one file. `Ok(None)`: nothing modelci uses. `Err`: a warning line (the file
/// looked relevant but could not be read or parsed).
pub fn classify(entry: &FileEntry, limits: &Limits) -> Result<Option<Kind>, String> {
    let name = entry
        .rel
        .rsplit('/')
        .next()
        .unwrap_or(&entry.rel)
        .to_owned();
    let lower = name.to_ascii_lowercase();
    let ext = lower.rsplit_once('.').map_or("", |(_, e)| e);
    if let Some(c) = container(&lower) {
        return Ok(Some(Kind::Container(c)));
    }
    match ext {
        "onnx" => onnx(entry).map(Some),
        "npz" => Ok(Some(Kind::Npz)),
        "har" => Ok(Some(Kind::Har)),
        "csv" | "parquet" | "pq" => dataset(entry, limits),
        "jsonl" | "ndjson" => Ok(json_lines(&read_head(entry, JSON_LINES_HEAD)?)),
        "json" | "yaml" | "yml" | "toml" => {
            if ext == "toml" {
                return Ok(lower.contains("threshold").then_some(Kind::Thresholds));
            }
            if lower.contains("threshold") && ext == "json" {
                return Ok(Some(Kind::Thresholds));
            }
            let text = read_text(entry, limits)?;
            match ext {
                "json" => Ok(json(&text, &lower, &entry.rel)?),
                _ => yaml(&text, &entry.rel),
            }
        }
        _ => Ok(None),
    }
}

/// How many bytes [`classify`] reads of the file (all of a text file or dataset, the head of
/// JSON Lines, nothing of the rest), for the total budget.
pub fn read_size(entry: &FileEntry) -> u64 {
    let lower = entry
        .rel
        .rsplit('/')
        .next()
        .unwrap_or(&entry.rel)
        .to_ascii_lowercase();
    let ext = lower.rsplit_once('.').map_or("", |(_, e)| e);
    match ext {
        "jsonl" | "ndjson" => entry.size.min(JSON_LINES_HEAD),
        "json" | "yaml" | "yml" | "csv" | "parquet" | "pq" => entry.size,
        _ => 0,
    }
}

fn container(lower: &str) -> Option<Container> {
    if lower == "dockerfile" || lower == "containerfile" || lower.ends_with(".dockerfile") {
        return Some(Container::Dockerfile);
    }
    if matches!(
        lower,
        "compose.yaml" | "compose.yml" | "docker-compose.yaml" | "docker-compose.yml"
    ) {
        return Some(Container::Compose);
    }
    None
}

/// Reads a text file of at most `limits.max_read_bytes`.
fn read_text(entry: &FileEntry, limits: &Limits) -> Result<String, String> {
    if entry.size > limits.max_read_bytes {
        return Err(format!(
            "{}: over {} MiB, not inspected",
            entry.rel,
            limits.max_read_bytes / (1024 * 1024)
        ));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(&entry.path)
        .and_then(|f| f.take(limits.max_read_bytes + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("{}: cannot read it: {}", entry.rel, reason(&e)))?;
    if bytes.len() as u64 > limits.max_read_bytes {
        return Err(format!(
            "{}: over {} MiB, not inspected",
            entry.rel,
            limits.max_read_bytes / (1024 * 1024)
        ));
    }
    let text =
        String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8 text; left out", entry.rel))?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(t) => t.to_owned(),
        None => text,
    })
}

/// The first complete lines within `max` bytes of a file (all of it when it is smaller).
fn read_head(entry: &FileEntry, max: u64) -> Result<String, String> {
    let mut bytes = Vec::new();
    std::fs::File::open(&entry.path)
        .and_then(|f| f.take(max).read_to_end(&mut bytes))
        .map_err(|e| format!("{}: cannot read it: {}", entry.rel, reason(&e)))?;
    if bytes.len() as u64 == max
        && let Some(end) = bytes.iter().rposition(|b| *b == b'\n')
    {
        bytes.truncate(end + 1);
    }
    String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8 text; left out", entry.rel))
}

/// Whether the text's top level starts an OpenAPI (or Swagger) document.
fn looks_like_openapi(text: &str) -> bool {
    text.lines().take(200).any(|l| {
        let l = l.trim_end();
        l.starts_with("openapi:")
            || l.starts_with("swagger:")
            || l.trim_start().starts_with("\"openapi\"")
            || l.trim_start().starts_with("{\"openapi\"")
    })
}

/// A parsed document's OpenAPI verdict: `Ok(true)` OpenAPI 3.x, `Ok(false)` not OpenAPI,
/// `Err` OpenAPI of a version modelci does not read.
fn openapi_version(v: &Value, rel: &str) -> Result<bool, String> {
    let Some(obj) = v.as_object() else {
        return Ok(false);
    };
    if let Some(version) = obj.get("openapi") {
        let version = version.as_str().unwrap_or_default();
        if version.starts_with("3.") {
            return Ok(true);
        }
        return Err(format!(
            "{rel}: OpenAPI version `{}` is not supported (3.0 and 3.1 are); left out",
            crate::render::one_line(version, 20)
        ));
    }
    if obj.contains_key("swagger") {
        return Err(format!(
            "{rel}: a Swagger 2.0 document; modelci reads OpenAPI 3.0 and 3.1 (convert it, e.g. \
             with swagger2openapi); left out"
        ));
    }
    Ok(false)
}

fn yaml(text: &str, rel: &str) -> Result<Option<Kind>, String> {
    if !looks_like_openapi(text) {
        return Ok(None);
    }
    let value: Value = serde_yaml_ng::from_str(text).map_err(|e| {
        format!(
            "{rel}: looks like an OpenAPI document but is not valid YAML: {}; left out",
            crate::render::one_line(&e.to_string(), 200)
        )
    })?;
    Ok(openapi_version(&value, rel)?.then_some(Kind::OpenApi))
}

fn json(text: &str, lower_name: &str, rel: &str) -> Result<Option<Kind>, String> {
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            let relevant = looks_like_openapi(text)
                || text.contains("\"$schema\"")
                || (text.contains("\"consumer\"") && text.contains("\"provider\""));
            return if relevant {
                Err(format!(
                    "{rel}: looks like a contract but is not valid JSON: {}; left out",
                    crate::render::one_line(&e.to_string(), 200)
                ))
            } else {
                Ok(None)
            };
        }
    };
    if openapi_version(&value, rel)? {
        return Ok(Some(Kind::OpenApi));
    }
    if let Some(provider) = pact_provider(&value) {
        return Ok(Some(Kind::Pact { provider }));
    }
    if is_json_schema(&value, lower_name) {
        return Ok(Some(Kind::JsonSchema(value)));
    }
    if is_golden(&value, text) {
        return Ok(Some(Kind::GoldenJson));
    }
    if lower_name == "package.json"
        || lower_name == "package-lock.json"
        || lower_name.starts_with("tsconfig")
        || lower_name == "composer.json"
    {
        return Ok(None);
    }
    if text.len() > MAX_RECORDING_BYTES {
        return Ok(None);
    }
    Ok(Some(Kind::Documents {
        values: vec![value],
        lines: false,
    }))
}

/// The provider's name of a pact file: `consumer` and `provider` objects, and `interactions`
/// or `messages`.
fn pact_provider(v: &Value) -> Option<String> {
    let obj = v.as_object()?;
    let provider = obj.get("provider")?.as_object()?;
    obj.get("consumer")?.as_object()?;
    let has = |k: &str| obj.get(k).is_some_and(Value::is_array);
    if !(has("interactions") || has("messages")) {
        return None;
    }
    Some(
        provider
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("provider")
            .to_owned(),
    )
}

fn is_json_schema(v: &Value, lower_name: &str) -> bool {
    let Some(obj) = v.as_object() else {
        return false;
    };
    if obj
        .get("$schema")
        .and_then(Value::as_str)
        .is_some_and(|s| s.contains("json-schema.org"))
    {
        return true;
    }
    lower_name.ends_with(".schema.json")
        && [
            "type",
            "properties",
            "$defs",
            "definitions",
            "$ref",
            "allOf",
            "oneOf",
            "anyOf",
        ]
        .iter()
        .any(|k| obj.contains_key(*k))
}

fn is_golden(v: &Value, text: &str) -> bool {
    let Some(obj) = v.as_object() else {
        return false;
    };
    if !(obj.contains_key("inputs") || obj.contains_key("cases")) {
        return false;
    }
    modelci_tensor::golden::parse_json(text, "golden").is_ok_and(|cases| !cases.is_empty())
}

fn json_lines(text: &str) -> Option<Kind> {
    let mut values = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.trim().is_empty() && l.len() <= MAX_RECORDING_BYTES)
        .take(SAMPLE_LINES)
    {
        values.push(serde_json::from_str(line).ok()?);
    }
    (!values.is_empty()).then_some(Kind::Documents {
        values,
        lines: true,
    })
}

fn onnx(entry: &FileEntry) -> Result<Kind, String> {
    let mut head = Vec::new();
    std::fs::File::open(&entry.path)
        .and_then(|f| f.take(64).read_to_end(&mut head))
        .map_err(|e| format!("{}: cannot read it: {}", entry.rel, reason(&e)))?;
    Ok(Kind::Onnx {
        lfs_pointer: head.starts_with(b"version https://git-lfs"),
    })
}

/// Names that say "the true label".
const LABEL_NAMES: &[&str] = &[
    "label",
    "labels",
    "target",
    "y",
    "y_true",
    "class",
    "outcome",
    "ground_truth",
    "truth",
    "gold",
];

/// The label column: by name first, else a guess (an integer column with 2 to 20 values, the
/// last such one). `(name, guessed)`.
pub fn label_column(d: &Dataset) -> Option<(String, bool)> {
    if let Some(c) = d.columns.iter().find(|c| {
        let n = c.name.to_ascii_lowercase();
        LABEL_NAMES.contains(&n.as_str()) || n.ends_with("_label") || n.ends_with("_target")
    }) {
        return Some((c.name.clone(), false));
    }
    d.columns
        .iter()
        .rev()
        .find(|c| c.distinct_ints.is_some_and(|n| (2..=20).contains(&n)))
        .map(|c| (c.name.clone(), true))
}

/// Columns whose names suggest a sensitive attribute or a grouping for fairness.
pub fn sensitive_columns(d: &Dataset) -> Vec<String> {
    const NAMES: &[&str] = &[
        "sex",
        "gender",
        "race",
        "ethnicity",
        "age_group",
        "age_band",
        "region",
        "country",
        "site",
        "group",
        "segment",
    ];
    d.columns
        .iter()
        .filter(|c| NAMES.contains(&c.name.to_ascii_lowercase().as_str()))
        .map(|c| c.name.clone())
        .collect()
}

fn dataset(entry: &FileEntry, limits: &Limits) -> Result<Option<Kind>, String> {
    if entry.size > limits.max_dataset_bytes {
        return Err(format!(
            "{}: a dataset over {} MiB, not inspected (add a `[[suite.gate]]` for it by hand)",
            entry.rel,
            limits.max_dataset_bytes / (1024 * 1024)
        ));
    }
    let table = match modelci_dataset::read(&entry.path) {
        Ok(t) => t,
        // Not every CSV is a dataset; one that cannot be read as a table is simply not one.
        Err(_) => return Ok(None),
    };
    let columns = table
        .columns
        .iter()
        .map(|c| {
            use modelci_dataset::ColumnData;
            let distinct_ints = match &c.data {
                ColumnData::Int(values) => {
                    let mut seen = std::collections::BTreeSet::new();
                    for v in values.iter().flatten() {
                        seen.insert(*v);
                        if seen.len() >= 1000 {
                            break;
                        }
                    }
                    Some(seen.len())
                }
                _ => None,
            };
            ColumnInfo {
                name: c.name.clone(),
                numeric: matches!(
                    c.data,
                    ColumnData::Float(_) | ColumnData::Int(_) | ColumnData::Bool(_)
                ),
                distinct_ints,
            }
        })
        .collect();
    Ok(Some(Kind::Dataset(Dataset { columns })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(dir: &std::path::Path, name: &str, body: &[u8]) -> FileEntry {
        let path = dir.join(name);
        std::fs::write(&path, body).unwrap();
        FileEntry {
            rel: name.to_owned(),
            size: body.len() as u64,
            path,
        }
    }

    fn kind(name: &str, body: &str) -> Result<Option<Kind>, String> {
        let dir = tempfile::tempdir().unwrap();
        classify(
            &entry(dir.path(), name, body.as_bytes()),
            &Limits::default(),
        )
    }

    #[test]
    fn openapi_in_yaml_and_json() {
        let yaml = "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\n";
        assert!(matches!(kind("api.yaml", yaml), Ok(Some(Kind::OpenApi))));
        let json = r#"{"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {}}"#;
        assert!(matches!(kind("api.json", json), Ok(Some(Kind::OpenApi))));
        // A YAML file that is not OpenAPI is not parsed at all.
        assert!(matches!(kind("ci.yml", "jobs: [unclosed\n"), Ok(None)));
    }

    #[test]
    fn malformed_or_unsupported_openapi_is_a_warning() {
        let e = kind("api.yaml", "openapi: 3.0.0\npaths:\n  /x: [unclosed\n").unwrap_err();
        assert!(
            e.starts_with("api.yaml: looks like an OpenAPI document but is not valid YAML"),
            "{e}"
        );
        let e = kind("api.yaml", "swagger: '2.0'\npaths: {}\n").unwrap_err();
        assert!(e.contains("Swagger 2.0"), "{e}");
        let e = kind("api.json", "{\"openapi\": \"3.0.0\", ").unwrap_err();
        assert!(e.contains("not valid JSON"), "{e}");
    }

    #[test]
    fn pacts_schemas_golden_and_documents() {
        let pact =
            r#"{"consumer": {"name": "web"}, "provider": {"name": "svc"}, "interactions": []}"#;
        assert!(
            matches!(kind("p.json", pact), Ok(Some(Kind::Pact { provider })) if provider == "svc")
        );
        let messages =
            r#"{"consumer": {"name": "web"}, "provider": {"name": "q"}, "messages": []}"#;
        assert!(matches!(
            kind("m.json", messages),
            Ok(Some(Kind::Pact { .. }))
        ));
        let schema =
            r#"{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object"}"#;
        assert!(matches!(
            kind("s.json", schema),
            Ok(Some(Kind::JsonSchema(_)))
        ));
        assert!(matches!(
            kind("x.schema.json", r#"{"type": "object", "required": ["a"]}"#),
            Ok(Some(Kind::JsonSchema(_)))
        ));
        let golden = r#"{"inputs": {"x": {"dtype": "float32", "shape": [1], "data": [1.0]}}}"#;
        assert!(matches!(kind("g.json", golden), Ok(Some(Kind::GoldenJson))));
        // `inputs` that are not tensors: a recorded document, not golden cases.
        assert!(matches!(
            kind("r.json", r#"{"inputs": [{"name": "x"}]}"#),
            Ok(Some(Kind::Documents { lines: false, .. }))
        ));
        assert!(matches!(kind("package.json", "{}"), Ok(None)));
        assert!(matches!(kind("broken.json", "{oops"), Ok(None)));
        assert!(matches!(
            kind("log.jsonl", "{\"a\": 1}\n\n{\"a\": 2}\n"),
            Ok(Some(Kind::Documents { values, lines: true })) if values.len() == 2
        ));
        assert!(matches!(
            kind("log.jsonl", "{\"a\": 1}\nnot json\n"),
            Ok(None)
        ));
    }

    #[test]
    fn long_json_lines_files_are_sampled_from_their_head() {
        let line = format!("{{\"pad\": \"{}\"}}\n", "x".repeat(1000));
        let body = line.repeat(3 * 1024);
        assert!(body.len() as u64 > JSON_LINES_HEAD);
        let dir = tempfile::tempdir().unwrap();
        let e = entry(dir.path(), "big.jsonl", body.as_bytes());
        assert_eq!(read_size(&e), JSON_LINES_HEAD);
        assert!(matches!(
            classify(&e, &Limits::default()),
            Ok(Some(Kind::Documents { values, lines: true })) if values.len() == SAMPLE_LINES
        ));
    }

    #[test]
    fn models_thresholds_containers() {
        assert!(matches!(
            kind("m.onnx", "version https://git-lfs.github.com/spec/v1\n"),
            Ok(Some(Kind::Onnx { lfs_pointer: true }))
        ));
        assert!(matches!(
            kind("m.onnx", "\x08\x07"),
            Ok(Some(Kind::Onnx { lfs_pointer: false }))
        ));
        assert!(matches!(
            kind("thresholds.toml", "[a]"),
            Ok(Some(Kind::Thresholds))
        ));
        assert!(matches!(kind("pyproject.toml", "[a]"), Ok(None)));
        assert!(matches!(
            kind("Dockerfile", "FROM x"),
            Ok(Some(Kind::Container(Container::Dockerfile)))
        ));
        assert!(matches!(
            kind("compose.yaml", "services: {}"),
            Ok(Some(Kind::Container(Container::Compose)))
        ));
    }

    #[test]
    fn non_utf8_and_oversized_files_are_warnings() {
        let e = kind("a.json", "\u{0}").map(|_| ());
        assert!(e.is_ok());
        let dir = tempfile::tempdir().unwrap();
        let e = classify(
            &entry(dir.path(), "b.yaml", b"openapi: \xff\xfe"),
            &Limits::default(),
        )
        .unwrap_err();
        assert_eq!(e, "b.yaml: not UTF-8 text; left out");
        let gone = FileEntry {
            rel: "gone.json".into(),
            path: dir.path().join("gone.json"),
            size: 2,
        };
        let e = classify(&gone, &Limits::default()).unwrap_err();
        assert_eq!(e, "gone.json: cannot read it: no such file or directory");
        let limits = Limits {
            max_read_bytes: 4,
            ..Limits::default()
        };
        let e = classify(&entry(dir.path(), "c.json", b"{\"a\": 1}"), &limits).unwrap_err();
        assert!(e.contains("not inspected"), "{e}");
    }

    #[test]
    fn datasets_and_their_label_column() {
        let d = |body: &str| match kind("eval.csv", body) {
            Ok(Some(Kind::Dataset(d))) => d,
            other => panic!("{other:?}"),
        };
        let named = d("f1,f2,Label\n1.5,2,0\n2.5,3,1\n");
        assert_eq!(label_column(&named), Some(("Label".into(), false)));
        let guessed = d("sepal,species,site\n1.5,0,a\n2.5,1,b\n3.5,2,a\n");
        assert_eq!(label_column(&guessed), Some(("species".into(), true)));
        assert_eq!(sensitive_columns(&guessed), vec!["site".to_owned()]);
        let none = d("a,b\n1.5,x\n2.5,y\n");
        assert_eq!(label_column(&none), None);
        // A CSV that is not a table is not a dataset, and not an error either.
        assert!(matches!(kind("empty.csv", ""), Ok(None)));
    }
}
