//! `contract verify` and `[[suite.pact]]` with a Pact Broker: a stub broker on 127.0.0.1 (the
//! index, pacts-for-verification, the pacts, the provider's branch versions and the
//! verification results, recording what it is sent) and the real provider of `provider.rs`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use serde_json::{Value, json};

use crate::{modelci, provider, run};

/// What the stub broker serves and what it was sent.
#[derive(Default)]
struct Broker {
    base: String,
    /// The pacts it offers: (id, consumer, pending, interactions).
    pacts: Vec<(String, String, bool, Value)>,
    /// Bodies of pacts-for-verification requests.
    asked: Vec<Value>,
    /// (pact id, body) of published verification results.
    published: Vec<(String, Value)>,
    /// `branch/version` PUTs.
    branches: Vec<String>,
    /// Authorization headers seen.
    auth: Vec<String>,
    /// Answer 500 to results published for this pact.
    refuse_results_of: Option<String>,
    /// An index without pacts-for-verification (a broker before 2.x).
    old: bool,
}

type Shared = Arc<Mutex<Broker>>;

struct Stub {
    url: String,
    state: Shared,
    _runtime: tokio::runtime::Runtime,
}

impl Stub {
    fn published(&self) -> Vec<(String, Value)> {
        self.state.lock().expect("lock").published.clone()
    }
}

fn start(pacts: Vec<(String, String, bool, Value)>) -> Stub {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("addr");
    let base = format!("http://{addr}");
    let state = Arc::new(Mutex::new(Broker {
        base: base.clone(),
        pacts,
        ..Broker::default()
    }));
    let app = Router::new()
        .route("/", get(index))
        .route(
            "/pacts/provider/{provider}/for-verification",
            post(for_verification),
        )
        .route("/pacts/{id}", get(pact))
        .route("/pacts/provider/{provider}/latest", get(latest))
        .route("/pacts/{id}/verification-results", post(results))
        .route("/pacticipants/{name}", get(pacticipant))
        .route(
            "/pacticipants/{name}/branches/{branch}/versions/{version}",
            put(branch_version),
        )
        .with_state(Arc::clone(&state));
    runtime.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Stub {
        url: base,
        state,
        _runtime: runtime,
    }
}

fn seen(state: &Shared, headers: &HeaderMap) {
    if let Some(a) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
        state.lock().expect("lock").auth.push(a.to_owned());
    }
}

async fn index(State(state): State<Shared>, headers: HeaderMap) -> impl IntoResponse {
    seen(&state, &headers);
    let (base, old) = {
        let s = state.lock().expect("lock");
        (s.base.clone(), s.old)
    };
    if old {
        return axum::Json(json!({"_links": {
            "self": {"href": base},
            "pb:latest-provider-pacts": {
                "href": format!("{base}/pacts/provider/{{provider}}/latest"),
                "templated": true
            }
        }}));
    }
    axum::Json(json!({"_links": {
        "self": {"href": base},
        "pb:provider-pacts-for-verification": {
            "href": format!("{base}/pacts/provider/{{provider}}/for-verification"),
            "templated": true
        }
    }}))
}

async fn for_verification(
    State(state): State<Shared>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: String,
) -> impl IntoResponse {
    seen(&state, &headers);
    let mut s = state.lock().expect("lock");
    s.asked
        .push(serde_json::from_str(&body).unwrap_or(Value::Null));
    if provider != "model-service" {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"error": "no such provider"})),
        );
    }
    let pacts: Vec<Value> = s
        .pacts
        .iter()
        .map(|(id, consumer, pending, _)| {
            json!({
                "shortDescription": if *pending { "latest from feat/x" } else { "latest from main" },
                "verificationProperties": {
                    "pending": pending,
                    "notices": [
                        {"when": "before_verification", "text": format!("verifying {consumer} because it matches a selector")},
                        {"when": "after_verification:success_false_published_true", "text": format!("{consumer} failed")}
                    ]
                },
                "_links": {"self": {"href": format!("{}/pacts/{id}", s.base), "name": format!("Pact between {consumer} and model-service")}}
            })
        })
        .collect();
    (
        StatusCode::OK,
        axum::Json(json!({"_embedded": {"pacts": pacts}, "_links": {}})),
    )
}

