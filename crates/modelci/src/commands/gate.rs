//! `modelci gate`: the flags become a `[[suite.gate]]` (so both are checked the same way), the
//! gate runs, and its cases are reported like any run.

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

fn run_inner(args: &GateArgs) -> Result<u8, String> {
    use modelci_report::{Run, Suite};

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
    let spec = file.resolve(std::path::Path::new(""))?;
    let started = std::time::Instant::now();
    let gated = modelci_gate::run::run(
        &spec,
        &modelci_gate::run::Options {
            ort_lib: args.ort_lib.clone(),
        },
    )
    .map_err(|e| e.0)?;
    if args.explain {
        let mut text = String::from("thresholds:\n");
        for line in &gated.explain {
            text.push_str(&format!("  {line}\n"));
        }
        output::stdout(&text);
    }
    let mut run = Run::new(env!("CARGO_PKG_VERSION"));
    run.started_at = Some(crate::commands::contract::chrono_now());
    let name = match &spec.model_name {
        Some(n) => format!("gate {n} {}", spec.candidate),
        None => format!("gate {}", spec.candidate),
    };
    let mut suite = Suite::new(name, "gate");
    suite.properties = gated.properties;
    suite.cases = gated.cases;
    suite.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    // The gate is judged as a whole: its time is shared by its cases.
    let share = suite.duration_ms / suite.cases.len().max(1) as f64;
    for c in &mut suite.cases {
        c.duration_ms = share;
    }
    run.suites.push(suite);
    run.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    run.refresh_summary();
    Ok(output::finish(&run, &outputs))
}
