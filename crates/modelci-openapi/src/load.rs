//! Reading contracts: OpenAPI 3.0 / 3.1 documents and bare JSON Schemas, in YAML or JSON.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::paths::{PathItems, Split, split};

/// What a contract document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// OpenAPI 3.0.x: schemas use OpenAPI's dialect (`nullable`, boolean `exclusiveMinimum`).
    OpenApi30,
    /// OpenAPI 3.1.x: schemas are JSON Schema 2020-12.
    OpenApi31,
    /// A bare JSON Schema (drafts 4, 6, 7, 2019-09, 2020-12).
    JsonSchema,
}

/// A loaded contract.
#[derive(Debug, Clone)]
pub struct Document {
    /// File path (or name) it came from.
    pub source: String,
    pub kind: Kind,
    /// The whole document but its path items: for an OpenAPI document whose `paths` is an
    /// object, `paths` is not here but in [`Document::paths`].
    pub root: Value,
    /// The path items, kept as compact JSON and parsed when asked for (a parsed document takes
    /// about ten times its JSON); empty for JSON Schemas.
    pub paths: PathItems,
    /// Where the document is (`file:///abs/path.yaml`, or a URL), against which relative `$ref`s
    /// to other documents resolve; empty for text with no location.
    pub base: String,
    /// Other documents that `$ref`s point into, by location (without fragment).
    pub externals: BTreeMap<String, Value>,
}

/// Reads a document fetched over the network (for `$ref`s to `http(s)://` URLs).
pub type Fetcher<'a> = &'a dyn Fn(&str) -> Result<String, String>;

/// The most other documents one contract may pull in through `$ref`s.
const MAX_EXTERNALS: usize = 200;

impl Document {
    /// Whether schemas use the OpenAPI 3.0 dialect.
    pub fn openapi_30(&self) -> bool {
        self.kind == Kind::OpenApi30
    }
}

/// A contract that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct LoadError {
    pub source_name: String,
    pub line: Option<u32>,
    pub message: String,
}

/// Reads a contract file.
///
/// # Errors
/// Unreadable files, invalid YAML/JSON (with the line), documents that are neither OpenAPI 3
/// nor a JSON Schema.
pub fn load(path: &Path, shown: &str) -> Result<Document, LoadError> {
    let bytes = std::fs::read(path).map_err(|e| LoadError {
        source_name: shown.to_owned(),
        line: None,
        message: if e.kind() == std::io::ErrorKind::NotFound {
            "no such file".into()
        } else {
            format!("cannot read it: {e}")
        },
    })?;
    let text = String::from_utf8(bytes).map_err(|_| LoadError {
        source_name: shown.to_owned(),
        line: None,
        message: "not valid UTF-8".into(),
    })?;
    let mut doc = parse(&text, shown)?;
    if let Ok(abs) = std::fs::canonicalize(path) {
        doc.base = format!("file://{}", abs.to_string_lossy());
    }
    Ok(doc)
}

/// Reads a contract and every document its `$ref`s point into: other local files always, and
/// `http(s)://` documents only when `remote` is given (`--allow-remote-refs`).
///
/// # Errors
/// As [`load`], plus referenced documents that cannot be read or parsed, and remote references
/// without `remote`.
pub fn load_with(
    path: &Path,
    shown: &str,
    remote: Option<Fetcher<'_>>,
) -> Result<Document, LoadError> {
    let mut doc = load(path, shown)?;
    resolve_externals(&mut doc, remote)?;
    Ok(doc)
}

/// `target` (a `$ref` without its fragment) resolved against `base`.
pub fn join(base: &str, target: &str) -> String {
    if target.starts_with("http://")
        || target.starts_with("https://")
        || target.starts_with("file://")
    {
        return target.to_owned();
    }
    if let Some(path) = base.strip_prefix("file://") {
        let dir = Path::new(path)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let joined: PathBuf = dir.join(target);
        let normal = std::fs::canonicalize(&joined).unwrap_or(joined);
        return format!("file://{}", normal.to_string_lossy());
    }
    if base.starts_with("http://") || base.starts_with("https://") {
        let dir = match base.rfind('/') {
            Some(i) if i > base.find("://").map_or(0, |j| j + 2) => &base[..=i],
            _ => base,
        };
        return format!("{dir}{}", target.trim_start_matches("./"));
    }
    target.to_owned()
}

