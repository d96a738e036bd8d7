use std::collections::HashSet;
use std::fs;
use std::path::Path;

use modelci_report::Verdict;

use super::*;

fn project(files: usize) -> (tempfile::TempDir, Config) {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    fs::write(
        root.join("schema.json"),
        r#"{"type": "object", "required": ["ok"]}"#,
    )
    .expect("w");
    fs::create_dir(root.join("rec")).expect("mkdir");
    for i in 0..files {
        let body = if i % 4 == 3 { "{}" } else { r#"{"ok": true}"# };
        fs::write(root.join(format!("rec/{i:03}.json")), body).expect("w");
    }
    let text = r#"
[[suite.json-schema]]
name = "recorded"
schema = "schema.json"
files = ["rec/*.json"]

[[suite.json-schema]]
name = "broken"
schema = "missing-schema.json"
files = ["rec/*.json"]
"#;
    let path = root.join("modelci.toml");
    fs::write(&path, text).expect("w");
    let config = modelci_config::load(&path).expect("config");
    (dir, config)
}

fn options() -> RunOptions {
    RunOptions {
        jobs: 2,
        version: "0.0.0".into(),
        ..RunOptions::default()
    }
}

#[test]
fn runs_every_suite_and_reports_setup_errors_once() {
    let (_dir, config) = project(8);
    let run = run(&config, &options(), &mut Quiet).expect("run");
    assert_eq!(run.suites.len(), 2);
    assert_eq!(run.suites[0].summary.passed, 6);
    assert_eq!(run.suites[0].summary.failed, 2);
    let names: Vec<_> = run.suites[0]
        .cases
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names[0], "rec/000.json");
    assert_eq!(names[7], "rec/007.json");
    let setup = &run.suites[1].cases;
    assert_eq!(setup.len(), 1);
    assert_eq!(setup[0].outcome, Outcome::Errored);
    assert_eq!(setup[0].location.as_ref().and_then(|l| l.line), Some(9));
    assert_eq!(run.summary.verdict, Verdict::Error);
}

#[test]
fn shards_are_disjoint_balanced_and_complete() {
    let (_dir, config) = project(10);
    let mut seen = HashSet::new();
    let mut sizes = Vec::new();
    for index in 1..=3 {
        let opts = RunOptions {
            shard: Some(ShardSpec { index, count: 3 }),
            ..options()
        };
        let run = run(&config, &opts, &mut Quiet).expect("run");
        assert_eq!(run.shards, vec![ShardSpec { index, count: 3 }]);
        sizes.push(run.summary.total);
        for (suite, case) in run.cases() {
            assert!(
                seen.insert((suite.name.clone(), case.name.clone())),
                "{}",
                case.name
            );
        }
    }
    assert_eq!(seen.len(), 11);
    assert!(sizes.iter().all(|s| (3..=4).contains(s)), "{sizes:?}");
}

#[test]
fn only_selects_suites_and_unknown_names_suggest() {
    let (_dir, config) = project(2);
    let opts = RunOptions {
        only: vec!["recorded".into()],
        ..options()
    };
    let run = run(&config, &opts, &mut Quiet).expect("run");
    assert_eq!(run.suites.len(), 1);
    let opts = RunOptions {
        only: vec!["recroded".into()],
        ..options()
    };
    let err = super::run(&config, &opts, &mut Quiet).expect_err("unknown");
    assert!(
        err.to_string()
            .ends_with("declares no suite named `recroded`; did you mean `recorded`?"),
        "{err}"
    );
}

#[test]
fn a_cancelled_run_still_reports_every_case() {
    let (_dir, config) = project(6);
    let opts = options();
    opts.cancel.store(true, Ordering::SeqCst);
    let run = run(&config, &opts, &mut Quiet).expect("run");
    assert!(run.interrupted);
    assert_eq!(run.summary.skipped, 7);
    assert_eq!(run.summary.verdict, Verdict::Error);
}

#[test]
fn observer_sees_every_case() {
    struct Count(usize, usize);
    impl Observer for Count {
        fn planned(&mut self, total: usize) {
            self.0 = total;
        }
        fn finished(&mut self, _: &str, _: &Case) {
            self.1 += 1;
        }
    }
    let (_dir, config) = project(5);
    let mut count = Count(0, 0);
    run(&config, &options(), &mut count).expect("run");
    assert_eq!((count.0, count.1), (6, 6));
}

