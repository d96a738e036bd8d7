//! JUnit XML, written with `quick-junit`.
//!
//! Layout: one `<testsuites>` for the run, one `<testsuite>` per suite, one `<testcase>` per case
//! with `classname` = suite name, and `file`/`line` attributes (read by
//! mikepenz/action-junit-report, EnricoMi/publish-unit-test-result-action and dorny/test-reporter
//! to place annotations). Failed cases carry `<failure>`, errored `<error>`, skipped `<skipped>`;
//! the element's `message` is the case message and its text holds the message, location,
//! expected/actual and detail. Properties go to `<properties>` on the suite and the case.

use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use crate::{Case, Outcome, ReportError, Run, Suite, write_atomic};

/// Builds the JUnit report for a run.
pub fn to_report(run: &Run) -> Report {
    let mut report = Report::new("modelci");
    if let Some(ts) = run
        .started_at
        .as_deref()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
    {
        report.set_timestamp(ts);
    }
    report.set_time(millis(run.duration_ms));
    report.add_test_suites(run.suites.iter().map(|s| to_suite(run, s)));
    report
}

fn to_suite(run: &Run, suite: &Suite) -> TestSuite {
    let mut ts = TestSuite::new(suite.name.as_str());
    ts.set_time(millis(suite.duration_ms));
    if let Some(started) = run
        .started_at
        .as_deref()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
    {
        ts.set_timestamp(started);
    }
    ts.add_property(Property::new("modelci.kind", suite.kind.as_str()));
    if let Some(loc) = &suite.location {
        ts.add_property(Property::new("modelci.location", loc.to_string()));
    }
    for (k, v) in &suite.properties {
        ts.add_property(Property::new(k.as_str(), v.as_str()));
    }
    ts.add_test_cases(suite.cases.iter().map(|c| to_case(suite, c)));
    ts
}

fn to_case(suite: &Suite, case: &Case) -> TestCase {
    let status = match case.outcome {
        Outcome::Passed => TestCaseStatus::success(),
        Outcome::Skipped => {
            let mut s = TestCaseStatus::skipped();
            if let Some(m) = &case.message {
                s.set_message(m.as_str());
            }
            s
        }
        Outcome::Failed | Outcome::Errored => {
            let kind = if case.outcome == Outcome::Failed {
                NonSuccessKind::Failure
            } else {
                NonSuccessKind::Error
            };
            let mut s = TestCaseStatus::non_success(kind);
            s.set_message(case.message.as_deref().unwrap_or(case.outcome.as_str()));
            s.set_type(suite.kind.as_str());
            s.set_description(description(case));
            s
        }
    };
    let mut tc = TestCase::new(case.name.as_str(), status);
    tc.set_classname(suite.name.as_str());
    tc.set_time(millis(case.duration_ms));
    if let Some(loc) = case.location.as_ref().or(suite.location.as_ref()) {
        tc.extra.insert("file".into(), loc.file.as_str().into());
        if let Some(line) = loc.line {
            tc.extra.insert("line".into(), line.to_string().into());
        }
    }
    for (k, v) in &case.properties {
        tc.add_property(Property::new(k.as_str(), v.as_str()));
    }
    tc
}

/// The text body of a `<failure>`/`<error>` element: everything a reader needs in one place.
fn description(case: &Case) -> String {
    let mut out = String::new();
    if let Some(m) = &case.message {
        out.push_str(m);
        out.push('\n');
    }
    if let Some(loc) = &case.location {
        out.push_str(&format!("at {loc}\n"));
    }
    if let Some(e) = &case.expected {
        out.push_str("expected:\n");
        out.push_str(&indent(e));
    }
    if let Some(a) = &case.actual {
        out.push_str("actual:\n");
        out.push_str(&indent(a));
    }
    if let Some(d) = &case.detail {
        out.push_str(d);
        out.push('\n');
    }
    out
}

