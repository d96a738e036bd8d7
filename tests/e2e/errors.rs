//! Bad input: each is one clear line on stderr naming the file (and line), exit code 2.

use std::fs;
use std::path::Path;

use crate::{modelci, run};

fn check_config(text: &[u8], extra: &[&str]) -> (i32, String, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("modelci.toml");
    fs::write(&path, text).expect("write");
    let mut args = vec!["check", "--config", path.to_str().expect("utf8")];
    args.extend_from_slice(extra);
    let (code, out, err) = run(&mut modelci(&args));
    let err = err.replace(&dir.path().display().to_string(), "[TMP]");
    (code, out, err, dir)
}

fn assert_one_line_error(code: i32, stderr: &str, expected: &str) {
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert_eq!(stderr.trim_end(), expected);
}

#[test]
fn missing_config() {
    let (code, _, err) = run(&mut modelci(&["check", "--config", "nope/modelci.toml"]));
    assert_one_line_error(
        code,
        &err,
        "error: failed to read config `nope/modelci.toml`: no such file",
    );
    // Without --config, the search for modelci.toml stops at the repository's root.
    let dir = tempfile::tempdir().expect("tempdir");
    fs::create_dir(dir.path().join(".git")).expect("mkdir .git");
    let (code, _, err) = run(modelci(&["check"]).current_dir(dir.path()));
    assert_one_line_error(
        code,
        &err,
        "error: no `modelci.toml` in this folder, the root of its git repository (run modelci where modelci.toml is, or pass --config PATH; `modelci schema config` prints its schema)",
    );
}

#[test]
fn unknown_key_with_suggestion() {
    let (code, _, err, _d) = check_config(
        b"[[suite.json-schema]]\nname = \"a\"\nschema = \"s.json\"\nfile = [\"x\"]\n",
        &[],
    );
    assert_one_line_error(
        code,
        &err,
        "error: [TMP]/modelci.toml:4:1: unknown key `file`; did you mean `files`?",
    );
}

#[test]
fn wrong_type() {
    let (code, _, err, _d) = check_config(
        b"[[suite.json-schema]]\nname = \"a\"\nschema = \"s.json\"\nfiles = \"x\"\n",
        &[],
    );
    assert_eq!(code, 2);
    assert!(
        err.starts_with(
            "error: [TMP]/modelci.toml:4:9: invalid type: string \"x\", expected a sequence"
        ),
        "{err}"
    );
}

