//! Turning a schema inside a contract into a standalone JSON Schema 2020-12 document:
//! every local `$ref` (`#/components/schemas/Pet`, `#/$defs/x`, any JSON pointer) is copied into
//! `$defs` and the reference rewritten, so recursive schemas stay references (and terminate);
//! OpenAPI 3.0's dialect is translated (`nullable`, boolean `exclusiveMinimum`/`exclusiveMaximum`,
//! OpenAPI-only keywords dropped).

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::load::Document;

/// A `$ref` that cannot be followed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    #[error("unresolvable $ref `{0}`: no such location in the document")]
    Missing(String),
    #[error("remote $ref `{0}` was not fetched (pass --allow-remote-refs to fetch it)")]
    Remote(String),
    #[error("$ref `{0}` points into another document that was not loaded")]
    External(String),
}

/// Builds the standalone schema for `schema`, a schema object taken from `doc`.
///
/// # Errors
/// A [`RefError`] for a reference that cannot be followed.
pub fn standalone(doc: &Document, schema: &Value) -> Result<Value, RefError> {
    standalone_counted(doc, schema, &mut 0)
}

/// [`standalone`], adding to `nodes` the number of schema objects it rewrote (the work it did,
/// for tests that check how that grows with a document).
///
/// # Errors
/// A [`RefError`] for a reference that cannot be followed.
pub fn standalone_counted(
    doc: &Document,
    schema: &Value,
    nodes: &mut u64,
) -> Result<Value, RefError> {
    let mut queue: Vec<Target> = Vec::new();
    let mut main = rewrite(doc, &doc.base, schema, &mut queue, nodes)?;
    let mut defs = Map::new();
    let mut done: BTreeSet<String> = BTreeSet::new();
    while let Some(target) = queue.pop() {
        let name = def_name(doc, &target);
        if !done.insert(name.clone()) {
            continue;
        }
        let value = lookup(doc, &target)?;
        let rewritten = rewrite(doc, &target.document, value, &mut queue, nodes)?;
        defs.insert(name, rewritten);
    }
    if !defs.is_empty() {
        main = match main {
            Value::Object(mut o) => {
                let existing = o.remove("$defs");
                let mut all = match existing {
                    Some(Value::Object(m)) => m,
                    _ => Map::new(),
                };
                all.extend(defs);
                o.insert("$defs".into(), Value::Object(all));
                Value::Object(o)
            }
            Value::Bool(true) => json!({"$defs": defs}),
            Value::Bool(false) => json!({"not": {}, "$defs": defs}),
            other => other,
        };
    }
    Ok(main)
}

/// A referenced schema: a document (its location; the main document's own `base` for local
/// references) and a JSON pointer in it.
struct Target {
    document: String,
    pointer: String,
}

fn def_name(doc: &Document, t: &Target) -> String {
    // The key under `$defs`: the pointer itself (a JSON pointer escapes it when referenced),
    // prefixed with the document's position for other documents.
    if t.document == doc.base {
        format!("modelci{}", t.pointer)
    } else {
        let n = doc
            .externals
            .keys()
            .position(|k| *k == t.document)
            .unwrap_or(usize::MAX);
        format!("modelci@{n}{}", t.pointer)
    }
}

fn ref_to_def(doc: &Document, t: &Target) -> String {
    let key = def_name(doc, t).replace('~', "~0").replace('/', "~1");
    // A URI fragment: what it may not hold as is (`{id}` of a path, spaces, `%`...) is
    // percent-encoded.
    let mut out = String::from("#/$defs/");
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn lookup<'a>(doc: &'a Document, t: &Target) -> Result<&'a Value, RefError> {
    let missing = || {
        RefError::Missing(if t.document == doc.base {
            format!("#{}", t.pointer)
        } else {
            format!("{}#{}", t.document, t.pointer)
        })
    };
    if t.document == doc.base
        && let Some(rest) = t.pointer.strip_prefix("/paths/")
    {
        // Into a path item, which the document keeps as text ([`crate::paths`]).
        let (token, inner) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let path = token.replace("~1", "/").replace("~0", "~");
        let item = doc
            .paths
            .kept(&path)
            .ok_or_else(missing)?
            .map_err(|_| missing())?;
        return item.pointer(inner).ok_or_else(missing);
    }
    let root = if t.document == doc.base {
        &doc.root
    } else {
        doc.externals
            .get(&t.document)
            .ok_or_else(|| RefError::External(t.document.clone()))?
    };
    root.pointer(&t.pointer).ok_or_else(missing)
}

