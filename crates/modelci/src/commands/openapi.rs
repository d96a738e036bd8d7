//! `modelci contract test` and `modelci contract validate`.

use std::path::Path;
use std::time::Duration;

use modelci_contract::openapi_suite::OpenApiCheck;
use modelci_contract::suite::RecordedFile;
use modelci_openapi::{Document, Kind, Operation};
use modelci_report::Location;

use crate::cli::{TestArgs, ValidateArgs};
use crate::commands::contract::parse_header;
use crate::output::{self, EXIT_ERROR};

/// Loads an OpenAPI document and its operations, or prints why not.
fn load(
    path: &Path,
    allow_remote: bool,
    timeout: Duration,
) -> Result<(Document, Vec<Operation>), (String, Option<Location>)> {
    let shown = modelci_config::display_path(path);
    let fetch = |url: &str| modelci_contract::get_text(url, timeout);
    let remote: Option<modelci_openapi::load::Fetcher<'_>> = allow_remote.then_some(&fetch);
    let doc = modelci_openapi::load::load_with(path, &shown, remote).map_err(|e| {
        let loc = Location {
            file: e.source_name.clone(),
            line: e.line,
            column: None,
        };
        (format!("cannot use the OpenAPI document: {e}"), Some(loc))
    })?;
    if doc.kind == Kind::JsonSchema {
        return Err((
            format!("`{shown}` is a JSON Schema, not an OpenAPI document"),
            Some(Location::file(shown)),
        ));
    }
    let ops = modelci_openapi::operations(&doc).map_err(|e| {
        (
            format!("`{shown}`: {e}"),
            Some(Location::file(shown.clone())),
        )
    })?;
    Ok((doc, ops))
}

/// Why a command could not run: the message and, when known, where.
type Failure = (String, Option<Location>);

/// Prints a failure and gives the exit code for "could not evaluate".
fn report(result: Result<u8, Failure>) -> u8 {
    result.unwrap_or_else(|(message, at)| {
        output::error(&message, at.as_ref());
        EXIT_ERROR
    })
}

pub fn test(args: &TestArgs) -> u8 {
    report(test_inner(args))
}

/// `contract test`'s flags, by the `[[suite.openapi]]` key each one sets.
const TEST_FLAGS: &[(&str, &str)] = &[
    ("openapi", "--openapi"),
    ("base_url", "--base-url"),
    ("recorded", "--recorded"),
    ("previous", "--previous"),
    ("base_ref", "--base-ref"),
    ("operations", "--operation"),
    ("max_cases", "--max-cases"),
    ("timeout_secs", "--timeout"),
    ("concurrency", "--concurrency"),
    ("max_failures", "--max-failures"),
    ("max_response_time_secs", "--max-response-time"),
    ("allow_empty", "--allow-empty"),
];

fn test_inner(args: &TestArgs) -> Result<u8, Failure> {
    use toml::Spanned;
    let plain = |m: String| (m, None);
    let outputs = output::requested(&args.reports).map_err(plain)?;
    let headers = args
        .header
        .iter()
        .map(|h| parse_header(h))
        .collect::<Result<Vec<_>, _>>()
        .map_err(plain)?;
    // The flags make a `[[suite.openapi]]` table, checked as the configuration's would be.
    let raw = modelci_config::OpenApiSuiteFile {
        name: Spanned::new(0..0, "openapi".to_owned()),
        openapi: Spanned::new(0..0, args.openapi.clone()),
        base_url: Some(Spanned::new(0..0, args.base_url.clone())),
        recorded: Vec::new(),
        previous: None,
        base_ref: None,
        fail_on: None,
        diff_ignore: Vec::new(),
        operations: args.operation.clone(),
        allow_remote_refs: args.allow_remote_refs,
        max_cases: Some(args.max_cases),
        seed: Some(args.seed),
        timeout_secs: Some(args.timeout),
        concurrency: Some(args.concurrency),
        max_failures: Some(args.max_failures),
        max_response_time_secs: args.max_response_time,
        negative: Some(!args.no_negative),
        stateful: Some(!args.no_stateful),
        shrink: Some(!args.no_shrink),
        headers: std::collections::BTreeMap::new(),
        secret_headers: std::collections::BTreeMap::new(),
        allow_empty: args.allow_empty,
    };
    let mut spec =
        modelci_config::openapi::resolve(raw, &modelci_config::Origin::flags(TEST_FLAGS))
            .map_err(|e| plain(e.to_string()))?;
    // Headers as given, in order (a name may repeat).
    spec.headers = headers;
    let check = OpenApiCheck::plan(&spec, "").map_err(|e| {
        let at = (!e.location.file.is_empty()).then_some(e.location);
        (e.message, at)
    })?;
    if let Some((f, doc)) = check.unknown_operation(&args.operation) {
        return Err(plain(format!(
            "--operation {f}: `{doc}` has no such operation"
        )));
    }
    let shown = modelci_config::display_path(&args.openapi);
    let options = crate::commands::run_options(None);
    let planned = modelci_runner::Planned {
        name: shown.clone(),
        kind: "openapi".into(),
        location: Some(Location::file(shown)),
        suite: Box::new(check),
    };
    let mut progress = crate::terminal::Progress::new().one_suite();
    let mut run = modelci_runner::run_planned(vec![planned], &options, &mut progress);
    progress.finish();
    run.properties
        .insert("base_url", modelci_contract::shown_url(&args.base_url));
    run.properties.insert("seed", args.seed.to_string());
    Ok(output::finish(&run, &outputs))
}

pub fn validate(args: &ValidateArgs) -> u8 {
    report(validate_inner(args))
}

fn validate_inner(args: &ValidateArgs) -> Result<u8, Failure> {
    use std::sync::Arc;
    let outputs = output::requested(&args.reports).map_err(|m| (m, None))?;
    let timeout =
        modelci_config::values::seconds(args.timeout, "`--timeout`").map_err(|m| (m, None))?;
    let (doc, ops) = load(&args.openapi, args.allow_remote_refs, timeout)?;
    let (doc, ops) = (Arc::new(doc), Arc::new(ops));
    // One suite per recorded file.
    let planned = args
        .recorded
        .iter()
        .map(|path| {
            let shown = modelci_config::display_path(path);
            modelci_runner::Planned {
                name: shown.clone(),
                kind: "openapi-recorded".into(),
                location: Some(Location::file(shown)),
                suite: Box::new(RecordedFile::new(Arc::clone(&doc), Arc::clone(&ops), path)),
            }
        })
        .collect();
    let options = crate::commands::run_options(None);
    let mut progress = crate::terminal::Progress::new();
    let run = modelci_runner::run_planned(planned, &options, &mut progress);
    progress.finish();
    Ok(output::finish(&run, &outputs))
}