async fn latest(State(state): State<Shared>) -> impl IntoResponse {
    let s = state.lock().expect("lock");
    let links: Vec<Value> = s
        .pacts
        .iter()
        .map(|(id, consumer, _, _)| json!({"href": format!("{}/pacts/{id}", s.base), "name": consumer}))
        .collect();
    axum::Json(json!({"_links": {"pb:pacts": links}}))
}

async fn pact(
    State(state): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> impl IntoResponse {
    seen(&state, &headers);
    let s = state.lock().expect("lock");
    let Some((_, consumer, _, interactions)) = s.pacts.iter().find(|p| p.0 == id) else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"error": "no pact"})),
        );
    };
    (
        StatusCode::OK,
        axum::Json(json!({
            "consumer": {"name": consumer},
            "provider": {"name": "model-service"},
            "interactions": interactions,
            "metadata": {"pactSpecification": {"version": "2.0.0"}},
            "_links": {
                "self": {"href": format!("{}/pacts/{id}", s.base)},
                "pb:provider": {"href": format!("{}/pacticipants/model-service", s.base)},
                "pb:publish-verification-results": {"href": format!("{}/pacts/{id}/verification-results", s.base)}
            }
        })),
    )
}

async fn results(
    State(state): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: String,
) -> impl IntoResponse {
    seen(&state, &headers);
    let mut s = state.lock().expect("lock");
    if s.refuse_results_of.as_deref() == Some(id.as_str()) {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({"error": {"message": "the database is down"}})),
        );
    }
    s.published.push((
        id.clone(),
        serde_json::from_str(&body).unwrap_or(Value::Null),
    ));
    let href = format!("{}/pacts/{id}/verification-results/1", s.base);
    (
        StatusCode::CREATED,
        axum::Json(json!({"_links": {"self": {"href": href}}})),
    )
}

async fn pacticipant(State(state): State<Shared>, Path(name): Path<String>) -> impl IntoResponse {
    let base = state.lock().expect("lock").base.clone();
    axum::Json(json!({"name": name, "_links": {
        "pb:branch-version": {
            "href": format!("{base}/pacticipants/{name}/branches/{{branch}}/versions/{{version}}"),
            "templated": true
        }
    }}))
}

async fn branch_version(
    State(state): State<Shared>,
    Path((_, branch, version)): Path<(String, String, String)>,
) -> impl IntoResponse {
    state
        .lock()
        .expect("lock")
        .branches
        .push(format!("{branch}/{version}"));
    axum::Json(json!({}))
}

/// An interaction with the provider's model metadata; `name` is what the consumer expects
/// (the provider answers `classifier`).
fn metadata(description: &str, name: &str) -> Value {
    json!([{
        "description": description,
        "request": {"method": "GET", "path": "/v2/models/classifier"},
        "response": {"status": 200, "body": {"name": name}}
    }])
}

fn report(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("report")).expect("json")
}

fn cases(report: &Value) -> Vec<Value> {
    report["suites"]
        .as_array()
        .expect("suites")
        .iter()
        .flat_map(|s| s["cases"].as_array().expect("cases").clone())
        .collect()
}

fn case(report: &Value, part: &str) -> Value {
    cases(report)
        .into_iter()
        .find(|c| c["name"].as_str().is_some_and(|n| n.contains(part)))
        .unwrap_or_else(|| panic!("no case like {part:?} in {report:#}"))
}

const TOKEN: &str = "s3cret-broker-token-9f8e7d";

fn verify(broker: &Stub, provider_url: &str, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "contract",
        "verify",
        "--provider-url",
        provider_url,
        "--broker-url",
        &broker.url,
        "--provider",
        "model-service",
    ];
    args.extend_from_slice(extra);
    let mut cmd = modelci(&args);
    cmd.env("PACT_BROKER_TOKEN", TOKEN)
        .env_remove("PACT_BROKER_BASE_URL")
        .env_remove("PACT_BROKER_USERNAME")
        .env_remove("PACT_BROKER_PASSWORD");
    run(&mut cmd)
}

