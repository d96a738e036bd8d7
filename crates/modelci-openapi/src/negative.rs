//! Invalid values for negative testing: each constraint of a schema broken at its boundary, one
//! at a time, every result checked to be invalid.
//!
//! - [`body_mutations`]: a valid JSON value (a request body) with one place changed: a number
//!   just outside `minimum`/`maximum` (or on an exclusive bound), a string one shorter than
//!   `minLength` or one longer than `maxLength`, one that breaks its `pattern`, `format` or
//!   `enum`, an array one over `maxItems` or under `minItems` or with a duplicate under
//!   `uniqueItems`, an object without a required property or with an extra one under
//!   `additionalProperties: false`, a value of another type, `null`. Nested objects and the
//!   first item of arrays are visited too.
//! - [`parameter_mutations`]: the text of a path, query or header parameter that its schema
//!   rejects once read as the service reads it (`12` is an integer, `true` a boolean):
//!   another type, `null`, out of range, too short or long, not in the enum.
//!
//! A mutation that the schema still accepts (a `minimum` below a `multipleOf`'s reach, an
//! `anyOf` that allows both) is dropped, so every one returned must be rejected by a service
//! that validates its input.

use serde_json::{Map, Value, json};

use crate::generate::{merge_all, resolve};

/// How deep nested values are visited.
const MAX_DEPTH: usize = 6;

/// `schema` (standalone) with every object in it (its properties and array items, a few levels
/// down, `$ref`s inlined) requiring all its properties: a value generated from it has every
/// property, so that [`body_mutations`] can break each one's constraints. Values valid for it
/// are valid for `schema`.
pub fn every_property(schema: &Value) -> Value {
    let mut out = require_all(schema, schema, 0);
    if let (Value::Object(o), Value::Object(root)) = (&mut out, schema) {
        for key in ["$defs", "definitions"] {
            if let Some(d) = root.get(key) {
                o.entry(key).or_insert_with(|| d.clone());
            }
        }
    }
    out
}

fn require_all(schema: &Value, root: &Value, depth: usize) -> Value {
    let mut s = resolve(schema, root);
    if let Value::Object(o) = &s
        && let Some(Value::Array(all)) = o.get("allOf")
    {
        s = merge_all(o, all, root);
    }
    if depth > 4 {
        return s;
    }
    let Value::Object(obj) = &mut s else {
        return s;
    };
    if let Some(Value::Object(props)) = obj.get("properties").cloned() {
        let names: Vec<Value> = props.keys().cloned().map(Value::String).collect();
        let inlined: Map<String, Value> = props
            .iter()
            .map(|(k, v)| (k.clone(), require_all(v, root, depth + 1)))
            .collect();
        obj.insert("properties".to_owned(), Value::Object(inlined));
        obj.insert("required".to_owned(), Value::Array(names));
    }
    if let Some(items) = obj.get("items").filter(|i| i.is_object()).cloned() {
        obj.insert("items".to_owned(), require_all(&items, root, depth + 1));
        if obj.get("minItems").and_then(Value::as_u64).unwrap_or(0) == 0 {
            obj.insert("minItems".to_owned(), json!(1));
        }
    }
    s
}

