//! What modelci prints: `--quiet`, `--verbose`, `--color`, reports on stdout, progress lines
//! in CI logs, shell completions, and `modelci doctor`'s verdict on what a configuration needs.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use crate::{modelci, root, run, schemas_suite, stable};

const FAILING: &str = "examples/failing/modelci.toml";

#[test]
fn quiet_prints_the_verdict_alone_and_verbose_every_case() {
    let (code, out, err) = run(&mut modelci(&["check", "-q", "--config", FAILING]));
    assert_eq!(code, 1, "{err}");
    assert_eq!(out, "verdict: FAIL (exit 1): 4 case(s) failed\n");
    assert_eq!(err, "", "nothing but errors on stderr");

    let (code, out, err) = run(&mut modelci(&["--verbose", "check", "--config", FAILING]));
    assert_eq!(code, 1, "{err}");
    // Passed cases are listed too, each with its time.
    let passed: Vec<&str> = out.lines().filter(|l| l.starts_with("  ✓ ")).collect();
    assert_eq!(passed.len(), 2, "{out}");
    assert!(passed.iter().all(|l| l.ends_with(" ms")), "{out}");
    assert!(out.contains("  ✗ recorded/predictions.jsonl:2 · "), "{out}");
    // In a log (stderr is not a terminal), a line per finished case and per suite.
    assert!(
        err.lines()
            .any(|l| l.starts_with("  failed infer-responses › recorded/infer-no-outputs.json")),
        "{err}"
    );
    assert!(
        err.contains("finished prediction-log (json-schema): 1 passed, 2 failed in "),
        "{err}"
    );

    let (code, _, err) = run(&mut modelci(&["check", "-q", "-v", "--config", FAILING]));
    assert_eq!(
        code, 2,
        "--quiet and --verbose contradict each other: {err}"
    );
}

#[test]
fn colour_follows_the_flag_then_the_environment() {
    let has_colour = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = modelci(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let (code, out, err) = run(&mut cmd);
        assert_eq!(code, 1, "{err}");
        out.contains('\u{1b}')
    };
    let check = ["check", "--config", FAILING];
    // Into a pipe: no colour unless asked for.
    assert!(!has_colour(&check, &[]));
    assert!(has_colour(
        &[&check[..], &["--color", "always"]].concat(),
        &[]
    ));
    assert!(has_colour(&check, &[("CLICOLOR_FORCE", "1")]));
    assert!(!has_colour(
        &check,
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]
    ));
    assert!(!has_colour(
        &[&check[..], &["--color", "never"]].concat(),
        &[("CLICOLOR_FORCE", "1")]
    ));
    // The flag decides over the environment.
    assert!(has_colour(
        &[&check[..], &["--color=always"]].concat(),
        &[("NO_COLOR", "1")]
    ));
}

#[test]
fn one_report_at_most_on_stdout() {
    let (code, out, err) = run(&mut modelci(&[
        "check", "--config", FAILING, "--json", "-", "--junit", "-",
    ]));
    assert_eq!(code, 2, "{err}");
    assert_eq!(out, "");
    assert_eq!(
        err.trim_end(),
        "error: --junit and --json both write to stdout; only one report can go there (give the other a file path)"
    );
    // JUnit alone on stdout: stdout is the XML, the summary goes to stderr.
    let (code, out, err) = run(&mut modelci(&[
        "check", "--config", FAILING, "--junit", "-",
    ]));
    assert_eq!(code, 1, "{err}");
    assert!(out.starts_with("<?xml"), "{out}");
    assert!(err.contains("verdict: FAIL (exit 1)"), "{err}");
}

#[test]
fn completions_for_every_shell() {
    for (shell, marker) in [
        ("bash", "complete -F _modelci"),
        ("zsh", "#compdef modelci"),
        ("fish", "complete -c modelci"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let (code, out, err) = run(&mut modelci(&["completions", shell]));
        assert_eq!(code, 0, "{shell}: {err}");
        assert!(out.contains(marker), "{shell}: {out}");
        assert!(out.contains("doctor"), "{shell}");
    }
    let (code, _, err) = run(&mut modelci(&["completions", "tcsh"]));
    assert_eq!(code, 2, "{err}");
}

/// A provider that answers every request with `{"ok": true}` after `delay`.
fn slow_provider(delay: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                let mut buf = [0u8; 1024];
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                std::thread::sleep(delay);
                let body = r#"{"ok": true}"#;
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    url
}

fn write_pact(dir: &Path) {
    std::fs::write(
        dir.join("slow.json"),
        r#"{
  "consumer": {"name": "dashboard"},
  "provider": {"name": "slow-service"},
  "interactions": [{
    "description": "a slow answer",
    "request": {"method": "GET", "path": "/slow"},
    "response": {"status": 200, "headers": {"Content-Type": "application/json"}, "body": {"ok": true}}
  }],
  "metadata": {"pactSpecification": {"version": "2.0.0"}}
}"#,
    )
    .expect("pact");
}

