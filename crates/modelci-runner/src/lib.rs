//! Runs the suites of a configuration and collects one [`Run`].
//!
//! A run has two phases. *Planning* asks every selected suite for its cases (each with a stable
//! name); a suite that cannot be planned (unreadable schema, ...) becomes one errored case at the
//! line that declares the problem. *Execution* runs the cases of this shard on a small pool of
//! worker threads and hands each finished case to an [`Observer`] (the CLI's progress bar).
//! A panicking check becomes an errored case, and a cancelled run (Ctrl-C) marks the cases that
//! did not run as skipped and the run as interrupted: the caller always gets a complete [`Run`]
//! to write.
//!
//! Sharding (`--shard K/N`) deals the planned cases of the whole run round-robin, in declaration
//! order, so shards are balanced, disjoint, and together cover every case exactly once.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

pub mod service;

use modelci_config::{Config, SuiteDecl, SuiteSpec, suggest};
use modelci_contract::json_schema::JsonSchemaCheck;
use modelci_contract::openapi_suite::OpenApiCheck;
use modelci_contract::pact_verify::PactCheck;
use modelci_gate::GateCheck;
use modelci_model::golden_suite::ModelCheck;
use modelci_report::{Case, Location, Outcome, Run, ShardSpec, Suite};

/// What to run and how.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Run only the suites with these names (all when empty).
    pub only: Vec<String>,
    /// Run only this shard of the cases.
    pub shard: Option<ShardSpec>,
    /// Worker threads (at least 1).
    pub jobs: usize,
    /// Set to stop the run early; unfinished cases are reported as skipped.
    pub cancel: Arc<AtomicBool>,
    /// The modelci version recorded in the report.
    pub version: String,
}

/// Receives progress while a run executes. Called from the thread that called [`run`].
pub trait Observer {
    /// The run will execute `total` cases.
    fn planned(&mut self, total: usize) {
        let _ = total;
    }
    /// A case finished.
    fn finished(&mut self, suite: &str, case: &Case) {
        let _ = (suite, case);
    }
}

/// An observer that ignores everything.
pub struct Quiet;

impl Observer for Quiet {}

/// Problems with the run's options (usage errors).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RunError {
    /// `--only` named a suite the configuration does not declare.
    #[error("{0}")]
    UnknownSuite(String),
}

/// The current time, RFC 3339 with milliseconds, for `started_at`.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Parses `K/N` (1 <= K <= N).
///
/// # Errors
/// A message saying what is wrong with the text.
pub fn parse_shard(text: &str) -> Result<ShardSpec, String> {
    let bad = || format!("invalid shard `{text}`: expected K/N with 1 <= K <= N, e.g. 2/4");
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    let index: u32 = k.trim().parse().map_err(|_| bad())?;
    let count: u32 = n.trim().parse().map_err(|_| bad())?;
    if count == 0 || index == 0 || index > count {
        return Err(bad());
    }
    Ok(ShardSpec { index, count })
}

/// A planned suite: a check ready to run, or the problem that kept it from being planned.
enum Check {
    JsonSchema(JsonSchemaCheck),
    /// Pact suites verify their interactions together (concurrency and provider states are
    /// managed per pact), so they run as one batch.
    Pact(PactCheck),
    /// OpenAPI suites send their requests together, concurrently: a batch too.
    OpenApi(OpenApiCheck),
    /// Model suites stack golden cases into batched inferences run on several sessions: a
    /// batch too.
    Model(Box<ModelCheck>),
    /// Gates are evaluated as a whole while planning; their cases are the results.
    Gate(GateCheck),
    Setup(Case),
}

impl Check {
    fn plan(decl: &SuiteDecl, config: &Config) -> Check {
        match &decl.spec {
            SuiteSpec::JsonSchema(spec) => {
                match JsonSchemaCheck::plan(spec, &decl.file, &config.dir) {
                    Ok(check) => Check::JsonSchema(check),
                    Err(e) => {
                        Check::Setup(Case::errored("(setup)", e.message).with_location(e.location))
                    }
                }
            }
            SuiteSpec::Pact(spec) => match PactCheck::plan(spec, &decl.file) {
                Ok(check) => Check::Pact(check),
                Err(e) => {
                    Check::Setup(Case::errored("(setup)", e.message).with_location(e.location))
                }
            },
            SuiteSpec::Model(spec) => match ModelCheck::plan(spec, &decl.file) {
                Ok(check) => Check::Model(Box::new(check)),
                Err(e) => {
                    Check::Setup(Case::errored("(setup)", e.message).with_location(e.location))
                }
            },
            SuiteSpec::Gate(spec) => Check::Gate(GateCheck::plan(spec, &decl.file, decl.line)),
            SuiteSpec::OpenApi(spec) => match OpenApiCheck::plan(spec, &decl.file) {
                Ok(check) => Check::OpenApi(check),
                Err(e) => {
                    Check::Setup(Case::errored("(setup)", e.message).with_location(e.location))
                }
            },
        }
    }

