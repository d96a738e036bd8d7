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

    fn run(&self, indices: &[usize], _ctx: &Context) -> Vec<Case> {
        self.run_batch(indices)
    }

    fn properties(&self) -> Properties {
        PactCheck::properties(self).clone()
    }
}

impl Suite for OpenApiCheck {
    fn plan(&self) -> Plan {
        Plan::Cases(self.case_names())
    }

    fn run(&self, indices: &[usize], _ctx: &Context) -> Vec<Case> {
        self.run_batch(indices)
    }

    fn properties(&self) -> Properties {
        OpenApiCheck::properties(self).clone()
    }
}
