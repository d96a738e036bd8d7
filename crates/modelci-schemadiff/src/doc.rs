//! Schema documents: locations, `$ref` resolution and up-front checks.

use crate::SchemaError;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

/// Index of the synthetic document (small helper schemas like `{"type":"string"}`).
pub(crate) const SYNTH_DOC: usize = 2;

pub(crate) static SYNTH: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "null": {"type": "null"},
        "boolean": {"type": "boolean"},
        "object": {"type": "object"},
        "array": {"type": "array"},
        "string": {"type": "string"},
        "integer": {"type": "integer"},
        "fraction": {"type": "number", "not": {"type": "integer"}}
    })
});

/// A schema location: which document, the JSON pointer inside it, and the value.
#[derive(Clone, Debug)]
pub(crate) struct Loc<'a> {
    pub doc: usize,
    pub ptr: String,
    pub v: &'a Value,
}

pub(crate) fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

impl<'a> Loc<'a> {
    pub(crate) fn child(&self, key: &str) -> Option<Loc<'a>> {
        let v = self.v.get(key)?;
        Some(Loc {
            doc: self.doc,
            ptr: format!("{}/{}", self.ptr, escape(key)),
            v,
        })
    }
    pub(crate) fn index(&self, i: usize) -> Option<Loc<'a>> {
        let v = self.v.get(i)?;
        Some(Loc {
            doc: self.doc,
            ptr: format!("{}/{}", self.ptr, i),
            v,
        })
    }
    /// `#`-prefixed pointer for messages.
    pub(crate) fn display(&self) -> String {
        format!("#{}", self.ptr)
    }
    pub(crate) fn key(&self) -> (usize, String) {
        (self.doc, self.ptr.clone())
    }
}

/// A synthetic helper schema by name (`"string"`, `"null"`, ...).
pub(crate) fn synth(name: &str) -> Loc<'static> {
    let v: &'static Value = &SYNTH;
    match v.get(name) {
        Some(s) => Loc {
            doc: SYNTH_DOC,
            ptr: format!("/{name}"),
            v: s,
        },
        None => Loc {
            doc: SYNTH_DOC,
            ptr: String::new(),
            v,
        },
    }
}

/// Per-document information.
#[derive(Debug)]
pub(crate) struct DocInfo<'a> {
    pub root: &'a Value,
    pub name: &'static str,
    pub anchors: HashMap<String, String>,
    pub ids: HashMap<String, String>,
    /// Draft 4-7 / OpenAPI 3.0: `$ref` makes its siblings ignored.
    pub legacy_ref: bool,
}

/// `%XX` escapes decoded (a URI fragment); bytes that are not UTF-8 become U+FFFD (the one
/// policy for bad UTF-8 wherever modelci percent-decodes).
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

fn collect(
    v: &Value,
    ptr: &str,
    anchors: &mut HashMap<String, String>,
    ids: &mut HashMap<String, String>,
) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(a)) = m.get("$anchor") {
                anchors.insert(a.clone(), ptr.to_string());
            }
            if let Some(Value::String(a)) = m.get("$dynamicAnchor") {
                anchors.entry(a.clone()).or_insert_with(|| ptr.to_string());
            }
            if let Some(Value::String(id)) = m.get("$id") {
                if let Some(frag) = id.strip_prefix('#') {
                    anchors.insert(frag.to_string(), ptr.to_string());
                } else {
                    ids.insert(id.trim_end_matches('#').to_string(), ptr.to_string());
                }
            }
            for (k, c) in m {
                collect(c, &format!("{ptr}/{}", escape(k)), anchors, ids);
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                collect(c, &format!("{ptr}/{i}"), anchors, ids);
            }
        }
        _ => {}
    }
}

impl<'a> DocInfo<'a> {
    pub(crate) fn new(root: &'a Value, name: &'static str, openapi30: bool) -> Self {
        let mut anchors = HashMap::new();
        let mut ids = HashMap::new();
        collect(root, "", &mut anchors, &mut ids);
        let legacy_ref = openapi30
            || root
                .get("$schema")
                .and_then(Value::as_str)
                .is_some_and(|s| {
                    s.contains("draft-03")
                        || s.contains("draft-04")
                        || s.contains("draft-06")
                        || s.contains("draft-07")
                });
        DocInfo {
            root,
            name,
            anchors,
            ids,
            legacy_ref,
        }
    }

