//! `contract diff` does work in proportion to the documents (issue 12): the operations of both
//! versions are matched through an index, and each pair of schemas is resolved and compared
//! once. Counted, never timed: twice the operations must cost about twice the work.

#![allow(
    clippy::expect_used,
    reason = "test code: a failed assumption is a failed test"
)]

use modelci_openapi::compat::Compat;
use modelci_openapi::diff::{DiffStats, diff_openapi, diff_openapi_with_stats};
use modelci_openapi::parse;
use serde_json::{Value, json};

/// `resources` resources of 5 operations each, as bench/openapi/generate_large.py writes them:
/// request bodies, responses and parameters that `$ref` shared components. With `changed`, the
/// shared `Tag` schema is narrowed (a change that shows in every operation with a body) and one
/// operation is removed.
fn document(resources: usize, changed: bool) -> Value {
    let mut schemas = json!({
        "Tag": {"type": "object", "required": ["key"], "properties": {
            "key": {"type": "string", "maxLength": if changed { 32 } else { 64 }}}},
        "Event": {"type": "object", "required": ["at"], "properties": {
            "at": {"type": "string"}, "previous": {"$ref": "#/components/schemas/Event"}}},
        "Error": {"type": "object", "properties": {"message": {"type": "string"}}},
    });
    let mut paths = serde_json::Map::new();
    for i in 0..resources {
        let name = format!("Item{i}");
        schemas[&name] = json!({"type": "object", "required": ["id"], "properties": {
            "id": {"type": "integer"},
            "status": {"type": "string", "enum": ["active", "paused"]},
            "tags": {"type": "array", "items": {"$ref": "#/components/schemas/Tag"}},
            "history": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}}}});
        let item = json!({"$ref": format!("#/components/schemas/{name}")});
        let body = |s: &Value| json!({"application/json": {"schema": s}});
        let bad = json!({"$ref": "#/components/responses/BadRequest"});
        let mut collection = json!({
            "get": {"parameters": [{"$ref": "#/components/parameters/Limit"}],
                    "responses": {"200": {"description": "ok", "content": body(&json!({"type": "array", "items": item}))}, "400": bad}},
            "post": {"requestBody": {"required": true, "content": body(&item)},
                     "responses": {"201": {"description": "created", "content": body(&item)}, "400": bad}},
        });
        if changed && i == resources / 2 {
            collection.as_object_mut().map(|o| o.remove("post"));
        }
        paths.insert(format!("/items{i}"), collection);
        paths.insert(
            format!("/items{i}/{{id}}"),
            json!({
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
                "get": {"responses": {"200": {"description": "ok", "content": body(&item)}, "404": bad}},
                "put": {"requestBody": {"required": true, "content": body(&item)},
                        "responses": {"200": {"description": "ok", "content": body(&item)}}},
                "delete": {"responses": {"204": {"description": "deleted"}}},
            }),
        );
    }
    json!({
        "openapi": "3.1.0",
        "paths": paths,
        "components": {
            "schemas": schemas,
            "parameters": {"Limit": {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 100}}},
            "responses": {"BadRequest": {"description": "bad", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
        },
    })
}

fn stats(resources: usize, changed: bool) -> (usize, DiffStats) {
    let old = parse(&document(resources, false).to_string(), "old.json").expect("old");
    let new = parse(&document(resources, changed).to_string(), "new.json").expect("new");
    let (findings, stats) = diff_openapi_with_stats(&old, &new, &Compat).expect("diff");
    assert_eq!(
        diff_openapi(&old, &new, &Compat).expect("diff"),
        findings,
        "the counted diff is the diff"
    );
    (findings.len(), stats)
}

#[test]
fn twice_the_operations_cost_twice_the_work() {
    for changed in [false, true] {
        // 200 and 400 operations.
        let (found_small, small) = stats(40, changed);
        let (found_large, large) = stats(80, changed);
        if changed {
            assert!(
                found_small > 40 && found_large > found_small,
                "{found_small} {found_large}"
            );
            assert!(small.schema_comparisons > 0);
        } else {
            assert_eq!((found_small, found_large), (0, 0));
        }
        assert!(small.operations_examined >= 200 && small.schema_nodes_resolved > 0);
        let within = |what: &str, a: u64, b: u64| {
            // Doubling, with some slack for the fixed part (shared components); a quadratic
            // cost would quadruple.
            assert!(
                b <= a * 21 / 10 + 10,
                "{what} grew from {a} to {b} for twice the operations (changed: {changed}): {small:?} {large:?}"
            );
        };
        within(
            "operations examined",
            small.operations_examined,
            large.operations_examined,
        );
        within(
            "schema nodes resolved",
            small.schema_nodes_resolved,
            large.schema_nodes_resolved,
        );
        within(
            "schema comparisons",
            small.schema_comparisons,
            large.schema_comparisons,
        );
    }
}
