//! The HTTP API: the Open Inference Protocol's REST endpoints, the opt-in fault switch, the
//! Prometheus metrics (`GET /metrics`), and the mapping of every failure to a status and a
//! `{"error": "..."}` body. Every response echoes the request's `X-Request-Id`, when it has one.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, PathRejection, RawPathParamsRejection};
use axum::extract::{
    DefaultBodyLimit, Extension, MatchedPath, Path, RawPathParams, Request, State,
};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use modelci_v2::codec::metadata::ports;
use modelci_v2::codec::request::parse_request;
use modelci_v2::codec::response::{Chunks, OutputTensor};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::breaker::Phase;
use crate::faults::{Fault, MAX_DELAY_MS};
use crate::metrics::{self, Metrics, ModelLabels};
use crate::remote::{Call, REQUEST_ID_HEADER};
use crate::served::{Deadline, InferError, ServedBy, ServedModel};

/// The header that says a response came from the fallback model.
pub(crate) const FALLBACK_HEADER: &str = "x-model-fallback";

/// The Prometheus metrics' endpoint (outside the deadline).
pub(crate) const METRICS_PATH: &str = "/metrics";

/// The routes of inference requests, the ones the metrics count.
const INFER_ROUTES: [&str; 2] = [
    "/v2/models/{name}/infer",
    "/v2/models/{name}/versions/{version}/infer",
];

/// How long past a request's deadline the last-resort timeout (around reading the body and
/// everything else) waits, so that the precise deadline answers come first.
const DEADLINE_GRACE: Duration = Duration::from_millis(250);

/// What every handler shares.
pub(crate) struct AppState {
    pub models: BTreeMap<String, Arc<ServedModel>>,
    /// False once shutdown has begun.
    pub ready: AtomicBool,
    pub faults_enabled: bool,
    pub deadline: Duration,
    /// False under `--broken no-deadline`: the deadline is not enforced (no timeout, no 504).
    pub enforce_deadline: bool,
    pub max_body_bytes: usize,
    /// The inference requests' metrics (`GET /metrics`).
    pub metrics: Metrics,
}

/// An error answer: a status, `{"error": message}`, and `Retry-After` when it helps.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
    retry_after: Option<HeaderValue>,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    fn retry_after(mut self, after: Duration) -> ApiError {
        self.retry_after = Some(HeaderValue::from(seconds(after)));
        self
    }
}

/// `Retry-After` in whole seconds, at least 1.
fn seconds(d: Duration) -> u64 {
    d.as_millis().div_ceil(1000).max(1) as u64
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response =
            (self.status, axum::Json(json!({ "error": self.message }))).into_response();
        if let Some(after) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, after);
        }
        response
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> ApiError {
        ApiError::new(
            r.status(),
            format!("the URL path cannot be read: {}", r.body_text()),
        )
    }
}

impl AppState {
    /// The model `name` (at `version`, when given).
    fn find(&self, name: &str, version: Option<&str>) -> Result<&Arc<ServedModel>, ApiError> {
        // The served names are not listed: a client guessing names learns nothing.
        let model = self
            .models
            .get(name)
            .ok_or_else(|| ApiError::not_found(format!("model `{name}` is not served here")))?;
        match version {
            Some(v) if v != model.version => Err(ApiError::not_found(format!(
                "model `{name}` has no version `{v}` (versions: {})",
                model.version
            ))),
            _ => Ok(model),
        }
    }

