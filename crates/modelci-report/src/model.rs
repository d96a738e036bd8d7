use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Properties;

/// Version of the JSON report format. Bumped on any incompatible change; additive changes keep it.
pub const SCHEMA_VERSION: u32 = 1;

/// One modelci run: every suite that was planned, with its cases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(
    title = "modelci report",
    description = "Results of one `modelci check` run (or several merged shards)."
)]
pub struct Run {
    /// Version of this report format (currently 1).
    pub schema_version: u32,
    /// The program that produced the report.
    pub tool: Tool,
    /// When the run started, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// Wall-clock duration of the run in milliseconds.
    #[serde(default)]
    pub duration_ms: f64,
    /// The configuration file the run used, as given on the command line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
    /// The shards this report covers: one for a sharded run, several after a merge, none when
    /// the run was not sharded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<ShardSpec>,
    /// True when the run was interrupted (for example by Ctrl-C) before every case ran.
    #[serde(default)]
    pub interrupted: bool,
    /// Free-form run properties (host, CI provider, ...).
    #[serde(default, skip_serializing_if = "Properties::is_empty")]
    pub properties: Properties,
    /// Verdict and counts over every case. Recomputed from the cases when a report is read.
    pub summary: Counts,
    /// The suites, in declaration order.
    pub suites: Vec<Suite>,
}

/// The program that wrote a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Tool {
    /// Always `modelci`.
    pub name: String,
    /// The modelci version.
    pub version: String,
}

/// `--shard K/N`: this run covers the K-th of N stable slices of the cases (1-based).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub struct ShardSpec {
    /// 1-based index of this shard.
    pub index: u32,
    /// Number of shards.
    pub count: u32,
}

impl fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// A group of cases produced by one declared check (one `[[suite.*]]` entry of `modelci.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Suite {
    /// The suite's name, unique within a run.
    pub name: String,
    /// The kind of check (`json-schema`, ...).
    pub kind: String,
    /// Where the suite is declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// Time spent on the suite's cases, in milliseconds.
    #[serde(default)]
    pub duration_ms: f64,
    /// Suite properties (schema path, model hash, device, ...).
    #[serde(default, skip_serializing_if = "Properties::is_empty")]
    pub properties: Properties,
    /// Counts over this suite's cases.
    pub summary: Counts,
    /// The cases, in a stable order.
    pub cases: Vec<Case>,
}

/// One test case and its outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Case {
    /// The case's name, unique within its suite and stable between runs (used for sharding).
    pub name: String,
    /// What happened.
    pub outcome: Outcome,
    /// Time the case took, in milliseconds.
    #[serde(default)]
    pub duration_ms: f64,
    /// One-line explanation: why it failed, errored or was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// What the check expected, when it compares values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// What the system under test produced, when the check compares values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    /// Longer free text: every violation, a log excerpt, a reproduction command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Case properties (model sha256, device, seed, threshold source, ...).
    #[serde(default, skip_serializing_if = "Properties::is_empty")]
    pub properties: Properties,
    /// Where the case is declared, or where the failure is (the offending line of a file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

/// The outcome of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Every assertion held.
    Passed,
    /// An assertion about the system under test did not hold.
    Failed,
    /// The check could not be carried out (unreadable file, unreachable service, ...).
    Errored,
    /// The case was not run.
    Skipped,
}

impl Outcome {
    /// The lowercase name used in every report.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::Errored => "errored",
            Outcome::Skipped => "skipped",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where something is declared: a file, and the 1-based line (and column) when known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Location {
    /// Path of the file, relative to the working directory when it lies below it.
    pub file: String,
    /// 1-based line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
}

impl Location {
    /// A location pointing at a whole file.
    pub fn file(file: impl Into<String>) -> Self {
        Location {
            file: file.into(),
            line: None,
            column: None,
        }
    }

    /// The location of byte `offset` of `text`, the content of `file`.
    pub fn at_offset(file: impl Into<String>, text: &str, offset: usize) -> Self {
        let (line, column) = line_col(text, offset);
        Location {
            file: file.into(),
            line: Some(line),
            column: Some(column),
        }
    }

