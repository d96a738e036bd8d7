//! Where output goes: the terminal (with the global `--color`, `--quiet` and `--verbose`), report
//! files, GitHub Actions files, error lines.
//!
//! Human text goes to stdout, except when a report is written there (`--json -`): then stdout
//! holds the report alone and every human line (summary, annotations, notes) goes to stderr.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use modelci_report::{Location, Run, github};

use crate::cli::ColorChoice;

/// Exit code for "modelci could not evaluate".
pub const EXIT_ERROR: u8 = 2;

/// How much modelci says on the terminal (`-q`, default, `-v`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// Only the verdict line and errors.
    Quiet,
    Normal,
    /// Every case with its time; a line per finished case in CI logs.
    Verbose,
}

#[derive(Debug, Clone, Copy)]
struct Ui {
    color: ColorChoice,
    verbosity: Verbosity,
}

static UI: OnceLock<Ui> = OnceLock::new();
/// Set once a report is written to stdout: human text goes to stderr from then on.
static STDOUT_TAKEN: AtomicBool = AtomicBool::new(false);

/// Records the global flags (once, before the command runs).
pub fn init(color: ColorChoice, quiet: bool, verbose: bool) {
    let verbosity = if quiet {
        Verbosity::Quiet
    } else if verbose {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    };
    let _ = UI.set(Ui { color, verbosity });
}

/// The verbosity the command line asked for.
pub fn verbosity() -> Verbosity {
    UI.get().map_or(Verbosity::Normal, |u| u.verbosity)
}

/// The two output streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn is_terminal(self) -> bool {
        match self {
            Stream::Stdout => std::io::stdout().is_terminal(),
            Stream::Stderr => std::io::stderr().is_terminal(),
        }
    }
}

/// Whether text written to `stream` gets colour (`--color`, then the environment).
pub fn colour(stream: Stream) -> bool {
    let choice = UI.get().map_or(ColorChoice::Auto, |u| u.color);
    decide_colour(choice, stream.is_terminal(), |k| std::env::var_os(k))
}

/// Why colour is on or off, when something other than the terminal decided (for `doctor`).
pub fn colour_reason() -> Option<String> {
    let choice = UI.get().map_or(ColorChoice::Auto, |u| u.color);
    let set = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    match choice {
        ColorChoice::Always => Some("--color always".into()),
        ColorChoice::Never => Some("--color never".into()),
        ColorChoice::Auto if set("NO_COLOR").is_some() => Some("NO_COLOR is set".into()),
        ColorChoice::Auto if set("CLICOLOR_FORCE").is_some_and(|v| v != "0") => {
            Some("CLICOLOR_FORCE is set".into())
        }
        ColorChoice::Auto if !Stream::Stdout.is_terminal() => {
            Some("stdout is not a terminal".into())
        }
        ColorChoice::Auto => None,
    }
}

/// `--color always` and `never` decide alone. `auto`: never when `NO_COLOR` is set (non-empty),
/// always when `CLICOLOR_FORCE` is set (non-empty, not `0`), never when `CLICOLOR=0` or
/// `TERM=dumb`, else only on a terminal.
pub fn decide_colour(
    choice: ColorChoice,
    terminal: bool,
    env: impl Fn(&str) -> Option<OsString>,
) -> bool {
    match choice {
        ColorChoice::Never => false,
        ColorChoice::Always => true,
        ColorChoice::Auto => {
            if env("NO_COLOR").is_some_and(|v| !v.is_empty()) {
                return false;
            }
            if env("CLICOLOR_FORCE").is_some_and(|v| !v.is_empty() && v != "0") {
                return true;
            }
            if env("CLICOLOR").is_some_and(|v| v == "0") || env("TERM").is_some_and(|v| v == "dumb")
            {
                return false;
            }
            terminal
        }
    }
}

/// From now on, stdout holds a report: human text goes to stderr.
pub fn take_stdout() {
    STDOUT_TAKEN.store(true, Ordering::SeqCst);
}

/// Where human text goes: stdout, or stderr when a report holds stdout.
pub fn human_stream() -> Stream {
    if STDOUT_TAKEN.load(Ordering::SeqCst) {
        Stream::Stderr
    } else {
        Stream::Stdout
    }
}