fn refs_in(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            for (k, v) in o {
                if k == "$ref"
                    && let Some(r) = v.as_str()
                    && !r.starts_with('#')
                {
                    out.push(r.to_owned());
                } else {
                    refs_in(v, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| refs_in(x, out)),
        _ => {}
    }
}

fn resolve_externals(doc: &mut Document, remote: Option<Fetcher<'_>>) -> Result<(), LoadError> {
    let err = |message: String| LoadError {
        source_name: doc.source.clone(),
        line: None,
        message,
    };
    let mut queue: VecDeque<(String, Vec<String>)> = VecDeque::new();
    let mut found = Vec::new();
    refs_in(&doc.root, &mut found);
    for (_, item) in doc.paths.iter() {
        refs_in(&*item.map_err(err)?, &mut found);
    }
    queue.push_back((doc.base.clone(), found));
    while let Some((base, refs)) = queue.pop_front() {
        for r in refs {
            let location = join(&base, r.split('#').next().unwrap_or(""));
            if location == doc.base || doc.externals.contains_key(&location) {
                continue;
            }
            if doc.externals.len() >= MAX_EXTERNALS {
                return Err(err(format!(
                    "more than {MAX_EXTERNALS} documents referenced through $ref"
                )));
            }
            let text = if let Some(path) = location.strip_prefix("file://") {
                std::fs::read_to_string(path)
                    .map_err(|e| err(format!("$ref `{r}`: cannot read `{path}`: {e}")))?
            } else if location.starts_with("http://") || location.starts_with("https://") {
                match remote {
                    Some(fetch) => fetch(&location).map_err(|e| err(format!("$ref `{r}`: {e}")))?,
                    None => {
                        return Err(err(format!(
                            "remote $ref `{r}` is not fetched without --allow-remote-refs"
                        )));
                    }
                }
            } else {
                return Err(err(format!(
                    "$ref `{r}` points to another document, but this one has no location to resolve it from"
                )));
            };
            let value =
                parse_value(&text, &location).map_err(|e| err(format!("$ref `{r}`: {e}")))?;
            let mut more = Vec::new();
            refs_in(&value, &mut more);
            doc.externals.insert(location.clone(), value);
            queue.push_back((location, more));
        }
    }
    Ok(())
}

/// Parses YAML or JSON text into a value.
fn parse_value(text: &str, source: &str) -> Result<Value, LoadError> {
    let text = text.trim_start_matches('\u{feff}');
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        serde_json::from_str(text).map_err(|e| json_error(&e, source))
    } else {
        serde_yaml_ng::from_str(text).map_err(|e| yaml_error(&e, source))
    }
}

/// Parses YAML or JSON text with the path items split out ([`crate::paths`]).
fn parse_split(text: &str, source: &str) -> Result<Split, LoadError> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        let mut de = serde_json::Deserializer::from_str(text);
        split(&mut de)
            .and_then(|s| de.end().map(|()| s))
            .map_err(|e| json_error(&e, source))
    } else {
        split(serde_yaml_ng::Deserializer::from_str(text)).map_err(|e| yaml_error(&e, source))
    }
}

fn json_error(e: &serde_json::Error, source: &str) -> LoadError {
    LoadError {
        source_name: source.to_owned(),
        line: u32::try_from(e.line()).ok(),
        message: format!("not valid JSON: {}", strip_location(&e.to_string())),
    }
}

fn yaml_error(e: &serde_yaml_ng::Error, source: &str) -> LoadError {
    LoadError {
        source_name: source.to_owned(),
        line: e.location().and_then(|l| u32::try_from(l.line()).ok()),
        message: format!("not valid YAML: {}", strip_location(&e.to_string())),
    }
}

/// Parses contract text (YAML or JSON).
///
/// # Errors
/// As [`load`].
pub fn parse(text: &str, source: &str) -> Result<Document, LoadError> {
    let err = |line: Option<u32>, message: String| LoadError {
        source_name: source.to_owned(),
        line,
        message,
    };
    let text = text.trim_start_matches('\u{feff}');
    let Split { mut root, paths } = parse_split(text, source)?;
    let kind = match root.get("openapi").and_then(Value::as_str) {
        Some(v) if v.starts_with("3.0") => Kind::OpenApi30,
        Some(v) if v.starts_with("3.1") => Kind::OpenApi31,
        Some(v) => {
            return Err(err(
                None,
                format!("OpenAPI version `{v}` is not supported (3.0 and 3.1 are)"),
            ));
        }
        None if root.get("swagger").is_some() => {
            return Err(err(
                None,
                "Swagger 2.0 documents are not supported; convert the document to OpenAPI 3".into(),
            ));
        }
        None if looks_like_schema(&root) => Kind::JsonSchema,
        None => {
            return Err(err(
                None,
                "neither an OpenAPI 3 document (no `openapi` field) nor a JSON Schema".into(),
            ));
        }
    };
    if kind != Kind::JsonSchema && !root.get("paths").is_none_or(Value::is_object) {
        return Err(err(None, "`paths` must be an object".into()));
    }
    let paths = match (kind, paths) {
        // In a JSON Schema, `paths` is just another keyword: back where it was read.
        (Kind::JsonSchema, Some(items)) => {
            if let Value::Object(o) = &mut root {
                o.insert("paths".into(), items.to_value().map_err(|e| err(None, e))?);
            }
            PathItems::default()
        }
        (_, paths) => paths.unwrap_or_default(),
    };
    Ok(Document {
        source: source.to_owned(),
        kind,
        root,
        paths,
        base: String::new(),
        externals: BTreeMap::new(),
    })
}

