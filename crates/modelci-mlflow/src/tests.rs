//! The client against an in-process fake server (canned answers): retries, quirks, errors,
//! secrets, artifact safety. The real server's tests are in `tests/server.rs`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{Auth, Client, Config, Metric, MlflowError, ModelRef};

/// One request the fake server received.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    /// Path and query, as sent.
    target: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

impl Seen {
    fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// One canned answer.
struct Canned {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Wait this long before answering.
    delay: Duration,
}

fn answer(status: u16, body: Value) -> Canned {
    Canned {
        status,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: body.to_string().into_bytes(),
        delay: Duration::ZERO,
    }
}

fn raw(status: u16, body: &[u8]) -> Canned {
    Canned {
        status,
        headers: Vec::new(),
        body: body.to_vec(),
        delay: Duration::ZERO,
    }
}

fn mlflow_error(status: u16, code: &str, message: &str) -> Canned {
    answer(status, json!({ "error_code": code, "message": message }))
}

type Handler = dyn Fn(&Seen, usize) -> Canned + Send + Sync;

/// A fake HTTP/1.1 server on 127.0.0.1 that answers every request with `handler(request,
/// index)` and closes the connection.
struct Fake {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Fake {
    fn start(handler: impl Fn(&Seen, usize) -> Canned + Send + Sync + 'static) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let log = Arc::clone(&seen);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let handler = Arc::clone(&handler);
                let log = Arc::clone(&log);
                thread::spawn(move || serve(stream, &*handler, &log));
            }
        });
        Fake { url, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn client(&self) -> Client {
        Client::new(self.config()).unwrap()
    }

    fn config(&self) -> Config {
        let mut c = Config::new(self.url.clone());
        c.backoff = Duration::from_millis(1);
        c.retries = 2;
        c.timeout = Duration::from_secs(5);
        c
    }
}

fn serve(stream: TcpStream, handler: &Handler, log: &Mutex<Vec<Seen>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    let _ = reader.read_exact(&mut body);
    let request = Seen {
        method,
        target,
        headers,
        body,
    };
    let index = {
        let mut log = log.lock().unwrap();
        log.push(request.clone());
        log.len() - 1
    };
    let canned = handler(&request, index);
    thread::sleep(canned.delay);
    let mut out = stream;
    let mut head = format!(
        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        canned.status,
        canned.body.len()
    );
    for (k, v) in &canned.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = out.write_all(head.as_bytes());
    let _ = out.write_all(&canned.body);
    let _ = out.flush();
}

#[test]
fn quirks_omitted_fields_string_versions_and_tag_lists() {
    let fake = Fake::start(|req, _| match req.path() {
        "/api/2.0/mlflow/registered-models/get" => answer(
            200,
            json!({ "registered_model": {
                "name": "fraud",
                "tags": [{"key": "threshold.accuracy", "value": "0.9"}],
                "aliases": [{"alias": "champion", "version": "2"}],
                "latest_versions": [{"name": "fraud", "version": "2", "status": "READY"}]
            }}),
        ),
        "/api/2.0/mlflow/model-versions/get" => answer(
            200,
            json!({ "model_version": {"name": "fraud", "version": "2", "run_link": ""} }),
        ),
        _ => raw(404, b"no"),
    });
    let client = fake.client();
    let model = client.registered_model("fraud").unwrap();
    assert_eq!(model.tags["threshold.accuracy"], "0.9");
    assert_eq!(model.aliases["champion"], "2");
    assert_eq!(model.description, "");
    assert_eq!(model.latest_versions[0].version, "2");

    let version = client
        .resolve("fraud", &ModelRef::Version("2".into()))
        .unwrap();
    assert_eq!(version.version, "2");
    assert_eq!(version.run_id, None);
    assert!(version.tags.is_empty() && version.aliases.is_empty());
    let seen = fake.seen();
    assert_eq!(
        seen[0].target,
        "/api/2.0/mlflow/registered-models/get?name=fraud"
    );
    assert_eq!(
        seen[1].target,
        "/api/2.0/mlflow/model-versions/get?name=fraud&version=2"
    );
}

#[test]
fn a_path_prefix_in_the_tracking_uri_is_kept() {
    let fake = Fake::start(|_, _| {
        answer(
            200,
            json!({ "model_version": {"name": "m", "version": "1"} }),
        )
    });
    let client = Client::new(Config::new(format!("{}/mlflow", fake.url))).unwrap();
    client.model_version("m", "1").unwrap();
    assert_eq!(
        fake.seen()[0].path(),
        "/mlflow/api/2.0/mlflow/model-versions/get"
    );
}

#[test]
fn a_path_prefix_with_a_trailing_slash_is_kept_for_the_api_and_the_artifacts() {
    let fake = Fake::start(|req, _| {
        if req.path().ends_with("/artifacts") {
            answer(200, json!({"files": [{"path": "m.onnx", "file_size": 1}]}))
        } else {
            answer(
                200,
                json!({ "model_version": {"name": "m", "version": "1"} }),
            )
        }
    });
    let client = Client::new(Config::new(format!("{}/mlflow/", fake.url))).unwrap();
    client.model_version("m", "1").unwrap();
    client
        .list_artifacts("mlflow-artifacts:/1/r/artifacts")
        .unwrap();
    let seen = fake.seen();
    assert_eq!(seen[0].path(), "/mlflow/api/2.0/mlflow/model-versions/get");
    assert_eq!(
        seen[1].target,
        "/mlflow/api/2.0/mlflow-artifacts/artifacts?path=1%2Fr%2Fartifacts"
    );
}

#[test]
fn names_are_percent_encoded_in_queries() {
    let fake = Fake::start(|_, _| {
        answer(
            200,
            json!({ "model_version": {"name": "a b&c", "version": "1"} }),
        )
    });
    fake.client()
        .model_version_by_alias("a b&c", "x/y")
        .unwrap();
    assert_eq!(
        fake.seen()[0].target,
        "/api/2.0/mlflow/registered-models/alias?name=a+b%26c&alias=x%2Fy"
    );
}

#[test]
fn a_429_with_retry_after_is_waited_for_then_retried() {
    let fake = Fake::start(|_, n| {
        if n == 0 {
            let mut c = mlflow_error(429, "REQUEST_LIMIT_EXCEEDED", "slow down");
            c.headers.push(("Retry-After".into(), "1".into()));
            c
        } else {
            answer(
                200,
                json!({ "model_version": {"name": "m", "version": "1"} }),
            )
        }
    });
    let started = Instant::now();
    let v = fake.client().model_version("m", "1").unwrap();
    assert_eq!(v.version, "1");
    assert_eq!(fake.seen().len(), 2);
    // The retry came after the server's Retry-After, not after the 1 ms backoff.
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[test]
fn a_retry_after_beyond_the_budget_gives_up_at_once_saying_so() {
    let fake = Fake::start(|_, _| {
        let mut c = mlflow_error(503, "TEMPORARILY_UNAVAILABLE", "maintenance");
        c.headers.push(("Retry-After".into(), "3600".into()));
        c
    });
    let e = fake.client().model_version("m", "1").unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, MlflowError::Api { status: 503, .. }), "{e:?}");
    assert!(
        text.contains("3600 s") && text.contains("retry budget"),
        "{text}"
    );
    assert_eq!(fake.seen().len(), 1);
}