#[test]
fn a_pending_pacts_failure_is_shown_does_not_fail_and_each_pact_gets_its_own_result() {
    let p = provider::start();
    let broker = start(vec![
        (
            "web-1".into(),
            "web".into(),
            false,
            metadata("metadata", "classifier"),
        ),
        (
            "dash-1".into(),
            "dashboard".into(),
            true,
            metadata("metadata of another model", "other"),
        ),
    ]);
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("report.json");
    let junit = dir.path().join("junit.xml");
    let (code, out, err) = verify(
        &broker,
        &p.url,
        &[
            "--consumer-version-selector",
            "mainBranch=true",
            "--consumer-version-selector",
            r#"{"deployedOrReleased": true}"#,
            "--enable-pending",
            "--provider-version",
            "1.2.3",
            "--provider-branch",
            "main",
            "--build-url",
            "http://ci.example/build/7",
            "--publish",
            "--json",
            json.to_str().expect("utf8"),
            "--junit",
            junit.to_str().expect("utf8"),
        ],
    );
    assert_eq!(
        code, 0,
        "a pending pact's failure does not fail the run\n{out}\n{err}"
    );
    // The broker's notices are shown, the pending failure too.
    assert!(
        out.contains("broker: web: verifying web because it matches a selector"),
        "{out}"
    );
    let all = format!("{out}{err}");
    assert!(all.contains("pending: does not fail the build"), "{all}");
    let r = report(&json);
    let pending = case(
        &r,
        "dashboard [latest from feat/x]: metadata of another model",
    );
    assert_eq!(pending["outcome"], "skipped", "{pending:#}");
    assert!(
        pending["message"]
            .as_str()
            .expect("message")
            .starts_with("pending: does not fail the build (pending pact, failed): "),
        "{pending:#}"
    );
    assert_eq!(pending["properties"]["pending"], "true");
    assert_eq!(
        case(&r, "web [latest from main]: metadata")["outcome"],
        "passed"
    );
    let xml = std::fs::read_to_string(&junit).expect("junit");
    assert!(xml.contains("pending: does not fail the build"), "{xml}");

    let s = broker.state.lock().expect("lock");
    assert_eq!(
        s.asked,
        [json!({
            "consumerVersionSelectors": [{"mainBranch": true}, {"deployedOrReleased": true}],
            "includePendingStatus": true,
            "providerVersionBranch": "main"
        })]
    );
    // One result per pact, each with its own success.
    let mut published = s.published.clone();
    published.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(published.len(), 2, "{published:?}");
    assert_eq!(published[0].0, "dash-1");
    assert_eq!(published[0].1["success"], false);
    assert_eq!(published[0].1["providerApplicationVersion"], "1.2.3");
    assert_eq!(published[0].1["buildUrl"], "http://ci.example/build/7");
    assert_eq!(
        published[0].1["testResults"],
        json!([{"interactionDescription": "metadata of another model", "success": false}])
    );
    assert_eq!(published[1].0, "web-1");
    assert_eq!(published[1].1["success"], true);
    assert_eq!(published[1].1["providerApplicationVersion"], "1.2.3");
    // The provider version was put on its branch before the results.
    assert!(
        s.branches.iter().all(|b| b == "main/1.2.3"),
        "{:?}",
        s.branches
    );
    assert!(!s.branches.is_empty());
    // The token is sent, and never shown.
    assert!(s.auth.iter().all(|a| a == &format!("Bearer {TOKEN}")));
    assert!(!s.auth.is_empty());
    let publish = case(&r, "(publish verification results)");
    assert_eq!(publish["outcome"], "passed", "{publish:#}");
    for text in [
        &out,
        &err,
        &std::fs::read_to_string(&json).expect("json"),
        &xml,
    ] {
        assert!(!text.contains(TOKEN), "the token leaked: {text}");
    }
}

