//! Evaluating one model on the gate's dataset: predictions (from the model, run locally or on an
//! endpoint, or from a column computed elsewhere), then MLflow's classifier or regressor metrics,
//! per-class metrics, and fairness per sensitive attribute (and their intersection).
//!
//! Metric names: MLflow's (`accuracy_score`, `f1_score`, `roc_auc`, `mean_absolute_error`, ...);
//! per class `recall_score/class=<label>`; per group `recall_score/sex=F` (the group's binary
//! classifier metrics plus `selection_rate`, `true_positive_rate`, `false_positive_rate`,
//! `count`); fairness aggregates per grouping `demographic_parity_difference/sex`
//! (`/sex&race` for an intersection), also `accuracy_score_difference`, `precision_score_`,
//! `recall_score_`, `f1_score_` and `false_positive_rate_difference`/`_ratio`.

use modelci_config::gate::{Average, GateSuite, Task};
use modelci_dataset::{Class, Groups, Labels, Table};
use modelci_metrics::{MetricValue, Metrics, classifier, fairness, regressor};
use modelci_tensor::backend::Backend;
use modelci_tensor::tensor::{DType, Data, Key, Tensor};

use crate::cases::MetricSet;

/// Rows per inference when a model is run over the dataset.
pub const CHUNK_ROWS: usize = 4096;

/// The truth the models are judged against.
pub enum Truth {
    /// Class indices into `labels.classes`.
    Classes(Labels),
    /// Regression targets.
    Values(Vec<f64>),
}

impl Truth {
    /// Reads the label column.
    ///
    /// # Errors
    /// The column's problem (missing values, unknown column, ...), naming the file.
    pub fn read(table: &Table, spec: &GateSuite) -> Result<Truth, String> {
        match spec.task {
            Task::Classifier => {
                let labels = table.labels(&spec.label).map_err(|e| e.to_string())?;
                if labels.classes.len() < 2 {
                    return Err(format!(
                        "{}: the label column `{}` holds a single class ({}); a classifier gate needs at least two",
                        table.source,
                        spec.label,
                        labels
                            .classes
                            .first()
                            .map(ToString::to_string)
                            .unwrap_or_default()
                    ));
                }
                Ok(Truth::Classes(labels))
            }
            Task::Regressor => Ok(Truth::Values(
                table.floats(&spec.label).map_err(|e| e.to_string())?,
            )),
        }
    }

