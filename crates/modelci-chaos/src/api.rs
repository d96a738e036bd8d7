//! Toxiproxy's HTTP API over a [`Registry`], so that Toxiproxy's clients (toxiproxy-cli, the
//! Go, Ruby, Python and Rust clients) and scripts drive modelci's proxy:
//!
//! | request | does |
//! |---|---|
//! | `GET /version` | the version |
//! | `POST /reset` | enable every proxy, remove every toxic |
//! | `GET /proxies` | every proxy, by name |
//! | `POST /proxies` | create `{name, listen, upstream, enabled, protocol}` (201; 409 when the name is taken) |
//! | `POST /populate` | create or replace a list of proxies |
//! | `GET`/`POST`/`DELETE /proxies/{proxy}` | read, update (`enabled`, `listen`, `upstream`, `protocol`), delete |
//! | `GET`/`POST /proxies/{proxy}/toxics` | list, add `{name, type, stream, toxicity, attributes}` |
//! | `GET`/`POST`/`DELETE /proxies/{proxy}/toxics/{toxic}` | read, update, remove |
//! | `GET`/`DELETE /proxies/{proxy}/requests` | an HTTP proxy's request log; clear it |
//!
//! `protocol` (`tcp`, the default, or `http`) and the request log are modelci's extensions;
//! Toxiproxy's clients, which send no `protocol`, get TCP proxies.
//!
//! Errors are `{"error": MESSAGE, "status": CODE}` with that status, as Toxiproxy answers.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::proxy::{Protocol, ProxyError, Registry};
use crate::toxic::{Toxic, ToxicJson};

/// The version `GET /version` reports: the Toxiproxy API version this one follows.
pub const VERSION: &str = "2.12.0";

/// The API's routes over `registry`.
pub fn router(registry: Arc<Registry>) -> axum::Router {
    axum::Router::new()
        .route("/version", get(version))
        .route("/reset", post(reset))
        .route("/proxies", get(list).post(create))
        .route("/populate", post(populate))
        .route("/proxies/{proxy}", get(show).post(update).delete(delete))
        .route("/proxies/{proxy}/toxics", get(toxics).post(add_toxic))
        .route(
            "/proxies/{proxy}/toxics/{toxic}",
            get(show_toxic).post(update_toxic).delete(remove_toxic),
        )
        .route(
            "/proxies/{proxy}/requests",
            get(requests).delete(clear_requests),
        )
        .with_state(registry)
}

fn error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (
        status,
        Json(json!({"error": message.to_string(), "status": status.as_u16()})),
    )
        .into_response()
}

fn failed(e: &ProxyError) -> Response {
    let status = match e {
        ProxyError::Exists(_) | ProxyError::ToxicExists { .. } => StatusCode::CONFLICT,
        ProxyError::NotFound(_) | ProxyError::ToxicNotFound { .. } => StatusCode::NOT_FOUND,
        ProxyError::Invalid(_) => StatusCode::BAD_REQUEST,
        ProxyError::Listen { .. } => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error(status, e)
}

/// A JSON body, or a 400 naming what is wrong with it.
fn body<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, Box<Response>> {
    serde_json::from_slice(bytes).map_err(|e| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            format!("bad request body: {e}"),
        ))
    })
}

async fn version() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        json!({"version": VERSION}).to_string(),
    )
        .into_response()
}

async fn reset(State(r): State<Arc<Registry>>) -> Response {
    match r.reset() {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => failed(&e),
    }
}

async fn list(State(r): State<Arc<Registry>>) -> Response {
    let mut out = Map::new();
    for p in r.proxies() {
        out.insert(p.name().to_owned(), p.to_json());
    }
    Json(Value::Object(out)).into_response()
}

#[derive(Deserialize)]
struct ProxyJson {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    listen: Option<String>,
    #[serde(default)]
    upstream: Option<String>,
    #[serde(default)]
    enabled: Option<bool>,
    /// modelci's extension: `tcp` (default) or `http`.
    #[serde(default)]
    protocol: Option<Protocol>,
}

async fn create(State(r): State<Arc<Registry>>, bytes: axum::body::Bytes) -> Response {
    let p: ProxyJson = match body(&bytes) {
        Ok(p) => p,
        Err(resp) => return *resp,
    };
    let name = p.name.unwrap_or_default();
    let listen = p.listen.unwrap_or_else(|| "127.0.0.1:0".to_owned());
    match r.create_with(
        &name,
        &listen,
        p.upstream.as_deref().unwrap_or_default(),
        p.enabled.unwrap_or(true),
        p.protocol.unwrap_or_default(),
    ) {
        Ok(proxy) => (StatusCode::CREATED, Json(proxy.to_json())).into_response(),
        Err(e) => failed(&e),
    }
}

