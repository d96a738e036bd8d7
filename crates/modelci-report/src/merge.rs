//! Merging the reports of a sharded run (`modelci report merge`).
//!
//! Shards are disjoint by construction (`--shard K/N` runs a stable slice of the cases), so a
//! case that appears in two inputs means the inputs are not shards of one run: that is an error
//! naming both files rather than a silent double count. Suites are matched by name and keep the
//! order in which they first appear; cases keep input order.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use quick_junit::{Report, TestCaseStatus};

use crate::{ReportError, Run, Verdict};

/// Merges JSON reports into one run and recomputes its summary.
///
/// # Errors
/// Fails when no input is given, when two inputs hold the same case, or when a suite has
/// different kinds in two inputs.
pub fn merge_runs(inputs: Vec<(PathBuf, Run)>) -> Result<Run, ReportError> {
    let mut iter = inputs.into_iter();
    let Some((first_path, mut merged)) = iter.next() else {
        return Err(ReportError::Merge {
            message: "no reports to merge".into(),
        });
    };
    // (suite, case) -> file that holds it
    let mut seen: HashMap<(String, String), PathBuf> = HashMap::new();
    for suite in &merged.suites {
        for case in &suite.cases {
            check_unique(&mut seen, &suite.name, &case.name, &first_path)?;
        }
    }
    for (path, run) in iter {
        for suite in &run.suites {
            for case in &suite.cases {
                check_unique(&mut seen, &suite.name, &case.name, &path)?;
            }
        }
        merged.duration_ms = merged.duration_ms.max(run.duration_ms);
        merged.started_at = match (merged.started_at.take(), run.started_at) {
            (Some(a), Some(b)) => Some(if b < a { b } else { a }),
            (a, b) => a.or(b),
        };
        if merged.config != run.config {
            merged.config = merged.config.take().or(run.config);
        }
        merged.interrupted |= run.interrupted;
        merged.shards.extend(run.shards);
        for (k, v) in run.properties {
            merged.properties.insert_if_absent(k, v);
        }
        for suite in run.suites {
            match merged.suites.iter_mut().find(|s| s.name == suite.name) {
                Some(existing) => {
                    if existing.kind != suite.kind {
                        return Err(ReportError::Merge {
                            message: format!(
                                "suite `{}` is a `{}` suite in one input but a `{}` suite in `{}`",
                                suite.name,
                                existing.kind,
                                suite.kind,
                                path.display()
                            ),
                        });
                    }
                    existing.duration_ms += suite.duration_ms;
                    existing.cases.extend(suite.cases);
                    for (k, v) in suite.properties {
                        existing.properties.insert_if_absent(k, v);
                    }
                    if existing.location.is_none() {
                        existing.location = suite.location;
                    }
                }
                None => merged.suites.push(suite),
            }
        }
    }
    merged.shards.sort();
    merged.shards.dedup();
    merged.refresh_summary();
    Ok(merged)
}

fn check_unique(
    seen: &mut HashMap<(String, String), PathBuf>,
    suite: &str,
    case: &str,
    path: &Path,
) -> Result<(), ReportError> {
    if let Some(previous) = seen.insert((suite.to_owned(), case.to_owned()), path.to_path_buf()) {
        let message = if previous == path {
            format!(
                "case `{case}` of suite `{suite}` appears twice in `{}`",
                path.display()
            )
        } else {
            format!(
                "case `{case}` of suite `{suite}` is in both `{}` and `{}`; \
                 merge the reports of disjoint shards (--shard K/N) of one run",
                previous.display(),
                path.display()
            )
        };
        return Err(ReportError::Merge { message });
    }
    Ok(())
}

