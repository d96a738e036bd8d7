//! Breaking-change detection between two versions of an OpenAPI document (structure), with
//! schema comparisons delegated to a [`SchemaCompare`] (direction-aware: responses may only
//! narrow, requests may only widen).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::rc::Rc;

use serde::Serialize;
use serde_json::Value;

use crate::load::Document;
use crate::ops::{
    In, Media, Operation, operations, path_items, path_methods, path_operations, secured_globally,
};
use crate::schema::standalone_counted;

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
    /// The operation the change concerns (`GET /pets`); empty for a bare JSON Schema.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub operation: String,
    /// Where in a request or response body the difference shows (`/legacy`), for schema
    /// findings; empty otherwise.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub instance_path: String,
    /// A value accepted by one side and rejected by the other, when one is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub witness: Option<Value>,
    /// Set when an ignore entry accepts this change: it is still listed, but never fails.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored: Option<Ignored>,
}

/// Why a finding is ignored: the entry of an ignore file that matched it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ignored {
    /// The entry's reason.
    pub reason: String,
    /// Where the entry is (`api-ignore.toml:4`).
    pub source: String,
    /// The day after which the entry stops applying (`YYYY-MM-DD`), when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
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
    /// Where in an instance the difference shows (`/legacy`: the property `legacy`); empty
    /// when it concerns the value as a whole.
    pub instance_path: String,
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
        operation: String::new(),
        instance_path: String::new(),
        witness: None,
        ignored: None,
    }
}

/// What a diff looks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiffOptions {
    /// Also the schema changes that break no one (a response that gains a property, a request
    /// that accepts a new enum value), as info findings: schemas are compared in both
    /// directions. For changelogs.
    pub all_changes: bool,
}

/// The ids of the findings an OpenAPI diff reports outside schema comparisons, with their
/// severity (the one they have unless softened, e.g. for a deprecated operation).
pub const STRUCTURAL_FINDINGS: &[(&str, Severity)] = &[
    ("path-removed", Severity::Breaking),
    ("operation-removed", Severity::Breaking),
    ("operation-added", Severity::Info),
    ("request-parameter-required-added", Severity::Breaking),
    ("request-parameter-added", Severity::Info),
    ("request-parameter-became-required", Severity::Breaking),
    ("request-parameter-became-optional", Severity::Info),
    ("request-parameter-removed", Severity::Warning),
    ("request-body-became-required", Severity::Breaking),
    ("request-body-became-optional", Severity::Info),
    ("request-media-type-removed", Severity::Breaking),
    ("request-media-type-added", Severity::Info),
    ("security-added", Severity::Breaking),
    ("security-removed", Severity::Info),
    ("response-success-status-removed", Severity::Breaking),
    ("response-status-removed", Severity::Warning),
    ("response-status-added", Severity::Info),
    ("response-media-type-changed", Severity::Breaking),
    ("response-media-type-added", Severity::Info),
    ("response-header-removed", Severity::Breaking),
    ("response-header-added", Severity::Info),
];

/// The prefixes of schema findings in an OpenAPI diff: each is followed by a
/// `modelci_schemadiff::FindingKind` id or `unresolvable` (`response-body-type-narrowed`).
pub const SCHEMA_FINDING_PREFIXES: &[&str] = &[
    "request-parameter",
    "request-body",
    "response-body",
    "response-header",
];

/// Every finding id an OpenAPI diff (or a bare JSON Schema diff, prefixed `request-` or
/// `response-`) can report.
pub fn all_finding_ids() -> Vec<String> {
    let mut ids: Vec<String> = STRUCTURAL_FINDINGS
        .iter()
        .map(|(id, _)| (*id).to_owned())
        .collect();
    let kinds = modelci_schemadiff::FindingKind::all()
        .iter()
        .map(|k| k.id())
        .chain(["unresolvable"]);
    for kind in kinds {
        for prefix in SCHEMA_FINDING_PREFIXES
            .iter()
            .chain(&["request", "response"])
        {
            ids.push(format!("{prefix}-{kind}"));
        }
    }
    ids
}

