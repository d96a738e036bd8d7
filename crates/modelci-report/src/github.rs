//! GitHub Actions integration: workflow-command annotations, step outputs and the job summary.
//!
//! - [`annotations`] gives one `::error file=…,line=…,title=…::message` line per failed or errored
//!   case, most important first (errored cases, which keep the gate from deciding, then failed
//!   ones, each in report order), at most [`MAX_ANNOTATIONS_PER_TYPE`] per annotation type since
//!   GitHub drops the rest; when cases are left out, a `::notice` says how many and points to the
//!   job summary, which lists them all.
//! - [`outputs`] gives the `key=value` lines for `$GITHUB_OUTPUT`: `verdict=pass|fail|error` and
//!   the counts.
//! - The job summary is [`crate::markdown::summary`], appended to `$GITHUB_STEP_SUMMARY`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use modelci_text::truncate;

use crate::{Case, Outcome, ReportError, Run, Suite};

/// GitHub shows at most this many annotations of each type (error, warning, notice) per step.
pub const MAX_ANNOTATIONS_PER_TYPE: usize = 10;

/// Escapes the message part of a workflow command (`%`, CR and LF).
pub fn escape_data(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes a property value of a workflow command (`%`, CR, LF, `:` and `,`).
pub fn escape_property(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            ':' => out.push_str("%3A"),
            ',' => out.push_str("%2C"),
            c => out.push(c),
        }
    }
    out
}

/// The annotation lines for a run, each ending in a newline.
///
/// `path_prefix` is prepended to relative file paths so that they are relative to the repository
/// root (`$GITHUB_WORKSPACE`) when modelci runs in a subfolder of it.
pub fn annotations(run: &Run, path_prefix: Option<&Path>) -> String {
    let mut important: Vec<(&Suite, &Case)> = run
        .cases()
        .filter(|(_, c)| c.outcome == Outcome::Errored)
        .collect();
    important.extend(run.cases().filter(|(_, c)| c.outcome == Outcome::Failed));

    let mut out = String::new();
    for (suite, case) in important.iter().take(MAX_ANNOTATIONS_PER_TYPE) {
        annotation(&mut out, path_prefix, suite, case);
    }
    let left_out = important.len().saturating_sub(MAX_ANNOTATIONS_PER_TYPE);
    if left_out > 0 {
        let _ = writeln!(
            out,
            "::notice title={}::{}",
            escape_property("modelci: more failures"),
            escape_data(&format!(
                "{left_out} more failed or errored case(s) are not annotated \
                 (GitHub shows {MAX_ANNOTATIONS_PER_TYPE} per step); the job summary lists them all."
            ))
        );
    }
    if run.interrupted {
        let _ = writeln!(
            out,
            "::warning title={}::{}",
            escape_property("modelci: interrupted"),
            escape_data("the run was interrupted before every case ran; the verdict is `error`.")
        );
    }
    out
}

fn annotation(out: &mut String, prefix: Option<&Path>, suite: &Suite, case: &Case) {
    let mut props = Vec::new();
    if let Some(loc) = case.location.as_ref().or(suite.location.as_ref()) {
        let file = match prefix {
            Some(p) if Path::new(&loc.file).is_relative() && !p.as_os_str().is_empty() => {
                p.join(&loc.file).to_string_lossy().into_owned()
            }
            _ => loc.file.clone(),
        };
        props.push(format!("file={}", escape_property(&file)));
        if let Some(line) = loc.line {
            props.push(format!("line={line}"));
            if let Some(col) = loc.column {
                props.push(format!("col={col}"));
            }
        }
    }
    let what = if case.outcome == Outcome::Errored {
        "could not check"
    } else {
        "failed"
    };
    props.push(format!(
        "title={}",
        escape_property(&format!("{} › {} {what}", suite.name, case.name))
    ));
    let mut message = case
        .message
        .clone()
        .unwrap_or_else(|| case.outcome.to_string());
    if let Some(e) = &case.expected {
        let _ = write!(message, "\nexpected: {}", truncate(e, 2000));
    }
    if let Some(a) = &case.actual {
        let _ = write!(message, "\nactual: {}", truncate(a, 2000));
    }
    let _ = writeln!(
        out,
        "::error {}::{}",
        props.join(","),
        escape_data(&message)
    );
}

/// The `$GITHUB_OUTPUT` lines: `verdict` and the counts.
pub fn outputs(run: &Run) -> String {
    let s = &run.summary;
    format!(
        "verdict={}\ntotal={}\npassed={}\nfailed={}\nerrored={}\nskipped={}\n",
        s.verdict, s.total, s.passed, s.failed, s.errored, s.skipped
    )
}

/// Appends `text` to the file at `path` (for `$GITHUB_OUTPUT` and `$GITHUB_STEP_SUMMARY`).
///
/// # Errors
/// Fails when the file cannot be opened or written.
pub fn append(path: &Path, text: &str) -> Result<(), ReportError> {
    let err = |source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(err)?;
    f.write_all(text.as_bytes()).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;

    #[test]
    fn escapes_workflow_command_values() {
        assert_eq!(escape_data("50%\r\nnext: a,b"), "50%25%0D%0Anext: a,b");
        assert_eq!(
            escape_property("50%\r\nnext: a,b"),
            "50%25%0D%0Anext%3A a%2Cb"
        );
    }

    fn unescape(s: &str) -> String {
        s.replace("%0A", "\n")
            .replace("%0D", "\r")
            .replace("%3A", ":")
            .replace("%2C", ",")
            .replace("%25", "%")
    }

    proptest::proptest! {
        #[test]
        fn escaped_values_hold_no_separators_and_round_trip(s in ".*") {
            let p = escape_property(&s);
            proptest::prop_assert!(!p.contains([':', ',', '\n', '\r']));
            proptest::prop_assert_eq!(unescape(&p), s.clone());
            let d = escape_data(&s);
            proptest::prop_assert!(!d.contains(['\n', '\r']));
            proptest::prop_assert_eq!(unescape(&d), s);
        }
    }

    #[test]
    fn snapshot_of_sample_annotations() {
        insta::assert_snapshot!(annotations(&sample::run(), None));
    }

    #[test]
    fn errored_cases_come_first_and_paths_get_the_workspace_prefix() {
        let text = annotations(&sample::run(), Some(Path::new("sub/dir")));
        let first = text.lines().next().expect("a line");
        assert!(
            first.starts_with("::error file=sub/dir/examples/demo/recorded/missing.json,title="),
            "{first}"
        );
    }

    #[test]
    fn at_most_ten_errors_then_a_notice() {
        let mut run = sample::run();
        for i in 0..25 {
            run.suites[0]
                .cases
                .push(Case::failed(format!("extra-{i}"), "boom"));
        }
        run.refresh_summary();
        let text = annotations(&run, None);
        assert_eq!(
            text.lines().filter(|l| l.starts_with("::error ")).count(),
            10
        );
        let notice = text
            .lines()
            .find(|l| l.starts_with("::notice "))
            .expect("notice");
        assert!(notice.contains("18 more failed or errored"), "{notice}");
    }

    #[test]
    fn outputs_carry_the_verdict_and_counts() {
        assert_eq!(
            outputs(&sample::run()),
            "verdict=error\ntotal=5\npassed=1\nfailed=2\nerrored=1\nskipped=1\n"
        );
    }
}
