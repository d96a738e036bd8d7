//! A real HTTP provider on 127.0.0.1 for the pact end-to-end tests: a small model service
//! (Open Inference Protocol v2 paths) plus endpoints that misbehave on purpose.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Value, json};

/// Provider states received, in order (`state/action`).
#[derive(Default)]
pub struct Seen {
    pub states: Vec<String>,
    pub auth: Vec<String>,
}

pub struct Provider {
    pub url: String,
    pub seen: Arc<Mutex<Seen>>,
    _runtime: tokio::runtime::Runtime,
}

/// Starts the provider on a free port; it stops when the value is dropped.
pub fn start() -> Provider {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let seen = Arc::new(Mutex::new(Seen::default()));
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("addr");
    let app = Router::new()
        .route("/v2/models/classifier", get(metadata))
        .route("/v2/models/classifier/infer", post(infer))
        .route("/v2/models/classifier/versions/{v}", get(version))
        .route("/v2/models/{name}", get(unknown))
        .route("/_pact/state", post(state))
        .route("/", post(message))
        .route("/slow", get(slow))
        .route("/binary", get(binary))
        .route("/big", get(big))
        .with_state(Arc::clone(&seen));
    runtime.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Provider {
        url: format!("http://{addr}"),
        seen,
        _runtime: runtime,
    }
}

async fn metadata(State(seen): State<Arc<Mutex<Seen>>>, headers: HeaderMap) -> impl IntoResponse {
    if let Some(a) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
        seen.lock().expect("lock").auth.push(a.to_owned());
    }
    axum::Json(json!({
        "name": "classifier",
        "versions": ["3", "4"],
        "platform": "onnxruntime_onnx",
        "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, 4]}],
        "outputs": [{"name": "probabilities", "datatype": "FP32", "shape": [-1, 3]}]
    }))
}

async fn infer(body: Bytes) -> impl IntoResponse {
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "not JSON"})),
        );
    };
    let rows = req["inputs"][0]["shape"][0].as_u64().unwrap_or(1);
    let data: Vec<f64> = (0..rows).flat_map(|_| [0.91, 0.06, 0.03]).collect();
    (
        StatusCode::OK,
        axum::Json(json!({
            "model_name": "classifier",
            "model_version": "4",
            "outputs": [{"name": "probabilities", "datatype": "FP32", "shape": [rows, 3], "data": data}]
        })),
    )
}

async fn version(Path(v): Path<String>, State(seen): State<Arc<Mutex<Seen>>>) -> impl IntoResponse {
    let known = seen
        .lock()
        .expect("lock")
        .states
        .iter()
        .any(|s| s == "model version exists/setup");
    if !known {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"error": "no such version"})),
        )
            .into_response();
    }
    (
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        json!({"name": "classifier", "version": v, "ready": true, "deployed_at": "2026-11-21T08:30:00Z"}).to_string(),
    )
        .into_response()
}

async fn unknown(Path(name): Path<String>) -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"error": format!("model `{name}` not found")})),
    )
}

async fn state(State(seen): State<Arc<Mutex<Seen>>>, body: Bytes) -> impl IntoResponse {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let name = v["state"].as_str().unwrap_or("").to_owned();
    let action = v["action"].as_str().unwrap_or("").to_owned();
    if name == "the state that breaks" {
        return (StatusCode::INTERNAL_SERVER_ERROR, "state setup exploded").into_response();
    }
    seen.lock()
        .expect("lock")
        .states
        .push(format!("{name}/{action}"));
    axum::Json(json!({"id": 42})).into_response()
}

async fn slow() -> impl IntoResponse {
    tokio::time::sleep(Duration::from_secs(10)).await;
    "finally"
}

async fn binary() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        vec![0xff_u8, 0xfe, 0x00, 0x81],
    )
}

async fn big() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain")],
        "x".repeat(10 * 1024 * 1024),
    )
}

/// Messages, the way Pact verifiers ask for them: a POST of `{"description", "providerStates"}`;
/// the answer is the message, with its metadata as base64 JSON in `Pact-Message-Metadata`.
async fn message(body: Bytes) -> impl IntoResponse {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (contents, metadata) = match v["description"].as_str() {
        Some("a prediction event") => (
            json!({"model": "classifier", "label": "dog", "confidence": 0.88}),
            // {"contentType":"application/json","topic":"predictions"}
            "eyJjb250ZW50VHlwZSI6ImFwcGxpY2F0aW9uL2pzb24iLCJ0b3BpYyI6InByZWRpY3Rpb25zIn0=",
        ),
        // The alert goes out on the wrong topic: {"contentType":"application/json","topic":"metrics"}
        _ => (
            json!({"model": "classifier", "psi": 0.31}),
            "eyJjb250ZW50VHlwZSI6ImFwcGxpY2F0aW9uL2pzb24iLCJ0b3BpYyI6Im1ldHJpY3MifQ==",
        ),
    };
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (
                header::HeaderName::from_static("pact-message-metadata"),
                metadata,
            ),
        ],
        contents.to_string(),
    )
}