fn strip_location(s: &str) -> String {
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_owned(),
        None => s.to_owned(),
    }
}

fn looks_like_schema(v: &Value) -> bool {
    match v {
        Value::Bool(_) => true,
        Value::Object(o) => [
            "$schema",
            "type",
            "properties",
            "$ref",
            "allOf",
            "anyOf",
            "oneOf",
            "enum",
            "const",
            "items",
            "$defs",
            "definitions",
            "not",
        ]
        .iter()
        .any(|k| o.contains_key(*k)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_yaml_and_json_openapi_and_schemas() {
        let d = parse(
            "openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths: {}\n",
            "a.yaml",
        )
        .expect("yaml");
        assert_eq!(d.kind, Kind::OpenApi30);
        let d = parse(r#"{"openapi": "3.1.0", "paths": {}}"#, "a.json").expect("json");
        assert_eq!(d.kind, Kind::OpenApi31);
        let d = parse(r#"{"type": "object"}"#, "s.json").expect("schema");
        assert_eq!(d.kind, Kind::JsonSchema);
    }

    #[test]
    fn references_to_other_files_and_urls() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        std::fs::create_dir(d.join("schemas")).expect("mkdir");
        std::fs::write(
            d.join("api.yaml"),
            "openapi: 3.1.0\npaths:\n  /a:\n    get:\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {$ref: 'schemas/pet.yaml#/Pet'}\n",
        )
        .expect("w");
        std::fs::write(
            d.join("schemas/pet.yaml"),
            "Pet:\n  type: object\n  required: [id]\n  properties:\n    id: {type: integer}\n    owner: {$ref: 'https://schemas.example/owner.json'}\n",
        )
        .expect("w");
        let path = d.join("api.yaml");
        let e = load_with(&path, "api.yaml", None).expect_err("remote without the flag");
        assert!(e.message.contains("without --allow-remote-refs"), "{e}");
        let fetch = |url: &str| -> Result<String, String> {
            assert_eq!(url, "https://schemas.example/owner.json");
            Ok(r#"{"type": "string"}"#.into())
        };
        let doc = load_with(&path, "api.yaml", Some(&fetch)).expect("loads");
        assert_eq!(doc.externals.len(), 2);
        let ops = crate::ops::operations(&doc).expect("ops");
        let schema = ops[0].responses[0].content[0]
            .schema
            .clone()
            .expect("schema");
        let s = crate::schema::standalone(&doc, &schema).expect("standalone");
        let v = jsonschema::validator_for(&s).expect("compiles");
        assert!(v.is_valid(&serde_json::json!({"id": 1, "owner": "me"})));
        assert!(!v.is_valid(&serde_json::json!({"id": 1, "owner": 2})));
        assert!(!v.is_valid(&serde_json::json!({"owner": "me"})));
    }

    #[test]
    fn bad_documents_say_why_and_where() {
        let e = parse("openapi: 3.0.0\npaths:\n  /a: [\n", "bad.yaml").expect_err("yaml");
        assert!(e.to_string().starts_with("bad.yaml:"), "{e}");
        assert!(e.message.starts_with("not valid YAML"), "{e}");
        let e = parse("{\n\"openapi\": \n}", "bad.json").expect_err("json");
        assert!(
            e.to_string().starts_with("bad.json:3: not valid JSON"),
            "{e}"
        );
        let e = parse("swagger: '2.0'\n", "s.yaml").expect_err("swagger");
        assert!(e.message.contains("Swagger 2.0"), "{e}");
        let e = parse("name: x\n", "x.yaml").expect_err("neither");
        assert!(
            e.message.starts_with("neither an OpenAPI 3 document"),
            "{e}"
        );
        let e = parse("openapi: 2.5.0\n", "v.yaml").expect_err("version");
        assert!(e.message.contains("`2.5.0` is not supported"), "{e}");
    }
}
