//! [`Client`]: the registry and tracking calls.

use std::collections::BTreeMap;
use std::fmt;

use reqwest::{Method, Url};
use serde_json::{Value, json};

use crate::config::Config;
use crate::error::MlflowError;
use crate::http::{Call, Http};
use crate::reference::ModelRef;
use crate::types::{
    self, Experiment, Metric, ModelVersion, RegisteredModel, Run, RunStatus, double_json, now_ms,
};
use modelci_net::Idempotency;

/// MLflow's limits for one `runs/log-batch` request.
pub(crate) const MAX_METRICS_PER_BATCH: usize = 1000;
pub(crate) const MAX_PARAMS_TAGS_PER_BATCH: usize = 100;
pub(crate) const MAX_ENTITIES_PER_BATCH: usize = 1000;

/// A client of one MLflow tracking server (its REST API and its artifact proxy).
///
/// Blocking: like every blocking `reqwest` client, it must not be created, used or dropped
/// inside an async (tokio) task.
pub struct Client {
    pub(crate) http: Http,
    pub(crate) max_download_bytes: u64,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("server", &self.http.server())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for the server `config` names. Nothing is sent yet.
    ///
    /// # Errors
    /// [`MlflowError::Config`]: a tracking URI this client cannot use, credentials that cannot
    /// go in an HTTP header, a zero timeout.
    pub fn new(config: Config) -> Result<Client, MlflowError> {
        Ok(Client {
            http: Http::new(&config)?,
            max_download_bytes: config.max_download_bytes,
        })
    }

    /// [`Client::new`] with [`Config::from_env`].
    ///
    /// # Errors
    /// As [`Config::from_env`] and [`Client::new`].
    pub fn from_env(explicit_uri: Option<&str>) -> Result<Client, MlflowError> {
        Client::new(Config::from_env(explicit_uri)?)
    }

    /// The server's base URL, as messages show it (no credentials).
    pub fn server(&self) -> String {
        self.http.server()
    }

    fn get(
        &self,
        endpoint: &str,
        query: &[(&str, &str)],
        what: String,
    ) -> Result<Value, MlflowError> {
        let url = self.http.api_url(endpoint, query);
        self.http.json(&Call::new(Method::GET, url, what))
    }

    fn post(
        &self,
        endpoint: &str,
        body: &Value,
        idempotency: Idempotency,
        what: String,
    ) -> Result<Value, MlflowError> {
        let url = self.http.api_url(endpoint, &[]);
        let call = Call::new(Method::POST, url, what)
            .json(body)
            .idempotency(idempotency);
        self.http.json(&call)
    }

    /// `answer[key]`, parsed by `read`, or a [`MlflowError::Protocol`] naming the endpoint.
    fn read<T>(
        &self,
        answer: &Value,
        key: &str,
        endpoint: &str,
        read: impl FnOnce(&Value) -> Result<T, String>,
    ) -> Result<T, MlflowError> {
        let value = answer.get(key).unwrap_or(&Value::Null);
        read(value).map_err(|why| self.protocol(endpoint, &why))
    }