    /// Rows.
    pub fn len(&self) -> usize {
        match self {
            Truth::Classes(l) => l.ids.len(),
            Truth::Values(v) => v.len(),
        }
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One model's answers on every row.
#[derive(Debug, Clone, PartialEq)]
pub struct Predictions {
    /// Class indices (classifiers).
    pub classes: Option<Vec<u32>>,
    /// Row-major `rows × classes` probabilities, when known.
    pub proba: Option<Vec<f64>>,
    /// Predicted values (regressors).
    pub values: Option<Vec<f64>>,
}

/// The columns that hold features by default: numeric columns that are not the label, a
/// prediction, probability or sensitive column.
pub fn default_features(table: &Table, spec: &GateSuite) -> Vec<String> {
    let skip = |n: &str| {
        n == spec.label
            || spec.prediction.as_deref() == Some(n)
            || spec.baseline_prediction.as_deref() == Some(n)
            || spec.probabilities.iter().any(|p| p == n)
            || spec.sensitive.iter().any(|s| s == n)
    };
    table
        .columns
        .iter()
        .filter(|c| !skip(&c.name))
        .filter(|c| {
            matches!(
                c.data,
                modelci_dataset::ColumnData::Float(_)
                    | modelci_dataset::ColumnData::Int(_)
                    | modelci_dataset::ColumnData::Bool(_)
                    | modelci_dataset::ColumnData::List(_)
            )
        })
        .map(|c| c.name.clone())
        .collect()
}

/// Predictions read from columns computed elsewhere.
///
/// # Errors
/// A column that is missing or holds classes the labels do not have.
pub fn from_columns(
    table: &Table,
    truth: &Truth,
    prediction: &str,
    probabilities: &[String],
) -> Result<Predictions, String> {
    match truth {
        Truth::Classes(labels) => {
            let classes = labels
                .map_column(table, prediction)
                .map_err(|e| e.to_string())?;
            let proba = if probabilities.is_empty() {
                None
            } else {
                let p = table
                    .probabilities(probabilities)
                    .map_err(|e| e.to_string())?;
                check_width(
                    &p,
                    classes.len(),
                    labels.classes.len(),
                    "the probability columns",
                )?;
                Some(p)
            };
            Ok(Predictions {
                classes: Some(classes),
                proba,
                values: None,
            })
        }
        Truth::Values(_) => Ok(Predictions {
            classes: None,
            proba: None,
            values: Some(table.floats(prediction).map_err(|e| e.to_string())?),
        }),
    }
}

fn check_width(p: &[f64], rows: usize, classes: usize, what: &str) -> Result<(), String> {
    if rows == 0 || p.len() != rows * classes {
        return Err(format!(
            "{what} give {} value(s) per row, but the labels have {classes} classes",
            p.len().checked_div(rows).unwrap_or(0)
        ));
    }
    Ok(())
}

/// Which outputs of a model hold labels and probabilities.
pub struct Outputs<'a> {
    pub label: Option<&'a str>,
    pub probabilities: Option<&'a str>,
}

/// The model's input tensors for `n` rows of the feature matrix (`width` features per row).
/// `layout` maps model inputs to consecutive column ranges of each row (`inputs` in the config:
/// name and number of columns, in the order the columns were read); empty, the model must have
/// one input and it gets every column (so does a one-input model that the layout does not name:
/// a single-input baseline of a candidate with several inputs). Each input is a `[n, columns]` float tensor (the input's
/// float type, float32 by default).
///
/// # Errors
/// A model with several inputs and no layout, or a layout that does not name the model's inputs
/// exactly (the first missing or unknown input, with the model's inputs).
pub fn input_tensors(
    backend: &dyn Backend,
    layout: &[(String, usize)],
    rows: &[f32],
    n: usize,
    width: usize,
) -> Result<Vec<Tensor>, String> {
    let ports = backend.inputs();
    let names: Vec<&str> = ports.iter().map(|p| p.name.as_str()).collect();
    let whole;
    // A single-input model that the layout does not name (a one-input baseline of a candidate
    // with several inputs) takes every column, in the layout's order.
    let single_unnamed = matches!(ports, [p] if !layout.iter().any(|(n, _)| *n == p.name));
    let layout = if layout.is_empty() || single_unnamed {
        let [input] = ports else {
            return Err(format!(
                "the model takes {} inputs ({}): map the feature columns to them with `inputs` (`--input NAME=COL,...`)",
                names.len(),
                names.join(", ")
            ));
        };
        whole = [(input.name.clone(), width)];
        &whole[..]
    } else {
        if let Some(p) = ports
            .iter()
            .find(|p| !layout.iter().any(|(n, _)| *n == p.name))
        {
            return Err(format!(
                "the model needs input `{}`, which `inputs` does not map to columns (the model's inputs: {})",
                p.name,
                names.join(", ")
            ));
        }
        if let Some((extra, _)) = layout.iter().find(|(n, _)| !names.contains(&n.as_str())) {
            return Err(format!(
                "`inputs` maps columns to input `{extra}`, which the model does not have (its inputs: {})",
                names.join(", ")
            ));
        }
        layout
    };
    if layout.iter().map(|(_, w)| w).sum::<usize>() != width || rows.len() != n * width {
        return Err("the feature columns do not fill the model's inputs".into());
    }
    let mut out = Vec::with_capacity(layout.len());
    let mut offset = 0;
    for (name, w) in layout {
        let mut data = Vec::with_capacity(n * w);
        for r in 0..n {
            let start = r * width + offset;
            data.extend(rows[start..start + w].iter().map(|x| f64::from(*x)));
        }
        let dtype = ports
            .iter()
            .find(|p| p.name == *name)
            .and_then(|p| p.dtype)
            .filter(|d| d.is_float())
            .unwrap_or(DType::F32);
        out.push(
            Tensor::new(
                name.clone(),
                dtype,
                vec![n as i64, *w as i64],
                Data::Float(data),
            )
            .map_err(|e| e.to_string())?,
        );
        offset += w;
    }
    Ok(out)
}

/// A ZipMap output (a sequence of class → probability maps) as a row-major `rows × classes`
/// matrix in the order of `labels.classes`: every map must hold exactly the dataset's classes.
fn zipmap_probabilities(t: &Tensor, labels: &Labels) -> Result<Vec<f64>, String> {
    let (keys, values) = t
        .maps_as_matrix()
        .ok_or_else(|| format!("output `{}` is not a sequence of maps", t.name))??;
    let classes: Vec<String> = labels.classes.iter().map(ToString::to_string).collect();
    let shown = |ks: &[String]| ks.join(", ");
    let key_texts: Vec<String> = keys
        .iter()
        .map(|k| match k {
            Key::Int(i) => i.to_string(),
            Key::Str(s) => s.clone(),
        })
        .collect();
    // Column of the matrix for each class, in class order.
    let mut columns = Vec::with_capacity(classes.len());
    for c in &classes {
        let Some(j) = key_texts.iter().position(|k| k == c) else {
            return Err(format!(
                "output `{}` has no probability for class `{c}` (its keys: {}; the label column's classes: {})",
                t.name,
                shown(&key_texts),
                shown(&classes)
            ));
        };
        columns.push(j);
    }
    if keys.len() != classes.len() {
        return Err(format!(
            "output `{}` has probabilities for keys {}, but the label column's classes are {}",
            t.name,
            shown(&key_texts),
            shown(&classes)
        ));
    }
    let width = keys.len().max(1);
    Ok(values
        .chunks(width)
        .flat_map(|row| columns.iter().map(move |&j| row[j]))
        .collect())
}

/// Runs `backend` over the feature matrix (`width` features per row) in chunks and reads its
/// predictions; `layout` maps the columns to the model's inputs ([`input_tensors`]).
///
/// # Errors
/// A model whose inputs the layout does not fit, an inference the model refuses, or outputs
/// that do not fit the labels (an unknown class, a probability width that is not the class
/// count).
pub fn from_model(
    backend: &dyn Backend,
    features: &[f32],
    width: usize,
    layout: &[(String, usize)],
    truth: &Truth,
    outputs: &Outputs<'_>,
) -> Result<Predictions, String> {
    let rows = truth.len();
    if width == 0 || features.len() != rows * width {
        return Err("no features to send to the model".into());
    }
    let mut answers: Vec<Vec<Tensor>> = Vec::new();
    let mut start = 0;
    while start < rows {
        let n = CHUNK_ROWS.min(rows - start);
        let inputs = input_tensors(
            backend,
            layout,
            &features[start * width..(start + n) * width],
            n,
            width,
        )?;
        let out = backend.run(&inputs).map_err(|e| {
            format!(
                "the model could not answer rows {start}..{}: {e}",
                start + n
            )
        })?;
        answers.push(out);
        start += n;
    }
    let column = |name: &str| -> Result<Tensor, String> {
        let parts: Vec<&Tensor> = answers
            .iter()
            .map(|a| {
                a.iter()
                    .find(|t| t.name == name)
                    .ok_or_else(|| format!("the model gave no output `{name}`"))
            })
            .collect::<Result<_, _>>()?;
        Tensor::concat_rows(&parts)
            .ok_or_else(|| format!("output `{name}` does not stack by rows across batches"))
    };
    let names: Vec<&str> = backend.outputs().iter().map(|p| p.name.as_str()).collect();
    let pick = |wanted: Option<&str>, float: bool| -> Result<Option<String>, String> {
        if let Some(w) = wanted {
            if !names.contains(&w) {
                return Err(format!(
                    "the model has no output `{w}` (its outputs: {})",
                    names.join(", ")
                ));
            }
            return Ok(Some(w.to_owned()));
        }
        let tensor = backend.outputs().iter().find(|p| {
            p.dtype
                .is_some_and(|d| d.is_float() == float && d != DType::Bool)
        });
        // Probabilities: else a sequence (skl2onnx's ZipMap), read as maps below.
        let sequence = || {
            backend
                .outputs()
                .iter()
                .find(|p| float && p.dtype.is_none() && p.shape == [-1])
        };
        Ok(tensor.or_else(sequence).map(|p| p.name.clone()))
    };
    match truth {
        Truth::Values(_) => {
            let name = pick(outputs.probabilities.or(outputs.label), true)?
                .ok_or("the model has no floating-point output to read predictions from")?;
            let t = column(&name)?;
            let Data::Float(v) = t.data else {
                return Err(format!("output `{name}` is not floating point"));
            };
            if v.len() != rows {
                return Err(format!(
                    "output `{name}` has shape {:?}; a regressor's predictions need one value per row",
                    t.shape
                ));
            }
            Ok(Predictions {
                classes: None,
                proba: None,
                values: Some(v),
            })
        }
        Truth::Classes(labels) => {
            let k = labels.classes.len();
            let proba = match pick(outputs.probabilities, true)? {
                Some(name) => {
                    let t = column(&name)?;
                    let v = match t.data {
                        Data::Float(v) => v,
                        Data::Maps { .. } => zipmap_probabilities(&t, labels)?,
                        _ => return Err(format!("output `{name}` is not floating point")),
                    };
                    check_width(&v, rows, k, &format!("output `{name}`"))?;
                    Some(v)
                }
                None => None,
            };
            let classes = match pick(outputs.label, false)? {
                Some(name) => {
                    let t = column(&name)?;
                    if t.data.len() != rows {
                        return Err(format!(
                            "output `{name}` has shape {:?}; labels need one value per row",
                            t.shape
                        ));
                    }
                    classes_of(&t, labels)?
                }
                None => match &proba {
                    Some(p) => p
                        .chunks(k)
                        .map(|row| {
                            row.iter()
                                .enumerate()
                                .max_by(|a, b| a.1.total_cmp(b.1))
                                .map_or(0, |(i, _)| i as u32)
                        })
                        .collect(),
                    None => {
                        return Err(
                            "the model has neither a label output nor a probability output".into(),
                        );
                    }
                },
            };
            Ok(Predictions {
                classes: Some(classes),
                proba,
                values: None,
            })
        }
    }
}

/// Maps a label output's values onto the dataset's classes.
fn classes_of(t: &Tensor, labels: &Labels) -> Result<Vec<u32>, String> {
    if t.map_key().is_some() {
        return Err(format!(
            "output `{}` is a {}, not labels: name the label output with `label_output`",
            t.name,
            t.type_text()
        ));
    }
    let class = |i: usize| -> Class {
        match &t.data {
            Data::Int(v) => Class::Int(v[i]),
            Data::UInt(v) => Class::Int(i64::try_from(v[i]).unwrap_or(i64::MAX)),
            Data::Bool(v) => Class::Bool(v[i]),
            Data::Str(v) => Class::Str(v[i].clone()),
            Data::Float(v) => {
                if v[i].fract() == 0.0 && v[i].abs() < 9e15 {
                    Class::Int(v[i] as i64)
                } else {
                    Class::Str(v[i].to_string())
                }
            }
            // Refused above.
            Data::Maps { .. } => Class::Str(String::new()),
        }
    };
    (0..t.data.len())
        .map(|i| {
            let c = class(i);
            labels
                .index_of(&c)
                .or_else(|| {
                    let text = c.to_string();
                    labels.classes.iter().position(|k| k.to_string() == text).map(|p| p as u32)
                })
                .ok_or_else(|| {
                    format!(
                        "the model predicts class `{c}` (row {i}), which the label column `{}` never holds (its classes: {})",
                        labels.column,
                        labels
                            .classes
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
        })
        .collect()
}

/// The positive class index for binary metrics and fairness: `pos_label` when given, else the
/// larger of the classes (scikit-learn's and MLflow's `1`).
///
/// # Errors
/// A `pos_label` that is not one of the classes.
pub fn positive(labels: &Labels, pos_label: Option<&str>) -> Result<u32, String> {
    match pos_label {
        None => Ok(labels.classes.len().saturating_sub(1) as u32),
        Some(p) => labels
            .classes
            .iter()
            .position(|c| c.to_string() == p)
            .map(|i| i as u32)
            .ok_or_else(|| {
                format!(
                    "`pos_label` `{p}` is not one of the label's classes ({})",
                    labels
                        .classes
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }),
    }
}

/// A sensitive grouping: its name (`sex`, `sex&race`) and the rows' groups.
pub struct Grouping {
    pub name: String,
    pub groups: Groups,
}

/// The groupings of the sensitive columns: each alone, and their intersection when several.
///
/// # Errors
/// A sensitive column that cannot be read.
pub fn groupings(table: &Table, sensitive: &[String]) -> Result<Vec<Grouping>, String> {
    let mut out = Vec::new();
    for s in sensitive {
        out.push(Grouping {
            name: s.clone(),
            groups: table
                .groups(std::slice::from_ref(s))
                .map_err(|e| e.to_string())?,
        });
    }
    if sensitive.len() > 1 {
        out.push(Grouping {
            name: sensitive.join("&"),
            groups: table.groups(sensitive).map_err(|e| e.to_string())?,
        });
    }
    Ok(out)
}

fn put(set: &mut MetricSet, name: String, v: &MetricValue) {
    match v {
        MetricValue::Value(x) => set.set(name, *x),
        MetricValue::Absent { reason } => set.absent(name, reason.clone()),
    }
}

/// Renames per-class metrics `x/class_<k>` to `x/class=<label>`.
fn class_name(name: &str, labels: &Labels) -> String {
    if let Some((metric, rest)) = name.split_once("/class_")
        && let Ok(k) = rest.parse::<usize>()
        && let Some(c) = labels.classes.get(k)
    {
        return format!("{metric}/class={c}");
    }
    name.to_owned()
}

/// Options for [`metrics`].
pub struct MetricOptions<'a> {
    pub average: Average,
    pub pos_label: Option<&'a str>,
    pub min_group_size: usize,
    /// Bootstrap resamples for fairness intervals (0: none) and their seed.
    pub resamples: usize,
    pub seed: u64,
}

/// Everything about one model: its metrics, plus fairness intervals as text per aggregate.
pub struct Evaluated {
    pub metrics: MetricSet,
    /// `metric → "[low, high] (95%)"` for fairness aggregates.
    pub intervals: std::collections::BTreeMap<String, String>,
    /// Warnings from the metric computations (e.g. zero division set to 0).
    pub warnings: Vec<String>,
}

/// Computes the metrics of `p` against `truth`.
///
/// # Errors
/// Predictions that do not fit (a different row count), or a metric computation error.
pub fn metrics(
    truth: &Truth,
    p: &Predictions,
    groupings: &[Grouping],
    o: &MetricOptions<'_>,
) -> Result<Evaluated, String> {
    let mut set = MetricSet::default();
    let mut intervals = std::collections::BTreeMap::new();
    let mut warnings = Vec::new();
    fn take(
        m: &Metrics,
        set: &mut MetricSet,
        warnings: &mut Vec<String>,
        rename: &dyn Fn(&str) -> String,
    ) {
        for e in m.iter() {
            put(set, rename(&e.name), &e.value);
        }
        warnings.extend(
            m.warnings()
                .iter()
                .map(|w| format!("{}: {}", rename(&w.metric), w.message)),
        );
    }
    match truth {
        Truth::Values(y) => {
            let pred = p.values.as_deref().ok_or("no predicted values")?;
            let m = regressor::evaluate(&regressor::RegressorData {
                y_true: y,
                y_pred: pred,
            })
            .map_err(|e| e.to_string())?;
            take(&m, &mut set, &mut warnings, &|n| n.to_owned());
        }
        Truth::Classes(labels) => {
            let pred = p.classes.as_deref().ok_or("no predicted classes")?;
            let pos = positive(labels, o.pos_label)?;
            let k = labels.classes.len() as u32;
            let options = classifier::ClassifierOptions {
                pos_label: pos,
                average: match o.average {
                    Average::Micro => classifier::Average::Micro,
                    Average::Macro => classifier::Average::Macro,
                    Average::Weighted => classifier::Average::Weighted,
                },
                per_class: true,
                threads: 0,
            };
            let m = classifier::evaluate(
                &classifier::ClassifierData {
                    y_true: &labels.ids,
                    y_pred: pred,
                    y_proba: p.proba.as_deref(),
                    n_classes: k,
                },
                &options,
            )
            .map_err(|e| e.to_string())?;
            take(&m, &mut set, &mut warnings, &|n| class_name(n, labels));
            // Fairness on the positive class (one-vs-rest for multiclass).
            let y_true: Vec<u32> = labels.ids.iter().map(|&c| u32::from(c == pos)).collect();
            let y_pred: Vec<u32> = pred.iter().map(|&c| u32::from(c == pos)).collect();
            let y_proba: Option<Vec<f64>> = p.proba.as_ref().map(|pr| {
                pr.chunks(k as usize)
                    .flat_map(|row| {
                        let q = row.get(pos as usize).copied().unwrap_or(0.0);
                        [1.0 - q, q]
                    })
                    .collect()
            });
            for g in groupings {
                let report = fairness::evaluate(
                    &fairness::FairnessData {
                        y_true: &y_true,
                        y_pred: &y_pred,
                        y_proba: y_proba.as_deref(),
                        groups: &g.groups.ids,
                    },
                    &fairness::FairnessOptions {
                        pos_label: 1,
                        min_group_size: o.min_group_size,
                        extra_rates: vec![
                            fairness::GroupRate::Accuracy,
                            fairness::GroupRate::Precision,
                            fairness::GroupRate::Recall,
                            fairness::GroupRate::F1,
                            fairness::GroupRate::FalsePositiveRate,
                        ],
                        bootstrap: (o.resamples > 0).then(|| modelci_metrics::BootstrapOptions {
                            resamples: o.resamples,
                            seed: o.seed,
                            ..modelci_metrics::BootstrapOptions::default()
                        }),
                        ..fairness::FairnessOptions::default()
                    },
                )
                .map_err(|e| format!("fairness by `{}`: {e}", g.name))?;
                let suffix = format!("/{}", g.name);
                take(&report.aggregates, &mut set, &mut warnings, &|n| {
                    format!("{n}{suffix}")
                });
                for gr in &report.by_group {
                    let gname = g
                        .groups
                        .names
                        .get(gr.group as usize)
                        .cloned()
                        .unwrap_or_else(|| format!("group {}", gr.group));
                    set.set(format!("count/{gname}"), gr.count as f64);
                    for e in gr.metrics.iter() {
                        let name = format!("{}/{gname}", e.name);
                        put(&mut set, name.clone(), &e.value);
                        if gr.below_min_size {
                            set.not_judged.insert(
                                name,
                                format!(
                                    "group `{gname}` has {} row(s), fewer than min_group_size {}: reported, not judged",
                                    gr.count, o.min_group_size
                                ),
                            );
                        }
                    }
                }
                for iv in &report.intervals {
                    if let Some(ci) = &iv.interval {
                        intervals.insert(
                            format!("{}{suffix}", iv.metric),
                            format!("[{}, {}] ({}%)", ci.low, ci.high, ci.confidence * 100.0),
                        );
                    }
                }
                for ex in &report.exclusions {
                    let gname = g
                        .groups
                        .names
                        .get(ex.group as usize)
                        .cloned()
                        .unwrap_or_default();
                    warnings.push(format!(
                        "fairness by `{}`: group `{gname}` left out of {}: {}",
                        g.name,
                        ex.metric.map_or("every aggregate".to_owned(), |m| format!(
                            "`{m}` aggregates"
                        )),
                        ex.reason
                    ));
                }
            }
        }
    }
    // Probabilities a float32 model gives sum to 1 only within float32 rounding; scikit-learn
    // judges that with float32's own epsilon, so it is no reason to warn.
    if let Some(pr) = &p.proba
        && let Truth::Classes(labels) = truth
    {
        let k = labels.classes.len().max(1);
        let rounding = pr
            .chunks(k)
            .all(|row| (row.iter().sum::<f64>() - 1.0).abs() <= 1e-5);
        if rounding {
            warnings.retain(|w| !w.contains("do not sum to one"));
        }
    }
    Ok(Evaluated {
        metrics: set,
        intervals,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use modelci_tensor::runtime::{Port, RuntimeError};

    use super::*;

    /// Two inputs `a: [N, 1]`, `b: [N, 2]`; answers a ZipMap with string keys `no`/`yes`
    /// whose `yes` probability is `a`'s value, and checks that `b` holds the next columns.
    struct TwoInputs {
        inputs: Vec<Port>,
        outputs: Vec<Port>,
    }

    impl TwoInputs {
        fn new() -> Self {
            let port = |name: &str, dtype, shape: Vec<i64>| Port {
                name: name.into(),
                dtype,
                shape,
            };
            TwoInputs {
                inputs: vec![
                    port("a", Some(DType::F32), vec![-1, 1]),
                    port("b", Some(DType::F32), vec![-1, 2]),
                ],
                outputs: vec![port("probs", None, vec![-1])],
            }
        }
    }

    impl Backend for TwoInputs {
        fn inputs(&self) -> &[Port] {
            &self.inputs
        }
        fn outputs(&self) -> &[Port] {
            &self.outputs
        }
        fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>, RuntimeError> {
            let fail = |m: &str| RuntimeError::Run { message: m.into() };
            let [a, b] = inputs else {
                return Err(fail("two inputs"));
            };
            let (Data::Float(a), Data::Float(b)) = (&a.data, &b.data) else {
                return Err(fail("floats"));
            };
            if b.len() != 2 * a.len() || b.iter().step_by(2).zip(a).any(|(b, a)| *b != a + 1.0) {
                return Err(fail("b is not the next two columns"));
            }
            let maps = a
                .iter()
                .map(|p| {
                    vec![
                        (Key::Str("yes".into()), *p),
                        (Key::Str("no".into()), 1.0 - p),
                    ]
                })
                .collect();
            Ok(vec![
                Tensor::maps("probs", DType::String, DType::F32, maps, true)
                    .map_err(|e| fail(&e.to_string()))?,
            ])
        }
        fn target(&self) -> String {
            "fake".into()
        }
    }

    fn labels(classes: &[&str]) -> Labels {
        Labels {
            column: "label".into(),
            ids: vec![1, 0, 1],
            classes: classes.iter().map(|c| Class::Str((*c).into())).collect(),
        }
    }

    #[test]
    fn columns_go_to_named_inputs_and_zipmap_probabilities_follow_the_classes() {
        let backend = TwoInputs::new();
        // Rows of (a, b0, b1), b0 = a + 1.
        let features = [0.75, 1.75, 9.0, 0.25, 1.25, 9.0, 0.5, 1.5, 9.0];
        let layout = [("a".to_owned(), 1), ("b".to_owned(), 2)];
        let truth = Truth::Classes(labels(&["no", "yes"]));
        let outputs = Outputs {
            label: None,
            probabilities: None,
        };
        let p = from_model(&backend, &features, 3, &layout, &truth, &outputs).expect("runs");
        // Columns in the order of the classes (`no`, `yes`), whatever the maps' key order.
        assert_eq!(p.proba, Some(vec![0.25, 0.75, 0.75, 0.25, 0.5, 0.5]));
        assert_eq!(p.classes, Some(vec![1, 0, 1]));

        let e = from_model(&backend, &features, 3, &[], &truth, &outputs).expect_err("no layout");
        assert_eq!(
            e,
            "the model takes 2 inputs (a, b): map the feature columns to them with `inputs` (`--input NAME=COL,...`)"
        );
        let wrong = [("a".to_owned(), 1), ("c".to_owned(), 2)];
        let e = from_model(&backend, &features, 3, &wrong, &truth, &outputs).expect_err("c");
        assert!(
            e.starts_with("the model needs input `b`, which `inputs` does not map"),
            "{e}"
        );
        let other = Truth::Classes(labels(&["no", "maybe"]));
        let e = from_model(&backend, &features, 3, &layout, &other, &outputs).expect_err("keys");
        assert_eq!(
            e,
            "output `probs` has no probability for class `maybe` (its keys: no, yes; the label column's classes: no, maybe)"
        );
    }
}