/// Merges JUnit reports (modelci's or any other producer's): test suites with the same name are
/// joined, counts are recomputed, and the report time is the longest input's.
///
/// # Errors
/// Fails when no input is given or when two inputs hold the same test case (same suite,
/// classname and name).
pub fn merge_junit(inputs: Vec<(PathBuf, Report)>) -> Result<Report, ReportError> {
    if inputs.is_empty() {
        return Err(ReportError::Merge {
            message: "no reports to merge".into(),
        });
    }
    let mut merged = Report::new("modelci");
    let mut seen: HashMap<(String, String), PathBuf> = HashMap::new();
    let mut time: Option<Duration> = None;
    for (path, report) in inputs {
        if merged.timestamp.is_none() || report.timestamp < merged.timestamp {
            merged.timestamp = report.timestamp.or(merged.timestamp);
        }
        time = time.max(report.time);
        for suite in report.test_suites {
            for case in &suite.test_cases {
                let id = format!(
                    "{}\u{0}{}",
                    case.classname.as_ref().map_or("", |c| c.as_str()),
                    case.name.as_str()
                );
                check_unique(&mut seen, suite.name.as_str(), &id, &path).map_err(|_| {
                    ReportError::Merge {
                        message: format!(
                            "test case `{}` of suite `{}` appears in more than one input \
                             (the last is `{}`); merge the reports of disjoint shards",
                            case.name.as_str(),
                            suite.name.as_str(),
                            path.display()
                        ),
                    }
                })?;
            }
            match merged.test_suites.iter_mut().find(|s| s.name == suite.name) {
                Some(existing) => {
                    existing.time = match (existing.time, suite.time) {
                        (Some(a), Some(b)) => Some(a + b),
                        (a, b) => a.or(b),
                    };
                    let mut props: HashSet<(String, String)> = existing
                        .properties
                        .iter()
                        .map(|p| (p.name.as_str().to_owned(), p.value.as_str().to_owned()))
                        .collect();
                    for p in suite.properties {
                        if props.insert((p.name.as_str().to_owned(), p.value.as_str().to_owned())) {
                            existing.properties.push(p);
                        }
                    }
                    existing.test_cases.extend(suite.test_cases);
                }
                None => merged.test_suites.push(suite),
            }
        }
    }
    if let Some(t) = time {
        merged.set_time(t);
    }
    recount(&mut merged);
    Ok(merged)
}

fn recount(report: &mut Report) {
    let (mut tests, mut failures, mut errors, mut skipped) = (0, 0, 0, 0);
    for suite in &mut report.test_suites {
        let (mut f, mut e, mut s) = (0, 0, 0);
        for case in &suite.test_cases {
            match &case.status {
                TestCaseStatus::Success { .. } => {}
                TestCaseStatus::NonSuccess { kind, .. } => match kind {
                    quick_junit::NonSuccessKind::Failure => f += 1,
                    quick_junit::NonSuccessKind::Error => e += 1,
                },
                TestCaseStatus::Skipped { .. } => s += 1,
            }
        }
        suite.tests = suite.test_cases.len();
        suite.failures = f;
        suite.errors = e;
        suite.skipped = s;
        tests += suite.tests;
        failures += f;
        errors += e;
        skipped += s;
    }
    report.tests = tests;
    report.failures = failures;
    report.errors = errors;
    report.skipped = skipped;
}

/// The verdict a JUnit report implies: error when any case errored, fail when any failed.
pub fn junit_verdict(report: &Report) -> Verdict {
    if report.errors > 0 {
        Verdict::Error
    } else if report.failures > 0 {
        Verdict::Fail
    } else {
        Verdict::Pass
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Case, Outcome, ShardSpec, Suite, junit, sample};

    fn shard(index: u32, cases: &[&str]) -> Run {
        let mut run = Run::new("0.1.0");
        run.shards = vec![ShardSpec { index, count: 2 }];
        let mut suite = Suite::new("s", "json-schema");
        for c in cases {
            suite.cases.push(Case::new(*c, Outcome::Passed));
        }
        run.suites.push(suite);
        run.refresh_summary();
        run
    }

    #[test]
    fn merges_disjoint_shards() {
        let merged = merge_runs(vec![
            ("a.json".into(), shard(1, &["a", "c"])),
            ("b.json".into(), shard(2, &["b"])),
        ])
        .expect("merge");
        assert_eq!(merged.summary.total, 3);
        assert_eq!(merged.shards.len(), 2);
        assert_eq!(merged.suites.len(), 1);
    }

    #[test]
    fn rejects_overlapping_shards_naming_both_files() {
        let err = merge_runs(vec![
            ("a.json".into(), shard(1, &["a"])),
            ("b.json".into(), shard(2, &["a"])),
        ])
        .expect_err("overlap");
        let msg = err.to_string();
        assert!(
            msg.contains("`a.json`") && msg.contains("`b.json`"),
            "{msg}"
        );
    }

    #[test]
    fn junit_merge_recounts() {
        let mut one = sample::run();
        let mut two = sample::run();
        one.suites.truncate(1);
        two.suites.remove(0);
        one.refresh_summary();
        two.refresh_summary();
        let merged = merge_junit(vec![
            ("1.xml".into(), junit::to_report(&one)),
            ("2.xml".into(), junit::to_report(&two)),
        ])
        .expect("merge");
        assert_eq!(merged.tests, 5);
        assert_eq!(merged.failures, 2);
        assert_eq!(merged.errors, 1);
        assert_eq!(merged.skipped, 1);
        assert_eq!(junit_verdict(&merged), Verdict::Error);
        let again = merge_junit(vec![
            ("1.xml".into(), junit::to_report(&one)),
            ("1b.xml".into(), junit::to_report(&one)),
        ]);
        assert!(again.is_err());
    }
}