    /// Admits a request to model `name` by its body's size, before the body is read (404 for
    /// a model not served, 429 when the model's `--max-inflight-body-bytes` are taken).
    fn admit(
        &self,
        name: &str,
        version: Option<&str>,
        headers: &HeaderMap,
    ) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
        let model = self.find(name, version)?;
        let announced = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(self.max_body_bytes as u64);
        model.admit(announced).ok_or_else(|| {
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "model `{name}` is taking in as many request bytes as it may at once (--max-inflight-body-bytes); retry later"
                ),
            )
            .retry_after(Duration::from_secs(1))
        })
    }

    /// Reads an inference request's body into one buffer of its announced size (no copy from
    /// a list of chunks into a second buffer, which would double the peak for a large body),
    /// refusing it with 413 as soon as it passes `--max-body-bytes`.
    async fn read_body(&self, headers: &HeaderMap, mut body: Body) -> Result<Bytes, ApiError> {
        use http_body_util::BodyExt as _;
        let limit = self.max_body_bytes;
        let announced = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        let mut buf = Vec::with_capacity(announced.min(limit));
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| {
                ApiError::bad_request(format!("the request body cannot be read: {e}"))
            })?;
            if let Ok(data) = frame.into_data() {
                if buf.len() + data.len() > limit {
                    return Err(ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!(
                            "the request body is larger than the {limit} bytes allowed (--max-body-bytes)"
                        ),
                    ));
                }
                buf.extend_from_slice(&data);
            }
        }
        Ok(Bytes::from(buf))
    }

    /// The request body, or why it cannot be read (413 beyond --max-body-bytes).
    fn body(&self, body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
        body.map_err(|r| {
            let status = r.status();
            let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
                format!(
                    "the request body is larger than the {} bytes allowed (--max-body-bytes)",
                    self.max_body_bytes
                )
            } else {
                format!("the request body cannot be read: {}", r.body_text())
            };
            ApiError::new(status, message)
        })
    }

    fn check_ready(&self) -> Result<(), ApiError> {
        if self.ready.load(Ordering::Acquire) {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the service is shutting down",
            ))
        }
    }
}

/// The router of every endpoint.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    let max_body_bytes = state.max_body_bytes;
    Router::new()
        .route("/v2/health/live", get(live))
        .route("/v2/health/ready", get(ready))
        .route("/v2", get(server_metadata))
        .route("/v2/models/{name}", get(model_metadata))
        .route("/v2/models/{name}/ready", get(model_ready))
        .route("/v2/models/{name}/infer", post(infer))
        .route(
            "/v2/models/{name}/versions/{version}",
            get(model_metadata_version),
        )
        .route(
            "/v2/models/{name}/versions/{version}/ready",
            get(model_ready_version),
        )
        .route(
            "/v2/models/{name}/versions/{version}/infer",
            post(infer_version),
        )
        .route(
            "/faults",
            get(faults_list).post(faults_set).delete(faults_clear),
        )
        .route(METRICS_PATH, get(metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            deadline_layer,
        ))
        // Before anything waits for the body: an announced size over the limit is refused at
        // once (no `100 Continue`, no wait for bytes that will not be read).
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            announced_size_layer,
        ))
        // Outside the deadline, so that its last-resort 504 is counted and timed too.
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            metrics_layer,
        ))
        .with_state(state)
}

/// Counts and times every inference request (the routes in [`INFER_ROUTES`], POST), from its
/// arrival to its response, under the model and version it names when they are served here.
async fn metrics_layer(
    State(app): State<Arc<AppState>>,
    route: Option<MatchedPath>,
    params: Result<RawPathParams, RawPathParamsRejection>,
    req: Request,
    next: Next,
) -> Response {
    let inference =
        req.method() == Method::POST && route.is_some_and(|r| INFER_ROUTES.contains(&r.as_str()));
    if !inference {
        return next.run(req).await;
    }
    // A name or version that is not served here (or a path that cannot be read) counts under
    // no model: clients cannot make label sets.
    let served = params.ok().and_then(|params| {
        let mut name = None;
        let mut version = None;
        for (key, value) in &params {
            match key {
                "name" => name = Some(value),
                "version" => version = Some(value),
                _ => {}
            }
        }
        let model = app.find(name?, version).ok()?;
        Some(ModelLabels::new(&model.name, &model.version))
    });
    let counted = app.metrics.begin(served);
    let response = next.run(req).await;
    let fallback = response
        .headers()
        .get(FALLBACK_HEADER)
        .is_some_and(|v| v.as_bytes() == b"true");
    counted.answered(response.status(), fallback);
    response
}