/// Invalid variants of the valid `value` of `schema` (a standalone schema), at most `limit`,
/// each with a description naming where and what (`` `/tags`: 4 items, over `maxItems` 3 ``).
pub fn body_mutations(schema: &Value, value: &Value, limit: usize) -> Vec<(String, Value)> {
    let Ok(validator) = jsonschema::validator_for(schema) else {
        return Vec::new();
    };
    let mut candidates = Vec::new();
    walk(schema, schema, value, "", 0, &mut candidates);
    let mut out: Vec<(String, Value)> = Vec::new();
    for (pointer, why, replacement) in candidates {
        if out.len() >= limit {
            break;
        }
        let mut whole = value.clone();
        let slot = if pointer.is_empty() {
            Some(&mut whole)
        } else {
            whole.pointer_mut(&pointer)
        };
        match (slot, replacement) {
            (Some(s), Some(r)) => *s = r,
            // A property removed (the pointer names its parent object).
            (_, None) => {
                let Some((parent, name)) = pointer.rsplit_once('/') else {
                    continue;
                };
                let name = unescape(name);
                let target = if parent.is_empty() {
                    Some(&mut whole)
                } else {
                    whole.pointer_mut(parent)
                };
                let removed = target
                    .and_then(Value::as_object_mut)
                    .and_then(|o| o.remove(&name));
                if removed.is_none() {
                    continue;
                }
            }
            (None, Some(_)) => continue,
        }
        if validator.is_valid(&whole) || out.iter().any(|(w, _)| *w == why) {
            continue;
        }
        out.push((why, whole));
    }
    out
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn shown(pointer: &str) -> String {
    if pointer.is_empty() {
        "the body".to_owned()
    } else {
        format!("`{pointer}`")
    }
}

/// (pointer, description, replacement; `None` removes the property at the pointer).
type Candidate = (String, String, Option<Value>);

fn walk(
    schema: &Value,
    root: &Value,
    value: &Value,
    pointer: &str,
    depth: usize,
    out: &mut Vec<Candidate>,
) {
    let mut s = resolve(schema, root);
    if let Value::Object(o) = &s
        && let Some(Value::Array(all)) = o.get("allOf")
    {
        s = merge_all(o, all, root);
    }
    let Value::Object(obj) = &s else {
        return;
    };
    let at = shown(pointer);
    let mut push = |why: String, v: Option<Value>| out.push((pointer.to_owned(), why, v));
    for (why, v) in scalar_breaks(obj, value) {
        push(format!("{at}: {why}"), Some(v));
    }
    match value {
        Value::Array(items) => {
            if let Some(max) = obj.get("maxItems").and_then(Value::as_u64) {
                let filler = items.first().cloned().unwrap_or(Value::Null);
                let mut longer = items.clone();
                while (longer.len() as u64) <= max {
                    longer.push(filler.clone());
                }
                push(
                    format!("{at}: {} items, over `maxItems` {max}", longer.len()),
                    Some(Value::Array(longer)),
                );
            }
            if let Some(min) = obj.get("minItems").and_then(Value::as_u64)
                && min > 0
            {
                let shorter: Vec<Value> = items.iter().take(min as usize - 1).cloned().collect();
                push(
                    format!("{at}: {} items, under `minItems` {min}", shorter.len()),
                    Some(Value::Array(shorter)),
                );
            }
            if obj.get("uniqueItems") == Some(&Value::Bool(true))
                && let Some(first) = items.first()
            {
                let mut dup = items.clone();
                dup.push(first.clone());
                push(
                    format!("{at}: a repeated item, against `uniqueItems`"),
                    Some(Value::Array(dup)),
                );
            }
            if depth < MAX_DEPTH
                && let (Some(first), Some(item)) = (items.first(), obj.get("items"))
            {
                walk(item, root, first, &format!("{pointer}/0"), depth + 1, out);
            }
        }
        Value::Object(props) => {
            for name in obj
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if props.contains_key(name) {
                    out.push((
                        format!("{pointer}/{}", escape(name)),
                        format!("{at}: required property `{name}` missing"),
                        None,
                    ));
                }
            }
            if obj.get("additionalProperties") == Some(&Value::Bool(false)) {
                let mut extra = props.clone();
                extra.insert("unexpected_property".to_owned(), json!(1));
                out.push((
                    pointer.to_owned(),
                    format!(
                        "{at}: an extra property `unexpected_property`, against `additionalProperties: false`"
                    ),
                    Some(Value::Object(extra)),
                ));
            }
            if depth < MAX_DEPTH {
                let declared = obj.get("properties").and_then(Value::as_object);
                for (name, v) in props {
                    if let Some(sub) = declared.and_then(|d| d.get(name)) {
                        walk(
                            sub,
                            root,
                            v,
                            &format!("{pointer}/{}", escape(name)),
                            depth + 1,
                            out,
                        );
                    }
                }
            }
        }
        _ => {}
    }
}