    pub(crate) fn protocol(&self, endpoint: &str, why: &str) -> MlflowError {
        let url: Url = self.http.api_url(endpoint, &[]);
        MlflowError::Protocol {
            message: self.http.hide(&format!(
                "{}: unexpected answer: {why}; is this an MLflow tracking server (2.0 or later)?",
                url
            )),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Model registry: reading

    /// `GET registered-models/get`: the model, its tags, aliases and latest versions.
    ///
    /// # Errors
    /// [`MlflowError::NotFound`] for an unknown model; the transport and server errors of
    /// every call (see [`MlflowError`]).
    pub fn registered_model(&self, name: &str) -> Result<RegisteredModel, MlflowError> {
        let endpoint = "registered-models/get";
        let answer = self.get(endpoint, &[("name", name)], model_what(name))?;
        self.read(
            &answer,
            "registered_model",
            endpoint,
            types::registered_model,
        )
    }

    /// `GET model-versions/get`.
    ///
    /// # Errors
    /// [`MlflowError::NotFound`] for an unknown model or version.
    pub fn model_version(&self, name: &str, version: &str) -> Result<ModelVersion, MlflowError> {
        let endpoint = "model-versions/get";
        let answer = self.get(
            endpoint,
            &[("name", name), ("version", version)],
            version_what(name, version),
        )?;
        self.read(&answer, "model_version", endpoint, types::model_version)
    }

    /// `GET registered-models/alias?name=&alias=`: the version an alias points at.
    ///
    /// # Errors
    /// [`MlflowError::NotFound`] naming the model and the alias when the alias does not exist
    /// (MLflow answers 400 `INVALID_PARAMETER_VALUE` "... alias ... not found") or naming the
    /// model when the model does not (404 `RESOURCE_DOES_NOT_EXIST`).
    pub fn model_version_by_alias(
        &self,
        name: &str,
        alias: &str,
    ) -> Result<ModelVersion, MlflowError> {
        let endpoint = "registered-models/alias";
        let url = self
            .http
            .api_url(endpoint, &[("name", name), ("alias", alias)]);
        let mut call = Call::new(
            Method::GET,
            url,
            format!("alias `{alias}` of registered model `{name}`"),
        );
        call.invalid_parameter_not_found = true;
        let answer = self.http.json(&call).map_err(|e| match e {
            // The model itself is missing: say so rather than blame the alias.
            MlflowError::NotFound {
                server, message, ..
            } if message.contains("Registered Model") => MlflowError::NotFound {
                what: format!("registered model `{name}` (asked for its alias `{alias}`)"),
                server,
                message,
            },
            other => other,
        })?;
        self.read(&answer, "model_version", endpoint, types::model_version)
    }

    /// The version `reference` names: [`Client::model_version`] or
    /// [`Client::model_version_by_alias`].
    ///
    /// # Errors
    /// As those.
    pub fn resolve(&self, name: &str, reference: &ModelRef) -> Result<ModelVersion, MlflowError> {
        match reference {
            ModelRef::Version(v) => self.model_version(name, v),
            ModelRef::Alias(a) => self.model_version_by_alias(name, a),
        }
    }

    /// [`Client::resolve`] of a reference in its text form (`version:3`, `alias:champion`,
    /// `3`).
    ///
    /// # Errors
    /// [`MlflowError::InvalidReference`], and as [`Client::resolve`].
    pub fn resolve_str(&self, name: &str, reference: &str) -> Result<ModelVersion, MlflowError> {
        self.resolve(name, &ModelRef::parse(reference)?)
    }

    /// `GET model-versions/get-download-uri`: where the version's artifacts are
    /// (`mlflow-artifacts:/...`, `runs:/...`, or a location only the server can read).
    ///
    /// # Errors
    /// [`MlflowError::NotFound`] for an unknown model or version.
    pub fn download_uri(&self, name: &str, version: &str) -> Result<String, MlflowError> {
        let endpoint = "model-versions/get-download-uri";
        let answer = self.get(
            endpoint,
            &[("name", name), ("version", version)],
            version_what(name, version),
        )?;
        self.read(&answer, "artifact_uri", endpoint, |v| match v.as_str() {
            Some(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
            _ => Err("no `artifact_uri`".to_owned()),
        })
    }

    // -----------------------------------------------------------------------------------------
    // Model registry: writing

    /// `POST registered-models/create`. Not retried once it may have reached the server.
    ///
    /// # Errors
    /// [`MlflowError::Api`] with `RESOURCE_ALREADY_EXISTS` when the name is taken.
    pub fn create_registered_model(&self, name: &str) -> Result<RegisteredModel, MlflowError> {
        let endpoint = "registered-models/create";
        let answer = self.post(
            endpoint,
            &json!({ "name": name }),
            Idempotency::Unsafe,
            model_what(name),
        )?;
        self.read(
            &answer,
            "registered_model",
            endpoint,
            types::registered_model,
        )
    }

    /// `POST registered-models/set-tag` (overwrites).
    ///
    /// # Errors
    /// [`MlflowError::NotFound`] for an unknown model.
    pub fn set_registered_model_tag(
        &self,
        name: &str,
        key: &str,
        value: &str,
    ) -> Result<(), MlflowError> {
        self.post(
            "registered-models/set-tag",
            &json!({ "name": name, "key": key, "value": value }),
            Idempotency::Safe,
            model_what(name),
        )
        .map(drop)
    }

    /// `POST model-versions/create` from `source` (`runs:/<run>/<path>` or the run's
    /// `mlflow-artifacts:/...` location), linked to `run_id` (MLflow 2.x+ servers require the
    /// run for both). Not retried once it may have reached the server.
    ///
    /// # Errors
    /// [`MlflowError::NotFound`] for an unknown model; [`MlflowError::Api`] when the server
    /// refuses the source.
    pub fn create_model_version(
        &self,
        name: &str,
        source: &str,
        run_id: Option<&str>,
    ) -> Result<ModelVersion, MlflowError> {
        let endpoint = "model-versions/create";
        let mut body = json!({ "name": name, "source": source });
        if let Some(run_id) = run_id {
            body["run_id"] = Value::from(run_id);
        }
        let answer = self.post(endpoint, &body, Idempotency::Unsafe, model_what(name))?;
        self.read(&answer, "model_version", endpoint, types::model_version)
    }

    /// `POST model-versions/set-tag` (overwrites).
    ///
    /// # Errors
    /// [`MlflowError::NotFound`] for an unknown model or version.
    pub fn set_model_version_tag(
        &self,
        name: &str,
        version: &str,
        key: &str,
        value: &str,
    ) -> Result<(), MlflowError> {
        self.post(
            "model-versions/set-tag",
            &json!({ "name": name, "version": version, "key": key, "value": value }),
            Idempotency::Safe,
            version_what(name, version),
        )
        .map(drop)
    }

    /// `POST registered-models/alias`: points `alias` at `version` (moving it if it pointed
    /// elsewhere).
    ///
    /// # Errors
    /// [`MlflowError::NotFound`] for an unknown model or version.
    pub fn set_alias(&self, name: &str, alias: &str, version: &str) -> Result<(), MlflowError> {
        self.post(
            "registered-models/alias",
            &json!({ "name": name, "alias": alias, "version": version }),
            Idempotency::Safe,
            version_what(name, version),
        )
        .map(drop)
    }

    /// `DELETE registered-models/alias` (its parameters in a JSON body, as MLflow reads them).
    /// Deleting an alias that does not exist succeeds, as on MLflow's server.
    ///
    /// # Errors
    /// [`MlflowError::NotFound`] for an unknown model.
    pub fn delete_alias(&self, name: &str, alias: &str) -> Result<(), MlflowError> {
        let url = self.http.api_url("registered-models/alias", &[]);
        let call = Call::new(Method::DELETE, url, model_what(name))
            .json(&json!({ "name": name, "alias": alias }));
        self.http.json(&call).map(drop)
    }

    // -----------------------------------------------------------------------------------------
    // Tracking

    /// `GET experiments/get-by-name`; `None` when there is no such experiment.
    ///
    /// # Errors
    /// The transport and server errors.
    pub fn experiment_by_name(&self, name: &str) -> Result<Option<Experiment>, MlflowError> {
        let endpoint = "experiments/get-by-name";
        match self.get(
            endpoint,
            &[("experiment_name", name)],
            format!("experiment `{name}`"),
        ) {
            Ok(answer) => self
                .read(&answer, "experiment", endpoint, types::experiment)
                .map(Some),
            Err(MlflowError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The experiment named `name`, created when there is none (`experiments/create`; when
    /// another client creates it at the same moment, the one it created).
    ///
    /// # Errors
    /// [`MlflowError::Config`] when the experiment exists but is deleted (MLflow cannot add
    /// runs to it); the transport and server errors.
    pub fn get_or_create_experiment(&self, name: &str) -> Result<Experiment, MlflowError> {
        if let Some(found) = self.experiment_by_name(name)? {
            return self.active(found);
        }
        let endpoint = "experiments/create";
        match self.post(
            endpoint,
            &json!({ "name": name }),
            Idempotency::Unsafe,
            format!("experiment `{name}`"),
        ) {
            Ok(answer) => {
                let experiment_id = self.read(&answer, "experiment_id", endpoint, |v| match v {
                    Value::String(s) if !s.is_empty() => Ok(s.clone()),
                    Value::Number(n) => Ok(n.to_string()),
                    _ => Err("no `experiment_id`".to_owned()),
                })?;
                Ok(Experiment {
                    experiment_id,
                    name: name.to_owned(),
                    artifact_location: String::new(),
                    lifecycle_stage: "active".to_owned(),
                })
            }
            Err(MlflowError::Api {
                error_code: Some(code),
                ..
            }) if code == "RESOURCE_ALREADY_EXISTS" => match self.experiment_by_name(name)? {
                Some(found) => self.active(found),
                None => Err(self.protocol(
                    "experiments/get-by-name",
                    &format!("experiment `{name}` exists (said create) but cannot be found"),
                )),
            },
            Err(e) => Err(e),
        }
    }

    fn active(&self, experiment: Experiment) -> Result<Experiment, MlflowError> {
        if experiment.lifecycle_stage == "deleted" {
            return Err(MlflowError::Config {
                message: format!(
                    "experiment `{}` (id {}) at {} is deleted, so runs cannot be added to it: \
                     restore it (`mlflow experiments restore`) or use another name",
                    experiment.name,
                    experiment.experiment_id,
                    self.server()
                ),
            });
        }
        Ok(experiment)
    }

    /// `POST runs/create` in the experiment, started now, with a name and tags. Not retried
    /// once it may have reached the server.
    ///
    /// # Errors
    /// [`MlflowError::NotFound`] for an unknown experiment.
    pub fn create_run(
        &self,
        experiment_id: &str,
        run_name: Option<&str>,
        tags: &BTreeMap<String, String>,
    ) -> Result<Run, MlflowError> {
        let endpoint = "runs/create";
        let mut body = json!({
            "experiment_id": experiment_id,
            "start_time": now_ms(),
            "tags": tag_list(tags),
        });
        if let Some(run_name) = run_name {
            body["run_name"] = Value::from(run_name);
        }
        let answer = self.post(
            endpoint,
            &body,
            Idempotency::Unsafe,
            format!("experiment `{experiment_id}`"),
        )?;
        self.read(&answer, "run", endpoint, types::run)
    }

    /// `GET runs/get`: the run, with the latest value of each metric.
    ///
    /// # Errors
    /// [`MlflowError::NotFound`] for an unknown run.
    pub fn get_run(&self, run_id: &str) -> Result<Run, MlflowError> {
        let endpoint = "runs/get";
        let answer = self.get(endpoint, &[("run_id", run_id)], format!("run `{run_id}`"))?;
        self.read(&answer, "run", endpoint, types::run)
    }

    /// `POST runs/log-batch`, split into requests within MLflow's limits (1000 metrics, 100
    /// params, 100 tags, 1000 in all per request). Retried like a read: sending the same
    /// metric points, parameter values and tags again changes nothing.
    ///
    /// # Errors
    /// [`MlflowError::NotFound`] for an unknown run; [`MlflowError::Api`] when the server
    /// refuses a value (a parameter logged before with another value, a key too long).
    pub fn log_batch(
        &self,
        run_id: &str,
        metrics: &[Metric],
        params: &BTreeMap<String, String>,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), MlflowError> {
        for body in log_batch_bodies(run_id, metrics, params, tags) {
            self.post(
                "runs/log-batch",
                &body,
                Idempotency::Safe,
                format!("run `{run_id}`"),
            )?;
        }
        Ok(())
    }

    /// [`Client::log_batch`] with metrics only.
    ///
    /// # Errors
    /// As [`Client::log_batch`].
    pub fn log_metrics(&self, run_id: &str, metrics: &[Metric]) -> Result<(), MlflowError> {
        self.log_batch(run_id, metrics, &BTreeMap::new(), &BTreeMap::new())
    }

    /// Sets run tags (through `runs/log-batch`).
    ///
    /// # Errors
    /// As [`Client::log_batch`].
    pub fn set_run_tags(
        &self,
        run_id: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), MlflowError> {
        self.log_batch(run_id, &[], &BTreeMap::new(), tags)
    }

    /// `POST runs/update`: ends the run now with `status`.
    ///
    /// # Errors
    /// [`MlflowError::NotFound`] for an unknown run.
    pub fn terminate_run(&self, run_id: &str, status: RunStatus) -> Result<(), MlflowError> {
        self.post(
            "runs/update",
            &json!({ "run_id": run_id, "status": status.as_str(), "end_time": now_ms() }),
            Idempotency::Safe,
            format!("run `{run_id}`"),
        )
        .map(drop)
    }
}

fn model_what(name: &str) -> String {
    format!("registered model `{name}`")
}

fn version_what(name: &str, version: &str) -> String {
    format!("version {version} of registered model `{name}`")
}

fn tag_list(tags: &BTreeMap<String, String>) -> Vec<Value> {
    tags.iter()
        .map(|(k, v)| json!({ "key": k, "value": v }))
        .collect()
}

/// The `runs/log-batch` bodies for everything, each within MLflow's limits.
pub(crate) fn log_batch_bodies(
    run_id: &str,
    metrics: &[Metric],
    params: &BTreeMap<String, String>,
    tags: &BTreeMap<String, String>,
) -> Vec<Value> {
    let params: Vec<(&String, &String)> = params.iter().collect();
    let tags: Vec<(&String, &String)> = tags.iter().collect();
    let (mut m, mut p, mut t) = (metrics, params.as_slice(), tags.as_slice());
    let mut bodies = Vec::new();
    while !(m.is_empty() && p.is_empty() && t.is_empty()) {
        let np = p.len().min(MAX_PARAMS_TAGS_PER_BATCH);
        let nt = t.len().min(MAX_PARAMS_TAGS_PER_BATCH);
        let nm = m
            .len()
            .min(MAX_METRICS_PER_BATCH)
            .min(MAX_ENTITIES_PER_BATCH - np - nt);
        let (mb, mr) = m.split_at(nm);
        let (pb, pr) = p.split_at(np);
        let (tb, tr) = t.split_at(nt);
        let kv = |items: &[(&String, &String)]| -> Vec<Value> {
            items
                .iter()
                .map(|(k, v)| json!({ "key": k, "value": v }))
                .collect()
        };
        bodies.push(json!({
            "run_id": run_id,
            "metrics": mb.iter().map(|x| json!({
                "key": x.key,
                "value": double_json(x.value),
                "timestamp": x.timestamp_ms,
                "step": x.step,
            })).collect::<Vec<_>>(),
            "params": kv(pb),
            "tags": kv(tb),
        }));
        (m, p, t) = (mr, pr, tr);
    }
    bodies
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_batch_is_split_within_mlflow_limits() {
        let metrics: Vec<Metric> = (0..2500)
            .map(|i| Metric {
                key: format!("m{i}"),
                value: f64::from(i),
                timestamp_ms: 1,
                step: 0,
            })
            .collect();
        let params: BTreeMap<String, String> =
            (0..150).map(|i| (format!("p{i}"), i.to_string())).collect();
        let tags: BTreeMap<String, String> =
            (0..30).map(|i| (format!("t{i}"), i.to_string())).collect();
        let bodies = log_batch_bodies("r", &metrics, &params, &tags);
        let count = |b: &Value, k: &str| b[k].as_array().map_or(0, Vec::len);
        let (mut m, mut p, mut t) = (0, 0, 0);
        for b in &bodies {
            assert!(count(b, "metrics") <= 1000);
            assert!(count(b, "params") <= 100);
            assert!(count(b, "tags") <= 100);
            assert!(count(b, "metrics") + count(b, "params") + count(b, "tags") <= 1000);
            m += count(b, "metrics");
            p += count(b, "params");
            t += count(b, "tags");
        }
        assert_eq!((m, p, t), (2500, 150, 30));
        assert_eq!(bodies.len(), 3);
        assert!(log_batch_bodies("r", &[], &BTreeMap::new(), &BTreeMap::new()).is_empty());
    }

    #[test]
    fn nonfinite_metrics_are_sent_as_mlflow_spells_them() {
        let bodies = log_batch_bodies(
            "r",
            &[Metric {
                key: "x".into(),
                value: f64::NAN,
                timestamp_ms: 5,
                step: 2,
            }],
            &BTreeMap::new(),
            &BTreeMap::new(),
        );
        assert_eq!(bodies[0]["metrics"][0]["value"], "NaN");
        assert_eq!(bodies[0]["metrics"][0]["step"], 2);
    }
}
