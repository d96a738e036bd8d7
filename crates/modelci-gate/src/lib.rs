//! The model gate: is a candidate model at least as good as the baseline (the champion) on
//! accuracy, fair across groups and fast enough? Thresholds with MLflow's `MetricThreshold`
//! semantics (plus non-inferiority bounds and optional statistics), resolved from a local file
//! and the MLflow registry's tags, judged on metrics computed for both models on the same rows.

pub mod cases;
pub mod evaluate;
pub mod latency;
pub mod run;
pub mod threshold;

use modelci_report::{Case, Location, Properties};

/// A planned `[[suite.gate]]`: gates are judged as a whole (every threshold needs the same
/// predictions), so planning runs the gate and the cases are its results.
pub struct GateCheck {
    cases: Vec<Case>,
    properties: Properties,
}

impl GateCheck {
    /// Runs the gate. A gate that cannot run at all becomes one errored case at the suite's
    /// line, naming why.
    pub fn plan(spec: &modelci_config::gate::GateSuite, file: &str, line: u32) -> GateCheck {
        let started = std::time::Instant::now();
        match run::run(spec, &run::Options::default()) {
            Ok(mut g) => {
                // The gate is judged as a whole: its time is shared by its cases.
                let share = started.elapsed().as_secs_f64() * 1000.0 / g.cases.len().max(1) as f64;
                for c in &mut g.cases {
                    c.duration_ms = share;
                }
                GateCheck {
                    cases: g.cases,
                    properties: g.properties,
                }
            }
            Err(e) => GateCheck {
                cases: vec![
                    Case::errored("(setup)", e.0).with_location(Location::line(file, line)),
                ],
                properties: Properties::new(),
            },
        }
    }

    /// Case names, in order.
    pub fn case_names(&self) -> Vec<String> {
        self.cases.iter().map(|c| c.name.clone()).collect()
    }

    /// The case at `index`.
    pub fn run(&self, index: usize) -> Case {
        self.cases
            .get(index)
            .cloned()
            .unwrap_or_else(|| Case::errored(format!("#{index}"), "no such case"))
    }

    /// Suite properties (models, versions, dataset, device, runtime).
    pub fn properties(&self) -> &Properties {
        &self.properties
    }
}
