//! The client against a real MLflow tracking server: the one at `MODELCI_TEST_MLFLOW_URI`
//! (`scripts/test` starts one with `scripts/mlflow-server start` and sets it). Without it these
//! tests are skipped with a notice, except when `CI=true`, where they fail (unless
//! `MODELCI_TEST_SKIP` opts out of `mlflow`).
//!
//! Every test uses its own experiment and model names, so they may run in parallel and
//! against a server that has seen earlier runs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test and benchmark code: a failed assumption is a failed run"
)]

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use modelci_mlflow::{
    Client, Config, Metric, MlflowError, ModelRef, ModelVersion, Run, RunStatus, find_onnx,
};

/// A client of the test server, or `None` under the test dependency guard (a failure when
/// `CI=true`, unless `MODELCI_TEST_SKIP` opts out of `mlflow`).
fn server() -> Option<Client> {
    let uri = modelci_test_support::mlflow_uri()?;
    let mut config = Config::new(&uri);
    config.timeout = Duration::from_secs(60);
    Some(Client::new(config).expect("MODELCI_TEST_MLFLOW_URI is a usable URI"))
}

/// A name no other test (or earlier run) uses.
fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn linear_onnx() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/models/linear.onnx")
}

/// A run in a fresh experiment, with `fixtures/models/linear.onnx` uploaded as its artifact
/// `model/model.onnx`.
fn run_with_model(client: &Client) -> Run {
    let experiment = client
        .get_or_create_experiment(&unique("modelci-exp"))
        .unwrap();
    let run = client
        .create_run(&experiment.experiment_id, Some("train"), &BTreeMap::new())
        .unwrap();
    assert!(
        run.info.artifact_uri.starts_with("mlflow-artifacts:"),
        "the test server proxies artifacts: {}",
        run.info.artifact_uri
    );
    client
        .upload_artifact(&run.info.artifact_uri, "model/model.onnx", &linear_onnx())
        .unwrap();
    run
}

/// A registered model with version 1 from the run's `model` folder.
fn registered(client: &Client, run: &Run, source: &str) -> (String, ModelVersion) {
    let name = unique("modelci-model");
    client.create_registered_model(&name).unwrap();
    let version = client
        .create_model_version(&name, source, Some(&run.info.run_id))
        .unwrap();
    (name, version)
}

#[test]
fn a_model_is_registered_tagged_aliased_resolved_and_downloaded() {
    let Some(client) = server() else { return };
    let run = run_with_model(&client);
    let source = format!("{}/model", run.info.artifact_uri);
    let (name, v1) = registered(&client, &run, &source);
    assert_eq!(v1.version, "1");
    assert_eq!(v1.run_id.as_deref(), Some(run.info.run_id.as_str()));
    assert_eq!(v1.source, source);

    client
        .set_registered_model_tag(&name, "modelci.threshold.accuracy", "0.9")
        .unwrap();
    client
        .set_model_version_tag(&name, "1", "modelci.gate", "pending")
        .unwrap();
    client.set_alias(&name, "champion", "1").unwrap();

    let model = client.registered_model(&name).unwrap();
    assert_eq!(model.tags["modelci.threshold.accuracy"], "0.9");
    assert_eq!(model.aliases["champion"], "1");
    assert_eq!(model.latest_versions[0].version, "1");

    let by_alias = client
        .resolve(&name, &ModelRef::parse("alias:champion").unwrap())
        .unwrap();
    let by_version = client.resolve_str(&name, "version:1").unwrap();
    let by_number = client.resolve_str(&name, "1").unwrap();
    assert_eq!(by_alias.version, "1");
    assert_eq!(by_alias.aliases, ["champion"]);
    assert_eq!(by_alias.tags["modelci.gate"], "pending");
    assert_eq!(by_version, by_number);
    assert_eq!(by_version.status, "READY");

    assert_eq!(client.download_uri(&name, "1").unwrap(), source);
    let dir = tempfile::tempdir().unwrap();
    let got = client
        .download_model_version(&name, "1", dir.path())
        .unwrap();
    assert_eq!(got.files, [PathBuf::from("model.onnx")]);
    let onnx = find_onnx(dir.path()).expect("the downloaded model.onnx");
    assert_eq!(
        std::fs::read(onnx).unwrap(),
        std::fs::read(linear_onnx()).unwrap(),
        "byte-identical"
    );
}

