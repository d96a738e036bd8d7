//! Where results go besides the terminal: report files, GitHub Actions files, error lines.

use std::path::{Path, PathBuf};

use modelci_report::{Location, Run, github};

/// Exit code for "modelci could not evaluate".
pub const EXIT_ERROR: u8 = 2;

/// Prints `error: message` on stderr; inside GitHub Actions also an `::error` annotation (at
/// the file and line when given) so the problem shows on the run page.
pub fn error(message: &str, at: Option<&Location>) {
    use std::io::Write;
    let message = &crate::terminal::escape_controls(message);
    let _ = writeln!(std::io::stderr(), "error: {message}");
    if github_actions() {
        let mut props = Vec::new();
        if let Some(at) = at {
            props.push(format!("file={}", github::escape_property(&at.file)));
            if let Some(line) = at.line {
                props.push(format!("line={line}"));
            }
            if let Some(col) = at.column {
                props.push(format!("col={col}"));
            }
        }
        props.push("title=modelci".into());
        stdout(&format!(
            "::error {}::{}\n",
            props.join(","),
            github::escape_data(message)
        ));
    }
}

/// Writes text to stdout, ignoring a closed pipe (`modelci check | head` must not panic).
pub fn stdout(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// Prints a progress note on stderr (so stdout stays the report).
pub fn status(message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{message}");
}

/// Prints `warning: message` on stderr.
pub fn warning(message: &str) {
    use std::io::Write;
    let message = crate::terminal::escape_controls(message);
    let _ = writeln!(std::io::stderr(), "warning: {message}");
}

/// Whether modelci runs as a GitHub Actions step.
pub fn github_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// The kinds of report file modelci writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    Junit,
    Json,
}

impl ReportKind {
    /// `JUnit` or `JSON`, for messages.
    pub fn name(self) -> &'static str {
        match self {
            ReportKind::Junit => "JUnit",
            ReportKind::Json => "JSON",
        }
    }

    /// The command-line flag that names this report.
    pub fn flag(self) -> &'static str {
        match self {
            ReportKind::Junit => "--junit",
            ReportKind::Json => "--json",
        }
    }

    /// The `[report]` key that names this report.
    pub fn key(self) -> &'static str {
        match self {
            ReportKind::Junit => "`report.junit`",
            ReportKind::Json => "`report.json`",
        }
    }
}

/// A report file to write.
#[derive(Debug, Clone)]
pub struct Output {
    pub kind: ReportKind,
    /// The flag or key that named it, for messages.
    pub source: &'static str,
    pub path: PathBuf,
}

impl Output {
    /// The report named by the flag, else by the config key, else none.
    pub fn choose(
        kind: ReportKind,
        flag: Option<&PathBuf>,
        key: Option<&PathBuf>,
    ) -> Option<Output> {
        let (source, path) = match (flag, key) {
            (Some(p), _) => (kind.flag(), p),
            (None, Some(p)) => (kind.key(), p),
            (None, None) => return None,
        };
        Some(Output {
            kind,
            source,
            path: path.clone(),
        })
    }

    /// Writes `run` as this report.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn write(&self, run: &Run) -> Result<(), modelci_report::ReportError> {
        match self.kind {
            ReportKind::Junit => modelci_report::junit::write_file(run, &self.path),
            ReportKind::Json => modelci_report::json::write_file(run, &self.path),
        }
    }
}

/// Ends a command that produced a run: writes every report (going on after a failure), the
/// GitHub outputs and the terminal summary, and returns the exit code: the verdict's, or 2 when
/// a report could not be written. Reports come first, so that a closed terminal cannot lose them.
pub fn finish(run: &Run, outputs: &[Output]) -> u8 {
    let mut wrote_all = true;
    let mut written = Vec::new();
    for out in outputs {
        match out.write(run) {
            Ok(()) => written.push(format!("{} {}", out.kind.name(), out.path.display())),
            Err(e) => {
                error(&e.to_string(), None);
                wrote_all = false;
            }
        }
    }
    github(run);
    // A report on stdout (`--json -`) keeps stdout to itself: the summary goes to stderr.
    let report_on_stdout = outputs.iter().any(|o| modelci_report::is_stdout(&o.path));
    let colour = if report_on_stdout {
        crate::terminal::colour_stderr()
    } else {
        crate::terminal::colour_stdout()
    };
    let mut text = crate::terminal::render(run, colour);
    if !written.is_empty() {
        text.push_str(&format!("reports: {}\n", written.join(", ")));
    }
    if report_on_stdout {
        use std::io::Write;
        let _ = std::io::stderr().write_all(text.as_bytes());
    } else {
        stdout(&text);
    }
    if wrote_all {
        run.summary.verdict.exit_code()
    } else {
        EXIT_ERROR
    }
}

