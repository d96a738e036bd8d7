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
    /// What applying an ignore file said (expired entries, entries that match nothing).
    pub warnings: Vec<String>,
}

impl DiffReport {
    /// How many findings of each severity, ignored ones left out.
    pub fn counts(&self) -> (usize, usize, usize) {
        let c = |s| {
            self.findings
                .iter()
                .filter(|f| f.severity == s && f.ignored.is_none())
                .count()
        };
        (
            c(Severity::Breaking),
            c(Severity::Warning),
            c(Severity::Info),
        )
    }

    /// How many findings an ignore entry accepted.
    pub fn ignored(&self) -> usize {
        self.findings.iter().filter(|f| f.ignored.is_some()).count()
    }

    /// Whether a finding at or above `fail_on`, not ignored, exists.
    pub fn fails(&self, fail_on: Severity) -> bool {
        self.findings
            .iter()
            .any(|f| f.severity >= fail_on && f.ignored.is_none())
    }

    /// Applies an ignore file: marks what it accepts and keeps its warnings.
    pub fn apply_ignores(
        &mut self,
        list: &crate::diff_ignore::IgnoreList,
        today: chrono::NaiveDate,
    ) {
        let warnings = list.apply(&mut self.findings, today);
        self.warnings.extend(warnings);
    }

    /// `{"findings": [...], "summary": {...}}`.
    pub fn to_json(&self, fail_on: Severity) -> Value {
        let (b, w, i) = self.counts();
        json!({
            "old": self.old_source,
            "new": self.new_source,
            "findings": self.findings,
            "warnings": self.warnings,
            "summary": {
                "breaking": b,
                "warning": w,
                "info": i,
                "ignored": self.ignored(),
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
                if f.ignored.is_some() {
                    "IGNORED".to_owned()
                } else {
                    f.severity.as_str().to_uppercase()
                },
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
            if let Some(ig) = &f.ignored {
                out.push_str(&format!(
                    "         ignored {} change ({}{}): {}\n",
                    f.severity,
                    ig.source,
                    ig.until
                        .as_ref()
                        .map(|u| format!(", until {u}"))
                        .unwrap_or_default(),
                    ig.reason
                ));
            }
        }
        for w in &self.warnings {
            out.push_str(&format!("\nwarning: {w}"));
        }
        if !self.warnings.is_empty() {
            out.push('\n');
        }
        let ignored = match self.ignored() {
            0 => String::new(),
            n => format!(", {n} ignored"),
        };
        out.push_str(&format!(
            "\n{b} breaking, {w} warning(s), {i} info{ignored}; fails on {fail_on}: {}\n",
            if self.fails(fail_on) { "FAIL" } else { "PASS" }
        ));
        out
    }

    /// A Markdown table (for pull-request comments and job summaries).
    pub fn to_markdown(&self, fail_on: Severity) -> String {
        let (b, w, i) = self.counts();
        let icon = if self.fails(fail_on) { "❌" } else { "✅" };
        let ignored = match self.ignored() {
            0 => String::new(),
            n => format!(", {n} ignored"),
        };
        let mut out = format!(
            "## {icon} Contract diff: {b} breaking, {w} warning(s), {i} info{ignored}\n\n`{}` → `{}`\n\n",
            self.old_source, self.new_source
        );
        for w in &self.warnings {
            out.push_str(&format!("> ⚠️ {}\n\n", w.replace('\n', " ")));
        }
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
                let severity = match &f.ignored {
                    Some(ig) => {
                        details.push_str(&format!(
                            " — **ignored** ({}): {}",
                            cell(&ig.source),
                            cell(&ig.reason)
                        ));
                        format!("~~{}~~ ignored", f.severity)
                    }
                    None => f.severity.to_string(),
                };
                out.push_str(&format!(
                    "| {} | `{}` | `{}` | {} |\n",
                    severity,
                    f.id,
                    cell(where_),
                    details
                ));
            }
        }
        out
    }

