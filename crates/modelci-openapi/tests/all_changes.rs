//! Every change, not only breaking ones (`contract diff --format changelog`), and the finding-id
//! catalogue: every id a diff reports is one `all_finding_ids` lists.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed assumption is a failed test"
)]

use std::collections::HashSet;

use modelci_openapi::compat::Compat;
use modelci_openapi::diff::{
    DiffOptions, Finding, STRUCTURAL_FINDINGS, Severity, all_finding_ids, diff_openapi_with,
};

const OLD: &str = r#"
openapi: 3.1.0
info: {title: pets, version: "1"}
paths:
  /pets:
    get:
      parameters:
        - {name: limit, in: query, required: true, schema: {type: integer}}
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema:
                type: object
                required: [id]
                properties:
                  id: {type: integer}
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              properties:
                kind: {enum: [cat, dog]}
      responses: {'201': {description: created}}
"#;

const NEW: &str = r#"
openapi: 3.1.0
info: {title: pets, version: "2"}
paths:
  /pets:
    get:
      parameters:
        - {name: limit, in: query, schema: {type: integer}}
      responses:
        '200':
          description: ok
          headers: {X-Total: {schema: {type: integer}}}
          content:
            application/json:
              schema:
                type: object
                required: [id, name]
                properties:
                  id: {type: integer}
                  name: {type: string}
            text/csv: {schema: {type: string}}
        '404': {description: no such pet}
    post:
      requestBody:
        required: false
        content:
          application/json:
            schema:
              type: object
              properties:
                kind: {enum: [cat, dog, bird]}
          application/xml: {schema: {type: object}}
      responses: {'201': {description: created}}
"#;

fn diff(all_changes: bool) -> Vec<Finding> {
    let old = modelci_openapi::parse(OLD, "old.yaml").expect("old");
    let new = modelci_openapi::parse(NEW, "new.yaml").expect("new");
    diff_openapi_with(&old, &new, &Compat, DiffOptions { all_changes })
        .expect("diff")
        .0
}

#[test]
fn compatible_changes_are_listed_as_info_with_their_operation() {
    let findings = diff(true);
    let has = |id: &str, op: &str| {
        findings
            .iter()
            .find(|f| f.id == id && f.operation == op)
            .unwrap_or_else(|| panic!("no {id} for {op} in {findings:#?}"))
    };
    for (id, op) in [
        ("request-parameter-became-optional", "GET /pets"),
        ("response-header-added", "GET /pets"),
        ("response-media-type-added", "GET /pets"),
        ("response-status-added", "GET /pets"),
        ("request-body-became-optional", "POST /pets"),
        ("request-media-type-added", "POST /pets"),
    ] {
        assert_eq!(has(id, op).severity, Severity::Info, "{id}");
    }
    // The schema changes that break no one: a response that now always sends `name`, a
    // request that may now say `bird`.
    let schema_infos: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.id.starts_with("response-body-") || f.id.starts_with("request-body-"))
        .filter(|f| f.id != "request-body-became-optional")
        .collect();
    assert!(
        schema_infos
            .iter()
            .any(|f| f.operation == "GET /pets" && f.id.starts_with("response-body-")),
        "{schema_infos:#?}"
    );
    assert!(
        schema_infos
            .iter()
            .any(|f| f.operation == "POST /pets" && f.id == "request-body-enum-value-added"),
        "{schema_infos:#?}"
    );
    assert!(
        schema_infos.iter().all(|f| f.severity == Severity::Info),
        "{schema_infos:#?}"
    );
    assert!(findings.iter().all(|f| f.severity != Severity::Breaking));
}

#[test]
fn without_all_changes_compatible_schema_changes_are_not_reported() {
    let findings = diff(false);
    assert!(
        !findings
            .iter()
            .any(|f| f.id.starts_with("response-body-") || f.id == "request-body-enum-value-added"),
        "{findings:#?}"
    );
    // Structural additions are always reported (as info).
    assert!(findings.iter().any(|f| f.id == "response-status-added"));
}

#[test]
fn every_reported_id_is_in_the_catalogue() {
    let known: HashSet<String> = all_finding_ids().into_iter().collect();
    let mut seen = Vec::new();
    seen.extend(diff(true));
    seen.extend(diff(false));
    if let Some(dir) = modelci_test_support::corpus("jsoncompat/openapi_compat") {
        for case in std::fs::read_dir(&dir).expect("corpus").flatten() {
            let read = |f: &str| std::fs::read_to_string(case.path().join(f)).ok();
            let (Some(o), Some(n)) = (read("old.json"), read("new.json")) else {
                continue;
            };
            let old = modelci_openapi::parse(&o, "old.json").expect("old");
            let new = modelci_openapi::parse(&n, "new.json").expect("new");
            for all_changes in [false, true] {
                seen.extend(
                    diff_openapi_with(&old, &new, &Compat, DiffOptions { all_changes })
                        .expect("diff")
                        .0,
                );
            }
        }
    }
    let unknown: Vec<&str> = seen
        .iter()
        .map(|f| f.id.as_str())
        .filter(|id| !known.contains(*id))
        .collect();
    assert!(
        unknown.is_empty(),
        "ids missing from the catalogue: {unknown:?}"
    );
    let structural: HashSet<&str> = STRUCTURAL_FINDINGS.iter().map(|(id, _)| *id).collect();
    assert_eq!(structural.len(), STRUCTURAL_FINDINGS.len(), "duplicate ids");
}
