//! `modelci report merge`: join the reports of sharded runs.

use std::path::PathBuf;

use modelci_report::merge::{junit_verdict, merge_junit, merge_runs};
use modelci_report::{json, junit};

use crate::cli::MergeArgs;
use crate::output::{self, EXIT_ERROR, Output, ReportKind, Verbosity};
use crate::terminal;

pub fn run(args: &MergeArgs) -> u8 {
    let target = match (&args.junit, &args.json) {
        (Some(p), None) => Output::choose(ReportKind::Junit, Some(p), None),
        (None, Some(p)) => Output::choose(ReportKind::Json, Some(p), None),
        _ => None,
    };
    let Some(target) = target else {
        output::error("give exactly one of --junit OUT or --json OUT", None);
        return EXIT_ERROR;
    };
    if let Err(message) = output::prepare(std::slice::from_ref(&target)) {
        output::error(&message, None);
        return EXIT_ERROR;
    }
    for (i, input) in args.inputs.iter().enumerate() {
        if args.inputs[..i].contains(input) {
            output::error(&format!("`{}` is given twice", input.display()), None);
            return EXIT_ERROR;
        }
    }
    match target.kind {
        ReportKind::Junit => merge_junit_files(&args.inputs, &target.path),
        ReportKind::Json => merge_json_files(&args.inputs, &target.path),
    }
}

fn merge_json_files(inputs: &[PathBuf], out: &std::path::Path) -> u8 {
    let Some(runs) = read_all(inputs, json::read_file) else {
        return EXIT_ERROR;
    };
    // The parts of split load suites (one per shard) are joined and judged again over the
    // whole; the rest merges case by case.
    let (runs, parts) = take_load_parts(runs);
    let mut merged = match merge_runs(runs) {
        Ok(m) => m,
        Err(e) => {
            output::error(&e.to_string(), None);
            return EXIT_ERROR;
        }
    };
    for (_, suites) in parts {
        match modelci_load::suite::merge_shards(suites) {
            Ok(suite) => merged.suites.push(suite),
            Err(e) => {
                output::error(&e, None);
                return EXIT_ERROR;
            }
        }
    }
    merged.refresh_summary();
    if let Err(e) = json::write_file(&merged, out) {
        output::error(&e.to_string(), None);
        return EXIT_ERROR;
    }
    output::github(&merged);
    let mut text = terminal::render(
        &merged,
        output::colour(output::human_stream()),
        output::verbosity(),
    );
    if output::verbosity() > Verbosity::Quiet {
        text.push_str(&format!(
            "merged {} report(s) into {}\n",
            inputs.len(),
            shown(out)
        ));
    }
    output::human(&text);
    merged.summary.verdict.exit_code()
}

fn merge_junit_files(inputs: &[PathBuf], out: &std::path::Path) -> u8 {
    let Some(reports) = read_all(inputs, junit::read_file) else {
        return EXIT_ERROR;
    };
    let merged = match merge_junit(reports) {
        Ok(m) => m,
        Err(e) => {
            output::error(&e.to_string(), None);
            return EXIT_ERROR;
        }
    };
    let write = modelci_report::write_atomic(out, |w| {
        merged
            .serialize(w)
            .map_err(|e| std::io::Error::other(e.to_string()))
    });
    if let Err(e) = write {
        output::error(&e.to_string(), None);
        return EXIT_ERROR;
    }
    let verdict = junit_verdict(&merged);
    if output::verbosity() == Verbosity::Quiet {
        output::human(&format!("verdict: {verdict}\n"));
    } else {
        output::human(&format!(
            "merged {} report(s) into {}: {} tests, {} failures, {} errors, {} skipped; verdict: {verdict}\n",
            inputs.len(),
            shown(out),
            merged.tests,
            merged.failures,
            merged.errors,
            merged.skipped
        ));
    }
    verdict.exit_code()
}

/// The output for messages: `stdout` for `-`.
fn shown(out: &std::path::Path) -> String {
    if modelci_report::is_stdout(out) {
        "stdout".to_owned()
    } else {
        out.display().to_string()
    }
}

/// Reads every input, printing the first error (and returning `None`) when one fails.
fn read_all<T>(
    inputs: &[PathBuf],
    read: impl Fn(&std::path::Path) -> Result<T, modelci_report::ReportError>,
) -> Option<Vec<(PathBuf, T)>> {
    let mut out = Vec::with_capacity(inputs.len());
    for path in inputs {
        match read(path) {
            Ok(r) => out.push((path.clone(), r)),
            Err(e) => {
                output::error(&e.to_string(), None);
                return None;
            }
        }
    }
    Some(out)
}

/// A report and its file.
type Input = (PathBuf, modelci_report::Run);
/// A split suite's name and its parts.
type Parts = (String, Vec<modelci_report::Suite>);

/// Takes the load suites that ran as parts of a sharded run (`shard` among their properties)
/// out of the runs, grouped by suite name in order of first appearance.
fn take_load_parts(runs: Vec<Input>) -> (Vec<Input>, Vec<Parts>) {
    let mut parts: Vec<(String, Vec<modelci_report::Suite>)> = Vec::new();
    let runs = runs
        .into_iter()
        .map(|(path, mut run)| {
            let (split, keep): (Vec<_>, Vec<_>) = run
                .suites
                .into_iter()
                .partition(|s| s.kind == "load" && s.properties.get("shard").is_some());
            run.suites = keep;
            for suite in split {
                match parts.iter_mut().find(|(n, _)| *n == suite.name) {
                    Some((_, v)) => v.push(suite),
                    None => parts.push((suite.name.clone(), vec![suite])),
                }
            }
            (path, run)
        })
        .collect();
    (runs, parts)
}