#[test]
fn shard_parsing() {
    assert_eq!(parse_shard("2/4"), Ok(ShardSpec { index: 2, count: 4 }));
    for bad in ["0/3", "5/3", "1/0", "a/b", "3", "-1/2", ""] {
        let e = parse_shard(bad).expect_err(bad);
        assert!(e.starts_with(&format!("invalid shard `{bad}`")), "{e}");
    }
    let _ = Path::new(".");
}

/// A suite for the runner's own tests: `n` cases, one of which may panic, and a counter of how
/// often its work was done.
struct Fake {
    plan: Plan,
    schedule: Schedule,
    panic_on: Option<usize>,
    runs: Arc<AtomicUsize>,
}

impl SuiteTrait for Fake {
    fn plan(&self) -> Plan {
        self.plan.clone()
    }
    fn schedule(&self) -> Schedule {
        self.schedule
    }
    fn run(&self, indices: &[usize], _ctx: &Context) -> Vec<Case> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        if let Plan::Whole = self.plan {
            return vec![
                Case::new("a", Outcome::Passed),
                Case::new("b", Outcome::Passed),
            ];
        }
        indices
            .iter()
            .map(|&i| {
                if self.panic_on == Some(i) {
                    panic!("boom at {i}");
                }
                Case::new(format!("c{i}"), Outcome::Passed)
            })
            .collect()
    }
    fn properties(&self) -> modelci_report::Properties {
        let mut p = modelci_report::Properties::new();
        p.insert("runs", self.runs.load(Ordering::SeqCst).to_string());
        p
    }
}

fn fake(
    name: &str,
    plan: Plan,
    schedule: Schedule,
    panic_on: Option<usize>,
) -> (Planned, Arc<AtomicUsize>) {
    let runs = Arc::new(AtomicUsize::new(0));
    let planned = Planned {
        name: name.into(),
        kind: "fake".into(),
        location: None,
        suite: Box::new(Fake {
            plan,
            schedule,
            panic_on,
            runs: Arc::clone(&runs),
        }),
    };
    (planned, runs)
}

fn names(n: usize) -> Plan {
    Plan::Cases((0..n).map(|i| format!("c{i}")).collect())
}

#[test]
fn a_panic_in_a_batch_suite_errors_its_cases_and_the_run_goes_on() {
    let (batch, _) = fake("batch", names(3), Schedule::Batch, Some(1));
    let (pooled, _) = fake("pooled", names(4), Schedule::PerCase, Some(2));
    let (after, _) = fake("after", names(2), Schedule::Batch, None);
    let run = run_planned(vec![batch, pooled, after], &options(), &mut Quiet);
    assert_eq!(run.suites.len(), 3);
    // The batch that panicked: each of its cases is errored, named, and says why.
    assert_eq!(run.suites[0].summary.errored, 3);
    let case = &run.suites[0].cases[1];
    assert_eq!(case.name, "c1");
    assert!(
        case.message
            .as_deref()
            .is_some_and(|m| m.contains("internal error in modelci") && m.contains("boom at 1")),
        "{case:?}"
    );
    // Per-case suites lose only the case that panicked.
    assert_eq!(run.suites[1].summary.errored, 1);
    assert_eq!(run.suites[1].summary.passed, 3);
    // Later suites still run.
    assert_eq!(run.suites[2].summary.passed, 2);
    assert!(!run.interrupted);
}

#[test]
fn a_whole_suite_runs_once_in_the_one_shard_that_owns_it() {
    let mut total_runs = 0;
    let mut reported = 0;
    for index in 1..=3 {
        let (before, _) = fake("before", names(4), Schedule::PerCase, None);
        let (gate, runs) = fake("gate", Plan::Whole, Schedule::Batch, None);
        let opts = RunOptions {
            shard: Some(ShardSpec { index, count: 3 }),
            ..options()
        };
        let run = run_planned(vec![before, gate], &opts, &mut Quiet);
        let n = runs.load(Ordering::SeqCst);
        total_runs += n;
        if let Some(s) = run.suites.iter().find(|s| s.name == "gate") {
            reported += 1;
            assert_eq!(n, 1);
            assert_eq!(
                s.cases.len(),
                2,
                "every case of a whole suite is in its shard"
            );
            assert_eq!(s.properties.get("runs").map(String::as_str), Some("1"));
        } else {
            assert_eq!(n, 0, "shard {index} did the gate's work without owning it");
        }
    }
    assert_eq!((total_runs, reported), (1, 1));
}

