//! The stub server (`modelci contract mock`): serves the HTTP interactions of pacts, so that a
//! consumer can be tested against what its pact says the provider does.
//!
//! A request that matches an interaction gets that interaction's response, with the response's
//! generators applied (consumer side, as the Pact specification says). A request that matches
//! none gets HTTP 500 with `{"error": ..., "mismatches": [...]}` naming the closest interaction
//! and why it did not match.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response as HttpResponse};
use modelci_pact::generators::{self, Context, Mode};
use modelci_pact::model::{Query, parse_query_string};
use modelci_pact::{Body, InteractionKind, Pact, Request, Response, compare_request};
use serde_json::{Map, Value, json};

/// Requests larger than this are refused.
const MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;

struct Stub {
    description: String,
    consumer: String,
    request: Request,
    response: Response,
}

struct Served {
    stubs: Vec<Stub>,
    /// Stubs whose path is matched by equality, by (METHOD, path): a request is first tried
    /// against these and the path-rule stubs only, so large pacts answer in constant time.
    by_route: std::collections::HashMap<(String, String), Vec<usize>>,
    /// Stubs whose path has a matching rule.
    by_rule: Vec<usize>,
    base_url: String,
}

/// Binds the server. Returns the bound address and a future that serves until `shutdown`
/// completes.
///
/// # Errors
/// When the address cannot be bound.
pub async fn bind(
    pacts: &[Pact],
    host: &str,
    port: u16,
) -> std::io::Result<(SocketAddr, tokio::net::TcpListener, Vec<String>)> {
    let listener = tokio::net::TcpListener::bind((host, port)).await?;
    let addr = listener.local_addr()?;
    let mut skipped = Vec::new();
    for pact in pacts {
        for i in &pact.interactions {
            if !matches!(i.kind, InteractionKind::Http { .. }) {
                skipped.push(format!(
                    "{}: `{}` is a message interaction; the stub server serves HTTP interactions only",
                    pact.source, i.description
                ));
            }
        }
    }
    Ok((addr, listener, skipped))
}

