//! `[[suite.model]]` as a [`modelci_suite::Suite`]: golden cases stacked into batched
//! inferences on several sessions (or concurrent requests to an endpoint), so the suite runs its
//! cases of a shard as one batch, stopping between batches when the run is cancelled.

use modelci_report::{Case, Properties};
use modelci_suite::{Context, Plan, SetupFailed, Suite};

use crate::golden_suite::ModelCheck;

/// Plans a `[[suite.model]]`: loads the runtime and the model (or connects to the endpoint) and
/// reads the golden cases. `ctx.cancel` stops the suite between batches.
pub fn plan(spec: &modelci_config::ModelSuite, config_file: &str, ctx: &Context) -> Box<dyn Suite> {
    modelci_suite::planned(
        ModelCheck::plan(spec, config_file)
            .map(|mut check| {
                check.set_cancel(ctx.cancel.flag());
                check
            })
            .map_err(|e| SetupFailed::new(e.message, e.location)),
    )
}

impl Suite for ModelCheck {
    fn plan(&self) -> Plan {
        Plan::Cases(self.case_names())
    }

    fn run(&self, indices: &[usize], _ctx: &Context) -> Vec<Case> {
        self.run_batch(indices)
    }

    fn properties(&self) -> Properties {
        ModelCheck::properties(self)
    }
}
