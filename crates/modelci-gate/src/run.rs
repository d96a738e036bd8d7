//! One gate, end to end: thresholds (file, registered-model tags, model-version tags), the
//! candidate and baseline (files, or registry versions downloaded from MLflow), predictions on
//! the dataset, metrics, fairness, latency, statistics, one case per threshold, and the
//! write-back (`record`, `promote_alias`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use modelci_config::gate::{GateSuite, ModelRef, Task};
use modelci_metrics::stats;
use modelci_mlflow::{Client, ModelVersion};
use modelci_report::{Case, Outcome, Properties};
use modelci_tensor::backend::Backend;

use crate::cases::{self, Judged, MetricSet};
use crate::evaluate::{self, Evaluated, Grouping, MetricOptions, Predictions, Truth};
use crate::latency;
use crate::threshold::{self, Comparison, Layer, Resolved, Source, StatTest};

/// How the gate is run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The ONNX Runtime library (else the usual places).
    pub ort_lib: Option<PathBuf>,
}

/// What a gate found.
pub struct Gated {
    /// One case per threshold (and per group), then the write-back cases.
    pub cases: Vec<Case>,
    /// Suite properties: models, versions, dataset, device, runtime.
    pub properties: Properties,
    /// `--explain`: each resolved threshold and where it came from.
    pub explain: Vec<String>,
}

/// Why a gate cannot run at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupError(pub String);

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A model to evaluate, once located.
enum Located {
    /// An `.onnx` file (given, or downloaded from the registry).
    File {
        path: PathBuf,
        version: Option<ModelVersion>,
    },
    /// A registry version whose artifact is not ONNX: its logged run metrics stand in.
    Logged {
        version: ModelVersion,
        metrics: BTreeMap<String, f64>,
    },
}

impl Located {
    fn version(&self) -> Option<&ModelVersion> {
        match self {
            Located::File { version, .. } => version.as_ref(),
            Located::Logged { version, .. } => Some(version),
        }
    }
}

/// The first row whose model output is NaN or infinite, as an error at the dataset's file and
/// line that names the row's non-finite features (a model passes a NaN feature through).
fn non_finite_output(
    table: &modelci_dataset::Table,
    predictions: &evaluate::Predictions,
    (features, width): &(Vec<f32>, usize),
    names: &[String],
    who: &str,
) -> Option<SetupError> {
    let rows = table.rows.max(1);
    let bad_row = |values: &[f64]| {
        let per_row = (values.len() / rows).max(1);
        values
            .iter()
            .position(|v| !v.is_finite())
            .map(|at| at / per_row)
    };
    let row = predictions
        .proba
        .as_deref()
        .and_then(bad_row)
        .or_else(|| predictions.values.as_deref().and_then(bad_row))?;
    let at = table
        .line_of(row)
        .map_or_else(|| table.source.clone(), |l| format!("{}:{l}", table.source));
    let mut message =
        format!("{at}: the {who}'s output for row index {row} is not a number (NaN or infinite)");
    let bad: Vec<String> = names
        .iter()
        .enumerate()
        .filter(|(j, _)| {
            features
                .get(row * width + j)
                .is_some_and(|v| !v.is_finite())
        })
        .map(|(_, n)| format!("`{n}`"))
        .collect();
    if !bad.is_empty() {
        message.push_str(&format!(
            "; its feature(s) {} are NaN or infinite there, and the model passed that on (clean or impute the data)",
            bad.join(", ")
        ));
    }
    Some(SetupError(message))
}

/// Whether the gate talks to the MLflow registry: a registry model, write-back, or a tracking
/// URI (the suite's or `MLFLOW_TRACKING_URI`) with a model name (for registry thresholds).
pub fn uses_registry(spec: &GateSuite) -> bool {
    let needed = spec.candidate.in_registry()
        || spec.baseline.as_ref().is_some_and(ModelRef::in_registry)
        || spec.record
        || spec.promote_alias.is_some();
    let configured = spec.tracking_uri.is_some()
        || std::env::var("MLFLOW_TRACKING_URI").is_ok_and(|v| !v.trim().is_empty());
    needed || configured && spec.model_name.is_some()
}