/// Breaks of the constraints on one value (its type, null, enum/const, bounds, lengths,
/// pattern, format), each with why.
fn scalar_breaks(obj: &Map<String, Value>, value: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let types = declared_types(obj);
    if !types.is_empty() {
        let wrong = other_type(value, &types);
        out.push((
            format!("{} instead of {}", kind(&wrong), types.join(" or ")),
            wrong,
        ));
        if !types.iter().any(|t| t == "null") && !value.is_null() {
            out.push((
                format!("null instead of {}", types.join(" or ")),
                Value::Null,
            ));
        }
    }
    if let Some(Value::Array(e)) = obj.get("enum") {
        let other = outside_enum(e, value);
        out.push((format!("{other}, not one of the enum"), other));
    }
    if let Some(c) = obj.get("const") {
        let other = outside_enum(std::slice::from_ref(c), value);
        out.push((format!("{other} instead of the const {c}"), other));
    }
    let integer = types.iter().any(|t| t == "integer");
    if let Value::Number(_) = value {
        let step = if integer { 1.0 } else { 0.5 };
        let num = |x: f64| -> Value {
            if integer && x.fract() == 0.0 && x.abs() < 9.0e15 {
                #[expect(
                    clippy::cast_possible_truncation,
                    reason = "checked to be whole and small"
                )]
                let i = x as i64;
                json!(i)
            } else {
                serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
            }
        };
        if let Some(m) = obj.get("minimum").and_then(Value::as_f64) {
            out.push((
                format!("{}, under `minimum` {m}", num(m - step)),
                num(m - step),
            ));
        }
        if let Some(m) = obj.get("exclusiveMinimum").and_then(Value::as_f64) {
            out.push((format!("{}, on `exclusiveMinimum`", num(m)), num(m)));
        }
        if let Some(m) = obj.get("maximum").and_then(Value::as_f64) {
            out.push((
                format!("{}, over `maximum` {m}", num(m + step)),
                num(m + step),
            ));
        }
        if let Some(m) = obj.get("exclusiveMaximum").and_then(Value::as_f64) {
            out.push((format!("{}, on `exclusiveMaximum`", num(m)), num(m)));
        }
        if integer {
            out.push(("1.5, not an integer".to_owned(), json!(1.5)));
        }
    }
    if let Value::String(_) = value {
        if let Some(min) = obj.get("minLength").and_then(Value::as_u64)
            && min > 0
        {
            let shorter: String = "a".repeat(min as usize - 1);
            out.push((
                format!(
                    "a string of {} characters, under `minLength` {min}",
                    min - 1
                ),
                Value::String(shorter),
            ));
        }
        if let Some(max) = obj.get("maxLength").and_then(Value::as_u64)
            && max < 100_000
        {
            let longer = "a".repeat(max as usize + 1);
            out.push((
                format!("a string of {} characters, over `maxLength` {max}", max + 1),
                Value::String(longer),
            ));
        }
        if let Some(p) = obj.get("pattern").and_then(Value::as_str) {
            for attempt in ["", " ", "!@#", "\u{1F600}"] {
                out.push((
                    format!("{attempt:?}, against `pattern` {p:?}"),
                    Value::String(attempt.to_owned()),
                ));
            }
        }
        if let Some(f) = obj.get("format").and_then(Value::as_str)
            && matches!(
                f,
                "date-time" | "date" | "time" | "email" | "uuid" | "uri" | "ipv4" | "ipv6"
            )
        {
            out.push((
                format!("\"not-a-{f}\", against `format` {f}"),
                Value::String(format!("not-a-{f}")),
            ));
        }
    }
    out
}

