//! A live model served over the Open Inference Protocol (KServe v2 REST, as Triton, KServe,
//! MLServer, OpenVINO Model Server and Seldon speak it), as a [`Backend`].
//!
//! [`Endpoint::connect`] checks that the server and the model are ready and reads the model's
//! metadata (its inputs and outputs); [`Backend::run`] posts the tensors to the model's `infer`
//! URL in the protocol's JSON encoding and reads the answer back into [`Tensor`]s, in the order
//! the metadata lists the outputs. [`signature_mismatches`] compares the declared metadata with
//! an ONNX model's signature.
//!
//! Choices worth knowing:
//! - **Readiness.** `GET {base}/v2/health/ready` must answer 200. A 404 there is tolerated when
//!   the model's own `ready` URL answers 200: gateways that route only `/v2/models/{name}/...`
//!   to one model (KServe behind an ingress, Seldon) have no server-level health URL. Anything
//!   else (503, a refused connection) is an error.
//! - **NaN and infinity.** JSON numbers cannot be NaN or infinite, and the protocol's JSON
//!   encoding has no other spelling for them: most servers reject both the bare tokens `NaN` /
//!   `Infinity` and strings. Inputs holding them are therefore refused with a
//!   [`RuntimeError::Run`] that says so (an edge-case check reports it as such), unless
//!   [`ConnectOptions::nonfinite_tokens`] is set, which sends the bare tokens `NaN`, `Infinity`
//!   and `-Infinity` (Triton since 22.02 and Python's `json` read them; they are not JSON).
//!   In answers, those bare tokens, the strings `"NaN"`, `"Infinity"`, `"-Infinity"` (`"inf"`,
//!   `"nan"`, any case) and `null` (what `orjson`-based servers write for every non-finite
//!   value) are all read, `null` as NaN.
//! - **Limits.** Every request has the timeout given to [`Endpoint::connect`] (connecting has
//!   at most 10 s of it), from sending it to the last byte of the answer (a body still coming
//!   past it is given up after the read in progress); an answer's body is read up to
//!   [`ConnectOptions::max_body_bytes`] (512 MiB by default) and refused beyond, so a runaway
//!   server cannot exhaust memory.
//!   There are no retries here: a caller that wants them wraps [`Endpoint::connect`].
//! - **Secrets.** Extra headers ([`ConnectOptions::with_headers`], for `Authorization` and
//!   API keys) are marked sensitive and their values never appear in messages or `Debug`
//!   output; credentials and queries in the base URL are shown as `***`, and all of these are
//!   hidden from messages that quote a server's answer (an error body echoing the request).
//! - **Transport.** One blocking `reqwest` client per endpoint (connections are reused), no
//!   proxy, no redirects (a 3xx is reported as an answer). Like every blocking `reqwest` client,
//!   it must not be created, used or dropped inside an async (tokio) task.
//!
//! Floating-point tensors go out in the shortest decimal form that reads back to the same value
//! of their own width (an `FP32` input as the `f32` it stands for); answers are rounded to the
//! declared width, as ONNX Runtime's would be. Integers are checked against their type's range.

use std::fmt::{self, Write as _};
use std::io::Read as _;
use std::time::{Duration, Instant};

use reqwest::blocking::{Client, RequestBuilder};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{StatusCode, Url};
use serde_json::Value;

use crate::backend::Backend;
use crate::onnx::{Dim, ModelInfo, Port as OnnxPort};
use crate::runtime::{Port, RuntimeError};
use crate::tensor::{DType, Data, Tensor};

/// The timeout of every request when none is given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest answer body read by default (512 MiB).
pub const DEFAULT_MAX_BODY_BYTES: u64 = 512 * 1024 * 1024;

/// The most time spent connecting, within the request timeout.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How much of a server's error body a message quotes.
const QUOTED_CHARS: usize = 500;

/// How much of a body that is not JSON a message shows.
const PREVIEW_CHARS: usize = 200;

/// The Open Inference Protocol's name of an element type (`FP32`, `INT64`, `BOOL`, `BYTES`...);
/// [`DType::parse`] reads it back.
pub fn v2_datatype(dtype: DType) -> &'static str {
    match dtype {
        DType::F16 => "FP16",
        DType::BF16 => "BF16",
        DType::F32 => "FP32",
        DType::F64 => "FP64",
        DType::I8 => "INT8",
        DType::I16 => "INT16",
        DType::I32 => "INT32",
        DType::I64 => "INT64",
        DType::U8 => "UINT8",
        DType::U16 => "UINT16",
        DType::U32 => "UINT32",
        DType::U64 => "UINT64",
        DType::Bool => "BOOL",
        DType::String => "BYTES",
    }
}

/// How to talk to an endpoint: [`Endpoint::connect_with`].
#[derive(Clone)]
pub struct ConnectOptions {
    /// The limit of every request, from sending it to the last byte of the answer.
    pub timeout: Duration,
    /// Extra headers sent with every request (`Authorization`, API keys). Their values are
    /// never shown.
    pub headers: Vec<(String, String)>,
    /// Send NaN and infinities as the bare tokens `NaN`, `Infinity`, `-Infinity` (not JSON;
    /// Triton reads them) instead of refusing such inputs.
    pub nonfinite_tokens: bool,
    /// The largest answer body read; a larger one is an error.
    pub max_body_bytes: u64,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            timeout: DEFAULT_TIMEOUT,
            headers: Vec::new(),
            nonfinite_tokens: false,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

impl fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("ConnectOptions")
            .field("timeout", &self.timeout)
            .field("headers (values hidden)", &names)
            .field("nonfinite_tokens", &self.nonfinite_tokens)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish()
    }
}

impl ConnectOptions {
    /// The defaults with this request timeout.
    pub fn new(timeout: Duration) -> Self {
        ConnectOptions {
            timeout,
            ..ConnectOptions::default()
        }
    }

    /// Adds headers sent with every request (e.g. `("Authorization", "Bearer ...")`).
    #[must_use]
    pub fn with_headers(mut self, headers: Vec<(String, String)>) -> Self {
        self.headers.extend(headers);
        self
    }

    /// Sends NaN and infinities as bare tokens (see [`ConnectOptions::nonfinite_tokens`]).
    #[must_use]
    pub fn with_nonfinite_tokens(mut self, on: bool) -> Self {
        self.nonfinite_tokens = on;
        self
    }

    /// Sets the largest answer body read.
    #[must_use]
    pub fn with_max_body_bytes(mut self, bytes: u64) -> Self {
        self.max_body_bytes = bytes;
        self
    }
}

/// A model on an Open Inference Protocol server, ready to run.
pub struct Endpoint {
    http: Http,
    /// What error messages must not repeat, even when the server echoes it.
    secrets: Secrets,
    /// `{base}/v2/models/{name}[/versions/{version}]`.
    model_url: Url,
    name: String,
    version: Option<String>,
    nonfinite_tokens: bool,
    /// The inputs the metadata declares, in its order (`-1` for dynamic dimensions; `dtype`
    /// is `None` for a datatype modelci does not know).
    pub inputs: Vec<Port>,
    /// The outputs the metadata declares, in its order.
    pub outputs: Vec<Port>,
    /// The metadata's `platform` (`onnxruntime_onnx`, `tensorrt_plan`...), when it says.
    pub platform: Option<String>,
    /// The metadata's `versions`.
    pub versions: Vec<String>,
    /// The datatype names as declared, parallel to `inputs` and `outputs`.
    input_datatypes: Vec<String>,
    output_datatypes: Vec<String>,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("url", &shown(&self.model_url))
            .field("inputs", &self.inputs)
            .field("outputs", &self.outputs)
            .field("platform", &self.platform)
            .field("versions", &self.versions)
            .finish_non_exhaustive()
    }
}

fn run_error(message: String) -> RuntimeError {
    RuntimeError::Run { message }
}

impl Endpoint {
    /// Connects to model `model_name` (at `version`, or the server's choice) on the server at
    /// `base_url`: checks `GET {base}/v2/health/ready` (a 404 is tolerated, see the module
    /// docs), `GET {base}/v2/models/{name}[/versions/{v}]/ready`, and reads the metadata at
    /// `GET {base}/v2/models/{name}[/versions/{v}]`.
    ///
    /// # Errors
    /// [`RuntimeError::Run`] naming the URL: not an http(s) URL, a server that cannot be reached
    /// or does not answer within `timeout`, a server or model that is not ready or not there,
    /// metadata that is not the protocol's.
    pub fn connect(
        base_url: &str,
        model_name: &str,
        version: Option<&str>,
        timeout: Duration,
    ) -> Result<Endpoint, RuntimeError> {
        Endpoint::connect_with(base_url, model_name, version, &ConnectOptions::new(timeout))
    }

    /// [`Endpoint::connect`] with headers and the other [`ConnectOptions`].
    ///
    /// # Errors
    /// As [`Endpoint::connect`], plus a header whose name or value is not valid HTTP (the value
    /// is not shown).
    pub fn connect_with(
        base_url: &str,
        model_name: &str,
        version: Option<&str>,
        options: &ConnectOptions,
    ) -> Result<Endpoint, RuntimeError> {
        let base = parse_base(base_url)?;
        let secrets = Secrets::new(&options.headers, &base);
        Endpoint::connect_to(base, model_name, version, options, secrets.clone())
            .map_err(|e| secrets.scrub(e))
    }