/// Whether the gate runs a model on ONNX Runtime: a candidate without a prediction column or an
/// endpoint, a baseline without a prediction column, or latency to measure.
pub fn uses_runtime(spec: &GateSuite) -> bool {
    let candidate = spec.prediction.is_none() && spec.endpoint.is_none();
    let baseline = spec.baseline.is_some() && spec.baseline_prediction.is_none();
    candidate || baseline || spec.latency.is_some() && spec.endpoint.is_none()
}

/// The registry client, when the gate uses the registry.
fn registry(spec: &GateSuite) -> Result<Option<Client>, SetupError> {
    if !uses_registry(spec) {
        return Ok(None);
    }
    let cannot = |e: modelci_mlflow::MlflowError| {
        SetupError(format!("the MLflow registry cannot be used: {e}"))
    };
    let mut config =
        modelci_mlflow::Config::from_env(spec.tracking_uri.as_deref()).map_err(cannot)?;
    if let Some(timeout) = spec.timeout {
        config.timeout = timeout;
    }
    config.budget = spec.budget;
    Client::new(config).map(Some).map_err(cannot)
}

fn locate(
    reference: &ModelRef,
    what: &str,
    client: Option<&Client>,
    model_name: Option<&str>,
    scratch: &Path,
) -> Result<Located, SetupError> {
    let (client, name, found) = match (reference, client, model_name) {
        (ModelRef::File(path), _, _) => {
            return Ok(Located::File {
                path: path.clone(),
                version: None,
            });
        }
        (ModelRef::Version(v), Some(c), Some(n)) => (c, n, c.model_version(n, v)),
        (ModelRef::Alias(a), Some(c), Some(n)) => (c, n, c.model_version_by_alias(n, a)),
        _ => {
            return Err(SetupError(format!(
                "the {what} `{reference}` is in the registry, which needs `model_name` and a tracking URI"
            )));
        }
    };
    let version = found.map_err(|e| SetupError(format!("the {what} `{reference}`: {e}")))?;
    let dest = scratch.join(format!("{what}-v{}", version.version));
    client
        .download_model_version(name, &version.version, &dest)
        .map_err(|e| {
            SetupError(format!(
                "the {what} `{reference}` (version {}): cannot download its artifacts: {e}",
                version.version
            ))
        })?;
    if let Some(path) = modelci_mlflow::find_onnx(&dest) {
        return Ok(Located::File {
            path,
            version: Some(version),
        });
    }
    // Not ONNX: the documented fallback is the metrics its run logged.
    let Some(run_id) = version.run_id.clone().filter(|r| !r.is_empty()) else {
        return Err(SetupError(format!(
            "the {what} `{reference}` (version {}) has no .onnx artifact and no run whose logged metrics could stand in",
            version.version
        )));
    };
    let run = client.get_run(&run_id).map_err(|e| {
        SetupError(format!(
            "the {what} `{reference}` (version {}) has no .onnx artifact, and its run `{run_id}` cannot be read: {e}",
            version.version
        ))
    })?;
    Ok(Located::Logged {
        version,
        metrics: run.data.metrics,
    })
}

/// Thresholds from the file and the registry, and cases for malformed tags.
fn thresholds(
    spec: &GateSuite,
    client: Option<&Client>,
    candidate: Option<&ModelVersion>,
    problems: &mut Vec<Case>,
) -> Result<Vec<Resolved>, SetupError> {
    let mut layers: Vec<Layer> = Vec::new();
    if let Some(file) = &spec.thresholds {
        layers.push(threshold::read_file(file).map_err(|e| SetupError(e.to_string()))?);
    }
    let mut tag_layer = |tags: &BTreeMap<String, String>, source: &dyn Fn(&str) -> Source| {
        let (layer, errors) = threshold::from_tags(tags, source);
        layers.push(layer);
        for e in errors {
            problems.push(Case::errored(
                format!("thresholds ({})", e.source_),
                e.to_string(),
            ));
        }
    };
    if let (Some(c), Some(name)) = (client, spec.model_name.as_deref()) {
        let model = c
            .registered_model(name)
            .map_err(|e| SetupError(format!("registered model `{name}`: {e}")))?;
        tag_layer(&model.tags, &|tag| Source::ModelTag {
            model: name.to_owned(),
            tag: tag.to_owned(),
        });
        if let Some(v) = candidate {
            let version = v.version.clone();
            tag_layer(&v.tags, &|tag| Source::VersionTag {
                model: name.to_owned(),
                version: version.clone(),
                tag: tag.to_owned(),
            });
        }
    }
    let resolved = threshold::resolve(layers);
    if resolved.is_empty() && problems.is_empty() {
        return Err(SetupError(
            "no thresholds: give a thresholds file (`thresholds` / --thresholds) or tag the registered model with `modelci.thresholds` or `modelci.threshold.<metric>`".into(),
        ));
    }
    Ok(resolved)
}