    /// Release notes in Markdown: every finding, grouped by operation (in path order, then
    /// method order), the most severe first within each; breaking changes and warnings are
    /// marked, ignored ones say why they were accepted.
    pub fn to_changelog(&self) -> String {
        const METHOD_ORDER: &[&str] = &[
            "GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE",
        ];
        let (b, w, i) = self.counts();
        let mut out = format!(
            "# API changes: `{}` → `{}`\n\n",
            self.old_source, self.new_source
        );
        if self.findings.is_empty() {
            out.push_str("No changes.\n");
            return out;
        }
        let ignored = match self.ignored() {
            0 => String::new(),
            n => format!(", {n} accepted as intended"),
        };
        out.push_str(&format!(
            "{b} breaking, {w} to note, {i} compatible{ignored}.\n"
        ));
        let key = |op: &str| -> (u8, String, usize) {
            match op.split_once(' ') {
                Some((m, p)) => (
                    0,
                    p.to_owned(),
                    METHOD_ORDER
                        .iter()
                        .position(|x| *x == m)
                        .unwrap_or(METHOD_ORDER.len()),
                ),
                None => (1, op.to_owned(), 0),
            }
        };
        let mut ops: Vec<&str> = self.findings.iter().map(|f| f.operation.as_str()).collect();
        ops.sort_by_key(|op| key(op));
        ops.dedup();
        for op in ops {
            let title = if op.is_empty() { "Schema" } else { op };
            out.push_str(&format!("\n## {title}\n\n"));
            let mut items: Vec<&Finding> =
                self.findings.iter().filter(|f| f.operation == op).collect();
            items.sort_by_key(|f| std::cmp::Reverse(f.severity));
            for f in items {
                let text = changelog_text(&f.message, op);
                let tag = match (&f.ignored, f.severity) {
                    (Some(ig), s) => format!(
                        "**{} (accepted: {})** ",
                        capitalise(s.as_str()),
                        ig.reason.replace('\n', " ")
                    ),
                    (None, Severity::Breaking) => "**Breaking:** ".to_owned(),
                    (None, Severity::Warning) => "**Note:** ".to_owned(),
                    (None, Severity::Info) => String::new(),
                };
                out.push_str(&format!("- {tag}{text} (`{}`)\n", f.id));
            }
        }
        if !self.warnings.is_empty() {
            out.push('\n');
            for w in &self.warnings {
                out.push_str(&format!("> ⚠️ {}\n", w.replace('\n', " ")));
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
            let mut case = match &f.ignored {
                Some(ig) => Case::skipped(
                    name,
                    format!(
                        "ignored {} change ({}): {} — {}",
                        f.severity, ig.source, ig.reason, f.message
                    ),
                ),
                None => {
                    let outcome = if f.severity >= fail_on {
                        Outcome::Failed
                    } else {
                        Outcome::Passed
                    };
                    Case::new(name, outcome).with_message(format!("{}: {}", f.severity, f.message))
                }
            };
            if !f.operation.is_empty() {
                case.properties.insert("operation", f.operation.clone());
            }
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

/// Today's date (UTC), which decides whether `x-sunset` dates and ignore entries' `until` have
/// passed.
pub fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
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
                        ignored: None,
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
            crate::deprecation::soften_deprecated_removals(old, &mut findings, today());
            findings
        }
    };
    Ok(DiffReport {
        old_source: old.source.clone(),
        new_source: new.source.clone(),
        findings,
        warnings: Vec::new(),
    })
}

/// A finding's message without the operation it starts with, capitalised.
fn changelog_text(message: &str, op: &str) -> String {
    let rest = if op.is_empty() {
        message
    } else {
        match message.strip_prefix(op) {
            Some(r) if r.starts_with(": ") => &r[2..],
            // A request body's label is the operation and the media type.
            Some(r) if r.starts_with(" (") => return capitalise(&format!("request body{r}")),
            _ => message,
        }
    };
    capitalise(rest)
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
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
