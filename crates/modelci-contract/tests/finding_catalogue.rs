//! The catalogue of `contract diff` finding ids (docs/reference/findings.md) against the code:
//! the page's two tables must list exactly the ids modelci reports, with the severities it gives
//! them, and every schema example on the page must give its id when run through the real diff.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed assumption is a failed test"
)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use modelci_contract::contract_diff::{Roles, diff_with};
use modelci_openapi::Document;
use modelci_openapi::compat::Compat;
use modelci_openapi::diff::{DiffOptions, Finding, STRUCTURAL_FINDINGS, Severity};
use serde_json::{Value, json};

/// The kinds the page marks `—`: `contract diff` cannot report them. Each needs its reason on
/// the page; a kind is only allowed here when no schema change gives it.
const UNREACHABLE: &[&str] = &[
    // `contract diff` compares with formats as annotations.
    "format-changed",
    // Each part of an `allOf` is checked on its own and reported with that part's kind.
    "all-of-changed",
];

fn page() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/reference/findings.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The cells of a table row (`| a | b |`), trimmed; `\|` does not split.
fn cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|');
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    let mut out = vec![String::new()];
    let mut escaped = false;
    for ch in inner.chars() {
        match ch {
            '|' if !escaped => out.push(String::new()),
            _ => {
                if let Some(cell) = out.last_mut() {
                    cell.push(ch);
                }
            }
        }
        escaped = ch == '\\';
    }
    out.into_iter().map(|c| c.trim().to_owned()).collect()
}

/// The rows of the table whose header row starts with `header`, each as its cells.
fn table(page: &str, header: &str) -> Vec<Vec<String>> {
    let mut lines = page.lines().skip_while(|l| !l.starts_with(header));
    let head = lines
        .next()
        .unwrap_or_else(|| panic!("no table starting `{header}` on the page"));
    let width = cells(head).len();
    assert!(
        lines.next().is_some_and(|l| l.starts_with("|---")),
        "the table `{header}` has no separator row"
    );
    let rows: Vec<Vec<String>> = lines
        .take_while(|l| l.starts_with('|'))
        .map(cells)
        .collect();
    for row in &rows {
        assert_eq!(row.len(), width, "row {row:?} of table `{header}`");
    }
    rows
}

/// The code spans of a cell (`` `a` → `b` `` gives `a`, `b`).
fn code_spans(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}

/// The id a row documents: its first cell, one code span.
fn row_id(row: &[String]) -> String {
    match code_spans(&row[0]).as_slice() {
        [id] => (*id).to_owned(),
        other => panic!("the first cell of {row:?} should be one `id`, not {other:?}"),
    }
}

/// The documented ids, checked for duplicates.
fn documented(rows: &[Vec<String>]) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for row in rows {
        let id = row_id(row);
        assert!(ids.insert(id.clone()), "`{id}` is documented twice");
    }
    ids
}

fn severity(text: &str) -> Severity {
    match text {
        "breaking" => Severity::Breaking,
        "warning" => Severity::Warning,
        "info" => Severity::Info,
        other => panic!("`{other}` is not a severity"),
    }
}

fn parse(doc: &Value, name: &str) -> Document {
    modelci_openapi::parse(&doc.to_string(), name).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Every change, compatible ones included (as info).
fn diff_all(old: &Document, new: &Document, roles: Roles) -> Vec<Finding> {
    diff_with(old, new, roles, &Compat, DiffOptions { all_changes: true })
        .unwrap_or_else(|e| panic!("diff: {e}"))
        .findings
}

/// An OpenAPI 3.1 document with one operation, `POST /x`, whose `paths` entry is `op`.
fn openapi(op: Value) -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {"title": "catalogue", "version": "1"},
        "paths": {"/x": {"post": op}},
        "components": {"securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "X-Key"}}},
    })
}