/// `GET /metrics`: the Prometheus text exposition (format 0.0.4) of the inference metrics.
async fn metrics(State(app): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let breakers = app.models.values().map(|m| {
        (
            ModelLabels::new(&m.name, &m.version),
            m.breaker_phase() == Phase::Open,
        )
    });
    let text = app.metrics.render(breakers).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the metrics cannot be written: {e}"),
        )
    })?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(metrics::CONTENT_TYPE),
        )],
        text,
    )
        .into_response())
}

/// Gives every request its deadline, answers 504 a little past it if nothing else did (a body
/// that arrives too slowly, for one), and echoes the request's `X-Request-Id`. `GET /metrics`
/// has no deadline (it never waits for a model).
async fn deadline_layer(
    State(app): State<Arc<AppState>>,
    route: Option<MatchedPath>,
    mut req: Request,
    next: Next,
) -> Response {
    let deadline = Deadline {
        at: Instant::now() + app.deadline,
        budget: app.deadline,
        enforced: app.enforce_deadline && route.is_none_or(|r| r.as_str() != METRICS_PATH),
    };
    let request_id = req.headers().get(REQUEST_ID_HEADER).cloned();
    req.extensions_mut().insert(deadline);
    let mut response = if deadline.enforced {
        match tokio::time::timeout_at(deadline.at + DEADLINE_GRACE, next.run(req)).await {
            Ok(response) => response,
            Err(_) => ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                format!(
                    "deadline of {} ms exceeded before the request was answered (raise --deadline-ms)",
                    deadline.ms()
                ),
            )
            .into_response(),
        }
    } else {
        next.run(req).await
    };
    if let Some(id) = request_id {
        response
            .headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), id);
    }
    response
}

/// Refuses a request whose `Content-Length` is over `--max-body-bytes` with 413, before its
/// body is read (a client waiting for `100 Continue` gets the refusal instead).
async fn announced_size_layer(
    State(app): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u128>().ok());
    match announced {
        Some(n) if n > app.max_body_bytes as u128 => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the request body ({n} bytes, from Content-Length) is larger than the {} bytes allowed (--max-body-bytes)",
                app.max_body_bytes
            ),
        )
        .into_response(),
        _ => next.run(req).await,
    }
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!(
        "no endpoint {method} {} (see GET /v2 and /v2/models/NAME)",
        uri.path()
    ))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{} does not take {method}", uri.path()),
    )
}

async fn live() -> impl IntoResponse {
    axum::Json(json!({ "live": true }))
}

async fn ready(State(app): State<Arc<AppState>>) -> Result<impl IntoResponse, ApiError> {
    app.check_ready()?;
    Ok(axum::Json(json!({ "ready": true })))
}

async fn server_metadata() -> impl IntoResponse {
    axum::Json(json!({
        "name": "modelci-service",
        "version": env!("CARGO_PKG_VERSION"),
        "extensions": [],
    }))
}

fn metadata(app: &AppState, name: &str, version: Option<&str>) -> Result<Response, ApiError> {
    let model = app.find(name, version)?;
    // A remote model's platform is its server's (when its metadata says one).
    let platform = model
        .remote()
        .and_then(|r| r.platform.as_deref())
        .unwrap_or("onnxruntime_onnx");
    Ok(axum::Json(json!({
        "name": model.name,
        "versions": [model.version],
        "platform": platform,
        "inputs": ports(&model.inputs),
        "outputs": ports(&model.outputs),
    }))
    .into_response())
}

async fn model_metadata(
    State(app): State<Arc<AppState>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(name) = path?;
    metadata(&app, &name, None)
}

