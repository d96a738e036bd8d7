//! `modelci model inspect`, `model test` and `model record`.

use std::fmt::Write as _;

use modelci_tensor::onnx::{ModelInfo, Port, inspect as read_model};
use serde_json::{Value, json};

use crate::cli::{InspectArgs, ModelRecordArgs, ModelTestArgs};
use crate::output::{self, EXIT_ERROR};

/// Prints the model's signature; with `--json PATH` also writes it as JSON there (`-`: stdout,
/// and then the text goes to stderr, like every command's report on stdout).
pub fn inspect(args: &InspectArgs) -> u8 {
    if let Some(path) = &args.json {
        let out = output::Output::choose(output::ReportKind::Json, Some(path), None);
        if let Err(message) = output::prepare(out.as_slice()) {
            output::error(&message, None);
            return EXIT_ERROR;
        }
    }
    let info = match read_model(&args.path) {
        Ok(info) => info,
        Err(e) => {
            output::error(&e.to_string(), None);
            return EXIT_ERROR;
        }
    };
    if let Some(path) = &args.json {
        let mut text = serde_json::to_string_pretty(&to_json(&info)).unwrap_or_default();
        text.push('\n');
        if let Err(e) =
            modelci_report::write_atomic(path, |w| std::io::Write::write_all(w, text.as_bytes()))
        {
            output::error(&e.to_string(), None);
            return EXIT_ERROR;
        }
    }
    if output::verbosity() > output::Verbosity::Quiet {
        output::human(&to_text(&info));
    }
    0
}

fn port_json(p: &Port) -> Value {
    let mut v = json!({
        "name": p.name,
        "dtype": p.dtype.map(|d| d.name()),
        "shape": p.shape.as_ref().map(|s| s.iter().map(|d| match d {
            modelci_tensor::onnx::Dim::Fixed(n) => json!(n),
            modelci_tensor::onnx::Dim::Symbolic(s) => json!(s),
            modelci_tensor::onnx::Dim::Any => Value::Null,
        }).collect::<Vec<_>>()),
    });
    // Sequences and maps (skl2onnx's ZipMap): their type, e.g. `seq(map(int64, float32))`.
    if let (Some(t), Some(o)) = (&p.value_type, v.as_object_mut()) {
        o.insert("type".into(), json!(t));
    }
    v
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

/// `model test`'s flags, by the `[[suite.model]]` key each one sets.
const MODEL_TEST_FLAGS: &[(&str, &str)] = &[
    ("model", "--model"),
    ("endpoint", "--endpoint"),
    ("model_name", "--model-name"),
    ("timeout_secs", "--timeout"),
    ("cases", "--cases"),
    ("max_batch", "--max-batch"),
    ("device", "--device"),
    ("rtol", "--rtol"),
    ("atol", "--atol"),
    ("tf32", "--tf32"),
    ("cudnn_conv_algo_search", "--cudnn-conv-algo-search"),
];

fn test_inner(args: &ModelTestArgs) -> Result<u8, String> {
    use modelci_config::model::{ModelSuiteFile, resolve};
    use modelci_model::golden_suite::ModelCheck;
    use modelci_report::Location;
    use modelci_runner::Planned;
    use toml::Spanned;

    let outputs = output::requested(&args.reports)?;
    // The flags make a `[[suite.model]]` table, checked as the configuration's would be.
    let raw = ModelSuiteFile {
        name: Spanned::new(0..0, "model".to_owned()),
        model: args.model.clone().map(|m| Spanned::new(0..0, m)),
        endpoint: args.endpoint.clone().map(|e| Spanned::new(0..0, e)),
        model_name: args.model_name.clone(),
        model_version: args.model_version.clone(),
        timeout_secs: Some(args.timeout),
        nonfinite_tokens: false,
        cases: Spanned::new(0..0, args.cases.clone()),
        per_row: args.per_row,
        max_batch: Some(args.max_batch),
        device: Some(Spanned::new(0..0, args.device.clone())),
        rtol: args.rtol,
        atol: args.atol,
        tolerance: None,
        tf32: args.tf32,
        cudnn_conv_algo_search: Some(Spanned::new(0..0, args.cudnn_conv_algo_search.clone())),
        label_output: None,
        edge_cases: None,
        invariants: None,
        robustness: Vec::new(),
        regression: None,
    };
    let spec = resolve(raw, &modelci_config::Origin::flags(MODEL_TEST_FLAGS))
        .map_err(|e| e.to_string())?;
    let check = ModelCheck::plan_with(&spec, "", args.ort_lib.as_deref());
    let shown = match (&spec.endpoint, &spec.model) {
        (Some(url), _) => format!(
            "{url}/v2/models/{}",
            spec.model_name.as_deref().unwrap_or_default()
        ),
        (None, Some(path)) => modelci_config::display_path(path),
        (None, None) => String::new(),
    };
    let options = crate::commands::run_options(None);
    // A model or runtime that cannot be used is one errored case, so the reports asked for are
    // still written (and say why).
    let suite: Box<dyn modelci_runner::SuiteTrait> = match check {
        Ok(mut check) => {
            check.set_cancel(std::sync::Arc::clone(&options.cancel));
            Box::new(check)
        }
        Err(e) => {
            let location = if e.location.file.is_empty() {
                Location::file(shown.clone())
            } else {
                e.location
            };
            Box::new(modelci_runner::SetupFailed::new(e.message, location))
        }
    };
    let suite = Planned {
        name: shown.clone(),
        kind: "model".into(),
        location: spec.endpoint.is_none().then(|| Location::file(shown)),
        suite,
    };
    let mut progress = crate::terminal::Progress::new().one_suite();
    let run = modelci_runner::run_planned(vec![suite], &options, &mut progress);
    progress.finish();
    Ok(output::finish(&run, &outputs))
}

pub fn record(args: &ModelRecordArgs) -> u8 {
    match record_inner(args) {
        Ok(Recorded::Written(n, on)) => {
            output::human(&format!(
                "recorded {n} golden case(s) to {} ({on})\n",
                args.out.display()
            ));
            0
        }
        Ok(Recorded::Unchanged(n, on)) => {
            output::human(&format!(
                "{}: unchanged ({n} golden case(s); {on})\n",
                args.out.display()
            ));
            0
        }
        Ok(Recorded::Changed(report)) => {
            output::human(&report);
            output::error(
                &format!(
                    "{}: the model's answers changed; rerun with --accept to overwrite the golden file",
                    args.out.display()
                ),
                None,
            );
            1
        }
        Err(message) => {
            output::error(&message, None);
            EXIT_ERROR
        }
    }
}

enum Recorded {
    /// Cases written, and what ran them ([`ran_on`]).
    Written(usize, String),
    Unchanged(usize, String),
    /// What changed, for the terminal (nothing was written).
    Changed(String),
}

/// Runs every input case; any failure aborts before anything is written, so a golden file is
/// never half-recorded. An existing file whose cases changed is only replaced with `--accept`.
fn record_inner(args: &ModelRecordArgs) -> Result<Recorded, String> {
    use modelci_model::golden_suite;

    let device: modelci_config::Device =
        args.device.parse().map_err(|e| format!("`--device` {e}"))?;
    let cuda = modelci_config::CudaOptions {
        tf32: args.tf32,
        conv_algo_search: args
            .cudnn_conv_algo_search
            .parse()
            .map_err(|e| format!("`--cudnn-conv-algo-search` {e}"))?,
    };
    let opened = golden_suite::open_pool(&args.model, device, args.ort_lib.as_deref(), 1, cuda)?;
    let on = ran_on(&opened.properties);
    let model = opened.model;
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
    let mut text = serde_json::to_string_pretty(&modelci_tensor::golden::to_json(&recorded))
        .map_err(|e| e.to_string())?;
    text.push('\n');
    if args.out.exists() {
        let old = modelci_tensor::golden::read_json(&args.out).map_err(|e| {
            format!("{e} (the existing golden file cannot be read; move it away to record afresh)")
        })?;
        let changes = golden_changes(&old, &recorded);
        if changes.is_empty() {
            return Ok(Recorded::Unchanged(recorded.len(), on));
        }
        if !args.accept {
            let mut report = format!(
                "{}: {} change(s) against the recorded golden cases:\n",
                args.out.display(),
                changes.len()
            );
            for c in &changes {
                let _ = writeln!(report, "  {c}");
            }
            return Ok(Recorded::Changed(report));
        }
    }
    let tmp = args.out.with_extension("json.partial");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, &args.out))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("{}: cannot write: {e}", args.out.display())
        })?;
    Ok(Recorded::Written(recorded.len(), on))
}

