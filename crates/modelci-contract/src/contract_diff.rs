//! `modelci contract diff`: breaking changes between two versions of a contract (an OpenAPI
//! document or a bare JSON Schema), read from files or from git.

use std::path::Path;
use std::process::Command;

use modelci_openapi::diff::{
    DiffOptions, Finding, Role, SchemaCompare, Severity, compatible_changes, diff_openapi_with,
};
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
    diff_with(old, new, roles, cmp, DiffOptions::default())
}

/// [`diff`], with options (all changes, for a changelog).
///
/// # Errors
/// As [`diff`].
pub fn diff_with(
    old: &Document,
    new: &Document,
    roles: Roles,
    cmp: &dyn SchemaCompare,
    options: DiffOptions,
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
                let mut changes = cmp.compare(&old_s, &new_s, role);
                // Both directions already report every change, as breaking one way or the other.
                if options.all_changes && roles != Roles::Both {
                    changes.extend(compatible_changes(cmp, &old_s, &new_s, role, &changes));
                }
                for c in changes {
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
                        operation: String::new(),
                        instance_path: c.instance_path,
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
        _ => {
            let (mut findings, _) = diff_openapi_with(old, new, cmp, options)?;
            crate::deprecation::soften_deprecated_removals(
                old,
                &mut findings,
                chrono::Utc::now().date_naive(),
            );
            findings
        }
    };
    Ok(DiffReport {
        old_source: old.source.clone(),
        new_source: new.source.clone(),
        findings,
    })
}

/// Why a file could not be read at a git revision. Callers tell [`GitReadError::NotAtRef`] (a
/// document added since the revision: nothing to compare) from the rest (a broken setup).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GitReadError {
    /// The path has no file name.
    #[error("`{0}` is not a file path")]
    NotAFile(String),
    /// git could not be run.
    #[error("cannot run git: {0}")]
    GitMissing(String),
    /// The file's folder is not inside a git work tree.
    #[error("cannot read `{path}` from git: {reason}")]
    NotARepository { path: String, reason: String },
    /// The revision does not name a commit here (a shallow clone often lacks it).
    #[error(
        "cannot read `{path}` at `{reference}` from git: no commit `{reference}` here (fetch it, e.g. `git fetch origin {reference}`, or check out with full history)"
    )]
    BadRef { path: String, reference: String },
    /// The revision exists but has no file at this path: the file is newer.
    #[error("`{path}` does not exist at `{reference}`")]
    NotAtRef { path: String, reference: String },
    /// Anything else git said.
    #[error("cannot read `{path}` at `{reference}` from git: {reason}")]
    Git {
        path: String,
        reference: String,
        reason: String,
    },
    /// The file at the revision is not UTF-8.
    #[error("`{path}` at `{reference}` is not valid UTF-8")]
    NotUtf8 { path: String, reference: String },
}

/// Reads `path` as it was at git `reference` (`origin/main`, a tag, a commit), from the
/// repository that holds it.
///
/// # Errors
/// A [`GitReadError`] saying which of git, the repository, the revision or the file is missing.
pub fn read_at_ref(path: &Path, reference: &str) -> Result<String, GitReadError> {
    let shown = path.display().to_string();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| GitReadError::NotAFile(shown.clone()))?;
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .map_err(|e| GitReadError::GitMissing(e.to_string()))
    };
    let first_line = |bytes: &[u8]| {
        String::from_utf8_lossy(bytes)
            .lines()
            .next()
            .unwrap_or("unknown error")
            .trim()
            .trim_start_matches("fatal: ")
            .to_owned()
    };
    // A revision is never an option: `--output=x` would make git write a file.
    if reference.is_empty()
        || reference.starts_with('-')
        || reference
            .chars()
            .any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(GitReadError::BadRef {
            path: shown,
            reference: reference.to_owned(),
        });
    }
    let inside = git(&["rev-parse", "--is-inside-work-tree"])?;
    if !inside.status.success() {
        return Err(GitReadError::NotARepository {
            path: shown,
            reason: first_line(&inside.stderr),
        });
    }
    let commit = format!("{reference}^{{commit}}");
    if !git(&["rev-parse", "--verify", "--quiet", &commit])?
        .status
        .success()
    {
        return Err(GitReadError::BadRef {
            path: shown,
            reference: reference.to_owned(),
        });
    }
    let spec = format!("{reference}:./{}", name.to_string_lossy());
    if !git(&["cat-file", "-e", "--end-of-options", &spec])?
        .status
        .success()
    {
        return Err(GitReadError::NotAtRef {
            path: shown,
            reference: reference.to_owned(),
        });
    }
    let out = git(&["show", "--end-of-options", &spec])?;
    if !out.status.success() {
        return Err(GitReadError::Git {
            path: shown,
            reference: reference.to_owned(),
            reason: first_line(&out.stderr),
        });
    }
    String::from_utf8(out.stdout).map_err(|_| GitReadError::NotUtf8 {
        path: shown,
        reference: reference.to_owned(),
    })
}

#[cfg(test)]
mod git_tests {
    use super::*;

    use modelci_test_support::git;

    #[test]
    fn read_at_ref_tells_a_new_file_from_a_broken_setup() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = dir.path();
        git(repo, &["init", "-q"]);
        std::fs::write(repo.join("old.yaml"), "a: 1\n").expect("write");
        git(repo, &["add", "old.yaml"]);
        git(repo, &["commit", "-qm", "one"]);
        std::fs::write(repo.join("new.yaml"), "b: 2\n").expect("write");

        assert_eq!(
            read_at_ref(&repo.join("old.yaml"), "HEAD"),
            Ok("a: 1\n".into())
        );
        assert!(matches!(
            read_at_ref(&repo.join("new.yaml"), "HEAD"),
            Err(GitReadError::NotAtRef { .. })
        ));
        let bad = read_at_ref(&repo.join("old.yaml"), "no-such-ref");
        assert!(matches!(bad, Err(GitReadError::BadRef { .. })), "{bad:?}");
        assert!(
            bad.map_err(|e| e.to_string())
                .err()
                .is_some_and(|m| m.contains("at `no-such-ref` from git")),
        );

        // A revision that looks like an option is refused before git sees it.
        for reference in ["--output=written", "-p", "", "HEAD\nx"] {
            let r = read_at_ref(&repo.join("old.yaml"), reference);
            assert!(
                matches!(r, Err(GitReadError::BadRef { .. })),
                "{reference:?}: {r:?}"
            );
        }
        assert!(!repo.join("written").exists(), "git wrote a file");

        let outside = tempfile::tempdir().expect("tempdir");
        std::fs::write(outside.path().join("x.yaml"), "c: 3\n").expect("write");
        assert!(matches!(
            read_at_ref(&outside.path().join("x.yaml"), "HEAD"),
            Err(GitReadError::NotARepository { .. })
        ));
    }
}