async fn model_metadata_version(
    State(app): State<Arc<AppState>>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path((name, version)) = path?;
    metadata(&app, &name, Some(&version))
}

fn readiness(app: &AppState, name: &str, version: Option<&str>) -> Result<Response, ApiError> {
    let model = app.find(name, version)?;
    app.check_ready()?;
    Ok(axum::Json(json!({ "name": model.name, "ready": true })).into_response())
}

async fn model_ready(
    State(app): State<Arc<AppState>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(name) = path?;
    readiness(&app, &name, None)
}

async fn model_ready_version(
    State(app): State<Arc<AppState>>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path((name, version)) = path?;
    readiness(&app, &name, Some(&version))
}

async fn infer(
    State(app): State<Arc<AppState>>,
    Extension(deadline): Extension<Deadline>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: Body,
) -> Result<Response, ApiError> {
    let Path(name) = path?;
    let _admitted = app.admit(&name, None, &headers)?;
    let body = app.read_body(&headers, body).await?;
    run_inference(&app, &name, None, deadline, &headers, body).await
}

async fn infer_version(
    State(app): State<Arc<AppState>>,
    Extension(deadline): Extension<Deadline>,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Body,
) -> Result<Response, ApiError> {
    let Path((name, version)) = path?;
    let _admitted = app.admit(&name, Some(&version), &headers)?;
    let body = app.read_body(&headers, body).await?;
    run_inference(&app, &name, Some(&version), deadline, &headers, body).await
}

/// The request's `parameters.idempotent`, read only for the retry rule of remote models.
#[derive(Debug, Deserialize)]
struct IdempotencyOnly {
    #[serde(default)]
    parameters: Option<IdempotencyParameters>,
}

#[derive(Debug, Deserialize)]
struct IdempotencyParameters {
    #[serde(default)]
    idempotent: Option<Value>,
}

/// Whether a request may be retried: unless its `parameters` say `"idempotent": false`.
///
/// # Errors
/// A message for a 400 when `idempotent` is not a boolean.
fn idempotent(body: &[u8]) -> Result<bool, String> {
    let read: IdempotencyOnly = serde_json::from_slice(body)
        .map_err(|e| format!("the request's `parameters` cannot be read: {e}"))?;
    match read.parameters.and_then(|p| p.idempotent) {
        None | Some(Value::Null) => Ok(true),
        Some(Value::Bool(b)) => Ok(b),
        Some(other) => Err(format!(
            "`parameters.idempotent` must be true or false, not {}",
            modelci_v2::codec::kind(&other)
        )),
    }
}

async fn run_inference(
    app: &AppState,
    name: &str,
    version: Option<&str>,
    deadline: Deadline,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let model = app.find(name, version)?;
    let request = parse_request(&body, &model.name, &model.inputs, &model.outputs)
        .map_err(ApiError::bad_request)?;
    let call = Call {
        request_id: headers.get(REQUEST_ID_HEADER).cloned(),
        idempotent: match model.remote() {
            Some(_) => idempotent(&body).map_err(ApiError::bad_request)?,
            None => true,
        },
    };
    drop(body);
    let answer = model
        .infer(request.inputs, deadline, call)
        .await
        .map_err(|e| infer_error(model, e))?;
    // The outputs asked for, in the order asked; else all, in the model's order.
    let mut produced = answer.outputs;
    let order: Vec<String> = if request.outputs.is_empty() {
        model.outputs.iter().map(|p| p.name.clone()).collect()
    } else {
        request.outputs
    };
    let mut outputs = Vec::with_capacity(order.len());
    for wanted in &order {
        let k = produced
            .iter()
            .position(|t| &t.name == wanted)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!(
                        "the {} model of `{}` did not produce output `{wanted}`",
                        answer.served_by.name(),
                        model.name
                    ),
                )
            })?;
        outputs.push(
            OutputTensor::from_tensor(produced.swap_remove(k))
                .map_err(|m| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, m))?,
        );
    }
    let response = InferResponse {
        model_name: &model.name,
        model_version: &model.version,
        id: request.id,
        parameters: ResponseParameters {
            served_by: answer.served_by.name(),
            breaker: answer.breaker.name(),
        },
        outputs: Vec::new(),
    };
    // The answer without its outputs, split where they go: the outputs' values are written
    // a chunk at a time as the answer is sent, never as one text.
    let frame = serde_json::to_vec(&response).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the response cannot be written: {e}"),
        )
    })?;
    const SLOT: &[u8] = b"\"outputs\":[]";
    let at = frame
        .windows(SLOT.len())
        .rposition(|w| w == SLOT)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the response cannot be written",
            )
        })?;
    let split = at + SLOT.len() - 1;
    let chunks = Chunks::new(
        frame[..split].to_vec(),
        outputs,
        frame[split..].to_vec(),
        ANSWER_CHUNK,
    );
    let fallback = answer.served_by == ServedBy::Fallback;
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .header(
            HeaderName::from_static(FALLBACK_HEADER),
            if fallback { "true" } else { "false" },
        )
        .body(Body::new(StreamedAnswer(chunks)))
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the response cannot be written: {e}"),
            )
        })
}

