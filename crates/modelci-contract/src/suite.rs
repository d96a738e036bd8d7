//! The contract suite kinds as [`modelci_suite::Suite`]s: `json-schema` (each file is its own
//! case, run on the runner's worker threads), `pact` and `openapi` (each verifies its cases
//! together, concurrently, so it runs them as one batch).

use std::path::Path;

use modelci_report::{Case, Properties};
use modelci_suite::{Context, Plan, Schedule, SetupFailed, Suite};

use crate::json_schema::{JsonSchemaCheck, SetupError};
use crate::openapi_suite::OpenApiCheck;
use crate::pact_verify::PactCheck;

impl From<SetupError> for SetupFailed {
    fn from(e: SetupError) -> SetupFailed {
        SetupFailed::new(e.message, e.location)
    }
}

/// Plans a `[[suite.json-schema]]`.
pub fn plan_json_schema(
    spec: &modelci_config::JsonSchemaSuite,
    config_file: &str,
    config_dir: &Path,
) -> Box<dyn Suite> {
    modelci_suite::planned(JsonSchemaCheck::plan(spec, config_file, config_dir).map_err(Into::into))
}

/// Plans a `[[suite.pact]]`.
pub fn plan_pact(spec: &modelci_config::PactSuite, config_file: &str) -> Box<dyn Suite> {
    modelci_suite::planned(PactCheck::plan(spec, config_file).map_err(Into::into))
}

/// Plans a `[[suite.openapi]]`.
pub fn plan_openapi(spec: &modelci_config::OpenApiSuite, config_file: &str) -> Box<dyn Suite> {
    modelci_suite::planned(OpenApiCheck::plan(spec, config_file).map_err(Into::into))
}

impl Suite for JsonSchemaCheck {
    fn plan(&self) -> Plan {
        Plan::Cases(self.case_names().map(str::to_owned).collect())
    }

    fn schedule(&self) -> Schedule {
        Schedule::PerCase
    }

    fn run(&self, indices: &[usize], ctx: &Context) -> Vec<Case> {
        indices
            .iter()
            .take_while(|_| !ctx.cancel.is_cancelled())
            .map(|&i| JsonSchemaCheck::run(self, i))
            .collect()
    }

    fn properties(&self) -> Properties {
        JsonSchemaCheck::properties(self).clone()
    }
}

impl Suite for PactCheck {
    fn plan(&self) -> Plan {
        Plan::Cases(self.case_names())
    }

    fn run(&self, indices: &[usize], ctx: &Context) -> Vec<Case> {
        self.run_until(indices, ctx.cancel.flag())
    }

    fn properties(&self) -> Properties {
        PactCheck::properties(self).clone()
    }

    fn allows_empty(&self) -> bool {
        PactCheck::allows_empty(self)
    }
}

impl Suite for OpenApiCheck {
    fn plan(&self) -> Plan {
        Plan::Cases(self.case_names())
    }

    fn run(&self, indices: &[usize], ctx: &Context) -> Vec<Case> {
        self.run_until(indices, ctx.cancel.flag())
    }

    fn properties(&self) -> Properties {
        OpenApiCheck::properties(self).clone()
    }

    fn allows_empty(&self) -> bool {
        OpenApiCheck::allows_empty(self)
    }
}

/// One file of recorded traffic (HAR or JSON Lines) checked against an OpenAPI document
/// (`modelci contract validate`): one case per exchange and check. The file is read and
/// validated when the suite runs; its cases are known only then ([`Plan::Whole`]).
pub struct RecordedFile {
    doc: std::sync::Arc<modelci_openapi::Document>,
    ops: std::sync::Arc<Vec<modelci_openapi::Operation>>,
    path: std::path::PathBuf,
}

impl RecordedFile {
    /// The file at `path`, checked against `doc` and its operations `ops`.
    pub fn new(
        doc: std::sync::Arc<modelci_openapi::Document>,
        ops: std::sync::Arc<Vec<modelci_openapi::Operation>>,
        path: &Path,
    ) -> RecordedFile {
        RecordedFile {
            doc,
            ops,
            path: path.to_path_buf(),
        }
    }
}

impl Suite for RecordedFile {
    fn plan(&self) -> Plan {
        Plan::Whole
    }

    fn run(&self, _indices: &[usize], ctx: &Context) -> Vec<Case> {
        use modelci_report::Location;
        if ctx.cancel.is_cancelled() {
            return Vec::new();
        }
        let started = std::time::Instant::now();
        let shown = modelci_config::display_path(&self.path);
        let problem = |message: String| {
            vec![Case::errored(shown.clone(), message).with_location(Location::file(shown.clone()))]
        };
        let mut cases = match std::fs::read(&self.path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => crate::openapi_recorded::validate(&self.doc, &self.ops, &text, &shown),
                Err(_) => problem(format!("`{shown}` is not valid UTF-8")),
            },
            Err(e) => problem(format!("failed to read `{shown}`: {e}")),
        };
        // The file is checked as a whole: its time is shared by its cases.
        let share = started.elapsed().as_secs_f64() * 1000.0 / cases.len().max(1) as f64;
        for c in &mut cases {
            c.duration_ms = share;
        }
        cases
    }

    fn properties(&self) -> Properties {
        let mut p = Properties::new();
        p.insert("openapi", self.doc.source.clone());
        p
    }
}