/// A model's predictions and, when it was run, the backend (for latency).
struct Answered {
    predictions: Option<Predictions>,
    backend: Option<Box<dyn Backend>>,
    properties: Properties,
}

#[allow(clippy::too_many_arguments)]
fn answer(
    located: Option<&Located>,
    column: Option<&str>,
    probabilities: &[String],
    endpoint: Option<(&str, &str)>,
    spec: &GateSuite,
    table: &modelci_dataset::Table,
    truth: &Truth,
    features: &(Vec<f32>, usize),
    layout: &[(String, usize)],
    options: &Options,
    what: &str,
) -> Result<Answered, SetupError> {
    let mut properties = Properties::new();
    if let Some(col) = column {
        let p = evaluate::from_columns(table, truth, col, probabilities)
            .map_err(|e| SetupError(format!("the {what}'s predictions: {e}")))?;
        properties.insert(format!("{what}_predictions"), format!("column `{col}`"));
        return Ok(Answered {
            predictions: Some(p),
            backend: None,
            properties,
        });
    }
    let backend: Box<dyn Backend> = if let Some((url, name)) = endpoint {
        let timeout = spec.timeout.unwrap_or(std::time::Duration::from_secs(30));
        let ep = modelci_v2::Endpoint::connect(url, name, None, timeout)
            .map_err(|e| SetupError(format!("the {what}'s endpoint: {e}")))?;
        properties.insert(format!("{what}_endpoint"), ep.url());
        Box::new(ep)
    } else {
        match located {
            Some(Located::File { path, .. }) => {
                let device = spec.device;
                let opened =
                    modelci_model::golden_suite::open(path, device, options.ort_lib.as_deref())
                        .map_err(|e| SetupError(format!("the {what}: {e}")))?;
                for (k, v) in opened.properties.iter() {
                    properties.insert(format!("{what}_{k}"), v.clone());
                }
                Box::new(opened.model)
            }
            Some(Located::Logged { .. }) | None => {
                return Ok(Answered {
                    predictions: None,
                    backend: None,
                    properties,
                });
            }
        }
    };
    let outputs = evaluate::Outputs {
        label: spec.label_output.as_deref(),
        probabilities: spec.probabilities_output.as_deref(),
    };
    let p = evaluate::from_model(
        backend.as_ref(),
        &features.0,
        features.1,
        layout,
        truth,
        &outputs,
    )
    .map_err(|e| SetupError(format!("the {what}: {e}")))?;
    Ok(Answered {
        predictions: Some(p),
        backend: Some(backend),
        properties,
    })
}