/// Writes human text (a summary, a table) to [`human_stream`].
pub fn human(text: &str) {
    match human_stream() {
        Stream::Stdout => stdout(text),
        Stream::Stderr => {
            use std::io::Write;
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(text.as_bytes());
            let _ = err.flush();
        }
    }
}

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
        human(&format!(
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

/// Prints a progress note on stderr (so stdout stays the report); nothing with `--quiet`.
pub fn status(message: &str) {
    use std::io::Write;
    if verbosity() == Verbosity::Quiet {
        return;
    }
    let _ = writeln!(std::io::stderr(), "{message}");
}

/// Prints `warning: message` on stderr; nothing with `--quiet`.
pub fn warning(message: &str) {
    use std::io::Write;
    if verbosity() == Verbosity::Quiet {
        return;
    }
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
            Ok(()) if modelci_report::is_stdout(&out.path) => {}
            Ok(()) => written.push(format!("{} {}", out.kind.name(), out.path.display())),
            Err(e) => {
                error(&e.to_string(), None);
                wrote_all = false;
            }
        }
    }
    // A report on stdout (`--json -`) keeps stdout to itself: the summary goes to stderr.
    if outputs.iter().any(|o| modelci_report::is_stdout(&o.path)) {
        take_stdout();
    }
    github(run);
    let mut text = crate::terminal::render(run, colour(human_stream()), verbosity());
    if !written.is_empty() && verbosity() > Verbosity::Quiet {
        text.push_str(&format!("reports: {}\n", written.join(", ")));
    }
    human(&text);
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
    prepare(&outputs)?;
    Ok(outputs)
}

/// Checks the outputs ([`validate_outputs`]) and, when one of them is stdout, sends human text
/// to stderr from now on.
///
/// # Errors
/// The message to print (exit code 2).
pub fn prepare(outputs: &[Output]) -> Result<(), String> {
    validate_outputs(outputs)?;
    if outputs.iter().any(|o| modelci_report::is_stdout(&o.path)) {
        take_stdout();
    }
    Ok(())
}

/// Checks report paths before anything runs: each folder exists, no path is a folder, and no two
/// outputs write one file.
///
/// # Errors
/// The message to print (exit code 2).
pub fn validate_outputs(outputs: &[Output]) -> Result<(), String> {
    let to_stdout: Vec<&Output> = outputs
        .iter()
        .filter(|o| modelci_report::is_stdout(&o.path))
        .collect();
    if let [first, second, ..] = to_stdout.as_slice() {
        return Err(format!(
            "{} and {} both write to stdout; only one report can go there (give the other a file path)",
            first.source, second.source
        ));
    }
    for (i, out) in outputs.iter().enumerate() {
        if modelci_report::is_stdout(&out.path) {
            continue;
        }
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
        for other in outputs[..i]
            .iter()
            .filter(|o| !modelci_report::is_stdout(&o.path))
        {
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
    // The runner reads workflow commands from stdout and stderr alike.
    human(&github::annotations(run, prefix.as_deref()));
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

    #[test]
    fn one_report_at_most_goes_to_stdout() {
        let dir = tempfile::tempdir().expect("tempdir");
        validate_outputs(&[
            out(ReportKind::Junit, &dir.path().join("r.xml")),
            out(ReportKind::Json, Path::new("-")),
        ])
        .expect("one on stdout is fine");
        let e = validate_outputs(&[
            out(ReportKind::Junit, Path::new("/dev/stdout")),
            out(ReportKind::Json, Path::new("-")),
        ])
        .expect_err("two on stdout");
        assert!(
            e.starts_with("--junit and --json both write to stdout"),
            "{e}"
        );
    }

    #[test]
    fn colour_follows_the_flag_then_no_color_then_clicolor_force_then_the_terminal() {
        use ColorChoice::{Always, Auto, Never};
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(name, _)| *name == k)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        assert!(decide_colour(Auto, true, env(&[])));
        assert!(!decide_colour(Auto, false, env(&[])));
        assert!(!decide_colour(Auto, true, env(&[("NO_COLOR", "1")])));
        assert!(decide_colour(Auto, true, env(&[("NO_COLOR", "")])));
        assert!(decide_colour(Auto, false, env(&[("CLICOLOR_FORCE", "1")])));
        assert!(!decide_colour(Auto, false, env(&[("CLICOLOR_FORCE", "0")])));
        assert!(!decide_colour(
            Auto,
            false,
            env(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")])
        ));
        assert!(!decide_colour(Auto, true, env(&[("CLICOLOR", "0")])));
        assert!(!decide_colour(Auto, true, env(&[("TERM", "dumb")])));
        assert!(decide_colour(Always, false, env(&[("NO_COLOR", "1")])));
        assert!(!decide_colour(Never, true, env(&[("CLICOLOR_FORCE", "1")])));
    }
}
