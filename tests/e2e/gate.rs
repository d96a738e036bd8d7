//! `modelci gate` and `[[suite.gate]]`: the scikit-learn MLP fixtures judged on
//! fixtures/gate/eval.csv (held-out rows of their training data, made by
//! fixtures/gate/make_gate_data.py), with thresholds from a local file and from a real MLflow
//! registry (the server at `MODELCI_TEST_MLFLOW_URI`, which scripts/test starts).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::{modelci, root, run};

const CANDIDATE: &str = "fixtures/models/mlp.onnx";
const PREVIOUS: &str = "fixtures/models/mlp_previous.onnx";
const DATA: &str = "fixtures/gate/eval.csv";

fn features() -> Vec<String> {
    (0..20)
        .flat_map(|i| ["--feature".to_owned(), format!("f{i}")])
        .collect()
}

fn gate(extra: &[&str]) -> (i32, String, String) {
    let mut args: Vec<String> = ["gate", "--dataset", DATA, "--label", "label"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    args.extend(features());
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&mut modelci(&refs))
}

fn report(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("report")).expect("json")
}

fn outcomes(r: &Value) -> BTreeMap<String, String> {
    r["suites"][0]["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or_default().to_owned(),
                c["outcome"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_candidate_at_least_as_good_passes_with_every_kind_of_threshold() {
    if !crate::runtime_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("r.json");
    let junit = dir.path().join("r.xml");
    let (code, out, err) = gate(&[
        "--candidate",
        CANDIDATE,
        "--baseline",
        PREVIOUS,
        "--sensitive",
        "region",
        "--sensitive",
        "age_group",
        "--thresholds",
        "fixtures/gate/thresholds.toml",
        "--latency-batch-sizes",
        "1,32",
        "--latency-iterations",
        "20",
        "--explain",
        "--json",
        json.to_str().expect("utf8"),
        "--junit",
        junit.to_str().expect("utf8"),
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("thresholds:\n  accuracy_score: >= 0.9; at most 0.01 worse than baseline"),
        "{out}"
    );
    let r = report(&json);
    let o = outcomes(&r);
    for name in [
        "accuracy_score",
        "f1_score",
        "log_loss",
        "latency_p95_ms",
        "demographic_parity_difference/region",
        "demographic_parity_difference/age_group",
        "demographic_parity_difference/region&age_group",
        "recall_score/class=0",
        "recall_score/region=north",
    ] {
        assert_eq!(
            o.get(name).map(String::as_str),
            Some("passed"),
            "{name}: {o:#?}"
        );
    }
    // `east` is a small group: reported, not judged.
    let skipped: Vec<&String> = o
        .iter()
        .filter(|(_, v)| *v == "skipped")
        .map(|(k, _)| k)
        .collect();
    assert!(skipped.iter().all(|k| k.contains("east")), "{skipped:?}");
    let props = &r["suites"][0]["properties"];
    assert_eq!(props["rows"], "1000");
    assert_eq!(props["candidate_device"], "cpu");
    assert_eq!(
        props["baseline_model_sha256"].as_str().map(str::len),
        Some(64)
    );
    crate::validate_junit(&junit);
}

#[test]
fn a_regressed_candidate_fails_and_statistics_decide_close_calls() {
    if !crate::runtime_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let thresholds = dir.path().join("t.json");
    std::fs::write(
        &thresholds,
        r#"{
          "accuracy_score": {"threshold": 0.93, "greater_is_better": true},
          "f1_score": {"max_absolute_degradation": 0.005, "greater_is_better": true},
          "recall_score": {"max_absolute_degradation": 0.005, "greater_is_better": true, "confidence": 0.95},
          "roc_aucc": {"threshold": 0.5, "greater_is_better": true}
        }"#,
    )
    .expect("w");
    let json = dir.path().join("r.json");
    let (code, out, err) = gate(&[
        "--candidate",
        PREVIOUS,
        "--baseline",
        CANDIDATE,
        "--thresholds",
        thresholds.to_str().expect("utf8"),
        "--json",
        json.to_str().expect("utf8"),
    ]);
    assert_eq!(
        code, 2,
        "a misspelt metric fails closed (errored)\n{out}\n{err}"
    );
    let r = report(&json);
    let o = outcomes(&r);
    assert_eq!(o["accuracy_score"], "failed");
    assert_eq!(
        o["f1_score"], "failed",
        "the point estimate decides without statistics"
    );
    assert_eq!(
        o["recall_score"], "passed",
        "1000 rows cannot tell a 0.019 drop from chance"
    );
    assert_eq!(o["roc_aucc"], "errored");
    let cases = r["suites"][0]["cases"].as_array().expect("cases");
    let by = |n: &str| cases.iter().find(|c| c["name"] == n).expect(n).clone();
    assert_eq!(
        by("accuracy_score")["message"],
        "candidate accuracy_score = 0.925 < threshold 0.93"
    );
    assert!(
        by("recall_score")["message"]
            .as_str()
            .expect("m")
            .starts_with("warning: "),
        "{:#}",
        by("recall_score")
    );
    assert!(
        by("roc_aucc")["message"]
            .as_str()
            .expect("m")
            .contains("did you mean `roc_auc`?")
    );
    assert!(out.contains("✗ accuracy_score"), "{out}");
}

#[test]
fn bad_input_is_named_and_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[accuracy_score]\nthreshold = 0.8\n").expect("w");
    let (code, _, err) = gate(&[
        "--candidate",
        CANDIDATE,
        "--thresholds",
        bad.to_str().expect("utf8"),
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("bad.toml: [accuracy_score]: `greater_is_better` must be given"),
        "{err}"
    );

    let (code, _, err) = run(&mut modelci(&[
        "gate",
        "--candidate",
        CANDIDATE,
        "--dataset",
        DATA,
        "--label",
        "lable",
        "--thresholds",
        "fixtures/gate/thresholds.toml",
    ]));
    assert_eq!(code, 2);
    assert!(err.contains("`lable`") && err.contains("label"), "{err}");

    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "f0,label\n").expect("w");
    let (code, _, err) = run(&mut modelci(&[
        "gate",
        "--candidate",
        CANDIDATE,
        "--dataset",
        empty.to_str().expect("utf8"),
        "--label",
        "label",
        "--thresholds",
        "fixtures/gate/thresholds.toml",
    ]));
    assert_eq!(code, 2);
    assert!(err.contains("empty.csv"), "{err}");

    let (code, _, err) = gate(&[
        "--candidate",
        "version:3",
        "--thresholds",
        "fixtures/gate/thresholds.toml",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("`--model-name` is needed"), "{err}");

    let (code, _, err) = gate(&[
        "--candidate",
        "version:3",
        "--model-name",
        "clf",
        "--tracking-uri",
        "http://127.0.0.1:1",
        "--thresholds",
        "fixtures/gate/thresholds.toml",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("127.0.0.1:1"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn predictions_computed_elsewhere_need_no_model_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("r.json");
    let (code, out, err) = run(&mut modelci(&[
        "gate",
        "--candidate",
        CANDIDATE,
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
    // No baseline: the accuracy threshold's degradation bound cannot be judged (fails closed);
    // no latency was measured.
    assert_eq!(code, 2, "{out}\n{err}");
    let o = outcomes(&report(&json));
    assert_eq!(o["f1_score"], "passed");
    assert_eq!(o["accuracy_score"], "errored");
    assert_eq!(o["latency_p95_ms"], "errored");
}

/// The test registry, or `None` under the test dependency guard (a failure when CI=true, unless
/// `MODELCI_TEST_SKIP` opts out of `mlflow`).
fn registry() -> Option<(modelci_mlflow::Client, String)> {
    let uri = modelci_test_support::mlflow_uri()?;
    let client = modelci_mlflow::Client::new(modelci_mlflow::Config::new(&uri)).expect("client");
    Some((client, uri))
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// Registers `files` as versions 1, 2, ... of a new model, each from its own run with the file
/// as `model/<name>`; returns the model name.
fn register(client: &modelci_mlflow::Client, files: &[(&str, &str)]) -> String {
    let name = unique("gate-e2e");
    client.create_registered_model(&name).expect("model");
    let experiment = client
        .get_or_create_experiment(&unique("gate-e2e-exp"))
        .expect("experiment");
    for (path, artifact) in files {
        let run = client
            .create_run(&experiment.experiment_id, None, &BTreeMap::new())
            .expect("run");
        client
            .log_artifact(
                &run.info.run_id,
                &format!("model/{artifact}"),
                &root().join(path),
            )
            .expect("upload");
        if artifact.ends_with(".txt") {
            // A model that is not ONNX: its logged metrics stand in for it.
            let now = 0;
            client
                .log_metrics(
                    &run.info.run_id,
                    &[modelci_mlflow::Metric {
                        key: "accuracy_score".into(),
                        value: 0.95,
                        timestamp_ms: now,
                        step: 0,
                    }],
                )
                .expect("metrics");
        }
        let source = format!("{}/model", run.info.artifact_uri);
        client
            .create_model_version(&name, &source, Some(&run.info.run_id))
            .expect("version");
    }
    name
}

/// A new registered model with version 1 (the previous model, alias `champion`) and version 2
/// (the candidate), or `None` where the registry or ONNX Runtime is missing.
fn champion_and_candidate() -> Option<(modelci_mlflow::Client, String, String)> {
    let (client, uri) = registry()?;
    if !crate::runtime_available() {
        return None;
    }
    let name = register(
        &client,
        &[(PREVIOUS, "model.onnx"), (CANDIDATE, "model.onnx")],
    );
    client.set_alias(&name, "champion", "1").expect("alias");
    Some((client, uri, name))
}

#[test]
fn the_registry_supplies_models_and_thresholds_and_takes_the_verdict() {
    let Some((client, uri, name)) = champion_and_candidate() else {
        return;
    };
    client
        .set_registered_model_tag(
            &name,
            "modelci.thresholds",
            r#"{"accuracy_score": {"threshold": 0.9, "max_absolute_degradation": 0.0, "greater_is_better": true},
                "f1_score": {"threshold": 0.99, "greater_is_better": true}}"#,
        )
        .expect("model tag");
    // The version's own tag relaxes f1 for this version.
    client
        .set_model_version_tag(
            &name,
            "2",
            "modelci.threshold.f1_score",
            r#"{"threshold": 0.9, "greater_is_better": true}"#,
        )
        .expect("version tag");
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("r.json");
    let (code, out, err) = gate(&[
        "--model-name",
        &name,
        "--candidate",
        "version:2",
        "--baseline",
        "alias:champion",
        "--tracking-uri",
        &uri,
        "--explain",
        "--record",
        "--promote-alias",
        "canary",
        "--json",
        json.to_str().expect("utf8"),
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains(&format!("f1_score: >= 0.9 (higher is better) (from model `{name}` version 2 tag `modelci.threshold.f1_score`); overrides registered model `{name}` tag `modelci.thresholds`")),
        "{out}"
    );
    let r = report(&json);
    let o = outcomes(&r);
    assert_eq!(o["accuracy_score"], "passed");
    assert_eq!(o["f1_score"], "passed");
    assert_eq!(
        o["record: candidate metrics and verdict written to MLflow"],
        "passed"
    );
    assert_eq!(o["promote: alias `canary`"], "passed");
    assert_eq!(r["suites"][0]["properties"]["candidate_version"], "2");
    assert_eq!(r["suites"][0]["properties"]["baseline_version"], "1");
    let canary = client
        .model_version_by_alias(&name, "canary")
        .expect("canary");
    assert_eq!(canary.version, "2");
    let v2 = client.model_version(&name, "2").expect("v2");
    assert_eq!(
        v2.tags.get("modelci.verdict").map(String::as_str),
        Some("pass")
    );
    let run_id = v2.tags.get("modelci.run_id").expect("run id");
    let logged = client.get_run(run_id).expect("run");
    assert!(
        (logged.data.metrics["accuracy_score"] - 0.944).abs() < 1e-9,
        "{:?}",
        logged.data.metrics
    );
    assert!(
        logged
            .data
            .metrics
            .keys()
            .any(|k| k.starts_with("recall_score/class_0") || k == "recall_score/class_0"),
        "{:?}",
        logged.data.metrics.keys()
    );

    // The previous model as the candidate against the champion-to-be fails: no promotion.
    client.set_alias(&name, "champion", "2").expect("alias");
    let (code, out, _) = gate(&[
        "--model-name",
        &name,
        "--candidate",
        "version:1",
        "--baseline",
        "alias:champion",
        "--tracking-uri",
        &uri,
        "--record",
        "--promote-alias",
        "canary",
        "--json",
        json.to_str().expect("utf8"),
    ]);
    assert_eq!(code, 1, "{out}");
    let o = outcomes(&report(&json));
    assert_eq!(o["accuracy_score"], "failed");
    assert_eq!(o["promote: alias `canary`"], "skipped");
    assert_eq!(
        client
            .model_version_by_alias(&name, "canary")
            .expect("canary")
            .version,
        "2"
    );
    let v1 = client.model_version(&name, "1").expect("v1");
    assert_eq!(
        v1.tags.get("modelci.verdict").map(String::as_str),
        Some("fail")
    );
}

#[test]
fn registry_problems_are_named() {
    let Some((client, uri)) = registry() else {
        return;
    };
    if !crate::runtime_available() {
        return;
    }
    let name = register(
        &client,
        &[
            (CANDIDATE, "model.onnx"),
            ("fixtures/gate/make_gate_data.py", "notes.txt"),
        ],
    );
    client
        .set_registered_model_tag(&name, "modelci.threshold.accuracy_score", "{not json")
        .expect("tag");
    client
        .set_registered_model_tag(
            &name,
            "modelci.threshold.f1_score",
            r#"{"threshold": 0.9, "greater_is_better": true}"#,
        )
        .expect("tag");
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("r.json");
    // Version 2 has no .onnx artifact: its run's logged metrics are the baseline's.
    let (code, out, err) = gate(&[
        "--model-name",
        &name,
        "--candidate",
        "version:1",
        "--baseline",
        "version:2",
        "--tracking-uri",
        &uri,
        "--json",
        json.to_str().expect("utf8"),
    ]);
    assert_eq!(code, 2, "{out}\n{err}");
    let r = report(&json);
    let o = outcomes(&r);
    let bad =
        format!("thresholds (registered model `{name}` tag `modelci.threshold.accuracy_score`)");
    assert_eq!(o[&bad], "errored", "{o:#?}");
    assert_eq!(o["f1_score"], "passed");
    assert_eq!(
        r["suites"][0]["properties"]["baseline_metrics"],
        "logged run metrics (no .onnx artifact)"
    );

    let (code, _, err) = gate(&[
        "--model-name",
        &name,
        "--candidate",
        "alias:nope",
        "--tracking-uri",
        &uri,
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("alias") && err.contains("nope") && err.contains("not found"),
        "{err}"
    );
    let (code, _, err) = gate(&[
        "--model-name",
        "no-such-model-anywhere",
        "--candidate",
        "version:1",
        "--tracking-uri",
        &uri,
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("no-such-model-anywhere"), "{err}");
}

#[test]
fn the_candidate_can_be_a_live_endpoint_and_is_timed_there() {
    if !crate::runtime_available() {
        return;
    }
    let Some(server) = crate::endpoint::start(&["mlp=fixtures/models/mlp.onnx"], "none") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("r.json");
    let (code, out, err) = gate(&[
        "--candidate",
        CANDIDATE,
        "--baseline",
        PREVIOUS,
        "--endpoint",
        &server.url,
        "--endpoint-model",
        "mlp",
        "--sensitive",
        "region",
        "--thresholds",
        "fixtures/gate/thresholds.toml",
        "--latency-batch-sizes",
        "1",
        "--latency-iterations",
        "20",
        "--json",
        json.to_str().expect("utf8"),
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    let r = report(&json);
    let o = outcomes(&r);
    assert_eq!(o["accuracy_score"], "passed");
    assert_eq!(o["latency_p95_ms"], "passed");
    assert_eq!(
        r["suites"][0]["properties"]["candidate_endpoint"],
        format!("{}/v2/models/mlp", server.url)
    );
}

/// A sharded `modelci check` evaluates a `[[suite.gate]]` in one shard only, so its write-back
/// to MLflow (`record`) happens exactly once, and its cases are all in that shard's report.
#[test]
fn a_sharded_run_evaluates_the_gate_and_writes_back_once() {
    let Some((client, uri, name)) = champion_and_candidate() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let features: Vec<String> = (0..20).map(|i| format!("\"f{i}\"")).collect();
    let config = dir.path().join("modelci.toml");
    std::fs::write(
        &config,
        format!(
            r#"{schemas}
[[suite.gate]]
name = "release"
model_name = "{name}"
candidate = "version:2"
baseline = "alias:champion"
tracking_uri = "{uri}"
dataset = "{root}/{DATA}"
label = "label"
features = [{features}]
sensitive = ["region", "age_group"]
thresholds = "{root}/fixtures/gate/thresholds.toml"
record = true

[suite.gate.latency]
warmup = 1
iterations = 5
batch_sizes = [1]
"#,
            root = root().display(),
            schemas = crate::schemas_suite(),
            features = features.join(", ")
        ),
    )
    .expect("config");
    let mut owners = 0;
    for k in 1..=3 {
        let json = dir.path().join(format!("s{k}.json"));
        let (code, out, err) = run(&mut modelci(&[
            "check",
            "--config",
            config.to_str().expect("utf8"),
            "--shard",
            &format!("{k}/3"),
            "--json",
            json.to_str().expect("utf8"),
        ]));
        assert!(code == 0 || code == 1, "{out}\n{err}");
        let r = report(&json);
        if let Some(gate) = r["suites"]
            .as_array()
            .expect("suites")
            .iter()
            .find(|s| s["name"] == "release")
        {
            owners += 1;
            let cases = gate["cases"].as_array().expect("cases");
            assert!(
                cases.iter().any(|c| c["name"]
                    == "record: candidate metrics and verdict written to MLflow"
                    && c["outcome"] == "passed"),
                "{gate}"
            );
        }
    }
    assert_eq!(owners, 1, "the gate belongs to exactly one shard");
    // One MLflow run recorded for this model, not one per shard.
    let found: Value = reqwest::blocking::Client::new()
        .post(format!("{uri}/api/2.0/mlflow/runs/search"))
        .json(&serde_json::json!({
            "experiment_ids": [client.get_or_create_experiment("modelci-gate").expect("experiment").experiment_id],
            "filter": format!("tags.\"modelci.model_name\" = '{name}'"),
            "max_results": 100,
        }))
        .send()
        .and_then(reqwest::blocking::Response::error_for_status)
        .expect("search runs")
        .json()
        .expect("json");
    let runs = found["runs"].as_array().map_or(0, Vec::len);
    assert_eq!(runs, 1, "{found}");
}

/// A registry that accepts connections and never answers, and one that trickles its answer a
/// byte at a time: the gate gives up within `--timeout` per request and `--budget` for the run
/// (or `MLFLOW_HTTP_REQUEST_TIMEOUT`), exit 2, instead of hanging.
#[test]
fn a_hanging_or_trickling_registry_is_given_up_on_in_time() {
    use std::io::Write;
    use std::time::{Duration, Instant};

    fn server(trickle: bool) -> String {
        crate::raw::serve(move |stream, _| {
            if !trickle {
                std::thread::sleep(Duration::from_secs(600));
                return;
            }
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n",
            );
            for _ in 0..100_000 {
                if stream.write_all(b" ").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        })
    }

    let hanging = server(false);
    let started = Instant::now();
    let (code, out, err) = gate(&[
        "--model-name",
        "m",
        "--candidate",
        "version:1",
        "--tracking-uri",
        &hanging,
        "--timeout",
        "1",
        "--budget",
        "4",
        "--thresholds",
        "fixtures/gate/thresholds.toml",
    ]);
    let took = started.elapsed().as_secs_f64();
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        err.contains("timed out after 1 s") || err.contains("budget of 4 s is spent"),
        "{err}"
    );
    // Bounds only a hang breaks: 1 s a request, 4 s for the run.
    assert!(took < 30.0, "took {took:.1} s");

    let trickling = server(true);
    let started = Instant::now();
    let mut cmd = crate::modelci(&[]);
    cmd.env("MLFLOW_HTTP_REQUEST_TIMEOUT", "1")
        .env("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1");
    let mut args: Vec<String> = [
        "gate",
        "--dataset",
        DATA,
        "--label",
        "label",
        "--model-name",
        "m",
        "--candidate",
        "version:1",
        "--tracking-uri",
        &trickling,
        "--thresholds",
        "fixtures/gate/thresholds.toml",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.extend(features());
    cmd.args(&args);
    let (code, out, err) = run(&mut cmd);
    let took = started.elapsed().as_secs_f64();
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        took < 30.0,
        "a trickling body was not bounded: took {took:.1} s; {err}"
    );
}

/// A NaN feature that the model passes on is named with the dataset's file, line and column,
/// not as an anonymous "value 12 is not a finite number".
#[test]
fn a_nan_feature_is_named_with_its_file_line_and_column() {
    if !crate::runtime_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("eval.csv");
    let text = std::fs::read_to_string(root().join(DATA)).expect("data");
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut cells: Vec<String> = lines[5].split(',').map(str::to_owned).collect();
    cells[3] = "nan".into();
    lines[5] = cells.join(",");
    std::fs::write(&data, lines.join("\n") + "\n").expect("write");
    let data = data.to_str().expect("utf8").to_owned();
    let mut args: Vec<String> = [
        "gate",
        "--candidate",
        CANDIDATE,
        "--dataset",
        &data,
        "--label",
        "label",
        "--thresholds",
        "fixtures/gate/thresholds.toml",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.extend(features());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = run(&mut modelci(&refs));
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        err.contains(&format!(
            "{data}:6: the candidate's output for row index 4 is not a number"
        )) && err.contains("`f3`"),
        "{err}"
    );
}
