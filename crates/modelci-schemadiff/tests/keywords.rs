//! Keyword-family tests for `is_subschema` / `check`, with every witness
//! double-checked by the independent `jsonschema` validator.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and benchmark code: a failed assumption is a failed run"
)]

use modelci_schemadiff::{
    Dialect, FindingKind, Options, Report, Role, SchemaError, SchemaRef, check, check_with,
    is_subschema, is_subschema_with,
};
use serde_json::{Value, json};

/// Assert the verdict of `a ⊆ b` and verify witnesses.
fn sub(a: Value, b: Value, expected: bool) -> Report {
    let r = is_subschema(&a, &b).expect("usable schemas");
    assert_eq!(
        r.compatible, expected,
        "a={a} b={b}\nfindings: {:#?}",
        r.findings
    );
    verify_witnesses(&a, &b, &r);
    r
}

fn verify_witnesses(a: &Value, b: &Value, r: &Report) {
    let va = jsonschema::validator_for(a).ok();
    let vb = jsonschema::validator_for(b).ok();
    for f in &r.findings {
        if let (Some(w), Some(va), Some(vb)) = (&f.witness, &va, &vb) {
            assert!(va.is_valid(w), "witness {w} not valid under a={a}");
            assert!(!vb.is_valid(w), "witness {w} valid under b={b}");
        }
    }
}

fn kinds(r: &Report) -> Vec<&'static str> {
    r.findings.iter().map(|f| f.kind.id()).collect()
}

fn has_witness(r: &Report) -> bool {
    r.findings.iter().any(|f| f.witness.is_some())
}

#[test]
fn boolean_schemas() {
    sub(json!(false), json!(false), true);
    sub(json!(false), json!({"type": "string"}), true);
    sub(json!({"type": "string"}), json!(true), true);
    let r = sub(json!(true), json!(false), false);
    assert!(has_witness(&r));
    sub(
        json!({"type": "string", "minLength": 3, "maxLength": 2}),
        json!(false),
        true,
    );
}

#[test]
fn types() {
    sub(json!({"type": "integer"}), json!({"type": "number"}), true);
    let r = sub(json!({"type": "number"}), json!({"type": "integer"}), false);
    assert_eq!(kinds(&r), ["type-narrowed"]);
    assert_eq!(r.findings[0].witness, Some(json!(0.5)));
    sub(
        json!({"type": "number", "multipleOf": 2}),
        json!({"type": "integer"}),
        true,
    );
    sub(
        json!({"type": "number", "minimum": 3, "maximum": 3}),
        json!({"type": "integer"}),
        true,
    );
    sub(
        json!({"type": ["string", "null"]}),
        json!({"type": ["null", "string", "boolean"]}),
        true,
    );
    let r = sub(
        json!({"type": ["string", "null"]}),
        json!({"type": "string"}),
        false,
    );
    assert_eq!(kinds(&r), ["null-removed"]);
    let r = check(
        &json!({"type": "string"}),
        &json!({"type": ["string", "null"]}),
        Role::Serializer,
    )
    .expect("ok");
    assert_eq!(kinds(&r), ["null-added"]);
    assert_eq!(r.findings[0].witness, Some(Value::Null));
}

#[test]
fn enums_and_const() {
    sub(json!({"enum": [1, 2]}), json!({"enum": [2, 1, 3]}), true);
    let r = sub(json!({"enum": [1, 2, 4]}), json!({"enum": [1, 2]}), false);
    assert_eq!(r.findings[0].witness, Some(json!(4)));
    assert_eq!(kinds(&r), ["enum-value-removed"]);
    sub(
        json!({"const": 1.0}),
        json!({"type": "integer", "enum": [1]}),
        true,
    );
    sub(
        json!({"enum": ["a", 3]}),
        json!({"type": ["string", "integer"]}),
        true,
    );
    let r = sub(json!({"type": "boolean"}), json!({"const": true}), false);
    assert_eq!(r.findings[0].witness, Some(json!(false)));
    sub(
        json!({"type": "integer", "minimum": 1, "maximum": 3}),
        json!({"enum": [1, 2, 3]}),
        true,
    );
    let r = sub(json!({"type": "string"}), json!({"enum": ["a"]}), false);
    assert!(has_witness(&r));
    // serializer wording
    let r = check(
        &json!({"enum": ["a"]}),
        &json!({"enum": ["a", "b"]}),
        Role::Serializer,
    )
    .expect("ok");
    assert_eq!(kinds(&r), ["enum-value-added"]);
}