    fn lookup_fragment(&self, frag: &str) -> Option<(String, &'a Value)> {
        let frag = percent_decode(frag);
        if frag.is_empty() || frag.starts_with('/') {
            let v = self.root.pointer(&frag)?;
            Some((frag, v))
        } else {
            let p = self.anchors.get(&frag)?;
            Some((p.clone(), self.root.pointer(p)?))
        }
    }

    /// Resolve a `$ref` string to a pointer and value inside this document.
    pub(crate) fn resolve(&self, r: &str) -> Option<(String, &'a Value)> {
        if let Some(frag) = r.strip_prefix('#') {
            return self.lookup_fragment(frag);
        }
        let (base, frag) = match r.split_once('#') {
            Some((b, f)) => (b, f),
            None => (r, ""),
        };
        let base_ptr = self.ids.get(base)?;
        let base_v = self.root.pointer(base_ptr)?;
        if frag.is_empty() {
            return Some((base_ptr.clone(), base_v));
        }
        if frag.starts_with('/') {
            let f = percent_decode(frag);
            let v = base_v.pointer(&f)?;
            return Some((format!("{base_ptr}{f}"), v));
        }
        self.lookup_fragment(frag)
    }
}

const SINGLE: &[&str] = &[
    "additionalProperties",
    "propertyNames",
    "additionalItems",
    "contains",
    "not",
    "if",
    "then",
    "else",
    "unevaluatedItems",
    "unevaluatedProperties",
    "contentSchema",
];
const LISTS: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems"];
const MAPS: &[&str] = &[
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
];

/// Check every schema reachable from `loc`: all subschemas are objects or
/// booleans and every `$ref` resolves.
pub(crate) fn check_reachable(docs: &[DocInfo<'_>], start: Loc<'_>) -> Result<(), SchemaError> {
    let mut seen: HashSet<(usize, String)> = HashSet::new();
    let mut todo = vec![start];
    while let Some(loc) = todo.pop() {
        if !seen.insert(loc.key()) {
            continue;
        }
        let doc = &docs[loc.doc];
        let m = match loc.v {
            Value::Bool(_) => continue,
            Value::Object(m) => m,
            _ => {
                return Err(SchemaError::NotASchema {
                    document: doc.name,
                    pointer: loc.display(),
                });
            }
        };
        if let Some(r) = m.get("$ref") {
            let Some(rs) = r.as_str() else {
                return Err(SchemaError::UnresolvableRef {
                    document: doc.name,
                    pointer: loc.display(),
                    reference: r.to_string(),
                });
            };
            match doc.resolve(rs) {
                Some((ptr, v)) => todo.push(Loc {
                    doc: loc.doc,
                    ptr,
                    v,
                }),
                None => {
                    return Err(SchemaError::UnresolvableRef {
                        document: doc.name,
                        pointer: loc.display(),
                        reference: rs.to_string(),
                    });
                }
            }
        }
        for k in SINGLE {
            if let Some(c) = loc.child(k) {
                todo.push(c);
            }
        }
        if let Some(items) = loc.child("items") {
            match items.v {
                Value::Array(a) => {
                    for i in 0..a.len() {
                        if let Some(c) = items.index(i) {
                            todo.push(c);
                        }
                    }
                }
                _ => todo.push(items),
            }
        }
        for k in LISTS {
            if let Some(l) = loc.child(k) {
                let Value::Array(a) = l.v else {
                    return Err(SchemaError::NotASchema {
                        document: doc.name,
                        pointer: l.display(),
                    });
                };
                for i in 0..a.len() {
                    if let Some(c) = l.index(i) {
                        todo.push(c);
                    }
                }
            }
        }
        for k in MAPS {
            if let Some(l) = loc.child(k)
                && let Value::Object(mm) = l.v
            {
                for key in mm.keys() {
                    if let Some(c) = l.child(key) {
                        todo.push(c);
                    }
                }
            }
        }
        if let Some(l) = loc.child("dependencies")
            && let Value::Object(mm) = l.v
        {
            for (key, val) in mm {
                if !val.is_array()
                    && let Some(c) = l.child(key)
                {
                    todo.push(c);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn fragments_are_percent_decoded_and_bad_utf8_is_replaced() {
        assert_eq!(percent_decode("/$defs/a%20b"), "/$defs/a b");
        assert_eq!(percent_decode("caf%C3%A9"), "café");
        // Not an escape: left as it is.
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        // Not UTF-8 once decoded: U+FFFD, not the undecoded text.
        assert_eq!(percent_decode("a%FFb"), "a\u{FFFD}b");
    }
}
