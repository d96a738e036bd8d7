use std::fs;

use crate::{modelci, run, stable, validate_junit};

#[test]
fn quickstart_passes_and_writes_valid_reports() {
    let _port = crate::QuickstartLock::take();
    let dir = tempfile::tempdir().expect("tempdir");
    let junit = dir.path().join("junit.xml");
    let json = dir.path().join("report.json");
    let (code, stdout, stderr) = run(&mut modelci(&[
        "check",
        "--config",
        "examples/quickstart/modelci.toml",
        "--junit",
        junit.to_str().expect("utf8"),
        "--json",
        json.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("verdict: PASS (exit 0)"), "{stdout}");
    validate_junit(&junit);
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&json).expect("json")).expect("parse");
    assert_eq!(report["summary"]["verdict"], "pass");
    assert_eq!(report["summary"]["total"], 129);
    assert_eq!(report["suites"][2]["kind"], "pact");
}

#[test]
fn failing_example_exits_1_with_locations_in_the_junit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let junit = dir.path().join("junit.xml");
    let (code, stdout, stderr) = run(&mut modelci(&[
        "check",
        "--config",
        "examples/failing/modelci.toml",
        "--junit",
        junit.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    validate_junit(&junit);
    let xml = fs::read_to_string(&junit).expect("junit");
    assert!(
        xml.contains(r#"<testcase name="recorded/predictions.jsonl:2" classname="prediction-log""#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"file="examples/failing/recorded/predictions.jsonl" line="2""#),
        "{xml}"
    );
    assert!(
        xml.contains(
            r#"<failure message="/body/confidence: 1.7 is greater than the maximum of 1""#
        ),
        "{xml}"
    );
    assert_eq!(xml.matches("<failure ").count(), 4);
    let out = stdout.replace(&dir.path().display().to_string(), "[TMP]");
    insta::assert_snapshot!("failing_terminal", stable(&out));
}

#[test]
fn only_runs_the_named_suite() {
    let (code, stdout, _) = run(&mut modelci(&[
        "check",
        "--config",
        "examples/failing/modelci.toml",
        "--only",
        "infer-responses",
    ]));
    assert_eq!(code, 1);
    assert!(stdout.contains("infer-responses"));
    assert!(!stdout.contains("prediction-log"), "{stdout}");
}

#[test]
fn errored_cases_exit_2_and_still_write_reports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    fs::write(d.join("schema.json"), r#"{"type": "object"}"#).expect("w");
    fs::write(d.join("ok.json"), "{}").expect("w");
    fs::write(d.join("broken.json"), "{\"a\": ").expect("w");
    fs::write(d.join("binary.json"), b"\xff\xfe\x00").expect("w");
    fs::write(
        d.join("modelci.toml"),
        "[[suite.json-schema]]\nname = \"s\"\nschema = \"schema.json\"\nfiles = [\"*.json\", \"gone/*.json\"]\n",
    )
    .expect("w");
    let json = d.join("report.json");
    let (code, stdout, stderr) = run(&mut modelci(&[
        "check",
        "--config",
        d.join("modelci.toml").to_str().expect("utf8"),
        "--json",
        json.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let report: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&json).expect("json")).expect("parse");
    assert_eq!(report["summary"]["verdict"], "error");
    // schema.json itself matches *.json and is a valid object: passed, like ok.json.
    assert_eq!(report["summary"]["passed"], 2);
    assert_eq!(report["summary"]["errored"], 3);
    assert!(
        stdout.contains("not valid JSON: EOF while parsing"),
        "{stdout}"
    );
    assert!(stdout.contains("is not valid UTF-8"), "{stdout}");
    assert!(
        stdout.contains("file pattern `gone/*.json` matched no files"),
        "{stdout}"
    );
}

#[test]
fn colour_follows_no_color_and_clicolor_force() {
    // A configuration without a service, and failures to colour.
    let args = ["check", "--config", "examples/failing/modelci.toml"];
    let (_, plain, _) = run(&mut modelci(&args));
    assert!(!plain.contains('\u{1b}'), "piped output has no colour");
    let (_, forced, _) = run(modelci(&args).env("CLICOLOR_FORCE", "1"));
    assert!(forced.contains('\u{1b}'), "CLICOLOR_FORCE gives colour");
    let (_, no_color, _) = run(modelci(&args)
        .env("CLICOLOR_FORCE", "1")
        .env("NO_COLOR", "1"));
    assert!(!no_color.contains('\u{1b}'), "NO_COLOR wins");
}

/// A project-local ONNX Runtime (`onnxruntime/lib/` above the executable's folder, where
/// `scripts/onnxruntime` puts it for `target/release/modelci`) is found without
/// `ORT_DYLIB_PATH` and without python3; where there is none, the message lists where it looked.
#[test]
fn onnxruntime_beside_the_executable_is_found_without_python() {
    let lib = std::env::var_os("ORT_DYLIB_PATH")
        .map(std::path::PathBuf::from)
        .filter(|p| p.is_file());
    let Some(lib) = modelci_test_support::require(
        modelci_test_support::Dependency::OnnxRuntime,
        lib.ok_or_else(|| {
            "ORT_DYLIB_PATH does not name a library (scripts/test sets it)".to_owned()
        }),
    ) else {
        return;
    };
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let bin = tmp.path().join("bin");
    let no_python = tmp.path().join("empty");
    std::fs::create_dir_all(&bin).expect("mkdir");
    std::fs::create_dir_all(&no_python).expect("mkdir");
    let exe = bin.join("modelci");
    if std::fs::hard_link(env!("CARGO_BIN_EXE_modelci"), &exe).is_err() {
        std::fs::copy(env!("CARGO_BIN_EXE_modelci"), &exe).expect("copy modelci");
    }
    let doctor = || {
        let mut cmd = std::process::Command::new(&exe);
        cmd.arg("doctor")
            .current_dir(tmp.path())
            .env_remove("ORT_DYLIB_PATH")
            .env_remove("LD_LIBRARY_PATH")
            .env("PATH", &no_python);
        run(&mut cmd)
    };
    let (_, out, _) = doctor();
    let missing = out
        .lines()
        .find(|l| l.starts_with("onnxruntime"))
        .unwrap_or_default()
        .to_owned();
    assert!(missing.contains("missing"), "{out}");
    assert!(
        missing.contains(&format!(
            "beside modelci ({}",
            std::fs::canonicalize(&bin)
                .expect("bin")
                .join("onnxruntime/lib")
                .display()
        )),
        "{out}"
    );
    let dir = tmp.path().join("onnxruntime/lib");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let name = lib.file_name().expect("a file name");
    std::os::unix::fs::symlink(&lib, dir.join(name)).expect("symlink");
    let (code, out, _) = doctor();
    let found = out
        .lines()
        .find(|l| l.starts_with("onnxruntime"))
        .unwrap_or_default();
    assert!(found.contains(" ok "), "{out}");
    assert!(found.contains("(found through beside modelci)"), "{out}");
    assert!(!found.contains("python3"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("devices") && l.contains("execution providers: cpu")),
        "{out}"
    );
    assert_eq!(code, 0, "{out}");
}

#[test]
fn version_help_and_doctor() {
    let (code, out, _) = run(&mut modelci(&["--version"]));
    assert_eq!(
        (code, out.trim()),
        (0, concat!("modelci ", env!("CARGO_PKG_VERSION")))
    );
    let (code, out, _) = run(&mut modelci(&["help"]));
    assert_eq!(code, 0);
    for cmd in ["check", "report", "schema", "doctor", "Exit codes"] {
        assert!(out.contains(cmd), "{out}");
    }
    let (code, out, _) = run(&mut modelci(&[
        "doctor",
        "--config",
        "examples/quickstart/modelci.toml",
    ]));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(
            "8 suite(s): infer-responses (json-schema), prediction-log (json-schema), consumer-contracts (pact), model-service-api (openapi), classifier-golden (model), classifier-live (model), release-gate (gate), serving-slo (load)"
        ),
        "{out}"
    );
}