#[test]
fn numeric_bounds_and_multiple_of() {
    sub(
        json!({"type": "number", "minimum": 1, "maximum": 5}),
        json!({"type": "number", "minimum": 0}),
        true,
    );
    let r = sub(
        json!({"type": "number", "minimum": 0}),
        json!({"type": "number", "minimum": 1}),
        false,
    );
    assert_eq!(kinds(&r), ["minimum-raised"]);
    let r = sub(
        json!({"type": "number", "maximum": 10}),
        json!({"type": "number", "maximum": 5}),
        false,
    );
    assert_eq!(kinds(&r), ["maximum-lowered"]);
    sub(
        json!({"type": "number", "exclusiveMinimum": 0}),
        json!({"type": "number", "minimum": 0}),
        true,
    );
    sub(
        json!({"type": "number", "minimum": 0}),
        json!({"type": "number", "exclusiveMinimum": 0}),
        false,
    );
    sub(
        json!({"type": "integer", "exclusiveMinimum": 0}),
        json!({"type": "integer", "minimum": 1}),
        true,
    );
    // draft 4 boolean exclusiveMinimum
    sub(
        json!({"type": "number", "minimum": 0, "exclusiveMinimum": true}),
        json!({"type": "number", "exclusiveMinimum": 0}),
        true,
    );
    sub(
        json!({"type": "integer", "multipleOf": 4}),
        json!({"type": "integer", "multipleOf": 2}),
        true,
    );
    let r = sub(
        json!({"type": "integer", "multipleOf": 2}),
        json!({"type": "integer", "multipleOf": 4}),
        false,
    );
    assert_eq!(kinds(&r), ["multiple-of-changed"]);
    sub(
        json!({"type": "number", "multipleOf": 0.2}),
        json!({"type": "number", "multipleOf": 0.1}),
        true,
    );
    sub(
        json!({"type": "integer"}),
        json!({"type": "number", "multipleOf": 0.5}),
        true,
    );
    sub(
        json!({"type": "number"}),
        json!({"type": "number", "multipleOf": 0.5}),
        false,
    );
}

#[test]
fn strings() {
    sub(
        json!({"type": "string", "minLength": 2, "maxLength": 4}),
        json!({"type": "string", "maxLength": 5}),
        true,
    );
    let r = sub(
        json!({"type": "string", "minLength": 1}),
        json!({"type": "string", "minLength": 2}),
        false,
    );
    assert_eq!(kinds(&r), ["min-length-raised"]);
    let r = sub(
        json!({"type": "string"}),
        json!({"type": "string", "maxLength": 2}),
        false,
    );
    assert_eq!(kinds(&r), ["max-length-lowered"]);
    sub(
        json!({"type": "string", "pattern": "^a+$"}),
        json!({"type": "string", "pattern": "^a+$"}),
        true,
    );
    let r = sub(
        json!({"type": "string", "pattern": "^a+$"}),
        json!({"type": "string", "pattern": "^b+$"}),
        false,
    );
    assert_eq!(kinds(&r), ["pattern-changed"]);
    assert!(has_witness(&r));
    let r = sub(
        json!({"type": "string"}),
        json!({"type": "string", "pattern": "^[0-9]+$"}),
        false,
    );
    assert!(has_witness(&r));
    // an enumerated string set is checked value by value, even against patterns
    sub(
        json!({"enum": ["a1", "a22"]}),
        json!({"type": "string", "pattern": "^a[0-9]+$"}),
        true,
    );
    // unsupported pattern: conservative
    let r = sub(
        json!({"enum": ["x"]}),
        json!({"type": "string", "pattern": "^(?=x)x$"}),
        false,
    );
    assert!(r.findings[0].witness.is_none());
}

#[test]
fn formats_are_annotations_unless_asserted() {
    let a = json!({"type": "string", "format": "email"});
    let b = json!({"type": "string", "format": "uuid"});
    sub(a.clone(), b.clone(), true);
    let opts = Options {
        assert_formats: true,
        ..Options::default()
    };
    let r = is_subschema_with(SchemaRef::root(&a), SchemaRef::root(&b), &opts).expect("ok");
    assert!(!r.compatible);
    assert_eq!(kinds(&r), ["format-changed"]);
}