#[test]
fn a_failing_pact_fails_and_is_published_as_a_failure() {
    let p = provider::start();
    let broker = start(vec![(
        "web-2".into(),
        "web".into(),
        false,
        metadata("metadata", "other"),
    )]);
    let (code, out, err) = verify(
        &broker,
        &p.url,
        &["--provider-version", "2.0.0", "--publish"],
    );
    assert_eq!(code, 1, "{out}\n{err}");
    let published = broker.published();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].1["success"], false);
    assert_eq!(published[0].1["providerApplicationVersion"], "2.0.0");
    // Without --publish nothing is sent.
    let (code, out, err) = verify(&broker, &p.url, &[]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert_eq!(broker.published().len(), 1);
}

#[test]
fn no_pacts_is_exit_2_unless_allowed_and_an_unreachable_broker_is_named() {
    let p = provider::start();
    let broker = start(Vec::new());
    let (code, out, err) = verify(&broker, &p.url, &[]);
    assert_eq!(code, 2, "{out}\n{err}");
    let all = format!("{out}{err}");
    assert!(
        all.contains("has no pacts for provider `model-service` to verify"),
        "{all}"
    );
    let (code, out, err) = verify(&broker, &p.url, &["--allow-empty"]);
    assert_eq!(code, 0, "{out}\n{err}");

    // A port nothing listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let url = format!("http://127.0.0.1:{closed}");
    let mut cmd = modelci(&[
        "contract",
        "verify",
        "--provider-url",
        &p.url,
        "--broker-url",
        &url,
        "--provider",
        "model-service",
        "--broker-token",
        TOKEN,
    ]);
    let (code, out, err) = run(&mut cmd);
    assert_eq!(code, 2, "{out}\n{err}");
    let all = format!("{out}{err}");
    assert!(
        all.contains(&format!("cannot reach the Pact Broker at {url}/")),
        "{all}"
    );
    assert!(!all.contains(TOKEN), "{all}");

    // Bad selectors and publishing without a version are usage errors.
    let (code, _, err) = verify(
        &broker,
        &p.url,
        &["--consumer-version-selector", "mainbranch=true"],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("unknown consumer version selector key `mainbranch`"),
        "{err}"
    );
    let (code, _, err) = verify(&broker, &p.url, &["--publish"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("`--publish` needs `--provider-version`"),
        "{err}"
    );
}

#[test]
fn a_suite_publishes_from_a_complete_run_and_never_from_a_shard() {
    let p = provider::start();
    let broker = start(vec![
        (
            "web-3".into(),
            "web".into(),
            false,
            metadata("metadata", "classifier"),
        ),
        (
            "dash-3".into(),
            "dashboard".into(),
            true,
            metadata("metadata of another model", "other"),
        ),
    ]);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("modelci.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[[suite.pact]]
name = "broker"
provider_url = "{}"
broker_url = "{}"
provider = "model-service"
consumer_version_selectors = [{{mainBranch = true}}]
enable_pending = true
provider_version = "3.0.0"
publish_results = true
"#,
            p.url, broker.url
        ),
    )
    .expect("write");
    let config = config.to_str().expect("utf8");
    for shard in ["1/2", "2/2"] {
        let json = dir.path().join(format!("shard{}.json", &shard[..1]));
        let mut cmd = modelci(&[
            "check",
            "--config",
            config,
            "--shard",
            shard,
            "--json",
            json.to_str().expect("utf8"),
        ]);
        cmd.env("PACT_BROKER_TOKEN", TOKEN);
        let (code, out, err) = run(&mut cmd);
        assert_eq!(code, 0, "{out}\n{err}");
        let r = report(&json);
        if let Some(publish) = cases(&r)
            .into_iter()
            .find(|c| c["name"] == "(publish verification results)")
        {
            assert_eq!(publish["outcome"], "skipped");
            assert!(
                publish["message"]
                    .as_str()
                    .expect("message")
                    .contains("results are published only from a complete run"),
                "{publish:#}"
            );
        }
    }
    assert!(broker.published().is_empty(), "a shard published");

    let json = dir.path().join("full.json");
    let mut cmd = modelci(&[
        "check",
        "--config",
        config,
        "--json",
        json.to_str().expect("utf8"),
    ]);
    cmd.env("PACT_BROKER_TOKEN", TOKEN);
    let (code, out, err) = run(&mut cmd);
    assert_eq!(code, 0, "{out}\n{err}");
    let r = report(&json);
    assert_eq!(
        r["suites"][0]["properties"]["broker_notices"]
            .as_str()
            .map(|n| n.contains("web: verifying web")),
        Some(true),
        "{r:#}"
    );
    let mut published = broker.published();
    published.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        published
            .iter()
            .map(|(id, b)| (id.as_str(), b["success"].clone()))
            .collect::<Vec<_>>(),
        [("dash-3", json!(false)), ("web-3", json!(true))]
    );
    assert!(
        !std::fs::read_to_string(&json)
            .expect("json")
            .contains(TOKEN)
    );
}