/// Runs the gate.
///
/// # Errors
/// A [`SetupError`] when nothing can be judged: the registry, the dataset, the models or the
/// thresholds cannot be used.
pub fn run(spec: &GateSuite, options: &Options) -> Result<Gated, SetupError> {
    let client = registry(spec)?;
    let scratch = tempfile::tempdir()
        .map_err(|e| SetupError(format!("cannot make a scratch folder: {e}")))?;
    let candidate = locate(
        &spec.candidate,
        "candidate",
        client.as_ref(),
        spec.model_name.as_deref(),
        scratch.path(),
    )?;
    if matches!(candidate, Located::Logged { .. })
        && spec.prediction.is_none()
        && spec.endpoint.is_none()
    {
        return Err(SetupError(format!(
            "the candidate `{}` has no .onnx artifact: give `prediction` (a column of its predictions) or `endpoint`",
            spec.candidate
        )));
    }
    let baseline = spec
        .baseline
        .as_ref()
        .map(|b| {
            locate(
                b,
                "baseline",
                client.as_ref(),
                spec.model_name.as_deref(),
                scratch.path(),
            )
        })
        .transpose()?;
    let mut problems = Vec::new();
    let resolved = thresholds(spec, client.as_ref(), candidate.version(), &mut problems)?;
    let explain: Vec<String> = resolved.iter().map(Resolved::explain).collect();

    // The data.
    let table = modelci_dataset::read(&spec.dataset).map_err(|e| SetupError(e.to_string()))?;
    let truth = Truth::read(&table, spec).map_err(SetupError)?;
    let needs_features =
        spec.prediction.is_none() || (baseline.is_some() && spec.baseline_prediction.is_none());
    let mut feature_names = Vec::new();
    // Model input → how many of the feature columns (in order) it takes; empty: one input.
    let layout: Vec<(String, usize)> = spec
        .inputs
        .iter()
        .map(|(name, columns)| (name.clone(), columns.len()))
        .collect();
    let features = if needs_features {
        feature_names = if !spec.inputs.is_empty() {
            spec.inputs.iter().flat_map(|(_, c)| c.clone()).collect()
        } else if spec.features.is_empty() {
            evaluate::default_features(&table, spec)
        } else {
            spec.features.clone()
        };
        let f = table
            .features(&feature_names)
            .map_err(|e| SetupError(e.to_string()))?;
        let width = f.len().checked_div(table.rows).unwrap_or(0);
        (f, width)
    } else {
        (Vec::new(), 0)
    };
    let groupings: Vec<Grouping> =
        evaluate::groupings(&table, &spec.sensitive).map_err(SetupError)?;

    let endpoint_model = spec
        .endpoint_model
        .as_deref()
        .or(spec.model_name.as_deref())
        .unwrap_or_default();
    let cand = answer(
        Some(&candidate),
        spec.prediction.as_deref(),
        &spec.probabilities,
        spec.endpoint.as_deref().map(|u| (u, endpoint_model)),
        spec,
        &table,
        &truth,
        &features,
        &layout,
        options,
        "candidate",
    )?;
    let base = match &baseline {
        Some(b) => Some(answer(
            Some(b),
            spec.baseline_prediction.as_deref(),
            &[],
            None,
            spec,
            &table,
            &truth,
            &features,
            &layout,
            options,
            "baseline",
        )?),
        None => None,
    };

    let metric_options = MetricOptions {
        average: spec.average,
        pos_label: spec.pos_label.as_deref(),
        min_group_size: spec.min_group_size,
        resamples: spec.resamples,
        seed: spec.seed,
    };
    let cand_predictions = cand
        .predictions
        .as_ref()
        .ok_or_else(|| SetupError("the candidate has no predictions".into()))?;
    for (who, answered) in [("candidate", Some(&cand)), ("baseline", base.as_ref())] {
        if let Some(p) = answered.and_then(|a| a.predictions.as_ref())
            && let Some(e) = non_finite_output(&table, p, &features, &feature_names, who)
        {
            return Err(e);
        }
    }
    let Evaluated {
        metrics: mut cand_metrics,
        intervals,
        warnings,
    } = evaluate::metrics(&truth, cand_predictions, &groupings, &metric_options)
        .map_err(|e| SetupError(format!("the candidate's metrics: {e}")))?;
    let mut base_metrics: Option<MetricSet> = match (&baseline, &base) {
        (Some(Located::Logged { metrics, .. }), _) => {
            let mut m = MetricSet::default();
            for (k, v) in metrics {
                if k.starts_with("latency_") || k.starts_with("throughput_") {
                    // Timed on other hardware: never compared silently with this machine's.
                    m.absent(
                        k.clone(),
                        "the baseline's logged timings come from another machine",
                    );
                } else {
                    m.set(k.clone(), *v);
                }
            }
            Some(m)
        }
        (
            Some(_),
            Some(Answered {
                predictions: Some(p),
                ..
            }),
        ) => Some(
            evaluate::metrics(&truth, p, &groupings, &metric_options)
                .map_err(|e| SetupError(format!("the baseline's metrics: {e}")))?
                .metrics,
        ),
        _ => None,
    };

    // Latency of whatever was run.
    let mut latency_note = None;
    if let Some(l) = &spec.latency {
        for (answered, set) in [
            (Some(&cand), Some(&mut cand_metrics)),
            (base.as_ref(), base_metrics.as_mut()),
        ] {
            let (Some(a), Some(set)) = (answered, set) else {
                continue;
            };
            let Some(backend) = &a.backend else { continue };
            let inputs: Result<Vec<(usize, Vec<modelci_tensor::tensor::Tensor>)>, String> = l
                .batch_sizes
                .iter()
                .filter_map(|&b| {
                    latency::batch_rows(&features.0, features.1, b).map(|rows| {
                        evaluate::input_tensors(backend.as_ref(), &layout, &rows, b, features.1)
                            .map(|t| (b, t))
                    })
                })
                .collect();
            let timed = inputs.and_then(|inputs| {
                latency::measure(backend.as_ref(), &inputs, l.warmup, l.iterations)
            });
            match timed {
                Ok(timings) => {
                    for (k, t) in timings.iter().enumerate() {
                        let suffix = if k == 0 {
                            String::new()
                        } else {
                            format!("/batch={}", t.batch)
                        };
                        for (name, v) in t.metrics(&suffix) {
                            set.set(name, v);
                        }
                    }
                }
                Err(e) => {
                    for name in [
                        "latency_p50_ms",
                        "latency_p95_ms",
                        "latency_p99_ms",
                        "throughput_per_s",
                    ] {
                        set.absent(name, e.clone());
                    }
                }
            }
        }
        latency_note = Some(format!(
            "warm-up {}, {} timed inferences per batch size {:?}",
            l.warmup, l.iterations, l.batch_sizes
        ));
    }

    // Statistics for the thresholds that ask for them.
    let comparisons = compare(
        &resolved,
        &truth,
        cand_predictions,
        base.as_ref().and_then(|b| b.predictions.as_ref()),
        spec,
        &cand_metrics,
    );

    let mut out = problems;
    let judged = Judged {
        candidate: &cand_metrics,
        baseline: base_metrics.as_ref(),
        comparisons: &comparisons,
    };
    for mut c in cases::cases(&resolved, &judged) {
        if let Some(ci) = intervals.get(&c.name) {
            c = c.with_property("interval", ci.clone());
        }
        out.push(c);
    }

    let mut properties = Properties::new();
    properties.insert("candidate", spec.candidate.to_string());
    if let Some(v) = candidate.version() {
        properties.insert("candidate_version", v.version.clone());
    }
    if let Some(b) = &spec.baseline {
        properties.insert("baseline", b.to_string());
    }
    if let Some(v) = baseline.as_ref().and_then(Located::version) {
        properties.insert("baseline_version", v.version.clone());
    }
    if matches!(baseline, Some(Located::Logged { .. })) {
        properties.insert("baseline_metrics", "logged run metrics (no .onnx artifact)");
    }
    properties.insert("dataset", modelci_config::display_path(&spec.dataset));
    properties.insert("rows", table.rows.to_string());
    properties.insert(
        "task",
        match spec.task {
            Task::Classifier => "classifier",
            Task::Regressor => "regressor",
        },
    );
    if let Some(n) = latency_note {
        properties.insert("latency", n);
    }
    for a in std::iter::once(&cand).chain(base.as_ref()) {
        for (k, v) in a.properties.iter() {
            properties.insert(k.clone(), v.clone());
        }
    }
    if !warnings.is_empty() {
        properties.insert("metric_warnings", warnings.join("\n"));
    }
    // Every metric computed, with a threshold or not: `metric.NAME` for the candidate,
    // `baseline_metric.NAME` for the baseline.
    for (prefix, set) in [
        ("metric", Some(&cand_metrics)),
        ("baseline_metric", base_metrics.as_ref()),
    ] {
        for (name, value) in set.into_iter().flat_map(|m| &m.values) {
            properties.insert(format!("{prefix}.{name}"), value.to_string());
        }
    }

    // Write-back.
    let passed = out
        .iter()
        .all(|c| matches!(c.outcome, Outcome::Passed | Outcome::Skipped));
    if let (Some(client), Some(name)) = (client.as_ref(), spec.model_name.as_deref()) {
        if spec.record {
            out.push(record(
                client,
                name,
                candidate.version(),
                &cand_metrics,
                &out,
                passed,
                &properties,
            ));
        }
        if let Some(alias) = &spec.promote_alias {
            out.push(promote(client, name, candidate.version(), alias, passed));
        }
    }
    Ok(Gated {
        cases: out,
        properties,
        explain,
    })
}

