//! modelci's own JSON Schemas: committed, current, and obeyed by what modelci writes.

use std::fs;

use crate::{modelci, root, run};

#[test]
fn json_report_validates_against_the_committed_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("r.json");
    run(&mut modelci(&[
        "check",
        "--config",
        "examples/failing/modelci.toml",
        "--json",
        json.to_str().expect("utf8"),
    ]));
    let schema: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(root().join("contracts/modelci/report.schema.json")).expect("schema"),
    )
    .expect("json");
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&json).expect("report")).expect("json");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn config_examples_validate_against_the_committed_config_schema() {
    let schema: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(root().join("contracts/modelci/config.schema.json")).expect("schema"),
    )
    .expect("json");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    for example in ["quickstart", "failing"] {
        let text = fs::read_to_string(root().join(format!("examples/{example}/modelci.toml")))
            .expect("config");
        let value: toml::Value = toml::from_str(&text).expect("toml");
        let json = serde_json::to_value(value).expect("as json");
        let errors: Vec<String> = validator
            .iter_errors(&json)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{example}: {errors:#?}");
    }
}

/// `modelci schema config|report` must match the committed files. Regenerate them with
/// `MODELCI_UPDATE_SCHEMAS=1 cargo test -p modelci --test e2e committed_schemas`.
#[test]
fn committed_schemas_are_current() {
    for which in ["config", "report"] {
        let (code, fresh, err) = run(&mut modelci(&["schema", which]));
        assert_eq!(code, 0, "{err}");
        let path = root().join(format!("contracts/modelci/{which}.schema.json"));
        if std::env::var_os("MODELCI_UPDATE_SCHEMAS").is_some() {
            fs::write(&path, &fresh).expect("update schema");
            continue;
        }
        let committed = fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == fresh,
            "contracts/modelci/{which}.schema.json is stale; regenerate it with \
             `MODELCI_UPDATE_SCHEMAS=1 cargo test -p modelci --test e2e committed_schemas`"
        );
    }
}

/// `--json -` (and `/dev/stdout`) write the report to stdout, as the one thing there: the
/// summary moves to stderr, and nothing is renamed over a special file.
#[test]
fn json_report_on_stdout_is_the_whole_of_stdout() {
    for target in ["-", "/dev/stdout"] {
        let (code, out, err) = run(&mut modelci(&[
            "check",
            "--config",
            "examples/failing/modelci.toml",
            "--json",
            target,
        ]));
        assert_eq!(code, 1, "{err}");
        let report: serde_json::Value = serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("stdout is not one JSON report ({e}) for {target}:\n{out}"));
        assert!(report["summary"]["failed"].as_u64().is_some_and(|n| n > 0));
        assert!(err.contains("FAIL"), "the summary goes to stderr: {err}");
    }
}

/// A report written to a named pipe goes through the pipe, which stays a pipe.
#[cfg(unix)]
#[test]
fn junit_report_into_a_pipe_keeps_the_pipe() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("junit.fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo")
            .success()
    );
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::read_to_string(fifo).expect("read the pipe"))
    };
    let (code, _, err) = run(&mut modelci(&[
        "check",
        "--config",
        "examples/failing/modelci.toml",
        "--junit",
        fifo.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 1, "{err}");
    // Checked first: had the pipe been replaced, the reader would wait for a writer forever.
    assert!(
        fs::symlink_metadata(&fifo)
            .expect("stat")
            .file_type()
            .is_fifo(),
        "the pipe was replaced by a regular file"
    );
    let xml = reader.join().expect("reader");
    assert!(xml.starts_with("<?xml"), "{xml}");
}