#[test]
fn a_500_is_retried_until_the_retries_are_spent() {
    let fake = Fake::start(|_, _| mlflow_error(500, "INTERNAL_ERROR", "database is locked"));
    let e = fake.client().registered_model("m").unwrap_err();
    let text = e.to_string();
    assert_eq!(fake.seen().len(), 3, "1 try + 2 retries");
    assert!(
        matches!(&e, MlflowError::Api { status: 500, error_code: Some(c), .. } if c == "INTERNAL_ERROR")
    );
    assert!(
        text.contains("INTERNAL_ERROR: database is locked"),
        "{text}"
    );
    assert!(text.contains("registered-models/get?name=m"), "{text}");
    assert!(text.contains("gave up after 3 attempts"), "{text}");
}

#[test]
fn a_500_then_200_succeeds_for_idempotent_posts() {
    let fake = Fake::start(|_, n| {
        if n == 0 {
            raw(502, b"bad gateway")
        } else {
            answer(200, json!({}))
        }
    });
    fake.client()
        .log_metrics("r1", &[Metric::now("acc", 0.9)])
        .unwrap();
    let seen = fake.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].path(), "/api/2.0/mlflow/runs/log-batch");
    assert_eq!(seen[1].json()["metrics"][0]["key"], "acc");
    assert_eq!(seen[1].headers["content-type"], "application/json");
}

