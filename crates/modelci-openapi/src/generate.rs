//! Generating values from schemas, deterministically from a seed: valid values for requests, and
//! invalid variants (a missing required property, a wrong type) that a service must reject.
//!
//! Generation follows the schema's keywords (type, enum/const, bounds, lengths, patterns, common
//! formats, items, required and optional properties, allOf/anyOf/oneOf, `$ref`s into `$defs`) and
//! every value is checked against the schema afterwards; a value that does not validate is
//! retried, then given up on, so a generated "valid" request is always valid.

use modelci_rng::SeededRng;
use rand::RngExt as _;
use serde_json::{Map, Number, Value, json};

/// Deterministic generator, on modelci's pinned seeded generator (`modelci-rng`).
pub struct Generator {
    rng: SeededRng,
}

const MAX_DEPTH: usize = 8;

impl Generator {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Generator {
        Generator {
            rng: SeededRng::new(seed),
        }
    }

    /// A value valid against `schema` (a standalone schema, `$defs` included), or `None` when
    /// none was found in a few tries.
    pub fn valid(&mut self, schema: &Value) -> Option<Value> {
        let validator = jsonschema::validator_for(schema).ok()?;
        for _ in 0..20 {
            let v = self.value(schema, schema, 0);
            if validator.is_valid(&v) {
                return Some(v);
            }
        }
        None
    }

