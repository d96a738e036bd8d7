//! `modelci model inspect`.

use std::fmt::Write as _;

use modelci_model::onnx::{ModelInfo, Port, inspect as read_model};
use serde_json::{Value, json};

use crate::cli::InspectArgs;
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
