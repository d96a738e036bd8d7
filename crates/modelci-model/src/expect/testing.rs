//! What the expectations' tests share: fake models and golden cases.

use std::sync::atomic::{AtomicUsize, Ordering};

use modelci_config::model::{
    EdgeCases, Invariants, NonFinite, Perturbation, Regression, Robustness,
};
use modelci_report::Case;
use modelci_tensor::backend::Backend;
use modelci_tensor::golden;
use modelci_tensor::runtime::{Port, RuntimeError};
use modelci_tensor::tensor::{DType, Data, Tensor};

use super::Context;
use super::labels::argmax;
use crate::golden_suite::Overrides;

/// What a [`Fake`] does wrong (or differently).
#[derive(Default, Clone, Copy)]
pub(super) struct Flags {
    /// Fixed `[1, 4]` input instead of `[-1, 4]`.
    pub(super) fixed_batch: bool,
    /// Answers inputs of any rank.
    pub(super) lenient_shape: bool,
    /// Answers integer and float64 inputs.
    pub(super) lenient_dtype: bool,
    /// NaN and infinities reach the softmax (else they are cleaned).
    pub(super) nan_passthrough: bool,
    /// Rejects NaN and infinities.
    pub(super) reject_non_finite: bool,
    /// Adds a tiny different amount on every call.
    pub(super) noisy: bool,
    /// Shifts the logits with the batch size.
    pub(super) batch_dependent: bool,
    /// Every call fails.
    pub(super) broken: bool,
    /// Outputs the logits as `probs` (not a distribution).
    pub(super) unnormalized: bool,
    /// Answers an empty batch with one row.
    pub(super) empty_gives_row: bool,
    /// No `label` output.
    pub(super) no_label: bool,
    /// Calls its scores `scores` instead of `probs`.
    pub(super) renamed: bool,
    /// Four classes instead of three.
    pub(super) four_classes: bool,
    /// Adds 0.3 to class 2 (a changed model for regression).
    pub(super) shifted: bool,
    /// Only the `label` output: no floating-point outputs.
    pub(super) labels_only: bool,
    /// Answers the first call, then never again (an endpoint that went away).
    pub(super) gone_after_first: bool,
}

/// A linear softmax classifier over 4 features: the logits are the first three features
/// (so the label is their argmax), `probs` [N, C] float32 and `label` [N] int64.
pub(super) struct Fake {
    pub(super) flags: Flags,
    pub(super) inputs: Vec<Port>,
    pub(super) outputs: Vec<Port>,
    pub(super) calls: AtomicUsize,
}

impl Fake {
    pub(super) fn new(flags: Flags) -> Fake {
        let batch = if flags.fixed_batch { 1 } else { -1 };
        let classes = if flags.four_classes { 4 } else { 3 };
        let mut outputs = vec![Port {
            name: if flags.renamed { "scores" } else { "probs" }.into(),
            dtype: Some(DType::F32),
            shape: vec![batch, classes],
        }];
        if flags.labels_only {
            outputs.clear();
        }
        if !flags.no_label {
            outputs.push(Port {
                name: "label".into(),
                dtype: Some(DType::I64),
                shape: vec![batch],
            });
        }
        Fake {
            flags,
            inputs: vec![Port {
                name: "x".into(),
                dtype: Some(DType::F32),
                shape: vec![batch, 4],
            }],
            outputs,
            calls: AtomicUsize::new(0),
        }
    }

    pub(super) fn plain() -> Fake {
        Fake::new(Flags::default())
    }
}

pub(super) fn fail<T>(message: impl Into<String>) -> Result<T, RuntimeError> {
    Err(RuntimeError::Run {
        message: message.into(),
    })
}

/// [`Fake`] with its `run` replaced by `f(fake, inputs)`: for a test that changes one thing
/// about how the model answers (and may still ask the fake).
pub(super) struct Around<F>(pub(super) Fake, pub(super) F);

impl<F> Backend for Around<F>
where
    F: Fn(&Fake, &[Tensor]) -> Result<Vec<Tensor>, RuntimeError> + Send + Sync,
{
    fn inputs(&self) -> &[Port] {
        self.0.inputs()
    }
    fn outputs(&self) -> &[Port] {
        self.0.outputs()
    }
    fn target(&self) -> String {
        self.0.target()
    }
    fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>, RuntimeError> {
        (self.1)(&self.0, inputs)
    }
}

