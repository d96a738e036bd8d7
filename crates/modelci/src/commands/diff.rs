//! `modelci contract diff`.

use std::path::Path;

use modelci_contract::contract_diff::{self, Roles};
use modelci_openapi::compat::Compat;
use modelci_openapi::diff::Severity;

use crate::cli::{DiffArgs, DiffFormat, DiffRole, FailOn};
use crate::output::{self, EXIT_ERROR};

pub fn run(args: &DiffArgs) -> u8 {
    match run_inner(args) {
        Ok(code) => code,
        Err(message) => {
            output::error(&message, None);
            EXIT_ERROR
        }
    }
}

fn run_inner(args: &DiffArgs) -> Result<u8, String> {
    let (old_text, old_name, new_path) = match (&args.base_ref, args.files.as_slice()) {
        (Some(reference), [new]) => {
            let text = contract_diff::read_at_ref(new, reference)?;
            let name = format!("{}@{reference}", modelci_config::display_path(new));
            (text, name, new.clone())
        }
        (Some(_), _) => {
            return Err("with --base-ref, give only the NEW file (OLD is read from git)".into());
        }
        (None, [old, new]) => {
            let text = read(old)?;
            (text, modelci_config::display_path(old), new.clone())
        }
        (None, _) => return Err("give OLD and NEW files, or NEW and --base-ref GIT_REF".into()),
    };
    let new_name = modelci_config::display_path(&new_path);
    let old = modelci_openapi::parse(&old_text, &old_name).map_err(|e| e.to_string())?;
    let new = modelci_openapi::parse(&read(&new_path)?, &new_name).map_err(|e| e.to_string())?;
    let roles = match args.role {
        DiffRole::Request => Roles::Request,
        DiffRole::Response => Roles::Response,
        DiffRole::Both => Roles::Both,
    };
    let fail_on = match args.fail_on {
        FailOn::Breaking => Severity::Breaking,
        FailOn::Warning => Severity::Warning,
    };
    let report = contract_diff::diff(&old, &new, roles, &Compat)?;
    let text = match args.format {
        DiffFormat::Text => report.to_text(fail_on),
        DiffFormat::Json => {
            let mut t = serde_json::to_string_pretty(&report.to_json(fail_on)).unwrap_or_default();
            t.push('\n');
            t
        }
        DiffFormat::Markdown => report.to_markdown(fail_on),
        DiffFormat::Junit => {
            let run = report.to_run("contract-diff", fail_on, env!("CARGO_PKG_VERSION"));
            modelci_report::junit::to_string(&run)
        }
    };
    match &args.output {
        Some(path) => modelci_report::write_atomic(path, |w| w.write_all(text.as_bytes()))
            .map_err(|e| e.to_string())?,
        None => output::stdout(&text),
    }
    if output::github_actions() {
        let run = report.to_run("contract-diff", fail_on, env!("CARGO_PKG_VERSION"));
        output::github(&run);
    }
    Ok(u8::from(report.fails(fail_on)))
}

fn read(path: &Path) -> Result<String, String> {
    let shown = modelci_config::display_path(path);
    let bytes = std::fs::read(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            format!("`{shown}`: no such file")
        } else {
            format!("failed to read `{shown}`: {e}")
        }
    })?;
    String::from_utf8(bytes).map_err(|_| format!("`{shown}` is not valid UTF-8"))
}