/// Paired comparisons for thresholds with `confidence`, on overall metrics both models have
/// per-row predictions for.
fn compare(
    resolved: &[Resolved],
    truth: &Truth,
    cand: &Predictions,
    base: Option<&Predictions>,
    spec: &GateSuite,
    computed: &MetricSet,
) -> BTreeMap<String, Comparison> {
    let mut out = BTreeMap::new();
    let Some(base) = base else { return out };
    for r in resolved {
        let Some(confidence) = r.threshold.confidence else {
            continue;
        };
        for metric in cases::expand(&r.metric, computed) {
            if metric.contains('/') {
                continue;
            }
            let cmp = match r.threshold.test.unwrap_or(StatTest::Bootstrap) {
                StatTest::Mcnemar => mcnemar(truth, cand, base),
                StatTest::Bootstrap => bootstrap(truth, cand, base, &metric, confidence, spec),
            };
            if let Some(c) = cmp {
                out.insert(metric, c);
            }
        }
    }
    out
}

fn mcnemar(truth: &Truth, cand: &Predictions, base: &Predictions) -> Option<Comparison> {
    let Truth::Classes(labels) = truth else {
        return None;
    };
    let c = stats::correctness(&labels.ids, cand.classes.as_deref()?).ok()?;
    let b = stats::correctness(&labels.ids, base.classes.as_deref()?).ok()?;
    let m = stats::mcnemar(&b, &c).ok()?;
    Some(Comparison {
        delta_ci: None,
        mcnemar: Some((m.p_value, m.baseline_only > m.candidate_only)),
        too_small: m.small_sample(10).map(|s| s.to_string()),
    })
}