    /// A location pointing at a line of a file.
    pub fn line(file: impl Into<String>, line: u32) -> Self {
        Location {
            file: file.into(),
            line: Some(line),
            column: None,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        Ok(())
    }
}

/// 1-based line and column (in characters) of byte `offset` of `text` (clamped to the text, and
/// back to a character boundary).
pub fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = text[start..offset].chars().count() + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(col).unwrap_or(u32::MAX),
    )
}

/// The answer a run gives: every case passed, at least one failed, or modelci could not evaluate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// No case failed or errored (skipped cases do not count against a run).
    Pass,
    /// At least one case failed and none errored.
    Fail,
    /// At least one case errored, or the run was interrupted: the gate could not evaluate.
    Error,
}

impl Verdict {
    /// The process exit code for this verdict: 0 pass, 1 fail, 2 error.
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Pass => 0,
            Verdict::Fail => 1,
            Verdict::Error => 2,
        }
    }

    /// `pass`, `fail` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Error => "error",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Case counts and the verdict they imply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Counts {
    /// pass, fail or error (see the exit codes).
    pub verdict: Verdict,
    /// Number of cases.
    pub total: usize,
    /// Cases that passed.
    pub passed: usize,
    /// Cases that failed.
    pub failed: usize,
    /// Cases that errored.
    pub errored: usize,
    /// Cases that were skipped.
    pub skipped: usize,
}

impl Default for Counts {
    fn default() -> Self {
        Counts {
            verdict: Verdict::Pass,
            total: 0,
            passed: 0,
            failed: 0,
            errored: 0,
            skipped: 0,
        }
    }
}

impl Counts {
    /// Counts the outcomes of `cases`.
    pub fn of<'a>(cases: impl IntoIterator<Item = &'a Case>) -> Counts {
        let mut c = Counts::default();
        for case in cases {
            c.add(case.outcome);
        }
        c.verdict = c.implied_verdict(false);
        c
    }

    fn add(&mut self, outcome: Outcome) {
        self.total += 1;
        match outcome {
            Outcome::Passed => self.passed += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::Errored => self.errored += 1,
            Outcome::Skipped => self.skipped += 1,
        }
    }

    fn implied_verdict(&self, interrupted: bool) -> Verdict {
        if self.errored > 0 || interrupted {
            Verdict::Error
        } else if self.failed > 0 {
            Verdict::Fail
        } else {
            Verdict::Pass
        }
    }
}

impl Run {
    /// An empty run started now by this version of modelci.
    pub fn new(version: impl Into<String>) -> Run {
        Run {
            schema_version: SCHEMA_VERSION,
            tool: Tool {
                name: "modelci".into(),
                version: version.into(),
            },
            started_at: None,
            duration_ms: 0.0,
            config: None,
            shards: Vec::new(),
            interrupted: false,
            properties: Properties::new(),
            summary: Counts::default(),
            suites: Vec::new(),
        }
    }

    /// Recomputes every suite's and the run's counts and verdict from the cases.
    pub fn refresh_summary(&mut self) {
        let mut total = Counts::default();
        for suite in &mut self.suites {
            suite.refresh_summary();
            for case in &suite.cases {
                total.add(case.outcome);
            }
        }
        total.verdict = total.implied_verdict(self.interrupted);
        self.summary = total;
    }

    /// The run's verdict, computed from the cases (not from the stored summary).
    pub fn verdict(&self) -> Verdict {
        let mut total = Counts::default();
        for case in self.suites.iter().flat_map(|s| &s.cases) {
            total.add(case.outcome);
        }
        total.implied_verdict(self.interrupted)
    }

    /// Every case with its suite, in report order.
    pub fn cases(&self) -> impl Iterator<Item = (&Suite, &Case)> {
        self.suites
            .iter()
            .flat_map(|s| s.cases.iter().map(move |c| (s, c)))
    }
}

impl Suite {
    /// An empty suite.
    pub fn new(name: impl Into<String>, kind: impl Into<String>) -> Suite {
        Suite {
            name: name.into(),
            kind: kind.into(),
            location: None,
            duration_ms: 0.0,
            properties: Properties::new(),
            summary: Counts::default(),
            cases: Vec::new(),
        }
    }