/// An operation with `schema` where `prefix` says: a query parameter, the JSON request body,
/// the JSON body or a header of the 200 response.
fn schema_at(prefix: &str, schema: &Value) -> Value {
    let ok = json!({"200": {"description": "ok"}});
    let content = json!({"application/json": {"schema": schema}});
    openapi(match prefix {
        "request-parameter" => json!({
            "parameters": [{"name": "q", "in": "query", "schema": schema}],
            "responses": ok,
        }),
        "request-body" => json!({"requestBody": {"content": content}, "responses": ok}),
        "response-body" => {
            json!({"responses": {"200": {"description": "ok", "content": content}}})
        }
        "response-header" => json!({
            "responses": {"200": {"description": "ok", "headers": {"X-A": {"schema": schema}}}},
        }),
        other => panic!("no place for `{other}`"),
    })
}

/// The severities with which `findings` report `id`.
fn severities_of(findings: &[Finding], id: &str) -> BTreeSet<Severity> {
    findings
        .iter()
        .filter(|f| f.id == id)
        .map(|f| f.severity)
        .collect()
}

fn shown(findings: &[Finding]) -> Vec<String> {
    findings
        .iter()
        .map(|f| format!("{} ({})", f.id, f.severity))
        .collect()
}

#[test]
fn the_structural_table_lists_every_structural_id_with_its_severity() {
    let rows = table(&page(), "| id | severity |");
    let code: BTreeSet<String> = STRUCTURAL_FINDINGS
        .iter()
        .map(|(id, _)| (*id).to_owned())
        .collect();
    let docs = documented(&rows);
    assert_eq!(
        docs.difference(&code).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "documented, but not ids of STRUCTURAL_FINDINGS"
    );
    assert_eq!(
        code.difference(&docs).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "ids of STRUCTURAL_FINDINGS missing from the page"
    );
    for row in &rows {
        let id = row_id(row);
        let (_, expected) = STRUCTURAL_FINDINGS
            .iter()
            .find(|(known, _)| *known == id)
            .expect("listed");
        assert_eq!(severity(&row[1]), *expected, "the severity of `{id}`");
        assert!(!row[2].is_empty(), "`{id}` has no meaning");
        assert!(row[3].contains('→'), "`{id}` has no before → after example");
    }
}

