//! Runs the suites of a configuration and collects one [`Run`].
//!
//! Every suite kind implements [`modelci_suite::Suite`] in its own crate; [`plan`] is the one
//! place that maps a declared suite to its kind. A run has two phases. *Planning* builds each
//! selected suite and asks it for its cases (each with a stable name); a suite that cannot be
//! planned (unreadable schema, ...) becomes one errored case at the line that declares the
//! problem. *Execution* runs this shard's cases: batch suites one after the other (each runs its
//! cases concurrently itself), per-case suites on a small pool of worker threads, handing each
//! finished case to an [`Observer`] (the CLI's progress bar). A panic inside any suite becomes
//! errored cases, and a cancelled run (Ctrl-C) marks the cases that did not run as skipped and
//! the run as interrupted: the caller always gets a complete [`Run`] to write.
//!
//! Sharding (`--shard K/N`) deals the planned cases of the whole run round-robin, in declaration
//! order, so shards are balanced, disjoint, and together cover every case exactly once. A suite
//! judged as a whole ([`Plan::Whole`], the gate) takes one place and runs, entirely and once, in
//! the shard that owns it.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

pub use modelci_process as service;

use modelci_config::{Config, SuiteDecl, SuiteSpec, suggest};
use modelci_report::{Case, Counts, Location, Outcome, Run, ShardSpec, Suite};
pub use modelci_suite::{Cancel, Context, Plan, Schedule, SetupFailed, Suite as SuiteTrait};

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

/// Receives progress while a run executes, so that a front end can show it (the runner itself
/// never prints). Called from the thread that called [`run`]; between two calls the run may be
/// busy for a long time (a batch suite reports its cases when all are done), so an observer that
/// wants a heartbeat keeps its own clock.
pub trait Observer {
    /// The run will execute `total` cases.
    fn planned(&mut self, total: usize) {
        let _ = total;
    }
    /// A suite started: the cases of it this shard runs (`None` for a suite judged as a whole,
    /// whose cases are known only once it is done).
    fn suite_started(&mut self, suite: &str, cases: Option<usize>) {
        let _ = (suite, cases);
    }
    /// A case finished.
    fn finished(&mut self, suite: &str, case: &Case) {
        let _ = (suite, case);
    }
    /// Every case of a suite (in this shard) finished. Not called for a suite that a cancelled
    /// run did not finish.
    fn suite_finished(&mut self, done: &SuiteDone<'_>) {
        let _ = done;
    }
}

/// A finished suite, as [`Observer::suite_finished`] sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct SuiteDone<'a> {
    /// The suite's name.
    pub name: &'a str,
    /// Its kind (`pact`, `model`, ...).
    pub kind: &'a str,
    /// Its cases' outcomes.
    pub counts: Counts,
    /// Wall-clock time from its first case's start to its last case's end.
    pub elapsed: std::time::Duration,
}

/// Passes progress on with the values placeholders read from the environment hidden
/// ([`Config::hide`]).
struct Hiding<'a> {
    config: &'a Config,
    inner: &'a mut dyn Observer,
}

