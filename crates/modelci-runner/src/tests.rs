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