/// What a recording ran on, for its message: the device, and on CUDA whether TF32 was allowed,
/// the GPU, and the CUDA and cuDNN releases (answers recorded on one device may differ on
/// another within tolerances).
fn ran_on(properties: &modelci_report::Properties) -> String {
    let get = |k: &str| properties.get(k).map_or("", String::as_str);
    let mut on = format!("on {}, onnxruntime {}", get("device"), get("onnxruntime"));
    if get("device") == "cuda" {
        let _ = write!(on, ", tf32 {}", get("cuda_tf32"));
        if let Some(gpu) = properties.get("gpu") {
            let _ = write!(on, ", {gpu}");
        }
        for (name, key) in [("CUDA", "cuda_runtime"), ("cuDNN", "cudnn")] {
            if let Some(v) = properties.get(key) {
                let _ = write!(on, ", {name} {v}");
            }
        }
    }
    on
}

/// What differs between recorded golden cases and new answers: cases added or removed, inputs
/// that changed, and outputs that differ (exactly: re-recording is about any change).
fn golden_changes(
    old: &[modelci_tensor::golden::Case],
    new: &[modelci_tensor::golden::Case],
) -> Vec<String> {
    use modelci_model::{Tolerance, compare, compare::NanPolicy};
    let exact = Some(Tolerance {
        rtol: 0.0,
        atol: 0.0,
    });
    let mut out = Vec::new();
    for n in new {
        let Some(o) = old.iter().find(|o| o.name == n.name) else {
            out.push(format!("+ `{}`: new case", n.name));
            continue;
        };
        if o.inputs != n.inputs {
            out.push(format!("~ `{}`: its inputs differ", n.name));
        }
        for t in &n.outputs {
            match o.outputs.iter().find(|x| x.name == t.name) {
                None => out.push(format!("~ `{}`: new output `{}`", n.name, t.name)),
                Some(before) => {
                    if let Some(m) = compare(before, t, exact, NanPolicy::Equal) {
                        out.push(format!("~ `{}`: {}", n.name, m.message));
                    }
                }
            }
        }
        for t in &o.outputs {
            if !n.outputs.iter().any(|x| x.name == t.name) {
                out.push(format!("~ `{}`: output `{}` is gone", n.name, t.name));
            }
        }
    }
    for o in old {
        if !new.iter().any(|n| n.name == o.name) {
            out.push(format!("- `{}`: no longer recorded", o.name));
        }
    }
    out
}
