//! Breaking-change detection between two versions of an OpenAPI document (structure), with
//! schema comparisons delegated to a [`SchemaCompare`] (direction-aware: responses may only
//! narrow, requests may only widen).

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::load::Document;
use crate::ops::{In, Media, Operation, operations};
use crate::schema::standalone;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Breaking,
}

impl Severity {
    /// `info`, `warning`, `breaking`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Breaking => "breaking",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One difference between the old and the new contract.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Stable identifier of the kind of change (`operation-removed`, `request-type-narrowed`, ...).
    pub id: String,
    pub severity: Severity,
    /// JSON pointer in the old document (empty when the thing is new).
    pub old_pointer: String,
    /// JSON pointer in the new document (empty when the thing was removed).
    pub new_pointer: String,
    pub message: String,
    /// A value accepted by one side and rejected by the other, when one is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub witness: Option<Value>,
}

/// Which side of the exchange a schema describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Data the service receives: old clients' values must still be accepted (may only widen).
    Request,
    /// Data the service sends: old clients must still understand it (may only narrow).
    Response,
}

/// A schema-level difference, from a [`SchemaCompare`].
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaChange {
    /// Stable id suffix (`type-narrowed`, `enum-value-removed`, ...).
    pub kind: String,
    /// Pointer within the old schema (`/properties/id`), appended to the schema's location.
    pub old_path: String,
    pub new_path: String,
    pub message: String,
    pub witness: Option<Value>,
    /// Whether the change breaks the role's compatibility (else a warning/info).
    pub breaking: bool,
}

/// Compares two standalone schemas for a role.
pub trait SchemaCompare {
    /// The changes that matter for `role` (empty when compatible).
    fn compare(&self, old: &Value, new: &Value, role: Role) -> Vec<SchemaChange>;
}

fn finding(id: &str, severity: Severity, old: &str, new: &str, message: String) -> Finding {
    Finding {
        id: id.to_owned(),
        severity,
        old_pointer: old.to_owned(),
        new_pointer: new.to_owned(),
        message,
        witness: None,
    }
}

