//! What the server answers, typed: registered models, model versions, runs, experiments.
//!
//! MLflow's JSON is protobuf's: fields at their default are left out (an empty string, an
//! empty list, a version without tags), 64-bit integers may come as numbers or strings, tags
//! come as lists of `{key, value}`, and doubles that JSON cannot hold come as the strings
//! `"NaN"`, `"Infinity"`, `"-Infinity"`. The readers here default what is missing and accept
//! both spellings.

use std::collections::BTreeMap;

use serde_json::Value;

/// A registered model (`registered-models/get`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RegisteredModel {
    /// The model's name.
    pub name: String,
    /// Its description (empty when none).
    pub description: String,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// Its aliases: alias -> version.
    pub aliases: BTreeMap<String, String>,
    /// The latest version of each stage (MLflow's deprecated stages; `None` included).
    pub latest_versions: Vec<ModelVersion>,
}

/// A version of a registered model (`model-versions/get`, `registered-models/alias`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModelVersion {
    /// The registered model's name.
    pub name: String,
    /// The version number, as MLflow sends it (a string: `"3"`).
    pub version: String,
    /// Where the version's artifacts were registered from (`runs:/...`,
    /// `mlflow-artifacts:/...`, `models:/...`).
    pub source: String,
    /// The run that produced it, when known.
    pub run_id: Option<String>,
    /// `READY`, `PENDING_REGISTRATION` or `FAILED_REGISTRATION`.
    pub status: String,
    /// Its description (empty when none).
    pub description: String,
    /// Its (deprecated) stage: `None`, `Staging`, `Production`, `Archived`.
    pub current_stage: String,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// The aliases that point at it.
    pub aliases: Vec<String>,
}

/// An experiment (`experiments/get-by-name`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Experiment {
    /// Its id (a string).
    pub experiment_id: String,
    /// Its name.
    pub name: String,
    /// Where its runs' artifacts go (`mlflow-artifacts:/1`).
    pub artifact_location: String,
    /// `active` or `deleted`.
    pub lifecycle_stage: String,
}

/// A run (`runs/get`, `runs/create`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Run {
    /// Its identity and state.
    pub info: RunInfo,
    /// Its metrics, parameters and tags.
    pub data: RunData,
}

/// A run's identity and state.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunInfo {
    /// Its id.
    pub run_id: String,
    /// Its experiment's id.
    pub experiment_id: String,
    /// Its name (empty when none).
    pub run_name: String,
    /// `RUNNING`, `SCHEDULED`, `FINISHED`, `FAILED` or `KILLED`.
    pub status: String,
    /// Its artifacts' root (`mlflow-artifacts:/1/<run>/artifacts`).
    pub artifact_uri: String,
    /// `active` or `deleted`.
    pub lifecycle_stage: String,
    /// Start and end, in milliseconds since the Unix epoch.
    pub start_time: Option<i64>,
    /// See `start_time`.
    pub end_time: Option<i64>,
}

/// A run's metrics (the latest value of each), parameters and tags.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunData {
    /// Metric -> its latest value (by step, then time, as MLflow reports it).
    pub metrics: BTreeMap<String, f64>,
    /// Parameter -> value.
    pub params: BTreeMap<String, String>,
    /// Tag -> value.
    pub tags: BTreeMap<String, String>,
}

/// The final state a run is ended with ([`crate::Client::terminate_run`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// It completed.
    Finished,
    /// It failed.
    Failed,
    /// It was stopped.
    Killed,
}

impl RunStatus {
    /// MLflow's name: `FINISHED`, `FAILED`, `KILLED`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Finished => "FINISHED",
            RunStatus::Failed => "FAILED",
            RunStatus::Killed => "KILLED",
        }
    }
}

/// One metric value to log ([`crate::Client::log_batch`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// Its name.
    pub key: String,
    /// Its value (NaN and infinities are sent as MLflow's JSON spells them).
    pub value: f64,
    /// When it was measured, in milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    /// The step (0 when there is one value).
    pub step: i64,
}