    fn is_batch(&self) -> bool {
        matches!(self, Check::Pact(_) | Check::OpenApi(_) | Check::Model(_))
    }

    fn run_batch(&self, indices: &[usize]) -> Vec<Case> {
        match self {
            Check::Pact(c) => c.run_batch(indices),
            Check::OpenApi(c) => c.run_batch(indices),
            Check::Model(c) => c.run_batch(indices),
            other => indices.iter().map(|&i| other.run(i)).collect(),
        }
    }

    fn names(&self) -> Vec<String> {
        match self {
            Check::JsonSchema(c) => c.case_names().map(str::to_owned).collect(),
            Check::Pact(c) => c.case_names(),
            Check::OpenApi(c) => c.case_names(),
            Check::Model(c) => c.case_names(),
            Check::Gate(c) => c.case_names(),
            Check::Setup(case) => vec![case.name.clone()],
        }
    }

    fn run(&self, index: usize) -> Case {
        match self {
            Check::JsonSchema(c) => c.run(index),
            Check::Model(c) => c.run(index),
            Check::Gate(c) => c.run(index),
            Check::Pact(_) | Check::OpenApi(_) => self
                .run_batch(&[index])
                .pop()
                .unwrap_or_else(|| Case::errored(format!("#{index}"), "no such case")),
            Check::Setup(case) => case.clone(),
        }
    }
}

/// Runs the configuration's suites.
///
/// # Errors
/// Only for bad options (an unknown `--only` name); every problem met while running becomes an
/// errored case in the returned run.
pub fn run(
    config: &Config,
    options: &RunOptions,
    observer: &mut dyn Observer,
) -> Result<Run, RunError> {
    let started = Instant::now();
    let decls = select(config, &options.only)?;

    let mut report = Run::new(&options.version);
    report.started_at = Some(now_rfc3339());
    report.config = Some(modelci_config::display_path(&config.path));
    report.shards = options.shard.into_iter().collect();
    if let Some(name) = &config.project_name {
        report.properties.insert("project", name.clone());
    }

    // Plan every selected suite, then deal the cases into shards.
    let mut checks: Vec<Check> = decls.iter().map(|d| Check::plan(d, config)).collect();
    for check in &mut checks {
        if let Check::Model(c) = check {
            c.set_cancel(Arc::clone(&options.cancel));
        }
    }
    let mut work: Vec<(usize, usize)> = Vec::new(); // (suite, case index within the check)
    let mut names: Vec<Vec<String>> = Vec::with_capacity(checks.len());
    let mut position = 0usize;
    for (s, check) in checks.iter().enumerate() {
        let case_names = check.names();
        for i in 0..case_names.len() {
            if in_shard(options.shard, position) {
                work.push((s, i));
            }
            position += 1;
        }
        names.push(case_names);
    }
    observer.planned(work.len());

    // Batch suites first (each verifies its own cases concurrently), then the rest on the
    // worker pool.
    let mut results: Vec<Option<Case>> = vec![None; work.len()];
    for (s, check) in checks.iter().enumerate() {
        if !check.is_batch() {
            continue;
        }
        if options.cancel.load(Ordering::SeqCst) {
            break;
        }
        let slots: Vec<usize> = (0..work.len()).filter(|&n| work[n].0 == s).collect();
        let indices: Vec<usize> = slots.iter().map(|&n| work[n].1).collect();
        for (n, case) in slots.into_iter().zip(check.run_batch(&indices)) {
            observer.finished(&decls[s].name, &case);
            results[n] = Some(case);
        }
    }
    let pooled: Vec<(usize, usize)> = work
        .iter()
        .map(|&(s, i)| {
            if checks[s].is_batch() {
                (usize::MAX, i)
            } else {
                (s, i)
            }
        })
        .collect();
    let pool_results = execute(&checks, &pooled, options, |s, case| {
        observer.finished(&decls[s].name, case);
    });
    for (slot, r) in results.iter_mut().zip(pool_results) {
        if slot.is_none() {
            *slot = r;
        }
    }

    let mut suites: Vec<Suite> = decls
        .iter()
        .zip(&checks)
        .map(|(decl, check)| {
            let mut suite = Suite::new(&decl.name, decl.kind());
            suite.location = Some(Location::line(&decl.file, decl.line));
            match check {
                Check::JsonSchema(c) => suite.properties = c.properties().clone(),
                Check::Pact(c) => suite.properties = c.properties().clone(),
                Check::OpenApi(c) => suite.properties = c.properties().clone(),
                Check::Model(c) => suite.properties = c.properties().clone(),
                Check::Gate(c) => suite.properties = c.properties().clone(),
                Check::Setup(_) => {}
            }
            suite
        })
        .collect();
    let mut interrupted = false;
    for (&(s, i), result) in work.iter().zip(results) {
        let case = result.unwrap_or_else(|| {
            interrupted = true;
            Case::skipped(names[s][i].clone(), "not run: the run was interrupted")
        });
        suites[s].duration_ms += case.duration_ms;
        suites[s].cases.push(case);
    }
    // A suite with no case in this shard is left out of the shard's report.
    report.suites = suites.into_iter().filter(|s| !s.cases.is_empty()).collect();
    report.interrupted = interrupted;
    report.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    report.refresh_summary();
    Ok(report)
}