fn esc(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Compares two OpenAPI documents.
///
/// # Errors
/// When the operations of either document cannot be resolved.
pub fn diff_openapi(
    old: &Document,
    new: &Document,
    cmp: &dyn SchemaCompare,
) -> Result<Vec<Finding>, String> {
    let old_ops = operations(old).map_err(|e| format!("{}: {e}", old.source))?;
    let new_ops = operations(new).map_err(|e| format!("{}: {e}", new.source))?;
    let mut out = Vec::new();
    for o in &old_ops {
        match new_ops
            .iter()
            .find(|n| n.method == o.method && n.path == o.path)
        {
            None => {
                let path_gone = !new_ops.iter().any(|n| n.path == o.path);
                out.push(finding(
                    if path_gone {
                        "path-removed"
                    } else {
                        "operation-removed"
                    },
                    Severity::Breaking,
                    &o.pointer,
                    "",
                    if path_gone {
                        format!("{}: the path was removed", o.label())
                    } else {
                        format!("{}: the operation (method) was removed", o.label())
                    },
                ));
            }
            Some(n) => operation(old, new, o, n, cmp, &mut out),
        }
    }
    for n in &new_ops {
        if !old_ops
            .iter()
            .any(|o| o.method == n.method && o.path == n.path)
        {
            out.push(finding(
                "operation-added",
                Severity::Info,
                "",
                &n.pointer,
                format!("{}: new operation", n.label()),
            ));
        }
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    Ok(out)
}

fn operation(
    old_doc: &Document,
    new_doc: &Document,
    o: &Operation,
    n: &Operation,
    cmp: &dyn SchemaCompare,
    out: &mut Vec<Finding>,
) {
    let label = o.label();
    // Parameters.
    for np in &n.parameters {
        let op = o
            .parameters
            .iter()
            .find(|p| p.name == np.name && p.location == np.location);
        let where_ = location_name(np.location);
        let new_ptr = format!("{}/parameters", n.pointer);
        match op {
            None if np.required => out.push(finding(
                "request-parameter-required-added",
                Severity::Breaking,
                "",
                &new_ptr,
                format!("{label}: new required {where_} parameter `{}`", np.name),
            )),
            None => out.push(finding(
                "request-parameter-added",
                Severity::Info,
                "",
                &new_ptr,
                format!("{label}: new optional {where_} parameter `{}`", np.name),
            )),
            Some(op) => {
                if np.required && !op.required {
                    out.push(finding(
                        "request-parameter-became-required",
                        Severity::Breaking,
                        &format!("{}/parameters", o.pointer),
                        &new_ptr,
                        format!("{label}: {where_} parameter `{}` became required", np.name),
                    ));
                }
                if let (Some(os), Some(ns)) = (&op.schema, &np.schema) {
                    schemas(
                        old_doc,
                        new_doc,
                        os,
                        ns,
                        Role::Request,
                        &format!("{}/parameters/{}", o.pointer, esc(&np.name)),
                        &format!("{new_ptr}/{}", esc(&np.name)),
                        &format!("{label}: {where_} parameter `{}`", np.name),
                        "request-parameter",
                        cmp,
                        out,
                    );
                }
            }
        }
    }
    for op in &o.parameters {
        if !n
            .parameters
            .iter()
            .any(|p| p.name == op.name && p.location == op.location)
        {
            out.push(finding(
                "request-parameter-removed",
                Severity::Warning,
                &format!("{}/parameters", o.pointer),
                "",
                format!(
                    "{label}: {} parameter `{}` was removed (clients that send it may be refused)",
                    location_name(op.location),
                    op.name
                ),
            ));
        }
    }
    // Request body.
    if n.body_required && !o.body_required {
        out.push(finding(
            "request-body-became-required",
            Severity::Breaking,
            &format!("{}/requestBody", o.pointer),
            &format!("{}/requestBody", n.pointer),
            format!("{label}: the request body became required"),
        ));
    }
    for om in &o.body {
        match n.body.iter().find(|m| m.media_type == om.media_type) {
            None => out.push(finding(
                "request-media-type-removed",
                Severity::Breaking,
                &om.pointer,
                "",
                format!(
                    "{label}: request media type `{}` is no longer accepted",
                    om.media_type
                ),
            )),
            Some(nm) => media_schemas(
                old_doc,
                new_doc,
                om,
                nm,
                Role::Request,
                &label,
                "request-body",
                cmp,
                out,
            ),
        }
    }
    // Security.
    if n.secured && !o.secured {
        out.push(finding(
            "security-added",
            Severity::Breaking,
            &o.pointer,
            &n.pointer,
            format!("{label}: the operation now requires authentication"),
        ));
    }
    // Responses.
    for or in &o.responses {
        let success = or.status.starts_with('2');
        match n.responses.iter().find(|r| r.status == or.status) {
            None => {
                let covered = or
                    .status
                    .parse::<u16>()
                    .ok()
                    .and_then(|s| n.response_for(s))
                    .is_some();
                out.push(finding(
                    if success {
                        "response-success-status-removed"
                    } else {
                        "response-status-removed"
                    },
                    if success && !covered {
                        Severity::Breaking
                    } else {
                        Severity::Warning
                    },
                    &format!("{}/responses/{}", o.pointer, esc(&or.status)),
                    "",
                    format!("{label}: response {} was removed", or.status),
                ));
            }
            Some(nr) => {
                for om in &or.content {
                    match nr.content.iter().find(|m| m.media_type == om.media_type) {
                        None => out.push(finding(
                            "response-media-type-changed",
                            Severity::Breaking,
                            &om.pointer,
                            "",
                            format!(
                                "{label}: response {} no longer comes as `{}`{}",
                                or.status,
                                om.media_type,
                                if nr.content.is_empty() {
                                    String::new()
                                } else {
                                    format!(
                                        " (now {})",
                                        nr.content
                                            .iter()
                                            .map(|m| format!("`{}`", m.media_type))
                                            .collect::<Vec<_>>()
                                            .join(", ")
                                    )
                                }
                            ),
                        )),
                        Some(nm) => media_schemas(
                            old_doc,
                            new_doc,
                            om,
                            nm,
                            Role::Response,
                            &format!("{label}: response {}", or.status),
                            "response-body",
                            cmp,
                            out,
                        ),
                    }
                }
                for (name, required, old_schema) in &or.headers {
                    let still = nr
                        .headers
                        .iter()
                        .find(|(n2, _, _)| n2.eq_ignore_ascii_case(name));
                    if let (Some(os), Some((_, _, Some(ns)))) = (old_schema, still) {
                        let at = |p: &str| {
                            format!(
                                "{p}/responses/{}/headers/{}/schema",
                                esc(&or.status),
                                esc(name)
                            )
                        };
                        schemas(
                            old_doc,
                            new_doc,
                            os,
                            ns,
                            Role::Response,
                            &at(&o.pointer),
                            &at(&n.pointer),
                            &format!("{label}: response {} header `{name}`", or.status),
                            "response-header",
                            cmp,
                            out,
                        );
                    }
                    if *required && still.is_none_or(|(_, r, _)| !r) {
                        out.push(finding(
                            "response-header-removed",
                            Severity::Breaking,
                            &format!("{}/responses/{}/headers/{}", o.pointer, esc(&or.status), esc(name)),
                            "",
                            format!("{label}: required response header `{name}` of {} is no longer guaranteed", or.status),
                        ));
                    }
                }
            }
        }
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "the locations and labels of both sides"
)]
fn media_schemas(
    old_doc: &Document,
    new_doc: &Document,
    om: &Media,
    nm: &Media,
    role: Role,
    label: &str,
    prefix: &str,
    cmp: &dyn SchemaCompare,
    out: &mut Vec<Finding>,
) {
    if let (Some(os), Some(ns)) = (&om.schema, &nm.schema) {
        schemas(
            old_doc,
            new_doc,
            os,
            ns,
            role,
            &om.pointer,
            &nm.pointer,
            &format!("{label} ({})", om.media_type),
            prefix,
            cmp,
            out,
        );
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "the locations and labels of both sides"
)]
fn schemas(
    old_doc: &Document,
    new_doc: &Document,
    old: &Value,
    new: &Value,
    role: Role,
    old_ptr: &str,
    new_ptr: &str,
    label: &str,
    prefix: &str,
    cmp: &dyn SchemaCompare,
    out: &mut Vec<Finding>,
) {
    let (os, ns) = match (standalone(old_doc, old), standalone(new_doc, new)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            out.push(finding(
                &format!("{prefix}-unresolvable"),
                Severity::Warning,
                old_ptr,
                new_ptr,
                format!("{label}: cannot compare the schemas: {e}"),
            ));
            return;
        }
    };
    // Unchanged schemas (the common case) need no comparison.
    if os == ns {
        return;
    }
    // A change's path is relative to the compared schema, or absolute (`#/...`) when it lies in
    // a referenced schema.
    let place = |base: &str, path: &str| match path.strip_prefix('#') {
        Some(abs) => abs.to_owned(),
        None => format!("{base}{path}"),
    };
    for c in cmp.compare(&os, &ns, role) {
        out.push(Finding {
            id: format!("{prefix}-{}", c.kind),
            severity: if c.breaking {
                Severity::Breaking
            } else {
                Severity::Info
            },
            old_pointer: place(old_ptr, &c.old_path),
            new_pointer: place(new_ptr, &c.new_path),
            message: format!("{label}: {}", c.message),
            witness: c.witness,
        });
    }
}

fn location_name(l: In) -> &'static str {
    match l {
        In::Path => "path",
        In::Query => "query",
        In::Header => "header",
        In::Cookie => "cookie",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::parse;

    /// Unit-test comparator: reports any difference as one breaking change.
    struct Strict;

    impl SchemaCompare for Strict {
        fn compare(&self, old: &Value, new: &Value, _role: Role) -> Vec<SchemaChange> {
            if old == new {
                return Vec::new();
            }
            vec![SchemaChange {
                kind: "changed".into(),
                old_path: String::new(),
                new_path: String::new(),
                message: "the schema changed".into(),
                witness: None,
                breaking: true,
            }]
        }
    }

    const OLD: &str = r#"
openapi: 3.0.3
paths:
  /pets:
    get:
      parameters: [{name: limit, in: query, schema: {type: integer}}]
      responses:
        '200':
          description: ok
          headers: {X-Total: {required: true, schema: {type: integer}}}
          content: {application/json: {schema: {type: array}}}
    post:
      responses: {'201': {description: created}}
  /pets/{id}:
    get:
      responses: {'200': {description: ok}}
"#;

    #[test]
    fn structural_changes() {
        let new = r#"
openapi: 3.0.3
security: [{key: []}]
paths:
  /pets:
    get:
      parameters:
        - {name: limit, in: query, required: true, schema: {type: integer}}
        - {name: owner, in: query, required: true, schema: {type: string}}
      responses:
        '200':
          description: ok
          content: {text/csv: {schema: {type: string}}}
  /toys:
    get:
      responses: {'200': {description: ok}}
"#;
        let o = parse(OLD, "old.yaml").expect("old");
        let n = parse(new, "new.yaml").expect("new");
        let findings = diff_openapi(&o, &n, &Strict).expect("diff");
        let ids: Vec<&str> = findings.iter().map(|f| f.id.as_str()).collect();
        for id in [
            "operation-removed",
            "path-removed",
            "request-parameter-became-required",
            "request-parameter-required-added",
            "security-added",
            "response-media-type-changed",
            "response-header-removed",
            "operation-added",
        ] {
            assert!(ids.contains(&id), "{id} missing from {ids:?}");
        }
        assert_eq!(findings.last().map(|f| f.severity), Some(Severity::Info));
        let removed = findings
            .iter()
            .find(|f| f.id == "operation-removed")
            .expect("f");
        assert_eq!(removed.old_pointer, "/paths/~1pets/post");
    }

    #[test]
    fn identical_documents_have_no_findings() {
        let o = parse(OLD, "old.yaml").expect("old");
        assert!(diff_openapi(&o, &o, &Strict).expect("diff").is_empty());
    }
}
