//! `modelci canary shadow` against real reference services: the baseline serves the previous
//! model (version 1), one canary the current model (version 2: it predicts other classes for
//! some rows, with other scores), another the baseline's model again (version 3, with the fault
//! switch for latency and failures). The same requests go to both sides; the regressed canary
//! fails on agreement and drift naming the rows that differ, the identical one passes, a slow
//! one fails on latency, a failing or unreachable one on errors; a `[[suite.shadow]]` runs
//! through `modelci check` and `modelci canary shadow --config` with the flags as overrides;
//! bad input is exit 2.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::canary_prometheus::service;
use crate::{modelci, root, run, runtime_available, validate_junit};

const FEATURES: &str = "f0,f1,f2,f3,f4,f5,f6,f7,f8,f9,f10,f11,f12,f13,f14,f15,f16,f17,f18,f19";

/// The cases of the only suite of a JSON report: name → (outcome, message, properties).
fn cases(path: &Path) -> Vec<(String, String, String, Value)> {
    let report: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_default())
        .unwrap_or(Value::Null);
    report["suites"][0]["cases"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    (
                        c["name"].as_str().unwrap_or_default().to_owned(),
                        c["outcome"].as_str().unwrap_or_default().to_owned(),
                        c["message"].as_str().unwrap_or_default().to_owned(),
                        c["properties"].clone(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn case<'a>(
    all: &'a [(String, String, String, Value)],
    name: &str,
) -> &'a (String, String, String, Value) {
    all.iter()
        .find(|c| c.0 == name)
        .unwrap_or_else(|| panic!("no case `{name}` in {all:#?}"))
}

fn post_fault(base: &str, fault: &Value) {
    let r = reqwest::blocking::Client::new()
        .post(format!("{base}/faults"))
        .timeout(Duration::from_secs(10))
        .json(fault)
        .send()
        .expect("the fault switch answers");
    assert_eq!(r.status(), 200);
}

#[test]
fn shadow_traffic_judges_agreement_drift_latency_and_errors() {
    if !runtime_available() {
        return;
    }
    let (_v1, baseline) = service("mlp_previous.onnx", "1", false);
    let (_v2, changed) = service("mlp.onnx", "2", false);
    let (_v3, same) = service("mlp_previous.onnx", "3", true);
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("report.json");
    let junit = dir.path().join("junit.xml");
    let dataset = root().join("fixtures/gate/eval.csv");
    let dataset = dataset.to_str().expect("utf8");
    let shadow = |canary: &str, extra: &[&str]| {
        let mut args = vec![
            "canary",
            "shadow",
            "--baseline",
            &baseline,
            "--canary",
            canary,
            "--model-name",
            "mlp",
            "--dataset",
            dataset,
            "--features",
            FEATURES,
            // Two processes on a busy 2-core machine differ in latency by more than 10%.
            "--latency-tolerance",
            "1",
            "--latency-tolerance-ms",
            "5",
            "--json",
            json.to_str().expect("utf8"),
            "--junit",
            junit.to_str().expect("utf8"),
        ];
        args.extend_from_slice(extra);
        let (code, out, err) = run(&mut modelci(&args));
        (code, format!("{out}{err}"), cases(&json))
    };

    // The current model against the previous one: 1000 dataset rows, 58 predicted differently.
    let (code, out, all) = shadow(&changed, &[]);
    assert_eq!(code, 1, "{out}");
    let (_, outcome, message, props) = case(&all, "metric agreement.probabilities");
    assert_eq!(outcome, "failed", "{message}");
    assert_eq!(props["rows"], "1000");
    assert_eq!(props["agreeing"], "942", "{message}");
    assert!(
        message.contains("942 of 1000 rows agree (94.2%"),
        "{message}"
    );
    assert!(message.contains("at least 99% wanted"), "{message}");
    // The first disagreeing request is named, with what each side predicted.
    assert!(
        message.contains("`rows-34` top-1 class 1 (0.8742) instead of 2 (0.6603)"),
        "{message}"
    );
    assert!(message.contains("the metric is critical"), "{message}");
    let (_, outcome, message, _) = case(&all, "metric agreement.label");
    assert_eq!(outcome, "failed", "{message}");
    assert!(
        message.contains("`rows-34` [1] instead of [2]"),
        "{message}"
    );
    let (_, outcome, message, props) = case(&all, "metric drift.probabilities");
    assert_eq!(outcome, "failed", "{message}");
    let psi: f64 = props["psi"].as_str().unwrap_or("0").parse().expect("psi");
    assert!(psi > 1.0, "{message}");
    assert_eq!(case(&all, "metric errors").1, "passed");
    let (_, outcome, message, props) = case(&all, "verdict");
    assert_eq!(outcome, "failed", "{message}");
    assert_eq!(props["verdict"], "Fail");
    assert!(
        message.contains("critical metrics `agreement.label`, `agreement.probabilities` failed"),
        "{message}"
    );
    validate_junit(&junit);
    let xml = std::fs::read_to_string(&junit).expect("junit");
    assert!(xml.contains("metric agreement.probabilities"), "{xml}");

    // The same model behind another service: everything agrees, nothing drifts.
    let (code, out, all) = shadow(&same, &[]);
    assert_eq!(code, 0, "{out}");
    for name in [
        "metric latency",
        "metric errors",
        "metric agreement.label",
        "metric agreement.probabilities",
        "metric drift.probabilities",
        "verdict",
    ] {
        let (_, outcome, message, _) = case(&all, name);
        assert_eq!(outcome, "passed", "{name}: {message}");
    }
    let (_, _, message, props) = case(&all, "metric drift.probabilities");
    assert_eq!(props["psi"], "0", "{message}");
    assert_eq!(case(&all, "verdict").3["score"], "100");

    // The same model, 25 ms slower: latency fails, the predictions still agree.
    post_fault(&same, &json!({"model": "mlp", "delay_ms": 25}));
    let (code, out, all) = shadow(&same, &["--samples", "150"]);
    assert_eq!(code, 1, "{out}");
    let (_, outcome, message, props) = case(&all, "metric latency");
    assert_eq!(outcome, "failed", "{message}");
    assert_eq!(props["class"], "High");
    assert!(
        message.contains("the canary is worse (an increase is bad)"),
        "{message}"
    );
    let shift: f64 = props["shift"]
        .as_str()
        .unwrap_or("0")
        .parse()
        .expect("shift");
    assert!(shift > 20.0, "{message}");
    assert_eq!(case(&all, "metric agreement.label").1, "passed");
    assert_eq!(case(&all, "metric errors").1, "passed");
    // Latency alone: one group of three fails, 66.7 is under the Marginal threshold.
    assert_eq!(case(&all, "verdict").3["score"], "66.67");

    // The same model, failing: the critical error rate fails the canary.
    post_fault(&same, &json!({"model": "mlp", "fail": true}));
    let (code, out, all) = shadow(&same, &["--samples", "50"]);
    assert_eq!(code, 1, "{out}");
    let (_, outcome, message, props) = case(&all, "metric errors");
    assert_eq!(outcome, "failed", "{message}");
    assert_eq!(props["canary_errors"], "50");
    assert_eq!(props["baseline_errors"], "0");
    assert!(message.contains("first canary error: `rows-"), "{message}");
    assert!(message.contains("HTTP 5"), "{message}");
    assert_eq!(case(&all, "verdict").3["verdict"], "Fail");

    // Nobody listening: every canary request fails, and the message says why.
    let (code, out, all) = shadow("http://127.0.0.1:9", &["--samples", "20", "--timeout", "5"]);
    assert_eq!(code, 1, "{out}");
    let (_, outcome, message, _) = case(&all, "metric errors");
    assert_eq!(outcome, "failed", "{message}");
    assert!(message.contains("refused"), "{message}");
}

#[test]
fn a_configured_shadow_suite_runs_through_check_and_the_command() {
    if !runtime_available() {
        return;
    }
    let (_v1, baseline) = service("mlp_previous.onnx", "1", false);
    let (_v2, changed) = service("mlp.onnx", "2", false);
    let dir = tempfile::tempdir().expect("tempdir");
    let cases_file = root().join("fixtures/golden/mlp_cases.json");
    let config = dir.path().join("modelci.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[[suite.shadow]]
name = "shadow"
baseline = "{baseline}"
canary = "{changed}"
model_name = "mlp"
cases = ["{cases}"]
samples = 40
outputs = ["label"]
latency_tolerance = 1.0
latency_tolerance_ms = 5.0
"#,
            cases = cases_file.display()
        ),
    )
    .expect("config");
    let config = config.to_str().expect("utf8");
    let json = dir.path().join("report.json");
    let json_arg = json.to_str().expect("utf8");

    // The golden cases are rows both models predict the same: only `label` is compared.
    let (code, out, err) = run(&mut modelci(&[
        "check", "--config", config, "--json", json_arg,
    ]));
    assert_eq!(code, 0, "{out}{err}");
    let all = cases(&json);
    let names: Vec<&str> = all.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "metric latency",
            "metric errors",
            "metric agreement",
            "verdict"
        ],
        "{all:#?}"
    );

    // The command runs the configured suite; a flag overrides its value.
    let (code, out, err) = run(&mut modelci(&[
        "canary",
        "shadow",
        "--config",
        config,
        "--output",
        "probabilities",
        "--max-psi",
        "0.000001",
        "--json",
        json_arg,
    ]));
    let all = cases(&json);
    let (_, outcome, message, props) = case(&all, "metric drift");
    assert_eq!(props["max_psi"], "1.000e-6", "{message}");
    assert_eq!(props["output"], "probabilities", "{message}");
    // The scores differ between the models, so a drift bound this tight fails.
    assert_eq!(outcome, "failed", "{message}");
    assert_eq!(code, 1, "{out}{err}");
}

