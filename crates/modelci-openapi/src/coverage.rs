//! Coverage-guided generation: schemas that force one choice of a schema at a time, so that
//! every `enum` value, every `oneOf`/`anyOf` branch and every boundary (a number on its
//! `minimum` or `maximum`, a string of its `minLength` or `maxLength`, an array of its
//! `minItems` or `maxItems`) is sent at least once, however few random requests there are.
//!
//! [`variants`] walks a schema (properties, array items, `$ref`s and `allOf` followed, a few
//! levels deep) and, for each place with an `enum` (or a `oneOf`/`anyOf`), gives one copy of the
//! schema per value (per branch) in which that place is pinned with `const` (reduced to the one
//! branch) and made required on the way there. A value generated from a copy is valid for the
//! original whenever the original allows that choice; callers check it (a `oneOf` branch whose
//! values also match another branch is not reachable alone).

use serde_json::{Map, Value, json};

use crate::generate::{merge_all, resolve};

/// How deep the walk goes.
const MAX_DEPTH: usize = 4;

/// One step from a schema to a part of it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Property(String),
    Items,
}

/// What is pinned.
#[derive(Debug, Clone)]
enum Choice {
    Value(Value),
    Branch {
        key: &'static str,
        index: usize,
    },
    /// Keywords set (a boundary), with what they mean.
    Bound(Map<String, Value>, String),
}

/// The boundaries of a schema: each with the keywords that pin it and a description.
fn bounds(obj: &Map<String, Value>) -> Vec<Choice> {
    let mut out = Vec::new();
    let types: Vec<&str> = match obj.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let integer = types.contains(&"integer");
    let mut pin = |pairs: &[(&str, Value)], what: String| {
        let map: Map<String, Value> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        out.push(Choice::Bound(map, what));
    };
    if integer || types.contains(&"number") {
        for (key, shift) in [
            ("minimum", 0.0),
            ("maximum", 0.0),
            ("exclusiveMinimum", 1.0),
            ("exclusiveMaximum", -1.0),
        ] {
            let Some(b) = obj.get(key).and_then(Value::as_f64) else {
                continue;
            };
            if shift != 0.0 && !integer {
                continue;
            }
            let v = b + shift;
            let value = if shift == 0.0 {
                obj.get(key).cloned().unwrap_or(json!(v))
            } else if integer && v.fract() == 0.0 && v.abs() < 9.0e15 {
                #[expect(clippy::cast_possible_truncation, reason = "whole and small")]
                let i = v as i64;
                json!(i)
            } else {
                json!(v)
            };
            pin(&[("const", value.clone())], format!("= {value} ({key})"));
        }
    }
    for (min_key, max_key, unit) in [
        ("minLength", "maxLength", "characters"),
        ("minItems", "maxItems", "items"),
    ] {
        for key in [min_key, max_key] {
            let Some(n) = obj.get(key).and_then(Value::as_u64) else {
                continue;
            };
            if n > 10_000 {
                continue;
            }
            pin(
                &[(min_key, json!(n)), (max_key, json!(n))],
                format!("of {n} {unit} ({key})"),
            );
        }
    }
    out
}

fn pointer(path: &[Step]) -> String {
    if path.is_empty() {
        return "the value".to_owned();
    }
    let mut out = String::new();
    for s in path {
        match s {
            Step::Property(p) => {
                out.push('/');
                out.push_str(&p.replace('~', "~0").replace('/', "~1"));
            }
            Step::Items => out.push_str("/0"),
        }
    }
    format!("`{out}`")
}

/// The schema at `schema` with `allOf` merged and `$ref` followed.
fn flat(schema: &Value, root: &Value) -> Value {
    let s = resolve(schema, root);
    match &s {
        Value::Object(o) => match o.get("allOf") {
            Some(Value::Array(all)) => merge_all(o, all, root),
            _ => s,
        },
        _ => s,
    }
}