/// The structural examples of the page, as documents: (id, old operation(s), new ones), each
/// `paths` entry of `/pets` (or the whole `paths` where the path itself changes).
fn structural_examples() -> Vec<(&'static str, Value, Value)> {
    let ok = || json!({"200": {"description": "ok"}});
    let get = || json!({"get": {"responses": ok()}});
    let get_with = |op: Value| json!({"get": op});
    let limit = |required: bool| json!([{"name": "limit", "in": "query", "required": required, "schema": {"type": "integer"}}]);
    let body = |required: bool, types: &[&str]| {
        let content: serde_json::Map<String, Value> = types
            .iter()
            .map(|t| ((*t).to_owned(), json!({"schema": {"type": "object"}})))
            .collect();
        json!({"post": {"requestBody": {"required": required, "content": content}, "responses": ok()}})
    };
    let secured = |on: bool| {
        let mut op = json!({"responses": ok()});
        if on {
            op["security"] = json!([{"key": []}]);
        }
        get_with(op)
    };
    let statuses = |codes: &[&str]| {
        let responses: serde_json::Map<String, Value> = codes
            .iter()
            .map(|c| ((*c).to_owned(), json!({"description": "r"})))
            .collect();
        get_with(json!({"responses": responses}))
    };
    let media = |types: &[&str]| {
        let content: serde_json::Map<String, Value> = types
            .iter()
            .map(|t| ((*t).to_owned(), json!({"schema": {"type": "string"}})))
            .collect();
        get_with(json!({"responses": {"200": {"description": "ok", "content": content}}}))
    };
    let header = |present: bool| {
        let mut response = json!({"description": "ok"});
        if present {
            response["headers"] =
                json!({"X-Total": {"required": true, "schema": {"type": "integer"}}});
        }
        get_with(json!({"responses": {"200": response}}))
    };
    let both = json!({"get": {"responses": ok()}, "post": {"responses": ok()}});
    vec![
        ("path-removed", get(), Value::Null),
        ("operation-removed", both.clone(), get()),
        ("operation-added", get(), both),
        (
            "request-parameter-required-added",
            get(),
            get_with(json!({"parameters": limit(true), "responses": ok()})),
        ),
        (
            "request-parameter-added",
            get(),
            get_with(json!({"parameters": limit(false), "responses": ok()})),
        ),
        (
            "request-parameter-became-required",
            get_with(json!({"parameters": limit(false), "responses": ok()})),
            get_with(json!({"parameters": limit(true), "responses": ok()})),
        ),
        (
            "request-parameter-became-optional",
            get_with(json!({"parameters": limit(true), "responses": ok()})),
            get_with(json!({"parameters": limit(false), "responses": ok()})),
        ),
        (
            "request-parameter-removed",
            get_with(json!({"parameters": limit(false), "responses": ok()})),
            get(),
        ),
        (
            "request-body-became-required",
            body(false, &["application/json"]),
            body(true, &["application/json"]),
        ),
        (
            "request-body-became-optional",
            body(true, &["application/json"]),
            body(false, &["application/json"]),
        ),
        (
            "request-media-type-removed",
            body(false, &["application/json", "text/plain"]),
            body(false, &["application/json"]),
        ),
        (
            "request-media-type-added",
            body(false, &["application/json"]),
            body(false, &["application/json", "text/plain"]),
        ),
        ("security-added", secured(false), secured(true)),
        ("security-removed", secured(true), secured(false)),
        (
            "response-success-status-removed",
            statuses(&["200", "201"]),
            statuses(&["200"]),
        ),
        (
            "response-status-removed",
            statuses(&["200", "404"]),
            statuses(&["200"]),
        ),
        (
            "response-status-added",
            statuses(&["200"]),
            statuses(&["200", "404"]),
        ),
        (
            "response-media-type-changed",
            media(&["application/json"]),
            media(&["text/csv"]),
        ),
        (
            "response-media-type-added",
            media(&["application/json"]),
            media(&["application/json", "text/csv"]),
        ),
        ("response-header-removed", header(true), header(false)),
        ("response-header-added", header(false), header(true)),
    ]
}

#[test]
fn every_structural_id_comes_from_its_example_with_its_severity() {
    let examples = structural_examples();
    let covered: BTreeSet<&str> = examples.iter().map(|(id, _, _)| *id).collect();
    let code: BTreeSet<&str> = STRUCTURAL_FINDINGS.iter().map(|(id, _)| *id).collect();
    assert_eq!(covered, code, "an example for each structural id");
    let document = |pets: &Value| {
        let paths = if pets.is_null() {
            json!({})
        } else {
            json!({ "/pets": pets })
        };
        let mut doc = openapi(json!({}));
        doc["paths"] = paths;
        doc
    };
    for (id, old, new) in &examples {
        let findings = diff_all(
            &parse(&document(old), "old.json"),
            &parse(&document(new), "new.json"),
            Roles::Both,
        );
        let (_, expected) = STRUCTURAL_FINDINGS
            .iter()
            .find(|(known, _)| known == id)
            .expect("listed");
        assert_eq!(
            severities_of(&findings, id),
            BTreeSet::from([*expected]),
            "`{id}`: {:?}",
            shown(&findings)
        );
    }
}

#[test]
fn the_schema_table_lists_every_kind() {
    let rows = table(&page(), "| kind |");
    let mut code: BTreeSet<String> = modelci_schemadiff::FindingKind::all()
        .iter()
        .map(|k| k.id().to_owned())
        .collect();
    code.insert("unresolvable".into());
    let docs = documented(&rows);
    assert_eq!(
        docs.difference(&code).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "documented, but not schema finding kinds"
    );
    assert_eq!(
        code.difference(&docs).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "kinds missing from the page"
    );
    // The page's list of ids and the code's agree on every prefix.
    let all: BTreeSet<String> = modelci_openapi::diff::all_finding_ids()
        .into_iter()
        .collect();
    for kind in &docs {
        for prefix in modelci_openapi::diff::SCHEMA_FINDING_PREFIXES
            .iter()
            .chain(&["request", "response"])
        {
            let id = format!("{prefix}-{kind}");
            assert!(all.contains(&id), "`{id}` is not in all_finding_ids()");
        }
    }
}