#[test]
fn a_version_registered_from_a_runs_uri_downloads_through_the_run() {
    let Some(client) = server() else { return };
    let run = run_with_model(&client);
    let source = format!("runs:/{}/model", run.info.run_id);
    let (name, v1) = registered(&client, &run, &source);
    assert_eq!(client.download_uri(&name, &v1.version).unwrap(), source);
    let dir = tempfile::tempdir().unwrap();
    client
        .download_model_version(&name, &v1.version, dir.path())
        .unwrap();
    assert_eq!(
        std::fs::read(dir.path().join("model.onnx")).unwrap(),
        std::fs::read(linear_onnx()).unwrap()
    );
    // A single file as the location lands under its own name.
    let file_dir = tempfile::tempdir().unwrap();
    client
        .download_artifacts(
            &format!("{}/model/model.onnx", run.info.artifact_uri),
            file_dir.path(),
        )
        .unwrap();
    assert!(file_dir.path().join("model.onnx").is_file());
    // Nothing at a location is not found.
    let e = client
        .download_artifacts(
            &format!("{}/nothing-here", run.info.artifact_uri),
            file_dir.path(),
        )
        .unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
}

#[test]
fn metrics_params_and_tags_are_logged_and_read_back() {
    let Some(client) = server() else { return };
    let experiment = client
        .get_or_create_experiment(&unique("modelci-exp"))
        .unwrap();
    // Asking again reuses it.
    let again = client.get_or_create_experiment(&experiment.name).unwrap();
    assert_eq!(again.experiment_id, experiment.experiment_id);

    let tags = BTreeMap::from([("modelci.kind".to_owned(), "gate".to_owned())]);
    let run = client
        .create_run(&experiment.experiment_id, Some("gate"), &tags)
        .unwrap();
    let id = &run.info.run_id;
    assert_eq!(run.info.status, "RUNNING");

    // More than one batch's worth (1000), a history with steps, and a NaN.
    let mut metrics: Vec<Metric> = (0..1200)
        .map(|i| Metric {
            key: format!("case_{i:04}"),
            value: f64::from(i) / 10.0,
            timestamp_ms: 1_700_000_000_000,
            step: 0,
        })
        .collect();
    for (step, value) in [0.80, 0.81, 0.82].into_iter().enumerate() {
        let step = i64::try_from(step).unwrap();
        metrics.push(Metric {
            key: "accuracy".into(),
            value,
            timestamp_ms: 1_700_000_000_000 + step,
            step,
        });
    }
    metrics.push(Metric::now("undefined", f64::NAN));
    let params = BTreeMap::from([("threshold".to_owned(), "0.9".to_owned())]);
    client
        .log_batch(id, &metrics, &params, &BTreeMap::new())
        .unwrap();
    client
        .set_run_tags(
            id,
            &BTreeMap::from([("modelci.verdict".to_owned(), "passed".to_owned())]),
        )
        .unwrap();
    client.terminate_run(id, RunStatus::Finished).unwrap();

    let read = client.get_run(id).unwrap();
    assert_eq!(read.info.status, "FINISHED");
    assert!(read.info.end_time.is_some());
    assert_eq!(read.data.metrics.len(), 1202);
    assert_eq!(read.data.metrics["case_1199"], 119.9);
    assert_eq!(read.data.metrics["accuracy"], 0.82, "the latest step");
    assert!(read.data.metrics["undefined"].is_nan());
    assert_eq!(read.data.params["threshold"], "0.9");
    assert_eq!(read.data.tags["modelci.kind"], "gate");
    assert_eq!(read.data.tags["modelci.verdict"], "passed");
    assert_eq!(read.data.tags["mlflow.runName"], "gate");
}

#[test]
fn aliases_move_and_are_deleted() {
    let Some(client) = server() else { return };
    let run = run_with_model(&client);
    let source = format!("{}/model", run.info.artifact_uri);
    let (name, _) = registered(&client, &run, &source);
    let v2 = client
        .create_model_version(&name, &source, Some(&run.info.run_id))
        .unwrap();
    assert_eq!(v2.version, "2");

    client.set_alias(&name, "champion", "1").unwrap();
    client.set_alias(&name, "champion", "2").unwrap();
    assert_eq!(
        client.resolve_str(&name, "alias:champion").unwrap().version,
        "2"
    );
    client.delete_alias(&name, "champion").unwrap();
    let e = client.resolve_str(&name, "alias:champion").unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
    // Deleting it again is fine, as on MLflow's own client.
    client.delete_alias(&name, "champion").unwrap();
    // An alias cannot point at a version that does not exist.
    let e = client.set_alias(&name, "champion", "99").unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
}