fn collect(
    schema: &Value,
    root: &Value,
    path: &mut Vec<Step>,
    out: &mut Vec<(Vec<Step>, Vec<Choice>)>,
) {
    if path.len() > MAX_DEPTH {
        return;
    }
    let s = flat(schema, root);
    let Value::Object(obj) = &s else {
        return;
    };
    if let Some(Value::Array(values)) = obj.get("enum")
        && values.len() > 1
    {
        out.push((
            path.clone(),
            values.iter().cloned().map(Choice::Value).collect(),
        ));
    }
    let b = bounds(obj);
    if !b.is_empty() {
        out.push((path.clone(), b));
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(Value::Array(branches)) = obj.get(key)
            && branches.len() > 1
        {
            out.push((
                path.clone(),
                (0..branches.len())
                    .map(|index| Choice::Branch { key, index })
                    .collect(),
            ));
        }
    }
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        for (name, sub) in props {
            path.push(Step::Property(name.clone()));
            collect(sub, root, path, out);
            path.pop();
        }
    }
    if let Some(items) = obj.get("items").filter(|i| i.is_object()) {
        path.push(Step::Items);
        collect(items, root, path, out);
        path.pop();
    }
}

/// `schema` (a part of `root`) with `choice` pinned at `path`.
fn pin(schema: &Value, root: &Value, path: &[Step], choice: &Choice) -> Value {
    let mut s = flat(schema, root);
    let Value::Object(obj) = &mut s else {
        return s;
    };
    match path.split_first() {
        None => match choice {
            Choice::Value(v) => {
                obj.insert("const".to_owned(), v.clone());
            }
            Choice::Branch { key, index } => {
                if let Some(Value::Array(branches)) = obj.get(*key).cloned()
                    && let Some(b) = branches.get(*index)
                {
                    obj.insert((*key).to_owned(), Value::Array(vec![b.clone()]));
                }
            }
            Choice::Bound(keywords, _) => {
                for (k, v) in keywords {
                    obj.insert(k.clone(), v.clone());
                }
            }
        },
        Some((Step::Property(name), rest)) => {
            let sub = obj
                .get("properties")
                .and_then(|p| p.get(name))
                .cloned()
                .unwrap_or(Value::Bool(true));
            let pinned = pin(&sub, root, rest, choice);
            let props = obj
                .entry("properties")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(p) = props {
                p.insert(name.clone(), pinned);
            }
            let required = obj.entry("required").or_insert_with(|| json!([]));
            if let Value::Array(r) = required
                && !r.iter().any(|x| x == name)
            {
                r.push(Value::String(name.clone()));
            }
        }
        Some((Step::Items, rest)) => {
            let sub = obj.get("items").cloned().unwrap_or(Value::Bool(true));
            obj.insert("items".to_owned(), pin(&sub, root, rest, choice));
            let min = obj.get("minItems").and_then(Value::as_u64).unwrap_or(0);
            if min == 0 {
                obj.insert("minItems".to_owned(), json!(1));
            }
        }
    }
    // Keep the root's definitions for the `$ref`s left inside.
    if path.is_empty() || std::ptr::eq(schema, root) {
        for key in ["$defs", "definitions"] {
            if let Some(d) = root.get(key) {
                obj.entry(key).or_insert_with(|| d.clone());
            }
        }
    }
    s
}

/// One schema per `enum` value and per `oneOf`/`anyOf` branch of `schema` (standalone), at most
/// `limit`, each with what it pins (`` `/kind` = "c" ``, `` `/shape` oneOf branch 2 of 3 ``).
pub fn variants(schema: &Value, limit: usize) -> Vec<(String, Value)> {
    let mut places = Vec::new();
    collect(schema, schema, &mut Vec::new(), &mut places);
    let mut out = Vec::new();
    for (path, choices) in places {
        let n = choices.len();
        for choice in &choices {
            if out.len() >= limit {
                return out;
            }
            let what = match choice {
                Choice::Value(v) => format!("{} = {v}", pointer(&path)),
                Choice::Branch { key, index } => {
                    format!("{} {key} branch {} of {n}", pointer(&path), index + 1)
                }
                Choice::Bound(_, what) => format!("{} {what}", pointer(&path)),
            };
            let mut pinned = pin(schema, schema, &path, choice);
            for key in ["$defs", "definitions"] {
                if let (Some(d), Value::Object(o)) = (schema.get(key), &mut pinned) {
                    o.entry(key).or_insert_with(|| d.clone());
                }
            }
            out.push((what, pinned));
        }
    }
    out
}