    /// Invalid variants of a valid object `value`: each required property removed, and each
    /// typed property given a value of another type. Each is checked to be invalid.
    pub fn invalid_variants(&mut self, schema: &Value, value: &Value) -> Vec<(String, Value)> {
        let Ok(validator) = jsonschema::validator_for(schema) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let resolved = resolve(schema, schema);
        let Some(obj) = value.as_object() else {
            let wrong = wrong_type(value);
            if !validator.is_valid(&wrong) {
                out.push((format!("wrong type ({})", type_name(&wrong)), wrong));
            }
            return out;
        };
        for name in resolved
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            let mut v = obj.clone();
            if v.remove(name).is_some() {
                let v = Value::Object(v);
                if !validator.is_valid(&v) {
                    out.push((format!("required property `{name}` missing"), v));
                }
            }
        }
        for (name, current) in obj {
            let mut v = obj.clone();
            let wrong = wrong_type(current);
            v.insert(name.clone(), wrong.clone());
            let v = Value::Object(v);
            if !validator.is_valid(&v) {
                out.push((
                    format!(
                        "property `{name}` has the wrong type ({})",
                        type_name(&wrong)
                    ),
                    v,
                ));
                break;
            }
        }
        out
    }

    fn value(&mut self, schema: &Value, root: &Value, depth: usize) -> Value {
        let s = resolve(schema, root);
        let Value::Object(obj) = &s else {
            return if s == Value::Bool(false) {
                Value::Null
            } else {
                json!("x")
            };
        };
        if let Some(c) = obj.get("const") {
            return c.clone();
        }
        if let Some(Value::Array(e)) = obj.get("enum")
            && !e.is_empty()
        {
            let i = self.rng.random_range(0..e.len());
            return e[i].clone();
        }
        if let Some(Value::Array(all)) = obj.get("allOf") {
            let merged = merge_all(obj, all, root);
            return self.value(&merged, root, depth + 1);
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(Value::Array(branches)) = obj.get(key)
                && !branches.is_empty()
            {
                let i = self.rng.random_range(0..branches.len());
                let mut branch = resolve(&branches[i], root);
                // Keep the sibling keywords (properties next to anyOf, ...).
                if let (Value::Object(b), Some(t)) = (&mut branch, obj.get("type")) {
                    b.entry("type").or_insert(t.clone());
                }
                return self.value(&branch, root, depth + 1);
            }
        }
        let ty = match obj.get("type") {
            Some(Value::String(t)) => t.clone(),
            Some(Value::Array(ts)) => ts
                .iter()
                .filter_map(Value::as_str)
                .find(|t| *t != "null")
                .unwrap_or("null")
                .to_owned(),
            _ if obj.contains_key("properties") || obj.contains_key("required") => "object".into(),
            _ if obj.contains_key("items") => "array".into(),
            _ => "string".into(),
        };
        match ty.as_str() {
            "null" => Value::Null,
            "boolean" => Value::Bool(self.rng.random_bool(0.5)),
            "integer" => self.integer(obj),
            "number" => self.number(obj),
            "array" => self.array(obj, root, depth),
            "object" => self.object(obj, root, depth),
            _ => self.string(obj),
        }
    }

    fn integer(&mut self, obj: &Map<String, Value>) -> Value {
        let (lo, hi) = bounds(obj, true);
        let lo = lo.map_or(0, |v| v.ceil() as i64);
        let hi = hi
            .map_or(lo.saturating_add(1000), |v| v.floor() as i64)
            .max(lo);
        let mut n = self.rng.random_range(lo..=hi);
        if let Some(m) = obj.get("multipleOf").and_then(Value::as_f64)
            && m >= 1.0
        {
            let m = m as i64;
            n = (n / m) * m;
            if n < lo {
                n += m;
            }
        }
        json!(n)
    }

    fn number(&mut self, obj: &Map<String, Value>) -> Value {
        let (lo, hi) = bounds(obj, false);
        let lo = lo.unwrap_or(0.0);
        let hi = hi.unwrap_or(lo + 1000.0).max(lo);
        let mut x = if hi > lo {
            self.rng.random_range(lo..hi)
        } else {
            lo
        };
        if let Some(m) = obj.get("multipleOf").and_then(Value::as_f64)
            && m > 0.0
        {
            x = (x / m).ceil() * m;
        }
        Number::from_f64((x * 1000.0).round() / 1000.0).map_or(json!(0), Value::Number)
    }

    fn string(&mut self, obj: &Map<String, Value>) -> Value {
        let min = obj.get("minLength").and_then(Value::as_u64).unwrap_or(1) as usize;
        let max = obj
            .get("maxLength")
            .and_then(Value::as_u64)
            .map_or(min.max(12), |m| m as usize)
            .max(min);
        if let Some(p) = obj.get("pattern").and_then(Value::as_str) {
            let p = p.trim_start_matches('^').trim_end_matches('$');
            if let Ok(re) = rand_regex::Regex::compile(p, 8) {
                return Value::String(self.rng.sample::<String, _>(&re));
            }
        }
        let formatted = match obj.get("format").and_then(Value::as_str) {
            Some("date-time") => Some(format!(
                "2026-{:02}-{:02}T{:02}:{:02}:00Z",
                self.rng.random_range(1..=12),
                self.rng.random_range(1..=28),
                self.rng.random_range(0..24),
                self.rng.random_range(0..60)
            )),
            Some("date") => Some(format!(
                "2026-{:02}-{:02}",
                self.rng.random_range(1..=12),
                self.rng.random_range(1..=28)
            )),
            Some("time") => Some(format!(
                "{:02}:{:02}:00Z",
                self.rng.random_range(0..24),
                self.rng.random_range(0..60)
            )),
            Some("email") => Some(format!(
                "user{}@example.com",
                self.rng.random_range(0..1000)
            )),
            Some("uuid") => Some(format!(
                "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
                self.rng.random::<u32>(),
                self.rng.random::<u16>(),
                self.rng.random_range(0..0x1000),
                self.rng.random_range(0..0x1000),
                self.rng.random_range(0..0x1_0000_0000_0000_u64)
            )),
            Some("uri" | "url") => Some(format!(
                "https://example.com/{}",
                self.rng.random_range(0..1000)
            )),
            Some("ipv4") => Some(format!(
                "10.0.{}.{}",
                self.rng.random_range(0..255),
                self.rng.random_range(1..255)
            )),
            Some("hostname") => Some("host.example.com".to_owned()),
            _ => None,
        };
        if let Some(f) = formatted {
            return Value::String(f);
        }
        let len = self.rng.random_range(min..=max.min(min + 16));
        let s: String = (0..len)
            .map(|_| char::from(b'a' + self.rng.random_range(0..26u8)))
            .collect();
        Value::String(s)
    }

    fn array(&mut self, obj: &Map<String, Value>, root: &Value, depth: usize) -> Value {
        let min = obj.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
        let max = obj
            .get("maxItems")
            .and_then(Value::as_u64)
            .map_or(min + 2, |m| m as usize);
        let n = if depth >= MAX_DEPTH {
            min
        } else {
            self.rng.random_range(min..=max.max(min).min(min + 3))
        };
        let mut out = Vec::new();
        if let Some(Value::Array(prefix)) = obj.get("prefixItems") {
            for p in prefix.iter().take(n.max(prefix.len().min(n))) {
                out.push(self.value(p, root, depth + 1));
            }
        }
        let item = obj.get("items").cloned().unwrap_or(Value::Bool(true));
        while out.len() < n {
            out.push(self.value(&item, root, depth + 1));
        }
        Value::Array(out)
    }

    fn object(&mut self, obj: &Map<String, Value>, root: &Value, depth: usize) -> Value {
        let required: Vec<&str> = obj
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let mut out = Map::new();
        for (name, prop) in obj
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let include = required.contains(&name.as_str())
                || (depth < MAX_DEPTH / 2 && self.rng.random_bool(0.5));
            if include {
                out.insert(name.clone(), self.value(prop, root, depth + 1));
            }
        }
        for name in required {
            if !out.contains_key(name) {
                out.insert(name.to_owned(), json!("x"));
            }
        }
        Value::Object(out)
    }
}