#[test]
fn missing_aliases_versions_and_models_are_not_found() {
    let Some(client) = server() else { return };
    let run = run_with_model(&client);
    let (name, _) = registered(&client, &run, &format!("{}/model", run.info.artifact_uri));

    let e = client.resolve_str(&name, "alias:nobody").unwrap_err();
    let MlflowError::NotFound { what, message, .. } = &e else {
        panic!("expected NotFound, got {e:?}");
    };
    assert!(
        what.contains("alias `nobody`") && what.contains(&name),
        "{e}"
    );
    assert!(message.contains("not found"), "{e}");

    let e = client.resolve_str(&name, "version:42").unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
    assert!(e.to_string().contains("version 42"), "{e}");

    let unknown = unique("modelci-unknown");
    for e in [
        client.registered_model(&unknown).unwrap_err(),
        client.resolve_str(&unknown, "alias:champion").unwrap_err(),
        client.resolve_str(&unknown, "1").unwrap_err(),
    ] {
        assert!(e.is_not_found(), "{e:?}");
        assert!(e.to_string().contains(&unknown), "{e}");
    }
    assert!(client.experiment_by_name(&unknown).unwrap().is_none());
    assert!(
        client
            .get_run("0123456789abcdef")
            .unwrap_err()
            .is_not_found()
    );
}

#[test]
fn an_unreachable_server_is_a_clear_error() {
    // Needs no server: a port that was just free and is closed now.
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut config = Config::new(format!("http://127.0.0.1:{port}"));
    config.retries = 1;
    config.backoff = Duration::from_millis(50);
    let e = Client::new(config)
        .unwrap()
        .resolve_str("fraud", "alias:champion")
        .unwrap_err();
    assert!(e.is_unavailable(), "{e:?}");
    let text = e.to_string();
    assert!(text.contains("cannot reach the MLflow server"), "{text}");
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(text.contains("gave up after 2 attempts"), "{text}");
}

#[test]
fn names_with_spaces_unicode_and_url_characters_round_trip() {
    let Some(client) = server() else { return };
    // Everything MLflow allows in a registered model name (all but `/` and `:`), including
    // what URLs and form encoding treat specially.
    let name = unique("modelci model +&=%#?;,'\"ü 模型");
    let experiment = client
        .get_or_create_experiment(&unique("modelci exp/with slash+&=%#?ü"))
        .unwrap();
    assert_eq!(
        client
            .experiment_by_name(&experiment.name)
            .unwrap()
            .map(|e| e.experiment_id),
        Some(experiment.experiment_id.clone())
    );
    let run = client
        .create_run(&experiment.experiment_id, None, &BTreeMap::new())
        .unwrap();
    // Artifact paths with spaces, `%`, `?`, `+`, `&` and unicode (MLflow refuses `#`).
    let artifact = "model dir/ü+%?&.onnx";
    client
        .upload_artifact(&run.info.artifact_uri, artifact, &linear_onnx())
        .unwrap();
    let listed = client
        .list_artifacts(&format!("{}/model dir", run.info.artifact_uri))
        .unwrap();
    assert_eq!(
        listed.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
        ["ü+%?&.onnx"]
    );

    client.create_registered_model(&name).unwrap();
    let source = format!("{}/model dir", run.info.artifact_uri);
    let v1 = client
        .create_model_version(&name, &source, Some(&run.info.run_id))
        .unwrap();
    assert_eq!(v1.name, name);
    client
        .set_model_version_tag(&name, "1", "key with space", "välue & more")
        .unwrap();
    let alias = "champion_ü-1";
    client.set_alias(&name, alias, "1").unwrap();
    let model = client.registered_model(&name).unwrap();
    assert_eq!(model.name, name);
    assert_eq!(model.aliases[alias], "1");
    let by_alias = client
        .resolve_str(&name, &format!("alias:{alias}"))
        .unwrap();
    assert_eq!(by_alias.version, "1");
    assert_eq!(by_alias.tags["key with space"], "välue & more");
    let dir = tempfile::tempdir().unwrap();
    let got = client
        .download_model_version(&name, "1", dir.path())
        .unwrap();
    assert_eq!(got.files, [PathBuf::from("ü+%?&.onnx")]);
    client.delete_alias(&name, alias).unwrap();
    assert!(
        client
            .resolve_str(&name, &format!("alias:{alias}"))
            .unwrap_err()
            .is_not_found()
    );
}