fn indent(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for line in text.lines() {
        out.push_str("  ");
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn millis(ms: f64) -> Duration {
    Duration::from_secs_f64((ms / 1000.0).max(0.0))
}

/// Serializes a run as JUnit XML to `out`.
///
/// # Errors
/// Fails when `out` fails.
pub fn write(run: &Run, out: &mut dyn Write) -> io::Result<()> {
    to_report(run)
        .serialize(out)
        .map_err(|e| io::Error::other(e.to_string()))
}

/// Serializes a run as JUnit XML to a string.
pub fn to_string(run: &Run) -> String {
    let mut buf = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = write(run, &mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// Writes a run as JUnit XML to `path`, atomically.
///
/// # Errors
/// Fails when the file cannot be written.
pub fn write_file(run: &Run, path: &Path) -> Result<(), ReportError> {
    write_atomic(path, |out| write(run, out))
}

/// Reads a JUnit XML file (any producer's, not only modelci's).
///
/// # Errors
/// Fails when the file cannot be read or is not JUnit XML.
pub fn read_file(path: &Path) -> Result<Report, ReportError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReportError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    read_str(&text).map_err(|message| ReportError::Invalid {
        path: path.to_path_buf(),
        kind: "JUnit XML",
        message,
    })
}

/// Reads JUnit XML whose root is `<testsuites>` or a single `<testsuite>` (which many
/// producers write: Maven Surefire, pytest's `junit_family=xunit1`, Go's go-junit-report), the
/// latter as a report of that one suite.
///
/// # Errors
/// What the XML reader says is wrong.
pub fn read_str(text: &str) -> Result<Report, String> {
    let wrapped;
    let text = match root_start(text) {
        Some(at) if is_element(&text[at..], "testsuite") => {
            wrapped = format!("{}<testsuites>{}</testsuites>", &text[..at], &text[at..]);
            wrapped.as_str()
        }
        _ => text,
    };
    Report::deserialize_from_str(text).map_err(|e| e.to_string())
}

/// Where the root element starts: past the XML declaration, processing instructions, comments
/// and a DOCTYPE.
fn root_start(text: &str) -> Option<usize> {
    let mut at = 0;
    loop {
        let rest = &text[at..];
        let lt = rest.find('<')?;
        let tag = &rest[lt..];
        let skip = if tag.starts_with("<?") {
            tag.find("?>").map(|e| e + 2)
        } else if tag.starts_with("<!--") {
            tag.find("-->").map(|e| e + 3)
        } else if tag.starts_with("<!") {
            tag.find('>').map(|e| e + 1)
        } else {
            return Some(at + lt);
        };
        at += lt + skip?;
    }
}

/// Whether `tag` (starting at `<`) opens an element named exactly `name`.
fn is_element(tag: &str, name: &str) -> bool {
    tag.strip_prefix('<')
        .and_then(|t| t.strip_prefix(name))
        .and_then(|t| t.chars().next())
        .is_some_and(|c| c == '>' || c == '/' || c.is_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;

    #[test]
    fn a_single_testsuite_root_is_read_as_a_report_of_that_suite() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- written by pytest -->
<testsuite name="pytest" tests="2" failures="1" errors="0" skipped="0" time="0.5">
  <testcase classname="t" name="ok" time="0.1"/>
  <testcase classname="t" name="bad" time="0.2"><failure message="boom">trace</failure></testcase>
</testsuite>"#;
        let report = read_str(xml).expect("a <testsuite> root is accepted");
        assert_eq!(report.test_suites.len(), 1);
        assert_eq!(report.test_suites[0].name.as_str(), "pytest");
        assert_eq!(report.test_suites[0].test_cases.len(), 2);
        // `<testsuites>` roots still read as before, and garbage is still an error.
        assert!(read_str(&to_string(&sample::run())).is_ok());
        assert!(read_str("<testsuitex/>").is_err());
        assert!(read_str("not xml").is_err());
    }

    #[test]
    fn snapshot_of_sample_run() {
        insta::assert_snapshot!(to_string(&sample::run()));
    }

    #[test]
    fn failed_errored_skipped_map_to_their_elements_with_file_and_line() {
        let xml = to_string(&sample::run());
        let report = Report::deserialize_from_str(&xml).expect("round trip");
        assert_eq!(report.tests, 5);
        assert_eq!(report.failures, 2);
        assert_eq!(report.errors, 1);
        assert_eq!(report.skipped, 1);
        let bad = &report.test_suites[0].test_cases[1];
        assert_eq!(bad.name.as_str(), "recorded/bad.json");
        assert_eq!(
            bad.extra.get("file").map(|s| s.as_str()),
            Some("examples/demo/recorded/bad.json")
        );
        assert_eq!(bad.extra.get("line").map(|s| s.as_str()), Some("3"));
        assert!(matches!(
            bad.status,
            TestCaseStatus::NonSuccess {
                kind: NonSuccessKind::Failure,
                ..
            }
        ));
        let errored = &report.test_suites[1].test_cases[0];
        assert!(matches!(
            errored.status,
            TestCaseStatus::NonSuccess {
                kind: NonSuccessKind::Error,
                ..
            }
        ));
        assert!(matches!(
            report.test_suites[1].test_cases[1].status,
            TestCaseStatus::Skipped { .. }
        ));
    }

    #[test]
    fn special_characters_survive_a_round_trip() {
        let xml = to_string(&sample::run());
        let report = Report::deserialize_from_str(&xml).expect("round trip");
        let weird = &report.test_suites[0].test_cases[2];
        assert_eq!(weird.name.as_str(), "recorded/100%, weird: name.json");
        match &weird.status {
            TestCaseStatus::NonSuccess { message, .. } => assert_eq!(
                message.as_ref().map(|m| m.as_str()),
                Some("line one\nline two, with 50% <tags> & \"quotes\"")
            ),
            other => panic!("unexpected status {other:?}"),
        }
    }

    #[test]
    fn writing_into_a_missing_folder_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("missing/junit.xml");
        let err = write_file(&sample::run(), &path).expect_err("must fail");
        assert!(err.to_string().contains("missing"), "{err}");
    }
}