impl Observer for Hiding<'_> {
    fn planned(&mut self, total: usize) {
        self.inner.planned(total);
    }

    fn suite_started(&mut self, suite: &str, cases: Option<usize>) {
        self.inner.suite_started(&self.config.hide(suite), cases);
    }

    fn finished(&mut self, suite: &str, case: &Case) {
        if self.config.secrets.is_empty() {
            return self.inner.finished(suite, case);
        }
        let mut case = case.clone();
        self.config.hide_case(&mut case);
        self.inner.finished(&self.config.hide(suite), &case);
    }

    fn suite_finished(&mut self, done: &SuiteDone<'_>) {
        let name = self.config.hide(done.name);
        self.inner.suite_finished(&SuiteDone {
            name: &name,
            ..done.clone()
        });
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

/// Plans one declared suite: the one place that maps a suite kind's configuration to the crate
/// that implements it. A suite that cannot be planned (unreadable schema, unloadable model, ...)
/// becomes one errored `(setup)` case at the line that declares the problem; a panic while
/// planning becomes one errored case too.
pub fn plan(decl: &SuiteDecl, config: &Config, ctx: &Context) -> Box<dyn SuiteTrait> {
    let planned = catch_unwind(AssertUnwindSafe(|| match &decl.spec {
        SuiteSpec::JsonSchema(spec) => {
            modelci_contract::suite::plan_json_schema(spec, &decl.file, &config.dir)
        }
        SuiteSpec::Pact(spec) => modelci_contract::suite::plan_pact(spec, &decl.file),
        SuiteSpec::OpenApi(spec) => modelci_contract::suite::plan_openapi(spec, &decl.file),
        SuiteSpec::Model(spec) => modelci_model::suite::plan(spec, &decl.file, ctx),
        SuiteSpec::Gate(spec) => modelci_gate::plan(spec, &decl.file, decl.line),
        SuiteSpec::Load(spec) => modelci_load::suite::plan(spec, &decl.file, decl.line),
        SuiteSpec::Resilience(spec) => {
            modelci_resilience::plan(&decl.name, spec, &decl.file, decl.line)
        }
        SuiteSpec::Canary(spec) => modelci_canary::plan(spec, &decl.file, decl.line),
        SuiteSpec::Shadow(spec) => modelci_canary::shadow::plan(spec, &decl.file, decl.line),
    }));
    planned.unwrap_or_else(|payload| {
        Box::new(SetupFailed::new(
            format!(
                "internal error in modelci while planning this suite: {}",
                panic_message(payload.as_ref())
            ),
            Location::line(&decl.file, decl.line),
        ))
    })
}

/// A planned suite with what the report says about it.
pub struct Planned {
    /// The suite's name in the report.
    pub name: String,
    /// Its kind (`pact`, `model`, ...).
    pub kind: String,
    /// Where it is declared.
    pub location: Option<Location>,
    /// The suite.
    pub suite: Box<dyn SuiteTrait>,
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
    let ctx = context(options);
    let planned: Vec<Planned> = decls
        .iter()
        .map(|decl| Planned {
            name: decl.name.clone(),
            kind: decl.kind().to_owned(),
            location: Some(Location::line(&decl.file, decl.line)),
            suite: plan(decl, config, &ctx),
        })
        .collect();
    // Values that placeholders read from the environment may be secrets: hidden from the
    // observer (the terminal) and the report alike.
    let mut hiding = Hiding {
        config,
        inner: observer,
    };
    let mut report = run_planned(planned, options, &mut hiding);
    report.config = Some(modelci_config::display_path(&config.path));
    if let Some(name) = &config.project_name {
        report.properties.insert("project", name.clone());
    }
    config.hide_run(&mut report);
    report.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    Ok(report)
}

/// The context suites run with.
pub fn context(options: &RunOptions) -> Context {
    Context {
        cancel: Cancel::from_flag(Arc::clone(&options.cancel)),
        jobs: options.jobs.max(1),
        shard: options.shard.map(|s| (s.index, s.count)),
    }
}

/// Runs suites that are already planned (the single-suite commands plan theirs from flags) and
/// collects one [`Run`]: the shard's cases, a panic in any suite as errored cases, and the cases
/// a cancelled run did not reach as skipped.
pub fn run_planned(
    planned: Vec<Planned>,
    options: &RunOptions,
    observer: &mut dyn Observer,
) -> Run {
    let started = Instant::now();
    let ctx = context(options);
    let mut report = Run::new(&options.version);
    report.started_at = Some(now_rfc3339());
    report.shards = options.shard.into_iter().collect();

    // Each suite is asked for its plan once. A suite with no cases checks nothing, and checking
    // nothing never passes: it becomes one errored case at its declaration.
    let mut planned = planned;
    let plans: Vec<Plan> = planned
        .iter_mut()
        .map(|p| {
            let plan = p.suite.plan();
            if plan != Plan::Cases(Vec::new()) {
                return plan;
            }
            // Unless the user opted in (`allow_empty`): then one skipped case says so.
            let mut case = if p.suite.allows_empty() {
                Case::skipped(
                    "(no cases)",
                    format!(
                        "suite `{}` ({}) has no cases; passing because `allow_empty` is set",
                        p.name, p.kind
                    ),
                )
            } else {
                Case::errored(
                    "(no cases)",
                    format!(
                        "suite `{}` ({}) has no cases, so it would check nothing; a suite that checks nothing never passes (set `allow_empty = true` / `--allow-empty` where nothing to check is expected)",
                        p.name, p.kind
                    ),
                )
            };
            case.location.clone_from(&p.location);
            let failed = SetupFailed::from_case(case);
            let plan = failed.plan();
            p.suite = Box::new(failed);
            plan
        })
        .collect();
    // Deal the cases into shards: a case of a `Plan::Cases` suite takes one place, a whole
    // suite one place for all of its cases.
    let mut mine: Vec<Vec<usize>> = Vec::with_capacity(plans.len()); // places of this shard
    let mut position = 0usize;
    for plan in &plans {
        let mut indices = Vec::new();
        // A split suite runs in every shard, each its part, and takes no place in the deal.
        if *plan == Plan::Split {
            indices.push(0);
        }
        for i in 0..plan.places() {
            if in_shard(options.shard, position) {
                indices.push(i);
            }
            position += 1;
        }
        mine.push(indices);
    }
    let expected = |s: usize| match &plans[s] {
        Plan::Cases(_) => mine[s].len(),
        // Not known before it runs; counted as one until then.
        Plan::Whole | Plan::Split => mine[s].len(),
    };
    observer.planned((0..plans.len()).map(expected).sum());

    // Batch suites first, one after the other (each runs its own cases concurrently), then the
    // per-case suites on the worker pool.
    let mut results: Vec<Vec<Option<Case>>> = mine.iter().map(|m| vec![None; m.len()]).collect();
    let mut whole: Vec<Option<Vec<Case>>> = vec![None; plans.len()];
    for (s, p) in planned.iter().enumerate() {
        if p.suite.schedule() != Schedule::Batch || mine[s].is_empty() {
            continue;
        }
        if ctx.cancel.is_cancelled() {
            break;
        }
        let suite_started = Instant::now();
        observer.suite_started(
            &p.name,
            matches!(plans[s], Plan::Cases(_)).then_some(mine[s].len()),
        );
        let cases = run_guarded(p.suite.as_ref(), &plans[s], &mine[s], &ctx);
        for case in &cases {
            observer.finished(&p.name, case);
        }
        observer.suite_finished(&SuiteDone {
            name: &p.name,
            kind: &p.kind,
            counts: Counts::of(&cases),
            elapsed: suite_started.elapsed(),
        });
        match &plans[s] {
            Plan::Whole | Plan::Split => whole[s] = Some(cases),
            Plan::Cases(_) => {
                for (slot, case) in results[s].iter_mut().zip(cases) {
                    *slot = Some(case);
                }
            }
        }
    }
    let pooled: Vec<(usize, usize)> = planned
        .iter()
        .enumerate()
        .filter(|(_, p)| p.suite.schedule() == Schedule::PerCase)
        .flat_map(|(s, _)| (0..mine[s].len()).map(move |k| (s, k)))
        .collect();
    // A pooled suite starts with its first case and finishes with its last.
    let mut began: Vec<Option<Instant>> = vec![None; plans.len()];
    let mut left: Vec<usize> = mine.iter().map(Vec::len).collect();
    execute(
        &planned,
        &plans,
        &mine,
        &pooled,
        &ctx,
        |event| match event {
            Event::Started(s) => {
                if began[s].is_none() {
                    began[s] = Some(Instant::now());
                    observer.suite_started(&planned[s].name, Some(mine[s].len()));
                }
            }
            Event::Finished(s, k, case) => {
                observer.finished(&planned[s].name, &case);
                results[s][k] = Some(*case);
                left[s] = left[s].saturating_sub(1);
                if left[s] == 0 {
                    observer.suite_finished(&SuiteDone {
                        name: &planned[s].name,
                        kind: &planned[s].kind,
                        counts: Counts::of(results[s].iter().flatten()),
                        elapsed: began[s].map(|t| t.elapsed()).unwrap_or_default(),
                    });
                }
            }
        },
    );

    let mut interrupted = false;
    for (s, p) in planned.iter().enumerate() {
        let mut suite = Suite::new(&p.name, &p.kind);
        suite.location.clone_from(&p.location);
        let cases: Vec<Case> = match &plans[s] {
            Plan::Whole | Plan::Split => match whole[s].take() {
                Some(cases) => cases,
                None if mine[s].is_empty() => Vec::new(),
                None => {
                    interrupted = true;
                    vec![modelci_suite::missing_case("(not run)")]
                }
            },
            Plan::Cases(names) => mine[s]
                .iter()
                .zip(std::mem::take(&mut results[s]))
                .map(|(&i, r)| {
                    r.unwrap_or_else(|| {
                        interrupted = true;
                        modelci_suite::missing_case(names.get(i).cloned().unwrap_or_default())
                    })
                })
                .collect(),
        };
        // A suite with no case in this shard is left out of the shard's report.
        if cases.is_empty() {
            continue;
        }
        suite.properties = p.suite.properties();
        suite.duration_ms = cases.iter().map(|c| c.duration_ms).sum();
        suite.cases = cases;
        report.suites.push(suite);
    }
    // Cancelled (Ctrl-C): even when every case of this shard had started, the run stopped
    // early at the user's request, and suites that skip what they did not start say so only
    // in their cases.
    report.interrupted = interrupted || ctx.cancel.is_cancelled();
    report.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    report.refresh_summary();
    report
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

/// What happens to the per-case work, as [`execute`] reports it.
enum Event {
    /// A case of suite `s` started.
    Started(usize),
    /// Case `k` (its position in `mine[s]`) of suite `s` finished.
    Finished(usize, usize, Box<Case>),
}

/// Runs the per-case `work` ((suite, position in `mine[suite]`)) on `ctx.jobs` threads, one
/// case at a time, handing each start and each finished case to `on_event` (on the calling
/// thread). Stops starting cases once the run is cancelled.
fn execute(
    planned: &[Planned],
    plans: &[Plan],
    mine: &[Vec<usize>],
    work: &[(usize, usize)],
    ctx: &Context,
    mut on_event: impl FnMut(Event),
) {
    if work.is_empty() {
        return;
    }
    let next = AtomicUsize::new(0);
    let jobs = ctx.jobs.clamp(1, work.len());
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<(usize, Option<Case>)>();
        for _ in 0..jobs {
            let tx = tx.clone();
            let next = &next;
            scope.spawn(move || {
                loop {
                    if ctx.cancel.is_cancelled() {
                        break;
                    }
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&(s, k)) = work.get(n) else { break };
                    if tx.send((n, None)).is_err() {
                        break;
                    }
                    let index = mine[s][k];
                    let case =
                        run_guarded(planned[s].suite.as_ref(), &plans[s], &[index], ctx).pop();
                    let Some(case) = case else { continue };
                    if tx.send((n, Some(case))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for (n, case) in rx {
            let (s, k) = work[n];
            on_event(match case {
                None => Event::Started(s),
                Some(case) => Event::Finished(s, k, Box::new(case)),
            });
        }
    });
}

/// Runs cases of one suite, turning a panic inside it into errored cases (one per case asked
/// for; one for a whole suite), so that the rest of the run goes on and reports are written.
fn run_guarded(suite: &dyn SuiteTrait, plan: &Plan, indices: &[usize], ctx: &Context) -> Vec<Case> {
    let started = Instant::now();
    match catch_unwind(AssertUnwindSafe(|| suite.run(indices, ctx))) {
        Ok(mut cases) => {
            if let Plan::Cases(_) = plan {
                cases.truncate(indices.len());
            }
            cases
        }
        Err(payload) => {
            let what = panic_message(payload.as_ref());
            let errored = |name: String| {
                let mut case = Case::new(name, Outcome::Errored).with_message(format!(
                    "internal error in modelci while running this case: {what}"
                ));
                case.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
                case
            };
            match plan {
                Plan::Whole | Plan::Split => vec![errored("(run)".into())],
                Plan::Cases(names) => indices
                    .iter()
                    .map(|&i| errored(names.get(i).cloned().unwrap_or_else(|| format!("#{i}"))))
                    .collect(),
            }
        }
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

#[cfg(test)]
mod tests;
