//! `modelci init`: find what modelci can check in a repository and write a starting
//! `modelci.toml`.
//!
//! [`generate`] walks the folder ([`walk`]: breadth first, sorted, bounded by [`Limits`],
//! skipping build outputs, dependencies and hidden folders, never following links to folders),
//! classifies each file that may matter ([`detect`]: OpenAPI 3.x documents, pact files, JSON
//! Schemas, JSON and JSON Lines recordings, ONNX models, golden cases, CSV and Parquet
//! datasets, thresholds files, Dockerfiles and Compose files), decides the suites ([`plan`]:
//! which schema accepts which recordings, which document or model is the previous version of
//! which, which golden cases and datasets belong to which model) and writes them ([`render`])
//! with every path relative to the configuration file's folder.
//!
//! Suites that can run with what is in the repository are written active; those that need a
//! running service (pact, live OpenAPI tests), golden cases or thresholds are written commented
//! out, with what is missing said above them. The text is checked with the configuration
//! loader before it is returned, so `modelci check` can always load what `init` writes.
//!
//! Nothing here prints; problems with single files (unreadable, malformed, too large) are
//! returned as warnings, never as errors.

pub mod detect;
pub mod plan;
pub mod render;
pub mod walk;

use std::path::{Component, Path, PathBuf};

pub use plan::Plan;

/// How far the walk goes, so that a huge repository stays fast.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Folder levels below the scanned folder (default 8).
    pub max_depth: usize,
    /// Files and folders looked at in all (default 20,000).
    pub max_entries: usize,
    /// Text files (JSON, YAML) larger than this are not opened (default 8 MiB).
    pub max_read_bytes: u64,
    /// Datasets (CSV, Parquet) larger than this are not opened (default 64 MiB).
    pub max_dataset_bytes: u64,
    /// Bytes of JSON, YAML and datasets read in all; later files are not opened (default
    /// 512 MiB).
    pub max_total_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 8,
            max_entries: 20_000,
            max_read_bytes: 8 * 1024 * 1024,
            max_dataset_bytes: 64 * 1024 * 1024,
            max_total_bytes: 512 * 1024 * 1024,
        }
    }
}

/// JSON and JSON Lines recordings kept in memory to try the schemas on, in all.
const MAX_RECORDINGS_BYTES: u64 = 64 * 1024 * 1024;

/// What to scan and where the configuration will be written.
#[derive(Debug, Clone)]
pub struct Options {
    /// The folder to scan.
    pub root: PathBuf,
    /// Where the configuration file goes (its folder must exist); paths in it are written
    /// relative to its folder.
    pub config: PathBuf,
    pub limits: Limits,
    /// Ask git for a default branch to diff OpenAPI documents against (`base_ref`).
    pub git: bool,
}

/// The generated configuration and what to tell the user.
#[derive(Debug)]
pub struct Generated {
    /// The `modelci.toml` text.
    pub text: String,
    /// One line per suite (`kind  name: what`), active ones first.
    pub summary: Vec<String>,
    /// Files that looked relevant but could not be used, limits that cut the walk.
    pub warnings: Vec<String>,
    /// Things found that did not become a suite.
    pub notes: Vec<String>,
    /// Suites written active.
    pub active: usize,
    /// Suites written commented out.
    pub commented: usize,
}

/// Why nothing could be generated.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("cannot scan `{path}`: {reason}")]
    Root { path: String, reason: String },
    #[error("the folder of `{path}` does not exist ({reason})")]
    ConfigDir { path: String, reason: String },
    /// The generated text does not load: a bug in modelci, reported rather than written.
    #[error("internal error in modelci: the generated configuration does not load: {0}")]
    Invalid(String),
}

