//! A client of an MLflow tracking server's REST API (MLflow 2.x and 3.x), for modelci's
//! release gate: read registered models, versions and aliases, download a version's
//! artifacts, and write results back (runs, metrics, tags, aliases).
//!
//! ```no_run
//! use modelci_mlflow::{Client, ModelRef, find_onnx};
//!
//! let client = Client::from_env(None)?; // MLFLOW_TRACKING_URI, MLFLOW_TRACKING_TOKEN...
//! let champion = client.resolve("fraud", &ModelRef::parse("alias:champion")?)?;
//! let dir = std::path::Path::new("target/champion");
//! client.download_model_version("fraud", &champion.version, dir)?;
//! let onnx = find_onnx(dir);
//! # Ok::<(), modelci_mlflow::MlflowError>(())
//! ```
//!
//! Endpoints used, all under `{tracking_uri}/api/2.0/`: `mlflow/registered-models/get`,
//! `.../create`, `.../set-tag`, `.../alias` (GET by alias, POST set, DELETE),
//! `mlflow/model-versions/get`, `.../create`, `.../set-tag`, `.../get-download-uri`,
//! `mlflow/experiments/get-by-name`, `.../create`, `mlflow/runs/create`, `.../get`,
//! `.../log-batch`, `.../update`, and the artifact proxy `mlflow-artifacts/artifacts/{path}`
//! (GET download, PUT upload) and `mlflow-artifacts/artifacts?path=` (list). GET parameters go
//! in the query; POST and DELETE parameters in a JSON body, as MLflow's server reads them.
//!
//! Choices worth knowing:
//! - **Retries.** Connection failures, timeouts, 408, 429 and 5xx (except 501 and 505) are
//!   tried again, up to [`Config::retries`] times, after exponential backoff with full jitter
//!   (a random wait up to [`Config::backoff`], doubling, at most 10 s a wait), or after the `Retry-After` the
//!   server sent (seconds or an HTTP date); all waits of one request together stay within
//!   [`Config::retry_budget`], and a `Retry-After` beyond it ends the retries at once, saying
//!   so. This applies in full to requests that can be repeated without changing the outcome:
//!   GETs, the artifact PUT (overwrites), and the POSTs and DELETEs that MLflow treats as
//!   idempotent — `set-tag` (overwrites), alias set and delete (overwrite; deleting a missing
//!   alias succeeds), `runs/log-batch` (the same metric points, parameter values and tags
//!   again change nothing) and `runs/update`. The `create` calls (experiment, run,
//!   registered model, model version) are retried only when they certainly did not reach the
//!   server: the connection could not be made, or the answer was 429.
//! - **REST quirks.** Versions are strings; fields at their default are omitted and read as
//!   empty; tags come as `[{key, value}]` and are returned as maps; metric values may be the
//!   strings `"NaN"`, `"Infinity"`, `"-Infinity"` (and are sent that way). A missing alias is
//!   answered 400 `INVALID_PARAMETER_VALUE` ("Registered model alias x not found."); that, and
//!   every `RESOURCE_DOES_NOT_EXIST`, is [`MlflowError::NotFound`], naming what was asked
//!   for. A 404 without MLflow's error JSON means the endpoint is missing (not an MLflow
//!   server, or a wrong path prefix) and is an [`MlflowError::Api`] that says so.
//! - **Secrets.** Tokens and passwords are sent in a sensitive `Authorization` header, never
//!   appear in `Debug` output or messages, and are hidden from server answers that a message
//!   quotes. Credentials written in the tracking URI are used as Basic credentials (unless
//!   others are configured) and removed from it.
//! - **Limits.** Every request has [`Config::timeout`] (connecting at most 10 s of it);
//!   artifact transfers have [`Config::artifact_timeout`]; JSON answers are read up to
//!   64 MiB, downloads up to [`Config::max_download_bytes`] in all. Proxies from the
//!   environment (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`; a server on loopback is always
//!   reached directly) and no redirects (a 3xx is reported). The transport policy is
//!   `modelci-net`'s, shared by every modelci client.
//! - **Artifacts.** Read through the server's proxy only (`mlflow-artifacts:` locations, and
//!   `runs:/` resolved through the run): see [`artifacts`](crate::Client::download_artifacts).
//!   Listed names that are absolute or climb with `..` are refused before anything is
//!   written.
//! - **Blocking.** Like every blocking `reqwest` client, a [`Client`] must not be created,
//!   used or dropped inside an async (tokio) task.

mod artifacts;
mod client;
mod config;
mod error;
mod http;
mod reference;
mod types;

#[cfg(test)]
mod tests;

pub use artifacts::{ArtifactFile, Downloaded, find_onnx};
pub use client::Client;
pub use config::{
    Auth, Config, DEFAULT_ARTIFACT_TIMEOUT, DEFAULT_BACKOFF, DEFAULT_MAX_DOWNLOAD_BYTES,
    DEFAULT_RETRIES, DEFAULT_RETRY_BUDGET, DEFAULT_TIMEOUT,
};
pub use error::MlflowError;
pub use reference::ModelRef;
pub use types::{
    Experiment, Metric, ModelVersion, RegisteredModel, Run, RunData, RunInfo, RunStatus,
};
