//! `modelci contract diff`: breaking changes between two versions of a contract (an OpenAPI
//! document or a bare JSON Schema), read from files or from git.

use std::path::Path;
use std::process::Command;

use modelci_openapi::diff::{Finding, Role, SchemaCompare, Severity, diff_openapi};
use modelci_openapi::{Document, Kind};
use modelci_report::{Case, Location, Outcome, Run, Suite};
use serde_json::{Value, json};

/// Which directions matter for a bare JSON Schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Roles {
    Request,
    Response,
    Both,
}

/// The findings of a diff, most severe first.
#[derive(Debug, Clone)]
pub struct DiffReport {
    pub old_source: String,
    pub new_source: String,
    pub findings: Vec<Finding>,
}

impl DiffReport {
    /// How many findings of each severity.
    pub fn counts(&self) -> (usize, usize, usize) {
        let c = |s| self.findings.iter().filter(|f| f.severity == s).count();
        (
            c(Severity::Breaking),
            c(Severity::Warning),
            c(Severity::Info),
        )
    }

    /// Whether a finding at or above `fail_on` exists.
    pub fn fails(&self, fail_on: Severity) -> bool {
        self.findings.iter().any(|f| f.severity >= fail_on)
    }

    /// `{"findings": [...], "summary": {...}}`.
    pub fn to_json(&self, fail_on: Severity) -> Value {
        let (b, w, i) = self.counts();
        json!({
            "old": self.old_source,
            "new": self.new_source,
            "findings": self.findings,
            "summary": {
                "breaking": b,
                "warning": w,
                "info": i,
                "total": self.findings.len(),
                "fail_on": fail_on.as_str(),
                "verdict": if self.fails(fail_on) { "fail" } else { "pass" },
            }
        })
    }

    /// Plain text, one finding per line.
    pub fn to_text(&self, fail_on: Severity) -> String {
        let (b, w, i) = self.counts();
        let mut out = format!("{} -> {}\n\n", self.old_source, self.new_source);
        if self.findings.is_empty() {
            out.push_str("no changes that matter\n");
        }
        for f in &self.findings {
            out.push_str(&format!(
                "{:<8} {:<40} {}\n",
                f.severity.as_str().to_uppercase(),
                f.id,
                f.message
            ));
            let ptrs = match (f.old_pointer.is_empty(), f.new_pointer.is_empty()) {
                (false, false) => format!("old {} · new {}", f.old_pointer, f.new_pointer),
                (false, true) => format!("old {}", f.old_pointer),
                (true, false) => format!("new {}", f.new_pointer),
                (true, true) => String::new(),
            };
            if !ptrs.is_empty() {
                out.push_str(&format!("         {ptrs}\n"));
            }
            if let Some(w) = &f.witness {
                out.push_str(&format!("         witness: {w}\n"));
            }
        }
        out.push_str(&format!(
            "\n{b} breaking, {w} warning(s), {i} info; fails on {fail_on}: {}\n",
            if self.fails(fail_on) { "FAIL" } else { "PASS" }
        ));
        out
    }

    /// A Markdown table (for pull-request comments and job summaries).
    pub fn to_markdown(&self, fail_on: Severity) -> String {
        let (b, w, i) = self.counts();
        let icon = if self.fails(fail_on) { "❌" } else { "✅" };
        let mut out = format!(
            "## {icon} Contract diff: {b} breaking, {w} warning(s), {i} info\n\n`{}` → `{}`\n\n",
            self.old_source, self.new_source
        );
        if !self.findings.is_empty() {
            out.push_str("| Severity | Change | Where | Details |\n|---|---|---|---|\n");
            for f in &self.findings {
                let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
                let where_ = if f.new_pointer.is_empty() {
                    &f.old_pointer
                } else {
                    &f.new_pointer
                };
                let mut details = cell(&f.message);
                if let Some(w) = &f.witness {
                    details.push_str(&format!(" (e.g. `{}`)", cell(&w.to_string())));
                }
                out.push_str(&format!(
                    "| {} | `{}` | `{}` | {} |\n",
                    f.severity,
                    f.id,
                    cell(where_),
                    details
                ));
            }
        }
        out
    }