/// Serves the pacts' HTTP interactions on `listener` until `shutdown` completes.
///
/// # Errors
/// When the server fails.
pub async fn serve(
    pacts: &[Pact],
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    let mut stubs = Vec::new();
    for pact in pacts {
        for i in &pact.interactions {
            if let InteractionKind::Http { request, response } = &i.kind {
                stubs.push(Stub {
                    description: i.description.clone(),
                    consumer: pact.consumer.clone(),
                    request: (**request).clone(),
                    response: (**response).clone(),
                });
            }
        }
    }
    let mut by_route: std::collections::HashMap<(String, String), Vec<usize>> =
        std::collections::HashMap::new();
    let mut by_rule = Vec::new();
    for (n, stub) in stubs.iter().enumerate() {
        if stub.request.rules.category("path").is_empty() {
            by_route
                .entry((
                    stub.request.method.to_ascii_uppercase(),
                    stub.request.path.clone(),
                ))
                .or_default()
                .push(n);
        } else {
            by_rule.push(n);
        }
    }
    let state = Arc::new(Served {
        stubs,
        by_route,
        by_rule,
        base_url: format!("http://{addr}"),
    });
    let app = axum::Router::new().fallback(handle).with_state(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn handle(
    State(served): State<Arc<Served>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResponse {
    if body.len() > MAX_REQUEST_BYTES {
        return error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({"error": format!("the request body is larger than {} MiB", MAX_REQUEST_BYTES / (1024 * 1024))}),
        );
    }
    let actual = to_request(&method, &uri, &headers, &body);
    let route = (method.as_str().to_ascii_uppercase(), uri.path().to_owned());
    let candidates = served
        .by_route
        .get(&route)
        .into_iter()
        .flatten()
        .chain(&served.by_rule);
    let mut candidates: Vec<usize> = candidates.copied().collect();
    candidates.sort_unstable();
    for n in candidates {
        let stub = &served.stubs[n];
        if compare_request(&stub.request, &actual).is_empty() {
            return respond(stub, &served.base_url);
        }
    }
    // No match: find the closest interaction to explain why.
    let mut closest: Option<(usize, &Stub, Vec<modelci_pact::Mismatch>)> = None;
    for stub in &served.stubs {
        let mismatches = compare_request(&stub.request, &actual);
        // Closeness: method and path count most, then the number of mismatches.
        let score = mismatches
            .iter()
            .map(|m| match m.part {
                modelci_pact::Part::Method | modelci_pact::Part::Path => 100,
                _ => 1,
            })
            .sum::<usize>();
        if closest.as_ref().is_none_or(|(s, _, _)| score < *s) {
            closest = Some((score, stub, mismatches));
        }
    }
    let body = match closest {
        None => json!({
            "error": format!("no interaction matches {method} {uri}: the pacts hold no HTTP interactions"),
            "mismatches": [],
        }),
        Some((_, stub, mismatches)) => json!({
            "error": format!(
                "no interaction matches {method} {uri}; the closest is `{}` (consumer `{}`)",
                stub.description, stub.consumer
            ),
            "closest": stub.description,
            "mismatches": mismatches.iter().map(|m| json!({
                "part": m.part.as_str(),
                "path": m.path,
                "rule": m.rule,
                "expected": m.expected,
                "actual": m.actual,
                "message": m.message,
            })).collect::<Vec<_>>(),
        }),
    };
    error_response(StatusCode::INTERNAL_SERVER_ERROR, body)
}

fn error_response(status: StatusCode, body: Value) -> HttpResponse {
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn to_request(method: &Method, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Request {
    let mut hs: Vec<(String, Vec<String>)> = Vec::new();
    for (name, value) in headers {
        let v = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match hs
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_str()))
        {
            Some((_, vs)) => vs.push(v),
            None => hs.push((name.as_str().to_owned(), vec![v])),
        }
    }
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = if body.is_empty() {
        Body::Missing
    } else {
        let json = content_type
            .as_deref()
            .is_some_and(|c| modelci_pact::body::kind_of(c) == modelci_pact::body::BodyKind::Json);
        match (json, serde_json::from_slice::<Value>(body)) {
            (true, Ok(v)) => Body::Value(v),
            _ => match std::str::from_utf8(body) {
                Ok(s) => Body::Value(Value::String(s.to_owned())),
                Err(_) => Body::Bytes(body.to_vec()),
            },
        }
    };
    Request {
        method: method.as_str().to_owned(),
        path: uri.path().to_owned(),
        query: Some(Query::Params(parse_query_string(uri.query().unwrap_or("")))),
        headers: Some(hs),
        body,
        content_type: None,
        rules: Default::default(),
        generators: None,
    }
}

fn respond(stub: &Stub, base_url: &str) -> HttpResponse {
    let mut response = stub.response.clone();
    let empty = Map::new();
    let ctx = Context {
        mode: Mode::Consumer,
        provider_state: &empty,
        mock_server_url: Some(base_url),
    };
    if let Err(e) = generators::apply_to_response(&mut response, &ctx) {
        return error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": format!("the response of `{}` has a generator that failed: {e}", stub.description)}),
        );
    }
    let status = StatusCode::from_u16(response.status.unwrap_or(200)).unwrap_or(StatusCode::OK);
    let mut out = HttpResponse::new(axum::body::Body::empty());
    *out.status_mut() = status;
    let mut has_content_type = false;
    for (name, values) in response.headers.iter().flatten() {
        let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&values.join(", ")),
        ) else {
            continue;
        };
        has_content_type |= n == axum::http::header::CONTENT_TYPE;
        out.headers_mut().insert(n, v);
    }
    let bytes = match &response.body {
        Body::Missing | Body::Null => Vec::new(),
        Body::Value(Value::String(s)) => s.clone().into_bytes(),
        Body::Value(v) => {
            if !has_content_type {
                out.headers_mut().insert(
                    axum::http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
            }
            v.to_string().into_bytes()
        }
        Body::Bytes(b) => b.clone(),
    };
    if !has_content_type
        && let Some(ct) = response
            .content_type
            .as_deref()
            .and_then(|c| HeaderValue::from_str(c).ok())
    {
        out.headers_mut()
            .insert(axum::http::header::CONTENT_TYPE, ct);
    }
    *out.body_mut() = axum::body::Body::from(bytes);
    out
}
