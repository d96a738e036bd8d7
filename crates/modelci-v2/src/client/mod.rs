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
//! - **Transport.** One blocking `reqwest` client per endpoint (connections are reused) under
//!   modelci's network policy ([`modelci_net::ClientPolicy`]): `User-Agent: modelci/VERSION`,
//!   no redirects (a 3xx is reported as an answer), and proxies from the environment
//!   (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`; [`ConnectOptions::proxy`] overrides
//!   them) except for loopback servers, which are always reached directly; a server that
//!   cannot be reached through a proxy is reported with the proxy's URL (credentials hidden).
//!   Like every blocking `reqwest` client, it must not be created, used or dropped inside an
//!   async (tokio) task.
//!
//! Floating-point tensors go out in the shortest decimal form that reads back to the same value
//! of their own width (an `FP32` input as the `f32` it stands for); answers are rounded to the
//! declared width, as ONNX Runtime's would be. Integers are checked against their type's range.

use std::fmt::{self, Write as _};
use std::time::Duration;

use modelci_net::{ProxySettings, Redactor, redact_url_and_query};
use modelci_tensor::backend::Backend;
use modelci_tensor::onnx::{Dim, ModelInfo, Port as OnnxPort};
use modelci_tensor::runtime::{Port, RuntimeError};
use modelci_tensor::tensor::Tensor;
use reqwest::header::CONTENT_TYPE;
use reqwest::{StatusCode, Url};

use crate::codec::{datatype_name, metadata::Metadata, request, response};
use http::{Http, join, parse_base, scrub, secrets};

mod http;
#[cfg(test)]
mod tests;

/// The timeout of every request when none is given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest answer body read by default (512 MiB).
pub const DEFAULT_MAX_BODY_BYTES: u64 = 512 * 1024 * 1024;

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
    /// The proxies requests go through; `None`: those of the environment (`HTTP_PROXY`,
    /// `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`). Loopback servers are always reached directly.
    pub proxy: Option<ProxySettings>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            timeout: DEFAULT_TIMEOUT,
            headers: Vec::new(),
            nonfinite_tokens: false,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            proxy: None,
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
            .field("proxy", &self.proxy)
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

    /// Sends requests through these proxies instead of the environment's
    /// ([`ProxySettings::none`] for none).
    #[must_use]
    pub fn with_proxy(mut self, proxy: ProxySettings) -> Self {
        self.proxy = Some(proxy);
        self
    }
}

/// A model on an Open Inference Protocol server, ready to run.
pub struct Endpoint {
    http: Http,
    /// What error messages must not repeat, even when the server echoes it.
    secrets: Redactor,
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
            .field("url", &redact_url_and_query(&self.model_url))
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
        let secrets = secrets(&options.headers, &base);
        Endpoint::connect_to(base, model_name, version, options, secrets.clone())
            .map_err(|e| scrub(&secrets, e))
    }

    /// [`Endpoint::connect_with`] past parsing the URL; its errors may quote the server.
    fn connect_to(
        base: Url,
        model_name: &str,
        version: Option<&str>,
        options: &ConnectOptions,
        secrets: Redactor,
    ) -> Result<Endpoint, RuntimeError> {
        if model_name.trim().is_empty() {
            return Err(run_error(format!(
                "{}: the model name is empty",
                redact_url_and_query(&base)
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
                    redact_url_and_query(&base)
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
        redact_url_and_query(&self.model_url)
    }

    /// Checks the inputs' names against the metadata (when it lists inputs).
    fn check_inputs(&self, inputs: &[Tensor]) -> Result<(), String> {
        if self.inputs.is_empty() {
            return Ok(());
        }
        modelci_tensor::backend::check_input_names(&self.inputs, inputs)
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
        self.infer(inputs).map_err(|e| scrub(&self.secrets, e))
    }

    fn target(&self) -> String {
        self.url()
    }
}

impl Endpoint {
    /// [`Backend::run`], before secrets are hidden from its errors.
    fn infer(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>, RuntimeError> {
        self.check_inputs(inputs).map_err(run_error)?;
        let body =
            request::encode(inputs, &self.outputs, self.nonfinite_tokens).map_err(run_error)?;
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
        let got = response::parse_outputs(&json).map_err(|m| {
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
                datatype_name(a)
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