#[test]
fn malformed_toml_and_non_utf8() {
    let (code, _, err, _d) = check_config(b"[project\nname = 1\n", &[]);
    assert_eq!(code, 2);
    assert!(err.starts_with("error: [TMP]/modelci.toml:1:"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let (code, _, err, _d) = check_config(b"# caf\xe9\n", &[]);
    assert_one_line_error(
        code,
        &err,
        "error: [TMP]/modelci.toml:1:6: the file is not valid UTF-8",
    );
}

#[test]
fn bad_shards() {
    for (shard, expected) in [
        (
            "0/3",
            "error: --shard: invalid shard `0/3`: expected K/N with 1 <= K <= N, e.g. 2/4",
        ),
        (
            "5/3",
            "error: --shard: invalid shard `5/3`: expected K/N with 1 <= K <= N, e.g. 2/4",
        ),
        (
            "x",
            "error: --shard: invalid shard `x`: expected K/N with 1 <= K <= N, e.g. 2/4",
        ),
    ] {
        let (code, _, err) = run(&mut modelci(&[
            "check",
            "--config",
            "examples/quickstart/modelci.toml",
            "--shard",
            shard,
        ]));
        assert_one_line_error(code, &err, expected);
    }
}

#[test]
fn output_in_a_missing_folder_and_two_writers_to_one_path() {
    let (code, _, err) = run(&mut modelci(&[
        "check",
        "--config",
        "examples/quickstart/modelci.toml",
        "--junit",
        "no/such/folder/junit.xml",
    ]));
    assert_one_line_error(
        code,
        &err,
        "error: cannot write the JUnit report to `no/such/folder/junit.xml` (--junit): folder `no/such/folder` does not exist",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let same = dir.path().join("out.xml");
    let same = same.to_str().expect("utf8");
    let (code, _, err) = run(&mut modelci(&[
        "check",
        "--config",
        "examples/quickstart/modelci.toml",
        "--junit",
        same,
        "--json",
        same,
    ]));
    assert_eq!(code, 2);
    assert!(
        err.starts_with("error: --junit and --json both write"),
        "{err}"
    );
    assert!(!Path::new(same).exists(), "nothing ran, nothing written");
}

#[test]
fn unknown_only_name() {
    let (code, _, err) = run(&mut modelci(&[
        "check",
        "--config",
        "examples/quickstart/modelci.toml",
        "--only",
        "infer-response",
    ]));
    assert_one_line_error(
        code,
        &err,
        "error: `--only infer-response`: `examples/quickstart/modelci.toml` declares no suite named `infer-response`; did you mean `infer-responses`?",
    );
}

#[test]
fn bad_usage_is_exit_2() {
    let (code, _, err) = run(&mut modelci(&["check", "--no-such-flag"]));
    assert_eq!(code, 2, "{err}");
    let (code, _, _) = run(&mut modelci(&["frobnicate"]));
    assert_eq!(code, 2);
    let (code, _, _) = run(&mut modelci(&["report", "merge", "a.json"]));
    assert_eq!(code, 2);
}

#[test]
fn unreadable_schema_is_one_errored_case_at_the_config_line() {
    let (code, out, err, _d) = check_config(
        b"[[suite.json-schema]]\nname = \"a\"\nschema = \"missing.json\"\nfiles = [\"x.json\"]\n",
        &[],
    );
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.contains("! (setup)"), "{out}");
    assert!(out.contains("modelci.toml:3\n"), "{out}");
    assert!(out.contains("failed to read schema `"), "{out}");
}

#[test]
fn a_config_without_suites_is_an_error_not_a_pass() {
    let (code, _, err, _d) = check_config(b"[project]\nname = \"empty\"\n", &[]);
    assert_one_line_error(
        code,
        &err,
        "error: `[TMP]/modelci.toml` declares no suites, so there is nothing to check; add a `[[suite.json-schema]]` table (see `modelci schema config`)",
    );
}

/// Absurd numbers are refused with the range they must be in (exit 2), never a panic (101) or an
/// abort on a huge allocation (134).
#[test]
fn absurd_numbers_state_their_range() {
    let cases: [(&[&str], &str); 5] = [
        (
            &[
                "contract",
                "verify",
                "--pact",
                "x.json",
                "--provider-url",
                "http://127.0.0.1:9",
                "--timeout",
                "1e308",
            ],
            "`--timeout` must be a number of seconds above 0 and at most 86400, not 1e308",
        ),
        (
            &[
                "contract",
                "test",
                "--openapi",
                "x.yaml",
                "--base-url",
                "http://127.0.0.1:9",
                "--timeout",
                "1e308",
            ],
            "`--timeout` must be a number of seconds above 0 and at most 86400, not 1e308",
        ),
        (
            &[
                "contract",
                "verify",
                "--pact",
                "x.json",
                "--provider-url",
                "http://127.0.0.1:9",
                "--concurrency",
                "9000000000000000000",
            ],
            "`--concurrency` must be from 1 to 1024, not 9000000000000000000",
        ),
        (
            &[
                "model",
                "test",
                "--model",
                "m.onnx",
                "--cases",
                "c",
                "--timeout",
                "1e308",
            ],
            "`--timeout` must be a number of seconds above 0 and at most 86400, not 1e308",
        ),
        (
            &[
                "gate",
                "--candidate",
                "m.onnx",
                "--dataset",
                "d.csv",
                "--label",
                "y",
                "--latency-batch-sizes",
                "99999999999",
            ],
            "`--latency-batch-sizes` must be from 1 to 65536, not 99999999999",
        ),
    ];
    for (args, expected) in cases {
        let (code, _, err) = run(&mut modelci(args));
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
    }
}
