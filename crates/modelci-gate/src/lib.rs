//! The model gate: is a candidate model at least as good as the baseline (the champion) on
//! accuracy, fair across groups and fast enough? Thresholds with MLflow's `MetricThreshold`
//! semantics (plus non-inferiority bounds and optional statistics), resolved from a local file
//! and the MLflow registry's tags, judged on metrics computed for both models on the same rows.

pub mod cases;
pub mod evaluate;
pub mod latency;
pub mod run;
pub mod threshold;

use std::sync::Mutex;

use modelci_report::{Case, Location, Properties};
use modelci_suite::{Context, Plan, Suite};

/// A planned `[[suite.gate]]`. Gates are judged as a whole (every threshold needs the same
/// predictions, and write-back to MLflow must happen once), so the gate is evaluated only when
/// the runner runs it, in the one shard that owns it ([`Plan::Whole`]); its cases are the
/// results.
pub struct GateCheck {
    spec: modelci_config::gate::GateSuite,
    file: String,
    line: u32,
    options: run::Options,
    /// Filled by the run: the suite's properties and each resolved threshold with its source.
    properties: Mutex<Properties>,
    explain: Mutex<Vec<String>>,
}

/// Plans a `[[suite.gate]]` (nothing is read or evaluated until it runs).
pub fn plan(spec: &modelci_config::gate::GateSuite, file: &str, line: u32) -> Box<dyn Suite> {
    Box::new(GateCheck::plan(spec, file, line))
}

impl GateCheck {
    /// Plans the gate; nothing is read or evaluated yet.
    pub fn plan(spec: &modelci_config::gate::GateSuite, file: &str, line: u32) -> GateCheck {
        GateCheck {
            spec: spec.clone(),
            file: file.to_owned(),
            line,
            options: run::Options::default(),
            properties: Mutex::new(Properties::new()),
            explain: Mutex::new(Vec::new()),
        }
    }

    /// Loads ONNX Runtime from this library (default: found as `modelci doctor` says).
    #[must_use]
    pub fn with_options(mut self, options: run::Options) -> GateCheck {
        self.options = options;
        self
    }

    /// Each resolved threshold and where it came from (after the run).
    pub fn explain(&self) -> Vec<String> {
        self.explain
            .lock()
            .map(|e| e.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// Runs the gate once: its cases, and the suite's properties. A gate that cannot run at all
    /// becomes one errored case at the suite's line, naming why.
    pub fn evaluate(&self) -> (Vec<Case>, Properties) {
        let started = std::time::Instant::now();
        match run::run(&self.spec, &self.options) {
            Ok(mut g) => {
                if let Ok(mut e) = self.explain.lock() {
                    *e = std::mem::take(&mut g.explain);
                }
                // The gate is judged as a whole: its time is shared by its cases.
                let share = started.elapsed().as_secs_f64() * 1000.0 / g.cases.len().max(1) as f64;
                for c in &mut g.cases {
                    c.duration_ms = share;
                }
                (g.cases, g.properties)
            }
            Err(e) => (
                vec![
                    Case::errored("(setup)", e.0)
                        .with_location(Location::line(&self.file, self.line)),
                ],
                Properties::new(),
            ),
        }
    }
}

impl Suite for GateCheck {
    fn plan(&self) -> Plan {
        Plan::Whole
    }

    fn run(&self, _indices: &[usize], ctx: &Context) -> Vec<Case> {
        if ctx.cancel.is_cancelled() {
            return Vec::new();
        }
        let (cases, properties) = self.evaluate();
        if let Ok(mut p) = self.properties.lock() {
            *p = properties;
        }
        cases
    }

    fn properties(&self) -> Properties {
        self.properties
            .lock()
            .map(|p| p.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }
}