#[test]
fn a_failed_publish_is_exit_2_naming_the_url_and_keeps_the_results() {
    let p = provider::start();
    let broker = start(vec![
        (
            "web-4".into(),
            "web".into(),
            false,
            metadata("metadata", "classifier"),
        ),
        (
            "app-4".into(),
            "app".into(),
            false,
            metadata("app metadata", "classifier"),
        ),
    ]);
    broker.state.lock().expect("lock").refuse_results_of = Some("app-4".into());
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("report.json");
    let (code, out, err) = verify(
        &broker,
        &p.url,
        &[
            "--provider-version",
            "4.0.0",
            "--publish",
            "--json",
            json.to_str().expect("utf8"),
        ],
    );
    assert_eq!(code, 2, "{out}\n{err}");
    let r = report(&json);
    assert_eq!(
        case(&r, "web [latest from main]: metadata")["outcome"],
        "passed"
    );
    assert_eq!(
        case(&r, "app [latest from main]: app metadata")["outcome"],
        "passed"
    );
    let failed: Vec<Value> = cases(&r)
        .into_iter()
        .filter(|c| c["name"] == "(publish verification results)" && c["outcome"] == "errored")
        .collect();
    assert_eq!(failed.len(), 1, "{r:#}");
    let message = failed[0]["message"].as_str().expect("message");
    assert!(
        message.contains(&format!("{}/pacts/app-4/verification-results", broker.url))
            && message.contains("the database is down"),
        "{message}"
    );
    let all = format!("{out}{err}");
    assert!(all.contains("the database is down"), "{all}");
    // The other pact's result was published.
    assert_eq!(broker.published().len(), 1);
    assert_eq!(broker.published()[0].0, "web-4");
}

#[test]
fn a_broker_without_pacts_for_verification_gives_its_latest_pacts() {
    let p = provider::start();
    let broker = start(vec![(
        "web-5".into(),
        "web".into(),
        false,
        metadata("metadata", "classifier"),
    )]);
    broker.state.lock().expect("lock").old = true;
    let mut cmd = modelci(&[
        "contract",
        "verify",
        "--provider-url",
        &p.url,
        "--broker-url",
        &broker.url,
        "--provider",
        "model-service",
        "--broker-username",
        "ann",
        "--broker-password",
        "pa55-w0rd-secret",
        "--provider-version",
        "5",
        "--publish",
    ]);
    cmd.env_remove("PACT_BROKER_TOKEN");
    let (code, out, err) = run(&mut cmd);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(broker.published().len(), 1);
    assert_eq!(broker.published()[0].1["success"], true);
    let s = broker.state.lock().expect("lock");
    assert!(
        s.auth.iter().all(|a| a.starts_with("Basic ")),
        "{:?}",
        s.auth
    );
    assert!(!s.auth.is_empty());
    assert!(!format!("{out}{err}").contains("pa55-w0rd-secret"));
}