impl Backend for Fake {
    fn inputs(&self) -> &[Port] {
        &self.inputs
    }
    fn outputs(&self) -> &[Port] {
        &self.outputs
    }
    fn target(&self) -> String {
        "fake".into()
    }
    fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>, RuntimeError> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        let f = self.flags;
        if f.broken {
            return fail("connection refused: the server is down");
        }
        if f.gone_after_first && call > 0 {
            return Err(RuntimeError::Unavailable {
                message: "http://m/v2/models/x: timed out after 1 s".into(),
            });
        }
        let [x] = inputs else {
            return fail(format!("expected 1 input, got {}", inputs.len()));
        };
        if x.name != "x" {
            return fail(format!("unknown input `{}`", x.name));
        }
        let values: Vec<f64> = match (&x.data, x.dtype) {
            (Data::Float(v), DType::F32) => v.clone(),
            (Data::Float(v), _) if f.lenient_dtype => v.clone(),
            (Data::Int(v), _) if f.lenient_dtype => v.iter().map(|&i| i as f64).collect(),
            _ => return fail(format!("input `x`: expected float32, got {}", x.dtype)),
        };
        let rows = match x.shape.as_slice() {
            [n, 4] if !f.fixed_batch || *n == 1 => *n as usize,
            _ if f.lenient_shape => values.len() / 4,
            other => {
                return fail(format!("input `x`: expected shape [N, 4], got {other:?}"));
            }
        };
        if f.reject_non_finite && values.iter().any(|v| !v.is_finite()) {
            return fail("input `x` holds NaN or infinite values");
        }
        let classes = if f.four_classes { 4 } else { 3 };
        let out_rows = if rows == 0 && f.empty_gives_row {
            1
        } else {
            rows
        };
        let mut probs = Vec::new();
        let mut labels = Vec::new();
        for r in 0..out_rows {
            let row: Vec<f64> = (0..4)
                .map(|k| values.get(r * 4 + k).copied().unwrap_or(0.0))
                .map(|v| {
                    if f.nan_passthrough {
                        v
                    } else if v.is_nan() {
                        0.0
                    } else {
                        v.clamp(-1e3, 1e3)
                    }
                })
                .collect();
            let mut logits: Vec<f64> = (0..classes).map(|k| row[k.min(2)]).collect();
            if f.four_classes {
                logits[3] = -10.0;
            }
            if f.shifted {
                logits[2] += 0.3;
            }
            if f.batch_dependent {
                logits[0] += 1e-3 * rows as f64;
            }
            if f.noisy {
                logits[0] += 1e-9 * call as f64;
            }
            let p = if f.unnormalized {
                logits.clone()
            } else {
                let m = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let e: Vec<f64> = logits.iter().map(|l| (l - m).exp()).collect();
                let s: f64 = e.iter().sum();
                e.iter().map(|v| v / s).collect()
            };
            labels.push(argmax(&p).parse::<i64>().unwrap_or(-1));
            probs.extend(p);
        }
        let n = out_rows as i64;
        let mut out = vec![Tensor {
            name: if f.renamed { "scores" } else { "probs" }.into(),
            dtype: DType::F32,
            shape: vec![n, classes as i64],
            data: Data::Float(probs),
        }];
        if f.labels_only {
            out.clear();
        }
        if !f.no_label {
            out.push(Tensor {
                name: "label".into(),
                dtype: DType::I64,
                shape: vec![n],
                data: Data::Int(labels),
            });
        }
        Ok(out)
    }
}

/// A model of integer inputs only: `ids` [N, 2] int64 to `label` [N] int64.
pub(super) struct IntFake {
    pub(super) inputs: Vec<Port>,
    pub(super) outputs: Vec<Port>,
}

impl IntFake {
    pub(super) fn new() -> IntFake {
        IntFake {
            inputs: vec![Port {
                name: "ids".into(),
                dtype: Some(DType::I64),
                shape: vec![-1, 2],
            }],
            outputs: vec![Port {
                name: "label".into(),
                dtype: Some(DType::I64),
                shape: vec![-1],
            }],
        }
    }
}