    /// [`Endpoint::connect_with`] past parsing the URL; its errors may quote the server.
    fn connect_to(
        base: Url,
        model_name: &str,
        version: Option<&str>,
        options: &ConnectOptions,
        secrets: Secrets,
    ) -> Result<Endpoint, RuntimeError> {
        if model_name.trim().is_empty() {
            return Err(run_error(format!(
                "{}: the model name is empty",
                shown(&base)
            )));
        }
        let version = version.filter(|v| !v.trim().is_empty());
        let http = Http::new(options)?;
        let mut model_url = join(&base, &["v2", "models", model_name]);
        if let Some(v) = version {
            model_url = join(&model_url, &["versions", v]);
        }
        let what = match version {
            Some(v) => format!("model `{model_name}` version `{v}`"),
            None => format!("model `{model_name}`"),
        };

        let health_url = join(&base, &["v2", "health", "ready"]);
        let health = http.send(http.client.get(health_url.clone()), &health_url)?;
        let health_missing = health.status == StatusCode::NOT_FOUND;
        if !health.status.is_success() && !health_missing {
            return Err(run_error(format!(
                "{}: the server is not ready: {}",
                health.shown,
                health.refusal()
            )));
        }

        let ready_url = join(&model_url, &["ready"]);
        let ready = http.send(http.client.get(ready_url.clone()), &ready_url)?;
        if !ready.status.is_success() {
            let mut message = if ready.status == StatusCode::NOT_FOUND {
                format!(
                    "{}: the server does not have {what}: {}",
                    ready.shown,
                    ready.refusal()
                )
            } else {
                format!("{}: {what} is not ready: {}", ready.shown, ready.refusal())
            };
            if health_missing {
                let _ = write!(
                    message,
                    "; {} answered 404 too: is {} an Open Inference Protocol (v2) server?",
                    health.shown,
                    shown(&base)
                );
            }
            return Err(run_error(message));
        }

        let meta = http.send(http.client.get(model_url.clone()), &model_url)?;
        if !meta.status.is_success() {
            return Err(run_error(format!(
                "{}: cannot read the metadata of {what}: {}",
                meta.shown,
                meta.refusal()
            )));
        }
        let json = meta.json()?;
        let metadata = Metadata::parse(&json).map_err(|m| {
            run_error(format!(
                "{}: the metadata is not the protocol's: {m}",
                meta.shown
            ))
        })?;
        Ok(Endpoint {
            http,
            secrets,
            model_url,
            name: model_name.to_owned(),
            version: version.map(str::to_owned),
            nonfinite_tokens: options.nonfinite_tokens,
            inputs: metadata.inputs.iter().map(|p| p.port.clone()).collect(),
            outputs: metadata.outputs.iter().map(|p| p.port.clone()).collect(),
            platform: metadata.platform,
            versions: metadata.versions,
            input_datatypes: metadata.inputs.into_iter().map(|p| p.datatype).collect(),
            output_datatypes: metadata.outputs.into_iter().map(|p| p.datatype).collect(),
        })
    }

    /// The model's name on the server.
    pub fn model_name(&self) -> &str {
        &self.name
    }

    /// The version asked for, if any.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// The model's URL, `{base}/v2/models/{name}[/versions/{v}]`, with credentials hidden.
    pub fn url(&self) -> String {
        shown(&self.model_url)
    }

    /// The JSON body of an inference request: every input, and every output the metadata
    /// lists asked for by name.
    fn request_body(&self, inputs: &[Tensor]) -> Result<String, String> {
        let mut body = String::from("{\"inputs\":[");
        for (k, t) in inputs.iter().enumerate() {
            if k > 0 {
                body.push(',');
            }
            let _ = write!(
                body,
                "{{\"name\":{},\"shape\":{},\"datatype\":\"{}\",\"data\":",
                Value::String(t.name.clone()),
                Value::from(t.shape.clone()),
                v2_datatype(t.dtype)
            );
            write_data(&mut body, t, self.nonfinite_tokens)?;
            body.push('}');
        }
        body.push(']');
        if !self.outputs.is_empty() {
            body.push_str(",\"outputs\":[");
            for (k, p) in self.outputs.iter().enumerate() {
                if k > 0 {
                    body.push(',');
                }
                let _ = write!(body, "{{\"name\":{}}}", Value::String(p.name.clone()));
            }
            body.push(']');
        }
        body.push('}');
        Ok(body)
    }

    /// Checks the inputs' names against the metadata (when it lists inputs).
    fn check_inputs(&self, inputs: &[Tensor]) -> Result<(), String> {
        if self.inputs.is_empty() {
            return Ok(());
        }
        for want in &self.inputs {
            if !inputs.iter().any(|t| t.name == want.name) {
                return Err(format!(
                    "the model needs input `{}`, which the case does not give",
                    want.name
                ));
            }
        }
        if let Some(extra) = inputs
            .iter()
            .find(|t| !self.inputs.iter().any(|p| p.name == t.name))
        {
            let names: Vec<&str> = self.inputs.iter().map(|p| p.name.as_str()).collect();
            return Err(format!(
                "the case gives input `{}`, which the model does not have (its inputs: {})",
                extra.name,
                names.join(", ")
            ));
        }
        Ok(())
    }
}

impl Backend for Endpoint {
    fn inputs(&self) -> &[Port] {
        &self.inputs
    }

    fn sends_non_finite(&self) -> bool {
        self.nonfinite_tokens
    }

    fn outputs(&self) -> &[Port] {
        &self.outputs
    }

    /// Posts the inputs to `{model URL}/infer` and returns the outputs in metadata order.
    fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>, RuntimeError> {
        self.infer(inputs).map_err(|e| self.secrets.scrub(e))
    }

    fn target(&self) -> String {
        self.url()
    }
}

impl Endpoint {
    /// [`Backend::run`], before secrets are hidden from its errors.
    fn infer(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>, RuntimeError> {
        self.check_inputs(inputs).map_err(run_error)?;
        let body = self.request_body(inputs).map_err(run_error)?;
        let url = join(&self.model_url, &["infer"]);
        let request = self
            .http
            .client
            .post(url.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        let answer = self.http.send(request, &url)?;
        if !answer.status.is_success() {
            return Err(run_error(format!(
                "{}: the server refused the request: {}",
                answer.shown,
                answer.refusal()
            )));
        }
        let json = answer.json()?;
        let got = parse_outputs(&json).map_err(|m| {
            run_error(format!(
                "{}: the answer is not the protocol's: {m}",
                answer.shown
            ))
        })?;
        if self.outputs.is_empty() {
            return Ok(got);
        }
        let mut got: Vec<Option<Tensor>> = got.into_iter().map(Some).collect();
        self.outputs
            .iter()
            .map(|p| {
                got.iter_mut()
                    .find(|t| t.as_ref().is_some_and(|t| t.name == p.name))
                    .and_then(Option::take)
                    .ok_or_else(|| {
                        run_error(format!(
                            "{}: the answer has no output `{}`, which the metadata declares",
                            answer.shown, p.name
                        ))
                    })
            })
            .collect()
    }
}

/// Differences between the endpoint's declared metadata and an ONNX model's signature, one
/// readable line each: inputs and outputs one side has and the other lacks, datatypes that
/// differ, shapes that cannot agree. A fixed dimension differing from another fixed one, or
/// ranks that differ, are mismatches; `-1` on the endpoint's side, and symbolic or unknown
/// dimensions on the model's, match anything; a model port without a declared shape matches
/// any shape.
pub fn signature_mismatches(endpoint: &Endpoint, model: &ModelInfo) -> Vec<String> {
    let mut out = Vec::new();
    compare_ports(
        Side::Input,
        &endpoint.inputs,
        &endpoint.input_datatypes,
        &model.inputs,
        &mut out,
    );
    compare_ports(
        Side::Output,
        &endpoint.outputs,
        &endpoint.output_datatypes,
        &model.outputs,
        &mut out,
    );
    out
}

#[derive(Clone, Copy)]
enum Side {
    Input,
    Output,
}

impl Side {
    fn noun(self) -> &'static str {
        match self {
            Side::Input => "input",
            Side::Output => "output",
        }
    }

    /// `the model takes float32` / `the model gives int64`.
    fn verb(self) -> &'static str {
        match self {
            Side::Input => "takes",
            Side::Output => "gives",
        }
    }
}

fn compare_ports(
    side: Side,
    declared: &[Port],
    datatypes: &[String],
    model: &[OnnxPort],
    out: &mut Vec<String>,
) {
    let (noun, verb) = (side.noun(), side.verb());
    for m in model {
        let Some(k) = declared.iter().position(|p| p.name == m.name) else {
            out.push(format!(
                "{noun} `{}`: the model has it, but the endpoint does not declare it",
                m.name
            ));
            continue;
        };
        let e = &declared[k];
        let raw = datatypes.get(k).map_or("?", String::as_str);
        match (e.dtype, m.dtype) {
            (Some(a), Some(b)) if a == b => {}
            (Some(a), Some(b)) => out.push(format!(
                "{noun} `{}`: the endpoint declares {}, the model {verb} {b}",
                m.name,
                v2_datatype(a)
            )),
            (None, Some(b)) => out.push(format!(
                "{noun} `{}`: the endpoint declares {raw} (a datatype modelci does not know), the model {verb} {b}",
                m.name
            )),
            (_, None) => out.push(format!(
                "{noun} `{}`: the endpoint declares {raw}, but the model's is not a tensor of a known type",
                m.name
            )),
        }
        if let Some(dims) = &m.shape
            && !shapes_agree(&e.shape, dims)
        {
            let shown: Vec<String> = dims.iter().map(ToString::to_string).collect();
            out.push(format!(
                "{noun} `{}`: the endpoint declares shape {:?}, the model {verb} [{}]",
                m.name,
                e.shape,
                shown.join(", ")
            ));
        }
    }
    for e in declared {
        if !model.iter().any(|m| m.name == e.name) {
            out.push(format!(
                "{noun} `{}`: the endpoint declares it, but the model has no such {noun}",
                e.name
            ));
        }
    }
}