#[test]
fn creates_are_not_retried_after_a_5xx_but_are_after_a_429() {
    let fake = Fake::start(|_, _| mlflow_error(500, "INTERNAL_ERROR", "boom"));
    let e = fake.client().create_registered_model("m").unwrap_err();
    assert!(matches!(e, MlflowError::Api { status: 500, .. }));
    assert_eq!(fake.seen().len(), 1);

    let fake = Fake::start(|_, n| {
        if n == 0 {
            mlflow_error(429, "REQUEST_LIMIT_EXCEEDED", "later")
        } else {
            answer(200, json!({ "registered_model": {"name": "m"} }))
        }
    });
    assert_eq!(
        fake.client().create_registered_model("m").unwrap().name,
        "m"
    );
    assert_eq!(fake.seen().len(), 2);
}

#[test]
fn a_missing_alias_is_not_found_naming_model_and_alias() {
    let fake = Fake::start(|req, _| {
        if req.target.contains("name=fraud") {
            mlflow_error(
                400,
                "INVALID_PARAMETER_VALUE",
                "Registered model alias champion not found.",
            )
        } else {
            mlflow_error(
                404,
                "RESOURCE_DOES_NOT_EXIST",
                "Registered Model with name=nope not found",
            )
        }
    });
    let client = fake.client();
    let e = client.resolve_str("fraud", "alias:champion").unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("alias `champion`") && text.contains("`fraud`"),
        "{text}"
    );
    assert!(text.contains("not found"), "{text}");

    let e = client.resolve_str("nope", "alias:champion").unwrap_err();
    assert!(e.is_not_found());
    assert!(e.to_string().starts_with("registered model `nope`"), "{e}");
    // Not found is final: no retries.
    assert_eq!(fake.seen().len(), 2);
}

#[test]
fn other_invalid_parameters_stay_api_errors() {
    let fake = Fake::start(|_, _| {
        mlflow_error(
            400,
            "INVALID_PARAMETER_VALUE",
            "Parameter 'version' must be an integer",
        )
    });
    let e = fake.client().model_version("m", "x").unwrap_err();
    assert!(matches!(e, MlflowError::Api { status: 400, .. }), "{e:?}");
    let e = fake.client().model_version_by_alias("m", "v1").unwrap_err();
    assert!(!e.is_not_found(), "{e:?}");
}

#[test]
fn a_404_without_mlflow_json_means_the_endpoint_is_missing() {
    let fake = Fake::start(|_, _| {
        raw(
            404,
            b"<!doctype html><html><title>404 Not Found</title><h1>Not Found</h1></html>",
        )
    });
    let e = fake.client().registered_model("m").unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, MlflowError::Api { status: 404, .. }), "{e:?}");
    assert!(text.contains("404 Not Found"), "{text}");
    assert!(text.contains("an MLflow tracking server"), "{text}");
}

#[test]
fn a_body_that_is_not_json_is_a_protocol_error() {
    let fake = Fake::start(|_, _| raw(200, b"<html>hello</html>"));
    let e = fake.client().registered_model("m").unwrap_err();
    assert!(matches!(e, MlflowError::Protocol { .. }), "{e:?}");
    let fake = Fake::start(|_, _| answer(200, json!({ "something": "else" })));
    let e = fake.client().registered_model("m").unwrap_err();
    assert!(matches!(e, MlflowError::Protocol { .. }), "{e:?}");
    assert!(e.to_string().contains("registered-models/get"), "{e}");
}