async fn populate(State(r): State<Arc<Registry>>, bytes: axum::body::Bytes) -> Response {
    let list: Vec<ProxyJson> = match body(&bytes) {
        Ok(l) => l,
        Err(resp) => return *resp,
    };
    let mut made = Vec::new();
    for p in list {
        let name = p.name.unwrap_or_default();
        // Populate replaces a proxy of the same name.
        let _ = r.delete(&name);
        match r.create_with(
            &name,
            p.listen.as_deref().unwrap_or("127.0.0.1:0"),
            p.upstream.as_deref().unwrap_or_default(),
            p.enabled.unwrap_or(true),
            p.protocol.unwrap_or_default(),
        ) {
            Ok(proxy) => made.push(proxy.to_json()),
            Err(e) => return failed(&e),
        }
    }
    (StatusCode::CREATED, Json(json!({"proxies": made}))).into_response()
}

async fn show(State(r): State<Arc<Registry>>, Path(proxy): Path<String>) -> Response {
    match r.get(&proxy) {
        Ok(p) => Json(p.to_json()).into_response(),
        Err(e) => failed(&e),
    }
}

async fn update(
    State(r): State<Arc<Registry>>,
    Path(proxy): Path<String>,
    bytes: axum::body::Bytes,
) -> Response {
    let p: ProxyJson = match body(&bytes) {
        Ok(p) => p,
        Err(resp) => return *resp,
    };
    if let Some(protocol) = p.protocol
        && let Err(e) = r.set_protocol(&proxy, protocol)
    {
        return failed(&e);
    }
    match r.update(
        &proxy,
        p.enabled,
        p.listen.as_deref(),
        p.upstream.as_deref(),
    ) {
        Ok(p) => Json(p.to_json()).into_response(),
        Err(e) => failed(&e),
    }
}

async fn delete(State(r): State<Arc<Registry>>, Path(proxy): Path<String>) -> Response {
    match r.delete(&proxy) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => failed(&e),
    }
}

async fn toxics(State(r): State<Arc<Registry>>, Path(proxy): Path<String>) -> Response {
    match r.get(&proxy) {
        Ok(p) => Json(Value::Array(
            p.toxics().iter().map(Toxic::to_json).collect(),
        ))
        .into_response(),
        Err(e) => failed(&e),
    }
}

async fn add_toxic(
    State(r): State<Arc<Registry>>,
    Path(proxy): Path<String>,
    bytes: axum::body::Bytes,
) -> Response {
    let j: ToxicJson = match body(&bytes) {
        Ok(j) => j,
        Err(resp) => return *resp,
    };
    let toxic = match Toxic::from_json(&j) {
        Ok(t) => t,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    match r.add_toxic(&proxy, toxic) {
        Ok(t) => Json(t.to_json()).into_response(),
        Err(e) => failed(&e),
    }
}

fn find(r: &Registry, proxy: &str, toxic: &str) -> Result<Toxic, ProxyError> {
    r.get(proxy)?
        .toxics()
        .into_iter()
        .find(|t| t.name == toxic)
        .ok_or_else(|| ProxyError::ToxicNotFound {
            proxy: proxy.to_owned(),
            toxic: toxic.to_owned(),
        })
}

async fn show_toxic(
    State(r): State<Arc<Registry>>,
    Path((proxy, toxic)): Path<(String, String)>,
) -> Response {
    match find(&r, &proxy, &toxic) {
        Ok(t) => Json(t.to_json()).into_response(),
        Err(e) => failed(&e),
    }
}

async fn update_toxic(
    State(r): State<Arc<Registry>>,
    Path((proxy, toxic)): Path<(String, String)>,
    bytes: axum::body::Bytes,
) -> Response {
    let j: ToxicJson = match body(&bytes) {
        Ok(j) => j,
        Err(resp) => return *resp,
    };
    let current = match find(&r, &proxy, &toxic) {
        Ok(t) => t,
        Err(e) => return failed(&e),
    };
    let updated = match current.update(&j) {
        Ok(t) => t,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    match r.replace_toxic(&proxy, updated) {
        Ok(t) => Json(t.to_json()).into_response(),
        Err(e) => failed(&e),
    }
}

async fn remove_toxic(
    State(r): State<Arc<Registry>>,
    Path((proxy, toxic)): Path<(String, String)>,
) -> Response {
    match r.remove_toxic(&proxy, &toxic) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => failed(&e),
    }
}

async fn requests(State(r): State<Arc<Registry>>, Path(proxy): Path<String>) -> Response {
    match r.get(&proxy) {
        Ok(p) => Json(p.requests_json()).into_response(),
        Err(e) => failed(&e),
    }
}

async fn clear_requests(State(r): State<Arc<Registry>>, Path(proxy): Path<String>) -> Response {
    match r.get(&proxy) {
        Ok(p) => {
            p.clear_requests();
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => failed(&e),
    }
}