/// Scans `options.root` and writes the configuration text.
///
/// # Errors
/// The folder cannot be read, the configuration's folder does not exist, or (a bug) the text
/// does not load.
pub fn generate(options: &Options) -> Result<Generated, InitError> {
    let root = std::fs::canonicalize(&options.root).map_err(|e| InitError::Root {
        path: options.root.display().to_string(),
        reason: walk::reason(&e),
    })?;
    if !root.is_dir() {
        return Err(InitError::Root {
            path: options.root.display().to_string(),
            reason: "not a folder".into(),
        });
    }
    let config_dir = match options.config.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let config_dir = std::fs::canonicalize(&config_dir).map_err(|e| InitError::ConfigDir {
        path: options.config.display().to_string(),
        reason: walk::reason(&e),
    })?;

    let walked = walk::walk(&root, &options.limits);
    let mut warnings = walked.warnings;
    let mut found = Vec::new();
    let mut read = 0u64;
    let (mut recordings, mut skipped_recordings) = (0u64, 0usize);
    let mut over_budget = 0usize;
    for entry in &walked.files {
        let size = detect::read_size(entry);
        if size > 0 {
            if read.saturating_add(size) > options.limits.max_total_bytes {
                over_budget += 1;
                continue;
            }
            read = read.saturating_add(size);
        }
        match detect::classify(entry, &options.limits) {
            Ok(Some(detect::Kind::Documents { .. }))
                if recordings.saturating_add(size) > MAX_RECORDINGS_BYTES =>
            {
                skipped_recordings += 1;
            }
            Ok(Some(kind)) => {
                if matches!(kind, detect::Kind::Documents { .. }) {
                    recordings = recordings.saturating_add(size);
                }
                found.push(plan::Found {
                    rel: entry.rel.clone(),
                    path: entry.path.clone(),
                    kind,
                });
            }
            Ok(None) => {}
            Err(warning) => warnings.push(warning),
        }
    }
    if skipped_recordings > 0 {
        warnings.push(format!(
            "{skipped_recordings} JSON file(s) not tried as recordings: {} MiB of them kept \
             already (the limit)",
            MAX_RECORDINGS_BYTES / (1024 * 1024)
        ));
    }
    if over_budget > 0 {
        warnings.push(format!(
            "{over_budget} file(s) not opened: {} MiB of JSON, YAML and datasets read already \
             (the limit)",
            options.limits.max_total_bytes / (1024 * 1024)
        ));
    }
    if let Some(cut) = walked.truncated {
        warnings.push(cut);
    }
    let git = GitCli {
        root: root.clone(),
        enabled: options.git,
    };
    let plan = plan::plan(&found, &walked.onnx_layouts, &git);
    let project = root.file_name().map_or_else(
        || "project".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    let prefix = relative(&config_dir, &root).ok_or_else(|| InitError::Root {
        path: options.root.display().to_string(),
        reason: "the way from the configuration's folder to it has a name that is not UTF-8, \
                 which modelci.toml cannot hold"
            .into(),
    })?;
    let paths = render::Paths { prefix };
    let text = render::render(&plan, &project, &paths);
    modelci_config::parse(&options.config, &text).map_err(|e| InitError::Invalid(e.to_string()))?;
    let (summary, active, commented) = summarize(&plan);
    Ok(Generated {
        text,
        summary,
        warnings,
        notes: plan.notes,
        active,
        commented,
    })
}

fn summarize(plan: &Plan) -> (Vec<String>, usize, usize) {
    let mut on = Vec::new();
    let mut off = Vec::new();
    for s in &plan.json_schema {
        on.push(format!(
            "json-schema  {}: {} ({} recorded file(s))",
            s.name, s.schema, s.documents
        ));
    }
    for s in &plan.openapi {
        let what = match (&s.previous, &s.base_ref) {
            (Some(p), _) => format!("{}, breaking changes since {p}", s.openapi),
            (None, Some(r)) => format!("{}, breaking changes since {r}", s.openapi),
            (None, None) if !s.recorded.is_empty() => format!("{}, recorded traffic", s.openapi),
            (None, None) => format!("{} (commented out: needs a running service)", s.openapi),
        };
        let line = format!("openapi      {}: {what}", s.name);
        if s.active() {
            on.push(line)
        } else {
            off.push(line)
        }
    }
    for s in &plan.pact {
        off.push(format!(
            "pact         {}: {} (commented out: needs the provider running)",
            s.name,
            s.pacts.join(", ")
        ));
    }
    for s in &plan.model {
        if s.lfs_pointer {
            off.push(format!(
                "model        {}: {} (commented out: a Git LFS pointer)",
                s.name, s.model
            ));
        } else if s.cases.is_empty() {
            off.push(format!(
                "model        {}: {} (commented out: no golden cases; `modelci model record` makes them)",
                s.name, s.model
            ));
        } else {
            on.push(format!(
                "model        {}: {} with {}",
                s.name,
                s.model,
                s.cases.join(", ")
            ));
        }
    }
    for s in &plan.gate {
        let label = format!(
            "label `{}`{}",
            s.label,
            if s.guessed.is_some() {
                " (guessed)"
            } else {
                ""
            }
        );
        match (&s.candidate, &s.thresholds) {
            (Some(c), Some(_)) => on.push(format!(
                "gate         {}: {c} on {}, {label}",
                s.name, s.dataset
            )),
            (None, _) => off.push(format!(
                "gate         {}: {}, {label} (commented out: no model found for it)",
                s.name, s.dataset
            )),
            (Some(_), None) => off.push(format!(
                "gate         {}: {}, {label} (commented out: no thresholds file)",
                s.name, s.dataset
            )),
        }
    }
    let (active, commented) = (on.len(), off.len());
    on.extend(off);
    (on, active, commented)
}

/// The path from folder `from` to folder `to` (both absolute), `/`-separated; empty when they
/// are the same. `None` when a name on the way is not UTF-8.
pub fn relative(from: &Path, to: &Path) -> Option<String> {
    let a: Vec<Component<'_>> = from.components().collect();
    let b: Vec<Component<'_>> = to.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<&str> = vec![".."; a.len() - common];
    for c in &b[common..] {
        parts.push(c.as_os_str().to_str()?);
    }
    Some(parts.join("/"))
}

/// git through its command line.
struct GitCli {
    root: PathBuf,
    enabled: bool,
}

impl GitCli {
    fn run(&self, args: &[&str]) -> Option<String> {
        if !self.enabled {
            return None;
        }
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(&self.root)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }
}

impl plan::Git for GitCli {
    fn default_ref(&self) -> Option<String> {
        if let Some(r) = self.run(&["rev-parse", "--abbrev-ref", "origin/HEAD"])
            && r.starts_with("origin/")
            && r != "origin/HEAD"
        {
            return Some(r);
        }
        ["origin/main", "origin/master"]
            .into_iter()
            .find(|r| self.run(&["rev-parse", "--verify", "--quiet", r]).is_some())
            .map(str::to_owned)
    }

    fn exists_at(&self, revision: &str, rel: &str) -> bool {
        self.run(&["cat-file", "-e", &format!("{revision}:./{rel}")])
            .is_some()
    }
}

#[cfg(test)]
mod tests;
