//! `modelci gate`: the flags become a `[[suite.gate]]` (so both are checked the same way), the
//! gate runs, and its cases are reported like any run.

use std::sync::Arc;

use modelci_config::gate::{GateSuiteFile, Latency};

use crate::cli::GateArgs;
use crate::output::{self, EXIT_ERROR};

pub fn run(args: &GateArgs) -> u8 {
    match run_inner(args) {
        Ok(code) => code,
        Err(message) => {
            output::error(&message, None);
            EXIT_ERROR
        }
    }
}

fn parse_enum<T: serde::de::DeserializeOwned>(
    flag: &str,
    value: &str,
    allowed: &str,
) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(value.to_owned()))
        .map_err(|_| format!("{flag} must be {allowed}, not `{value}`"))
}

/// `--input NAME=COL[,COL...]` flags as the `inputs` table.
fn parse_inputs(
    flags: &[String],
) -> Result<std::collections::BTreeMap<String, Vec<String>>, String> {
    let mut out = std::collections::BTreeMap::new();
    for flag in flags {
        let Some((name, columns)) = flag.split_once('=') else {
            return Err(format!(
                "--input must be NAME=COL[,COL...] (a model input and its feature columns), not `{flag}`"
            ));
        };
        let name = name.trim().to_owned();
        let columns: Vec<String> = if columns.trim().is_empty() {
            Vec::new()
        } else {
            columns.split(',').map(|c| c.trim().to_owned()).collect()
        };
        if out.insert(name.clone(), columns).is_some() {
            return Err(format!("--input `{name}` is given twice"));
        }
    }
    Ok(out)
}

fn run_inner(args: &GateArgs) -> Result<u8, String> {
    let outputs = output::requested(&args.reports)?;
    let file = GateSuiteFile {
        name: toml::Spanned::new(0..0, "gate".to_owned()),
        model_name: args.model_name.clone(),
        candidate: args.candidate.clone(),
        baseline: args.baseline.clone(),
        endpoint: args.endpoint.clone(),
        endpoint_model: args.endpoint_model.clone(),
        dataset: args.dataset.clone(),
        label: args.label.clone(),
        features: args.features.clone(),
        inputs: parse_inputs(&args.inputs)?,
        prediction: args.prediction.clone(),
        baseline_prediction: args.baseline_prediction.clone(),
        probabilities: args.probabilities.clone(),
        sensitive: args.sensitive.clone(),
        task: parse_enum("--task", &args.task, "classifier or regressor")?,
        average: parse_enum("--average", &args.average, "micro, macro or weighted")?,
        pos_label: args.pos_label.clone(),
        min_group_size: Some(args.min_group_size),
        label_output: args.label_output.clone(),
        probabilities_output: args.probabilities_output.clone(),
        thresholds: args.thresholds.clone(),
        tracking_uri: args.tracking_uri.clone(),
        timeout_secs: args.timeout,
        budget_secs: args.budget,
        device: Some(args.device.clone()),
        resamples: Some(args.resamples),
        seed: Some(args.seed),
        latency: (!args.latency_batch_sizes.is_empty()).then(|| Latency {
            warmup: args.latency_warmup,
            iterations: args.latency_iterations,
            batch_sizes: args.latency_batch_sizes.clone(),
        }),
        record: args.record,
        promote_alias: args.promote_alias.clone(),
    };
    let spec = modelci_config::gate::resolve(file, &modelci_config::Origin::flags(GATE_FLAGS))
        .map_err(|e| e.to_string())?;
    let name = match &spec.model_name {
        Some(n) => format!("gate {n} {}", spec.candidate),
        None => format!("gate {}", spec.candidate),
    };
    let gate = Arc::new(modelci_gate::GateCheck::plan(&spec, "", 0).with_options(
        modelci_gate::run::Options {
            ort_lib: args.ort_lib.clone(),
        },
    ));
    let options = crate::commands::run_options(None);
    let planned = modelci_runner::Planned {
        name,
        kind: "gate".into(),
        location: None,
        suite: Box::new(Arc::clone(&gate)),
    };
    let mut progress = crate::terminal::Progress::new().one_suite();
    let run = modelci_runner::run_planned(vec![planned], &options, &mut progress);
    progress.finish();
    // A gate that could not run at all has no case but `(setup)`: its message is the error.
    if let [suite] = run.suites.as_slice()
        && let [case] = suite.cases.as_slice()
        && case.name == "(setup)"
    {
        return Err(case.message.clone().unwrap_or_default());
    }
    if args.explain {
        let mut text = String::from("thresholds:\n");
        for line in gate.explain() {
            text.push_str(&format!("  {line}\n"));
        }
        output::human(&text);
    }
    Ok(output::finish(&run, &outputs))
}

/// `modelci gate`'s flags, by the `[[suite.gate]]` key each one sets.
const GATE_FLAGS: &[(&str, &str)] = &[
    ("model_name", "--model-name"),
    ("candidate", "--candidate"),
    ("baseline", "--baseline"),
    ("endpoint", "--endpoint"),
    ("prediction", "--prediction"),
    ("device", "--device"),
    ("resamples", "--resamples"),
    ("timeout_secs", "--timeout"),
    ("budget_secs", "--budget"),
    ("record", "--record"),
    ("promote_alias", "--promote-alias"),
    ("latency.iterations", "--latency-iterations"),
    ("latency.batch_sizes", "--latency-batch-sizes"),
    ("latency", "--latency-batch-sizes"),
    ("sensitive", "--sensitive"),
    ("features", "--feature"),
    ("inputs", "--input"),
];