fn shapes_agree(declared: &[i64], model: &[Dim]) -> bool {
    declared.len() == model.len()
        && declared.iter().zip(model).all(|(e, m)| match m {
            Dim::Fixed(n) => *e < 0 || e == n,
            Dim::Symbolic(_) | Dim::Any => true,
        })
}

// ---------------------------------------------------------------------------------------------
// HTTP

/// The client and the limits, shared by every request of an endpoint.
struct Http {
    client: Client,
    timeout: Duration,
    max_body_bytes: u64,
}

/// A read answer: status and body.
struct Answer {
    /// The URL, credentials hidden.
    shown: String,
    status: StatusCode,
    body: Vec<u8>,
}

impl Http {
    fn new(options: &ConnectOptions) -> Result<Http, RuntimeError> {
        let mut headers = HeaderMap::new();
        for (name, value) in &options.headers {
            let key = HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| run_error(format!("header `{name}`: not a valid HTTP header name")))?;
            let mut value = HeaderValue::from_str(value.trim()).map_err(|_| {
                run_error(format!(
                    "header `{name}`: its value is not a valid HTTP header value (the value is not shown)"
                ))
            })?;
            value.set_sensitive(true);
            headers.append(key, value);
        }
        let client = Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout.min(MAX_CONNECT_TIMEOUT))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .default_headers(headers)
            .build()
            .map_err(|e| run_error(format!("cannot set up an HTTP client: {}", chain(&e))))?;
        Ok(Http {
            client,
            timeout: options.timeout,
            max_body_bytes: options.max_body_bytes,
        })
    }

    /// Sends a request and reads the whole answer (up to the body limit). The client's timeout
    /// bounds the wait for the answer's head and each read of its body; the deadline here bounds
    /// the whole body too, so a server that trickles bytes cannot hold a run forever.
    fn send(&self, request: RequestBuilder, url: &Url) -> Result<Answer, RuntimeError> {
        let shown = shown(url);
        // `None` (no deadline) only for a timeout too large for the clock.
        let deadline = Instant::now().checked_add(self.timeout);
        let mut response = request.send().map_err(|e| {
            // No answer at all: another request would fare no better.
            let unavailable = e.is_timeout() || e.is_connect();
            let message = self.transport(e, &shown);
            if unavailable {
                RuntimeError::Unavailable { message }
            } else {
                run_error(message)
            }
        })?;
        let status = response.status();
        let cap = self.max_body_bytes;
        if let Some(len) = response.content_length()
            && len > cap
        {
            return Err(run_error(format!(
                "{shown}: answered {status} with a body of {len} bytes, more than the {} limit",
                bytes(cap)
            )));
        }
        let mut body = Vec::new();
        let mut chunk = vec![0_u8; 64 * 1024];
        loop {
            let n = match response.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let timed_out = e.kind() == std::io::ErrorKind::TimedOut
                        || e.get_ref()
                            .and_then(|inner| inner.downcast_ref::<reqwest::Error>())
                            .is_some_and(reqwest::Error::is_timeout);
                    return Err(if timed_out {
                        RuntimeError::Unavailable {
                            message: format!(
                                "{shown}: no answer within {} (the body stopped coming)",
                                secs(self.timeout)
                            ),
                        }
                    } else {
                        run_error(format!(
                            "{shown}: the connection broke while reading the answer: {e}"
                        ))
                    });
                }
            };
            let read = chunk.get(..n).unwrap_or_default();
            if (body.len() as u64).saturating_add(read.len() as u64) > cap {
                return Err(run_error(format!(
                    "{shown}: answered {status} with a body larger than the {} limit",
                    bytes(cap)
                )));
            }
            body.extend_from_slice(read);
            if deadline.is_some_and(|d| Instant::now() > d) {
                return Err(RuntimeError::Unavailable {
                    message: format!(
                        "{shown}: no answer within {} (the body was still coming)",
                        secs(self.timeout)
                    ),
                });
            }
        }
        Ok(Answer {
            shown,
            status,
            body,
        })
    }

    /// Why a request got no answer.
    fn transport(&self, e: reqwest::Error, shown: &str) -> String {
        let e = e.without_url();
        if e.is_timeout() {
            format!("{shown}: no answer within {}", secs(self.timeout))
        } else if e.is_connect() {
            format!("cannot reach {shown}: {}", innermost(&e))
        } else {
            format!("{shown}: the request failed: {}", chain(&e))
        }
    }
}

impl Answer {
    /// A non-2xx answer, for messages: `answered 400 Bad Request: {the server's message}`.
    fn refusal(&self) -> String {
        let said = serde_json::from_slice::<Value>(&self.body)
            .ok()
            .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&self.body).into_owned());
        let said = said.trim();
        if said.is_empty() {
            format!("answered {} (no message)", self.status)
        } else {
            format!("answered {}: {}", self.status, truncate(said, QUOTED_CHARS))
        }
    }

    /// The body as JSON (the bare tokens `NaN`, `Infinity` and `-Infinity` read as strings).
    fn json(&self) -> Result<Value, RuntimeError> {
        let Ok(text) = std::str::from_utf8(&self.body) else {
            let head = &self.body[..self.body.len().min(PREVIEW_CHARS)];
            return Err(run_error(format!(
                "{}: answered {} with a body that is not UTF-8 text (so not JSON); it starts with b\"{}\"",
                self.shown,
                self.status,
                head.escape_ascii()
            )));
        };
        match serde_json::from_str(text) {
            Ok(v) => Ok(v),
            Err(first) => quote_nonfinite(text)
                .and_then(|t| serde_json::from_str(&t).ok())
                .ok_or_else(|| {
                    let head: String = text.chars().take(PREVIEW_CHARS).collect();
                    let more = if text.chars().nth(PREVIEW_CHARS).is_some() {
                        "..."
                    } else {
                        ""
                    };
                    run_error(format!(
                        "{}: answered {} with a body that is not JSON ({first}); it starts with \"{}\"{more}",
                        self.shown,
                        self.status,
                        head.escape_debug()
                    ))
                }),
        }
    }
}

/// Values that messages must never show: header values (and their long words, such as a
/// bearer token), and the password and query values of the base URL. Modelci's own messages
/// never include them; this also hides them when a server quotes them back (an error body that
/// echoes the request).
#[derive(Clone, Default)]
struct Secrets(Vec<String>);

impl Secrets {
    /// Shorter values are not hidden: they would blank out ordinary words and numbers.
    const SHORTEST: usize = 6;
    /// Words of a header value hidden on their own (`Bearer <token>`: the token).
    const LONG_WORD: usize = 8;

    fn new(headers: &[(String, String)], base: &Url) -> Secrets {
        let mut found: Vec<String> = Vec::new();
        for (_, value) in headers {
            let value = value.trim();
            found.push(value.to_owned());
            found.extend(
                value
                    .split_whitespace()
                    .filter(|w| w.chars().count() >= Self::LONG_WORD)
                    .map(str::to_owned),
            );
        }
        found.extend(base.password().map(str::to_owned));
        found.extend(base.query_pairs().map(|(_, v)| v.into_owned()));
        found.retain(|v| v.chars().count() >= Self::SHORTEST);
        // Longest first, so that a value is hidden whole before any word of it.
        found.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        found.dedup();
        Secrets(found)
    }

    fn hide(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.0 {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "***");
            }
        }
        out
    }

    fn scrub(&self, e: RuntimeError) -> RuntimeError {
        match e {
            RuntimeError::Run { message } => run_error(self.hide(&message)),
            RuntimeError::Unavailable { message } => RuntimeError::Unavailable {
                message: self.hide(&message),
            },
            other => other,
        }
    }
}

/// Parses and checks the base URL.
fn parse_base(base_url: &str) -> Result<Url, RuntimeError> {
    let text = base_url.trim();
    let url = Url::parse(text).map_err(|e| {
        run_error(format!(
            "`{}` is not a URL ({e}); an endpoint is an http(s) base URL such as http://127.0.0.1:8000",
            redact_text(text)
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(run_error(format!(
            "`{}` is not an http(s) URL; an endpoint is a base URL such as http://127.0.0.1:8000",
            redact_text(text)
        )));
    }
    Ok(url)
}

/// `url` with path segments appended (each percent-encoded as needed).
fn join(url: &Url, segments: &[&str]) -> Url {
    let mut out = url.clone();
    if let Ok(mut path) = out.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    out
}

/// A URL for messages: user, password and query shown as `***`.
fn shown(url: &Url) -> String {
    let mut u = url.clone();
    if !u.username().is_empty() || u.password().is_some() {
        let _ = u.set_password(None);
        let _ = u.set_username("***");
    }
    if u.query().is_some() {
        u.set_query(Some("***"));
    }
    u.set_fragment(None);
    u.to_string()
}

/// Best effort for text that did not parse as a URL: hides what sits before an `@`, and the
/// query (as [`shown`] does for URLs that parse).
fn redact_text(text: &str) -> String {
    let (text, query) = match text.split_once('?') {
        Some((head, _)) => (head, "?***"),
        None => (text, ""),
    };
    let hidden = match (text.find("://"), text.rfind('@')) {
        (Some(s), Some(at)) if at > s + 3 => format!("{}***{}", &text[..s + 3], &text[at..]),
        (None, Some(at)) => format!("***{}", &text[at..]),
        _ => text.to_owned(),
    };
    format!("{hidden}{query}")
}

/// The innermost cause of an error (`Connection refused (os error 111)`).
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last: &(dyn std::error::Error + 'static) = e;
    while let Some(inner) = last.source() {
        last = inner;
    }
    last.to_string()
}

/// An error and its causes, `outer: inner: innermost`.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        let text = inner.to_string();
        if !s.contains(&text) {
            let _ = write!(s, ": {text}");
        }
        src = inner.source();
    }
    s
}

/// `0.3s`, `30s`.
fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0}s")
    } else {
        format!("{}s", (s * 1000.0).round() / 1000.0)
    }
}