fn bootstrap(
    truth: &Truth,
    cand: &Predictions,
    base: &Predictions,
    metric: &str,
    confidence: f64,
    spec: &GateSuite,
) -> Option<Comparison> {
    let rows = truth.len();
    let value = |p: &Predictions, idx: &[usize]| -> Option<f64> {
        match truth {
            Truth::Values(y) => {
                let yt: Vec<f64> = idx.iter().map(|&i| y[i]).collect();
                let pv = p.values.as_ref()?;
                let yp: Vec<f64> = idx.iter().map(|&i| pv[i]).collect();
                modelci_metrics::regressor::evaluate(&modelci_metrics::regressor::RegressorData {
                    y_true: &yt,
                    y_pred: &yp,
                })
                .ok()?
                .value(metric)
            }
            Truth::Classes(labels) => {
                let k = labels.classes.len();
                let pc = p.classes.as_ref()?;
                let yt: Vec<u32> = idx.iter().map(|&i| labels.ids[i]).collect();
                let yp: Vec<u32> = idx.iter().map(|&i| pc[i]).collect();
                let proba: Option<Vec<f64>> = p.proba.as_ref().map(|pr| {
                    idx.iter()
                        .flat_map(|&i| pr[i * k..(i + 1) * k].iter().copied())
                        .collect()
                });
                let pos = evaluate::positive(labels, spec.pos_label.as_deref()).ok()?;
                modelci_metrics::classifier::evaluate(
                    &modelci_metrics::classifier::ClassifierData {
                        y_true: &yt,
                        y_pred: &yp,
                        y_proba: proba.as_deref(),
                        n_classes: k as u32,
                    },
                    &modelci_metrics::classifier::ClassifierOptions {
                        pos_label: pos,
                        average: match spec.average {
                            modelci_config::gate::Average::Micro => {
                                modelci_metrics::classifier::Average::Micro
                            }
                            modelci_config::gate::Average::Macro => {
                                modelci_metrics::classifier::Average::Macro
                            }
                            modelci_config::gate::Average::Weighted => {
                                modelci_metrics::classifier::Average::Weighted
                            }
                        },
                        per_class: false,
                        threads: 1,
                    },
                )
                .ok()?
                .value(metric)
            }
        }
    };
    let paired = |model: stats::Model, idx: &[usize]| -> Option<f64> {
        match model {
            stats::Model::Candidate => value(cand, idx),
            stats::Model::Baseline => value(base, idx),
        }
    };
    let result = stats::paired_bootstrap(
        rows,
        &paired,
        &stats::PairedBootstrapOptions {
            bootstrap: modelci_metrics::BootstrapOptions {
                resamples: spec.resamples,
                confidence,
                seed: spec.seed,
                threads: 0,
            },
            ..stats::PairedBootstrapOptions::default()
        },
    )
    .ok()?;
    let too_small = (!result.small_sample.is_empty()).then(|| {
        result
            .small_sample
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    });
    Some(Comparison {
        delta_ci: result.interval.map(|ci| (ci.low, ci.high)),
        mcnemar: None,
        too_small,
    })
}

