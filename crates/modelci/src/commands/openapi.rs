//! `modelci contract test` and `modelci contract validate`.

use std::path::Path;
use std::time::{Duration, Instant};

use modelci_contract::openapi_recorded;
use modelci_contract::openapi_test::{self, LiveOptions};
use modelci_openapi::{Document, Kind, Operation};
use modelci_report::{Location, Run, Suite};

use crate::cli::{TestArgs, ValidateArgs};
use crate::commands::contract::{chrono_now, parse_header};
use crate::output::{self, EXIT_ERROR};

/// Loads an OpenAPI document and its operations, or prints why not.
fn load(
    path: &Path,
    allow_remote: bool,
) -> Result<(Document, Vec<Operation>), (String, Option<Location>)> {
    let shown = modelci_config::display_path(path);
    let fetch = |url: &str| modelci_contract::get_text(url, Duration::from_secs(30));
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

fn test_inner(args: &TestArgs) -> Result<u8, Failure> {
    let plain = |m: String| (m, None);
    let outputs = output::requested(&args.reports).map_err(plain)?;
    if !(args.base_url.starts_with("http://") || args.base_url.starts_with("https://")) {
        return Err(plain(format!(
            "--base-url must be an http:// or https:// URL, not `{}`",
            args.base_url
        )));
    }
    if !(args.timeout.is_finite() && args.timeout > 0.0) || args.concurrency == 0 {
        return Err(plain(
            "--timeout must be positive and --concurrency at least 1".into(),
        ));
    }
    let headers = args
        .header
        .iter()
        .map(|h| parse_header(h))
        .collect::<Result<Vec<_>, _>>()
        .map_err(plain)?;
    let (doc, ops) = load(&args.openapi, args.allow_remote_refs)?;
    if let Some(f) = args.operation.iter().find(|f| {
        !ops.iter()
            .any(|o| openapi_test::selected(o, std::slice::from_ref(f)))
    }) {
        return Err(plain(format!(
            "--operation {f}: `{}` has no such operation",
            doc.source
        )));
    }
    let opts = LiveOptions {
        base_url: args.base_url.clone(),
        headers,
        operations: args.operation.clone(),
        max_cases: args.max_cases,
        seed: args.seed,
        timeout: Duration::from_secs_f64(args.timeout),
        concurrency: args.concurrency,
    };
    let started = Instant::now();
    let mut run = Run::new(env!("CARGO_PKG_VERSION"));
    run.started_at = Some(chrono_now());
    run.properties.insert("base_url", args.base_url.clone());
    run.properties.insert("seed", args.seed.to_string());
    let mut suite = Suite::new(doc.source.clone(), "openapi");
    suite.location = Some(Location::file(doc.source.clone()));
    suite.properties.insert("openapi", doc.source.clone());
    suite.cases = openapi_test::test(&doc, &ops, &opts);
    suite.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    run.suites.push(suite);
    run.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    run.refresh_summary();
    Ok(output::finish(&run, &outputs))
}

pub fn validate(args: &ValidateArgs) -> u8 {
    report(validate_inner(args))
}

fn validate_inner(args: &ValidateArgs) -> Result<u8, Failure> {
    let outputs = output::requested(&args.reports).map_err(|m| (m, None))?;
    let (doc, ops) = load(&args.openapi, args.allow_remote_refs)?;
    let started = Instant::now();
    let mut run = Run::new(env!("CARGO_PKG_VERSION"));
    run.started_at = Some(chrono_now());
    for path in &args.recorded {
        let shown = modelci_config::display_path(path);
        let mut suite = Suite::new(shown.clone(), "openapi-recorded");
        suite.location = Some(Location::file(shown.clone()));
        suite.properties.insert("openapi", doc.source.clone());
        let t = Instant::now();
        match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => suite.cases = openapi_recorded::validate(&doc, &ops, &text, &shown),
                Err(_) => suite.cases.push(
                    modelci_report::Case::errored(
                        shown.clone(),
                        format!("`{shown}` is not valid UTF-8"),
                    )
                    .with_location(Location::file(shown.clone())),
                ),
            },
            Err(e) => suite.cases.push(
                modelci_report::Case::errored(
                    shown.clone(),
                    format!("failed to read `{shown}`: {e}"),
                )
                .with_location(Location::file(shown.clone())),
            ),
        }
        suite.duration_ms = t.elapsed().as_secs_f64() * 1000.0;
        run.suites.push(suite);
    }
    run.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    run.refresh_summary();
    Ok(output::finish(&run, &outputs))
}