/// `512 MiB`, `100 bytes`.
fn bytes(n: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else {
        format!("{n} bytes")
    }
}

/// The first `max` characters, with `...` when cut.
fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_owned(),
    }
}

/// Rewrites the bare tokens `NaN`, `Infinity` and `-Infinity` outside strings (Python's `json`
/// and Triton write them) as strings, or `None` when there are none.
fn quote_nonfinite(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len() + 16);
    let (mut i, mut start, mut in_string, mut changed) = (0, 0, false, false);
    while i < b.len() {
        let c = b[i];
        if in_string {
            match c {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        if c == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        let token = ["NaN", "Infinity", "-Infinity"]
            .into_iter()
            .find(|t| b[i..].starts_with(t.as_bytes()));
        if let Some(t) = token {
            out.push_str(&text[start..i]);
            let _ = write!(out, "\"{t}\"");
            i += t.len();
            start = i;
            changed = true;
        } else {
            i += 1;
        }
    }
    changed.then(|| {
        out.push_str(&text[start..]);
        out
    })
}

// ---------------------------------------------------------------------------------------------
// The protocol's JSON

/// A declared input or output, with its datatype as written.
struct DeclaredPort {
    port: Port,
    datatype: String,
}

/// The model metadata answer.
struct Metadata {
    inputs: Vec<DeclaredPort>,
    outputs: Vec<DeclaredPort>,
    platform: Option<String>,
    versions: Vec<String>,
}

impl Metadata {
    fn parse(v: &Value) -> Result<Metadata, String> {
        let obj = v
            .as_object()
            .ok_or_else(|| format!("expected a JSON object, got {}", kind(v)))?;
        let ports = |key: &str| -> Result<Vec<DeclaredPort>, String> {
            let Some(list) = obj.get(key) else {
                return Ok(Vec::new());
            };
            let list = list
                .as_array()
                .ok_or_else(|| format!("`{key}` is {}, not a list", kind(list)))?;
            list.iter()
                .enumerate()
                .map(|(k, p)| declared_port(p).map_err(|m| format!("{key}[{k}]: {m}")))
                .collect()
        };
        let inputs = ports("inputs")?;
        let outputs = ports("outputs")?;
        let versions = match obj.get("versions") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(vs)) => vs
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(n) => Ok(n.to_string()),
                    other => Err(format!("`versions` holds {}", kind(other))),
                })
                .collect::<Result<_, _>>()?,
            Some(other) => return Err(format!("`versions` is {}, not a list", kind(other))),
        };
        Ok(Metadata {
            inputs,
            outputs,
            platform: obj
                .get("platform")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            versions,
        })
    }
}

fn declared_port(v: &Value) -> Result<DeclaredPort, String> {
    let name = v
        .get("name")
        .and_then(Value::as_str)
        .ok_or("no `name` string")?;
    let datatype = v
        .get("datatype")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("`{name}` has no `datatype` string"))?;
    let shape = v
        .get("shape")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("`{name}` has no `shape` list"))?
        .iter()
        .map(|d| d.as_i64().map(|d| d.max(-1)))
        .collect::<Option<Vec<i64>>>()
        .ok_or_else(|| format!("`{name}` has a `shape` that is not a list of integers"))?;
    Ok(DeclaredPort {
        port: Port {
            name: name.to_owned(),
            dtype: DType::parse(datatype),
            shape,
        },
        datatype: datatype.to_owned(),
    })
}

/// What a JSON value is, for messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Appends a tensor's values as a flat JSON list.
fn write_data(out: &mut String, t: &Tensor, nonfinite_tokens: bool) -> Result<(), String> {
    let wrong = || {
        format!(
            "input `{}`: {} values for a {} tensor",
            t.name,
            data_kind(&t.data),
            v2_datatype(t.dtype)
        )
    };
    out.push('[');
    let sep = |out: &mut String, k: usize| {
        if k > 0 {
            out.push(',');
        }
    };
    match &t.data {
        Data::Float(v) => {
            if !t.dtype.is_float() {
                return Err(wrong());
            }
            let narrow = t.dtype != DType::F64;
            for (k, &wide) in v.iter().enumerate() {
                sep(out, k);
                // What the tensor's type holds: a finite float64 beyond float32's range is an
                // infinity as float32 (and `{:?}` would write it as `inf`, which is not JSON).
                let x = if narrow { f64::from(wide as f32) } else { wide };
                if x.is_finite() {
                    // `{:?}` is the shortest form that reads back to the same value
                    // (`0.1`, `1e-7`, `3.0`), valid JSON for finite numbers.
                    let _ = if narrow {
                        write!(out, "{:?}", x as f32)
                    } else {
                        write!(out, "{x:?}")
                    };
                } else if nonfinite_tokens {
                    out.push_str(if x.is_nan() {
                        "NaN"
                    } else if x > 0.0 {
                        "Infinity"
                    } else {
                        "-Infinity"
                    });
                } else {
                    let what = if x.is_nan() {
                        "NaN"
                    } else if x > 0.0 {
                        "+inf"
                    } else {
                        "-inf"
                    };
                    let overflow = if wide.is_finite() {
                        format!(" ({wide} overflows {})", v2_datatype(t.dtype))
                    } else {
                        String::new()
                    };
                    return Err(format!(
                        "input `{}` holds {what}{overflow} at {:?}, which the Open Inference Protocol's JSON encoding cannot carry (JSON numbers have no NaN or infinity); this case cannot be sent to an endpoint",
                        t.name,
                        t.index_of(k)
                    ));
                }
            }
        }
        Data::Int(v) => {
            if !matches!(t.dtype, DType::I8 | DType::I16 | DType::I32 | DType::I64) {
                return Err(wrong());
            }
            for (k, x) in v.iter().enumerate() {
                sep(out, k);
                let _ = write!(out, "{x}");
            }
        }
        Data::UInt(v) => {
            if !matches!(t.dtype, DType::U8 | DType::U16 | DType::U32 | DType::U64) {
                return Err(wrong());
            }
            for (k, x) in v.iter().enumerate() {
                sep(out, k);
                let _ = write!(out, "{x}");
            }
        }
        Data::Bool(v) => {
            if t.dtype != DType::Bool {
                return Err(wrong());
            }
            for (k, x) in v.iter().enumerate() {
                sep(out, k);
                out.push_str(if *x { "true" } else { "false" });
            }
        }
        Data::Str(v) => {
            if t.dtype != DType::String {
                return Err(wrong());
            }
            for (k, x) in v.iter().enumerate() {
                sep(out, k);
                let _ = write!(out, "{}", Value::String(x.clone()));
            }
        }
    }
    out.push(']');
    Ok(())
}

fn data_kind(d: &Data) -> &'static str {
    match d {
        Data::Float(_) => "floating-point",
        Data::Int(_) => "integer",
        Data::UInt(_) => "unsigned integer",
        Data::Bool(_) => "boolean",
        Data::Str(_) => "string",
    }
}

/// The `outputs` of an inference answer, as tensors, in the answer's order.
fn parse_outputs(v: &Value) -> Result<Vec<Tensor>, String> {
    let outputs = v
        .get("outputs")
        .ok_or_else(|| format!("{} without `outputs`", kind(v)))?
        .as_array()
        .ok_or("`outputs` is not a list")?;
    outputs
        .iter()
        .enumerate()
        .map(|(k, o)| {
            let name = o
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("outputs[{k}] has no `name` string"))?;
            parse_output(name, o).map_err(|m| format!("output `{name}`: {m}"))
        })
        .collect()
}

fn parse_output(name: &str, o: &Value) -> Result<Tensor, String> {
    let datatype = o
        .get("datatype")
        .and_then(Value::as_str)
        .ok_or("no `datatype` string")?;
    let dtype = DType::parse(datatype)
        .ok_or_else(|| format!("datatype `{datatype}` is not one modelci knows"))?;
    let shape = o
        .get("shape")
        .and_then(Value::as_array)
        .ok_or("no `shape` list")?
        .iter()
        .map(|d| d.as_i64().filter(|d| *d >= 0))
        .collect::<Option<Vec<i64>>>()
        .ok_or("`shape` is not a list of non-negative integers")?;
    let data = o.get("data").ok_or(
        "no `data` (binary tensor data, the protocol's binary extension, is not supported)",
    )?;
    let mut leaves = Vec::new();
    crate::v2::flatten(data, &mut leaves);
    let expected = element_count(&shape).ok_or_else(|| {
        format!("shape {shape:?} is too large (its dimensions multiply past 2^63)")
    })?;
    if expected != leaves.len() {
        return Err(format!(
            "shape {shape:?} holds {expected} element(s) but `data` has {}",
            leaves.len()
        ));
    }
    let data = crate::v2::values(dtype, &leaves, true)?;
    Tensor::new(name, dtype, shape, data).map_err(|e| e.message)
}