/// The reports that `--junit`/`--json` ask for, checked (see [`validate_outputs`]).
///
/// # Errors
/// The message to print (exit code 2).
pub fn requested(reports: &crate::cli::ReportArgs) -> Result<Vec<Output>, String> {
    let outputs: Vec<Output> = [
        (ReportKind::Junit, reports.junit.as_ref()),
        (ReportKind::Json, reports.json.as_ref()),
    ]
    .into_iter()
    .filter_map(|(kind, flag)| Output::choose(kind, flag, None))
    .collect();
    validate_outputs(&outputs)?;
    Ok(outputs)
}

/// Checks report paths before anything runs: each folder exists, no path is a folder, and no two
/// outputs write one file.
///
/// # Errors
/// The message to print (exit code 2).
pub fn validate_outputs(outputs: &[Output]) -> Result<(), String> {
    for (i, out) in outputs.iter().enumerate() {
        let shown = out.path.display();
        if out.path.as_os_str().is_empty() {
            return Err(format!("{} must not be empty", out.source));
        }
        if out.path.is_dir() {
            return Err(format!(
                "cannot write the {} report to `{shown}` ({}): it is a folder; give a file path",
                out.kind.name(),
                out.source
            ));
        }
        let parent = match out.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if !parent.is_dir() {
            return Err(format!(
                "cannot write the {} report to `{shown}` ({}): folder `{}` does not exist",
                out.kind.name(),
                out.source,
                parent.display()
            ));
        }
        for other in &outputs[..i] {
            if same_file(&other.path, &out.path) {
                return Err(format!(
                    "{} and {} both write `{shown}`; give each report its own file",
                    other.source, out.source
                ));
            }
        }
    }
    Ok(())
}

fn same_file(a: &Path, b: &Path) -> bool {
    fn norm(p: &Path) -> PathBuf {
        let name = p.file_name().map(PathBuf::from).unwrap_or_default();
        let parent = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        std::fs::canonicalize(parent)
            .unwrap_or_else(|_| parent.to_path_buf())
            .join(name)
    }
    norm(a) == norm(b)
}

/// Writes the GitHub Actions outputs of a run when running as a GitHub Actions step:
/// annotations on stdout, the job summary and the step outputs. Problems are warnings: they do
/// not change the verdict.
pub fn github(run: &Run) {
    if !github_actions() {
        return;
    }
    let prefix = workspace_prefix();
    stdout(&github::annotations(run, prefix.as_deref()));
    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        let text = modelci_report::markdown::summary(run);
        if let Err(e) = github::append(Path::new(&path), &text) {
            warning(&format!("job summary not written: {e}"));
        }
    }
    if let Some(path) = std::env::var_os("GITHUB_OUTPUT").filter(|p| !p.is_empty())
        && let Err(e) = github::append(Path::new(&path), &github::outputs(run))
    {
        warning(&format!("step outputs not written: {e}"));
    }
}

/// The current folder relative to `$GITHUB_WORKSPACE`, so annotation paths are repo-relative.
fn workspace_prefix() -> Option<PathBuf> {
    let ws = std::fs::canonicalize(std::env::var_os("GITHUB_WORKSPACE")?).ok()?;
    let cwd = std::env::current_dir().ok()?.canonicalize().ok()?;
    cwd.strip_prefix(&ws).ok().map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(kind: ReportKind, path: &Path) -> Output {
        Output {
            kind,
            source: kind.flag(),
            path: path.to_path_buf(),
        }
    }

    #[test]
    fn rejects_missing_folders_folders_and_shared_paths() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let e = validate_outputs(&[out(ReportKind::Junit, &d.join("nope/x.xml"))])
            .expect_err("missing");
        assert!(
            e.contains("folder `") && e.ends_with("nope` does not exist"),
            "{e}"
        );
        let e = validate_outputs(&[out(ReportKind::Json, d)]).expect_err("folder");
        assert!(e.contains("it is a folder"), "{e}");
        let e = validate_outputs(&[
            out(ReportKind::Junit, &d.join("r.xml")),
            out(ReportKind::Json, &d.join("./r.xml")),
        ])
        .expect_err("shared");
        assert!(e.starts_with("--junit and --json both write"), "{e}");
        validate_outputs(&[
            out(ReportKind::Junit, &d.join("r.xml")),
            out(ReportKind::Json, &d.join("r.json")),
        ])
        .expect("fine");
    }
}