/// Bytes of an answer formatted at a time.
const ANSWER_CHUNK: usize = 64 * 1024;

/// An answer's body, formatted as it is sent.
struct StreamedAnswer(Chunks);

impl http_body::Body for StreamedAnswer {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        std::task::Poll::Ready(
            self.0
                .next_chunk()
                .map(|c| Ok(http_body::Frame::data(Bytes::from(c)))),
        )
    }
}

fn infer_error(model: &ServedModel, e: InferError) -> ApiError {
    let name = &model.name;
    match e {
        InferError::Full {
            max_concurrency,
            max_queue,
            retry_after,
        } => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "model `{name}` is at capacity ({max_concurrency} inference(s) running, {max_queue} waiting at most); retry later"
            ),
        )
        .retry_after(retry_after),
        InferError::Deadline { deadline, stage } => ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            format!(
                "deadline of {} ms exceeded {stage} (model `{name}`; the limit is --deadline-ms)",
                deadline.ms()
            ),
        ),
        InferError::Unavailable {
            retry_after,
            fallback_disabled,
        } => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            if fallback_disabled {
                format!(
                    "model `{name}` is unavailable: its circuit breaker is open after repeated failures and its fallback is disabled (--broken no-fallback)"
                )
            } else {
                format!(
                    "model `{name}` is unavailable: its circuit breaker is open after repeated failures and it has no fallback"
                )
            },
        )
        .retry_after(retry_after),
        InferError::Failed { served_by, message } => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            match served_by {
                ServedBy::Primary => format!("model `{name}` failed: {message}"),
                ServedBy::Fallback => format!("the fallback of model `{name}` failed: {message}"),
            },
        ),
        InferError::Unsendable(message) => ApiError::bad_request(format!(
            "the request cannot be sent to the remote model of `{name}`: {message}"
        )),
        InferError::Refused {
            status,
            message,
            retry_after,
        } => ApiError {
            status,
            message: format!("model `{name}`: {message}"),
            retry_after,
        },
        InferError::Upstream(message) => {
            ApiError::new(StatusCode::BAD_GATEWAY, format!("model `{name}`: {message}"))
        }
    }
}

/// `POST /faults`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultRequest {
    model: String,
    #[serde(default)]
    fail: bool,
    #[serde(default)]
    delay_ms: u64,
    #[serde(default)]
    gpu_oom: bool,
}

#[derive(Debug, Serialize)]
struct FaultState<'a> {
    model: &'a str,
    fail: bool,
    delay_ms: u64,
    gpu_oom: bool,
}

fn faults_off() -> ApiError {
    ApiError::not_found(
        "no endpoint /faults: the fault switch is off (start modelci-service with --enable-faults)",
    )
}