#[test]
fn a_slow_server_times_out_and_is_retried() {
    let fake = Fake::start(|_, _| {
        let mut c = answer(200, json!({}));
        c.delay = Duration::from_secs(3);
        c
    });
    let mut config = fake.config();
    config.timeout = Duration::from_millis(300);
    config.retries = 1;
    let e = Client::new(config)
        .unwrap()
        .registered_model("m")
        .unwrap_err();
    assert!(e.is_unavailable(), "{e:?}");
    let text = e.to_string();
    assert!(text.contains("timed out after 300 ms"), "{text}");
    assert!(text.contains("gave up after 2 attempts"), "{text}");
    assert_eq!(fake.seen().len(), 2);
}

#[test]
fn a_closed_port_is_a_clear_unavailable_error() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut config = Config::new(format!("http://127.0.0.1:{port}"));
    config.retries = 1;
    config.backoff = Duration::from_millis(1);
    let e = Client::new(config)
        .unwrap()
        .registered_model("m")
        .unwrap_err();
    assert!(e.is_unavailable(), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains(&format!(
            "cannot reach the MLflow server at http://127.0.0.1:{port}/"
        )),
        "{text}"
    );
}

#[test]
fn secrets_are_sent_but_never_shown_even_when_echoed() {
    const TOKEN: &str = "tok-SECRET-0123456789";
    let fake = Fake::start(|req, _| {
        // A server that quotes the request's Authorization header back.
        let auth = req
            .headers
            .get("authorization")
            .cloned()
            .unwrap_or_default();
        mlflow_error(403, "PERMISSION_DENIED", &format!("denied for `{auth}`"))
    });
    let config = fake.config().with_auth(Auth::Bearer(TOKEN.into()));
    let client = Client::new(config.clone()).unwrap();
    let e = client.registered_model("m").unwrap_err();
    assert_eq!(
        fake.seen()[0].headers["authorization"],
        format!("Bearer {TOKEN}")
    );
    for text in [
        e.to_string(),
        format!("{e:?}"),
        format!("{config:?}"),
        format!("{client:?}"),
    ] {
        assert!(!text.contains("SECRET"), "{text}");
    }
    assert!(e.to_string().contains("denied for `Bearer ***`"), "{e}");

    let basic = Auth::Basic {
        user: "ann".into(),
        password: "pw-SECRET-42".into(),
    };
    let config = fake.config().with_auth(basic);
    let e = Client::new(config.clone())
        .unwrap()
        .registered_model("m")
        .unwrap_err();
    let sent = &fake.seen()[1].headers["authorization"];
    assert_eq!(
        sent,
        &format!("Basic {}", modelci_net::base64(b"ann:pw-SECRET-42"))
    );
    for text in [e.to_string(), format!("{e:?}"), format!("{config:?}")] {
        assert!(!text.contains("SECRET"), "{text}");
        assert!(!text.contains(&sent["Basic ".len()..]), "{text}");
    }
}

#[test]
fn credentials_in_the_uri_are_sent_as_basic_and_hidden() {
    let fake = Fake::start(|_, _| raw(401, b"who are you, pw-SECRET-7?"));
    let uri = fake.url.replace("http://", "http://ann:pw-SECRET-7@");
    let mut config = Config::new(uri);
    config.retries = 0;
    let e = Client::new(config)
        .unwrap()
        .registered_model("m")
        .unwrap_err();
    let text = e.to_string();
    assert!(!text.contains("SECRET") && !text.contains("ann:"), "{text}");
    assert!(text.contains("refused the credentials"), "{text}");
    assert!(fake.seen()[0].headers["authorization"].starts_with("Basic "));
}

#[test]
fn a_401_without_credentials_says_which_variables_to_set() {
    let fake = Fake::start(|_, _| raw(401, b"You are not authenticated."));
    let e = fake.client().registered_model("m").unwrap_err();
    assert!(e.to_string().contains("MLFLOW_TRACKING_TOKEN"), "{e}");
}

