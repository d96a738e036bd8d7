//! What golden suites and expectations run on: a model loaded in ONNX Runtime
//! ([`crate::runtime::Model`]) or a live Open Inference Protocol endpoint
//! (`modelci_v2::Endpoint`). Both take and give [`Tensor`]s.

use crate::runtime::{Model, Port, RuntimeError};
use crate::tensor::Tensor;

/// A model that answers inference requests.
pub trait Backend: Send + Sync {
    /// The inputs it takes, in order (`-1` for dynamic dimensions).
    fn inputs(&self) -> &[Port];
    /// The outputs it gives, in order.
    fn outputs(&self) -> &[Port];
    /// Runs the model on named inputs and returns every output, in [`Backend::outputs`] order.
    ///
    /// # Errors
    /// Whatever keeps the inputs from being answered (missing inputs, wrong shapes or dtypes,
    /// a server that is down or answers garbage), as a message; never a panic.
    fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>, RuntimeError>;
    /// Where it runs, for messages: `cpu`, `cuda`, or the endpoint's URL.
    fn target(&self) -> String;
    /// The device a local model runs on (`Cpu` or `Cuda`); `None` for an endpoint, whose
    /// device is its own business.
    fn device(&self) -> Option<crate::runtime::Device> {
        None
    }
    /// Whether NaN and infinities in inputs reach the model. An endpoint whose JSON encoding
    /// cannot carry them refuses such inputs itself, which says nothing about the model.
    fn sends_non_finite(&self) -> bool {
        true
    }
}

impl Backend for Model {
    fn inputs(&self) -> &[Port] {
        &self.inputs
    }
    fn outputs(&self) -> &[Port] {
        &self.outputs
    }
    fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>, RuntimeError> {
        Model::run(self, inputs)
    }
    fn target(&self) -> String {
        self.device.name().to_owned()
    }
    fn device(&self) -> Option<crate::runtime::Device> {
        Some(self.device)
    }
}

/// Checks that `inputs` are exactly the inputs `ports` declares, by name: the same check for
/// every backend (a local model and a live endpoint), so a case with a missing or extra input
/// gets the same message wherever it runs.
///
/// # Errors
/// The first missing input, else the first input the model does not have (with its inputs).
pub fn check_input_names(
    ports: &[crate::runtime::Port],
    inputs: &[crate::Tensor],
) -> Result<(), String> {
    if let Some(want) = ports
        .iter()
        .find(|want| !inputs.iter().any(|t| t.name == want.name))
    {
        return Err(format!(
            "the model needs input `{}`, which the case does not give",
            want.name
        ));
    }
    if let Some(extra) = inputs
        .iter()
        .find(|t| !ports.iter().any(|p| p.name == t.name))
    {
        let names: Vec<&str> = ports.iter().map(|p| p.name.as_str()).collect();
        return Err(format!(
            "the case gives input `{}`, which the model does not have (its inputs: {})",
            extra.name,
            names.join(", ")
        ));
    }
    Ok(())
}