    /// The result model: one case per finding (failed at or above `fail_on`, passed below with
    /// the finding as its message), or one passed case when nothing changed.
    pub fn to_run(&self, suite_name: &str, fail_on: Severity, version: &str) -> Run {
        let mut run = Run::new(version);
        let mut suite = Suite::new(suite_name, "contract-diff");
        suite.properties.insert("old", self.old_source.clone());
        suite.properties.insert("new", self.new_source.clone());
        suite.properties.insert("fail_on", fail_on.as_str());
        if self.findings.is_empty() {
            suite.cases.push(Case::passed("no breaking changes"));
        }
        for (n, f) in self.findings.iter().enumerate() {
            let name = format!(
                "#{} {} {}",
                n + 1,
                f.id,
                if f.new_pointer.is_empty() {
                    &f.old_pointer
                } else {
                    &f.new_pointer
                }
            );
            let outcome = if f.severity >= fail_on {
                Outcome::Failed
            } else {
                Outcome::Passed
            };
            let mut case =
                Case::new(name, outcome).with_message(format!("{}: {}", f.severity, f.message));
            case.properties.insert("severity", f.severity.as_str());
            case.properties.insert("id", f.id.clone());
            if !f.old_pointer.is_empty() {
                case.properties.insert("old_pointer", f.old_pointer.clone());
            }
            if !f.new_pointer.is_empty() {
                case.properties.insert("new_pointer", f.new_pointer.clone());
            }
            if let Some(w) = &f.witness {
                case.actual = Some(w.to_string());
                case.detail = Some(format!(
                    "witness (accepted by one version, rejected by the other): {w}"
                ));
            }
            case.location = Some(Location::file(self.new_source.clone()));
            suite.cases.push(case);
        }
        suite.refresh_summary();
        run.suites.push(suite);
        run.refresh_summary();
        run
    }
}

/// Compares two loaded contracts.
///
/// # Errors
/// When the two documents are not of the same kind, or cannot be resolved.
pub fn diff(
    old: &Document,
    new: &Document,
    roles: Roles,
    cmp: &dyn SchemaCompare,
) -> Result<DiffReport, String> {
    let findings = match (old.kind, new.kind) {
        (Kind::JsonSchema, Kind::JsonSchema) => {
            let mut out = Vec::new();
            let old_s = modelci_openapi::schema::standalone(old, &old.root)
                .map_err(|e| format!("{}: {e}", old.source))?;
            let new_s = modelci_openapi::schema::standalone(new, &new.root)
                .map_err(|e| format!("{}: {e}", new.source))?;
            for (role, applies) in [
                (Role::Request, matches!(roles, Roles::Request | Roles::Both)),
                (
                    Role::Response,
                    matches!(roles, Roles::Response | Roles::Both),
                ),
            ] {
                if !applies {
                    continue;
                }
                let prefix = if role == Role::Request {
                    "request"
                } else {
                    "response"
                };
                for c in cmp.compare(&old_s, &new_s, role) {
                    out.push(Finding {
                        id: format!("{prefix}-{}", c.kind),
                        severity: if c.breaking {
                            Severity::Breaking
                        } else {
                            Severity::Info
                        },
                        old_pointer: c.old_path,
                        new_pointer: c.new_path,
                        message: format!("as a {prefix}: {}", c.message),
                        witness: c.witness,
                    });
                }
            }
            out
        }
        (Kind::JsonSchema, _) | (_, Kind::JsonSchema) => {
            return Err(format!(
                "`{}` and `{}` are not the same kind of contract (an OpenAPI document and a JSON Schema)",
                old.source, new.source
            ));
        }
        _ => diff_openapi(old, new, cmp)?,
    };
    Ok(DiffReport {
        old_source: old.source.clone(),
        new_source: new.source.clone(),
        findings,
    })
}

/// Reads `path` as it was at git `reference` (`origin/main`, a tag, a commit), from the
/// repository that holds it.
///
/// # Errors
/// When git is missing, the path is not in a repository, or not in that revision.
pub fn read_at_ref(path: &Path, reference: &str) -> Result<String, String> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| format!("`{}` is not a file path", path.display()))?;
    let spec = format!("{reference}:./{}", name.to_string_lossy());
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["show", &spec])
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "cannot read `{}` at `{reference}` from git: {}",
            path.display(),
            err.lines().next().unwrap_or("unknown error").trim()
        ));
    }
    String::from_utf8(out.stdout)
        .map_err(|_| format!("`{}` at `{reference}` is not valid UTF-8", path.display()))
}