fn esc(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// The work a diff did, counted for tests that check that it grows linearly with the documents
/// (never timed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiffStats {
    /// Operations looked at to match each operation of one version with the other's.
    pub operations_examined: u64,
    /// Schema objects rewritten to make schemas standalone (references gathered).
    pub schema_nodes_resolved: u64,
    /// Calls of the [`SchemaCompare`].
    pub schema_comparisons: u64,
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
    diff_openapi_with_stats(old, new, cmp).map(|(findings, _)| findings)
}

/// [`diff_openapi`], with the work it did.
///
/// # Errors
/// When the operations of either document cannot be resolved.
pub fn diff_openapi_with_stats(
    old: &Document,
    new: &Document,
    cmp: &dyn SchemaCompare,
) -> Result<(Vec<Finding>, DiffStats), String> {
    diff_openapi_with(old, new, cmp, DiffOptions::default())
}

/// [`diff_openapi_with_stats`], with options.
///
/// # Errors
/// When the operations of either document cannot be resolved.
pub fn diff_openapi_with(
    old: &Document,
    new: &Document,
    cmp: &dyn SchemaCompare,
    options: DiffOptions,
) -> Result<(Vec<Finding>, DiffStats), String> {
    match diff_path_items(old, new, cmp, options) {
        Ok(done) => Ok(done),
        Err(e) => {
            // The error of the first operation that cannot be resolved, in document order, the
            // old document first.
            operations(old).map_err(|e| format!("{}: {e}", old.source))?;
            operations(new).map_err(|e| format!("{}: {e}", new.source))?;
            Err(e)
        }
    }
}