/// In a CI log (stdout and stderr are pipes) a long run is never silent: a line per finished
/// suite, and a heartbeat for a suite still running (every `MODELCI_PROGRESS_SECS`).
#[test]
fn ci_logs_get_a_line_per_suite_and_a_heartbeat() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_pact(dir.path());
    let url = slow_provider(Duration::from_millis(1500));
    let config = dir.path().join("modelci.toml");
    std::fs::write(
        &config,
        format!(
            r#"{schemas}
[[suite.pact]]
name = "slow-pact"
pacts = ["slow.json"]
provider_url = "{url}"
timeout_secs = 30
"#,
            schemas = schemas_suite()
        ),
    )
    .expect("config");
    let config = config.to_str().expect("utf8");
    let (code, out, err) =
        run(modelci(&["check", "--config", config]).env("MODELCI_PROGRESS_SECS", "0.3"));
    assert_eq!(code, 0, "{out}\n{err}");
    let lines: Vec<&str> = err.lines().collect();
    let finished = |suite: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(&format!("finished {suite} (")))
            .unwrap_or_else(|| panic!("no line for {suite}:\n{err}"))
    };
    assert!(
        lines[finished("slow-pact")].starts_with("finished slow-pact (pact): 1 passed in "),
        "{err}"
    );
    assert!(
        lines[finished("schemas")].starts_with("finished schemas (json-schema): 3 passed in "),
        "{err}"
    );
    let beat = lines
        .iter()
        .position(|l| l.starts_with("still running slow-pact: 0/1 cases done, "))
        .unwrap_or_else(|| panic!("no heartbeat:\n{err}"));
    assert!(beat < finished("slow-pact"), "{err}");
    assert!(
        !out.contains("still running"),
        "stdout stays the summary: {out}"
    );

    // --quiet: no progress at all.
    let (code, out, err) =
        run(modelci(&["-q", "check", "--config", config]).env("MODELCI_PROGRESS_SECS", "0.3"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        (out.as_str(), err.as_str()),
        ("verdict: PASS (exit 0): every case passed\n", "")
    );
}

/// The gate shows the value measured for every threshold, passing or not (a snapshot), and its
/// JSON report holds every metric computed, with a threshold or not.
#[test]
fn the_gate_shows_every_measured_value_and_reports_every_metric() {
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("r.json");
    let (code, out, err) = run(&mut modelci(&[
        "gate",
        "--candidate",
        "fixtures/models/mlp.onnx",
        "--dataset",
        "fixtures/gate/eval.parquet",
        "--label",
        "label",
        "--prediction",
        "pred",
        "--probabilities",
        "proba_0",
        "--probabilities",
        "proba_1",
        "--probabilities",
        "proba_2",
        "--sensitive",
        "region",
        "--thresholds",
        "fixtures/gate/thresholds.toml",
        "--json",
        json.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 2, "{out}\n{err}");
    insta::assert_snapshot!(
        "gate_measured_values",
        stable(&out).replace(json.to_str().expect("utf8"), "[TMP]/r.json")
    );
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("report")).expect("json");
    let props = &r["suites"][0]["properties"];
    // No threshold names these; they are reported all the same.
    for metric in [
        "precision_score",
        "recall_score",
        "precision_score/region=north",
        "equalized_odds_difference/region",
        "count/region=east",
    ] {
        let value = props[format!("metric.{metric}")]
            .as_str()
            .and_then(|v| v.parse::<f64>().ok());
        assert!(
            value.is_some_and(f64::is_finite),
            "metric.{metric}: {props:#}"
        );
    }
    assert_eq!(
        props["metric.f1_score"],
        r["suites"][0]["cases"]
            .as_array()
            .expect("cases")
            .iter()
            .find(|c| c["name"] == "f1_score")
            .expect("f1_score case")["properties"]["candidate"]
    );
}

// ---- doctor ----

fn doctor_in(dir: &Path, config: &str) -> (i32, String, String) {
    std::fs::write(dir.join("modelci.toml"), config).expect("config");
    let mut cmd = modelci(&["doctor"]);
    cmd.current_dir(dir);
    run(&mut cmd)
}

fn line<'a>(out: &'a str, label: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no `{label}` line:\n{out}"))
}

fn model_suite(device: &str) -> String {
    format!(
        r#"
[[suite.model]]
name = "linear"
model = "{root}/fixtures/models/linear.onnx"
cases = ["{root}/fixtures/golden/linear_cases.json"]
device = "{device}"
"#,
        root = root().display()
    )
}