/// Checks `--only` names before anything starts (a service, say).
///
/// # Errors
/// An unknown suite name, with the closest one.
pub fn check_only(config: &Config, only: &[String]) -> Result<(), RunError> {
    select(config, only).map(|_| ())
}

fn select<'a>(config: &'a Config, only: &[String]) -> Result<Vec<&'a SuiteDecl>, RunError> {
    if only.is_empty() {
        return Ok(config.suites.iter().collect());
    }
    let known: Vec<&str> = config.suites.iter().map(|s| s.name.as_str()).collect();
    for name in only {
        if !known.contains(&name.as_str()) {
            let mut message = format!(
                "`--only {name}`: `{}` declares no suite named `{name}`",
                modelci_config::display_path(&config.path)
            );
            if let Some(best) = suggest(name, &known) {
                message.push_str(&format!("; did you mean `{best}`?"));
            } else if !known.is_empty() {
                message.push_str(&format!("; its suites are {}", quoted(&known)));
            }
            return Err(RunError::UnknownSuite(message));
        }
    }
    Ok(config
        .suites
        .iter()
        .filter(|s| only.contains(&s.name))
        .collect())
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn in_shard(shard: Option<ShardSpec>, position: usize) -> bool {
    match shard {
        None => true,
        Some(ShardSpec { index, count }) => position % count as usize == (index - 1) as usize,
    }
}

/// Runs `work` on `options.jobs` threads; results come back in `work` order (`None` for cases
/// that did not run because the run was cancelled).
fn execute(
    checks: &[Check],
    work: &[(usize, usize)],
    options: &RunOptions,
    mut on_finished: impl FnMut(usize, &Case),
) -> Vec<Option<Case>> {
    let mut results: Vec<Option<Case>> = vec![None; work.len()];
    let next = AtomicUsize::new(0);
    let jobs = options.jobs.clamp(1, work.len().max(1));
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<(usize, Case)>();
        for _ in 0..jobs {
            let tx = tx.clone();
            let next = &next;
            scope.spawn(move || {
                loop {
                    if options.cancel.load(Ordering::SeqCst) {
                        break;
                    }
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&(s, i)) = work.get(n) else { break };
                    let Some(check) = checks.get(s) else {
                        // Run elsewhere (a batch suite).
                        continue;
                    };
                    let case = run_guarded(check, i);
                    if tx.send((n, case)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for (n, case) in rx {
            on_finished(work[n].0, &case);
            results[n] = Some(case);
        }
    });
    results
}

/// Runs one case, turning a panic inside a check into an errored case.
fn run_guarded(check: &Check, index: usize) -> Case {
    let started = Instant::now();
    match catch_unwind(AssertUnwindSafe(|| check.run(index))) {
        Ok(case) => case,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            let mut case = Case::new(
                check.names().get(index).cloned().unwrap_or_default(),
                Outcome::Errored,
            )
            .with_message(format!(
                "internal error in modelci while running this case: {what}"
            ));
            case.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
            case
        }
    }
}

#[cfg(test)]
mod tests;