/// MLflow metric keys allow letters, digits, `_ - . / :` and spaces; other characters
/// (`=`, `&`, `,`) become `_`.
pub fn mlflow_key(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | ':' | ' ') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `record`: the candidate's metrics logged to a new run of the `modelci-gate` experiment, and
/// the version tagged with the verdict.
fn record(
    client: &Client,
    name: &str,
    version: Option<&ModelVersion>,
    metrics: &MetricSet,
    cases: &[Case],
    passed: bool,
    properties: &Properties,
) -> Case {
    let case = "record: candidate metrics and verdict written to MLflow";
    let verdict = if passed { "pass" } else { "fail" };
    let count = |o: Outcome| cases.iter().filter(|c| c.outcome == o).count();
    let summary = format!(
        "{verdict}: {} passed, {} failed, {} errored, {} skipped",
        count(Outcome::Passed),
        count(Outcome::Failed),
        count(Outcome::Errored),
        count(Outcome::Skipped)
    );
    let result = (|| -> Result<String, modelci_mlflow::MlflowError> {
        let experiment = client.get_or_create_experiment("modelci-gate")?;
        let mut tags = BTreeMap::new();
        tags.insert("modelci.model_name".to_owned(), name.to_owned());
        tags.insert("modelci.verdict".to_owned(), verdict.to_owned());
        if let Some(v) = version {
            tags.insert("modelci.model_version".to_owned(), v.version.clone());
        }
        // Where the timings were taken, so they are never compared across machines unawares.
        for (key, tag) in [
            ("candidate_device", "modelci.device"),
            ("candidate_onnxruntime", "modelci.onnxruntime"),
            ("candidate_endpoint", "modelci.endpoint"),
            ("dataset", "modelci.dataset"),
        ] {
            if let Some(v) = properties.get(key) {
                tags.insert(tag.to_owned(), v.clone());
            }
        }
        tags.insert("modelci.host".to_owned(), host());
        let run = client.create_run(&experiment.experiment_id, Some("modelci gate"), &tags)?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let points: Vec<modelci_mlflow::Metric> = metrics
            .values
            .iter()
            .filter(|(_, v)| v.is_finite())
            .map(|(k, v)| modelci_mlflow::Metric {
                key: mlflow_key(k),
                value: *v,
                timestamp_ms: now,
                step: 0,
            })
            .collect();
        client.log_metrics(&run.info.run_id, &points)?;
        client.terminate_run(&run.info.run_id, modelci_mlflow::RunStatus::Finished)?;
        if let Some(v) = version {
            client.set_model_version_tag(name, &v.version, "modelci.verdict", verdict)?;
            client.set_model_version_tag(name, &v.version, "modelci.summary", &summary)?;
            client.set_model_version_tag(name, &v.version, "modelci.run_id", &run.info.run_id)?;
        }
        Ok(run.info.run_id)
    })();
    match result {
        Ok(run_id) => Case::passed(case)
            .with_message(format!("run `{run_id}`: {summary}"))
            .with_property("run_id", run_id),
        Err(e) => Case::errored(case, format!("cannot write to MLflow: {e}")),
    }
}

/// This machine, for the record of where timings were taken: the host name and the CPU count.
fn host() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| std::env::var("HOSTNAME").unwrap_or_default());
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    format!(
        "{name} ({cpus} CPUs, {} {})",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// `promote_alias`: moves the alias to the candidate's version when the gate passed.
fn promote(
    client: &Client,
    name: &str,
    version: Option<&ModelVersion>,
    alias: &str,
    passed: bool,
) -> Case {
    let case = format!("promote: alias `{alias}`");
    let Some(v) = version else {
        return Case::errored(
            case,
            "the candidate is a file, not a registry version: there is nothing to point the alias at",
        );
    };
    if !passed {
        return Case::skipped(
            case,
            format!("not moved: the gate did not pass, so `{alias}` still points where it did"),
        );
    }
    match client.set_alias(name, alias, &v.version) {
        Ok(()) => Case::passed(case).with_message(format!(
            "`{name}@{alias}` now points to version {}",
            v.version
        )),
        Err(e) => Case::errored(case, format!("cannot move the alias: {e}")),
    }
}