impl Backend for IntFake {
    fn inputs(&self) -> &[Port] {
        &self.inputs
    }
    fn outputs(&self) -> &[Port] {
        &self.outputs
    }
    fn target(&self) -> String {
        "fake".into()
    }
    fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>, RuntimeError> {
        let [t] = inputs else {
            return fail("expected `ids`");
        };
        let (Data::Int(v), DType::I64, [n, 2]) = (&t.data, t.dtype, t.shape.as_slice()) else {
            return fail(format!(
                "input `ids`: expected int64 [N, 2], got {} {:?}",
                t.dtype, t.shape
            ));
        };
        let labels = v.chunks(2).map(|c| c.iter().sum::<i64>() % 3).collect();
        Ok(vec![Tensor {
            name: "label".into(),
            dtype: DType::I64,
            shape: vec![*n],
            data: Data::Int(labels),
        }])
    }
}

pub(super) fn x(rows: &[[f64; 4]]) -> Tensor {
    Tensor::new(
        "x",
        DType::F32,
        vec![rows.len() as i64, 4],
        Data::Float(rows.iter().flatten().copied().collect()),
    )
    .expect("x")
}

pub(super) fn case(name: &str, inputs: Vec<Tensor>) -> golden::Case {
    golden::Case {
        name: name.into(),
        source: format!("golden/{name}"),
        inputs,
        outputs: Vec::new(),
    }
}

/// Five rows in two cases. Labels 0, 1, 2, 0, 1; the smallest margin (0.2) is row 1's.
pub(super) fn golden() -> Vec<golden::Case> {
    vec![
        case(
            "a.json",
            vec![x(&[
                [2.0, 0.0, 0.0, 5.0],
                [0.0, 1.0, 0.8, 1.0],
                [0.1, 0.2, 3.0, -1.0],
            ])],
        ),
        case(
            "b.json",
            vec![x(&[[1.0, 0.0, 0.5, 0.0], [-1.0, 2.0, 0.0, 0.0]])],
        ),
    ]
}

/// The same rows as five one-row cases (for models without a batch dimension).
pub(super) fn golden_single() -> Vec<golden::Case> {
    golden()
        .iter()
        .flat_map(|c| {
            let t = &c.inputs[0];
            (0..t.rows().unwrap_or(0))
                .map(|r| {
                    case(
                        &format!("{}#{r}", c.name),
                        vec![t.slice_rows(r, 1).expect("row")],
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

pub(super) fn ctx<'a>(backend: &'a dyn Backend, cases: &'a [golden::Case]) -> Context<'a> {
    Context {
        backend,
        cases,
        overrides: Overrides::default(),
        label_output: None,
    }
}

pub(super) fn all_edges(non_finite: NonFinite) -> EdgeCases {
    EdgeCases {
        wrong_shape: true,
        wrong_dtype: true,
        empty_batch: true,
        non_finite,
        extreme_values: true,
    }
}

pub(super) fn find<'a>(cases: &'a [Case], name: &str) -> &'a Case {
    cases
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no case `{name}` in {cases:#?}"))
}

pub(super) fn message(c: &Case) -> &str {
    c.message.as_deref().unwrap_or_default()
}

pub(super) fn prop<'a>(c: &'a Case, key: &str) -> &'a str {
    c.properties
        .get(key)
        .map(String::as_str)
        .unwrap_or_else(|| panic!("no property `{key}` in {c:#?}"))
}

pub(super) fn invariant_spec(probabilities: Vec<&str>) -> Invariants {
    Invariants {
        batch_invariance: true,
        determinism: true,
        probabilities: probabilities.into_iter().map(String::from).collect(),
        probability_tolerance: 1e-4,
    }
}

pub(super) fn noise(perturbation: Perturbation, scale: f64) -> Robustness {
    Robustness {
        name: None,
        perturbation,
        scale,
        relative: false,
        samples: 10,
        seed: 7,
        max_flip_rate: None,
        max_relative_change: None,
        min_flip_eps: None,
    }
}

pub(super) fn same_but_duration(mut c: Case) -> Case {
    c.duration_ms = 0.0;
    c
}

pub(super) fn bounds() -> Regression {
    Regression {
        baseline: None,
        baseline_endpoint: None,
        baseline_model_name: None,
        max_label_change_rate: Some(0.1),
        max_output_drift: Some(1e-6),
        max_mean_drift: Some(1e-6),
    }
}