fn faults_state(app: &AppState) -> Response {
    let active: Vec<FaultState<'_>> = app
        .models
        .values()
        .filter_map(|m| {
            let f = m.faults.get();
            f.is_active().then_some(FaultState {
                model: &m.name,
                fail: f.fail,
                delay_ms: f.delay_ms,
                gpu_oom: f.gpu_oom,
            })
        })
        .collect();
    axum::Json(json!({ "faults": active })).into_response()
}

async fn faults_list(State(app): State<Arc<AppState>>) -> Result<Response, ApiError> {
    if !app.faults_enabled {
        return Err(faults_off());
    }
    Ok(faults_state(&app))
}

async fn faults_set(
    State(app): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    if !app.faults_enabled {
        return Err(faults_off());
    }
    let request: FaultRequest = serde_json::from_slice(&app.body(body)?).map_err(|e| {
        ApiError::bad_request(format!(
            "the body is not a fault (`{{\"model\": NAME, \"fail\": BOOL, \"delay_ms\": MS, \"gpu_oom\": BOOL}}`): {e}"
        ))
    })?;
    if request.delay_ms > MAX_DELAY_MS {
        return Err(ApiError::bad_request(format!(
            "`delay_ms` is {}, more than the {MAX_DELAY_MS} allowed",
            request.delay_ms
        )));
    }
    let model = app.find(&request.model, None)?;
    let fault = Fault {
        fail: request.fail,
        delay_ms: request.delay_ms,
        gpu_oom: request.gpu_oom,
    };
    model.faults.set(fault);
    eprintln!(
        "modelci-service: model `{}`: fault switch set (fail: {}, delay: {} ms, gpu_oom: {})",
        model.name, fault.fail, fault.delay_ms, fault.gpu_oom
    );
    Ok(faults_state(&app))
}

async fn faults_clear(State(app): State<Arc<AppState>>) -> Result<Response, ApiError> {
    if !app.faults_enabled {
        return Err(faults_off());
    }
    for m in app.models.values() {
        if m.faults.get().is_active() {
            m.faults.set(Fault::default());
            eprintln!("modelci-service: model `{}`: fault switch cleared", m.name);
        }
    }
    Ok(faults_state(&app))
}

/// An inference response.
#[derive(Debug, Serialize)]
struct InferResponse<'a> {
    model_name: &'a str,
    model_version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    parameters: ResponseParameters,
    outputs: Vec<OutputTensor>,
}

/// The response's `parameters`: which model answered, and the breaker's phase after it did.
#[derive(Debug, Serialize)]
struct ResponseParameters {
    /// `primary` or `fallback`.
    served_by: &'static str,
    /// `closed`, `open` or `half_open`.
    breaker: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_idempotent_unless_they_say_otherwise() {
        assert_eq!(idempotent(br#"{"inputs": []}"#), Ok(true));
        assert_eq!(idempotent(br#"{"parameters": {"note": 1}}"#), Ok(true));
        assert_eq!(
            idempotent(br#"{"parameters": {"idempotent": null}}"#),
            Ok(true)
        );
        assert_eq!(
            idempotent(br#"{"parameters": {"idempotent": true}}"#),
            Ok(true)
        );
        assert_eq!(
            idempotent(br#"{"id": "x", "parameters": {"idempotent": false}}"#),
            Ok(false)
        );
        let e = idempotent(br#"{"parameters": {"idempotent": "no"}}"#).expect_err("a string");
        assert!(e.contains("must be true or false, not a string"), "{e}");
    }

    #[test]
    fn retry_after_is_whole_seconds_at_least_one() {
        assert_eq!(seconds(Duration::ZERO), 1);
        assert_eq!(seconds(Duration::from_millis(999)), 1);
        assert_eq!(seconds(Duration::from_millis(1001)), 2);
        assert_eq!(seconds(Duration::from_secs(30)), 30);
    }
}