#[test]
fn arrays() {
    sub(
        json!({"type": "array", "items": {"type": "integer"}}),
        json!({"type": "array", "items": {"type": "number"}}),
        true,
    );
    let r = sub(
        json!({"type": "array", "items": {"type": "number"}}),
        json!({"type": "array", "items": {"type": "integer"}}),
        false,
    );
    assert_eq!(r.findings[0].instance_path, "/0+");
    assert_eq!(r.findings[0].witness, Some(json!([0.5])));
    let r = sub(
        json!({"type": "array", "minItems": 1}),
        json!({"type": "array", "minItems": 2}),
        false,
    );
    assert_eq!(kinds(&r), ["min-items-raised"]);
    let r = sub(
        json!({"type": "array"}),
        json!({"type": "array", "maxItems": 2}),
        false,
    );
    assert_eq!(kinds(&r), ["max-items-lowered"]);
    let r = sub(
        json!({"type": "array"}),
        json!({"type": "array", "uniqueItems": true}),
        false,
    );
    assert_eq!(kinds(&r), ["unique-items-added"]);
    sub(
        json!({"type": "array", "maxItems": 1}),
        json!({"type": "array", "uniqueItems": true}),
        true,
    );
    // tuples: prefixItems (2020-12) and items-array (draft 7)
    sub(
        json!({"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}], "items": false}),
        json!({"type": "array", "prefixItems": [{"type": "number"}], "maxItems": 2}),
        true,
    );
    sub(
        json!({"type": "array", "items": [{"type": "integer"}], "additionalItems": false}),
        json!({"type": "array", "maxItems": 1, "prefixItems": [{"type": "integer"}]}),
        true,
    );
    let r = sub(
        json!({"type": "array", "prefixItems": [{"type": "integer"}]}),
        json!({"type": "array", "prefixItems": [{"type": "integer"}], "items": false}),
        false,
    );
    assert_eq!(kinds(&r), ["items-closed"]);
    // contains
    sub(
        json!({"type": "array", "contains": {"type": "integer", "minimum": 5}, "minContains": 2}),
        json!({"type": "array", "contains": {"type": "integer"}, "minContains": 1}),
        true,
    );
    sub(
        json!({"type": "array", "prefixItems": [{"const": 1}], "minItems": 1}),
        json!({"type": "array", "contains": {"type": "integer"}}),
        true,
    );
    let r = sub(
        json!({"type": "array"}),
        json!({"type": "array", "contains": {"type": "string"}}),
        false,
    );
    assert_eq!(kinds(&r), ["contains-changed"]);
    assert!(has_witness(&r));
    sub(
        json!({"type": "array", "contains": {"type": "string"}, "maxContains": 1}),
        json!({"type": "array", "contains": {"type": "string"}, "maxContains": 3}),
        true,
    );
}

#[test]
fn objects_required_and_properties() {
    let r = sub(
        json!({"type": "object"}),
        json!({"type": "object", "required": ["id"]}),
        false,
    );
    assert_eq!(kinds(&r), ["required-added"]);
    assert_eq!(r.findings[0].witness, Some(json!({})));
    let r = check(
        &json!({"type": "object", "required": ["id"]}),
        &json!({"type": "object"}),
        Role::Serializer,
    )
    .expect("ok");
    assert_eq!(kinds(&r), ["required-removed"]);
    let r = sub(
        json!({"type": "object", "properties": {"a": {"type": "string"}}}),
        json!({"type": "object", "properties": {"a": {"type": "string", "maxLength": 3}}}),
        false,
    );
    assert_eq!(r.findings[0].instance_path, "/a");
    assert!(has_witness(&r));
    let r = sub(
        json!({"type": "object", "properties": {"a": {}}}),
        json!({"type": "object", "properties": {"a": false}}),
        false,
    );
    assert_eq!(kinds(&r), ["property-removed"]);
    let r = sub(
        json!({"type": "object"}),
        json!({"type": "object", "additionalProperties": false}),
        false,
    );
    assert_eq!(kinds(&r), ["additional-properties-closed"]);
    sub(
        json!({"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": false}),
        json!({"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "string"}}}),
        true,
    );
    sub(
        json!({"type": "object", "minProperties": 2}),
        json!({"type": "object", "minProperties": 1}),
        true,
    );
    let r = sub(
        json!({"type": "object"}),
        json!({"type": "object", "maxProperties": 1}),
        false,
    );
    assert_eq!(kinds(&r), ["max-properties-lowered"]);
    sub(
        json!({"type": "object", "properties": {"a": true}, "additionalProperties": false}),
        json!({"type": "object", "maxProperties": 1}),
        true,
    );
}

#[test]
fn objects_patterns_names_dependencies() {
    sub(
        json!({"type": "object", "patternProperties": {"^x_": {"type": "integer"}}, "additionalProperties": false}),
        json!({"type": "object", "patternProperties": {"^x_": {"type": "number"}}}),
        true,
    );
    let r = sub(
        json!({"type": "object", "patternProperties": {"^x_": {"type": "number"}}}),
        json!({"type": "object", "patternProperties": {"^x_": {"type": "integer"}}}),
        false,
    );
    assert!(has_witness(&r));
    // disjoint prefixes never overlap
    sub(
        json!({"type": "object", "patternProperties": {"^a": {"type": "string"}, "^b": {"type": "integer"}}, "additionalProperties": false}),
        json!({"type": "object", "patternProperties": {"^a": {"type": "string"}, "^b": {"type": "integer"}}, "additionalProperties": false}),
        true,
    );
    sub(
        json!({"type": "object", "propertyNames": {"enum": ["a", "b"]}}),
        json!({"type": "object", "propertyNames": {"maxLength": 1}}),
        true,
    );
    let r = sub(
        json!({"type": "object", "propertyNames": {"maxLength": 3}}),
        json!({"type": "object", "propertyNames": {"maxLength": 1}}),
        false,
    );
    assert_eq!(kinds(&r), ["property-names-narrowed"]);
    assert!(has_witness(&r));
    sub(
        json!({"type": "object", "propertyNames": {"maxLength": 1}}),
        json!({"type": "object", "propertyNames": {"maxLength": 3}}),
        true,
    );
    let r = sub(
        json!({"type": "object"}),
        json!({"type": "object", "dependentRequired": {"a": ["b"]}}),
        false,
    );
    assert_eq!(kinds(&r), ["dependent-required-added"]);
    assert_eq!(r.findings[0].witness, Some(json!({"a": null})));
    sub(
        json!({"type": "object", "required": ["b"]}),
        json!({"type": "object", "dependentRequired": {"a": ["b"]}}),
        true,
    );
    sub(
        json!({"type": "object", "dependencies": {"a": ["b"]}}),
        json!({"type": "object", "dependentRequired": {"a": ["b"]}}),
        true,
    );
    sub(
        json!({"type": "object", "properties": {"a": false}}),
        json!({"type": "object", "dependentRequired": {"a": ["b"]}}),
        true,
    );
}

#[test]
fn applicators() {
    // anyOf on the right, per-type split
    sub(
        json!({"type": ["string", "integer"]}),
        json!({"anyOf": [{"type": "string"}, {"type": "integer"}]}),
        true,
    );
    let r = sub(
        json!({"type": ["string", "boolean"]}),
        json!({"anyOf": [{"type": "string"}, {"type": "integer"}]}),
        false,
    );
    assert!(has_witness(&r));
    // anyOf / oneOf on the left
    sub(
        json!({"anyOf": [{"type": "string"}, {"type": "integer"}]}),
        json!({"type": ["string", "number"]}),
        true,
    );
    sub(
        json!({"oneOf": [{"type": "string"}, {"type": "integer"}]}),
        json!({"type": ["string", "number"]}),
        true,
    );
    // oneOf on the right needs disjointness
    sub(
        json!({"type": "string"}),
        json!({"oneOf": [{"type": "string"}, {"type": "integer"}]}),
        true,
    );
    let r = sub(
        json!({"type": "integer"}),
        json!({"oneOf": [{"type": "number"}, {"type": "integer"}]}),
        false,
    );
    assert_eq!(kinds(&r), ["one-of-changed"]);
    assert!(has_witness(&r));
    sub(
        json!({"type": "integer", "minimum": 10}),
        json!({"oneOf": [{"type": "integer", "minimum": 5}, {"type": "integer", "maximum": 4}]}),
        true,
    );
    // allOf on either side
    sub(
        json!({"allOf": [{"type": "integer"}, {"minimum": 0}, {"maximum": 10}]}),
        json!({"type": "integer", "minimum": 0, "maximum": 10}),
        true,
    );
    sub(
        json!({"type": "integer", "minimum": 1}),
        json!({"allOf": [{"type": "number"}, {"minimum": 0}]}),
        true,
    );
    // not
    sub(
        json!({"type": "string"}),
        json!({"not": {"type": "number"}}),
        true,
    );
    let r = sub(
        json!({"type": "integer"}),
        json!({"not": {"type": "integer", "minimum": 5}}),
        false,
    );
    assert_eq!(kinds(&r), ["not-changed"]);
    assert!(has_witness(&r));
    sub(
        json!({"not": {"type": ["number", "object", "array", "boolean", "null"]}}),
        json!({"type": "string"}),
        true,
    );
    sub(
        json!({"not": {"type": "string"}}),
        json!({"not": {"type": "string", "minLength": 2}}),
        true,
    );
    // if/then/else
    let cond =
        json!({"if": {"type": "integer"}, "then": {"minimum": 0}, "else": {"type": "string"}});
    sub(json!({"type": "integer", "minimum": 3}), cond.clone(), true);
    sub(json!({"type": "string"}), cond.clone(), true);
    let r = sub(json!({"type": "integer"}), cond, false);
    assert!(has_witness(&r));
}

#[test]
fn refs_and_definitions() {
    let a = json!({"$defs": {"P": {"type": "integer"}}, "$ref": "#/$defs/P"});
    let b = json!({"definitions": {"Q": {"type": "number"}}, "$ref": "#/definitions/Q"});
    sub(a.clone(), b.clone(), true);
    sub(b, a, false);
    let anchored = json!({"$defs": {"P": {"$anchor": "pos", "minimum": 0}}, "$ref": "#pos", "type": "integer"});
    sub(anchored, json!({"type": "integer", "minimum": 0}), true);
    let e = is_subschema(&json!({"$ref": "#/$defs/missing"}), &json!(true)).expect_err("bad ref");
    assert!(matches!(e, SchemaError::UnresolvableRef { .. }));
    assert!(e.to_string().contains("cannot be resolved"));
    let e = is_subschema(&json!({"properties": {"a": 3}}), &json!(true)).expect_err("not a schema");
    assert!(matches!(e, SchemaError::NotASchema { .. }));
    let e = is_subschema(&json!({"$ref": "https://example.com/x.json"}), &json!(true))
        .expect_err("remote");
    assert!(matches!(e, SchemaError::UnresolvableRef { .. }));
}

#[test]
fn recursion_terminates_linked_list() {
    let list = |value_type: &str| {
        json!({
            "$defs": {"Node": {
                "type": "object",
                "properties": {
                    "value": {"type": value_type},
                    "next": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/Node"}]}
                },
                "required": ["value"],
                "additionalProperties": false
            }},
            "$ref": "#/$defs/Node"
        })
    };
    sub(list("integer"), list("integer"), true);
    sub(list("integer"), list("number"), true);
    let r = sub(list("number"), list("integer"), false);
    assert!(has_witness(&r));
    // the difference deep inside the recursion has a nested witness
    let deep = r.findings.iter().find(|f| f.instance_path.contains("next"));
    if let Some(f) = deep
        && let Some(w) = &f.witness
    {
        assert!(w.get("next").is_some(), "{w}");
    }
    // self-reference through the root
    let tree = |extra: bool| {
        let mut props =
            json!({"v": {"type": "integer"}, "kids": {"type": "array", "items": {"$ref": "#"}}});
        if extra {
            props["label"] = json!({"type": "string"});
        }
        json!({"type": "object", "properties": props, "additionalProperties": false})
    };
    sub(tree(false), tree(true), true);
    let r = sub(tree(true), tree(false), false);
    assert!(kinds(&r).contains(&"additional-properties-closed"));
    // unguarded recursion: left widens to true, right is read coinductively
    let weird = json!({"$defs": {"X": {"anyOf": [{"$ref": "#/$defs/X"}, {"type": "string"}]}}, "$ref": "#/$defs/X"});
    sub(json!({"type": "string"}), weird.clone(), true);
    sub(weird, json!({"type": "string"}), false);
}

#[test]
fn openapi_nullable_and_components() {
    let doc = json!({
        "openapi": "3.0.3",
        "components": {"schemas": {
            "Old": {"type": "string", "nullable": true, "x-internal": true},
            "New": {"type": "string"},
            "Wrapper": {"type": "object", "properties": {"p": {"$ref": "#/components/schemas/Old"}}}
        }}
    });
    let opts = Options {
        dialect: Dialect::OpenApi30,
        ..Options::default()
    };
    let old = SchemaRef::at(&doc, "#/components/schemas/Old");
    let new = SchemaRef::at(&doc, "/components/schemas/New");
    let r = check_with(old, new, Role::Deserializer, &opts).expect("ok");
    assert!(!r.compatible);
    assert_eq!(kinds(&r), ["null-removed"]);
    assert_eq!(r.findings[0].witness, Some(Value::Null));
    assert_eq!(r.findings[0].pointer_old, "#/components/schemas/Old");
    let r = check_with(old, new, Role::Serializer, &opts).expect("ok");
    assert!(r.compatible, "{:?}", r.findings);
    let w = SchemaRef::at(&doc, "/components/schemas/Wrapper");
    let r = is_subschema_with(w, w, &opts).expect("ok");
    assert!(r.compatible);
    // without the dialect switch, nullable is just an annotation
    let r = check_with(old, new, Role::Deserializer, &Options::default()).expect("ok");
    assert!(r.compatible);
    let e = check_with(SchemaRef::at(&doc, "/nope"), new, Role::Serializer, &opts)
        .expect_err("missing");
    assert!(matches!(e, SchemaError::MissingPointer { .. }));
}

#[test]
fn finding_kinds_have_stable_unique_ids() {
    let mut ids: Vec<&str> = FindingKind::all().iter().map(|k| k.id()).collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n);
    assert!(
        ids.iter()
            .all(|id| id.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
    );
}

#[test]
fn report_json_and_roles() {
    let old = json!({"type": "object", "properties": {"id": {"type": "integer"}}});
    let new =
        json!({"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]});
    let ser = check(&old, &new, Role::Serializer).expect("ok");
    assert!(ser.compatible);
    let de = check(&old, &new, Role::Deserializer).expect("ok");
    assert!(!de.compatible);
    let f = &de.findings[0];
    assert_eq!(f.pointer_new, "#/required");
    assert_eq!(f.pointer_old, "#");
    let j = de.to_json();
    assert_eq!(j["compatible"], json!(false));
    assert_eq!(j["findings"][0]["kind"], json!("required-added"));
    assert_eq!(j["findings"][0]["witness"], json!({}));
}

/// A large, densely cross-referencing component graph (like a big OpenAPI
/// document) must be compared quickly and still find a deep change.
#[test]
fn large_recursive_component_graph_is_fast() {
    let mut seed: u64 = 42;
    let mut rnd = |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    let n = 120;
    let mut comps = serde_json::Map::new();
    for i in 0..n {
        let mut props = serde_json::Map::new();
        for j in 0..6 {
            let v = match rnd(4) {
                0 => json!({"$ref": format!("#/components/schemas/S{}", rnd(n))}),
                1 => {
                    json!({"type": "array", "items": {"$ref": format!("#/components/schemas/S{}", rnd(n))}})
                }
                2 => json!({"anyOf": [{"type": "string"}, {"type": "null"}]}),
                _ => json!({"type": "integer", "minimum": 0}),
            };
            props.insert(format!("p{j}"), v);
        }
        comps.insert(
            format!("S{i}"),
            json!({"type": "object", "properties": props, "required": ["p0"], "additionalProperties": false}),
        );
    }
    let old = json!({"components": {"schemas": comps}, "$ref": "#/components/schemas/S0"});
    let start = std::time::Instant::now();
    let same = is_subschema(&old, &old.clone()).expect("ok");
    assert!(same.compatible);
    let mut new = old.clone();
    new["components"]["schemas"]["S0"]["properties"]["p5"] =
        json!({"type": "integer", "minimum": 3});
    new["components"]["schemas"]["S0"]["properties"]["p4"] = json!({"type": "boolean"});
    let r = check(&old, &new, Role::Deserializer).expect("ok");
    assert!(!r.compatible);
    assert!(
        r.findings.iter().all(|f| f.kind != FindingKind::Unprovable),
        "{:#?}",
        r.findings
    );
    assert!(
        start.elapsed() < std::time::Duration::from_secs(20),
        "took {:?}",
        start.elapsed()
    );
}
