//! `modelci canary serve`: the judge as an HTTP service, for Argo Rollouts' `web` metric
//! provider and Flagger's webhooks. Each request judges one canary suite of the configuration
//! with its window ending at the request (unless it gives `end`).
//!
//! - `GET /judge?suite=NAME&baseline.KEY=V&canary.KEY=V&window=10m&step=15s&end=T&aa=true`:
//!   `200` with the judgement as JSON (`verdict`, `passed`, `score`, `groups`, `metrics`,
//!   `reasons`), whatever the verdict: Argo's `successCondition` reads it (`result.passed`).
//!   `400` for a malformed parameter, `404` for an unknown suite.
//! - `POST /flagger`: a Flagger webhook (`{"name", "namespace", "phase", "metadata": {...}}`; the
//!   metadata takes the same keys as the parameters above). `200` when the verdict passes, `412`
//!   when it does not (Flagger counts a failed check), with the same JSON.
//! - `GET /healthz`: `200`.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use modelci_config::canary::CanarySuite;
use serde_json::{Value, json};

use crate::overrides::{self, Overrides};
use crate::{Evaluation, passes};

/// The suites the service judges, by name.
#[derive(Clone)]
struct Shared {
    suites: Arc<Vec<(String, CanarySuite)>>,
    jobs: usize,
}

/// Whether `key` is a parameter of `/judge` (and a metadata key of `/flagger`).
pub fn is_parameter(key: &str) -> bool {
    matches!(key, "suite" | "window" | "end" | "step" | "aa")
        || key.strip_prefix("baseline.").is_some_and(|k| !k.is_empty())
        || key.strip_prefix("canary.").is_some_and(|k| !k.is_empty())
}

/// A request's choices: the suite and the overrides.
fn choose(
    shared: &Shared,
    params: &BTreeMap<String, String>,
) -> Result<(String, CanarySuite), (StatusCode, String)> {
    let bad = |m: String| (StatusCode::BAD_REQUEST, m);
    let (name, suite) = match params.get("suite") {
        Some(n) => shared
            .suites
            .iter()
            .find(|(s, _)| s == n)
            .ok_or_else(|| {
                (
                    StatusCode::NOT_FOUND,
                    format!(
                        "no canary suite `{n}` (suites: {})",
                        shared
                            .suites
                            .iter()
                            .map(|(s, _)| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })?
            .clone(),
        None if shared.suites.len() == 1 => shared.suites[0].clone(),
        None => {
            return Err(bad(
                "several canary suites are served: choose one with `suite`".to_owned(),
            ));
        }
    };
    let mut o = Overrides::default();
    for (k, v) in params {
        match k.as_str() {
            "suite" => {}
            "window" => o.window = Some(v.clone()),
            "end" => o.end = Some(v.clone()),
            "step" => o.step = Some(v.clone()),
            "aa" => {
                o.aa = match v.as_str() {
                    "true" | "1" | "" => true,
                    "false" | "0" => false,
                    _ => return Err(bad(format!("`aa` is true or false, not `{v}`"))),
                };
            }
            _ if !is_parameter(k) => {
                return Err(bad(format!(
                    "unknown parameter `{k}`: the judge takes suite, window, end, step, aa, baseline.KEY and canary.KEY"
                )));
            }
            _ => {
                if let Some(key) = k.strip_prefix("baseline.") {
                    o.baseline.push(format!("{key}={v}"));
                } else if let Some(key) = k.strip_prefix("canary.") {
                    o.canary.push(format!("{key}={v}"));
                }
            }
        }
    }
    let mut suite = suite;
    overrides::apply(&o, &mut suite, &|n| format!("`{n}`")).map_err(bad)?;
    Ok((name, suite))
}

/// The judgement as JSON.
fn answer(name: &str, suite: &CanarySuite, e: &Evaluation) -> Value {
    let j = &e.judgement;
    let metrics: Vec<Value> = j
        .metrics
        .iter()
        .zip(&e.cases)
        .map(|(m, c)| {
            json!({
                "name": m.metric.name,
                "group": m.metric.group,
                "class": m.class.as_str(),
                "outcome": c.outcome.as_str(),
                "message": c.message,
                "baseline_median": finite(m.baseline.median),
                "canary_median": finite(m.canary.median),
                "p_value": m.p_value.and_then(finite),
                "shift": m.shift.as_ref().and_then(|s| finite(s.estimate)),
                "relative_shift": m.relative.and_then(finite),
            })
        })
        .collect();
    let groups: serde_json::Map<String, Value> = j
        .groups
        .iter()
        .map(|g| (g.name.clone(), json!(g.score)))
        .collect();
    json!({
        "suite": name,
        "verdict": j.verdict.as_str(),
        "passed": passes(j.verdict, suite.marginal_passes),
        "score": j.score,
        "groups": groups,
        "metrics": metrics,
        "reasons": j.reasons,
        "message": e.cases.last().and_then(|c| c.message.clone()),
    })
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

fn error(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// Judges on a blocking thread (the Prometheus client is blocking).
async fn run(shared: Shared, params: BTreeMap<String, String>) -> Result<(bool, Value), Response> {
    let (name, suite) = choose(&shared, &params).map_err(|(s, m)| error(s, m))?;
    let jobs = shared.jobs;
    let judged = tokio::task::spawn_blocking(move || {
        let e = crate::evaluate(&suite, jobs)?;
        let passed = passes(e.judgement.verdict, suite.marginal_passes);
        Ok::<_, String>((passed, answer(&name, &suite, &e)))
    })
    .await
    .map_err(|e| {
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the judgement stopped: {e}"),
        )
    })?;
    judged.map_err(|m| {
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the samples could not be had: {m}"),
        )
    })
}

fn query_params(raw: Option<&str>) -> BTreeMap<String, String> {
    let Some(raw) = raw else {
        return BTreeMap::new();
    };
    reqwest::Url::parse(&format!("http://judge.invalid/?{raw}"))
        .map(|u| {
            u.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

async fn judge_get(State(shared): State<Shared>, RawQuery(raw): RawQuery) -> Response {
    match run(shared, query_params(raw.as_deref())).await {
        Ok((_, body)) => (StatusCode::OK, Json(body)).into_response(),
        Err(r) => r,
    }
}

async fn flagger(State(shared): State<Shared>, body: axum::body::Bytes) -> Response {
    let payload: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("the body is not a Flagger webhook's JSON: {e}"),
            );
        }
    };
    let mut params = BTreeMap::new();
    if let Some(meta) = payload.get("metadata").and_then(Value::as_object) {
        for (k, v) in meta {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            params.insert(k.clone(), text);
        }
    }
    match run(shared, params).await {
        Ok((true, body)) => (StatusCode::OK, Json(body)).into_response(),
        Ok((false, body)) => (StatusCode::PRECONDITION_FAILED, Json(body)).into_response(),
        Err(r) => r,
    }
}

/// A running judge service.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
}

/// Serves `suites` on `addr` until `stop` completes.
///
/// # Errors
/// The address cannot be bound.
pub async fn serve(
    addr: SocketAddr,
    suites: Vec<(String, CanarySuite)>,
    jobs: usize,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<(Server, tokio::task::JoinHandle<()>), String> {
    let shared = Shared {
        suites: Arc::new(suites),
        jobs: jobs.max(1),
    };
    let app = axum::Router::new()
        .route("/judge", get(judge_get))
        .route("/flagger", post(flagger))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(shared);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the address: {e}"))?;
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(stop)
            .await;
    });
    Ok((Server { addr }, task))
}