impl Metric {
    /// A metric at step 0, measured now.
    pub fn now(key: impl Into<String>, value: f64) -> Metric {
        Metric {
            key: key.into(),
            value,
            timestamp_ms: now_ms(),
            step: 0,
        }
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Readers. Each takes the object MLflow nests (`registered_model`, `model_version`, `run`...)
// and returns `Err(what is wrong)` only when an identifying field is missing.

fn string(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

fn int(v: &Value, key: &str) -> Option<i64> {
    match v.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A double as MLflow's JSON writes it: a number, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
pub(crate) fn double(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "nan" => Some(f64::NAN),
            "infinity" | "inf" | "+infinity" => Some(f64::INFINITY),
            "-infinity" | "-inf" => Some(f64::NEG_INFINITY),
            other => other.parse().ok(),
        },
        _ => None,
    }
}

/// The JSON MLflow accepts for a double (protobuf's JSON mapping).
pub(crate) fn double_json(value: f64) -> Value {
    if value.is_nan() {
        Value::from("NaN")
    } else if value == f64::INFINITY {
        Value::from("Infinity")
    } else if value == f64::NEG_INFINITY {
        Value::from("-Infinity")
    } else {
        Value::from(value)
    }
}

fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// `[{key, value}]` as a map (a later duplicate wins).
fn key_values(v: &Value, key: &str) -> BTreeMap<String, String> {
    list(v, key)
        .iter()
        .filter_map(|kv| {
            let k = string(kv, "key");
            (!k.is_empty()).then(|| (k, string(kv, "value")))
        })
        .collect()
}

fn required(v: &Value, key: &str, what: &str) -> Result<String, String> {
    let s = string(v, key);
    if s.is_empty() {
        Err(format!("{what} has no `{key}`"))
    } else {
        Ok(s)
    }
}

pub(crate) fn registered_model(v: &Value) -> Result<RegisteredModel, String> {
    if !v.is_object() {
        return Err("no `registered_model` object".to_owned());
    }
    Ok(RegisteredModel {
        name: required(v, "name", "the registered model")?,
        description: string(v, "description"),
        tags: key_values(v, "tags"),
        aliases: list(v, "aliases")
            .iter()
            .filter_map(|a| {
                let alias = string(a, "alias");
                (!alias.is_empty()).then(|| (alias, string(a, "version")))
            })
            .collect(),
        latest_versions: list(v, "latest_versions")
            .iter()
            .map(model_version)
            .collect::<Result<_, _>>()?,
    })
}

pub(crate) fn model_version(v: &Value) -> Result<ModelVersion, String> {
    if !v.is_object() {
        return Err("no `model_version` object".to_owned());
    }
    let run_id = string(v, "run_id");
    Ok(ModelVersion {
        name: required(v, "name", "the model version")?,
        version: required(v, "version", "the model version")?,
        source: string(v, "source"),
        run_id: (!run_id.is_empty()).then_some(run_id),
        status: string(v, "status"),
        description: string(v, "description"),
        current_stage: string(v, "current_stage"),
        tags: key_values(v, "tags"),
        aliases: list(v, "aliases")
            .iter()
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect(),
    })
}

pub(crate) fn experiment(v: &Value) -> Result<Experiment, String> {
    if !v.is_object() {
        return Err("no `experiment` object".to_owned());
    }
    Ok(Experiment {
        experiment_id: required(v, "experiment_id", "the experiment")?,
        name: string(v, "name"),
        artifact_location: string(v, "artifact_location"),
        lifecycle_stage: string(v, "lifecycle_stage"),
    })
}

pub(crate) fn run_info(v: &Value) -> Result<RunInfo, String> {
    if !v.is_object() {
        return Err("no run `info` object".to_owned());
    }
    // `run_uuid` is the deprecated spelling of `run_id`; old servers send only it.
    let mut run_id = string(v, "run_id");
    if run_id.is_empty() {
        run_id = string(v, "run_uuid");
    }
    if run_id.is_empty() {
        return Err("the run has no `run_id`".to_owned());
    }
    Ok(RunInfo {
        run_id,
        experiment_id: string(v, "experiment_id"),
        run_name: string(v, "run_name"),
        status: string(v, "status"),
        artifact_uri: string(v, "artifact_uri"),
        lifecycle_stage: string(v, "lifecycle_stage"),
        start_time: int(v, "start_time"),
        end_time: int(v, "end_time"),
    })
}

pub(crate) fn run(v: &Value) -> Result<Run, String> {
    if !v.is_object() {
        return Err("no `run` object".to_owned());
    }
    let info = run_info(v.get("info").unwrap_or(&Value::Null))?;
    let data = v.get("data").cloned().unwrap_or(Value::Null);
    // `runs/get` sends the latest value of each metric; should a server send a history,
    // keep the latest by (step, timestamp), as MLflow does.
    let mut latest: BTreeMap<String, (i64, i64, f64)> = BTreeMap::new();
    for m in list(&data, "metrics") {
        let key = string(m, "key");
        if key.is_empty() {
            continue;
        }
        let Some(value) = m.get("value").and_then(double) else {
            return Err(format!("metric `{key}` has no numeric `value`"));
        };
        let at = (
            int(m, "step").unwrap_or(0),
            int(m, "timestamp").unwrap_or(0),
        );
        match latest.get(&key) {
            Some((s, t, _)) if (*s, *t) > at => {}
            _ => {
                latest.insert(key, (at.0, at.1, value));
            }
        }
    }
    Ok(Run {
        info,
        data: RunData {
            metrics: latest.into_iter().map(|(k, (_, _, v))| (k, v)).collect(),
            params: key_values(&data, "params"),
            tags: key_values(&data, "tags"),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn omitted_fields_default_and_tags_become_maps() {
        let mv = model_version(&json!({"name": "m", "version": "3"})).unwrap();
        assert_eq!(mv.version, "3");
        assert_eq!(mv.run_id, None);
        assert!(mv.tags.is_empty() && mv.aliases.is_empty());
        let mv = model_version(&json!({
            "name": "m", "version": 4, "run_id": "", "source": "runs:/r/model",
            "status": "READY", "tags": [{"key": "a", "value": "1"}, {"key": "b"}],
            "aliases": ["champion"]
        }))
        .unwrap();
        assert_eq!(mv.version, "4");
        assert_eq!(mv.run_id, None);
        assert_eq!(mv.tags.get("a").map(String::as_str), Some("1"));
        assert_eq!(mv.tags.get("b").map(String::as_str), Some(""));
        assert_eq!(mv.aliases, ["champion"]);
        assert!(model_version(&json!({"name": "m"})).is_err());
    }

    #[test]
    fn registered_model_aliases_map_to_versions() {
        let rm = registered_model(&json!({
            "name": "m",
            "aliases": [{"alias": "champion", "version": "2"}],
            "latest_versions": [{"name": "m", "version": "2"}]
        }))
        .unwrap();
        assert_eq!(rm.aliases.get("champion").map(String::as_str), Some("2"));
        assert_eq!(rm.latest_versions.len(), 1);
        assert!(rm.tags.is_empty());
    }

    #[test]
    fn run_metrics_keep_the_latest_and_read_nonfinite_strings() {
        let r = run(&json!({
            "info": {"run_uuid": "abc", "experiment_id": "1", "status": "RUNNING",
                     "start_time": "1700000000000"},
            "data": {"metrics": [
                {"key": "acc", "value": 0.5, "step": 0, "timestamp": 1},
                {"key": "acc", "value": 0.7, "step": 1, "timestamp": 2},
                {"key": "acc", "value": 0.6, "step": 1, "timestamp": 1},
                {"key": "n", "value": "NaN", "timestamp": 1},
                {"key": "i", "value": "-Infinity", "timestamp": 1}
            ], "params": [{"key": "lr", "value": "0.1"}]}
        }))
        .unwrap();
        assert_eq!(r.info.run_id, "abc");
        assert_eq!(r.info.start_time, Some(1_700_000_000_000));
        assert_eq!(r.data.metrics["acc"], 0.7);
        assert!(r.data.metrics["n"].is_nan());
        assert_eq!(r.data.metrics["i"], f64::NEG_INFINITY);
        assert_eq!(r.data.params["lr"], "0.1");
        assert!(run(&json!({"info": {}})).is_err());
        assert!(
            run(
                &json!({"info": {"run_id": "x"}, "data": {"metrics": [{"key": "a", "value": {}}]}})
            )
            .is_err()
        );
    }

    #[test]
    fn doubles_round_trip_through_mlflow_json() {
        for v in [0.25, -3.0, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(double(&double_json(v)), Some(v));
        }
        assert!(double(&double_json(f64::NAN)).is_some_and(f64::is_nan));
    }
}