#[test]
fn doctor_needs_onnx_runtime_only_where_a_suite_runs_a_model() {
    // A copy of modelci away from the build folder (where the runtime may lie beside it), with
    // no ORT_DYLIB_PATH and no python3 on PATH: no ONNX Runtime to find.
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let exe = tmp.path().join("modelci");
    if std::fs::hard_link(env!("CARGO_BIN_EXE_modelci"), &exe).is_err() {
        std::fs::copy(env!("CARGO_BIN_EXE_modelci"), &exe).expect("copy modelci");
    }
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    let doctor = |config: &str| {
        std::fs::write(tmp.path().join("modelci.toml"), config).expect("config");
        let mut cmd = std::process::Command::new(&exe);
        cmd.arg("doctor")
            .current_dir(tmp.path())
            .env_remove("ORT_DYLIB_PATH")
            .env_remove("LD_LIBRARY_PATH")
            .env_remove("GITHUB_ACTIONS")
            .env("PATH", &empty);
        run(&mut cmd)
    };
    let (code, out, _) = doctor(&schemas_suite());
    assert_eq!(code, 0, "nothing needs the runtime:\n{out}");
    assert!(line(&out, "onnxruntime").contains(" missing "), "{out}");
    assert!(
        out.ends_with("verdict: OK (exit 0): everything modelci needs here is available\n"),
        "{out}"
    );

    let (code, out, _) = doctor(&format!("{}{}", schemas_suite(), model_suite("cpu")));
    assert_eq!(code, 2, "{out}");
    let runtime = line(&out, "onnxruntime");
    assert!(
        runtime.contains(" ERROR ") && runtime.ends_with("(needed by `linear`)"),
        "{out}"
    );
    assert!(
        out.ends_with(
            "verdict: ERROR (exit 2): 1 thing(s) modelci needs here are missing or broken\n"
        ),
        "{out}"
    );
}

#[test]
fn doctor_needs_cuda_for_a_suite_on_cuda() {
    if !crate::runtime_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, out, _) = doctor_in(dir.path(), &model_suite("cpu"));
    assert_eq!(code, 0, "{out}");
    let has_cuda = !line(&out, "devices").contains("(no CUDA");
    let (code, out, _) = doctor_in(dir.path(), &model_suite("cuda"));
    let devices = line(&out, "devices");
    if has_cuda {
        assert_eq!(code, 0, "this runtime has CUDA:\n{out}");
    } else {
        assert_eq!(code, 2, "{out}");
        assert!(
            devices.contains(" ERROR ") && devices.contains("`linear` run on device `cuda`"),
            "{out}"
        );
    }
}

/// A gate that uses the registry needs its tracking server to answer; the credentials in its
/// URI are never shown.
#[test]
fn doctor_asks_the_mlflow_server_a_gate_uses_and_hides_credentials() {
    let dir = tempfile::tempdir().expect("tempdir");
    let closed = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let gate = |uri: &str| {
        format!(
            r#"
[[suite.gate]]
name = "release"
model_name = "classifier"
candidate = "{root}/fixtures/models/mlp.onnx"
dataset = "{root}/fixtures/gate/eval.parquet"
label = "label"
prediction = "pred"
probabilities = ["proba_0", "proba_1", "proba_2"]
tracking_uri = "{uri}"
"#,
            root = root().display()
        )
    };
    let (code, out, err) = doctor_in(
        dir.path(),
        &gate(&format!("http://alice:s3cret@127.0.0.1:{closed}")),
    );
    assert_eq!(code, 2, "{out}\n{err}");
    let mlflow = line(&out, "mlflow");
    assert!(
        mlflow.contains(" ERROR ") && mlflow.ends_with("(for `release`)"),
        "{out}"
    );
    assert!(mlflow.contains(&format!("127.0.0.1:{closed}")), "{out}");
    assert!(
        !out.contains("s3cret") && !err.contains("s3cret"),
        "{out}\n{err}"
    );

    // A server that answers (here: "no such experiment", as MLflow does) is reachable.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let body = r#"{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no experiment"}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let (code, out, err) = doctor_in(dir.path(), &gate(&url));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(line(&out, "mlflow").contains(" ok "), "{out}");
}

#[test]
fn doctor_needs_the_service_program() {
    let dir = tempfile::tempdir().expect("tempdir");
    let service = |command: &str| {
        format!(
            "[service]\ncommand = {command}\nready_url = \"http://127.0.0.1:1/ready\"\n{}",
            schemas_suite()
        )
    };
    let (code, out, _) = doctor_in(
        dir.path(),
        &service(r#""exec ${MODELCI_TEST_NO_SUCH_BIN:-./no-such-server} --port 1""#),
    );
    assert_eq!(code, 2, "{out}");
    assert!(
        line(&out, "service").contains("program `./no-such-server` is not found"),
        "{out}"
    );
    let (code, out, _) = doctor_in(dir.path(), &service(r#"["no-such-program-modelci", "-x"]"#));
    assert_eq!(code, 2, "{out}");
    let (code, out, _) = doctor_in(dir.path(), &service(r#"["sh", "-c", "exit 0"]"#));
    assert_eq!(code, 0, "{out}");
    assert!(line(&out, "service").contains(" ok "), "{out}");
}