fn declared_types(obj: &Map<String, Value>) -> Vec<String> {
    match obj.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A value of a type none of `types` allows (`integer` allows whole numbers only).
fn other_type(value: &Value, types: &[String]) -> Value {
    let allowed = |t: &str| types.iter().any(|x| x == t);
    let candidates = [
        json!("not-a-number"),
        json!(12345),
        json!(true),
        json!({"unexpected": "object"}),
        json!(["unexpected", "array"]),
    ];
    candidates
        .into_iter()
        .find(|c| {
            let t = match c {
                Value::String(_) => "string",
                Value::Number(_) => "number",
                Value::Bool(_) => "boolean",
                Value::Array(_) => "array",
                _ => "object",
            };
            let taken = allowed(t) || (t == "number" && allowed("integer"));
            !taken && c != value
        })
        .unwrap_or(Value::Null)
}

fn outside_enum(allowed: &[Value], value: &Value) -> Value {
    let base = match value {
        Value::String(s) => format!("{s}-not-in-enum"),
        _ => "not-in-enum".to_owned(),
    };
    let mut candidate = Value::String(base.clone());
    let mut k = 1;
    while allowed.contains(&candidate) {
        candidate = Value::String(format!("{base}-{k}"));
        k += 1;
    }
    candidate
}

/// Reads a parameter's text as a service would for its schema: a number for `integer` and
/// `number`, a boolean for `boolean` (`true`/`false`), else the text itself.
pub fn coerce(text: &str, schema: &Value) -> Value {
    let types = match schema {
        Value::Object(o) => declared_types(o),
        _ => Vec::new(),
    };
    for t in &types {
        match t.as_str() {
            "integer" => {
                if let Ok(i) = text.parse::<i64>() {
                    return json!(i);
                }
            }
            "number" => {
                if let Some(n) = text
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .and_then(serde_json::Number::from_f64)
                {
                    return Value::Number(n);
                }
            }
            "boolean" => match text {
                "true" => return json!(true),
                "false" => return json!(false),
                _ => {}
            },
            "null" if text == "null" => return Value::Null,
            _ => {}
        }
    }
    Value::String(text.to_owned())
}

/// Texts a parameter with `schema` (standalone) must not accept, each with why; `valid` is a
/// valid value of it.
pub fn parameter_mutations(schema: &Value, valid: &Value) -> Vec<(String, String)> {
    let Ok(validator) = jsonschema::validator_for(schema) else {
        return Vec::new();
    };
    let resolved = resolve(schema, schema);
    let Value::Object(obj) = &resolved else {
        return Vec::new();
    };
    // The schema's own boundaries first, then values of other kinds.
    let mut texts: Vec<(String, String)> = scalar_breaks(obj, valid)
        .into_iter()
        .filter_map(|(why, v)| as_text(&v).map(|t| (why, t)))
        .collect();
    texts.extend([
        ("\"null\"".to_owned(), "null".to_owned()),
        ("\"not-a-number\"".to_owned(), "not-a-number".to_owned()),
        ("\"maybe\"".to_owned(), "maybe".to_owned()),
        ("an empty value".to_owned(), String::new()),
        ("1.5".to_owned(), "1.5".to_owned()),
    ]);
    // Array parameters are sent item by item: their items' breaks are the parameter's.
    let item_schema = obj.get("items");
    let mut out: Vec<(String, String)> = Vec::new();
    for (why, text) in texts {
        let read = match item_schema {
            Some(items) => Value::Array(vec![coerce(&text, &resolve(items, schema))]),
            None => coerce(&text, &resolved),
        };
        if validator.is_valid(&read) || out.iter().any(|(_, t)| *t == text) {
            continue;
        }
        out.push((why, text));
    }
    out
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some("null".to_owned()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item() -> Value {
        json!({
            "type": "object",
            "required": ["name", "kind"],
            "additionalProperties": false,
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 5},
                "kind": {"enum": ["a", "b"]},
                "tags": {"type": "array", "maxItems": 2, "items": {"$ref": "#/$defs/tag"}},
                "price": {"type": "number", "minimum": 0, "maximum": 10}
            },
            "$defs": {"tag": {"type": "string", "pattern": "^[a-z]+$"}}
        })
    }

    #[test]
    fn every_mutation_is_invalid_and_boundaries_are_named() {
        let s = item();
        let valid = json!({"name": "abc", "kind": "a", "tags": ["x"], "price": 5});
        let v = jsonschema::validator_for(&s).expect("schema");
        assert!(v.is_valid(&valid));
        let got = body_mutations(&s, &valid, 100);
        for (why, m) in &got {
            assert!(!v.is_valid(m), "{why}: {m}");
        }
        let whys: Vec<&str> = got.iter().map(|(w, _)| w.as_str()).collect();
        for expected in [
            "`/tags`: 3 items, over `maxItems` 2",
            "`/name`: a string of 0 characters, under `minLength` 1",
            "`/name`: a string of 6 characters, over `maxLength` 5",
            "`/price`: -0.5, under `minimum` 0",
            "`/price`: 10.5, over `maximum` 10",
            "`/kind`: \"a-not-in-enum\", not one of the enum",
            "the body: required property `name` missing",
            "the body: an extra property `unexpected_property`, against `additionalProperties: false`",
            "`/tags/0`: \"\", against `pattern` \"^[a-z]+$\"",
            "`/name`: null instead of string",
        ] {
            assert!(whys.contains(&expected), "{expected} not in {whys:#?}");
        }
        assert_eq!(body_mutations(&s, &valid, 3).len(), 3);
    }

    #[test]
    fn a_value_with_every_property_is_valid_for_the_original() {
        let s = item();
        let all = every_property(&s);
        let v = jsonschema::validator_for(&s).expect("schema");
        for seed in 0..10 {
            let value = crate::generate::Generator::new(seed)
                .valid(&all)
                .expect("a value");
            assert!(v.is_valid(&value), "{value}");
            for key in ["name", "kind", "tags", "price"] {
                assert!(value.get(key).is_some(), "{key} missing from {value}");
            }
            assert!(!value["tags"].as_array().expect("tags").is_empty());
        }
    }

    #[test]
    fn parameter_texts_are_rejected_once_read() {
        let int = json!({"type": "integer", "minimum": 1, "maximum": 100});
        let got: Vec<String> = parameter_mutations(&int, &json!(5))
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        for t in ["null", "not-a-number", "", "1.5", "0", "101"] {
            assert!(got.iter().any(|g| g == t), "{t} not in {got:?}");
        }
        let boolean = json!({"type": "boolean"});
        let got: Vec<String> = parameter_mutations(&boolean, &json!(true))
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        assert!(got.contains(&"null".to_owned()), "{got:?}");
        assert!(got.contains(&"maybe".to_owned()), "{got:?}");
        // A plain string accepts "null": it is not a mutation of it.
        let string = json!({"type": "string"});
        assert!(
            parameter_mutations(&string, &json!("x"))
                .iter()
                .all(|(_, t)| t != "null")
        );
        let e = json!({"type": "string", "enum": ["a", "b"]});
        assert!(
            parameter_mutations(&e, &json!("a"))
                .iter()
                .any(|(_, t)| t == "a-not-in-enum")
        );
    }

    #[test]
    fn coercion_reads_numbers_and_booleans() {
        assert_eq!(coerce("12", &json!({"type": "integer"})), json!(12));
        assert_eq!(coerce("1.5", &json!({"type": "number"})), json!(1.5));
        assert_eq!(coerce("true", &json!({"type": "boolean"})), json!(true));
        assert_eq!(coerce("null", &json!({"type": "boolean"})), json!("null"));
        assert_eq!(coerce("12", &json!({"type": "string"})), json!("12"));
    }
}