/// The number of elements of a shape of non-negative dimensions; `None` when its non-zero
/// dimensions multiply past `i64::MAX` (even when a zero makes it empty: rows and row widths
/// computed from it later would overflow).
fn element_count(shape: &[i64]) -> Option<usize> {
    let mut product: i64 = 1;
    let mut empty = false;
    for &d in shape {
        match d {
            0 => empty = true,
            d if d > 0 => product = product.checked_mul(d)?,
            _ => return None,
        }
    }
    if empty {
        Some(0)
    } else {
        usize::try_from(product).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead as _, BufReader, Write as _};
    use std::net::{TcpListener, TcpStream};
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    /// How the fake server states the body's length.
    #[derive(Clone, Copy)]
    enum Length {
        Exact,
        /// A `Content-Length` that is not the body's.
        Claimed(u64),
        /// No `Content-Length`: the body ends when the connection closes.
        UntilClose,
    }

    /// A canned answer.
    struct Reply {
        status: u16,
        body: Vec<u8>,
        delay: Duration,
        length: Length,
        /// When not zero: the body is written a byte at a time, this long apart.
        pace: Duration,
    }

    impl Reply {
        fn new(status: u16, body: impl Into<Vec<u8>>) -> Reply {
            Reply {
                status,
                body: body.into(),
                delay: Duration::ZERO,
                length: Length::Exact,
                pace: Duration::ZERO,
            }
        }
    }

    /// A request as the fake server saw it.
    #[derive(Debug, Clone)]
    struct Seen {
        method: String,
        path: String,
        headers: Vec<(String, String)>,
        body: String,
    }

    type Route = dyn Fn(&str, &str, &str) -> Reply + Send + Sync;

    /// A tiny HTTP/1.1 server on 127.0.0.1 answering every request with `route(method, path,
    /// body)`, one connection per request.
    struct Fake {
        base: String,
        seen: Arc<Mutex<Vec<Seen>>>,
    }

    impl Fake {
        fn start(route: impl Fn(&str, &str, &str) -> Reply + Send + Sync + 'static) -> Fake {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
            let base = format!("http://{}", listener.local_addr().expect("address"));
            let seen = Arc::new(Mutex::new(Vec::new()));
            let route: Arc<Route> = Arc::new(route);
            let log = Arc::clone(&seen);
            std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    let (route, log) = (Arc::clone(&route), Arc::clone(&log));
                    std::thread::spawn(move || {
                        let _ = serve(stream, &*route, &log);
                    });
                }
            });
            Fake { base, seen }
        }

        fn seen(&self) -> Vec<Seen> {
            self.seen.lock().expect("log").clone()
        }
    }

    fn serve(stream: TcpStream, route: &Route, log: &Mutex<Vec<Seen>>) -> std::io::Result<()> {
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_owned();
        let path = parts.next().unwrap_or_default().to_owned();
        let (mut headers, mut len) = (Vec::new(), 0usize);
        loop {
            let mut h = String::new();
            reader.read_line(&mut h)?;
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((n, v)) = h.split_once(':') {
                if n.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().unwrap_or(0);
                }
                headers.push((n.to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        let mut body = vec![0; len];
        reader.read_exact(&mut body)?;
        let body = String::from_utf8_lossy(&body).into_owned();
        let reply = route(&method, path.split('?').next().unwrap_or_default(), &body);
        if let Ok(mut l) = log.lock() {
            l.push(Seen {
                method,
                path,
                headers,
                body,
            });
        }
        std::thread::sleep(reply.delay);
        let mut head = format!(
            "HTTP/1.1 {} Whatever\r\nContent-Type: application/json\r\nConnection: close\r\n",
            reply.status
        );
        match reply.length {
            Length::Exact => head += &format!("Content-Length: {}\r\n", reply.body.len()),
            Length::Claimed(n) => head += &format!("Content-Length: {n}\r\n"),
            Length::UntilClose => {}
        }
        head += "\r\n";
        let mut out = stream;
        out.write_all(head.as_bytes())?;
        if reply.pace.is_zero() {
            out.write_all(&reply.body)?;
        } else {
            out.flush()?;
            for b in &reply.body {
                std::thread::sleep(reply.pace);
                out.write_all(&[*b])?;
                out.flush()?;
            }
        }
        out.flush()
    }

    const META: &str = r#"{"name":"m","versions":["1","2"],"platform":"onnxruntime_onnx",
        "inputs":[{"name":"x","datatype":"FP32","shape":[-1,2]},
                  {"name":"flag","datatype":"BOOL","shape":[-1]},
                  {"name":"text","datatype":"BYTES","shape":[-1]}],
        "outputs":[{"name":"y","datatype":"FP32","shape":[-1,2]},
                   {"name":"names","datatype":"BYTES","shape":[-1]},
                   {"name":"ok","datatype":"BOOL","shape":[-1]}]}"#;

    /// A server with model `m` (versions 1 and 2) declaring `meta`, answering `infer` with
    /// `infer(request body)`.
    fn model_server(
        meta: &'static str,
        infer: impl Fn(&str) -> Reply + Send + Sync + 'static,
    ) -> Fake {
        Fake::start(move |method, path, body| {
            let path = path.replace("/versions/1", "").replace("/versions/2", "");
            match (method, path.as_str()) {
                ("GET", "/v2/health/ready" | "/v2/models/m/ready") => Reply::new(200, ""),
                ("GET", "/v2/models/m") => Reply::new(200, meta),
                ("POST", "/v2/models/m/infer") => infer(body),
                _ => Reply::new(404, r#"{"error":"no such thing"}"#),
            }
        })
    }

    const SHORT: Duration = Duration::from_secs(5);

    fn connect(fake: &Fake) -> Endpoint {
        Endpoint::connect(&fake.base, "m", None, SHORT).expect("connects")
    }

    fn err_text(r: Result<impl fmt::Debug, RuntimeError>) -> String {
        r.expect_err("an error").to_string()
    }

    fn sample_inputs() -> Vec<Tensor> {
        vec![
            Tensor::new(
                "x",
                DType::F32,
                vec![2, 2],
                Data::Float(vec![0.1, 2.0, -3.5, f64::from(1e-7f32)]),
            )
            .expect("x"),
            Tensor::new("flag", DType::Bool, vec![2], Data::Bool(vec![true, false])).expect("f"),
            Tensor::new(
                "text",
                DType::String,
                vec![2],
                Data::Str(vec!["a \"quoted\"".into(), "ü".into()]),
            )
            .expect("t"),
        ]
    }

    const ANSWER: &str = r#"{"model_name":"m","model_version":"1","id":"7","outputs":[
        {"name":"ok","datatype":"BOOL","shape":[2],"data":[true,false]},
        {"name":"extra","datatype":"INT64","shape":[1],"data":[5]},
        {"name":"names","datatype":"BYTES","shape":[2],"data":["a","ü"]},
        {"name":"y","datatype":"FP32","shape":[2,2],"data":[[0.1,2.5],[NaN,-Infinity]]}]}"#;

    #[test]
    fn endpoints_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Endpoint>();
    }

    #[test]
    fn datatype_names_round_trip() {
        for code in [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16] {
            let d = DType::from_onnx(code).expect("known");
            assert_eq!(DType::parse(v2_datatype(d)), Some(d), "{d}");
        }
        assert_eq!(v2_datatype(DType::String), "BYTES");
        assert_eq!(v2_datatype(DType::BF16), "BF16");
    }

    #[test]
    fn metadata_and_readiness() {
        let fake = model_server(META, |_| Reply::new(500, ""));
        let e = connect(&fake);
        assert_eq!(e.platform.as_deref(), Some("onnxruntime_onnx"));
        assert_eq!(e.versions, vec!["1", "2"]);
        assert_eq!(e.inputs.len(), 3);
        assert_eq!(
            e.inputs[0],
            Port {
                name: "x".into(),
                dtype: Some(DType::F32),
                shape: vec![-1, 2]
            }
        );
        assert_eq!(e.inputs[2].dtype, Some(DType::String));
        assert_eq!(e.outputs[2].dtype, Some(DType::Bool));
        assert_eq!(e.target(), format!("{}/v2/models/m", fake.base));
        let paths: Vec<String> = fake.seen().into_iter().map(|s| s.path).collect();
        assert_eq!(
            paths,
            vec!["/v2/health/ready", "/v2/models/m/ready", "/v2/models/m"]
        );

        let v = Endpoint::connect(&format!("{}/", fake.base), "m", Some("2"), SHORT)
            .expect("version 2");
        assert_eq!(v.version(), Some("2"));
        assert_eq!(v.model_name(), "m");
        assert_eq!(v.target(), format!("{}/v2/models/m/versions/2", fake.base));
        assert!(format!("{v:?}").contains("versions/2"));
    }

    #[test]
    fn infer_round_trip_with_nested_data_bytes_and_bools() {
        let fake = model_server(META, |_| Reply::new(200, ANSWER));
        let e = connect(&fake);
        let out = e.run(&sample_inputs()).expect("runs");
        let names: Vec<&str> = out.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, vec!["y", "names", "ok"], "metadata order");
        assert_eq!(out[0].shape, vec![2, 2]);
        assert_eq!(out[0].dtype, DType::F32);
        let Data::Float(y) = &out[0].data else {
            panic!("floats")
        };
        assert_eq!(y[0], f64::from(0.1f32), "rounded to float32");
        assert_eq!(y[1], 2.5);
        assert!(y[2].is_nan());
        assert_eq!(y[3], f64::NEG_INFINITY);
        assert_eq!(out[1].data, Data::Str(vec!["a".into(), "ü".into()]));
        assert_eq!(out[2].data, Data::Bool(vec![true, false]));

        let infer = fake
            .seen()
            .into_iter()
            .find(|s| s.method == "POST")
            .expect("posted");
        assert_eq!(infer.path, "/v2/models/m/infer");
        assert!(
            infer
                .headers
                .iter()
                .any(|(n, v)| n == "content-type" && v == "application/json")
        );
        assert!(
            infer.body.contains(r#""data":[0.1,2.0,-3.5,1e-7]"#),
            "shortest float32 forms: {}",
            infer.body
        );
        let sent: Value = serde_json::from_str(&infer.body).expect("the request is JSON");
        assert_eq!(
            sent["inputs"][0],
            serde_json::json!({"name":"x","shape":[2,2],"datatype":"FP32","data":[0.1,2.0,-3.5,1e-7]})
        );
        assert_eq!(sent["inputs"][1]["datatype"], "BOOL");
        assert_eq!(sent["inputs"][1]["data"], serde_json::json!([true, false]));
        assert_eq!(sent["inputs"][2]["datatype"], "BYTES");
        assert_eq!(
            sent["inputs"][2]["data"],
            serde_json::json!(["a \"quoted\"", "ü"])
        );
        assert_eq!(
            sent["outputs"],
            serde_json::json!([{"name":"y"},{"name":"names"},{"name":"ok"}])
        );
    }

    #[test]
    fn inputs_are_checked_before_sending() {
        let fake = model_server(META, |_| Reply::new(200, ANSWER));
        let e = connect(&fake);
        let mut inputs = sample_inputs();
        inputs.pop();
        assert_eq!(
            err_text(e.run(&inputs)),
            "the model needs input `text`, which the case does not give"
        );
        let mut inputs = sample_inputs();
        inputs.push(Tensor::new("z", DType::I64, vec![1], Data::Int(vec![1])).expect("z"));
        assert_eq!(
            err_text(e.run(&inputs)),
            "the case gives input `z`, which the model does not have (its inputs: x, flag, text)"
        );
        let mut inputs = sample_inputs();
        inputs[1] = Tensor::new("flag", DType::Bool, vec![2], Data::Int(vec![1, 0])).expect("f");
        assert_eq!(
            err_text(e.run(&inputs)),
            "input `flag`: integer values for a BOOL tensor"
        );
        assert!(
            fake.seen().iter().all(|s| s.method == "GET"),
            "nothing sent"
        );
    }

    #[test]
    fn nan_and_infinity_inputs_are_refused_or_sent_as_tokens() {
        let fake = model_server(META, |_| Reply::new(200, ANSWER));
        let e = connect(&fake);
        let mut inputs = sample_inputs();
        inputs[0].data = Data::Float(vec![0.0, 1.0, f64::NAN, 2.0]);
        let msg = err_text(e.run(&inputs));
        assert!(
            msg.starts_with("input `x` holds NaN at [1, 0], which the Open Inference Protocol's JSON encoding cannot carry"),
            "{msg}"
        );
        inputs[0].data = Data::Float(vec![0.0, f64::NEG_INFINITY, 1.0, 2.0]);
        assert!(err_text(e.run(&inputs)).contains("holds -inf at [0, 1]"));

        let tokens = Endpoint::connect_with(
            &fake.base,
            "m",
            None,
            &ConnectOptions::new(SHORT).with_nonfinite_tokens(true),
        )
        .expect("connects");
        inputs[0].data = Data::Float(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 2.0]);
        tokens.run(&inputs).expect("sent");
        let body = fake
            .seen()
            .into_iter()
            .find(|s| s.method == "POST")
            .expect("posted")
            .body;
        assert!(
            body.contains(r#""data":[NaN,Infinity,-Infinity,2.0]"#),
            "{body}"
        );
    }

    #[test]
    fn answers_in_other_encodings() {
        // Flat data for a 2-D shape, strings and null for non-finite values, integral floats.
        let meta = r#"{"name":"m","inputs":[{"name":"x","datatype":"INT8","shape":[-1]}],
            "outputs":[{"name":"y","datatype":"FP64","shape":[-1,2]},
                       {"name":"c","datatype":"UINT8","shape":[-1]}]}"#;
        let fake = model_server(meta, |_| {
            Reply::new(
                200,
                r#"{"outputs":[{"name":"y","datatype":"FP64","shape":[2,2],"data":[1,"NaN","-inf",null]},
                               {"name":"c","datatype":"UINT8","shape":[3],"data":[[0],[255.0],[1]]}]}"#,
            )
        });
        let e = connect(&fake);
        assert_eq!(e.platform, None);
        assert!(e.versions.is_empty());
        let x = Tensor::new("x", DType::I8, vec![2], Data::Int(vec![-3, 4])).expect("x");
        let out = e.run(&[x]).expect("runs");
        let Data::Float(y) = &out[0].data else {
            panic!("floats")
        };
        assert_eq!(y[0], 1.0);
        assert!(y[1].is_nan() && y[3].is_nan());
        assert_eq!(y[2], f64::NEG_INFINITY);
        assert_eq!(out[1].data, Data::UInt(vec![0, 255, 1]));
        let body = fake.seen().pop().expect("seen").body;
        assert!(
            body.contains(r#""datatype":"INT8","data":[-3,4]"#),
            "{body}"
        );
    }

    #[test]
    fn answers_that_do_not_fit() {
        let check = |answer: &'static str, expected: &str| {
            let fake = model_server(META, move |_| Reply::new(200, answer));
            let e = connect(&fake);
            let msg = err_text(e.run(&sample_inputs()));
            let want = format!(
                "{}/v2/models/m/infer: the answer is not the protocol's: {expected}",
                fake.base
            );
            assert_eq!(msg, want);
        };
        check(
            r#"{"outputs":[{"name":"y","datatype":"FP32","shape":[2,2],"data":[1,2,3]}]}"#,
            "output `y`: shape [2, 2] holds 4 element(s) but `data` has 3",
        );
        check(
            r#"{"outputs":[{"name":"y","datatype":"INT8","shape":[1],"data":[300]}]}"#,
            "output `y`: element 0 (300) does not fit INT8",
        );
        check(
            r#"{"outputs":[{"name":"y","datatype":"BOOL","shape":[1],"data":["yes"]}]}"#,
            "output `y`: element 0 (\"yes\") is not a BOOL value",
        );
        check(
            r#"{"outputs":[{"name":"y","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":4}}]}"#,
            "output `y`: no `data` (binary tensor data, the protocol's binary extension, is not supported)",
        );
        check(
            r#"{"outputs":[{"name":"y","datatype":"COMPLEX64","shape":[1],"data":[1]}]}"#,
            "output `y`: datatype `COMPLEX64` is not one modelci knows",
        );
        check(r#"{"model_name":"m"}"#, "an object without `outputs`");

        let fake = model_server(META, |_| {
            Reply::new(
                200,
                r#"{"outputs":[{"name":"y","datatype":"FP32","shape":[0,2],"data":[]}]}"#,
            )
        });
        let e = connect(&fake);
        assert_eq!(
            err_text(e.run(&sample_inputs())),
            format!(
                "{}/v2/models/m/infer: the answer has no output `names`, which the metadata declares",
                fake.base
            )
        );
    }

    #[test]
    fn server_errors_quote_the_message() {
        let fake = model_server(META, |_| {
            Reply::new(400, r#"{"error":"unexpected shape for input 'x'"}"#)
        });
        let e = connect(&fake);
        assert_eq!(
            err_text(e.run(&sample_inputs())),
            format!(
                "{}/v2/models/m/infer: the server refused the request: answered 400 Bad Request: unexpected shape for input 'x'",
                fake.base
            )
        );

        let fake = model_server(META, |_| Reply::new(502, "x".repeat(5000)));
        let msg = err_text(connect(&fake).run(&sample_inputs()));
        assert!(msg.contains("answered 502 Bad Gateway: xxx"), "{msg}");
        assert!(msg.ends_with("x..."), "{msg}");
        assert!(msg.len() < 700, "long bodies are cut: {}", msg.len());

        let fake = model_server(META, |_| Reply::new(500, ""));
        let msg = err_text(connect(&fake).run(&sample_inputs()));
        assert!(
            msg.ends_with("answered 500 Internal Server Error (no message)"),
            "{msg}"
        );
    }

    #[test]
    fn garbage_and_non_utf8_bodies() {
        let fake = model_server(META, |_| Reply::new(200, b"\xff\xfe\x00garbage".to_vec()));
        let msg = err_text(connect(&fake).run(&sample_inputs()));
        assert_eq!(
            msg,
            format!(
                "{}/v2/models/m/infer: answered 200 OK with a body that is not UTF-8 text (so not JSON); it starts with b\"\\xff\\xfe\\x00garbage\"",
                fake.base
            )
        );

        let fake = model_server(META, |_| Reply::new(200, "<html>\n\"oops\"</html>"));
        let msg = err_text(connect(&fake).run(&sample_inputs()));
        assert!(
            msg.starts_with(&format!(
                "{}/v2/models/m/infer: answered 200 OK with a body that is not JSON (",
                fake.base
            )),
            "{msg}"
        );
        assert!(
            msg.ends_with(r#"it starts with "<html>\n\"oops\"</html>""#),
            "{msg}"
        );

        let fake = model_server("[1, 2", |_| Reply::new(200, ""));
        let msg = err_text(Endpoint::connect(&fake.base, "m", None, SHORT));
        assert!(
            msg.contains("/v2/models/m: answered 200 OK with a body that is not JSON"),
            "{msg}"
        );
    }

    #[test]
    fn malformed_metadata() {
        let check = |meta: &'static str, expected: &str| {
            let fake = model_server(meta, |_| Reply::new(200, ""));
            let msg = err_text(Endpoint::connect(&fake.base, "m", None, SHORT));
            assert_eq!(
                msg,
                format!(
                    "{}/v2/models/m: the metadata is not the protocol's: {expected}",
                    fake.base
                )
            );
        };
        check(
            r#"{"inputs":[{"name":"x","shape":[1]}]}"#,
            "inputs[0]: `x` has no `datatype` string",
        );
        check(
            r#"{"inputs":[],"outputs":[{"name":"y","datatype":"FP32","shape":["a"]}]}"#,
            "outputs[0]: `y` has a `shape` that is not a list of integers",
        );
        check(r#"{"inputs":{}}"#, "`inputs` is an object, not a list");
        check("[]", "expected a JSON object, got a list");
    }

    #[test]
    fn a_hanging_server_times_out() {
        let fake = model_server(META, |_| {
            let mut r = Reply::new(200, ANSWER);
            r.delay = Duration::from_secs(5);
            r
        });
        let e =
            Endpoint::connect(&fake.base, "m", None, Duration::from_millis(300)).expect("connects");
        let started = Instant::now();
        let msg = err_text(e.run(&sample_inputs()));
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(
            msg,
            format!("{}/v2/models/m/infer: no answer within 0.3s", fake.base)
        );
    }

    #[test]
    fn a_refused_connection() {
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("address").port()
        };
        let msg = err_text(Endpoint::connect(
            &format!("http://127.0.0.1:{port}"),
            "m",
            None,
            SHORT,
        ));
        assert!(
            msg.starts_with(&format!(
                "cannot reach http://127.0.0.1:{port}/v2/health/ready: "
            )),
            "{msg}"
        );
        assert!(msg.to_lowercase().contains("refused"), "{msg}");
    }

    #[test]
    fn readiness_failures() {
        // No server-level health URL, but the model answers: tolerated.
        let fake = Fake::start(|_, path, _| match path {
            "/v2/models/m/ready" => Reply::new(200, ""),
            "/v2/models/m" => Reply::new(200, META),
            _ => Reply::new(404, ""),
        });
        assert_eq!(connect(&fake).inputs.len(), 3);

        // Nothing of the protocol at all.
        let fake = Fake::start(|_, _, _| Reply::new(404, "Not Found"));
        assert_eq!(
            err_text(Endpoint::connect(&fake.base, "m", Some("3"), SHORT)),
            format!(
                "{b}/v2/models/m/versions/3/ready: the server does not have model `m` version `3`: answered 404 Not Found: Not Found; {b}/v2/health/ready answered 404 too: is {b}/ an Open Inference Protocol (v2) server?",
                b = fake.base
            )
        );

        let fake = Fake::start(|_, path, _| match path {
            "/v2/health/ready" => Reply::new(503, r#"{"error":"warming up"}"#),
            _ => Reply::new(200, META),
        });
        assert_eq!(
            err_text(Endpoint::connect(&fake.base, "m", None, SHORT)),
            format!(
                "{}/v2/health/ready: the server is not ready: answered 503 Service Unavailable: warming up",
                fake.base
            )
        );

        let fake = Fake::start(|_, path, _| match path {
            "/v2/models/m/ready" => Reply::new(400, ""),
            _ => Reply::new(200, META),
        });
        assert_eq!(
            err_text(Endpoint::connect(&fake.base, "m", None, SHORT)),
            format!(
                "{}/v2/models/m/ready: model `m` is not ready: answered 400 Bad Request (no message)",
                fake.base
            )
        );
    }

    #[test]
    fn bad_urls_and_names() {
        assert_eq!(
            err_text(Endpoint::connect("ftp://host/x", "m", None, SHORT)),
            "`ftp://host/x` is not an http(s) URL; an endpoint is a base URL such as http://127.0.0.1:8000"
        );
        let msg = err_text(Endpoint::connect("http://user:pw@", "m", None, SHORT));
        assert!(msg.starts_with("`http://***@` is not a URL ("), "{msg}");
        assert_eq!(
            err_text(Endpoint::connect("http://127.0.0.1:9", " ", None, SHORT)),
            "http://127.0.0.1:9/: the model name is empty"
        );
    }

    #[test]
    fn bodies_over_the_limit() {
        let fake = model_server(META, |_| {
            let mut r = Reply::new(200, ANSWER);
            r.length = Length::Claimed(600 * 1024 * 1024);
            r
        });
        let msg = err_text(connect(&fake).run(&sample_inputs()));
        assert_eq!(
            msg,
            format!(
                "{}/v2/models/m/infer: answered 200 OK with a body of 629145600 bytes, more than the 512 MiB limit",
                fake.base
            )
        );

        // No Content-Length: the limit applies while reading.
        let fake = model_server(META, |_| {
            let mut r = Reply::new(200, format!("{ANSWER}{}", " ".repeat(3000)));
            r.length = Length::UntilClose;
            r
        });
        let small = ConnectOptions::new(SHORT).with_max_body_bytes(4000);
        let e = Endpoint::connect_with(&fake.base, "m", None, &small).expect("connects");
        e.run(&sample_inputs()).expect("fits");
        let tiny = ConnectOptions::new(SHORT).with_max_body_bytes(1000);
        let e = Endpoint::connect_with(&fake.base, "m", None, &tiny).expect("connects");
        assert_eq!(
            err_text(e.run(&sample_inputs())),
            format!(
                "{}/v2/models/m/infer: answered 200 OK with a body larger than the 1000 bytes limit",
                fake.base
            )
        );
    }

    #[test]
    fn headers_are_sent_and_never_shown() {
        let fake = Fake::start(|_, path, _| match path {
            "/v2/models/m/infer" => Reply::new(401, r#"{"error":"bad token"}"#),
            "/v2/models/m" => Reply::new(200, META),
            _ => Reply::new(200, ""),
        });
        let options = ConnectOptions::new(SHORT)
            .with_headers(vec![("Authorization".into(), "Bearer s3cr3t-token".into())]);
        let e = Endpoint::connect_with(&fake.base, "m", None, &options).expect("connects");
        let msg = err_text(e.run(&sample_inputs()));
        assert!(
            msg.contains("answered 401 Unauthorized: bad token"),
            "{msg}"
        );
        for shown in [msg, format!("{e:?}"), format!("{options:?}")] {
            assert!(!shown.contains("s3cr3t"), "{shown}");
        }
        assert!(fake.seen().iter().all(|s| {
            s.headers
                .iter()
                .any(|(n, v)| n == "authorization" && v == "Bearer s3cr3t-token")
        }));

        let bad = ConnectOptions::new(SHORT)
            .with_headers(vec![("X-Key".into(), "line\nbreak s3cr3t".into())]);
        let msg = err_text(Endpoint::connect_with(&fake.base, "m", None, &bad));
        assert_eq!(
            msg,
            "header `X-Key`: its value is not a valid HTTP header value (the value is not shown)"
        );

        // Credentials in the URL go as basic auth and are never shown.
        let with_user = fake.base.replace("http://", "http://me:pa55word@");
        let e = Endpoint::connect(&format!("{with_user}/?key=abc"), "m", None, SHORT)
            .expect("connects");
        assert!(!e.target().contains("pa55word") && !e.target().contains("abc"));
        assert!(
            e.target().starts_with("http://***@127.0.0.1:"),
            "{}",
            e.target()
        );
        let msg = err_text(e.run(&sample_inputs()));
        assert!(
            !msg.contains("pa55word") && !msg.contains("key=abc"),
            "{msg}"
        );
        assert!(fake.seen().last().is_some_and(|s| {
            s.headers
                .iter()
                .any(|(n, v)| n == "authorization" && v.starts_with("Basic "))
        }));
    }

    #[test]
    fn a_trickling_body_times_out_as_a_whole() {
        // Each byte comes well within the timeout, the whole body (about 400 bytes, 25 ms
        // apart: 10 s) far beyond it.
        let fake = model_server(META, |_| {
            let mut r = Reply::new(200, ANSWER);
            r.pace = Duration::from_millis(25);
            r
        });
        let e =
            Endpoint::connect(&fake.base, "m", None, Duration::from_millis(400)).expect("connects");
        let started = Instant::now();
        let msg = err_text(e.run(&sample_inputs()));
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(
            msg,
            format!(
                "{}/v2/models/m/infer: no answer within 0.4s (the body was still coming)",
                fake.base
            )
        );
    }

    #[test]
    fn shapes_too_large_to_count_are_refused() {
        let check = |answer: &'static str, expected: &str| {
            let fake = model_server(META, move |_| Reply::new(200, answer));
            let msg = err_text(connect(&fake).run(&sample_inputs()));
            assert_eq!(
                msg,
                format!(
                    "{}/v2/models/m/infer: the answer is not the protocol's: {expected}",
                    fake.base
                )
            );
        };
        // 2^62 · 2^62 · 2^62 overflows even u128; with a zero it holds no element, but its row
        // width (2^80) overflows what later code computes.
        check(
            r#"{"outputs":[{"name":"y","datatype":"FP32","shape":[4611686018427387904,4611686018427387904,4611686018427387904],"data":[]}]}"#,
            "output `y`: shape [4611686018427387904, 4611686018427387904, 4611686018427387904] is too large (its dimensions multiply past 2^63)",
        );
        check(
            r#"{"outputs":[{"name":"y","datatype":"FP32","shape":[0,1099511627776,1099511627776],"data":[]}]}"#,
            "output `y`: shape [0, 1099511627776, 1099511627776] is too large (its dimensions multiply past 2^63)",
        );
        check(
            r#"{"outputs":[{"name":"y","datatype":"FP32","shape":[2,-1],"data":[1,2]}]}"#,
            "output `y`: `shape` is not a list of non-negative integers",
        );
        check(
            r#"{"outputs":[{"name":"y","datatype":"FP32","shape":[2.0],"data":[1,2]}]}"#,
            "output `y`: `shape` is not a list of non-negative integers",
        );
        assert_eq!(element_count(&[]), Some(1));
        assert_eq!(element_count(&[3, 0, 5]), Some(0));
        assert_eq!(element_count(&[2, 3]), Some(6));
        assert_eq!(element_count(&[i64::MAX, 2]), None);
    }

    #[test]
    fn float64_values_beyond_float32_are_not_written_as_inf() {
        let fake = model_server(META, |_| Reply::new(200, ANSWER));
        let e = connect(&fake);
        let mut inputs = sample_inputs();
        inputs[0].data = Data::Float(vec![0.0, 1e39, 2.0, 3.0]);
        let msg = err_text(e.run(&inputs));
        assert!(
            msg.starts_with("input `x` holds +inf (1000000000000000000000000000000000000000 overflows FP32) at [0, 1], which"),
            "{msg}"
        );
        assert!(fake.seen().iter().all(|s| s.method != "POST"), "not sent");

        let tokens = Endpoint::connect_with(
            &fake.base,
            "m",
            None,
            &ConnectOptions::new(SHORT).with_nonfinite_tokens(true),
        )
        .expect("connects");
        inputs[0].data = Data::Float(vec![-1e39, 1e39, 2.0, f64::from(f32::MAX)]);
        tokens.run(&inputs).expect("sent");
        let body = fake
            .seen()
            .into_iter()
            .find(|s| s.method == "POST")
            .expect("posted")
            .body;
        assert!(
            body.contains(r#""data":[-Infinity,Infinity,2.0,3.4028235e38]"#),
            "{body}"
        );
        assert!(!body.contains("inf,") && !body.contains("inf]"), "{body}");
    }

    #[test]
    fn secrets_echoed_by_the_server_are_hidden() {
        let fake = Fake::start(|_, path, _| match path {
            "/v2/models/m/infer" => Reply::new(
                401,
                r#"{"error":"bad credentials: Authorization: Bearer s3cr3t-token-42, password hunter2pw, key k3y-value, token s3cr3t-token-42 alone"}"#,
            ),
            "/v2/models/m" => Reply::new(200, META),
            _ => Reply::new(200, ""),
        });
        let options = ConnectOptions::new(SHORT).with_headers(vec![(
            "Authorization".into(),
            "Bearer s3cr3t-token-42".into(),
        )]);
        let base = fake.base.replace("http://", "http://me:hunter2pw@");
        let e = Endpoint::connect_with(&format!("{base}/?key=k3y-value"), "m", None, &options)
            .expect("connects");
        let msg = err_text(e.run(&sample_inputs()));
        for secret in ["s3cr3t", "hunter2pw", "k3y-value"] {
            assert!(!msg.contains(secret), "{secret}: {msg}");
        }
        assert!(
            msg.ends_with("answered 401 Unauthorized: bad credentials: Authorization: ***, password ***, key ***, token *** alone"),
            "{msg}"
        );

        // While connecting too.
        let fake = Fake::start(|_, _, _| Reply::new(503, "not ready for Bearer s3cr3t-token-42"));
        let msg = err_text(Endpoint::connect_with(&fake.base, "m", None, &options));
        assert!(msg.ends_with("not ready for ***"), "{msg}");

        // Short values are left alone: they would blank out ordinary words.
        let short = Secrets::new(
            &[("X-Flag".into(), "yes".into())],
            &Url::parse("http://h/").expect("url"),
        );
        assert_eq!(short.hide("yes, yes"), "yes, yes");
    }

    #[test]
    fn urls_that_do_not_parse_hide_their_query() {
        let msg = err_text(Endpoint::connect(
            "http://127.0.0.1:99999/?token=s3cr3t",
            "m",
            None,
            SHORT,
        ));
        assert!(!msg.contains("s3cr3t"), "{msg}");
        assert!(
            msg.starts_with("`http://127.0.0.1:99999/?***` is not a URL ("),
            "{msg}"
        );
        assert_eq!(
            redact_text("http://u:p@h:99999/x?a=b"),
            "http://***@h:99999/x?***"
        );
        assert_eq!(redact_text("no url here"), "no url here");
    }

    #[test]
    fn non_finite_tokens_are_quoted_outside_strings_only() {
        assert_eq!(
            quote_nonfinite(r#"{"a":[NaN, -Infinity,Infinity],"s":"NaN Infinity \" NaN"}"#)
                .as_deref(),
            Some(r#"{"a":["NaN", "-Infinity","Infinity"],"s":"NaN Infinity \" NaN"}"#)
        );
        assert_eq!(quote_nonfinite(r#"{"s":"NaN"}"#), None);
        assert_eq!(secs(Duration::from_secs(30)), "30s");
        assert_eq!(secs(Duration::from_millis(1500)), "1.5s");
        assert_eq!(truncate("héllo", 2), "hé...");
    }

    fn onnx_port(name: &str, dtype: Option<DType>, shape: Option<Vec<Dim>>) -> OnnxPort {
        OnnxPort {
            name: name.into(),
            dtype,
            shape,
        }
    }

    fn model_info(inputs: Vec<OnnxPort>, outputs: Vec<OnnxPort>) -> ModelInfo {
        ModelInfo {
            path: "m.onnx".into(),
            size_bytes: 0,
            sha256: String::new(),
            ir_version: 8,
            producer: String::new(),
            graph_name: String::new(),
            opsets: Vec::new(),
            inputs,
            outputs,
        }
    }

    fn mismatches(meta: &'static str, model: &ModelInfo) -> Vec<String> {
        let fake = model_server(meta, |_| Reply::new(500, ""));
        signature_mismatches(&connect(&fake), model)
    }

    #[test]
    fn signature_mismatches_cases() {
        let batch = || Dim::Symbolic("batch".into());
        let model = model_info(
            vec![onnx_port(
                "input",
                Some(DType::F32),
                Some(vec![batch(), Dim::Fixed(4)]),
            )],
            vec![
                onnx_port(
                    "probabilities",
                    Some(DType::F32),
                    Some(vec![batch(), Dim::Fixed(3)]),
                ),
                onnx_port("label", Some(DType::I64), Some(vec![batch()])),
            ],
        );
        let same = r#"{"inputs":[{"name":"input","datatype":"FP32","shape":[-1,4]}],
            "outputs":[{"name":"probabilities","datatype":"FP32","shape":[-1,-1]},
                       {"name":"label","datatype":"INT64","shape":[8]}]}"#;
        assert_eq!(mismatches(same, &model), Vec::<String>::new());

        let different = r#"{"inputs":[{"name":"input","datatype":"FP64","shape":[1,5]},
                      {"name":"mask","datatype":"BOOL","shape":[-1]}],
            "outputs":[{"name":"probabilities","datatype":"FP32","shape":[-1]},
                       {"name":"score","datatype":"FP8","shape":[-1]}]}"#;
        assert_eq!(
            mismatches(different, &model),
            vec![
                "input `input`: the endpoint declares FP64, the model takes float32",
                "input `input`: the endpoint declares shape [1, 5], the model takes [batch, 4]",
                "input `mask`: the endpoint declares it, but the model has no such input",
                "output `probabilities`: the endpoint declares shape [-1], the model gives [batch, 3]",
                "output `label`: the model has it, but the endpoint does not declare it",
                "output `score`: the endpoint declares it, but the model has no such output",
            ]
        );

        let unknown = model_info(
            vec![
                onnx_port("input", Some(DType::F32), None),
                onnx_port("seq", None, None),
            ],
            vec![onnx_port("label", Some(DType::I64), Some(vec![Dim::Any]))],
        );
        let meta = r#"{"inputs":[{"name":"input","datatype":"FP32","shape":[2,3,4]},
                      {"name":"seq","datatype":"FP32","shape":[-1]}],
            "outputs":[{"name":"label","datatype":"FP8","shape":[7]}]}"#;
        assert_eq!(
            mismatches(meta, &unknown),
            vec![
                "input `seq`: the endpoint declares FP32, but the model's is not a tensor of a known type",
                "output `label`: the endpoint declares FP8 (a datatype modelci does not know), the model gives int64",
            ]
        );
    }
}