/// The diff, one path item at a time: the operations of both versions of a path are resolved
/// together (each path item once) and dropped once compared, so that memory does not grow
/// with them; paths are matched through an index.
fn diff_path_items(
    old: &Document,
    new: &Document,
    cmp: &dyn SchemaCompare,
    options: DiffOptions,
) -> Result<(Vec<Finding>, DiffStats), String> {
    let in_old = |e: String| format!("{}: {e}", old.source);
    let in_new = |e: String| format!("{}: {e}", new.source);
    let mut differ = Differ {
        old_doc: old,
        new_doc: new,
        cmp,
        options,
        memo: HashMap::new(),
        stats: DiffStats::default(),
        out: Vec::new(),
    };
    // The new version's paths, with their methods, and an index by path; the path items
    // themselves are parsed again when compared (a document keeps them as text).
    let mut new_items = Vec::new();
    let mut new_by_path: HashMap<&str, usize> = HashMap::new();
    for (path, item) in path_items(new) {
        let item = item.map_err(in_new)?;
        let methods: Vec<&'static str> = path_methods(new, path, &item).map_err(in_new)?.collect();
        new_by_path.entry(path).or_insert(new_items.len());
        new_items.push((path, methods, false));
    }
    let (old_secured, new_secured) = (secured_globally(old), secured_globally(new));
    let mut old_keys: HashSet<(&'static str, &str)> = HashSet::new();
    for (path, item) in path_items(old) {
        let item = item.map_err(in_old)?;
        let old_ops = path_operations(old, path, &item, old_secured).map_err(in_old)?;
        for m in path_methods(old, path, &item).map_err(in_old)? {
            old_keys.insert((m, path));
        }
        let new_ops = match new_by_path.get(path) {
            Some(&j) => {
                new_items[j].2 = true;
                new_operations(new, path, new_secured).map_err(in_new)?
            }
            None => Vec::new(),
        };
        for o in &old_ops {
            let mut matched = None;
            for n in &new_ops {
                differ.stats.operations_examined += 1;
                if n.method == o.method && n.path == o.path {
                    matched = Some(n);
                    break;
                }
            }
            let first = differ.out.len();
            match matched {
                None => {
                    let path_gone = new_ops.is_empty();
                    differ.out.push(finding(
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
                Some(n) => differ.operation(o, n),
            }
            for f in &mut differ.out[first..] {
                f.operation = o.label();
            }
        }
    }
    for (path, methods, done) in &new_items {
        if !done {
            // Not compared, but resolved all the same: a new operation that cannot be is an
            // error, as in the old version.
            new_operations(new, path, new_secured).map_err(in_new)?;
        }
        for m in methods {
            differ.stats.operations_examined += 1;
            if !old_keys.contains(&(*m, *path)) {
                let label = format!("{} {path}", m.to_ascii_uppercase());
                let mut f = finding(
                    "operation-added",
                    Severity::Info,
                    "",
                    &format!("/paths/{}/{m}", esc(path)),
                    format!("{label}: new operation"),
                );
                f.operation = label;
                differ.out.push(f);
            }
        }
    }
    let Differ { mut out, stats, .. } = differ;
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    Ok((out, stats))
}

/// The operations of the path item of `path` in `doc` (parsed again from the document's text).
fn new_operations(doc: &Document, path: &str, secured: bool) -> Result<Vec<Operation>, String> {
    match doc.paths.get(path) {
        Some(item) => path_operations(doc, path, &*item?, secured),
        None => Ok(Vec::new()),
    }
}

/// What comparing an old schema with a new one for a role gave.
enum Compared {
    /// A schema could not be made standalone: the message.
    Unresolvable(String),
    /// The changes (none when the standalone schemas are equal).
    Changes(Vec<SchemaChange>),
}

/// The state of one diff: the documents, the comparisons already made, the findings so far.
struct Differ<'a> {
    old_doc: &'a Document,
    new_doc: &'a Document,
    cmp: &'a dyn SchemaCompare,
    options: DiffOptions,
    /// Comparisons by (old schema, new schema, role), the schemas as compact JSON: operations
    /// share component schemas through `$ref`s, and each pair is resolved and compared once.
    memo: HashMap<(String, String, bool), Rc<Compared>>,
    stats: DiffStats,
    out: Vec<Finding>,
}

impl Differ<'_> {
    fn operation(&mut self, o: &Operation, n: &Operation) {
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
                None if np.required => self.out.push(finding(
                    "request-parameter-required-added",
                    Severity::Breaking,
                    "",
                    &new_ptr,
                    format!("{label}: new required {where_} parameter `{}`", np.name),
                )),
                None => self.out.push(finding(
                    "request-parameter-added",
                    Severity::Info,
                    "",
                    &new_ptr,
                    format!("{label}: new optional {where_} parameter `{}`", np.name),
                )),
                Some(op) => {
                    if np.required && !op.required {
                        self.out.push(finding(
                            "request-parameter-became-required",
                            Severity::Breaking,
                            &format!("{}/parameters", o.pointer),
                            &new_ptr,
                            format!("{label}: {where_} parameter `{}` became required", np.name),
                        ));
                    }
                    if op.required && !np.required {
                        self.out.push(finding(
                            "request-parameter-became-optional",
                            Severity::Info,
                            &format!("{}/parameters", o.pointer),
                            &new_ptr,
                            format!("{label}: {where_} parameter `{}` became optional", np.name),
                        ));
                    }
                    if let (Some(os), Some(ns)) = (&op.schema, &np.schema) {
                        self.schemas(
                            os,
                            ns,
                            Role::Request,
                            &format!("{}/parameters/{}", o.pointer, esc(&np.name)),
                            &format!("{new_ptr}/{}", esc(&np.name)),
                            &format!("{label}: {where_} parameter `{}`", np.name),
                            "request-parameter",
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
                self.out.push(finding(
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
            self.out.push(finding(
                "request-body-became-required",
                Severity::Breaking,
                &format!("{}/requestBody", o.pointer),
                &format!("{}/requestBody", n.pointer),
                format!("{label}: the request body became required"),
            ));
        }
        if o.body_required && !n.body_required {
            self.out.push(finding(
                "request-body-became-optional",
                Severity::Info,
                &format!("{}/requestBody", o.pointer),
                &format!("{}/requestBody", n.pointer),
                format!("{label}: the request body became optional"),
            ));
        }
        for nm in &n.body {
            if !o.body.iter().any(|m| m.media_type == nm.media_type) {
                self.out.push(finding(
                    "request-media-type-added",
                    Severity::Info,
                    "",
                    &nm.pointer,
                    format!(
                        "{label}: request media type `{}` is now accepted",
                        nm.media_type
                    ),
                ));
            }
        }
        for om in &o.body {
            match n.body.iter().find(|m| m.media_type == om.media_type) {
                None => self.out.push(finding(
                    "request-media-type-removed",
                    Severity::Breaking,
                    &om.pointer,
                    "",
                    format!(
                        "{label}: request media type `{}` is no longer accepted",
                        om.media_type
                    ),
                )),
                Some(nm) => self.media_schemas(om, nm, Role::Request, &label, "request-body"),
            }
        }
        // Security.
        if n.secured && !o.secured {
            self.out.push(finding(
                "security-added",
                Severity::Breaking,
                &o.pointer,
                &n.pointer,
                format!("{label}: the operation now requires authentication"),
            ));
        }
        if o.secured && !n.secured {
            self.out.push(finding(
                "security-removed",
                Severity::Info,
                &o.pointer,
                &n.pointer,
                format!("{label}: the operation no longer requires authentication"),
            ));
        }
        for nr in &n.responses {
            if !o.responses.iter().any(|r| r.status == nr.status) {
                self.out.push(finding(
                    "response-status-added",
                    Severity::Info,
                    "",
                    &format!("{}/responses/{}", n.pointer, esc(&nr.status)),
                    format!("{label}: new response {}", nr.status),
                ));
            }
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
                    self.out.push(finding(
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
                    for nm in &nr.content {
                        if !or.content.iter().any(|m| m.media_type == nm.media_type) {
                            self.out.push(finding(
                                "response-media-type-added",
                                Severity::Info,
                                "",
                                &nm.pointer,
                                format!(
                                    "{label}: response {} may now come as `{}`",
                                    or.status, nm.media_type
                                ),
                            ));
                        }
                    }
                    for (name, _, _) in &nr.headers {
                        if !or
                            .headers
                            .iter()
                            .any(|(n2, _, _)| n2.eq_ignore_ascii_case(name))
                        {
                            self.out.push(finding(
                                "response-header-added",
                                Severity::Info,
                                "",
                                &format!(
                                    "{}/responses/{}/headers/{}",
                                    n.pointer,
                                    esc(&nr.status),
                                    esc(name)
                                ),
                                format!(
                                    "{label}: response {} has a new header `{name}`",
                                    or.status
                                ),
                            ));
                        }
                    }
                    for om in &or.content {
                        match nr.content.iter().find(|m| m.media_type == om.media_type) {
                            None => self.out.push(finding(
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
                            Some(nm) => self.media_schemas(
                                om,
                                nm,
                                Role::Response,
                                &format!("{label}: response {}", or.status),
                                "response-body",
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
                            self.schemas(
                                os,
                                ns,
                                Role::Response,
                                &at(&o.pointer),
                                &at(&n.pointer),
                                &format!("{label}: response {} header `{name}`", or.status),
                                "response-header",
                            );
                        }
                        if *required && still.is_none_or(|(_, r, _)| !r) {
                            self.out.push(finding(
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

    fn media_schemas(&mut self, om: &Media, nm: &Media, role: Role, label: &str, prefix: &str) {
        if let (Some(os), Some(ns)) = (&om.schema, &nm.schema) {
            self.schemas(
                os,
                ns,
                role,
                &om.pointer,
                &nm.pointer,
                &format!("{label} ({})", om.media_type),
                prefix,
            );
        }
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "the locations and labels of both sides"
    )]
    fn schemas(
        &mut self,
        old: &Value,
        new: &Value,
        role: Role,
        old_ptr: &str,
        new_ptr: &str,
        label: &str,
        prefix: &str,
    ) {
        let compared = self.compared(old, new, role);
        let changes = match compared.as_ref() {
            Compared::Unresolvable(e) => {
                self.out.push(finding(
                    &format!("{prefix}-unresolvable"),
                    Severity::Warning,
                    old_ptr,
                    new_ptr,
                    format!("{label}: cannot compare the schemas: {e}"),
                ));
                return;
            }
            Compared::Changes(changes) => changes,
        };
        // A change's path is relative to the compared schema, or absolute (`#/...`) when it lies in
        // a referenced schema.
        let place = |base: &str, path: &str| match path.strip_prefix('#') {
            Some(abs) => abs.to_owned(),
            None => format!("{base}{path}"),
        };
        for c in changes {
            self.out.push(Finding {
                id: format!("{prefix}-{}", c.kind),
                severity: if c.breaking {
                    Severity::Breaking
                } else {
                    Severity::Info
                },
                old_pointer: place(old_ptr, &c.old_path),
                new_pointer: place(new_ptr, &c.new_path),
                message: format!("{label}: {}", c.message),
                operation: String::new(),
                instance_path: c.instance_path.clone(),
                witness: c.witness.clone(),
                ignored: None,
            });
        }
    }

    /// Compares two schemas of the documents for a role, once for each distinct pair.
    fn compared(&mut self, old: &Value, new: &Value, role: Role) -> Rc<Compared> {
        let key = (old.to_string(), new.to_string(), role == Role::Request);
        if let Some(known) = self.memo.get(&key) {
            return Rc::clone(known);
        }
        let nodes = &mut self.stats.schema_nodes_resolved;
        let os = standalone_counted(self.old_doc, old, nodes);
        let ns = standalone_counted(self.new_doc, new, nodes);
        let compared = match (os, ns) {
            (Ok(os), Ok(ns)) => {
                // Unchanged schemas (the common case) need no comparison.
                if os == ns {
                    Compared::Changes(Vec::new())
                } else {
                    self.stats.schema_comparisons += 1;
                    let mut changes = self.cmp.compare(&os, &ns, role);
                    if self.options.all_changes {
                        changes.extend(compatible_changes(self.cmp, &os, &ns, role, &changes));
                    }
                    Compared::Changes(changes)
                }
            }
            (Err(e), _) | (_, Err(e)) => Compared::Unresolvable(e.to_string()),
        };
        let compared = Rc::new(compared);
        self.memo.insert(key, Rc::clone(&compared));
        compared
    }
}

/// The changes that break no one in `role`: those a comparison in the other direction finds
/// (what a request gains, what a response no longer sends), as non-breaking changes, less those
/// already among `breaking` (a change both ways, such as a changed `const`).
pub fn compatible_changes(
    cmp: &dyn SchemaCompare,
    old: &Value,
    new: &Value,
    role: Role,
    breaking: &[SchemaChange],
) -> Vec<SchemaChange> {
    let other = match role {
        Role::Request => Role::Response,
        Role::Response => Role::Request,
    };
    cmp.compare(old, new, other)
        .into_iter()
        .filter(|c| c.kind != "unresolvable")
        .filter(|c| {
            !breaking
                .iter()
                .any(|b| b.kind == c.kind && b.instance_path == c.instance_path)
        })
        .map(|c| SchemaChange {
            breaking: false,
            witness: None,
            ..c
        })
        .collect()
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
                instance_path: String::new(),
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
