//! The one shape every suite kind has.
//!
//! A suite kind (JSON Schema, Pact, OpenAPI, model, gate, and the kinds still to come) lives in
//! its own crate and implements [`Suite`]; the runner (`modelci-runner`) only ever sees
//! `Box<dyn Suite>`. A kind plans its cases when it is built (reading files, never calling the
//! system under test), and does its work only in [`Suite::run`], so a sharded run does each
//! suite's work only in the shard that owns its cases.
//!
//! Adding a kind means: a config module with its keys and `resolve()` (in `modelci-config`), a
//! crate (or module) with a type that implements [`Suite`] and a `plan` function that builds it,
//! and one line in the runner's `plan` that maps the config to that function.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use modelci_report::{Case, Location, Properties};

/// How a suite's cases are known before it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// These cases, in order; each can run on its own (the runner may deal them to shards one
    /// by one).
    Cases(Vec<String>),
    /// The suite is judged as a whole and its cases are known only once it has run (a gate:
    /// every threshold needs the same predictions, and write-back must happen once). It takes
    /// one place in the shard order and runs, entirely, in the one shard that owns that place.
    Whole,
    /// Judged as a whole like [`Plan::Whole`], but its work divides: with `--shard K/N` it runs
    /// in every shard, each doing its N-th part ([`Context::shard`] says which: a load test
    /// offers 1/N of the rate), and `report merge` joins the parts and judges them. It takes no
    /// place in the shard order.
    Split,
}

impl Plan {
    /// The number of places the plan takes in the shard order.
    pub fn places(&self) -> usize {
        match self {
            Plan::Cases(names) => names.len(),
            Plan::Whole => 1,
            Plan::Split => 0,
        }
    }

    /// Whether the suite's cases are known only once it has run (whole or split).
    pub fn is_whole(&self) -> bool {
        matches!(self, Plan::Whole | Plan::Split)
    }
}

/// How the runner schedules a suite's cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// The suite runs all its cases of this shard in one call to [`Suite::run`] and manages its
    /// own concurrency (connection pools, batched inferences, provider states).
    Batch,
    /// Each case is cheap and independent: the runner deals them one at a time to its worker
    /// threads.
    PerCase,
}

/// A cancellation flag shared by the runner, the suites and the signal handler.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A flag that is not set.
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Wraps an existing flag (the one a signal handler sets).
    pub fn from_flag(flag: Arc<AtomicBool>) -> Cancel {
        Cancel(flag)
    }

    /// Asks everything that holds this flag to stop starting work. Returns whether it was
    /// already set.
    pub fn cancel(&self) -> bool {
        self.0.swap(true, Ordering::SeqCst)
    }

    /// Whether the run was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// The underlying flag, for code that takes an `Arc<AtomicBool>`.
    pub fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.0)
    }
}

/// What a suite may use while it runs.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Set when the run is cancelled (Ctrl-C): stop starting cases; cases not run are reported
    /// as skipped by the runner.
    pub cancel: Cancel,
    /// The run's parallelism (`--jobs`), a hint for suites that run their own pools.
    pub jobs: usize,
    /// The shard this run is (`--shard K/N`: `(K, N)`), for [`Plan::Split`] suites.
    pub shard: Option<(u32, u32)>,
}

/// One planned suite of one kind.
///
/// Implementations must not panic on bad input; the runner still turns a panic into errored
/// cases so that the rest of the run goes on and reports are written.
pub trait Suite: Send + Sync {
    /// The cases, known before anything runs.
    fn plan(&self) -> Plan;

    /// How the runner schedules the cases.
    fn schedule(&self) -> Schedule {
        Schedule::Batch
    }

    /// Runs the cases at `indices` (positions in [`Suite::plan`]'s names; ignored for
    /// [`Plan::Whole`], which runs every case) and returns their results, one per index and in
    /// the same order for [`Plan::Cases`]. Cases that were not started because `ctx.cancel` was
    /// set may be left out of the end of the list; the runner reports them as skipped.
    fn run(&self, indices: &[usize], ctx: &Context) -> Vec<Case>;

    /// Properties for the suite in the report (model hashes, device, provider, seed, ...).
    /// Asked after [`Suite::run`], so a suite may add what it learnt while running.
    fn properties(&self) -> Properties;

    /// Whether the user opted in to a suite with no cases passing (`allow_empty = true`,
    /// `--allow-empty`). Without it, a suite that checks nothing is an error: it never passes.
    fn allows_empty(&self) -> bool {
        false
    }
}

/// A shared suite (a command that reads more from the suite after the run keeps a clone).
impl<S: Suite + ?Sized> Suite for Arc<S> {
    fn plan(&self) -> Plan {
        (**self).plan()
    }

    fn schedule(&self) -> Schedule {
        (**self).schedule()
    }

    fn run(&self, indices: &[usize], ctx: &Context) -> Vec<Case> {
        (**self).run(indices, ctx)
    }

    fn properties(&self) -> Properties {
        (**self).properties()
    }

    fn allows_empty(&self) -> bool {
        (**self).allows_empty()
    }
}

/// A suite that could not be planned: one errored case, `(setup)`, at the line that declares
/// the problem.
#[derive(Debug, Clone)]
pub struct SetupFailed {
    case: Case,
}

impl SetupFailed {
    /// The problem, as a lowercase sentence fragment, and where it is declared.
    pub fn new(message: impl Into<String>, location: Location) -> SetupFailed {
        SetupFailed {
            case: Case::errored("(setup)", message).with_location(location),
        }
    }

    /// A ready-made errored case.
    pub fn from_case(case: Case) -> SetupFailed {
        SetupFailed { case }
    }
}

impl Suite for SetupFailed {
    fn plan(&self) -> Plan {
        Plan::Cases(vec![self.case.name.clone()])
    }

    fn schedule(&self) -> Schedule {
        Schedule::PerCase
    }

    fn run(&self, indices: &[usize], _ctx: &Context) -> Vec<Case> {
        indices.iter().map(|_| self.case.clone()).collect()
    }

    fn properties(&self) -> Properties {
        Properties::new()
    }
}

/// Boxes a planned suite, or turns the planning error into a [`SetupFailed`] suite.
pub fn planned<S: Suite + 'static>(result: Result<S, SetupFailed>) -> Box<dyn Suite> {
    match result {
        Ok(suite) => Box::new(suite),
        Err(failed) => Box::new(failed),
    }
}

/// The case a runner reports for index `index` when [`Suite::run`] returned no result for it.
pub fn missing_case(name: impl Into<String>) -> Case {
    Case::skipped(name, "not run: the run was interrupted")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_setup_failure_is_one_errored_case_at_its_line() {
        let s = SetupFailed::new("no such schema", Location::line("modelci.toml", 4));
        assert_eq!(s.plan(), Plan::Cases(vec!["(setup)".into()]));
        let cases = s.run(&[0], &Context::default());
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].outcome, modelci_report::Outcome::Errored);
        assert_eq!(cases[0].message.as_deref(), Some("no such schema"));
    }

    #[test]
    fn cancel_is_shared_between_clones() {
        let a = Cancel::new();
        let b = a.clone();
        assert!(!b.is_cancelled());
        assert!(!a.cancel());
        assert!(b.is_cancelled());
        assert!(a.cancel());
    }

    #[test]
    fn a_whole_suite_takes_one_place() {
        assert_eq!(Plan::Whole.places(), 1);
        assert_eq!(Plan::Cases(vec!["a".into(), "b".into()]).places(), 2);
    }
}