#[test]
fn a_whole_suite_not_reached_before_cancel_is_skipped() {
    let (gate, runs) = fake("gate", Plan::Whole, Schedule::Batch, None);
    let opts = options();
    opts.cancel.store(true, Ordering::SeqCst);
    let run = run_planned(vec![gate], &opts, &mut Quiet);
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    assert!(run.interrupted);
    assert_eq!(run.summary.skipped, 1);
}

#[test]
fn a_suite_with_no_cases_is_an_error_not_a_pass() {
    let (empty, runs) = fake("empty", names(0), Schedule::Batch, None);
    let run = run_planned(vec![empty], &options(), &mut Quiet);
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    assert_eq!(run.suites.len(), 1, "the suite does not silently disappear");
    let case = &run.suites[0].cases[0];
    assert_eq!(case.outcome, Outcome::Errored);
    assert!(
        case.message
            .as_deref()
            .is_some_and(|m| m.contains("has no cases, so it would check nothing")),
        "{case:?}"
    );
    assert_eq!(run.summary.verdict, Verdict::Error);
}

/// Records what an observer is told, in order.
#[derive(Default)]
struct Recorder(Vec<String>);

impl Observer for Recorder {
    fn suite_started(&mut self, suite: &str, cases: Option<usize>) {
        self.0.push(format!("start {suite} {cases:?}"));
    }
    fn suite_finished(&mut self, done: &SuiteDone<'_>) {
        self.0.push(format!(
            "done {} ({}) {}/{} passed, {} errored",
            done.name, done.kind, done.counts.passed, done.counts.total, done.counts.errored
        ));
    }
}

#[test]
fn observers_hear_each_suite_start_and_finish_with_its_counts() {
    let (batch, _) = fake("batch", names(3), Schedule::Batch, Some(1));
    let (pooled, _) = fake("pooled", names(4), Schedule::PerCase, Some(2));
    let (gate, _) = fake("gate", Plan::Whole, Schedule::Batch, None);
    let mut seen = Recorder::default();
    run_planned(vec![batch, pooled, gate], &options(), &mut seen);
    let seen = seen.0;
    // Batch suites run first, one after the other; the pooled suite then.
    assert_eq!(
        seen,
        [
            "start batch Some(3)",
            "done batch (fake) 0/3 passed, 3 errored",
            "start gate None",
            "done gate (fake) 2/2 passed, 0 errored",
            "start pooled Some(4)",
            "done pooled (fake) 3/4 passed, 1 errored",
        ]
    );
}

/// A suite with no cases whose user allowed that (`allow_empty`).
struct AllowedEmpty;

impl SuiteTrait for AllowedEmpty {
    fn plan(&self) -> Plan {
        Plan::Cases(Vec::new())
    }
    fn run(&self, _indices: &[usize], _ctx: &Context) -> Vec<Case> {
        Vec::new()
    }
    fn properties(&self) -> modelci_report::Properties {
        modelci_report::Properties::new()
    }
    fn allows_empty(&self) -> bool {
        true
    }
}

#[test]
fn a_suite_with_no_cases_passes_only_when_allowed_and_says_so() {
    let allowed = Planned {
        name: "nothing-yet".into(),
        kind: "pact".into(),
        location: None,
        suite: Box::new(AllowedEmpty),
    };
    let run = run_planned(vec![allowed], &options(), &mut Quiet);
    let case = &run.suites[0].cases[0];
    assert_eq!(case.outcome, Outcome::Skipped, "{case:?}");
    assert!(
        case.message
            .as_deref()
            .is_some_and(|m| m.contains("passing because `allow_empty` is set")),
        "{case:?}"
    );
    assert_eq!(run.summary.verdict, Verdict::Pass);
}
