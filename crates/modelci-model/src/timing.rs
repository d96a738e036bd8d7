//! Inference times of a model suite, with the first inference apart from the rest.
//!
//! A session's first inference pays for what ONNX Runtime does lazily: memory arenas, on CUDA
//! the cuBLAS and cuDNN handles and (with `cudnn_conv_algo_search = "exhaustive"`) the search
//! for each convolution's algorithm, which can take longer than every later inference together.
//! Reports give that warm-up (`first_inference_ms`) apart from the steady state
//! (`steady_inference_ms`, the mean of the others), beside the time the sessions took to start
//! (`session_start_ms`), so a slow first case is not read as a slow model.

use std::sync::Mutex;
use std::time::Instant;

use modelci_tensor::Tensor;
use modelci_tensor::backend::Backend;
use modelci_tensor::runtime::{Device, Port, RuntimeError};

/// What was timed so far.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Timings {
    /// The first inference to finish, in milliseconds.
    pub first_ms: Option<f64>,
    /// Inferences after the first.
    pub steady_count: u64,
    /// Their total time, in milliseconds.
    pub steady_ms: f64,
}

impl Timings {
    /// Adds one inference.
    pub fn add(&mut self, ms: f64) {
        if self.first_ms.is_none() {
            self.first_ms = Some(ms);
        } else {
            self.steady_count += 1;
            self.steady_ms += ms;
        }
    }

    /// The report properties: `inferences`, `first_inference_ms` and, when there were more,
    /// `steady_inference_ms` (their mean). Nothing before the first inference.
    pub fn properties(&self) -> Vec<(&'static str, String)> {
        let Some(first) = self.first_ms else {
            return Vec::new();
        };
        let mut out = vec![
            ("inferences", (self.steady_count + 1).to_string()),
            ("first_inference_ms", format!("{first:.2}")),
        ];
        if self.steady_count > 0 {
            let mean = self.steady_ms / self.steady_count as f64;
            out.push(("steady_inference_ms", format!("{mean:.2}")));
        }
        out
    }
}

/// A backend whose inferences are timed.
pub struct Timed {
    inner: Box<dyn Backend>,
    timings: Mutex<Timings>,
}

impl Timed {
    pub fn new(inner: Box<dyn Backend>) -> Timed {
        Timed {
            inner,
            timings: Mutex::new(Timings::default()),
        }
    }

    /// The inferences timed so far.
    pub fn timings(&self) -> Timings {
        self.timings.lock().map(|t| *t).unwrap_or_default()
    }
}

impl Backend for Timed {
    fn inputs(&self) -> &[Port] {
        self.inner.inputs()
    }
    fn outputs(&self) -> &[Port] {
        self.inner.outputs()
    }
    fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>, RuntimeError> {
        let started = Instant::now();
        let answer = self.inner.run(inputs);
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        if let Ok(mut t) = self.timings.lock() {
            t.add(ms);
        }
        answer
    }
    fn target(&self) -> String {
        self.inner.target()
    }
    fn device(&self) -> Option<Device> {
        self.inner.device()
    }
    fn sends_non_finite(&self) -> bool {
        self.inner.sends_non_finite()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_inference_is_kept_apart_from_the_mean_of_the_rest() {
        let mut t = Timings::default();
        assert!(t.properties().is_empty());
        t.add(250.0);
        assert_eq!(
            t.properties(),
            vec![
                ("inferences", "1".to_owned()),
                ("first_inference_ms", "250.00".to_owned())
            ]
        );
        t.add(2.0);
        t.add(4.0);
        assert_eq!(
            t.properties(),
            vec![
                ("inferences", "3".to_owned()),
                ("first_inference_ms", "250.00".to_owned()),
                ("steady_inference_ms", "3.00".to_owned())
            ]
        );
    }
}