/// Where a `$ref` found in the document at `base` points.
fn target_of(doc: &Document, base: &str, reference: &str) -> Result<Target, RefError> {
    let (location, fragment) = match reference.split_once('#') {
        Some((l, f)) => (l, format!("#{f}")),
        None => (reference, "#".to_owned()),
    };
    let pointer = fragment_pointer(&fragment).unwrap_or_default();
    if location.is_empty() {
        return Ok(Target {
            document: base.to_owned(),
            pointer,
        });
    }
    let document = crate::load::join(base, location);
    if document == doc.base || doc.externals.contains_key(&document) {
        return Ok(Target { document, pointer });
    }
    if location.starts_with("http://") || location.starts_with("https://") {
        Err(RefError::Remote(reference.to_owned()))
    } else {
        Err(RefError::External(reference.to_owned()))
    }
}

/// Decodes the fragment of a local reference into a JSON pointer (`#/a/b%20c` -> `/a/b c`).
fn fragment_pointer(reference: &str) -> Option<String> {
    let frag = reference.strip_prefix('#')?;
    let mut out = Vec::new();
    let bytes = frag.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(h) = frag.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(h, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).ok()
}

const SCHEMA_MAPS: &[&str] = &[
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
];
const SCHEMA_ONE: &[&str] = &[
    "additionalProperties",
    "not",
    "contains",
    "propertyNames",
    "if",
    "then",
    "else",
    "unevaluatedProperties",
    "unevaluatedItems",
    "additionalItems",
    "items",
];
const SCHEMA_LISTS: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems", "items"];
/// OpenAPI 3.0 keywords that are not JSON Schema.
const OPENAPI_ONLY: &[&str] = &[
    "nullable",
    "discriminator",
    "xml",
    "externalDocs",
    "example",
];

fn rewrite(
    doc: &Document,
    base: &str,
    schema: &Value,
    queue: &mut Vec<Target>,
    nodes: &mut u64,
) -> Result<Value, RefError> {
    let openapi_30 = doc.openapi_30();
    let Value::Object(obj) = schema else {
        return Ok(schema.clone());
    };
    *nodes += 1;
    let mut out = Map::new();
    for (key, value) in obj {
        if key == "$ref" {
            let Some(r) = value.as_str() else {
                out.insert(key.clone(), value.clone());
                continue;
            };
            let target = target_of(doc, base, r)?;
            out.insert("$ref".into(), Value::String(ref_to_def(doc, &target)));
            queue.push(target);
            continue;
        }
        if openapi_30 && OPENAPI_ONLY.contains(&key.as_str()) {
            continue;
        }
        let rewritten = if SCHEMA_MAPS.contains(&key.as_str()) && value.is_object() {
            let mut m = Map::new();
            for (k, v) in value.as_object().into_iter().flatten() {
                m.insert(k.clone(), rewrite(doc, base, v, queue, nodes)?);
            }
            Value::Object(m)
        } else if SCHEMA_LISTS.contains(&key.as_str()) && value.is_array() {
            Value::Array(
                value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|v| rewrite(doc, base, v, queue, nodes))
                    .collect::<Result<_, _>>()?,
            )
        } else if SCHEMA_ONE.contains(&key.as_str()) && value.is_object() {
            rewrite(doc, base, value, queue, nodes)?
        } else {
            value.clone()
        };
        out.insert(key.clone(), rewritten);
    }
    if openapi_30 {
        // Draft-4 style exclusive bounds: `exclusiveMinimum: true` qualifies `minimum`.
        for (flag, bound) in [
            ("exclusiveMinimum", "minimum"),
            ("exclusiveMaximum", "maximum"),
        ] {
            if let Some(Value::Bool(b)) = out.get(flag).cloned() {
                out.remove(flag);
                if b && let Some(v) = out.remove(bound) {
                    out.insert(flag.into(), v);
                }
            }
        }
        // In OpenAPI 3.0, `items` is a schema and array tuples do not exist.
        if obj.get("nullable") == Some(&Value::Bool(true)) {
            return Ok(nullable(out));
        }
    }
    Ok(Value::Object(out))
}