fn bounds(obj: &Map<String, Value>, integer: bool) -> (Option<f64>, Option<f64>) {
    let step = if integer { 1.0 } else { 0.001 };
    let lo = match (obj.get("minimum"), obj.get("exclusiveMinimum")) {
        (_, Some(Value::Number(n))) => n.as_f64().map(|v| v + step),
        (Some(Value::Number(n)), _) => n.as_f64(),
        _ => None,
    };
    let hi = match (obj.get("maximum"), obj.get("exclusiveMaximum")) {
        (_, Some(Value::Number(n))) => n.as_f64().map(|v| v - step),
        (Some(Value::Number(n)), _) => n.as_f64(),
        _ => None,
    };
    (lo, hi)
}

/// Follows `$ref`s into the root's `$defs` (a few levels).
pub(crate) fn resolve(schema: &Value, root: &Value) -> Value {
    let mut current = schema.clone();
    for _ in 0..16 {
        let Some(r) = current.get("$ref").and_then(Value::as_str) else {
            return current;
        };
        // The fragment is a JSON pointer (with its ~0/~1 escapes) into the root.
        match root.pointer(r.trim_start_matches('#')).cloned() {
            Some(t) => {
                let mut t = t;
                if let (Value::Object(tm), Value::Object(cm)) = (&mut t, &current) {
                    for (k, v) in cm {
                        if k != "$ref" {
                            tm.entry(k.clone()).or_insert(v.clone());
                        }
                    }
                }
                current = t;
            }
            None => return Value::Bool(true),
        }
    }
    current
}

pub(crate) fn merge_all(base: &Map<String, Value>, all: &[Value], root: &Value) -> Value {
    let mut merged = base.clone();
    merged.remove("allOf");
    for sub in all {
        if let Value::Object(s) = resolve(sub, root) {
            for (k, v) in s {
                match (merged.get_mut(&k), &v) {
                    (Some(Value::Object(m)), Value::Object(n)) if k == "properties" => {
                        for (pk, pv) in n {
                            m.entry(pk.clone()).or_insert(pv.clone());
                        }
                    }
                    (Some(Value::Array(a)), Value::Array(b)) if k == "required" => {
                        for x in b {
                            if !a.contains(x) {
                                a.push(x.clone());
                            }
                        }
                    }
                    (Some(_), _) => {}
                    (None, _) => {
                        merged.insert(k, v);
                    }
                }
            }
        }
    }
    Value::Object(merged)
}

