//! The Markdown reference pages (built by the tests that keep `docs/reference/` current).

use std::fmt::Write as _;

use serde_json::Value;

/// The header every generated page starts with.
const GENERATED: &str = "<!-- Generated from the code: do not edit. `MODELCI_UPDATE_DOCS=1 cargo test -p modelci \
reference_pages` regenerates it. -->";

/// The command-line reference: every command and subcommand, its usage, and each argument with
/// its value, default, choices and help.
pub fn cli_reference(root: &clap::Command) -> String {
    let mut root = root.clone();
    root.build();
    let mut out = format!("{GENERATED}\n\n# Command-line reference\n\n");
    out.push_str(
        "Every command, as `modelci help COMMAND` prints it. Exit codes: 0 every case passed, 1 at \
least one case failed, 2 modelci could not evaluate (see [Exit codes](../exit-codes.md)).\n",
    );
    command_section(&root, "modelci", &mut out);
    out
}

fn command_section(cmd: &clap::Command, path: &str, out: &mut String) {
    if cmd.is_hide_set() {
        return;
    }
    let _ = write!(out, "\n## `{path}`\n\n");
    if let Some(about) = cmd.get_long_about().or(cmd.get_about()) {
        let _ = writeln!(out, "{}\n", about.to_string().trim());
    }
    let usage = cmd.clone().render_usage().to_string();
    let usage = usage.trim().trim_start_matches("Usage:").trim();
    let _ = writeln!(out, "```text\n{usage}\n```");
    let args: Vec<&clap::Arg> = cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set() && a.get_id() != "help" && a.get_id() != "version")
        .collect();
    if !args.is_empty() {
        out.push_str("\n| argument | help |\n|---|---|\n");
        for arg in args {
            let _ = writeln!(out, "| {} | {} |", arg_name(arg), arg_help(arg));
        }
    }
    let subs: Vec<&clap::Command> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        .collect();
    if !subs.is_empty() {
        out.push_str("\n| command | what it does |\n|---|---|\n");
        for s in &subs {
            let about = s.get_about().map(|a| a.to_string()).unwrap_or_default();
            let _ = writeln!(
                out,
                "| [`{path} {}`](#{}) | {} |",
                s.get_name(),
                anchor(&format!("{path} {}", s.get_name())),
                cell(&about)
            );
        }
        for s in subs {
            command_section(s, &format!("{path} {}", s.get_name()), out);
        }
    }
}

/// mdBook's heading anchor for a heading made of `text` in backquotes.
fn anchor(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

fn arg_name(arg: &clap::Arg) -> String {
    let values: Vec<String> = arg
        .get_value_names()
        .map(|v| v.iter().map(|n| format!("<{n}>")).collect())
        .unwrap_or_default();
    let takes_value = arg.get_action().takes_values();
    let value = if takes_value && !values.is_empty() {
        format!(" {}", values.join(" "))
    } else if takes_value {
        format!(" <{}>", arg.get_id().as_str().to_uppercase())
    } else {
        String::new()
    };
    let name = match (arg.get_short(), arg.get_long()) {
        (Some(s), Some(l)) => format!("`-{s}`, `--{l}{value}`"),
        (None, Some(l)) => format!("`--{l}{value}`"),
        (Some(s), None) => format!("`-{s}{value}`"),
        (None, None) => format!("`{}`", values.join(" ")),
    };
    if arg.is_required_set() {
        format!("{name} (required)")
    } else {
        name
    }
}

fn arg_help(arg: &clap::Arg) -> String {
    let mut help = arg
        .get_long_help()
        .or(arg.get_help())
        .map(|h| h.to_string())
        .unwrap_or_default();
    let help_text = help.trim_end().to_owned();
    help = help_text;
    if !help.is_empty() && !help.ends_with(['.', ':']) {
        help.push('.');
    }
    let choices: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|p| !p.is_hide_set())
        .map(|p| format!("`{}`", p.get_name()))
        .collect();
    if !choices.is_empty() {
        let _ = write!(help, " One of {}.", choices.join(", "));
    }
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|d| d.to_string_lossy().into_owned())
        .collect();
    if !defaults.is_empty() && arg.get_action().takes_values() {
        let _ = write!(help, " Default: `{}`.", defaults.join(" "));
    }
    cell(help.trim())
}

/// Text for one table cell: one line, pipes escaped.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// The configuration reference: every table of `modelci.toml` and every key with its type,
/// default and description, from the configuration's JSON Schema (`modelci schema config`).
pub fn config_reference(schema: &Value) -> String {
    let mut out = format!("{GENERATED}\n\n# Configuration reference\n\n");
    out.push_str(
        "Every table and key of `modelci.toml`, from its JSON Schema (`modelci schema config`, \
also at `contracts/modelci/config.schema.json`: editors that read `#:schema` or a schema \
association complete and check the file with it). [Configuration](../configuration.md) \
explains how the pieces fit together. Every string value may use `${VAR}` / `${VAR:-default}` \
from the environment where the configuration page says so.\n",
    );
    let defs = schema.get("$defs").cloned().unwrap_or(Value::Null);
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return out;
    };
    for (name, prop) in props {
        table(&defs, prop, &format!("[{name}]"), name, &mut out);
    }
    out
}