#[test]
fn every_schema_example_gives_its_id_through_the_real_diff() {
    let rows = table(&page(), "| kind |");
    let mut without_example = BTreeSet::new();
    let mut problems = Vec::new();
    for row in &rows {
        let kind = row_id(row);
        assert!(!row[1].is_empty(), "`{kind}` has no meaning");
        if row[2].starts_with('—') {
            // Only the kinds known to be unreachable, each with its reason in the meaning.
            assert!(
                UNREACHABLE.contains(&kind.as_str()),
                "`{kind}` has no example, but is not known to be unreachable"
            );
            assert!(
                row[1].contains("never reports"),
                "`{kind}`: the meaning should say why there is no example"
            );
            for cell in &row[3..] {
                assert_eq!(cell, "—", "`{kind}` has no example, so no id or severities");
            }
            without_example.insert(kind);
            continue;
        }
        let (old, new) = match code_spans(&row[2]).as_slice() {
            [old, new] if row[2].contains('→') => {
                let json = |s: &str| -> Value {
                    serde_json::from_str(s).unwrap_or_else(|e| panic!("`{kind}`: `{s}`: {e}"))
                };
                (json(old), json(new))
            }
            other => panic!("`{kind}`: the example should be `old` → `new`, not {other:?}"),
        };
        let example_id = match code_spans(&row[3]).as_slice() {
            [id] => (*id).to_owned(),
            other => panic!("`{kind}`: the example id should be one `id`, not {other:?}"),
        };
        assert!(
            example_id == format!("request-body-{kind}")
                || example_id == format!("response-body-{kind}"),
            "`{kind}`: the example id `{example_id}` should be request-body-{kind} or response-body-{kind}"
        );
        let (request, response) = (severity(&row[4]), severity(&row[5]));
        let mut example_seen = false;
        // Each place a schema can sit in an OpenAPI document.
        for prefix in modelci_openapi::diff::SCHEMA_FINDING_PREFIXES {
            let findings = diff_all(
                &parse(&schema_at(prefix, &old), "old.json"),
                &parse(&schema_at(prefix, &new), "new.json"),
                Roles::Both,
            );
            let id = format!("{prefix}-{kind}");
            example_seen |= id == example_id && findings.iter().any(|f| f.id == id);
            let expected = if prefix.starts_with("request") {
                request
            } else {
                response
            };
            let got = severities_of(&findings, &id);
            if got != BTreeSet::from([expected]) {
                problems.push(format!(
                    "`{kind}` as {prefix}: expected `{id}` ({expected}), got {:?}",
                    shown(&findings)
                ));
            }
        }
        if !example_seen {
            problems.push(format!(
                "`{kind}`: the example does not give `{example_id}`"
            ));
        }
        // A bare JSON Schema, one direction at a time (an unresolvable bare schema is an
        // error, not a finding).
        if kind != "unresolvable" && old.is_object() && new.is_object() {
            for (role, prefix, expected) in [
                (Roles::Request, "request", request),
                (Roles::Response, "response", response),
            ] {
                let findings = diff_all(
                    &parse(&old, "old.schema.json"),
                    &parse(&new, "new.schema.json"),
                    role,
                );
                let id = format!("{prefix}-{kind}");
                let got = severities_of(&findings, &id);
                if got != BTreeSet::from([expected]) {
                    problems.push(format!(
                        "`{kind}` as a bare {prefix} schema: expected `{id}` ({expected}), got {:?}",
                        shown(&findings)
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let expected: BTreeSet<String> = UNREACHABLE.iter().map(|k| (*k).to_owned()).collect();
    assert_eq!(
        without_example, expected,
        "the kinds without an example are exactly the unreachable ones"
    );
}