#[test]
fn set_and_delete_alias_send_mlflow_bodies() {
    let fake = Fake::start(|_, _| answer(200, json!({})));
    let client = fake.client();
    client.set_alias("m", "champion", "3").unwrap();
    client.delete_alias("m", "champion").unwrap();
    client.set_model_version_tag("m", "3", "k", "v").unwrap();
    client.set_registered_model_tag("m", "k", "v").unwrap();
    let seen = fake.seen();
    assert_eq!(seen[0].method, "POST");
    assert_eq!(
        seen[0].json(),
        json!({"name": "m", "alias": "champion", "version": "3"})
    );
    assert_eq!(seen[1].method, "DELETE");
    assert_eq!(seen[1].path(), "/api/2.0/mlflow/registered-models/alias");
    assert_eq!(seen[1].json(), json!({"name": "m", "alias": "champion"}));
    assert_eq!(seen[2].path(), "/api/2.0/mlflow/model-versions/set-tag");
    assert_eq!(seen[3].path(), "/api/2.0/mlflow/registered-models/set-tag");
}

#[test]
fn experiments_are_reused_by_name_or_created() {
    let fake = Fake::start(|req, _| match req.path() {
        "/api/2.0/mlflow/experiments/get-by-name" if req.target.contains("old") => answer(
            200,
            json!({"experiment": {"experiment_id": "7", "name": "old", "lifecycle_stage": "active"}}),
        ),
        "/api/2.0/mlflow/experiments/get-by-name" if req.target.contains("gone") => answer(
            200,
            json!({"experiment": {"experiment_id": "8", "name": "gone", "lifecycle_stage": "deleted"}}),
        ),
        "/api/2.0/mlflow/experiments/get-by-name" => mlflow_error(
            404,
            "RESOURCE_DOES_NOT_EXIST",
            "Could not find experiment with name 'new'",
        ),
        "/api/2.0/mlflow/experiments/create" => answer(200, json!({"experiment_id": "9"})),
        _ => raw(500, b""),
    });
    let client = fake.client();
    assert_eq!(
        client
            .get_or_create_experiment("old")
            .unwrap()
            .experiment_id,
        "7"
    );
    assert_eq!(
        client
            .get_or_create_experiment("new")
            .unwrap()
            .experiment_id,
        "9"
    );
    let e = client.get_or_create_experiment("gone").unwrap_err();
    assert!(e.to_string().contains("is deleted"), "{e}");
    assert!(client.experiment_by_name("new").unwrap().is_none());
}