/// The `enum` values (or `oneOf`/`anyOf` branches) of `value`'s places that `value` takes: for
/// counting what generated values reached (`` `/kind` = "c" ``).
pub fn reached(schema: &Value, value: &Value) -> Vec<String> {
    let mut places = Vec::new();
    collect(schema, schema, &mut Vec::new(), &mut places);
    let mut out = Vec::new();
    for (path, choices) in places {
        let mut at = Some(value);
        for step in &path {
            at = match (step, at) {
                (Step::Property(p), Some(v)) => v.get(p),
                (Step::Items, Some(Value::Array(items))) => items.first(),
                _ => None,
            };
        }
        let Some(v) = at else { continue };
        for c in &choices {
            if let Choice::Value(e) = c
                && e == v
            {
                out.push(format!("{} = {e}", pointer(&path)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::Generator;

    #[test]
    fn every_enum_value_and_branch_gets_a_schema_whose_values_take_it() {
        let s = json!({
            "type": "object",
            "properties": {
                "kind": {"enum": ["a", "b", "c"]},
                "shape": {"$ref": "#/$defs/shape"},
                "tags": {"type": "array", "items": {"enum": ["x", "y"]}}
            },
            "$defs": {"shape": {"oneOf": [
                {"type": "object", "required": ["r"], "properties": {"r": {"type": "number"}}, "additionalProperties": false},
                {"type": "object", "required": ["w"], "properties": {"w": {"type": "number"}}, "additionalProperties": false}
            ]}}
        });
        let v = jsonschema::validator_for(&s).expect("schema");
        let got = variants(&s, 100);
        let whats: Vec<&str> = got.iter().map(|(w, _)| w.as_str()).collect();
        assert_eq!(
            whats,
            [
                "`/kind` = \"a\"",
                "`/kind` = \"b\"",
                "`/kind` = \"c\"",
                "`/shape` oneOf branch 1 of 2",
                "`/shape` oneOf branch 2 of 2",
                "`/tags/0` = \"x\"",
                "`/tags/0` = \"y\"",
            ]
        );
        for (what, schema) in &got {
            let value = Generator::new(3).valid(schema).expect(what);
            assert!(v.is_valid(&value), "{what}: {value}");
            if let Some(k) = what.strip_prefix("`/kind` = ") {
                assert_eq!(value["kind"].to_string(), k);
                assert!(reached(&s, &value).contains(&(*what).to_owned()));
            }
        }
        let branch2 = Generator::new(3).valid(&got[4].1).expect("branch 2");
        assert!(branch2["shape"].get("w").is_some(), "{branch2}");
    }

    #[test]
    fn boundaries_are_pinned_one_at_a_time() {
        let s = json!({"type": "object", "properties": {
            "price": {"type": "number", "minimum": 0, "maximum": 10000},
            "n": {"type": "integer", "exclusiveMinimum": 0},
            "name": {"type": "string", "minLength": 1, "maxLength": 5},
            "tags": {"type": "array", "maxItems": 3, "items": {"type": "string"}}
        }});
        let v = jsonschema::validator_for(&s).expect("schema");
        let got = variants(&s, 100);
        let whats: Vec<&str> = got.iter().map(|(w, _)| w.as_str()).collect();
        assert_eq!(
            whats,
            [
                "`/price` = 0 (minimum)",
                "`/price` = 10000 (maximum)",
                "`/n` = 1 (exclusiveMinimum)",
                "`/name` of 1 characters (minLength)",
                "`/name` of 5 characters (maxLength)",
                "`/tags` of 3 items (maxItems)",
            ]
        );
        for (what, schema) in &got {
            let value = Generator::new(5).valid(schema).expect(what);
            assert!(v.is_valid(&value), "{what}: {value}");
        }
        let max = Generator::new(5).valid(&got[1].1).expect("max");
        assert_eq!(max["price"], json!(10000));
        let tags = Generator::new(5).valid(&got[5].1).expect("tags");
        assert_eq!(tags["tags"].as_array().map(Vec::len), Some(3));
    }
}
