//! `modelci model inspect` on a real ONNX model (fixtures/models/linear.onnx, made by
//! fixtures/models/make_linear.py with the `onnx` package).

use serde_json::Value;

use crate::{modelci, run, runtime_available};

#[test]
fn inspect_shows_the_signature_opsets_and_hash() {
    let (code, out, err) = run(&mut modelci(&[
        "model",
        "inspect",
        "fixtures/models/linear.onnx",
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("input: float32[batch, 4]"), "{out}");
    assert!(out.contains("probabilities: float32[batch, 3]"), "{out}");
    assert!(out.contains("label: int64[batch]"), "{out}");
    assert!(out.contains("opsets:   ai.onnx 17"), "{out}");
    // `--json PATH` as for every command: `-` is stdout, and the text moves to stderr.
    let (code, out, err) = run(&mut modelci(&[
        "model",
        "inspect",
        "fixtures/models/linear.onnx",
        "--json",
        "-",
    ]));
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).expect("stdout is the JSON alone");
    assert_eq!(v["inputs"][0]["shape"], serde_json::json!(["batch", 4]));
    assert_eq!(v["sha256"].as_str().map(str::len), Some(64));
    assert!(err.contains("input: float32[batch, 4]"), "{err}");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("linear.json");
    let (code, out, err) = run(&mut modelci(&[
        "model",
        "inspect",
        "fixtures/models/linear.onnx",
        "--json",
        file.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("input: float32[batch, 4]"), "{out}");
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("written")).expect("json");
    assert_eq!(written, v);
    // `--json` takes a path: alone, it is a usage error.
    let (code, _, err) = run(&mut modelci(&[
        "model",
        "inspect",
        "fixtures/models/linear.onnx",
        "--json",
    ]));
    assert_eq!(code, 2, "{err}");
}

#[test]
fn a_corrupt_model_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bytes = std::fs::read(crate::root().join("fixtures/models/linear.onnx")).expect("model");
    let cut = dir.path().join("cut.onnx");
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).expect("w");
    let (code, _, err) = run(&mut modelci(&[
        "model",
        "inspect",
        cut.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 2);
    assert!(
        err.contains("cut.onnx: not an ONNX model (corrupt or truncated?)"),
        "{err}"
    );
}

const MODEL: &str = "fixtures/models/linear.onnx";

#[test]
fn golden_cases_in_every_format_pass_on_the_real_runtime() {
    if !runtime_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("r.json");
    let (code, out, err) = run(&mut modelci(&[
        "model",
        "test",
        "--model",
        MODEL,
        "--cases",
        "fixtures/golden/linear_cases.json",
        "fixtures/golden/linear_onnx_layout",
        "fixtures/golden/linear_cases.npz",
        "--json",
        json.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("6 cases: 6 passed"), "{out}");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&json).expect("r")).expect("json");
    let props = &r["suites"][0]["properties"];
    assert_eq!(props["device"], "cpu");
    assert_eq!(props["model_sha256"].as_str().map(str::len), Some(64));
    // Start-up and the first (warm-up) inference are reported apart from the steady state.
    let ms = |key: &str| -> f64 {
        props[key]
            .as_str()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{key} in {props}"))
    };
    assert!(ms("session_start_ms") > 0.0, "{props}");
    assert!(ms("first_inference_ms") > 0.0, "{props}");
    let inferences = ms("inferences");
    assert!(inferences >= 1.0, "{props}");
    assert_eq!(
        props.get("steady_inference_ms").is_some(),
        inferences > 1.0,
        "{props}"
    );
    assert!(props.get("cuda_runtime").is_none(), "{props}");
}

#[test]
fn wrong_outputs_fail_and_unrunnable_cases_error() {
    if !runtime_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = dir.path().join("cases.json");
    std::fs::write(
        &cases,
        r#"{"cases": [
          {"name": "wrong label", "inputs": {"input": {"dtype": "float32", "shape": [1, 4], "data": [5.1, 3.5, 1.4, 0.2]}},
           "outputs": {"label": {"dtype": "int64", "shape": [1], "data": [2]},
                       "probabilities": {"dtype": "float32", "shape": [1, 3], "data": [0.1, 0.1, 0.8]}}},
          {"name": "wrong shape", "inputs": {"input": {"dtype": "float32", "shape": [1, 3], "data": [5.1, 3.5, 1.4]}}}
        ]}"#,
    )
    .expect("w");
    let json = dir.path().join("r.json");
    let (code, out, err) = run(&mut modelci(&[
        "model",
        "test",
        "--model",
        MODEL,
        "--cases",
        cases.to_str().expect("utf8"),
        "--json",
        json.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 2, "an errored case makes it exit 2\n{out}\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&json).expect("r")).expect("json");
    let c = &r["suites"][0]["cases"];
    assert_eq!(c[0]["outcome"], "failed");
    let m = c[0]["message"].as_str().expect("m");
    assert!(
        m.contains("`label`: 1 of 1 element(s) differ") || m.contains("`probabilities`"),
        "{m}"
    );
    assert!(m.contains("(and 1 more output(s))"), "{m}");
    assert_eq!(c[1]["outcome"], "errored");
    assert!(
        c[1]["message"]
            .as_str()
            .expect("m")
            .starts_with("the model could not run the case: ONNX Runtime refused the inputs"),
        "{:#}",
        c[1]
    );
}

#[test]
fn cuda_where_there_is_none_and_bad_paths_exit_2() {
    if !runtime_available() {
        return;
    }
    let (_, out, _) = run(&mut modelci(&["doctor"]));
    if !out.contains("execution providers: cpu, cuda") {
        let (code, out, _) = run(&mut modelci(&[
            "model",
            "test",
            "--model",
            MODEL,
            "--cases",
            "fixtures/golden/linear_cases.npz",
            "--device",
            "cuda",
        ]));
        assert_eq!(code, 2);
        assert!(out.contains("device `cuda` was asked for"), "{out}");
    }
    let (code, out, _) = run(&mut modelci(&[
        "model",
        "test",
        "--model",
        MODEL,
        "--cases",
        "fixtures/models/make_linear.py",
    ]));
    assert_eq!(code, 2);
    assert!(
        out.contains(
            "golden cases are a folder of test_data_set_N folders, a .json file or a .npz archive"
        ),
        "{out}"
    );
    let (code, out, _) = run(&mut modelci(&[
        "model",
        "test",
        "--model",
        "nope.onnx",
        "--cases",
        "x.json",
    ]));
    assert_eq!(code, 2);
    assert!(out.contains("nope.onnx: no such file"), "{out}");
}

#[test]
fn model_suites_in_check_run_and_a_missing_model_errors_at_its_line() {
    if !runtime_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let root = crate::root();
    let config = dir.path().join("modelci.toml");
    std::fs::write(
        &config,
        format!(
            r#"[[suite.model]]
name = "good"
model = "{root}/fixtures/models/linear.onnx"
cases = ["{root}/fixtures/golden/linear_cases.json", "{root}/fixtures/golden/linear_onnx_layout"]

[[suite.model]]
name = "missing"
model = "gone.onnx"
cases = ["x.json"]
"#,
            root = root.display()
        ),
    )
    .expect("w");
    let json = dir.path().join("r.json");
    let (code, out, err) = run(&mut modelci(&[
        "check",
        "--config",
        config.to_str().expect("utf8"),
        "--json",
        json.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&json).expect("r")).expect("json");
    let good = &r["suites"][0];
    assert_eq!(good["name"], "good");
    let cases = good["cases"].as_array().expect("cases");
    assert!(cases.len() >= 2, "{good:#}");
    assert!(cases.iter().all(|c| c["outcome"] == "passed"), "{good:#}");
    assert_eq!(good["properties"]["device"], "cpu");
    let missing = &r["suites"][1];
    assert_eq!(missing["cases"][0]["outcome"], "errored");
    assert!(
        missing["cases"][0]["message"]
            .as_str()
            .expect("m")
            .contains("gone.onnx"),
        "{missing:#}"
    );
    assert_eq!(missing["cases"][0]["location"]["line"], 8, "{missing:#}");
}

#[test]
fn recorded_golden_cases_pass_model_test_and_a_bad_input_writes_nothing() {
    if !runtime_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("golden.json");
    let (code, stdout, err) = run(&mut modelci(&[
        "model",
        "record",
        "--model",
        MODEL,
        "--inputs",
        "fixtures/golden/linear_onnx_layout",
        "fixtures/golden/linear_cases.npz",
        "--out",
        out.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 0, "{stdout}\n{err}");
    assert!(stdout.starts_with("recorded "), "{stdout}");
    // What recorded the answers: the device and the runtime.
    assert!(stdout.contains("(on cpu, onnxruntime "), "{stdout}");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&out).expect("r")).expect("json");
    let first = &v["cases"][0];
    assert_eq!(first["outputs"]["label"]["dtype"], "int64");
    assert_eq!(first["outputs"]["probabilities"]["dtype"], "float32");
    let (code, stdout, err) = run(&mut modelci(&[
        "model",
        "test",
        "--model",
        MODEL,
        "--cases",
        out.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 0, "{stdout}\n{err}");
    assert!(stdout.contains("passed, 0 failed"), "{stdout}");

    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"inputs": {"input": {"dtype": "float32", "shape": [1, 3], "data": [1, 2, 3]}}}"#,
    )
    .expect("w");
    let out2 = dir.path().join("never.json");
    let (code, _, err) = run(&mut modelci(&[
        "model",
        "record",
        "--model",
        MODEL,
        "--inputs",
        bad.to_str().expect("utf8"),
        "--out",
        out2.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 2);
    assert!(
        err.contains("bad.json: case `bad.json`: the model could not run it"),
        "{err}"
    );
    assert!(!out2.exists());
}

/// `[suite.model.tolerance.DEVICE]` applies on the device that ran the model and only there;
/// the CUDA options are checked like any other key.
#[test]
fn tolerances_follow_the_device_that_ran() {
    if !runtime_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let golden = dir.path().join("golden.json");
    let (code, stdout, err) = run(&mut modelci(&[
        "model",
        "record",
        "--model",
        MODEL,
        "--inputs",
        "fixtures/golden/linear_cases.npz",
        "--out",
        golden.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 0, "{stdout}\n{err}");
    // One probability off by 0.01: beyond float32's default tolerance.
    let mut v: Value =
        serde_json::from_str(&std::fs::read_to_string(&golden).expect("r")).expect("json");
    let x = &mut v["cases"][0]["outputs"]["probabilities"]["data"][0];
    *x = serde_json::json!(x.as_f64().expect("a number") + 0.01);
    let off = dir.path().join("off.json");
    std::fs::write(&off, v.to_string()).expect("w");
    let config = dir.path().join("modelci.toml");
    let suite = |name: &str, extra: &str| {
        format!(
            "[[suite.model]]\nname = \"{name}\"\nmodel = \"{}\"\ncases = [\"{}\"]\n{extra}\n",
            crate::root().join(MODEL).display(),
            off.display()
        )
    };
    std::fs::write(
        &config,
        [
            suite("plain", ""),
            suite("cpu-loose", "[suite.model.tolerance.cpu]\natol = 0.05"),
            suite(
                "cuda-loose",
                "tf32 = true\ncudnn_conv_algo_search = \"heuristic\"\n[suite.model.tolerance.cuda]\natol = 0.05",
            ),
        ]
        .concat(),
    )
    .expect("w");
    let json = dir.path().join("r.json");
    let (code, out, err) = run(&mut modelci(&[
        "check",
        "--config",
        config.to_str().expect("utf8"),
        "--json",
        json.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 1, "{out}\n{err}");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&json).expect("r")).expect("json");
    let verdicts: Vec<(&str, &str)> = r["suites"]
        .as_array()
        .expect("suites")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().expect("name"),
                s["cases"][0]["outcome"].as_str().expect("outcome"),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            ("plain", "failed"),
            ("cpu-loose", "passed"),
            ("cuda-loose", "failed")
        ]
    );
    // The CUDA options are recorded only where CUDA ran.
    assert_eq!(r["suites"][2]["properties"]["device"], "cpu");
    assert!(
        r["suites"][2]["properties"].get("cuda_tf32").is_none(),
        "{r:#}"
    );
    let (code, _, err) = run(&mut modelci(&[
        "model",
        "test",
        "--model",
        MODEL,
        "--cases",
        "fixtures/golden/linear_cases.npz",
        "--cudnn-conv-algo-search",
        "fastest",
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(
            "`--cudnn-conv-algo-search` must be `exhaustive`, `heuristic` or `default`, not `fastest`"
        ),
        "{err}"
    );
}

#[test]
fn per_row_cases_are_batched_and_a_wrong_row_fails_alone() {
    if !runtime_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    // 8 stacked rows; row 5's expected label is made wrong.
    let cases = dir.path().join("rows.json");
    let (code, _, err) = run(&mut modelci(&[
        "model",
        "record",
        "--model",
        MODEL,
        "--inputs",
        "fixtures/golden/linear_cases.npz",
        "--out",
        cases.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 0, "{err}");
    let mut v: Value =
        serde_json::from_str(&std::fs::read_to_string(&cases).expect("r")).expect("json");
    let labels = &mut v["cases"][0]["outputs"]["label"]["data"];
    let old = labels[5].as_i64().expect("label");
    labels[5] = Value::from((old + 1) % 3);
    std::fs::write(&cases, v.to_string()).expect("w");
    for max_batch in ["1024", "1", "3"] {
        let json = dir.path().join(format!("r{max_batch}.json"));
        let (code, out, err) = run(&mut modelci(&[
            "model",
            "test",
            "--model",
            MODEL,
            "--cases",
            cases.to_str().expect("utf8"),
            "--per-row",
            "--max-batch",
            max_batch,
            "--json",
            json.to_str().expect("utf8"),
        ]));
        assert_eq!(code, 1, "--max-batch {max_batch}\n{out}\n{err}");
        assert!(out.contains("8 cases: 7 passed, 1 failed"), "{out}");
        let r: Value =
            serde_json::from_str(&std::fs::read_to_string(&json).expect("r")).expect("json");
        let c = r["suites"][0]["cases"].as_array().expect("cases");
        assert_eq!(c.len(), 8);
        let name = c[5]["name"].as_str().expect("name");
        assert!(name.starts_with("linear_cases.npz#5 ("), "{name}");
        assert_eq!(c[5]["outcome"], "failed", "{:#}", c[5]);
        assert!(
            c[5]["message"]
                .as_str()
                .expect("m")
                .contains("`label`: 1 of 1 element(s) differ"),
            "{:#}",
            c[5]
        );
        assert_eq!(r["suites"][0]["properties"]["max_batch"], max_batch);
    }
}

#[test]
fn re_recording_shows_what_changed_and_overwrites_only_with_accept() {
    if !runtime_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("golden.json");
    let record = |extra: &[&str]| {
        let mut args = vec![
            "model",
            "record",
            "--model",
            MODEL,
            "--inputs",
            "fixtures/golden/linear_cases.json",
            "--out",
            out.to_str().expect("utf8"),
        ];
        args.extend_from_slice(extra);
        run(&mut modelci(&args))
    };
    let (code, stdout, err) = record(&[]);
    assert_eq!(code, 0, "{stdout}\n{err}");
    let (code, stdout, _) = record(&[]);
    assert_eq!(code, 0);
    assert!(stdout.contains("unchanged"), "{stdout}");

    // Someone edits a recorded probability: re-recording shows it and keeps the file.
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&out).expect("r")).expect("j");
    let name = v["cases"][0]["name"].as_str().expect("name").to_owned();
    v["cases"][0]["outputs"]["probabilities"]["data"][0] = Value::from(0.5);
    let edited = v.to_string();
    std::fs::write(&out, &edited).expect("w");
    let (code, stdout, err) = record(&[]);
    assert_eq!(code, 1, "{stdout}\n{err}");
    assert!(
        stdout.contains("1 change(s) against the recorded golden cases"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("~ `{name}`: `probabilities`")),
        "{stdout}"
    );
    assert!(err.contains("rerun with --accept"), "{err}");
    assert_eq!(std::fs::read_to_string(&out).expect("r"), edited);
    let (code, stdout, _) = record(&["--accept"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.starts_with("recorded "), "{stdout}");
    let (code, stdout, _) = record(&[]);
    assert_eq!(code, 0);
    assert!(stdout.contains("unchanged"), "{stdout}");
}

/// A `[[suite.model]]` with every kind of expectation on the scikit-learn MLP fixture
/// (fixtures/models/make_sklearn.py), and a regression bound that `mlp_previous.onnx` breaks.
fn expectations_config(dir: &std::path::Path, max_label_change_rate: f64) -> std::path::PathBuf {
    let root = crate::root();
    let config = dir.join("modelci.toml");
    std::fs::write(
        &config,
        format!(
            r#"[[suite.model]]
name = "mlp"
model = "{root}/fixtures/models/mlp.onnx"
cases = ["{root}/fixtures/golden/mlp_rows.npz", "{root}/fixtures/golden/mlp_cases.json"]
per_row = true

[suite.model.edge_cases]
non_finite = "off"
extreme_values = false

[suite.model.invariants]
probabilities = ["probabilities"]

[[suite.model.robustness]]
perturbation = "gaussian"
scale = 0.01
max_flip_rate = 0.05
seed = 7

[[suite.model.robustness]]
name = "smallest flip"
perturbation = "search"
scale = 1.0
min_flip_eps = 0.001

[suite.model.regression]
baseline = "{root}/fixtures/models/mlp_previous.onnx"
max_label_change_rate = {max_label_change_rate}

[[suite.model]]
name = "nan-in"
model = "{root}/fixtures/models/mlp.onnx"
cases = ["{root}/fixtures/golden/mlp_cases.json"]

[suite.model.edge_cases]
"#,
            root = root.display()
        ),
    )
    .expect("w");
    config
}

#[test]
fn expectations_run_in_check_and_find_what_the_model_does_wrong() {
    if !runtime_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let config = expectations_config(dir.path(), 0.05);
    let json = dir.path().join("r.json");
    let (code, out, err) = run(&mut modelci(&[
        "check",
        "--config",
        config.to_str().expect("utf8"),
        "--json",
        json.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        !err.contains("onnxruntime"),
        "ONNX Runtime's own log stays quiet: {err}"
    );
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&json).expect("r")).expect("json");
    let mut lines = Vec::new();
    for suite in r["suites"].as_array().expect("suites") {
        for c in suite["cases"].as_array().expect("cases") {
            let name = c["name"].as_str().expect("name");
            if name.contains(".npz#") || name.contains("mlp_cases.json") {
                assert_eq!(c["outcome"], "passed", "{c:#}");
                continue;
            }
            lines.push(format!(
                "{} | {} | {}",
                suite["name"].as_str().expect("s"),
                c["outcome"].as_str().expect("o"),
                name
            ));
        }
    }
    let text = lines
        .join("\n")
        .replace(&crate::root().display().to_string(), "<root>");
    insta::assert_snapshot!("model_expectations", text);
    // The MLP answers NaN for NaN inputs: a real finding, reported with where it happened.
    let nan = r["suites"][1]["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .find(|c| c["name"] == "edge: NaN and ±Inf inputs give finite outputs")
        .expect("NaN case")
        .clone();
    assert_eq!(nan["outcome"], "failed");
    assert!(
        nan["message"]
            .as_str()
            .expect("m")
            .contains("gave NaN in output `probabilities`"),
        "{nan:#}"
    );
    let regression = r["suites"][0]["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .find(|c| {
            c["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("regression: against"))
        })
        .expect("regression")
        .clone();
    assert_eq!(
        regression["properties"]["changed_rows"], "1",
        "{regression:#}"
    );

    // Tightening the regression bound makes it fail, naming the changed row.
    let config = expectations_config(dir.path(), 0.0);
    let (code, out, _) = run(&mut modelci(&[
        "check",
        "--config",
        config.to_str().expect("utf8"),
        "--only",
        "mlp",
    ]));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("✗ regression: against"), "{out}");
    assert!(out.contains("mlp_rows.npz#33"), "{out}");
}
