//! Reading contracts: OpenAPI 3.0 / 3.1 documents and bare JSON Schemas, in YAML or JSON.

use std::path::Path;

use serde_json::Value;

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
    /// The whole document.
    pub root: Value,
}

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
    parse(&text, shown)
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
    let trimmed = text.trim_start();
    let root: Value = if trimmed.starts_with('{') || trimmed.starts_with('[') {
        serde_json::from_str(text).map_err(|e| {
            err(
                u32::try_from(e.line()).ok(),
                format!("not valid JSON: {}", strip_location(&e.to_string())),
            )
        })?
    } else {
        serde_yaml_ng::from_str(text).map_err(|e| {
            err(
                e.location().and_then(|l| u32::try_from(l.line()).ok()),
                format!("not valid YAML: {}", strip_location(&e.to_string())),
            )
        })?
    };
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
    Ok(Document {
        source: source.to_owned(),
        kind,
        root,
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
