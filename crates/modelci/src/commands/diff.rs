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
    let timeout = modelci_config::values::seconds(args.timeout, "`--timeout`")?;
    let fetch = |url: &str| modelci_contract::get_text(url, timeout);
    let remote: Option<modelci_openapi::load::Fetcher<'_>> =
        args.allow_remote_refs.then_some(&fetch);
    // A file is read with the documents its `$ref`s point into; a version read from git stands
    // alone (its references to other files are reported as unresolvable).
    let load = |path: &Path| {
        let shown = modelci_config::display_path(path);
        if !path.exists() {
            return Err(format!("`{shown}`: no such file"));
        }
        modelci_openapi::load::load_with(path, &shown, remote).map_err(|e| e.to_string())
    };
    let (old, new) = match (&args.base_ref, args.files.as_slice()) {
        (Some(reference), [new]) => {
            let text = contract_diff::read_at_ref(new, reference).map_err(|e| e.to_string())?;
            let name = format!("{}@{reference}", modelci_config::display_path(new));
            let old = modelci_openapi::parse(&text, &name).map_err(|e| e.to_string())?;
            (old, load(new)?)
        }
        (Some(_), _) => {
            return Err("with --base-ref, give only the NEW file (OLD is read from git)".into());
        }
        (None, [old, new]) => (load(old)?, load(new)?),
        (None, _) => return Err("give OLD and NEW files, or NEW and --base-ref GIT_REF".into()),
    };
    let roles = match args.role {
        DiffRole::Request => Roles::Request,
        DiffRole::Response => Roles::Response,
        DiffRole::Both => Roles::Both,
    };
    let fail_on = match args.fail_on {
        FailOn::Breaking => Severity::Breaking,
        FailOn::Warning => Severity::Warning,
    };
    // Ignore files are read first: a broken one is an error before any work.
    let mut ignores = modelci_contract::diff_ignore::IgnoreList::default();
    for path in &args.ignore {
        let list = modelci_contract::diff_ignore::IgnoreList::load(path)?;
        ignores.entries.extend(list.entries);
    }
    let options = modelci_openapi::diff::DiffOptions {
        all_changes: args.all_changes || args.format == DiffFormat::Changelog,
    };
    let mut report = contract_diff::diff_with(&old, &new, roles, &Compat, options)?;
    report.apply_ignores(&ignores, contract_diff::today());
    // The warnings go to stderr too, where the text output is not (a report file, --format json).
    if !matches!(args.format, DiffFormat::Text) || args.output.is_some() {
        for w in &report.warnings {
            output::warning(w);
        }
    }
    let text = match args.format {
        DiffFormat::Text => report.to_text(fail_on),
        DiffFormat::Json => {
            let mut t = serde_json::to_string_pretty(&report.to_json(fail_on)).unwrap_or_default();
            t.push('\n');
            t
        }
        DiffFormat::Markdown => report.to_markdown(fail_on),
        DiffFormat::Changelog => report.to_changelog(),
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