    /// Recomputes the suite's counts from its cases.
    pub fn refresh_summary(&mut self) {
        self.summary = Counts::of(&self.cases);
    }
}

impl Case {
    /// A case with the given outcome and nothing else.
    pub fn new(name: impl Into<String>, outcome: Outcome) -> Case {
        Case {
            name: name.into(),
            outcome,
            duration_ms: 0.0,
            message: None,
            expected: None,
            actual: None,
            detail: None,
            properties: Properties::new(),
            location: None,
        }
    }

    /// A passed case.
    pub fn passed(name: impl Into<String>) -> Case {
        Case::new(name, Outcome::Passed)
    }

    /// A failed case with its message.
    pub fn failed(name: impl Into<String>, message: impl Into<String>) -> Case {
        Case::new(name, Outcome::Failed).with_message(message)
    }

    /// An errored case with its message.
    pub fn errored(name: impl Into<String>, message: impl Into<String>) -> Case {
        Case::new(name, Outcome::Errored).with_message(message)
    }

    /// A skipped case with the reason.
    pub fn skipped(name: impl Into<String>, message: impl Into<String>) -> Case {
        Case::new(name, Outcome::Skipped).with_message(message)
    }

    /// Sets the message.
    #[must_use]
    pub fn with_message(mut self, message: impl Into<String>) -> Case {
        self.message = Some(message.into());
        self
    }

    /// Rewrites every free text of the case (message, detail, expected, actual) with `f`: to
    /// hide secrets, or to escape control characters for a terminal.
    pub fn map_texts(&mut self, f: impl Fn(&str) -> String) {
        for text in [
            &mut self.message,
            &mut self.detail,
            &mut self.expected,
            &mut self.actual,
        ]
        .into_iter()
        .flatten()
        {
            *text = f(text);
        }
    }

    /// Sets the location.
    #[must_use]
    pub fn with_location(mut self, location: Location) -> Case {
        self.location = Some(location);
        self
    }

    /// Adds a property.
    #[must_use]
    pub fn with_property(mut self, key: impl Into<String>, value: impl Into<String>) -> Case {
        self.properties.insert(key.into(), value.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_prefers_error_over_failure() {
        let mut run = Run::new("0.0.0");
        let mut suite = Suite::new("s", "k");
        suite.cases.push(Case::passed("a"));
        suite.cases.push(Case::failed("b", "no"));
        run.suites.push(suite);
        run.refresh_summary();
        assert_eq!(run.summary.verdict, Verdict::Fail);
        assert_eq!(run.summary.verdict.exit_code(), 1);
        run.suites[0].cases.push(Case::errored("c", "unreadable"));
        run.refresh_summary();
        assert_eq!(run.summary.verdict, Verdict::Error);
        assert_eq!(run.summary.errored, 1);
        assert_eq!(run.suites[0].summary.total, 3);
    }

    #[test]
    fn skipped_cases_do_not_fail_a_run_but_interruption_does() {
        let mut run = Run::new("0.0.0");
        let mut suite = Suite::new("s", "k");
        suite.cases.push(Case::skipped("a", "filtered"));
        run.suites.push(suite);
        run.refresh_summary();
        assert_eq!(run.summary.verdict, Verdict::Pass);
        run.interrupted = true;
        run.refresh_summary();
        assert_eq!(run.summary.verdict, Verdict::Error);
    }

    #[test]
    fn line_and_column_of_an_offset() {
        assert_eq!(line_col("é=1", 2), (1, 2));
        assert_eq!(line_col("é=1", 3), (1, 3));
        assert_eq!(line_col("é=1", 1), (1, 1));
        assert_eq!(line_col("ab\ncd", 99), (2, 3));
        assert_eq!(Location::at_offset("f", "a\nbc", 3).to_string(), "f:2:2");
    }

    #[test]
    fn location_display() {
        assert_eq!(Location::line("a.toml", 3).to_string(), "a.toml:3");
        assert_eq!(Location::file("a.toml").to_string(), "a.toml");
    }
}
