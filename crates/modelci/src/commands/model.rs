//! `modelci model inspect`, `model test` and `model record`.

use std::fmt::Write as _;

use modelci_model::onnx::{ModelInfo, Port, inspect as read_model};
use serde_json::{Value, json};

use crate::cli::{InspectArgs, ModelRecordArgs, ModelTestArgs};
use crate::output::{self, EXIT_ERROR};

pub fn inspect(args: &InspectArgs) -> u8 {
    match read_model(&args.path) {
        Ok(info) => {
            let text = if args.json {
                let mut t = serde_json::to_string_pretty(&to_json(&info)).unwrap_or_default();
                t.push('\n');
                t
            } else {
                to_text(&info)
            };
            output::stdout(&text);
            0
        }
        Err(e) => {
            output::error(&e.to_string(), None);
            EXIT_ERROR
        }
    }
}

fn port_json(p: &Port) -> Value {
    json!({
        "name": p.name,
        "dtype": p.dtype.map(|d| d.name()),
        "shape": p.shape.as_ref().map(|s| s.iter().map(|d| match d {
            modelci_model::onnx::Dim::Fixed(n) => json!(n),
            modelci_model::onnx::Dim::Symbolic(s) => json!(s),
            modelci_model::onnx::Dim::Any => Value::Null,
        }).collect::<Vec<_>>()),
    })
}

fn to_json(info: &ModelInfo) -> Value {
    json!({
        "path": info.path,
        "size_bytes": info.size_bytes,
        "sha256": info.sha256,
        "ir_version": info.ir_version,
        "producer": info.producer,
        "graph": info.graph_name,
        "opsets": info.opsets.iter().map(|(d, v)| json!({"domain": d, "version": v})).collect::<Vec<_>>(),
        "inputs": info.inputs.iter().map(port_json).collect::<Vec<_>>(),
        "outputs": info.outputs.iter().map(port_json).collect::<Vec<_>>(),
    })
}

fn to_text(info: &ModelInfo) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", info.path);
    let _ = writeln!(out, "  size:     {} bytes", info.size_bytes);
    let _ = writeln!(out, "  sha256:   {}", info.sha256);
    let _ = writeln!(out, "  ir:       {}", info.ir_version);
    if !info.producer.is_empty() {
        let _ = writeln!(out, "  producer: {}", info.producer);
    }
    let opsets: Vec<String> = info
        .opsets
        .iter()
        .map(|(d, v)| format!("{d} {v}"))
        .collect();
    let _ = writeln!(out, "  opsets:   {}", opsets.join(", "));
    let _ = writeln!(out, "  inputs:");
    for p in &info.inputs {
        let _ = writeln!(out, "    {p}");
    }
    let _ = writeln!(out, "  outputs:");
    for p in &info.outputs {
        let _ = writeln!(out, "    {p}");
    }
    out
}

pub fn test(args: &ModelTestArgs) -> u8 {
    match test_inner(args) {
        Ok(code) => code,
        Err(message) => {
            output::error(&message, None);
            EXIT_ERROR
        }
    }
}

fn test_inner(args: &ModelTestArgs) -> Result<u8, String> {
    use modelci_model::golden_suite::{self, Overrides};
    use modelci_model::runtime::Device;
    use modelci_report::{Location, Run, Suite};

    let outputs = output::requested(&args.reports)?;
    let device = Device::parse(&args.device)
        .ok_or_else(|| format!("--device must be cpu, cuda or auto, not `{}`", args.device))?;
    for (flag, v) in [("--rtol", args.rtol), ("--atol", args.atol)] {
        if v.is_some_and(|x| !(x.is_finite() && x >= 0.0)) {
            return Err(format!("{flag} must be a non-negative number"));
        }
    }
    let golden_suite::Opened { model, properties } =
        golden_suite::open(&args.model, device, args.ort_lib.as_deref())?;
    let started = std::time::Instant::now();
    let mut run = Run::new(env!("CARGO_PKG_VERSION"));
    run.started_at = Some(crate::commands::contract::chrono_now());
    let overrides = Overrides {
        rtol: args.rtol,
        atol: args.atol,
    };
    for path in &args.cases {
        let shown = modelci_config::display_path(path);
        let mut suite = Suite::new(shown.clone(), "model-golden");
        suite.location = Some(Location::file(shown.clone()));
        suite.properties = properties.clone();
        match golden_suite::load(path, &model) {
            Ok(loaded) => {
                for case in &loaded.cases {
                    suite.cases.push(golden_suite::run_case(
                        &model,
                        case,
                        overrides,
                        loaded.onnx_layout,
                    ));
                }
            }
            Err(e) => suite.cases.push(
                modelci_report::Case::errored(shown.clone(), e.to_string()).with_location(
                    Location {
                        file: e.file.clone(),
                        line: e.line,
                        column: None,
                    },
                ),
            ),
        }
        suite.duration_ms = suite.cases.iter().map(|c| c.duration_ms).sum();
        run.suites.push(suite);
    }
    run.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    run.refresh_summary();
    Ok(output::finish(&run, &outputs))
}

pub fn record(args: &ModelRecordArgs) -> u8 {
    match record_inner(args) {
        Ok(n) => {
            output::stdout(&format!(
                "recorded {n} golden case(s) to {}\n",
                args.out.display()
            ));
            0
        }
        Err(message) => {
            output::error(&message, None);
            EXIT_ERROR
        }
    }
}

/// Runs every input case; any failure aborts before anything is written, so a golden file is
/// never half-recorded.
fn record_inner(args: &ModelRecordArgs) -> Result<usize, String> {
    use modelci_model::golden_suite;
    use modelci_model::runtime::Device;

    let device = Device::parse(&args.device)
        .ok_or_else(|| format!("--device must be cpu, cuda or auto, not `{}`", args.device))?;
    let model = golden_suite::open(&args.model, device, args.ort_lib.as_deref())?.model;
    let mut recorded = Vec::new();
    for path in &args.inputs {
        let loaded = golden_suite::load(path, &model).map_err(|e| e.to_string())?;
        for mut case in loaded.cases {
            case.outputs = model.run(&case.inputs).map_err(|e| {
                format!(
                    "{}: case `{}`: the model could not run it: {e}",
                    case.source, case.name
                )
            })?;
            recorded.push(case);
        }
    }
    let mut names = std::collections::HashSet::new();
    for case in &mut recorded {
        // Cases from several sources can share a name; keep names unique so reports stay stable.
        let base = case.name.clone();
        let mut k = 2;
        while !names.insert(case.name.clone()) {
            case.name = format!("{base}-{k}");
            k += 1;
        }
    }
    let mut text = serde_json::to_string_pretty(&modelci_model::golden::to_json(&recorded))
        .map_err(|e| e.to_string())?;
    text.push('\n');
    let tmp = args.out.with_extension("json.partial");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, &args.out))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("{}: cannot write: {e}", args.out.display())
        })?;
    Ok(recorded.len())
}