#[test]
fn bad_shadow_input_is_exit_2_with_a_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    // An absolute URL in recorded traffic would reach one server from both sides.
    let requests = dir.path().join("requests.jsonl");
    std::fs::write(
        &requests,
        "{\"name\": \"health\", \"url\": \"http://127.0.0.1:9/v2/health/ready\"}\n",
    )
    .expect("requests");
    let (code, out, err) = run(&mut modelci(&[
        "canary",
        "shadow",
        "--baseline",
        "http://127.0.0.1:9",
        "--canary",
        "http://127.0.0.1:10",
        "--requests",
        requests.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        format!("{out}{err}").contains(
            "request `health` gives an absolute `url` (http://127.0.0.1:9/v2/health/ready): a shadow comparison sends the same path to both sides, so give `path` instead"
        ),
        "{out}{err}"
    );
    for (args, expected) in [
        (
            vec![
                "--baseline",
                "ftp://x",
                "--canary",
                "http://127.0.0.1:10",
                "-X",
                "GET",
            ],
            "`--baseline` must be an http:// or https:// URL, not `ftp://x`",
        ),
        (
            vec![
                "--baseline",
                "http://127.0.0.1:9",
                "--canary",
                "http://127.0.0.1:10",
            ],
            "has no requests to send: give `--requests`",
        ),
        (
            vec![
                "--baseline",
                "http://127.0.0.1:9",
                "--canary",
                "http://127.0.0.1:10",
                "-X",
                "GET",
                "--min-agreement",
                "1.5",
            ],
            "`--min-agreement` must be from 0 to 1, not 1.5",
        ),
        (
            vec![
                "--baseline",
                "http://127.0.0.1:9",
                "--canary",
                "http://127.0.0.1:10",
                "-X",
                "GET",
                "--critical",
                "speed",
            ],
            "`--critical` names `speed`, which is not one of latency, errors, agreement, drift",
        ),
    ] {
        let mut all = vec!["canary", "shadow"];
        all.extend(args);
        let (code, out, err) = run(&mut modelci(&all));
        assert_eq!(code, 2, "{all:?}: {out}{err}");
        assert!(
            format!("{out}{err}").contains(expected),
            "{all:?}: {out}{err}"
        );
    }
    // A configuration without a shadow suite.
    let config = dir.path().join("modelci.toml");
    std::fs::write(&config, "").expect("config");
    let (code, out, err) = run(&mut modelci(&[
        "canary",
        "shadow",
        "--config",
        config.to_str().expect("utf8"),
    ]));
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        format!("{out}{err}").contains("has no `[[suite.shadow]]` table"),
        "{out}{err}"
    );
}