#[test]
fn artifacts_are_listed_recursively_and_downloaded() {
    let fake = Fake::start(|req, _| {
        let t = req.target.as_str();
        if t == "/api/2.0/mlflow/model-versions/get-download-uri?name=m&version=1" {
            answer(
                200,
                json!({"artifact_uri": "mlflow-artifacts:/1/r1/artifacts/model"}),
            )
        } else if t == "/api/2.0/mlflow-artifacts/artifacts?path=1%2Fr1%2Fartifacts%2Fmodel" {
            answer(
                200,
                json!({"files": [
                    {"path": "model.onnx", "is_dir": false, "file_size": 5},
                    {"path": "data", "is_dir": true}
                ]}),
            )
        } else if t == "/api/2.0/mlflow-artifacts/artifacts?path=1%2Fr1%2Fartifacts%2Fmodel%2Fdata"
        {
            answer(
                200,
                json!({"files": [{"path": "extra.bin", "file_size": "3"}]}),
            )
        } else if t == "/api/2.0/mlflow-artifacts/artifacts/1/r1/artifacts/model/model.onnx" {
            raw(200, b"ONNX!")
        } else if t == "/api/2.0/mlflow-artifacts/artifacts/1/r1/artifacts/model/data/extra.bin" {
            raw(200, b"abc")
        } else {
            raw(404, b"")
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let got = fake
        .client()
        .download_model_version("m", "1", dir.path())
        .unwrap();
    assert_eq!(got.bytes, 8);
    assert_eq!(got.files.len(), 2);
    assert_eq!(
        std::fs::read(dir.path().join("model.onnx")).unwrap(),
        b"ONNX!"
    );
    assert_eq!(
        std::fs::read(dir.path().join("data/extra.bin")).unwrap(),
        b"abc"
    );
    assert_eq!(
        crate::find_onnx(dir.path()),
        Some(dir.path().join("model.onnx"))
    );
}

#[test]
fn listed_names_that_escape_the_folder_are_refused() {
    for evil in [
        "../evil.onnx",
        "/etc/evil",
        "a/../../evil",
        "..",
        "a\\..\\evil",
    ] {
        let fake = Fake::start(move |req, _| {
            if req
                .target
                .starts_with("/api/2.0/mlflow-artifacts/artifacts?")
            {
                answer(200, json!({"files": [{"path": evil, "is_dir": false}]}))
            } else {
                raw(200, b"pwned")
            }
        });
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("dest");
        let e = fake
            .client()
            .download_artifacts("mlflow-artifacts:/1/r/artifacts/model", &dest)
            .unwrap_err();
        assert!(matches!(e, MlflowError::Artifact { .. }), "{evil}: {e:?}");
        assert!(e.to_string().contains("would leave"), "{e}");
        // Nothing was fetched or written.
        assert_eq!(fake.seen().len(), 1, "{evil}");
        assert!(!dir.path().join("evil.onnx").exists());
    }
}

#[test]
fn downloads_over_the_limit_are_refused() {
    let fake = Fake::start(|req, _| {
        if req
            .target
            .starts_with("/api/2.0/mlflow-artifacts/artifacts?")
        {
            // The listing understates the size; the stream is still capped.
            answer(
                200,
                json!({"files": [{"path": "big.onnx", "file_size": 10}]}),
            )
        } else {
            raw(200, &[7_u8; 4096])
        }
    });
    let mut config = fake.config();
    config.max_download_bytes = 1000;
    let dir = tempfile::tempdir().unwrap();
    let e = Client::new(config.clone())
        .unwrap()
        .download_artifacts("mlflow-artifacts:/1/r/artifacts", dir.path())
        .unwrap_err();
    assert!(matches!(e, MlflowError::Artifact { .. }), "{e:?}");
    assert!(
        e.to_string().contains("larger than the 1000 bytes limit"),
        "{e}"
    );
    assert!(
        !dir.path().join("big.onnx").exists(),
        "the partial file is removed"
    );

    let fake = Fake::start(|_, _| {
        answer(
            200,
            json!({"files": [{"path": "big.onnx", "file_size": 5000}]}),
        )
    });
    let mut config = fake.config();
    config.max_download_bytes = 1000;
    let e = Client::new(config)
        .unwrap()
        .download_artifacts("mlflow-artifacts:/1/r/artifacts", dir.path())
        .unwrap_err();
    assert!(e.to_string().contains("5000 bytes"), "{e}");

    // Sizes whose sum overflows a u64 are over the limit (not a panic, nor a wrapped sum that
    // passes the check).
    let fake = Fake::start(|_, _| {
        answer(
            200,
            json!({"files": [
                {"path": "a.bin", "file_size": u64::MAX},
                {"path": "b.bin", "file_size": 2}
            ]}),
        )
    });
    let e = fake
        .client()
        .download_artifacts("mlflow-artifacts:/1/r/artifacts", dir.path())
        .unwrap_err();
    assert!(matches!(e, MlflowError::Artifact { .. }), "{e:?}");
    assert_eq!(fake.seen().len(), 1, "nothing is fetched");
}

#[test]
fn artifact_locations_outside_the_proxy_are_unsupported() {
    let fake = Fake::start(|req, _| {
        if req.path().ends_with("runs/get") {
            answer(
                200,
                json!({"run": {"info": {"run_id": "r", "artifact_uri": "s3://bucket/1/r/artifacts"}}}),
            )
        } else {
            raw(500, b"")
        }
    });
    let client = fake.client();
    let dir = tempfile::tempdir().unwrap();
    for (uri, says) in [
        ("s3://bucket/x", "cannot read"),
        ("/srv/mlruns/1/r/artifacts/model", "server's disk"),
        ("file:///srv/mlruns/1/r", "server's disk"),
        ("models:/m-123", "models:/"),
        ("runs:/r/model", "stored at `s3://bucket/1/r/artifacts`"),
        ("mlflow-artifacts://elsewhere:5000/1/r", "another server"),
    ] {
        let e = client.download_artifacts(uri, dir.path()).unwrap_err();
        assert!(matches!(e, MlflowError::Unsupported { .. }), "{uri}: {e:?}");
        assert!(e.to_string().contains(says), "{uri}: {e}");
    }
}

#[test]
fn a_server_without_the_artifact_proxy_is_unsupported_at_once() {
    let fake = Fake::start(|_, _| {
        raw(
            503,
            b"Endpoint: /api/2.0/mlflow-artifacts/artifacts disabled due to the mlflow server \
              running with `--no-serve-artifacts`.",
        )
    });
    let e = fake
        .client()
        .list_artifacts("mlflow-artifacts:/1/r/artifacts")
        .unwrap_err();
    assert!(matches!(e, MlflowError::Unsupported { .. }), "{e:?}");
    assert_eq!(fake.seen().len(), 1);
}

#[test]
fn uploads_put_the_bytes_at_the_artifact_path() {
    let fake = Fake::start(|_, _| answer(200, json!({})));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.onnx");
    std::fs::write(&file, b"bytes").unwrap();
    let client = fake.client();
    client
        .upload_artifact("mlflow-artifacts:/1/r/artifacts", "model/model.onnx", &file)
        .unwrap();
    let seen = fake.seen();
    assert_eq!(seen[0].method, "PUT");
    assert_eq!(
        seen[0].path(),
        "/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/model/model.onnx"
    );
    assert_eq!(seen[0].body, b"bytes");
    let e = client
        .upload_artifact("mlflow-artifacts:/1/r/artifacts", "../x", &file)
        .unwrap_err();
    assert!(matches!(e, MlflowError::Artifact { .. }));
    let e = client
        .upload_artifact("mlflow-artifacts:/1/r/artifacts", "./", &file)
        .unwrap_err();
    assert!(matches!(e, MlflowError::Artifact { .. }));
    assert_eq!(fake.seen().len(), 1, "refused before sending");
    let e = client
        .upload_artifact(
            "mlflow-artifacts:/1/r/artifacts",
            "x",
            &dir.path().join("none"),
        )
        .unwrap_err();
    assert!(matches!(e, MlflowError::Io { .. }), "{e:?}");
}

#[test]
fn runs_are_created_read_and_terminated() {
    let fake = Fake::start(|req, _| match req.path() {
        "/api/2.0/mlflow/runs/create" => answer(
            200,
            json!({"run": {"info": {"run_id": "r9", "experiment_id": "1", "status": "RUNNING"},
                           "data": {"tags": [{"key": "mlflow.runName", "value": "gate"}]}}}),
        ),
        "/api/2.0/mlflow/runs/get" => answer(
            200,
            json!({"run": {"info": {"run_uuid": "r9", "status": "FINISHED"},
                           "data": {"metrics": [{"key": "acc", "value": 0.93, "step": 0}]}}}),
        ),
        _ => answer(200, json!({})),
    });
    let client = fake.client();
    let tags = BTreeMap::from([("modelci.gate".to_owned(), "passed".to_owned())]);
    let run = client.create_run("1", Some("gate"), &tags).unwrap();
    assert_eq!(run.info.run_id, "r9");
    assert_eq!(run.data.tags["mlflow.runName"], "gate");
    client
        .terminate_run("r9", crate::RunStatus::Finished)
        .unwrap();
    let read = client.get_run("r9").unwrap();
    assert_eq!(read.data.metrics["acc"], 0.93);
    let seen = fake.seen();
    let create = seen[0].json();
    assert_eq!(create["experiment_id"], "1");
    assert_eq!(create["run_name"], "gate");
    assert_eq!(
        create["tags"][0],
        json!({"key": "modelci.gate", "value": "passed"})
    );
    assert_eq!(seen[1].json()["status"], "FINISHED");
    assert!(seen[1].json()["end_time"].is_i64());
}