/// OpenAPI 3.0 `nullable: true`: the schema also accepts `null`.
fn nullable(mut schema: Map<String, Value>) -> Value {
    match schema.get_mut("type") {
        Some(Value::String(t)) => {
            let t = t.clone();
            schema.insert("type".into(), json!([t, "null"]));
            if let Some(Value::Array(e)) = schema.get_mut("enum")
                && !e.contains(&Value::Null)
            {
                e.push(Value::Null);
            }
            Value::Object(schema)
        }
        Some(Value::Array(types)) => {
            if !types.contains(&json!("null")) {
                types.push(json!("null"));
            }
            Value::Object(schema)
        }
        _ => json!({"anyOf": [Value::Object(schema), {"type": "null"}]}),
    }
}

/// Resolves an OpenAPI object that may be a `$ref` (parameters, request bodies, responses,
/// headers), following chains of references.
///
/// # Errors
/// A [`RefError`] for a reference that cannot be followed, or a cycle.
pub fn deref<'a>(
    doc: &'a Document,
    value: &'a Value,
) -> Result<(&'a Value, Option<String>), RefError> {
    let mut current = value;
    let mut pointer = None;
    for _ in 0..32 {
        let Some(r) = current.get("$ref").and_then(Value::as_str) else {
            return Ok((current, pointer));
        };
        let target = target_of(doc, &doc.base, r)?;
        current = lookup(doc, &target)?;
        pointer = (target.document == doc.base).then_some(target.pointer);
    }
    Err(RefError::Missing(format!(
        "{} (a cycle of references)",
        value
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::parse;

    fn doc30() -> Document {
        parse(
            r##"{
              "openapi": "3.0.3",
              "paths": {},
              "components": {"schemas": {
                "Node": {"type": "object", "properties": {"value": {"type": "integer"}, "next": {"$ref": "#/components/schemas/Node"}}, "nullable": true},
                "Score": {"type": "number", "minimum": 0, "exclusiveMinimum": true, "maximum": 1}
              }}
            }"##,
            "doc.json",
        )
        .expect("doc")
    }

    #[test]
    fn recursive_refs_terminate_and_validate() {
        let d = doc30();
        let s = standalone(&d, &json!({"$ref": "#/components/schemas/Node"})).expect("schema");
        let v = jsonschema::validator_for(&s).expect("compiles");
        assert!(v.is_valid(&json!({"value": 1, "next": {"value": 2, "next": null}})));
        assert!(!v.is_valid(&json!({"value": 1, "next": {"value": "x"}})));
        assert!(v.is_valid(&json!(null)));
    }

    #[test]
    fn openapi_30_bounds_are_translated() {
        let d = doc30();
        let s = standalone(&d, &json!({"$ref": "#/components/schemas/Score"})).expect("schema");
        let v = jsonschema::validator_for(&s).expect("compiles");
        assert!(!v.is_valid(&json!(0)));
        assert!(v.is_valid(&json!(0.5)));
        assert!(!v.is_valid(&json!(1.5)));
    }

    #[test]
    fn unresolvable_and_remote_refs_are_errors() {
        let d = doc30();
        assert_eq!(
            standalone(&d, &json!({"$ref": "#/components/schemas/Nope"})),
            Err(RefError::Missing("#/components/schemas/Nope".into()))
        );
        assert!(matches!(
            standalone(&d, &json!({"$ref": "https://example.com/s.json"})),
            Err(RefError::Remote(_))
        ));
    }

    #[test]
    fn refs_into_path_items_are_followed() {
        // Generators write these: a response or schema `$ref`'d from another operation.
        let d = parse(
            r##"{"openapi": "3.1.0", "paths": {
              "/a~b/{id}": {"get": {"responses": {"200": {"description": "ok",
                "content": {"application/json": {"schema": {"type": "integer", "minimum": 1}}}}}}},
              "/c": {"get": {"responses": {"200": {"$ref": "#/paths/~1a~0b~1%7Bid%7D/get/responses/200"}}}}
            }}"##,
            "doc.json",
        )
        .expect("doc");
        let s = standalone(
            &d,
            &json!({"$ref": "#/paths/~1a~0b~1%7Bid%7D/get/responses/200/content/application~1json/schema"}),
        )
        .expect("schema");
        let v = jsonschema::validator_for(&s).expect("compiles");
        assert!(v.is_valid(&json!(2)));
        assert!(!v.is_valid(&json!(0)));
        let ops = crate::ops::operations(&d).expect("operations");
        assert_eq!(ops[1].responses[0].content.len(), 1, "{ops:?}");
        assert_eq!(
            standalone(&d, &json!({"$ref": "#/paths/~1nope/get"})),
            Err(RefError::Missing("#/paths/~1nope/get".into()))
        );
    }
}