/// Follows `$ref`s and drops `null` from an `anyOf` (optional values): the schema a value
/// really has.
fn resolve<'a>(defs: &'a Value, schema: &'a Value) -> &'a Value {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/$defs/");
        if let Some(def) = defs.get(name) {
            return resolve(defs, def);
        }
    }
    if let Some(any) = schema.get("anyOf").and_then(Value::as_array) {
        let non_null: Vec<&Value> = any
            .iter()
            .filter(|s| s.get("type").and_then(Value::as_str) != Some("null"))
            .collect();
        if let [only] = non_null.as_slice() {
            return resolve(defs, only);
        }
    }
    schema
}

/// The object schema of a table value (`[x]`) or of an array of tables' items (`[[x]]`).
fn table_of<'a>(defs: &'a Value, schema: &'a Value) -> Option<(&'a Value, bool)> {
    let s = resolve(defs, schema);
    if s.get("properties").is_some() {
        return Some((s, false));
    }
    if s.get("type").and_then(Value::as_str) == Some("array") {
        let items = resolve(defs, s.get("items")?);
        if items.get("properties").is_some() {
            return Some((items, true));
        }
    }
    None
}

fn table(defs: &Value, schema: &Value, heading: &str, path: &str, out: &mut String) {
    let Some((object, _)) = table_of(defs, schema) else {
        return;
    };
    let Some(props) = object.get("properties").and_then(Value::as_object) else {
        return;
    };
    let description = schema
        .get("description")
        .or_else(|| object.get("description"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let _ = write!(out, "\n## `{heading}`\n\n");
    if !description.is_empty() {
        let _ = writeln!(out, "{}\n", description.trim());
    }
    let required: Vec<&str> = object
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut nested = Vec::new();
    let mut rows = String::new();
    for (key, prop) in props {
        if let Some((_, many)) = table_of(defs, prop) {
            let child = format!("{path}.{key}");
            let head = if many {
                format!("[[{child}]]")
            } else {
                format!("[{child}]")
            };
            nested.push((prop, head, child));
            continue;
        }
        let mut text = prop
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if let Some(default) = prop
            .get("default")
            .filter(|d| !d.is_null() && !text.to_lowercase().contains("default"))
        {
            let _ = write!(text, " Default: `{}`.", toml_value(default));
        }
        let key_text = if required.contains(&key.as_str()) {
            format!("`{key}` (required)")
        } else {
            format!("`{key}`")
        };
        let _ = writeln!(
            rows,
            "| {key_text} | {} | {} |",
            cell(&type_name(defs, prop)),
            cell(&text)
        );
    }
    if !rows.is_empty() {
        out.push_str("| key | type | description |\n|---|---|---|\n");
        out.push_str(&rows);
    }
    for (prop, head, child) in nested {
        table(defs, prop, &head, &child, out);
    }
}

/// A value as it is written in TOML, for defaults.
fn toml_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{s}\""),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(toml_value).collect::<Vec<_>>().join(", ")
        ),
        other => other.to_string(),
    }
}

/// A value's type in words: `string`, `integer >= 1`, `"a" \| "b"`, `array of string`, ...
fn type_name(defs: &Value, schema: &Value) -> String {
    let s = resolve(defs, schema);
    let consts: Vec<String> = s
        .get("oneOf")
        .or_else(|| s.get("anyOf"))
        .and_then(Value::as_array)
        .map(|alts| {
            alts.iter()
                .filter_map(|a| a.get("const").map(|c| format!("`{}`", toml_value(c))))
                .collect()
        })
        .unwrap_or_default();
    if !consts.is_empty() {
        return consts.join(" | ");
    }
    if let Some(values) = s.get("enum").and_then(Value::as_array) {
        return values
            .iter()
            .map(|v| format!("`{}`", toml_value(v)))
            .collect::<Vec<_>>()
            .join(" | ");
    }
    if let Some(alts) = s.get("anyOf").and_then(Value::as_array) {
        return alts
            .iter()
            .filter(|a| a.get("type").and_then(Value::as_str) != Some("null"))
            .map(|a| type_name(defs, a))
            .collect::<Vec<_>>()
            .join(" or ");
    }
    let kind = match s.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "any".to_owned(),
    };
    match kind.as_str() {
        "array" => match s.get("items") {
            Some(items) => format!("array of {}", type_name(defs, items)),
            None => "array".into(),
        },
        "object" => match s.get("additionalProperties") {
            Some(v) if v.is_object() => format!("table of {}", type_name(defs, v)),
            _ => "table".into(),
        },
        "integer" | "number" => {
            let mut t = kind.clone();
            if let Some(min) = s.get("minimum") {
                let _ = write!(t, " >= {min}");
            }
            if let Some(max) = s.get("maximum") {
                let _ = write!(t, " <= {max}");
            }
            t
        }
        _ => kind,
    }
}