fn wrong_type(v: &Value) -> Value {
    match v {
        Value::String(_) => json!(12345),
        Value::Number(_) => json!("not-a-number"),
        Value::Bool(_) => json!("not-a-boolean"),
        Value::Array(_) => json!({"not": "an array"}),
        Value::Object(_) => json!(["not", "an", "object"]),
        Value::Null => json!(false),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A seed for a case: stable per (seed, operation, index).
pub fn case_seed(seed: u64, operation: &str, index: usize) -> u64 {
    // FNV-1a over the operation id, mixed with the run seed and the case index.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in operation.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^ seed.rotate_left(17) ^ (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Value {
        json!({
            "type": "object",
            "required": ["inputs"],
            "properties": {
                "id": {"type": "string", "format": "uuid"},
                "inputs": {"type": "array", "minItems": 1, "maxItems": 3, "items": {"$ref": "#/$defs/tensor"}},
                "priority": {"type": "integer", "minimum": 1, "maximum": 5},
                "mode": {"enum": ["fast", "accurate"]}
            },
            "$defs": {"tensor": {
                "type": "object",
                "required": ["name", "shape", "datatype"],
                "properties": {
                    "name": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 8},
                    "shape": {"type": "array", "items": {"type": "integer", "minimum": 1}},
                    "datatype": {"enum": ["FP32", "INT64"]},
                    "scale": {"type": "number", "exclusiveMinimum": 0, "maximum": 1}
                }
            }}
        })
    }

    #[test]
    fn generated_values_are_valid_and_deterministic() {
        let s = schema();
        let v = jsonschema::validator_for(&s).expect("schema");
        for seed in 0..50 {
            let a = Generator::new(seed).valid(&s).expect("a value");
            assert!(v.is_valid(&a), "{a}");
            assert_eq!(Generator::new(seed).valid(&s), Some(a));
        }
    }

    #[test]
    fn invalid_variants_are_invalid() {
        let s = schema();
        let v = jsonschema::validator_for(&s).expect("schema");
        let mut g = Generator::new(7);
        let good = g.valid(&s).expect("value");
        let bad = g.invalid_variants(&s, &good);
        assert!(
            bad.iter()
                .any(|(why, _)| why == "required property `inputs` missing"),
            "{bad:?}"
        );
        for (why, b) in &bad {
            assert!(!v.is_valid(b), "{why}: {b}");
        }
    }

    #[test]
    fn recursive_schemas_terminate() {
        let s = json!({"$ref": "#/$defs/node", "$defs": {"node": {
            "type": "object", "required": ["children"],
            "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/node"}}}
        }}});
        assert!(Generator::new(1).valid(&s).is_some());
    }

    #[test]
    fn a_seed_generates_the_same_values_in_every_version() {
        // `--seed` reproducibility: the generator (modelci-rng) and what rand's ranges make of
        // it are pinned; a change here changes every seed's generated requests.
        let s = json!({"type": "object", "required": ["n", "e", "s"], "properties": {
            "n": {"type": "integer", "minimum": 0, "maximum": 1000},
            "e": {"enum": ["a", "b", "c", "d", "e", "f"]},
            "s": {"type": "string", "minLength": 4, "maxLength": 4}
        }});
        let got: Vec<Value> = (0..3)
            .map(|seed| Generator::new(seed).valid(&s).expect("a value"))
            .collect();
        assert_eq!(
            got,
            [
                json!({"n": 601, "e": "e", "s": "ktzk"}),
                json!({"n": 703, "e": "d", "s": "ksdb"}),
                json!({"n": 102, "e": "e", "s": "trgq"}),
            ]
        );
    }

    #[test]
    fn case_seeds_differ() {
        assert_ne!(case_seed(1, "getPet", 0), case_seed(1, "getPet", 1));
        assert_ne!(case_seed(1, "getPet", 0), case_seed(2, "getPet", 0));
    }
}
