//! Expectations beyond exact golden outputs for model suites: edge cases (bad or unusual inputs),
//! invariants (batch invariance, determinism, probability outputs), robustness to seeded
//! perturbations (noise, dropout, and a black-box search for the smallest label-flipping
//! perturbation), and regression against a baseline model.
//!
//! Everything starts from the golden cases' inputs; their expected outputs are not used.
//!
//! **Rows.** When every model input has a leading dynamic (`-1`) dimension, a case's inputs are a
//! batch along axis 0 and a *row* (one index along axis 0 across every input) is the unit that is
//! perturbed, batched and compared; rows are sent in batches of at most [`MAX_BATCH_ROWS`].
//! Otherwise whole cases are the units, each run alone, and the checks that need a batch
//! dimension (batch invariance, empty batch) are skipped with the reason.
//!
//! **Labels** (for flips and label changes) come from `label_output` when the suite names one
//! (an error when the model has no such output), else from the first integer output (its values),
//! else from the argmax along the last axis of the first floating-point output. A label group
//! holding NaN reads as the label `NaN`, so outputs that turn NaN count as flips. Cases say how
//! labels were read in their `labels` property.
//!
//! **Randomness** comes from [`Rng`], a xoshiro256** generator seeded through splitmix64 and
//! written out here, so that a seed perturbs the same way on every platform and in every version.
//!
//! Nothing here panics on what the inputs or the model hold: a model that cannot answer the
//! unperturbed inputs gives an errored case with the model's message.

use std::collections::BTreeMap;
use std::time::Instant;

use modelci_config::model::{
    EdgeCases, Invariants, NonFinite, Perturbation, Regression, Robustness,
};
use modelci_report::Case;

use crate::backend::Backend;
use crate::compare::{NanPolicy, Tolerance, ValueMismatch, compare};
use crate::golden;
use crate::golden_suite::Overrides;
use crate::runtime::RuntimeError;
use crate::tensor::{DType, Data, Tensor};

/// The most rows sent to the model in one batch.
pub const MAX_BATCH_ROWS: usize = 1024;

/// How many label changes a regression message lists.
const LISTED_CHANGES: usize = 5;
/// How many label changes a regression detail lists.
const DETAILED_CHANGES: usize = 50;
/// Search: halvings of eps below `scale` tried before giving up (down to `scale / 2^16`).
const SEARCH_HALVINGS: u32 = 16;
/// Search: bisection steps between the largest eps that did not flip and the smallest that did.
const SEARCH_BISECTIONS: u32 = 6;

const WRONG_SHAPE: &str = "edge: wrong shape is rejected";
const WRONG_DTYPE: &str = "edge: wrong dtype is rejected";
const EMPTY_BATCH: &str = "edge: empty batch is answered or rejected";
const NON_FINITE_FINITE: &str = "edge: NaN and ±Inf inputs give finite outputs";
const NON_FINITE_REJECT: &str = "edge: NaN and ±Inf inputs are rejected";
const EXTREME_VALUES: &str = "edge: extreme values give finite outputs";
const BATCH_INVARIANCE: &str = "invariant: batch invariance";
const DETERMINISM: &str = "invariant: determinism";

/// The names of the cases [`edge_cases`] returns for `spec`, in order (known before running, so
/// that suites can be planned and sharded).
pub fn edge_case_names(spec: &EdgeCases) -> Vec<String> {
    let non_finite = match spec.non_finite {
        NonFinite::Finite => Some(NON_FINITE_FINITE),
        NonFinite::Reject => Some(NON_FINITE_REJECT),
        NonFinite::Off => None,
    };
    [
        spec.wrong_shape.then_some(WRONG_SHAPE),
        spec.wrong_dtype.then_some(WRONG_DTYPE),
        spec.empty_batch.then_some(EMPTY_BATCH),
        non_finite,
        spec.extreme_values.then_some(EXTREME_VALUES),
    ]
    .into_iter()
    .flatten()
    .map(str::to_owned)
    .collect()
}

/// The names of the cases [`invariants`] returns for `spec`, in order.
pub fn invariant_names(spec: &Invariants) -> Vec<String> {
    let mut out = Vec::new();
    if spec.batch_invariance {
        out.push(BATCH_INVARIANCE.to_owned());
    }
    if spec.determinism {
        out.push(DETERMINISM.to_owned());
    }
    out.extend(
        spec.probabilities
            .iter()
            .map(|o| format!("invariant: `{o}` are probabilities")),
    );
    out
}

/// What the expectations run on.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    /// The model under test.
    pub backend: &'a dyn Backend,
    /// The golden cases whose inputs are the starting rows (outputs ignored).
    pub cases: &'a [golden::Case],
    /// The suite's tolerance overrides (each output dtype's default otherwise): batch invariance
    /// compares with them, and probabilities may leave `[0, 1]` by the absolute tolerance.
    pub overrides: Overrides,
    /// `label_output` from the suite: the output holding class labels.
    pub label_output: Option<&'a str>,
}

// ---------------------------------------------------------------------------------------------
// Edge cases
// ---------------------------------------------------------------------------------------------

/// `[suite.model.edge_cases]`: one case per enabled check, built from the first row (or, without
/// a batch dimension, the first case) of the golden inputs:
/// - `edge: wrong shape is rejected`: the first input with one axis more, and one fewer, must
///   give an error;
/// - `edge: wrong dtype is rejected`: the first input sent as two other element types (a float
///   input as int64 and float64 or float32; an integer one as float32 and another integer type)
///   must give an error;
/// - `edge: empty batch is answered or rejected`: a batch of 0 rows gives outputs without
///   elements, or an error (skipped without a dynamic batch dimension);
/// - `edge: NaN and ±Inf inputs give finite outputs` (`non_finite = "finite"`) or
///   `edge: NaN and ±Inf inputs are rejected` (`"reject"`): NaN, +Inf and -Inf, one at a time,
///   in the first element and in every element of the first row of each floating-point input;
/// - `edge: extreme values give finite outputs`: ±1e30 and ± the largest float32 (clamped to
///   what the input's type holds) injected the same way; the model must answer with finite
///   floating-point outputs.
///
/// The unmodified row is run first: a model that cannot answer it makes every check errored (its
/// rejections would prove nothing). The float checks are skipped when no input is floating point.
pub fn edge_cases(ctx: &Context<'_>, spec: &EdgeCases) -> Vec<Case> {
    let started = Instant::now();
    let backend = ctx.backend;
    let batched = is_batched(backend);
    let mut names = Vec::new();
    if spec.wrong_shape {
        names.push(WRONG_SHAPE);
    }
    if spec.wrong_dtype {
        names.push(WRONG_DTYPE);
    }
    if spec.empty_batch {
        names.push(EMPTY_BATCH);
    }
    match spec.non_finite {
        NonFinite::Finite => names.push(NON_FINITE_FINITE),
        NonFinite::Reject => names.push(NON_FINITE_REJECT),
        NonFinite::Off => {}
    }
    if spec.extreme_values {
        names.push(EXTREME_VALUES);
    }
    if names.is_empty() {
        return Vec::new();
    }

    // The first unit, and proof that the model answers it unmodified.
    let base = plan(backend, ctx.cases, batched)
        .map_err(|e| format!("cannot build edge cases: {e}"))
        .and_then(|p| {
            let unit = p
                .units
                .into_iter()
                .next()
                .ok_or_else(|| "cannot build edge cases: the golden inputs hold no rows".to_owned())?;
            match backend.run(&unit.inputs) {
                Ok(_) => Ok(unit),
                Err(e) => Err(format!(
                    "the model could not answer the unmodified golden input ({}): {e}; its answers to modified inputs would prove nothing",
                    unit.origin
                )),
            }
        });
    let mut setup_ms = started.elapsed().as_secs_f64() * 1000.0;
    let base = match base {
        Ok(unit) => unit,
        Err(message) => {
            return names
                .into_iter()
                .map(|name| {
                    if name == EMPTY_BATCH && !batched {
                        empty_batch_skipped(backend)
                    } else {
                        Case::errored(name, message.clone())
                    }
                })
                .collect();
        }
    };

    let mut out = Vec::new();
    // A request that got no answer at all (an endpoint gone or hanging) is no rejection.
    let asked = Asked {
        inner: backend,
        unavailable: std::sync::Mutex::new(None),
    };
    let backend: &dyn Backend = &asked;
    for name in names {
        let mut case = timed(|| match name {
            WRONG_SHAPE => wrong_shape(backend, &base),
            WRONG_DTYPE => wrong_dtype(backend, &base),
            EMPTY_BATCH if !batched => empty_batch_skipped(backend),
            EMPTY_BATCH => empty_batch(backend, &base),
            NON_FINITE_FINITE => non_finite(backend, &base, Expect::Finite, name),
            NON_FINITE_REJECT => non_finite(backend, &base, Expect::Reject, name),
            _ => extreme_values(backend, &base),
        });
        if let Some(message) = asked.unavailable.lock().ok().and_then(|mut u| u.take()) {
            let ms = case.duration_ms;
            case = Case::errored(name, format!("the model could not be asked: {message}"));
            case.duration_ms = ms;
        }
        // The unmodified run is charged to the first case.
        case.duration_ms += setup_ms;
        setup_ms = 0.0;
        out.push(case.with_property("input_origin", base.origin.clone()));
    }
    out
}

/// A backend that remembers the last request that got no answer at all.
struct Asked<'a> {
    inner: &'a dyn Backend,
    unavailable: std::sync::Mutex<Option<String>>,
}

impl Backend for Asked<'_> {
    fn inputs(&self) -> &[crate::runtime::Port] {
        self.inner.inputs()
    }
    fn outputs(&self) -> &[crate::runtime::Port] {
        self.inner.outputs()
    }
    fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>, RuntimeError> {
        let answer = self.inner.run(inputs);
        if let Err(RuntimeError::Unavailable { message }) = &answer
            && let Ok(mut u) = self.unavailable.lock()
        {
            *u = Some(message.clone());
        }
        answer
    }
    fn target(&self) -> String {
        self.inner.target()
    }
    fn sends_non_finite(&self) -> bool {
        self.inner.sends_non_finite()
    }
}

fn empty_batch_skipped(backend: &dyn Backend) -> Case {
    Case::skipped(
        EMPTY_BATCH,
        format!(
            "{}, so a batch of zero rows is not a valid input",
            no_batch_reason(backend)
        ),
    )
}

fn wrong_shape(backend: &dyn Backend, base: &Unit) -> Case {
    let Some(first) = base.inputs.first() else {
        return Case::errored(WRONG_SHAPE, "the golden case has no inputs");
    };
    let mut more = first.clone();
    more.shape.push(1);
    let mut variants = vec![more];
    variants.extend(drop_axis(first));
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    let mut shapes = Vec::new();
    for v in variants {
        let shape = v.shape.clone();
        shapes.push(format!("{shape:?}"));
        match backend.run(&replace_first(&base.inputs, v)) {
            Ok(_) => problems.push(format!(
                "the model answered an input of shape {shape:?} it should reject (`{}` is {:?})",
                first.name, first.shape
            )),
            Err(e) => notes.push(format!("shape {shape:?} rejected: {e}")),
        }
    }
    finish(
        WRONG_SHAPE,
        problems,
        notes,
        format!(
            "`{}` of shape {} (instead of {:?}) was rejected",
            first.name,
            shapes.join(" and "),
            first.shape
        ),
    )
    .with_property("input", first.name.clone())
}

/// The tensor with one axis fewer: the first two merged, or a rank-1 tensor's first element as a
/// scalar. `None` for a scalar (or an empty rank-1 tensor).
fn drop_axis(t: &Tensor) -> Option<Tensor> {
    match t.shape.as_slice() {
        [] => None,
        [_] => {
            let mut scalar = t.slice_rows(0, 1)?;
            scalar.shape = Vec::new();
            Some(scalar)
        }
        [a, b, rest @ ..] => {
            let mut merged = t.clone();
            merged.shape = std::iter::once(a.saturating_mul(*b))
                .chain(rest.iter().copied())
                .collect();
            Some(merged)
        }
    }
}

fn replace_first(inputs: &[Tensor], first: Tensor) -> Vec<Tensor> {
    std::iter::once(first)
        .chain(inputs.iter().skip(1).cloned())
        .collect()
}

fn wrong_dtype(backend: &dyn Backend, base: &Unit) -> Case {
    let Some(first) = base.inputs.first() else {
        return Case::errored(WRONG_DTYPE, "the golden case has no inputs");
    };
    let declared = backend
        .inputs()
        .iter()
        .find(|p| p.name == first.name)
        .and_then(|p| p.dtype)
        .unwrap_or(first.dtype);
    let wrong = wrong_dtypes(declared);
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    for &to in &wrong {
        match backend.run(&replace_first(&base.inputs, convert(first, to))) {
            Ok(_) => problems.push(format!(
                "the model answered `{}` sent as {to} instead of {declared}; it should reject it",
                first.name
            )),
            Err(e) => notes.push(format!("{to} rejected: {e}")),
        }
    }
    let shown: Vec<&str> = wrong.iter().map(|d| d.name()).collect();
    finish(
        WRONG_DTYPE,
        problems,
        notes,
        format!(
            "`{}` ({declared}) sent as {} was rejected",
            first.name,
            shown.join(" and ")
        ),
    )
    .with_property("input", first.name.clone())
}

/// Two element types an input of `d` must not accept.
fn wrong_dtypes(d: DType) -> [DType; 2] {
    match d {
        DType::F64 => [DType::I64, DType::F32],
        d if d.is_float() => [DType::I64, DType::F64],
        DType::I64 => [DType::F32, DType::I32],
        _ => [DType::F32, DType::I64],
    }
}

/// The tensor's values as element type `to` (rounded, saturated; NaN becomes 0).
fn convert(t: &Tensor, to: DType) -> Tensor {
    let values: Vec<f64> = match &t.data {
        Data::Float(v) => v.clone(),
        Data::Int(v) => v.iter().map(|&x| x as f64).collect(),
        Data::UInt(v) => v.iter().map(|&x| x as f64).collect(),
        Data::Bool(v) => v.iter().map(|&x| f64::from(u8::from(x))).collect(),
        Data::Str(v) => v.iter().map(|s| s.trim().parse().unwrap_or(0.0)).collect(),
    };
    let data = match to {
        d if d.is_float() => Data::Float(values),
        DType::U8 | DType::U16 | DType::U32 | DType::U64 => {
            Data::UInt(values.iter().map(|x| x.round() as u64).collect())
        }
        DType::Bool => Data::Bool(values.iter().map(|x| *x != 0.0).collect()),
        DType::String => Data::Str(values.iter().map(ToString::to_string).collect()),
        _ => Data::Int(values.iter().map(|x| x.round() as i64).collect()),
    };
    Tensor {
        name: t.name.clone(),
        dtype: to,
        shape: t.shape.clone(),
        data,
    }
}

fn empty_batch(backend: &dyn Backend, base: &Unit) -> Case {
    let inputs: Option<Vec<Tensor>> = base.inputs.iter().map(|t| t.slice_rows(0, 0)).collect();
    let Some(inputs) = inputs else {
        return Case::errored(
            EMPTY_BATCH,
            "an input of the golden case has no batch axis to empty",
        );
    };
    match backend.run(&inputs) {
        Err(e) => Case::passed(EMPTY_BATCH)
            .with_message("a batch of 0 rows was rejected cleanly")
            .with_detail(e.to_string()),
        Ok(outputs) => {
            let non_empty: Vec<String> = outputs
                .iter()
                .filter(|t| !t.data.is_empty())
                .map(|t| format!("`{}` of shape {:?}", t.name, t.shape))
                .collect();
            if non_empty.is_empty() {
                Case::passed(EMPTY_BATCH).with_message("a batch of 0 rows was answered with 0 rows")
            } else {
                Case::failed(
                    EMPTY_BATCH,
                    format!(
                        "the model answered a batch of 0 rows with values: {}",
                        non_empty.join(", ")
                    ),
                )
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// The model answers and every floating-point output is finite.
    Finite,
    /// The model returns an error.
    Reject,
}

fn non_finite(backend: &dyn Backend, base: &Unit, expect: Expect, name: &str) -> Case {
    let floats = float_inputs(&base.inputs);
    if floats.is_empty() {
        return Case::skipped(name, no_float_reason(&base.inputs));
    }
    if !backend.sends_non_finite() {
        return Case::skipped(
            name,
            format!(
                "{} cannot be sent NaN or infinities: the Open Inference Protocol's JSON encoding has no such numbers; set `nonfinite_tokens = true` for servers that read bare NaN/Infinity tokens (Triton does)",
                backend.target()
            ),
        );
    }
    let probes = probes(&base.inputs, &[f64::NAN, f64::INFINITY, f64::NEG_INFINITY]);
    let count = probes.len();
    let (problems, mut notes) = run_probes(backend, probes, expect);
    let names = quoted(&floats);
    let passed = match expect {
        Expect::Finite => {
            format!("{count} inputs with NaN, +Inf or -Inf in {names} gave finite outputs")
        }
        Expect::Reject => format!("{count} inputs with NaN, +Inf or -Inf in {names} were rejected"),
    };
    if expect == Expect::Finite && !problems.is_empty() {
        notes.push(
            "non_finite = \"finite\" expects an answer with finite outputs; set non_finite = \"reject\" if rejecting such inputs is intended"
                .into(),
        );
    }
    finish(name, problems, notes, passed)
}

fn extreme_values(backend: &dyn Backend, base: &Unit) -> Case {
    let floats = float_inputs(&base.inputs);
    if floats.is_empty() {
        return Case::skipped(EXTREME_VALUES, no_float_reason(&base.inputs));
    }
    // The largest values every floating-point input can hold.
    let largest = base
        .inputs
        .iter()
        .filter(|t| matches!(t.data, Data::Float(_)))
        .map(|t| largest_finite(t.dtype))
        .fold(f64::INFINITY, f64::min);
    let mut values = vec![1e30_f64.min(largest), largest];
    values.dedup();
    let values: Vec<f64> = values.iter().flat_map(|&v| [v, -v]).collect();
    let shown: Vec<String> = values.iter().map(|&v| num(v)).collect();
    let probes = probes(&base.inputs, &values);
    let count = probes.len();
    let (problems, notes) = run_probes(backend, probes, Expect::Finite);
    finish(
        EXTREME_VALUES,
        problems,
        notes,
        format!(
            "{count} inputs with {} in {} gave finite outputs",
            shown.join(", "),
            quoted(&floats)
        ),
    )
}

/// The largest finite value of a floating-point type (float32's for float32 and float64).
fn largest_finite(dtype: DType) -> f64 {
    match dtype {
        DType::F16 => 65504.0,
        DType::BF16 => 3.389_531_389_251_535_5e38,
        _ => f64::from(f32::MAX),
    }
}

/// An input set with values injected, and what was injected where.
struct Probe {
    inputs: Vec<Tensor>,
    what: String,
}

/// For each value: the value in the first element of every floating-point input, and in every
/// element of the first row of every floating-point input (when that is more than one element).
fn probes(base: &[Tensor], values: &[f64]) -> Vec<Probe> {
    let names = quoted(&float_inputs(base));
    let mut out = Vec::new();
    for &value in values {
        for everywhere in [false, true] {
            let mut inputs = base.to_vec();
            let mut widest = 0;
            for t in &mut inputs {
                let n = if everywhere {
                    if t.shape.is_empty() { 1 } else { t.row_len() }
                } else {
                    1
                };
                if let Data::Float(v) = &mut t.data {
                    widest = widest.max(n.min(v.len()));
                    for x in v.iter_mut().take(n) {
                        *x = value;
                    }
                }
            }
            if everywhere && widest <= 1 {
                continue;
            }
            let what = if everywhere {
                format!(
                    "{} in every element of the first row of {names}",
                    num(value)
                )
            } else {
                format!("{} in the first element of {names}", num(value))
            };
            out.push(Probe { inputs, what });
        }
    }
    out
}

/// Runs every probe: what went against `expect`, and what went as expected (with the model's
/// error messages).
fn run_probes(
    backend: &dyn Backend,
    probes: Vec<Probe>,
    expect: Expect,
) -> (Vec<String>, Vec<String>) {
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    for p in probes {
        match (backend.run(&p.inputs), expect) {
            (Ok(outputs), Expect::Finite) => match first_non_finite(&outputs) {
                Some(bad) => problems.push(format!("{} gave {bad}", p.what)),
                None => notes.push(format!("{}: finite outputs", p.what)),
            },
            (Err(e), Expect::Finite) => {
                problems.push(format!("the model rejected {}: {e}", p.what));
            }
            (Ok(_), Expect::Reject) => {
                problems.push(format!(
                    "the model answered {}; it should reject it",
                    p.what
                ));
            }
            (Err(e), Expect::Reject) => notes.push(format!("{} rejected: {e}", p.what)),
        }
    }
    (problems, notes)
}

fn first_non_finite(outputs: &[Tensor]) -> Option<String> {
    outputs.iter().find_map(|t| match &t.data {
        Data::Float(v) => v
            .iter()
            .enumerate()
            .find(|(_, x)| !x.is_finite())
            .map(|(i, x)| format!("{} in output `{}` at {:?}", num(*x), t.name, t.index_of(i))),
        _ => None,
    })
}

fn float_inputs(inputs: &[Tensor]) -> Vec<&str> {
    inputs
        .iter()
        .filter(|t| matches!(t.data, Data::Float(_)))
        .map(|t| t.name.as_str())
        .collect()
}

/// Tensors' names and types, for messages: `` `label`: int64, `probs`: float32 `` (`none`).
fn typed(tensors: &[Tensor]) -> String {
    if tensors.is_empty() {
        return "none".into();
    }
    tensors
        .iter()
        .map(|t| format!("`{}`: {}", t.name, t.dtype))
        .collect::<Vec<_>>()
        .join(", ")
}

fn no_float_reason(inputs: &[Tensor]) -> String {
    let types: Vec<String> = inputs
        .iter()
        .map(|t| format!("`{}`: {}", t.name, t.dtype))
        .collect();
    format!(
        "the model has no floating-point inputs ({})",
        types.join(", ")
    )
}

/// A one-line verdict: failed with the first problem (and how many more) when there are any,
/// else passed; every problem and note in the detail.
fn finish(name: &str, problems: Vec<String>, notes: Vec<String>, passed: String) -> Case {
    let case = match problems.first() {
        None => Case::passed(name).with_message(passed),
        Some(first) if problems.len() > 1 => {
            Case::failed(name, format!("{first} (and {} more)", problems.len() - 1))
        }
        Some(first) => Case::failed(name, first.clone()),
    };
    let lines: Vec<String> = problems.into_iter().chain(notes).collect();
    if lines.is_empty() {
        case
    } else {
        case.with_detail(lines.join("\n"))
    }
}

// ---------------------------------------------------------------------------------------------
// Invariants
// ---------------------------------------------------------------------------------------------

/// `[suite.model.invariants]`: in this order, when enabled,
/// - `invariant: batch invariance`: every row run alone and all rows run together (in batches of
///   at most [`MAX_BATCH_ROWS`]) give the same outputs within the suite's tolerance; reports how
///   many rows differ and the worst (skipped without a dynamic batch dimension, or with a single
///   row);
/// - `invariant: determinism`: two runs on the golden inputs give bit-identical outputs;
/// - `` invariant: `<output>` are probabilities `` for each listed output: it exists, is floating
///   point, every value lies in `[0, 1]` (within the dtype's absolute tolerance) and every group
///   along the last axis sums to 1 within `probability_tolerance`; reports the worst row.
pub fn invariants(ctx: &Context<'_>, spec: &Invariants) -> Vec<Case> {
    let backend = ctx.backend;
    let batched = is_batched(backend);
    let plan = plan(backend, ctx.cases, batched);
    let mut out = Vec::new();
    if spec.batch_invariance {
        out.push(timed(|| batch_invariance(ctx, &plan)));
    }
    if !spec.determinism && spec.probabilities.is_empty() {
        return out;
    }
    let started = Instant::now();
    let reference = plan.as_ref().map_err(Clone::clone).and_then(|p| {
        run_all(backend, &p.slices(), p.batched).map_err(|f| {
            format!(
                "the model could not answer the golden inputs: {}",
                f.describe(|i| p.origin(i))
            )
        })
    });
    let mut reference_ms = started.elapsed().as_secs_f64() * 1000.0;
    if spec.determinism {
        let mut case = timed(|| match (&plan, &reference) {
            (Ok(p), Ok(first)) => determinism(backend, p, first),
            (_, Err(e)) => Case::errored(DETERMINISM, e.clone()),
            (Err(e), _) => Case::errored(DETERMINISM, e.clone()),
        });
        case.duration_ms += reference_ms;
        reference_ms = 0.0;
        out.push(case);
    }
    for output in &spec.probabilities {
        let name = format!("invariant: `{output}` are probabilities");
        let mut case = timed(|| match (&plan, &reference) {
            (Ok(p), Ok(outputs)) => probabilities(
                &name,
                output,
                p,
                outputs,
                spec.probability_tolerance,
                ctx.overrides,
            ),
            (_, Err(e)) => Case::errored(&name, e.clone()),
            (Err(e), _) => Case::errored(&name, e.clone()),
        });
        case.duration_ms += reference_ms;
        reference_ms = 0.0;
        out.push(case);
    }
    out
}

fn batch_invariance(ctx: &Context<'_>, plan: &Result<Plan, String>) -> Case {
    let name = BATCH_INVARIANCE;
    if !is_batched(ctx.backend) {
        return Case::skipped(
            name,
            format!(
                "{}, so rows cannot be batched",
                no_batch_reason(ctx.backend)
            ),
        );
    }
    let p = match plan {
        Ok(p) => p,
        Err(e) => return Case::errored(name, e.clone()),
    };
    let n = p.units.len();
    if n < 2 {
        return Case::skipped(
            name,
            "the golden inputs hold a single row; batch invariance needs at least 2",
        );
    }
    let slices = p.slices();
    let alone = match run_all(ctx.backend, &slices, false) {
        Ok(o) => o,
        Err(f) => {
            return Case::errored(
                name,
                format!(
                    "the model could not answer a row alone: {}",
                    f.describe(|i| p.origin(i))
                ),
            );
        }
    };
    let together = match run_all(ctx.backend, &slices, true) {
        Ok(o) => o,
        Err(f) => {
            return Case::errored(
                name,
                format!(
                    "the model could not answer the rows batched together: {}",
                    f.describe(|i| p.origin(i))
                ),
            );
        }
    };
    let batching = if n <= MAX_BATCH_ROWS {
        format!("one batch of {n} rows")
    } else {
        format!("batches of up to {MAX_BATCH_ROWS} rows")
    };
    let mut differing = 0usize;
    let mut worst: Option<(f64, usize, ValueMismatch)> = None;
    for (i, (a, b)) in alone.iter().zip(&together).enumerate() {
        let mut row_worst: Option<(f64, ValueMismatch)> = None;
        for t in a {
            let m = match b.iter().find(|u| u.name == t.name) {
                None => Some(plain_mismatch(format!(
                    "`{}` is missing from the batched answer",
                    t.name
                ))),
                Some(u) => compare(t, u, tolerance(t.dtype, ctx.overrides), NanPolicy::Equal),
            };
            if let Some(m) = m {
                let score = m.max_abs_error.unwrap_or(f64::INFINITY);
                if row_worst.as_ref().is_none_or(|(s, _)| score > *s) {
                    row_worst = Some((score, m));
                }
            }
        }
        if let Some((score, m)) = row_worst {
            differing += 1;
            if worst.as_ref().is_none_or(|(s, _, _)| score > *s) {
                worst = Some((score, i, m));
            }
        }
    }
    let case = match worst {
        None => Case::passed(name).with_message(format!(
            "{n} rows give the same outputs alone and in {batching}"
        )),
        Some((_, i, m)) => {
            let mut c = Case::failed(
                name,
                format!(
                    "{differing} of {n} rows give different outputs alone and in {batching}; worst: {}: {}",
                    p.origin(i),
                    m.message
                ),
            );
            if let Some((_, alone, batched)) = m.worst {
                c.expected = Some(format!("{alone} (alone)"));
                c.actual = Some(format!("{batched} (in the batch)"));
            }
            c
        }
    };
    case.with_property("rows", n.to_string())
        .with_property("differing_rows", differing.to_string())
}

fn plain_mismatch(message: String) -> ValueMismatch {
    ValueMismatch {
        message,
        differing: 0,
        total: 0,
        worst: None,
        max_abs_error: None,
        max_rel_error: None,
        changed_labels: None,
    }
}

fn determinism(backend: &dyn Backend, p: &Plan, first: &[Vec<Tensor>]) -> Case {
    let second = match run_all(backend, &p.slices(), p.batched) {
        Ok(o) => o,
        Err(f) => {
            return Case::errored(
                DETERMINISM,
                format!(
                    "the model answered the golden inputs once but not twice: {}",
                    f.describe(|i| p.origin(i))
                ),
            );
        }
    };
    let n = p.units.len();
    let noun = p.noun();
    let mut differing = 0usize;
    let mut first_difference = None;
    for (i, (a, b)) in first.iter().zip(&second).enumerate() {
        if let Some(d) = bit_difference(a, b) {
            differing += 1;
            first_difference.get_or_insert((i, d));
        }
    }
    let case = match first_difference {
        None => Case::passed(DETERMINISM)
            .with_message(format!("two runs on {n} {noun} gave bit-identical outputs")),
        Some((i, (what, one, two))) => {
            let mut c = Case::failed(
                DETERMINISM,
                format!(
                    "{differing} of {n} {noun} differ between two runs on the same inputs; first: {}, {what}: {one}, then {two}",
                    p.origin(i)
                ),
            );
            c.expected = Some(one);
            c.actual = Some(two);
            c
        }
    };
    case.with_property(noun, n.to_string())
        .with_property(format!("differing_{noun}"), differing.to_string())
}

/// The first place two answers differ, bit for bit: where, the first value, the second.
fn bit_difference(a: &[Tensor], b: &[Tensor]) -> Option<(String, String, String)> {
    if a.len() != b.len() {
        return Some((
            "number of outputs".into(),
            a.len().to_string(),
            b.len().to_string(),
        ));
    }
    for (x, y) in a.iter().zip(b) {
        if x.name != y.name || x.dtype != y.dtype || x.shape != y.shape {
            return Some((
                format!("output `{}`", x.name),
                format!("`{}` {} {:?}", x.name, x.dtype, x.shape),
                format!("`{}` {} {:?}", y.name, y.dtype, y.shape),
            ));
        }
        let n = x.data.len().max(y.data.len());
        let at = match (&x.data, &y.data) {
            (Data::Float(p), Data::Float(q)) => {
                (0..n).find(|&i| p.get(i).map(|v| v.to_bits()) != q.get(i).map(|v| v.to_bits()))
            }
            (p, q) if std::mem::discriminant(p) != std::mem::discriminant(q) => Some(0),
            (p, q) => (0..n).find(|&i| p.show(i) != q.show(i)),
        };
        if let Some(i) = at {
            return Some((
                format!("`{}`{:?}", x.name, x.index_of(i)),
                x.data.show(i),
                y.data.show(i),
            ));
        }
    }
    None
}

fn probabilities(
    name: &str,
    output: &str,
    p: &Plan,
    outputs: &[Vec<Tensor>],
    probability_tolerance: f64,
    overrides: Overrides,
) -> Case {
    let mut value_problems = 0usize;
    let mut worst_value: Option<(f64, String, f64)> = None; // (distance outside [0, 1], where, value)
    let mut groups = 0usize;
    let mut bad_groups = 0usize;
    let mut worst_group: Option<(f64, String, f64)> = None; // (|sum - 1|, where, sum)
    for (i, unit) in outputs.iter().enumerate() {
        let Some(t) = unit.iter().find(|t| t.name == output) else {
            let names: Vec<&str> = unit.iter().map(|t| t.name.as_str()).collect();
            return Case::failed(
                name,
                format!(
                    "the model has no output `{output}` (its outputs: {})",
                    quoted(&names)
                ),
            );
        };
        let Data::Float(values) = &t.data else {
            return Case::failed(
                name,
                format!("`{output}` holds {} values, not probabilities", t.dtype),
            );
        };
        let tol = tolerance(t.dtype, overrides).unwrap_or(Tolerance {
            rtol: 0.0,
            atol: 0.0,
        });
        let width = t
            .shape
            .last()
            .map_or(1, |&d| usize::try_from(d).unwrap_or(0));
        let several = width > 0 && values.len() / width > 1;
        // A row of this answer: the unit, and where in it when it holds several.
        let here = |flat: usize| {
            if several {
                let mut index = t.index_of(flat);
                index.pop();
                format!("{} at {index:?}", p.origin(i))
            } else {
                p.origin(i)
            }
        };
        for (k, &v) in values.iter().enumerate() {
            let outside = if v.is_nan() {
                f64::INFINITY
            } else if v < 0.0 {
                -v
            } else if v > 1.0 {
                v - 1.0
            } else {
                0.0
            };
            let allowed = if v > 1.0 {
                tol.atol + tol.rtol
            } else {
                tol.atol
            };
            if outside > allowed {
                value_problems += 1;
                if worst_value.as_ref().is_none_or(|w| outside > w.0) {
                    worst_value = Some((
                        outside,
                        format!("`{output}`{:?} of {}", t.index_of(k), p.origin(i)),
                        v,
                    ));
                }
            }
        }
        if width == 0 {
            continue;
        }
        for (g, group) in values.chunks(width).enumerate() {
            groups += 1;
            let sum: f64 = group.iter().sum();
            let error = if sum.is_nan() {
                f64::INFINITY
            } else {
                (sum - 1.0).abs()
            };
            if error > probability_tolerance {
                bad_groups += 1;
            }
            if worst_group.as_ref().is_none_or(|w| error > w.0) {
                worst_group = Some((error, here(g * width), sum));
            }
        }
    }
    let mut problems = Vec::new();
    if let Some((_, at, v)) = &worst_value {
        problems.push(format!(
            "{value_problems} value(s) outside [0, 1]; worst {} at {at}",
            num(*v)
        ));
    }
    if bad_groups > 0
        && let Some((_, at, sum)) = &worst_group
    {
        problems.push(format!(
            "{bad_groups} of {groups} row(s) do not sum to 1 within {}; worst: {at} sums to {}",
            num(probability_tolerance),
            full(*sum)
        ));
    }
    let largest_error = worst_group.as_ref().map_or(0.0, |w| w.0);
    let case = if problems.is_empty() {
        Case::passed(name).with_message(format!(
            "{groups} row(s) of `{output}`: values in [0, 1], sums within 1 ± {} (largest error {})",
            num(probability_tolerance),
            num(largest_error)
        ))
    } else {
        Case::failed(name, format!("`{output}`: {}", problems.join("; ")))
    };
    case.with_property("rows", groups.to_string())
        .with_property("worst_sum_error", largest_error.to_string())
}

// ---------------------------------------------------------------------------------------------
// Robustness
// ---------------------------------------------------------------------------------------------

/// One `[[suite.model.robustness]]`, as the case `robustness: <display_name()>`.
///
/// `gaussian`, `uniform` and `dropout` make `samples` perturbed copies of every row (floating-point
/// inputs only; `relative` scales the noise by each value's magnitude), run them in batches, and
/// measure the label flip rate (perturbed rows whose label differs from the unperturbed row's)
/// and the largest relative output change (max |perturbed - original| / max |original| per
/// floating-point output; an output that is all zeros divides by 1).
///
/// `search` looks, for each row, for the smallest eps whose uniform ±eps perturbation flips the
/// label: `samples` random sign vectors at eps = `scale`, then halving eps while it still flips
/// (down to `scale / 2^16`), then bisecting between the last eps that did not flip and the
/// smallest that did. It reports the smallest eps over all rows and how many rows flip within
/// `scale`; for `search`, `max_flip_rate` bounds that share of rows, `max_relative_change` the
/// change over every candidate tried.
///
/// Every bound given is checked and stated (measured vs allowed). `min_flip_eps` applies to
/// `search` only (the case says so when it is given to another perturbation). The same seed gives
/// the same case. Properties: `flip_rate`, `max_relative_change`, `min_flip_eps` (search), `seed`,
/// `labels` and the counts.
pub fn robustness(ctx: &Context<'_>, spec: &Robustness) -> Case {
    let name = format!("robustness: {}", spec.display_name());
    timed(|| {
        let case = match robustness_case(ctx, spec, &name) {
            Ok(c) => c,
            Err(message) => Case::errored(&name, message),
        };
        case.with_property("seed", spec.seed.to_string())
            .with_property("perturbation", perturbation_name(spec.perturbation))
    })
}

fn perturbation_name(p: Perturbation) -> &'static str {
    match p {
        Perturbation::Gaussian => "gaussian",
        Perturbation::Uniform => "uniform",
        Perturbation::Dropout => "dropout",
        Perturbation::Search => "search",
    }
}

/// What perturbed runs measured.
#[derive(Default)]
struct Tally {
    /// Perturbed inputs run.
    perturbed: usize,
    /// Of which changed their label.
    flips: usize,
    /// The largest relative change: value, output, unit.
    max_change: Option<(f64, String, usize)>,
}

/// The unperturbed answers the perturbed ones are measured against.
struct Reference<'a> {
    outputs: &'a [Vec<Tensor>],
    labels: Option<&'a Labels>,
    /// max |original| per floating-point output (1 when it is 0 or not finite).
    magnitudes: BTreeMap<String, f64>,
}

fn robustness_case(ctx: &Context<'_>, spec: &Robustness, name: &str) -> Result<Case, String> {
    let backend = ctx.backend;
    let batched = is_batched(backend);
    let p = plan(backend, ctx.cases, batched)
        .map_err(|e| format!("cannot build perturbed inputs: {e}"))?;
    if !p
        .units
        .iter()
        .any(|u| u.inputs.iter().any(|t| matches!(t.data, Data::Float(_))))
    {
        let first = p.units.first().map_or(&[][..], |u| u.inputs.as_slice());
        return Ok(Case::skipped(
            name,
            format!("nothing to perturb: {}", no_float_reason(first)),
        ));
    }
    let outputs = run_all(backend, &p.slices(), batched).map_err(|f| {
        format!(
            "the model could not answer the unperturbed inputs: {}",
            f.describe(|i| p.origin(i))
        )
    })?;
    if spec.samples == 0 {
        return Err("`samples` must be at least 1".into());
    }
    let search = spec.perturbation == Perturbation::Search;
    let needs_labels = search || spec.max_flip_rate.is_some();
    let labels = labels_for(ctx.label_output, &outputs, needs_labels).map_err(|e| {
        if needs_labels {
            format!("cannot read labels to count flips: {e}")
        } else {
            e
        }
    })?;
    let reference = Reference {
        outputs: &outputs,
        labels: labels.as_ref(),
        magnitudes: magnitudes(&outputs),
    };
    let noun = p.noun();
    let mut problems = Vec::new();
    let mut facts = Vec::new();
    let mut case = Case::passed(name);

    let tally = if search {
        let (tally, found) = run_search(backend, &p, spec, &reference)?;
        let rows = p.units.len();
        let rate = ratio(found.flippable, rows);
        let text = format!(
            "labels of {} ({} of {rows} {noun}) flip with eps up to {}",
            pct(rate),
            found.flippable,
            num(spec.scale)
        );
        match spec.max_flip_rate {
            Some(bound) if rate > bound => {
                problems.push(format!("{text}, more than max_flip_rate {}", pct(bound)));
            }
            Some(bound) => facts.push(format!("{text} (max_flip_rate {})", pct(bound))),
            None => facts.push(text),
        }
        match found.smallest {
            Some((eps, unit)) => {
                let text = format!(
                    "smallest label-flipping eps {} ({})",
                    num(eps),
                    p.origin(unit)
                );
                match spec.min_flip_eps {
                    Some(bound) if eps < bound => {
                        problems.push(format!("{text} is below min_flip_eps {}", num(bound)));
                    }
                    Some(bound) => facts.push(format!("{text}, min_flip_eps {}", num(bound))),
                    None => facts.push(text),
                }
                case = case.with_property("min_flip_eps", eps.to_string());
            }
            None => {
                facts.push(format!(
                    "no label flipped with eps up to {}",
                    num(spec.scale)
                ));
                case = case.with_property("min_flip_eps", "none");
            }
        }
        case = case
            .with_property("flip_rate", rate.to_string())
            .with_property("flipped_rows", found.flippable.to_string());
        tally
    } else {
        let tally = run_noise(backend, &p, spec, &reference)?;
        if labels.is_some() {
            let rate = ratio(tally.flips, tally.perturbed);
            let text = format!(
                "label flip rate {} ({} of {} perturbed {noun})",
                pct(rate),
                tally.flips,
                tally.perturbed
            );
            match spec.max_flip_rate {
                Some(bound) if rate > bound => {
                    problems.push(format!("{text} exceeds max_flip_rate {}", pct(bound)));
                }
                Some(bound) => facts.push(format!("{text}, max_flip_rate {}", pct(bound))),
                None => facts.push(text),
            }
            case = case
                .with_property("flip_rate", rate.to_string())
                .with_property("flips", tally.flips.to_string());
        }
        if spec.min_flip_eps.is_some() {
            facts.push("min_flip_eps applies to `search` only and was not checked".into());
        }
        tally
    };

    match &tally.max_change {
        Some((change, output, unit)) => {
            let change = *change;
            let text = format!(
                "max relative output change {} (`{output}`, {})",
                num(change),
                p.origin(*unit)
            );
            match spec.max_relative_change {
                Some(bound) if change > bound || change.is_nan() => {
                    problems.push(format!("{text} exceeds max_relative_change {}", num(bound)));
                }
                Some(bound) => facts.push(format!("{text}, max_relative_change {}", num(bound))),
                None => facts.push(text),
            }
            case = case.with_property("max_relative_change", change.to_string());
        }
        // Nothing measured must not pass a bound as a change of 0.
        None if spec.max_relative_change.is_some() => {
            return Err(format!(
                "cannot check max_relative_change: the model gives no floating-point outputs ({})",
                typed(outputs.first().map_or(&[][..], Vec::as_slice))
            ));
        }
        None => {}
    }
    case = case
        .with_property("perturbed_rows", tally.perturbed.to_string())
        .with_property(noun, p.units.len().to_string())
        .with_property("samples", spec.samples.to_string());
    if let Some(l) = &labels {
        case = case.with_property("labels", l.rule.describe());
    }
    if problems.is_empty() {
        Ok(case.with_message(facts.join("; ")))
    } else {
        case.outcome = modelci_report::Outcome::Failed;
        let case = case.with_message(problems.join("; "));
        Ok(if facts.is_empty() {
            case
        } else {
            case.with_detail(facts.join("\n"))
        })
    }
}

/// max |value| per floating-point output over every unit (1 when that is 0 or nothing is finite).
fn magnitudes(outputs: &[Vec<Tensor>]) -> BTreeMap<String, f64> {
    let mut out: BTreeMap<String, f64> = BTreeMap::new();
    for t in outputs.iter().flatten() {
        if let Data::Float(v) = &t.data {
            let m = v
                .iter()
                .filter(|x| x.is_finite())
                .fold(0.0_f64, |m, x| m.max(x.abs()));
            let e = out.entry(t.name.clone()).or_insert(0.0);
            *e = e.max(m);
        }
    }
    for v in out.values_mut() {
        if *v == 0.0 {
            *v = 1.0;
        }
    }
    out
}

fn run_noise(
    backend: &dyn Backend,
    p: &Plan,
    spec: &Robustness,
    reference: &Reference<'_>,
) -> Result<Tally, String> {
    let mut rng = Rng::new(spec.seed);
    let mut tally = Tally::default();
    let mut pending = Pending::new(|batch: &[(usize, Vec<Tensor>)]| {
        measure(backend, p, reference, batch, &mut tally).map(|_| ())
    });
    for (i, unit) in p.units.iter().enumerate() {
        for _ in 0..spec.samples {
            let copy = perturb(&unit.inputs, |x| match spec.perturbation {
                Perturbation::Gaussian => x + spread(x, spec) * rng.gaussian(),
                Perturbation::Uniform => x + spread(x, spec) * rng.symmetric(),
                Perturbation::Dropout | Perturbation::Search => {
                    if rng.unit() < spec.scale {
                        0.0
                    } else {
                        x
                    }
                }
            });
            pending.push(i, copy)?;
        }
    }
    pending.flush()?;
    Ok(tally)
}

/// Perturbed copies `(unit, inputs)` waiting to run: handed to `run` as soon as they hold
/// [`MAX_BATCH_ROWS`] rows, so that `samples` × rows copies never sit in memory at once.
struct Pending<F> {
    held: Vec<(usize, Vec<Tensor>)>,
    rows: usize,
    run: F,
}

impl<F: FnMut(&[(usize, Vec<Tensor>)]) -> Result<(), String>> Pending<F> {
    fn new(run: F) -> Self {
        Pending {
            held: Vec::new(),
            rows: 0,
            run,
        }
    }

    fn push(&mut self, unit: usize, copy: Vec<Tensor>) -> Result<(), String> {
        self.rows = self.rows.saturating_add(rows_of(&copy).max(1));
        self.held.push((unit, copy));
        if self.rows >= MAX_BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    /// Runs what is held (nothing when nothing is).
    fn flush(&mut self) -> Result<(), String> {
        if !self.held.is_empty() {
            (self.run)(&self.held)?;
        }
        self.held.clear();
        self.rows = 0;
        Ok(())
    }
}

/// The noise scale at `x`: `scale`, times |x| when relative.
fn spread(x: f64, spec: &Robustness) -> f64 {
    if spec.relative {
        spec.scale * x.abs()
    } else {
        spec.scale
    }
}

/// A copy of `inputs` with every floating-point value passed through `f` (in order).
fn perturb(inputs: &[Tensor], mut f: impl FnMut(f64) -> f64) -> Vec<Tensor> {
    inputs
        .iter()
        .map(|t| {
            let mut t = t.clone();
            if let Data::Float(v) = &mut t.data {
                for x in v.iter_mut() {
                    *x = f(*x);
                }
            }
            t
        })
        .collect()
}

/// Runs perturbed copies of units (`(unit, inputs)`), adds them to `tally`, and says which
/// changed their label.
fn measure(
    backend: &dyn Backend,
    p: &Plan,
    reference: &Reference<'_>,
    perturbed: &[(usize, Vec<Tensor>)],
    tally: &mut Tally,
) -> Result<Vec<bool>, String> {
    if perturbed.is_empty() {
        return Ok(Vec::new());
    }
    let slices: Vec<&[Tensor]> = perturbed.iter().map(|(_, v)| v.as_slice()).collect();
    let answers = run_all(backend, &slices, p.batched).map_err(|f| {
        format!(
            "the model could not answer a perturbed input: {}",
            f.describe(|k| {
                let unit = perturbed.get(k).map_or(k, |(u, _)| *u);
                format!("a perturbed copy of {}", p.origin(unit))
            })
        )
    })?;
    let mut flipped = Vec::with_capacity(perturbed.len());
    for ((unit, _), got) in perturbed.iter().zip(&answers) {
        tally.perturbed += 1;
        let original = reference.outputs.get(*unit).map_or(&[][..], Vec::as_slice);
        let flip = match reference.labels {
            Some(l) => {
                let now = l.rule.read(got).map_err(|e| {
                    format!(
                        "cannot read the label of a perturbed copy of {}: {e}",
                        p.origin(*unit)
                    )
                })?;
                l.values.get(*unit) != Some(&now)
            }
            None => false,
        };
        if flip {
            tally.flips += 1;
        }
        flipped.push(flip);
        if let Some((change, output)) = relative_change(original, got, &reference.magnitudes)
            && tally
                .max_change
                .as_ref()
                .is_none_or(|(m, _, _)| change > *m || (change.is_nan() && !m.is_nan()))
        {
            tally.max_change = Some((change, output, *unit));
        }
    }
    Ok(flipped)
}

/// The largest relative change of any floating-point output of one answer, and which output.
fn relative_change(
    original: &[Tensor],
    got: &[Tensor],
    magnitudes: &BTreeMap<String, f64>,
) -> Option<(f64, String)> {
    let mut best: Option<(f64, String)> = None;
    for o in original {
        let Data::Float(a) = &o.data else { continue };
        let change = match got.iter().find(|t| t.name == o.name).map(|t| &t.data) {
            Some(Data::Float(b)) if b.len() == a.len() => {
                let denominator = magnitudes.get(&o.name).copied().unwrap_or(1.0);
                a.iter()
                    .zip(b)
                    .map(|(x, y)| difference(*x, *y))
                    .fold(0.0_f64, f64::max)
                    / denominator
            }
            _ => f64::INFINITY,
        };
        if best.as_ref().is_none_or(|(b, _)| change > *b) {
            best = Some((change, o.name.clone()));
        }
    }
    best
}

/// |a - b|, with NaN against NaN (and an infinity against the same one) counting as no change
/// and NaN against a number as an infinite one.
fn difference(a: f64, b: f64) -> f64 {
    if a.is_nan() && b.is_nan() || a == b {
        0.0
    } else if a.is_nan() || b.is_nan() {
        f64::INFINITY
    } else {
        (a - b).abs()
    }
}

/// What the search found.
struct Found {
    /// Rows whose label flipped with some eps up to `scale`.
    flippable: usize,
    /// The smallest flipping eps and its unit.
    smallest: Option<(f64, usize)>,
}

#[derive(Clone, Copy, PartialEq)]
enum Phase {
    /// Trying eps = scale.
    Start,
    /// Halving eps while it flips (the number of halvings so far).
    Descend(u32),
    /// Bisecting between `lo` (did not flip) and `hi` (flipped).
    Bisect(u32),
    Done,
}

struct RowSearch {
    lo: f64,
    hi: Option<f64>,
    phase: Phase,
}

impl RowSearch {
    fn next_eps(&self, scale: f64) -> Option<f64> {
        match (self.phase, self.hi) {
            (Phase::Start, _) => Some(scale),
            (Phase::Descend(_), Some(hi)) => Some(hi / 2.0),
            (Phase::Bisect(_), Some(hi)) => Some((self.lo + hi) / 2.0),
            _ => None,
        }
    }

    fn update(&mut self, eps: f64, flipped: bool) {
        self.phase = match self.phase {
            Phase::Start if flipped => {
                self.hi = Some(eps);
                Phase::Descend(0)
            }
            Phase::Descend(k) if flipped => {
                self.hi = Some(eps);
                if k + 1 >= SEARCH_HALVINGS {
                    Phase::Done
                } else {
                    Phase::Descend(k + 1)
                }
            }
            Phase::Descend(_) => {
                self.lo = eps;
                Phase::Bisect(0)
            }
            Phase::Bisect(k) => {
                if flipped {
                    self.hi = Some(eps);
                } else {
                    self.lo = eps;
                }
                if k + 1 >= SEARCH_BISECTIONS {
                    Phase::Done
                } else {
                    Phase::Bisect(k + 1)
                }
            }
            Phase::Start | Phase::Done => Phase::Done,
        };
    }
}

/// The search, in lockstep over every row so that each step runs as few batches as possible.
fn run_search(
    backend: &dyn Backend,
    p: &Plan,
    spec: &Robustness,
    reference: &Reference<'_>,
) -> Result<(Tally, Found), String> {
    let mut rng = Rng::new(spec.seed);
    let mut tally = Tally::default();
    let mut rows: Vec<RowSearch> = p
        .units
        .iter()
        .map(|_| RowSearch {
            lo: 0.0,
            hi: None,
            phase: Phase::Start,
        })
        .collect();
    loop {
        let steps: Vec<(usize, f64)> = rows
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.next_eps(spec.scale).map(|eps| (i, eps)))
            .collect();
        if steps.is_empty() {
            break;
        }
        let mut flipped: BTreeMap<usize, bool> = BTreeMap::new();
        let mut pending = Pending::new(|batch: &[(usize, Vec<Tensor>)]| {
            flush_search(backend, p, reference, batch, &mut tally, &mut flipped)
        });
        for &(i, eps) in &steps {
            let Some(unit) = p.units.get(i) else { continue };
            for _ in 0..spec.samples {
                let copy = perturb(&unit.inputs, |x| {
                    let step = if spec.relative { eps * x.abs() } else { eps };
                    x + rng.sign() * step
                });
                pending.push(i, copy)?;
            }
        }
        pending.flush()?;
        for (i, eps) in steps {
            if let Some(r) = rows.get_mut(i) {
                r.update(eps, flipped.get(&i).copied().unwrap_or(false));
            }
        }
    }
    let mut found = Found {
        flippable: 0,
        smallest: None,
    };
    for (i, r) in rows.iter().enumerate() {
        if let Some(hi) = r.hi {
            found.flippable += 1;
            if found.smallest.is_none_or(|(s, _)| hi < s) {
                found.smallest = Some((hi, i));
            }
        }
    }
    Ok((tally, found))
}

fn flush_search(
    backend: &dyn Backend,
    p: &Plan,
    reference: &Reference<'_>,
    pending: &[(usize, Vec<Tensor>)],
    tally: &mut Tally,
    flipped: &mut BTreeMap<usize, bool>,
) -> Result<(), String> {
    let flips = measure(backend, p, reference, pending, tally)?;
    for ((i, _), flip) in pending.iter().zip(flips) {
        *flipped.entry(*i).or_insert(false) |= flip;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Regression
// ---------------------------------------------------------------------------------------------

/// `[suite.model.regression]`, as the case `regression: against <baseline_name>`: the candidate
/// (`ctx.backend`) and `baseline` run on every golden row; measures the label change rate (and
/// lists the first rows that changed, `from→to`) and the max and mean |candidate - baseline| over
/// the candidate's floating-point outputs, and checks every bound given.
///
/// Errored when either model cannot answer, when a floating-point output of the candidate is
/// missing from the baseline or has another shape or type there, or when labels are bounded but
/// cannot be read from both. Rows are batched only when both models have a dynamic batch
/// dimension; otherwise whole cases are compared.
pub fn regression(
    ctx: &Context<'_>,
    baseline: &dyn Backend,
    baseline_name: &str,
    spec: &Regression,
) -> Case {
    let name = format!("regression: against {baseline_name}");
    timed(|| {
        let case = match regression_case(ctx, baseline, baseline_name, spec, &name) {
            Ok(c) => c,
            Err(message) => Case::errored(&name, message),
        };
        case.with_property("baseline", baseline_name)
    })
}

fn regression_case(
    ctx: &Context<'_>,
    baseline: &dyn Backend,
    baseline_name: &str,
    spec: &Regression,
    name: &str,
) -> Result<Case, String> {
    let batched = is_batched(ctx.backend) && is_batched(baseline);
    let p = plan(ctx.backend, ctx.cases, batched)?;
    let slices = p.slices();
    let candidate = run_all(ctx.backend, &slices, batched).map_err(|f| {
        format!(
            "the candidate model could not answer the golden inputs: {}",
            f.describe(|i| p.origin(i))
        )
    })?;
    let base = run_all(baseline, &slices, batched).map_err(|f| {
        format!(
            "the baseline `{baseline_name}` could not answer the golden inputs: {}",
            f.describe(|i| p.origin(i))
        )
    })?;
    let noun = p.noun();
    let n = p.units.len();

    // Drift over the candidate's floating-point outputs.
    let mut count = 0usize;
    let mut sum = 0.0_f64;
    let mut max: Option<(f64, String)> = None;
    for (i, (c, b)) in candidate.iter().zip(&base).enumerate() {
        for t in c {
            let Data::Float(x) = &t.data else { continue };
            let Some(u) = b.iter().find(|u| u.name == t.name) else {
                let names: Vec<&str> = b.iter().map(|u| u.name.as_str()).collect();
                return Err(format!(
                    "output `{}` of the candidate is missing from the baseline `{baseline_name}` (its outputs: {})",
                    t.name,
                    quoted(&names)
                ));
            };
            if u.shape != t.shape {
                return Err(format!(
                    "output `{}` has shape {:?} on the candidate but {:?} on the baseline `{baseline_name}` ({})",
                    t.name,
                    t.shape,
                    u.shape,
                    p.origin(i)
                ));
            }
            let Data::Float(y) = &u.data else {
                return Err(format!(
                    "output `{}` holds {} values on the candidate but {} on the baseline `{baseline_name}`",
                    t.name, t.dtype, u.dtype
                ));
            };
            for (k, (a, b)) in x.iter().zip(y).enumerate() {
                let d = difference(*a, *b);
                count += 1;
                sum += d;
                if max.as_ref().is_none_or(|(m, _)| d > *m) {
                    max = Some((
                        d,
                        format!("`{}`{:?} of {}", t.name, t.index_of(k), p.origin(i)),
                    ));
                }
            }
        }
    }
    let mean = if count == 0 { 0.0 } else { sum / count as f64 };
    let drift_bounded = spec.max_output_drift.is_some() || spec.max_mean_drift.is_some();
    if count == 0 && drift_bounded {
        // Nothing compared must not pass a bound as a drift of 0.
        return Err(format!(
            "cannot check output drift: the candidate gives no floating-point values to compare ({})",
            typed(candidate.first().map_or(&[][..], Vec::as_slice))
        ));
    }

    // Labels.
    let needs_labels = spec.max_label_change_rate.is_some();
    let labels = labels_for(ctx.label_output, &candidate, needs_labels).map_err(|e| {
        if needs_labels {
            format!("cannot read the candidate's labels: {e}")
        } else {
            e
        }
    })?;
    // Labels of both, `None` when not bounded and the baseline's cannot be read.
    let mut changes: Vec<(usize, String, String)> = Vec::new();
    let labels = match labels {
        None => None,
        Some(l) => {
            let mut readable = true;
            for (i, b) in base.iter().enumerate() {
                let before = match l.rule.read(b) {
                    Ok(v) => v,
                    Err(e) if needs_labels => {
                        return Err(format!(
                            "cannot read the baseline `{baseline_name}`'s labels: {e}"
                        ));
                    }
                    Err(_) => {
                        readable = false;
                        break;
                    }
                };
                if let Some(now) = l.values.get(i)
                    && *now != before
                {
                    changes.push((i, before, now.clone()));
                }
            }
            if readable {
                Some(l)
            } else {
                changes.clear();
                None
            }
        }
    };

    let mut problems = Vec::new();
    let mut facts = Vec::new();
    let mut case = Case::passed(name).with_property(noun, n.to_string());
    if count > 0 {
        case = case
            .with_property(
                "max_output_drift",
                max.as_ref().map_or(0.0, |m| m.0).to_string(),
            )
            .with_property("mean_output_drift", mean.to_string());
    }
    let mut bound_text: Option<(String, String)> = None;
    if let Some(l) = &labels {
        let rate = ratio(changes.len(), n);
        let listed: Vec<String> = changes
            .iter()
            .take(LISTED_CHANGES)
            .map(|(i, from, to)| format!("{}: {from}→{to}", p.origin(*i)))
            .collect();
        let mut text = format!(
            "labels changed in {} ({} of {n} {noun})",
            pct(rate),
            changes.len()
        );
        match spec.max_label_change_rate {
            Some(bound) if rate > bound => {
                text.push_str(&format!(", more than max_label_change_rate {}", pct(bound)));
                bound_text
                    .get_or_insert((format!("label change rate ≤ {}", pct(bound)), pct(rate)));
                push_listed(&mut text, &listed, changes.len());
                problems.push(text);
            }
            Some(bound) => {
                text.push_str(&format!(", max_label_change_rate {}", pct(bound)));
                push_listed(&mut text, &listed, changes.len());
                facts.push(text);
            }
            None => {
                push_listed(&mut text, &listed, changes.len());
                facts.push(text);
            }
        }
        case = case
            .with_property("labels", l.rule.describe())
            .with_property("label_change_rate", rate.to_string())
            .with_property("changed_rows", changes.len().to_string());
    }
    let (max_value, max_at) = max.map_or((0.0, String::new()), |(v, at)| (v, format!(" at {at}")));
    let drifts = [
        (
            "max_output_drift",
            max_value,
            max_at.as_str(),
            spec.max_output_drift,
        ),
        ("max_mean_drift", mean, "", spec.max_mean_drift),
    ];
    // (Without floating-point values there is no drift to state, and no bound: see above.)
    let measured = if count == 0 { &[][..] } else { &drifts[..] };
    for &(key, value, at, bound) in measured {
        let what = if key == "max_output_drift" {
            "max output drift"
        } else {
            "mean output drift"
        };
        let text = format!("{what} {}{at}", num(value));
        match bound {
            Some(b) if value > b || value.is_nan() => {
                bound_text.get_or_insert((format!("{what} ≤ {}", num(b)), num(value)));
                problems.push(format!("{text} exceeds {key} {}", num(b)));
            }
            Some(b) => facts.push(format!("{text}, {key} {}", num(b))),
            None => facts.push(text),
        }
    }
    if !changes.is_empty() {
        let lines: Vec<String> = changes
            .iter()
            .take(DETAILED_CHANGES)
            .map(|(i, from, to)| format!("{}: {from}→{to}", p.origin(*i)))
            .collect();
        let mut detail = format!("label changes (baseline→candidate):\n{}", lines.join("\n"));
        if changes.len() > DETAILED_CHANGES {
            detail.push_str(&format!("\n… {} more", changes.len() - DETAILED_CHANGES));
        }
        case = case.with_detail(detail);
    }
    if problems.is_empty() {
        return Ok(case.with_message(facts.join("; ")));
    }
    case.outcome = modelci_report::Outcome::Failed;
    if let Some((expected, actual)) = bound_text {
        case.expected = Some(expected);
        case.actual = Some(actual);
    }
    Ok(case.with_message(problems.join("; ")))
}

fn push_listed(text: &mut String, listed: &[String], total: usize) {
    if listed.is_empty() {
        return;
    }
    text.push_str(": ");
    text.push_str(&listed.join(", "));
    if total > listed.len() {
        text.push_str(&format!(", … {} more", total - listed.len()));
    }
}

// ---------------------------------------------------------------------------------------------
// Labels
// ---------------------------------------------------------------------------------------------

/// Which output holds the labels.
struct LabelRule {
    output: String,
    /// Floating point: the argmax along the last axis; otherwise the values themselves.
    argmax: bool,
    /// Named by `label_output`.
    named: bool,
}

impl LabelRule {
    /// `label_output` when given (it must exist), else the first integer output, else the first
    /// floating-point output's argmax.
    fn pick(label_output: Option<&str>, outputs: &[Tensor]) -> Result<LabelRule, String> {
        let names: Vec<&str> = outputs.iter().map(|t| t.name.as_str()).collect();
        if let Some(wanted) = label_output {
            let t = outputs.iter().find(|t| t.name == wanted).ok_or_else(|| {
                format!(
                    "label_output `{wanted}` is not an output of the model (its outputs: {})",
                    quoted(&names)
                )
            })?;
            return Ok(LabelRule {
                output: t.name.clone(),
                argmax: matches!(t.data, Data::Float(_)),
                named: true,
            });
        }
        if let Some(t) = outputs
            .iter()
            .find(|t| matches!(t.data, Data::Int(_) | Data::UInt(_)))
        {
            return Ok(LabelRule {
                output: t.name.clone(),
                argmax: false,
                named: false,
            });
        }
        if let Some(t) = outputs.iter().find(|t| matches!(t.data, Data::Float(_))) {
            return Ok(LabelRule {
                output: t.name.clone(),
                argmax: true,
                named: false,
            });
        }
        Err(format!(
            "no output holds labels: no integer and no floating-point output (outputs: {}); name one with label_output",
            quoted(&names)
        ))
    }

    fn describe(&self) -> String {
        let how = if self.argmax {
            format!("argmax of `{}` along its last axis", self.output)
        } else {
            format!("values of `{}`", self.output)
        };
        if self.named {
            format!("{how} (label_output)")
        } else {
            how
        }
    }

    /// The label of one answer (every label of the unit, comma-separated).
    fn read(&self, outputs: &[Tensor]) -> Result<String, String> {
        let t = outputs
            .iter()
            .find(|t| t.name == self.output)
            .ok_or_else(|| format!("the answer has no output `{}`", self.output))?;
        Ok(match &t.data {
            Data::Float(v) => {
                let width = t
                    .shape
                    .last()
                    .map_or(1, |&d| usize::try_from(d).unwrap_or(0));
                if width == 0 {
                    return Ok(String::new());
                }
                v.chunks(width).map(argmax).collect::<Vec<_>>().join(",")
            }
            data => (0..data.len())
                .map(|i| data.show(i))
                .collect::<Vec<_>>()
                .join(","),
        })
    }
}

/// The index of the largest value (the first of equals), or `NaN` when a value is NaN.
fn argmax(group: &[f64]) -> String {
    if group.iter().any(|x| x.is_nan()) {
        return "NaN".into();
    }
    let mut best: Option<(usize, f64)> = None;
    for (i, &x) in group.iter().enumerate() {
        if best.is_none_or(|(_, b)| x > b) {
            best = Some((i, x));
        }
    }
    best.map(|(i, _)| i.to_string()).unwrap_or_default()
}

/// The labels of every unit's answer.
struct Labels {
    rule: LabelRule,
    values: Vec<String>,
}

/// Labels for every answer: an error when `label_output` names no output, or when labels are
/// `needed` and cannot be read; `None` when they are not needed and cannot be read.
fn labels_for(
    label_output: Option<&str>,
    outputs: &[Vec<Tensor>],
    needed: bool,
) -> Result<Option<Labels>, String> {
    let first = outputs.first().map_or(&[][..], Vec::as_slice);
    let rule = match LabelRule::pick(label_output, first) {
        Ok(r) => r,
        Err(e) if needed || label_output.is_some() => return Err(e),
        Err(_) => return Ok(None),
    };
    let mut values = Vec::with_capacity(outputs.len());
    for o in outputs {
        match rule.read(o) {
            Ok(v) => values.push(v),
            Err(e) if needed => return Err(e),
            Err(_) => return Ok(None),
        }
    }
    Ok(Some(Labels { rule, values }))
}

// ---------------------------------------------------------------------------------------------
// Rows, batches and runs
// ---------------------------------------------------------------------------------------------

/// One thing the checks run: a row of a case (dynamic batch) or a whole case.
struct Unit {
    inputs: Vec<Tensor>,
    /// For messages: ``row 3 (`cats.json` row 1)`` or ``case `cats.json` ``.
    origin: String,
}

/// The units of the golden inputs, and whether they may be batched.
struct Plan {
    units: Vec<Unit>,
    batched: bool,
}

impl Plan {
    fn slices(&self) -> Vec<&[Tensor]> {
        self.units.iter().map(|u| u.inputs.as_slice()).collect()
    }

    fn origin(&self, i: usize) -> String {
        self.units
            .get(i)
            .map_or_else(|| format!("#{i}"), |u| u.origin.clone())
    }

    fn noun(&self) -> &'static str {
        if self.batched { "rows" } else { "cases" }
    }
}

/// Whether every input of the model has a leading dynamic dimension.
fn is_batched(backend: &dyn Backend) -> bool {
    let ports = backend.inputs();
    !ports.is_empty() && ports.iter().all(|p| p.shape.first() == Some(&-1))
}

fn no_batch_reason(backend: &dyn Backend) -> String {
    let ports: Vec<String> = backend
        .inputs()
        .iter()
        .map(|p| format!("`{}` {:?}", p.name, p.shape))
        .collect();
    if ports.is_empty() {
        "the model declares no inputs".into()
    } else {
        format!(
            "the model's inputs have no leading dynamic (-1) batch dimension ({})",
            ports.join(", ")
        )
    }
}

/// The golden inputs as units: rows when `batched`, else whole cases; each case's inputs in the
/// model's input order.
fn plan(backend: &dyn Backend, cases: &[golden::Case], batched: bool) -> Result<Plan, String> {
    if cases.is_empty() {
        return Err("the suite has no golden cases to take inputs from".into());
    }
    let ports = backend.inputs();
    let mut units = Vec::new();
    for case in cases {
        let mut inputs = case.inputs.clone();
        inputs.sort_by_key(|t| {
            ports
                .iter()
                .position(|p| p.name == t.name)
                .unwrap_or(usize::MAX)
        });
        if inputs.is_empty() {
            return Err(format!("golden case `{}` has no inputs", case.name));
        }
        if let Some(t) = inputs.iter().find(|t| too_large(t)) {
            return Err(format!(
                "input `{}` of golden case `{}` has shape {:?}, too large to take rows from (its dimensions multiply past 2^63)",
                t.name, case.name, t.shape
            ));
        }
        if !batched {
            units.push(Unit {
                inputs,
                origin: format!("case `{}`", case.name),
            });
            continue;
        }
        let mut rows: Option<(usize, &str)> = None;
        for t in &inputs {
            let Some(n) = t.rows() else {
                return Err(format!(
                    "input `{}` of golden case `{}` is a scalar, but the model takes a batch along axis 0",
                    t.name, case.name
                ));
            };
            match rows {
                None => rows = Some((n, &t.name)),
                Some((m, first)) if m != n => {
                    return Err(format!(
                        "golden case `{}`: input `{first}` has {m} row(s) but `{}` has {n}",
                        case.name, t.name
                    ));
                }
                Some(_) => {}
            }
        }
        let n = rows.map_or(0, |r| r.0);
        for r in 0..n {
            let row: Option<Vec<Tensor>> = inputs.iter().map(|t| t.slice_rows(r, 1)).collect();
            let Some(row) = row else {
                return Err(format!(
                    "golden case `{}`: row {r} cannot be taken",
                    case.name
                ));
            };
            let origin = if n == 1 {
                format!("row {} (`{}`)", units.len(), case.name)
            } else {
                format!("row {} (`{}` row {r})", units.len(), case.name)
            };
            units.push(Unit {
                inputs: row,
                origin,
            });
        }
    }
    if units.is_empty() {
        return Err("the golden inputs hold no rows".into());
    }
    Ok(Plan { units, batched })
}

/// Where a run failed: the units of the batch, and the model's message.
#[derive(Debug)]
struct RunFailure {
    first: usize,
    count: usize,
    message: String,
}

impl RunFailure {
    fn describe(&self, origin: impl Fn(usize) -> String) -> String {
        if self.count <= 1 {
            format!("{}: {}", origin(self.first), self.message)
        } else {
            format!(
                "a batch of {} starting at {}: {}",
                self.count,
                origin(self.first),
                self.message
            )
        }
    }
}

/// Runs every unit and returns each one's outputs. When `batched`, consecutive units that stack
/// (same names, types and shapes past axis 0) run together, at most [`MAX_BATCH_ROWS`] rows at a
/// time, and the outputs are split back by rows; otherwise each unit runs alone.
fn run_all(
    backend: &dyn Backend,
    units: &[&[Tensor]],
    batched: bool,
) -> Result<Vec<Vec<Tensor>>, RunFailure> {
    let mut out = Vec::with_capacity(units.len());
    let mut start = 0;
    while let Some(&first) = units.get(start) {
        let mut end = start + 1;
        let mut sizes = vec![rows_of(first)];
        if batched {
            let mut rows = rows_of(first);
            while let Some(&next) = units.get(end) {
                let r = rows_of(next);
                if rows + r > MAX_BATCH_ROWS || !stackable(first, next) {
                    break;
                }
                rows += r;
                sizes.push(r);
                end += 1;
            }
        }
        let fail = |message: String| RunFailure {
            first: start,
            count: end - start,
            message,
        };
        let chunk = units.get(start..end).unwrap_or_default();
        if let [one] = chunk {
            out.push(backend.run(one).map_err(|e| fail(e.to_string()))?);
        } else {
            let inputs = stack(chunk)
                .ok_or_else(|| fail("the rows cannot be stacked into one batch".into()))?;
            let outputs = backend.run(&inputs).map_err(|e| fail(e.to_string()))?;
            out.extend(split(&outputs, &sizes).map_err(fail)?);
        }
        start = end;
    }
    Ok(out)
}

/// Whether a shape's non-zero dimensions multiply past `i64::MAX` (or one is negative), so that
/// its rows and row widths cannot be computed (a zero dimension makes such a tensor empty, so
/// it can hold no values and still be a valid tensor).
fn too_large(t: &Tensor) -> bool {
    t.shape
        .iter()
        .try_fold(1_i64, |product, &d| match d {
            0 => Some(product),
            d if d > 0 => product.checked_mul(d),
            _ => None,
        })
        .is_none()
}

fn rows_of(unit: &[Tensor]) -> usize {
    unit.first().and_then(Tensor::rows).unwrap_or(1)
}

fn stackable(a: &[Tensor], b: &[Tensor]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.name == y.name
                && x.dtype == y.dtype
                && !x.shape.is_empty()
                && x.shape.get(1..) == y.shape.get(1..)
                && std::mem::discriminant(&x.data) == std::mem::discriminant(&y.data)
        })
}

fn stack(chunk: &[&[Tensor]]) -> Option<Vec<Tensor>> {
    let first = chunk.first()?;
    (0..first.len())
        .map(|k| {
            let parts: Option<Vec<&Tensor>> = chunk.iter().map(|u| u.get(k)).collect();
            Tensor::concat_rows(&parts?)
        })
        .collect()
}

/// Splits a batch's outputs into consecutive runs of `sizes` rows.
fn split(outputs: &[Tensor], sizes: &[usize]) -> Result<Vec<Vec<Tensor>>, String> {
    let total: usize = sizes.iter().sum();
    if let Some(t) = outputs.iter().find(|t| too_large(t)) {
        return Err(format!(
            "output `{}` has shape {:?}, too large to split back into rows (its dimensions multiply past 2^63)",
            t.name, t.shape
        ));
    }
    if let Some(t) = outputs.iter().find(|t| t.rows() != Some(total)) {
        return Err(format!(
            "output `{}` has shape {:?} for a batch of {total} rows, so it cannot be split back into rows",
            t.name, t.shape
        ));
    }
    let mut out = Vec::with_capacity(sizes.len());
    let mut at = 0;
    for &n in sizes {
        let part: Option<Vec<Tensor>> = outputs.iter().map(|t| t.slice_rows(at, n)).collect();
        out.push(part.ok_or_else(|| format!("rows {at}..{} are out of range", at + n))?);
        at += n;
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

/// The suite's tolerance for an output type: the type's default, overridden by `rtol`/`atol`
/// (as golden suites resolve it).
fn tolerance(dtype: DType, o: Overrides) -> Option<Tolerance> {
    let base = Tolerance::default_for(dtype);
    if o.rtol.is_none() && o.atol.is_none() {
        return base;
    }
    let b = base.unwrap_or(Tolerance {
        rtol: 0.0,
        atol: 0.0,
    });
    Some(Tolerance {
        rtol: o.rtol.unwrap_or(b.rtol),
        atol: o.atol.unwrap_or(b.atol),
    })
}

fn timed(f: impl FnOnce() -> Case) -> Case {
    let started = Instant::now();
    let mut case = f();
    case.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    case
}

trait WithDetail {
    fn with_detail(self, detail: impl Into<String>) -> Self;
}

impl WithDetail for Case {
    fn with_detail(mut self, detail: impl Into<String>) -> Case {
        self.detail = Some(detail.into());
        self
    }
}

fn quoted(names: &[&str]) -> String {
    if names.is_empty() {
        return "none".into();
    }
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// A percentage with at most three decimals: `7.5%`.
fn pct(r: f64) -> String {
    format!("{}%", trim_zeros(&format!("{:.3}", r * 100.0)))
}

/// A number for messages: plain between 1e-3 and 1e6 (at most 6 decimals), else scientific with
/// 4 significant digits; `NaN`, `+Inf`, `-Inf`.
fn num(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let a = x.abs();
    if a == 0.0 {
        "0".into()
    } else if (1e-3..1e6).contains(&a) {
        trim_zeros(&format!("{x:.6}"))
    } else {
        let s = format!("{x:.3e}");
        match s.split_once('e') {
            Some((mantissa, exponent)) => format!("{}e{exponent}", trim_zeros(mantissa)),
            None => s,
        }
    }
}

/// Every digit of a float (for sums that must show how far from 1 they are).
fn full(x: f64) -> String {
    if x.is_finite() { x.to_string() } else { num(x) }
}

fn trim_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s.to_owned()
    }
}

/// A small seeded generator: xoshiro256** (Blackman and Vigna, 2018) with its state filled by
/// splitmix64 from the seed. Written out so that a seed gives the same stream on every platform
/// and in every version of modelci, whatever happens to the `rand` crates.
struct Rng {
    s: [u64; 4],
}

impl Rng {
    fn new(seed: u64) -> Rng {
        let mut x = seed;
        let mut splitmix = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Rng {
            s: [splitmix(), splitmix(), splitmix(), splitmix()],
        }
    }

    fn next_u64(&mut self) -> u64 {
        let [s0, s1, s2, s3] = &mut self.s;
        let result = s1.wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = *s1 << 17;
        *s2 ^= *s0;
        *s3 ^= *s1;
        *s1 ^= *s2;
        *s0 ^= *s3;
        *s2 ^= t;
        *s3 = s3.rotate_left(45);
        result
    }

    /// Uniform in [0, 1), 53 bits.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [-1, 1).
    fn symmetric(&mut self) -> f64 {
        2.0 * self.unit() - 1.0
    }

    /// Standard normal (Box-Muller, one value per two uniforms).
    fn gaussian(&mut self) -> f64 {
        let u1 = 1.0 - self.unit(); // (0, 1]: the logarithm stays finite
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// +1 or -1 with equal odds.
    fn sign(&mut self) -> f64 {
        if self.next_u64() >> 63 == 0 {
            1.0
        } else {
            -1.0
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use modelci_report::Outcome;

    use super::*;
    use crate::runtime::{Port, RuntimeError};

    /// What a [`Fake`] does wrong (or differently).
    #[derive(Default, Clone, Copy)]
    struct Flags {
        /// Fixed `[1, 4]` input instead of `[-1, 4]`.
        fixed_batch: bool,
        /// Answers inputs of any rank.
        lenient_shape: bool,
        /// Answers integer and float64 inputs.
        lenient_dtype: bool,
        /// NaN and infinities reach the softmax (else they are cleaned).
        nan_passthrough: bool,
        /// Rejects NaN and infinities.
        reject_non_finite: bool,
        /// Adds a tiny different amount on every call.
        noisy: bool,
        /// Shifts the logits with the batch size.
        batch_dependent: bool,
        /// Every call fails.
        broken: bool,
        /// Outputs the logits as `probs` (not a distribution).
        unnormalized: bool,
        /// Answers an empty batch with one row.
        empty_gives_row: bool,
        /// No `label` output.
        no_label: bool,
        /// Calls its scores `scores` instead of `probs`.
        renamed: bool,
        /// Four classes instead of three.
        four_classes: bool,
        /// Adds 0.3 to class 2 (a changed model for regression).
        shifted: bool,
        /// Only the `label` output: no floating-point outputs.
        labels_only: bool,
        /// Answers the first call, then never again (an endpoint that went away).
        gone_after_first: bool,
    }

    /// A linear softmax classifier over 4 features: the logits are the first three features
    /// (so the label is their argmax), `probs` [N, C] float32 and `label` [N] int64.
    struct Fake {
        flags: Flags,
        inputs: Vec<Port>,
        outputs: Vec<Port>,
        calls: AtomicUsize,
    }

    impl Fake {
        fn new(flags: Flags) -> Fake {
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

        fn plain() -> Fake {
            Fake::new(Flags::default())
        }
    }

    fn fail<T>(message: impl Into<String>) -> Result<T, RuntimeError> {
        Err(RuntimeError::Run {
            message: message.into(),
        })
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
                    message: "http://m/v2/models/x: no answer within 1s".into(),
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
    struct IntFake {
        inputs: Vec<Port>,
        outputs: Vec<Port>,
    }

    impl IntFake {
        fn new() -> IntFake {
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

    fn x(rows: &[[f64; 4]]) -> Tensor {
        Tensor::new(
            "x",
            DType::F32,
            vec![rows.len() as i64, 4],
            Data::Float(rows.iter().flatten().copied().collect()),
        )
        .expect("x")
    }

    fn case(name: &str, inputs: Vec<Tensor>) -> golden::Case {
        golden::Case {
            name: name.into(),
            source: format!("golden/{name}"),
            inputs,
            outputs: Vec::new(),
        }
    }

    /// Five rows in two cases. Labels 0, 1, 2, 0, 1; the smallest margin (0.2) is row 1's.
    fn golden() -> Vec<golden::Case> {
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
    fn golden_single() -> Vec<golden::Case> {
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

    fn ctx<'a>(backend: &'a dyn Backend, cases: &'a [golden::Case]) -> Context<'a> {
        Context {
            backend,
            cases,
            overrides: Overrides::default(),
            label_output: None,
        }
    }

    fn all_edges(non_finite: NonFinite) -> EdgeCases {
        EdgeCases {
            wrong_shape: true,
            wrong_dtype: true,
            empty_batch: true,
            non_finite,
            extreme_values: true,
        }
    }

    fn find<'a>(cases: &'a [Case], name: &str) -> &'a Case {
        cases
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no case `{name}` in {cases:#?}"))
    }

    fn message(c: &Case) -> &str {
        c.message.as_deref().unwrap_or_default()
    }

    fn prop<'a>(c: &'a Case, key: &str) -> &'a str {
        c.properties
            .get(key)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("no property `{key}` in {c:#?}"))
    }

    // --- edge cases ------------------------------------------------------------------------

    #[test]
    fn a_model_that_stops_answering_is_not_taken_as_rejecting() {
        let model = Fake::new(Flags {
            gone_after_first: true,
            ..Flags::default()
        });
        let cases = golden();
        let out = edge_cases(&ctx(&model, &cases), &all_edges(NonFinite::Reject));
        assert_eq!(out.len(), 5);
        for c in &out {
            assert_eq!(c.outcome, Outcome::Errored, "{c:#?}");
            assert!(message(c).contains("could not be asked"), "{c:#?}");
            assert!(message(c).contains("no answer within 1s"), "{c:#?}");
        }
    }

    #[test]
    fn a_careful_model_passes_every_edge_case() {
        let model = Fake::plain();
        let cases = golden();
        let out = edge_cases(&ctx(&model, &cases), &all_edges(NonFinite::Finite));
        let names: Vec<&str> = out.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                WRONG_SHAPE,
                WRONG_DTYPE,
                EMPTY_BATCH,
                NON_FINITE_FINITE,
                EXTREME_VALUES
            ]
        );
        for c in &out {
            assert_eq!(c.outcome, Outcome::Passed, "{c:#?}");
        }
        let shape = find(&out, WRONG_SHAPE);
        assert_eq!(
            message(shape),
            "`x` of shape [1, 4, 1] and [4] (instead of [1, 4]) was rejected"
        );
        assert!(
            shape
                .detail
                .as_deref()
                .is_some_and(|d| d.contains("expected shape [N, 4], got [1, 4, 1]")),
            "the model's error is shown: {shape:#?}"
        );
        assert_eq!(
            message(find(&out, WRONG_DTYPE)),
            "`x` (float32) sent as int64 and float64 was rejected"
        );
        assert_eq!(
            message(find(&out, EMPTY_BATCH)),
            "a batch of 0 rows was answered with 0 rows"
        );
        assert_eq!(
            message(find(&out, NON_FINITE_FINITE)),
            "6 inputs with NaN, +Inf or -Inf in `x` gave finite outputs"
        );
        assert_eq!(
            message(find(&out, EXTREME_VALUES)),
            "8 inputs with 1e30, -1e30, 3.403e38, -3.403e38 in `x` gave finite outputs"
        );
        assert_eq!(prop(shape, "input_origin"), "row 0 (`a.json` row 0)");
    }

    #[test]
    fn disabled_checks_give_no_cases() {
        let model = Fake::plain();
        let cases = golden();
        let spec = EdgeCases {
            wrong_shape: false,
            wrong_dtype: false,
            empty_batch: false,
            non_finite: NonFinite::Off,
            extreme_values: false,
        };
        assert!(edge_cases(&ctx(&model, &cases), &spec).is_empty());
    }

    #[test]
    fn a_model_that_answers_any_shape_fails() {
        let model = Fake::new(Flags {
            lenient_shape: true,
            ..Flags::default()
        });
        let cases = golden();
        let out = edge_cases(&ctx(&model, &cases), &all_edges(NonFinite::Finite));
        let c = find(&out, WRONG_SHAPE);
        assert_eq!(c.outcome, Outcome::Failed);
        assert_eq!(
            message(c),
            "the model answered an input of shape [1, 4, 1] it should reject (`x` is [1, 4]) (and 1 more)"
        );
        assert_eq!(find(&out, WRONG_DTYPE).outcome, Outcome::Passed);
    }

    #[test]
    fn a_model_that_answers_any_dtype_fails() {
        let model = Fake::new(Flags {
            lenient_dtype: true,
            ..Flags::default()
        });
        let cases = golden();
        let out = edge_cases(&ctx(&model, &cases), &all_edges(NonFinite::Finite));
        let c = find(&out, WRONG_DTYPE);
        assert_eq!(c.outcome, Outcome::Failed);
        assert!(
            message(c).starts_with(
                "the model answered `x` sent as int64 instead of float32; it should reject it"
            ),
            "{c:#?}"
        );
    }

    #[test]
    fn an_empty_batch_answered_with_rows_fails() {
        let model = Fake::new(Flags {
            empty_gives_row: true,
            ..Flags::default()
        });
        let cases = golden();
        let out = edge_cases(&ctx(&model, &cases), &all_edges(NonFinite::Off));
        let c = find(&out, EMPTY_BATCH);
        assert_eq!(c.outcome, Outcome::Failed);
        assert_eq!(
            message(c),
            "the model answered a batch of 0 rows with values: `probs` of shape [1, 3], `label` of shape [1]"
        );
    }

    #[test]
    fn an_empty_batch_may_be_rejected() {
        let model = Fake::new(Flags {
            fixed_batch: false,
            ..Flags::default()
        });
        // The plain fake answers; one that rejects anything but [N>0, 4] passes too.
        struct Picky(Fake);
        impl Backend for Picky {
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
                if inputs.iter().any(|t| t.rows() == Some(0)) {
                    return fail("batch size must be at least 1");
                }
                self.0.run(inputs)
            }
        }
        let picky = Picky(model);
        let cases = golden();
        let out = edge_cases(&ctx(&picky, &cases), &all_edges(NonFinite::Off));
        let c = find(&out, EMPTY_BATCH);
        assert_eq!(c.outcome, Outcome::Passed);
        assert_eq!(message(c), "a batch of 0 rows was rejected cleanly");
        assert_eq!(c.detail.as_deref(), Some("batch size must be at least 1"));
    }

    #[test]
    fn nan_inputs_that_give_nan_outputs_fail() {
        let model = Fake::new(Flags {
            nan_passthrough: true,
            ..Flags::default()
        });
        let cases = golden();
        let out = edge_cases(&ctx(&model, &cases), &all_edges(NonFinite::Finite));
        let c = find(&out, NON_FINITE_FINITE);
        assert_eq!(c.outcome, Outcome::Failed);
        assert!(
            message(c).starts_with(
                "NaN in the first element of `x` gave NaN in output `probs` at [0, 0]"
            ),
            "{c:#?}"
        );
        // Extreme finite values stay finite through a stable softmax.
        assert_eq!(find(&out, EXTREME_VALUES).outcome, Outcome::Passed);
    }

    #[test]
    fn rejecting_non_finite_inputs_is_a_failure_under_finite_and_a_pass_under_reject() {
        let model = Fake::new(Flags {
            reject_non_finite: true,
            ..Flags::default()
        });
        let cases = golden();
        let finite = edge_cases(&ctx(&model, &cases), &all_edges(NonFinite::Finite));
        let c = find(&finite, NON_FINITE_FINITE);
        assert_eq!(c.outcome, Outcome::Failed);
        assert_eq!(
            message(c),
            "the model rejected NaN in the first element of `x`: input `x` holds NaN or infinite values (and 5 more)"
        );
        assert!(
            c.detail
                .as_deref()
                .is_some_and(|d| d.contains("non_finite = \"reject\"")),
            "{c:#?}"
        );
        let reject = edge_cases(&ctx(&model, &cases), &all_edges(NonFinite::Reject));
        let c = find(&reject, NON_FINITE_REJECT);
        assert_eq!(c.outcome, Outcome::Passed, "{c:#?}");
        assert_eq!(
            message(c),
            "6 inputs with NaN, +Inf or -Inf in `x` were rejected"
        );
        // A model that answers (with clean outputs) fails `reject`.
        let answering = Fake::plain();
        let out = edge_cases(&ctx(&answering, &cases), &all_edges(NonFinite::Reject));
        let c = find(&out, NON_FINITE_REJECT);
        assert_eq!(c.outcome, Outcome::Failed);
        assert!(
            message(c).starts_with(
                "the model answered NaN in the first element of `x`; it should reject it"
            ),
            "{c:#?}"
        );
    }

    #[test]
    fn extreme_values_that_overflow_fail() {
        // Without the stable softmax's max subtraction, 1e30 overflows exp.
        struct Naive;
        impl Backend for Naive {
            fn inputs(&self) -> &[Port] {
                static P: std::sync::OnceLock<Vec<Port>> = std::sync::OnceLock::new();
                P.get_or_init(|| Fake::plain().inputs)
            }
            fn outputs(&self) -> &[Port] {
                &[]
            }
            fn target(&self) -> String {
                "naive".into()
            }
            fn run(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>, RuntimeError> {
                let Some(Data::Float(v)) = inputs.first().map(|t| &t.data) else {
                    return fail("float input expected");
                };
                let v: Vec<f64> = v.iter().map(|x| x.exp() / (1.0 + x.exp())).collect();
                Ok(vec![Tensor {
                    name: "p".into(),
                    dtype: DType::F32,
                    shape: vec![1, v.len() as i64],
                    data: Data::Float(v),
                }])
            }
        }
        let cases = golden();
        let out = edge_cases(&ctx(&Naive, &cases), &all_edges(NonFinite::Off));
        let c = find(&out, EXTREME_VALUES);
        assert_eq!(c.outcome, Outcome::Failed);
        assert!(
            message(c)
                .starts_with("1e30 in the first element of `x` gave NaN in output `p` at [0, 0]"),
            "{c:#?}"
        );
    }

    #[test]
    fn models_without_a_batch_dimension_skip_the_empty_batch() {
        let model = Fake::new(Flags {
            fixed_batch: true,
            ..Flags::default()
        });
        let cases = golden_single();
        let out = edge_cases(&ctx(&model, &cases), &all_edges(NonFinite::Finite));
        let c = find(&out, EMPTY_BATCH);
        assert_eq!(c.outcome, Outcome::Skipped);
        assert_eq!(
            message(c),
            "the model's inputs have no leading dynamic (-1) batch dimension (`x` [1, 4]), so a batch of zero rows is not a valid input"
        );
        for name in [WRONG_SHAPE, WRONG_DTYPE, NON_FINITE_FINITE, EXTREME_VALUES] {
            assert_eq!(find(&out, name).outcome, Outcome::Passed, "{name}");
        }
        assert_eq!(
            prop(find(&out, WRONG_SHAPE), "input_origin"),
            "case `a.json#0`"
        );
    }

    #[test]
    fn float_checks_are_skipped_without_float_inputs() {
        let model = IntFake::new();
        let ids =
            Tensor::new("ids", DType::I64, vec![2, 2], Data::Int(vec![1, 2, 3, 4])).expect("t");
        let cases = vec![case("ids.json", vec![ids])];
        let out = edge_cases(&ctx(&model, &cases), &all_edges(NonFinite::Finite));
        for name in [NON_FINITE_FINITE, EXTREME_VALUES] {
            let c = find(&out, name);
            assert_eq!(c.outcome, Outcome::Skipped);
            assert_eq!(
                message(c),
                "the model has no floating-point inputs (`ids`: int64)"
            );
        }
        let dtype = find(&out, WRONG_DTYPE);
        assert_eq!(dtype.outcome, Outcome::Passed, "{dtype:#?}");
        assert_eq!(
            message(dtype),
            "`ids` (int64) sent as float32 and int32 was rejected"
        );
        assert_eq!(find(&out, WRONG_SHAPE).outcome, Outcome::Passed);
        assert_eq!(find(&out, EMPTY_BATCH).outcome, Outcome::Passed);
    }

    #[test]
    fn a_model_that_cannot_answer_the_golden_input_errors_every_edge_case() {
        let model = Fake::new(Flags {
            broken: true,
            ..Flags::default()
        });
        let cases = golden();
        let out = edge_cases(&ctx(&model, &cases), &all_edges(NonFinite::Finite));
        assert_eq!(out.len(), 5);
        for c in &out {
            assert_eq!(c.outcome, Outcome::Errored, "{c:#?}");
            assert_eq!(
                message(c),
                "the model could not answer the unmodified golden input (row 0 (`a.json` row 0)): connection refused: the server is down; its answers to modified inputs would prove nothing"
            );
        }
        let none: Vec<golden::Case> = Vec::new();
        let out = edge_cases(&ctx(&model, &none), &all_edges(NonFinite::Off));
        assert_eq!(
            message(&out[0]),
            "cannot build edge cases: the suite has no golden cases to take inputs from"
        );
    }

    #[test]
    fn malformed_golden_inputs_error_instead_of_panicking() {
        let model = Fake::plain();
        let bad = vec![case(
            "bad.json",
            vec![
                x(&[[0.0; 4], [1.0; 4]]),
                Tensor::new("y", DType::F32, vec![3], Data::Float(vec![0.0; 3])).expect("y"),
            ],
        )];
        let c = &edge_cases(&ctx(&model, &bad), &all_edges(NonFinite::Off))[0];
        assert_eq!(c.outcome, Outcome::Errored);
        assert_eq!(
            message(c),
            "cannot build edge cases: golden case `bad.json`: input `x` has 2 row(s) but `y` has 3"
        );
        let scalar = vec![case(
            "s.json",
            vec![Tensor::new("x", DType::F32, vec![], Data::Float(vec![1.0])).expect("s")],
        )];
        let inv = invariants(&ctx(&model, &scalar), &invariant_spec(vec![]));
        assert!(
            inv.iter().all(|c| c.outcome == Outcome::Errored),
            "{inv:#?}"
        );
        assert!(message(&inv[0]).contains("is a scalar"), "{inv:#?}");
    }

    // --- invariants ------------------------------------------------------------------------

    fn invariant_spec(probabilities: Vec<&str>) -> Invariants {
        Invariants {
            batch_invariance: true,
            determinism: true,
            probabilities: probabilities.into_iter().map(String::from).collect(),
            probability_tolerance: 1e-4,
        }
    }

    #[test]
    fn a_well_behaved_model_keeps_every_invariant() {
        let model = Fake::plain();
        let cases = golden();
        let out = invariants(&ctx(&model, &cases), &invariant_spec(vec!["probs"]));
        let names: Vec<&str> = out.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                BATCH_INVARIANCE,
                DETERMINISM,
                "invariant: `probs` are probabilities"
            ]
        );
        for c in &out {
            assert_eq!(c.outcome, Outcome::Passed, "{c:#?}");
        }
        assert_eq!(
            message(&out[0]),
            "5 rows give the same outputs alone and in one batch of 5 rows"
        );
        assert_eq!(
            message(&out[1]),
            "two runs on 5 rows gave bit-identical outputs"
        );
        assert!(
            message(&out[2])
                .starts_with("5 row(s) of `probs`: values in [0, 1], sums within 1 ± 1e-4"),
            "{:#?}",
            out[2]
        );
    }

    #[test]
    fn a_batch_dependent_model_fails_batch_invariance() {
        let model = Fake::new(Flags {
            batch_dependent: true,
            ..Flags::default()
        });
        let cases = golden();
        let out = invariants(&ctx(&model, &cases), &invariant_spec(vec![]));
        let c = find(&out, BATCH_INVARIANCE);
        assert_eq!(c.outcome, Outcome::Failed);
        assert!(
            message(c).starts_with(
                "5 of 5 rows give different outputs alone and in one batch of 5 rows; worst: row "
            ),
            "{c:#?}"
        );
        assert!(message(c).contains("beyond rtol"), "{c:#?}");
        assert_eq!(prop(c, "differing_rows"), "5");
        assert!(
            c.expected
                .as_deref()
                .is_some_and(|e| e.ends_with("(alone)"))
        );
        // Determinism still holds: the same batches give the same answers.
        assert_eq!(find(&out, DETERMINISM).outcome, Outcome::Passed);
        // A looser tolerance accepts the shift.
        let mut loose = ctx(&model, &cases);
        loose.overrides = Overrides {
            rtol: None,
            atol: Some(0.01),
        };
        let out = invariants(&loose, &invariant_spec(vec![]));
        assert_eq!(find(&out, BATCH_INVARIANCE).outcome, Outcome::Passed);
    }

    #[test]
    fn a_noisy_model_fails_determinism() {
        let model = Fake::new(Flags {
            noisy: true,
            ..Flags::default()
        });
        let cases = golden();
        let out = invariants(&ctx(&model, &cases), &invariant_spec(vec![]));
        let c = find(&out, DETERMINISM);
        assert_eq!(c.outcome, Outcome::Failed);
        assert!(
            message(c).starts_with(
                "5 of 5 rows differ between two runs on the same inputs; first: row 0 (`a.json` row 0), `probs`[0, 0]: "
            ),
            "{c:#?}"
        );
        assert_ne!(c.expected, c.actual);
        // 1e-9 is within float32 tolerance: batch invariance holds.
        assert_eq!(find(&out, BATCH_INVARIANCE).outcome, Outcome::Passed);
    }

    #[test]
    fn outputs_that_are_not_distributions_fail_probabilities() {
        let model = Fake::new(Flags {
            unnormalized: true,
            ..Flags::default()
        });
        let cases = golden();
        let out = invariants(
            &ctx(&model, &cases),
            &invariant_spec(vec!["probs", "label", "nope"]),
        );
        let c = find(&out, "invariant: `probs` are probabilities");
        assert_eq!(c.outcome, Outcome::Failed);
        assert_eq!(
            message(c),
            "`probs`: 4 value(s) outside [0, 1]; worst 3 at `probs`[0, 2] of row 2 (`a.json` row 2); 4 of 5 row(s) do not sum to 1 within 1e-4; worst: row 2 (`a.json` row 2) sums to 3.3"
        );
        let c = find(&out, "invariant: `label` are probabilities");
        assert_eq!(c.outcome, Outcome::Failed);
        assert_eq!(message(c), "`label` holds int64 values, not probabilities");
        let c = find(&out, "invariant: `nope` are probabilities");
        assert_eq!(c.outcome, Outcome::Failed);
        assert_eq!(
            message(c),
            "the model has no output `nope` (its outputs: `probs`, `label`)"
        );
    }

    #[test]
    fn invariants_without_a_batch_dimension() {
        let model = Fake::new(Flags {
            fixed_batch: true,
            ..Flags::default()
        });
        let cases = golden_single();
        let out = invariants(&ctx(&model, &cases), &invariant_spec(vec!["probs"]));
        let c = find(&out, BATCH_INVARIANCE);
        assert_eq!(c.outcome, Outcome::Skipped);
        assert!(message(c).ends_with("so rows cannot be batched"), "{c:#?}");
        let c = find(&out, DETERMINISM);
        assert_eq!(c.outcome, Outcome::Passed);
        assert_eq!(message(c), "two runs on 5 cases gave bit-identical outputs");
        assert_eq!(
            find(&out, "invariant: `probs` are probabilities").outcome,
            Outcome::Passed
        );
        // A single row cannot show batch effects.
        let plain = Fake::plain();
        let one = vec![case("one.json", vec![x(&[[1.0, 0.0, 0.0, 0.0]])])];
        let out = invariants(&ctx(&plain, &one), &invariant_spec(vec![]));
        assert_eq!(find(&out, BATCH_INVARIANCE).outcome, Outcome::Skipped);
    }

    #[test]
    fn a_broken_model_errors_every_invariant() {
        let model = Fake::new(Flags {
            broken: true,
            ..Flags::default()
        });
        let cases = golden();
        let out = invariants(&ctx(&model, &cases), &invariant_spec(vec!["probs"]));
        assert_eq!(out.len(), 3);
        for c in &out {
            assert_eq!(c.outcome, Outcome::Errored, "{c:#?}");
            assert!(message(c).contains("the server is down"), "{c:#?}");
        }
    }

    #[test]
    fn large_inputs_run_in_batches_of_at_most_1024_rows() {
        struct Counting(Fake, AtomicUsize);
        impl Backend for Counting {
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
                let rows = inputs.first().and_then(Tensor::rows).unwrap_or(0);
                self.1.fetch_max(rows, Ordering::SeqCst);
                self.0.run(inputs)
            }
        }
        let model = Counting(Fake::plain(), AtomicUsize::new(0));
        let rows: Vec<[f64; 4]> = (0..2500)
            .map(|i| [i as f64 / 100.0, 1.0, 2.0, 0.0])
            .collect();
        let cases = vec![case("big.json", vec![x(&rows)])];
        let spec = Invariants {
            batch_invariance: false,
            ..invariant_spec(vec![])
        };
        let out = invariants(&ctx(&model, &cases), &spec);
        assert_eq!(out[0].outcome, Outcome::Passed, "{out:#?}");
        assert_eq!(model.1.load(Ordering::SeqCst), MAX_BATCH_ROWS);
    }

    // --- labels ----------------------------------------------------------------------------

    #[test]
    fn labels_come_from_label_output_then_an_integer_output_then_an_argmax() {
        let model = Fake::plain();
        let cases = golden();
        let p = plan(&model, &cases, true).expect("plan");
        let outputs = run_all(&model, &p.slices(), true).expect("run");
        let auto = labels_for(None, &outputs, true)
            .expect("ok")
            .expect("labels");
        assert_eq!(auto.rule.describe(), "values of `label`");
        assert_eq!(auto.values, ["0", "1", "2", "0", "1"]);
        let named = labels_for(Some("probs"), &outputs, false)
            .expect("ok")
            .expect("labels");
        assert_eq!(
            named.rule.describe(),
            "argmax of `probs` along its last axis (label_output)"
        );
        assert_eq!(named.values, auto.values);
        let missing = labels_for(Some("classes"), &outputs, false).err();
        assert_eq!(
            missing.as_deref(),
            Some(
                "label_output `classes` is not an output of the model (its outputs: `probs`, `label`)"
            )
        );
        let no_label = Fake::new(Flags {
            no_label: true,
            ..Flags::default()
        });
        let outputs = run_all(&no_label, &p.slices(), true).expect("run");
        let argmax = labels_for(None, &outputs, true)
            .expect("ok")
            .expect("labels");
        assert_eq!(
            argmax.rule.describe(),
            "argmax of `probs` along its last axis"
        );
        assert_eq!(argmax.values, ["0", "1", "2", "0", "1"]);
        assert_eq!(super::argmax(&[0.1, f64::NAN]), "NaN");
    }

    // --- robustness ------------------------------------------------------------------------

    fn noise(perturbation: Perturbation, scale: f64) -> Robustness {
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

    fn same_but_duration(mut c: Case) -> Case {
        c.duration_ms = 0.0;
        c
    }

    #[test]
    fn small_noise_passes_every_bound() {
        let model = Fake::plain();
        let cases = golden();
        let spec = Robustness {
            max_flip_rate: Some(0.0),
            max_relative_change: Some(0.01),
            ..noise(Perturbation::Gaussian, 1e-4)
        };
        let c = robustness(&ctx(&model, &cases), &spec);
        assert_eq!(c.name, "robustness: gaussian-0.0001");
        assert_eq!(c.outcome, Outcome::Passed, "{c:#?}");
        assert!(
            message(&c).starts_with(
                "label flip rate 0% (0 of 50 perturbed rows), max_flip_rate 0%; max relative output change "
            ),
            "{c:#?}"
        );
        assert_eq!(prop(&c, "flip_rate"), "0");
        assert_eq!(prop(&c, "seed"), "7");
        assert_eq!(prop(&c, "perturbation"), "gaussian");
        assert_eq!(prop(&c, "labels"), "values of `label`");
        assert_eq!(prop(&c, "perturbed_rows"), "50");
        let change: f64 = prop(&c, "max_relative_change").parse().expect("number");
        assert!(change > 0.0 && change < 0.01, "{change}");
    }

    #[test]
    fn large_noise_fails_with_measured_and_allowed_values() {
        let model = Fake::plain();
        let cases = golden();
        let spec = Robustness {
            max_flip_rate: Some(0.05),
            max_relative_change: Some(0.01),
            ..noise(Perturbation::Uniform, 2.0)
        };
        let c = robustness(&ctx(&model, &cases), &spec);
        assert_eq!(c.outcome, Outcome::Failed, "{c:#?}");
        let flips: usize = prop(&c, "flips").parse().expect("count");
        assert!(flips > 3, "{c:#?}");
        let rate = flips as f64 / 50.0;
        let text = message(&c);
        assert!(
            text.starts_with(&format!(
                "label flip rate {} ({flips} of 50 perturbed rows) exceeds max_flip_rate 5%; max relative output change ",
                pct(rate)
            )),
            "{text}"
        );
        assert!(text.ends_with("exceeds max_relative_change 0.01"), "{text}");
        assert!(text.contains("(`probs`, row "), "{text}");
    }

    #[test]
    fn the_same_seed_perturbs_the_same_way() {
        let model = Fake::plain();
        let cases = golden();
        for perturbation in [
            Perturbation::Gaussian,
            Perturbation::Uniform,
            Perturbation::Dropout,
            Perturbation::Search,
        ] {
            let spec = Robustness {
                max_flip_rate: Some(0.5),
                relative: perturbation == Perturbation::Uniform,
                ..noise(perturbation, 0.5)
            };
            let one = same_but_duration(robustness(&ctx(&model, &cases), &spec));
            let two = same_but_duration(robustness(&ctx(&model, &cases), &spec));
            assert_eq!(one, two, "{perturbation:?}");
            let other = same_but_duration(robustness(
                &ctx(&model, &cases),
                &Robustness { seed: 8, ..spec },
            ));
            // (The search tries sign vectors over 3 relevant features: two seeds may well
            // find the same extremes.)
            if perturbation != Perturbation::Search {
                assert_ne!(
                    one.properties.get("max_relative_change"),
                    other.properties.get("max_relative_change"),
                    "{perturbation:?}: another seed perturbs otherwise"
                );
            }
        }
    }

    #[test]
    fn the_generator_is_pinned() {
        // splitmix64's first output for seed 0 is the published 0xe220a8397b1dcdaf.
        assert_eq!(Rng::new(0).s[0], 0xE220_A839_7B1D_CDAF);
        let mut rng = Rng::new(0);
        let first: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
        assert_eq!(first, PINNED, "the stream of seed 0 changed: {first:#x?}");
        let mut rng = Rng::new(42);
        let n = 20_000;
        let draws: Vec<f64> = (0..n).map(|_| rng.gaussian()).collect();
        let mean = draws.iter().sum::<f64>() / n as f64;
        let var = draws.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(
            mean.abs() < 0.03 && (var - 1.0).abs() < 0.05,
            "{mean} {var}"
        );
        let u: Vec<f64> = (0..n).map(|_| rng.symmetric()).collect();
        assert!(u.iter().all(|v| (-1.0..1.0).contains(v)));
        let plus = (0..n).filter(|_| rng.sign() > 0.0).count();
        assert!((9_500..10_500).contains(&plus), "{plus}");
    }

    /// xoshiro256** after splitmix64 seeding, seed 0 (checked against an independent
    /// implementation of the published reference code).
    const PINNED: [u64; 3] = [
        0x99EC_5F36_CB75_F2B4,
        0xBF6E_1F78_4956_452A,
        0x1A5F_849D_4933_E6E0,
    ];

    #[test]
    fn dropout_zeroes_features_and_can_flip_labels() {
        let model = Fake::plain();
        let cases = golden();
        let spec = Robustness {
            max_flip_rate: Some(0.0),
            ..noise(Perturbation::Dropout, 0.5)
        };
        let c = robustness(&ctx(&model, &cases), &spec);
        assert_eq!(c.outcome, Outcome::Failed, "{c:#?}");
        assert!(message(&c).contains("exceeds max_flip_rate 0%"), "{c:#?}");
        let none = robustness(&ctx(&model, &cases), &Robustness { scale: 0.0, ..spec });
        assert_eq!(none.outcome, Outcome::Passed, "{none:#?}");
        assert_eq!(prop(&none, "max_relative_change"), "0");
    }

    #[test]
    fn search_finds_the_smallest_flipping_eps() {
        let model = Fake::plain();
        let cases = golden();
        let spec = Robustness {
            samples: 50,
            min_flip_eps: Some(0.05),
            ..noise(Perturbation::Search, 1.0)
        };
        let c = robustness(&ctx(&model, &cases), &spec);
        assert_eq!(c.outcome, Outcome::Passed, "{c:#?}");
        // Row 1 has margin 0.2 between classes 1 and 2: ±eps flips it once eps > 0.1.
        let eps: f64 = prop(&c, "min_flip_eps").parse().expect("eps");
        assert!(eps > 0.1 && eps < 0.11, "{eps}");
        assert!(
            message(&c).contains("smallest label-flipping eps 0.10"),
            "{c:#?}"
        );
        assert!(message(&c).contains("(row 1 (`a.json` row 1))"), "{c:#?}");
        // ±eps moves a margin by at most 2·eps: within eps 1 only the rows with margins below 2
        // flip (rows 1 and 3, margins 0.2 and 0.5); margins 2 and 2.8 hold (ties keep the label).
        assert_eq!(prop(&c, "flipped_rows"), "2");

        let strict = Robustness {
            min_flip_eps: Some(0.5),
            max_flip_rate: Some(0.2),
            ..spec.clone()
        };
        let c = robustness(&ctx(&model, &cases), &strict);
        assert_eq!(c.outcome, Outcome::Failed, "{c:#?}");
        let text = message(&c);
        assert!(
            text.starts_with("labels of 40% (2 of 5 rows) flip with eps up to 1, more than max_flip_rate 20%; smallest label-flipping eps 0.10"),
            "{text}"
        );
        assert!(text.ends_with("is below min_flip_eps 0.5"), "{text}");

        let tiny = Robustness {
            scale: 0.05,
            ..spec
        };
        let c = robustness(&ctx(&model, &cases), &tiny);
        assert_eq!(c.outcome, Outcome::Passed, "{c:#?}");
        assert_eq!(prop(&c, "min_flip_eps"), "none");
        assert!(
            message(&c).contains("no label flipped with eps up to 0.05"),
            "{c:#?}"
        );
    }

    #[test]
    fn robustness_errors_and_skips() {
        let cases = golden();
        let spec = Robustness {
            max_flip_rate: Some(0.1),
            ..noise(Perturbation::Gaussian, 0.1)
        };
        let broken = Fake::new(Flags {
            broken: true,
            ..Flags::default()
        });
        let c = robustness(
            &ctx(&Fake::plain(), &cases),
            &Robustness {
                samples: 0,
                ..spec.clone()
            },
        );
        assert_eq!(c.outcome, Outcome::Errored);
        assert_eq!(message(&c), "`samples` must be at least 1");
        let c = robustness(&ctx(&broken, &cases), &spec);
        assert_eq!(c.outcome, Outcome::Errored);
        assert_eq!(
            message(&c),
            "the model could not answer the unperturbed inputs: a batch of 5 starting at row 0 (`a.json` row 0): connection refused: the server is down"
        );
        let model = Fake::plain();
        let mut named = ctx(&model, &cases);
        named.label_output = Some("classes");
        let c = robustness(&named, &spec);
        assert_eq!(c.outcome, Outcome::Errored);
        assert_eq!(
            message(&c),
            "cannot read labels to count flips: label_output `classes` is not an output of the model (its outputs: `probs`, `label`)"
        );
        let ints = IntFake::new();
        let ids = Tensor::new("ids", DType::I64, vec![1, 2], Data::Int(vec![1, 2])).expect("t");
        let int_cases = vec![case("ids.json", vec![ids])];
        let c = robustness(&ctx(&ints, &int_cases), &spec);
        assert_eq!(c.outcome, Outcome::Skipped);
        assert_eq!(
            message(&c),
            "nothing to perturb: the model has no floating-point inputs (`ids`: int64)"
        );
        // Only a relative-change bound: no labels needed, min_flip_eps noted as unchecked.
        let change_only = Robustness {
            max_flip_rate: None,
            max_relative_change: Some(10.0),
            min_flip_eps: Some(0.1),
            ..spec
        };
        let no_label = Fake::new(Flags {
            no_label: true,
            ..Flags::default()
        });
        let c = robustness(&ctx(&no_label, &cases), &change_only);
        assert_eq!(c.outcome, Outcome::Passed, "{c:#?}");
        assert!(
            message(&c).contains("min_flip_eps applies to `search` only and was not checked"),
            "{c:#?}"
        );
    }

    #[test]
    fn robustness_without_a_batch_dimension_perturbs_whole_cases() {
        let model = Fake::new(Flags {
            fixed_batch: true,
            ..Flags::default()
        });
        let cases = golden_single();
        let spec = Robustness {
            max_flip_rate: Some(0.0),
            ..noise(Perturbation::Gaussian, 1e-4)
        };
        let c = robustness(&ctx(&model, &cases), &spec);
        assert_eq!(c.outcome, Outcome::Passed, "{c:#?}");
        assert!(
            message(&c).starts_with("label flip rate 0% (0 of 50 perturbed cases)"),
            "{c:#?}"
        );
        assert_eq!(prop(&c, "cases"), "5");
    }

    // --- regression ------------------------------------------------------------------------

    fn bounds() -> Regression {
        Regression {
            baseline: None,
            baseline_endpoint: None,
            baseline_model_name: None,
            max_label_change_rate: Some(0.1),
            max_output_drift: Some(1e-6),
            max_mean_drift: Some(1e-6),
        }
    }

    #[test]
    fn the_same_model_as_baseline_passes() {
        let model = Fake::plain();
        let baseline = Fake::plain();
        let cases = golden();
        let c = regression(&ctx(&model, &cases), &baseline, "v1.onnx", &bounds());
        assert_eq!(c.name, "regression: against v1.onnx");
        assert_eq!(c.outcome, Outcome::Passed, "{c:#?}");
        assert_eq!(
            message(&c),
            "labels changed in 0% (0 of 5 rows), max_label_change_rate 10%; max output drift 0 at `probs`[0, 0] of row 0 (`a.json` row 0), max_output_drift 1e-6; mean output drift 0, max_mean_drift 1e-6"
        );
        assert_eq!(prop(&c, "label_change_rate"), "0");
        assert_eq!(prop(&c, "baseline"), "v1.onnx");
        assert_eq!(prop(&c, "labels"), "values of `label`");
    }

    #[test]
    fn a_changed_model_reports_which_rows_changed_labels() {
        let model = Fake::new(Flags {
            shifted: true,
            ..Flags::default()
        });
        let baseline = Fake::plain();
        let cases = golden();
        let c = regression(&ctx(&model, &cases), &baseline, "v1.onnx", &bounds());
        assert_eq!(c.outcome, Outcome::Failed, "{c:#?}");
        let text = message(&c);
        assert!(
            text.starts_with(
                "labels changed in 20% (1 of 5 rows), more than max_label_change_rate 10%: row 1 (`a.json` row 1): 1→2; max output drift "
            ),
            "{text}"
        );
        assert!(text.contains("exceeds max_output_drift 1e-6"), "{text}");
        assert!(text.contains("exceeds max_mean_drift 1e-6"), "{text}");
        assert_eq!(c.expected.as_deref(), Some("label change rate ≤ 10%"));
        assert_eq!(c.actual.as_deref(), Some("20%"));
        assert_eq!(
            c.detail.as_deref(),
            Some("label changes (baseline→candidate):\nrow 1 (`a.json` row 1): 1→2")
        );
        let drift: f64 = prop(&c, "max_output_drift").parse().expect("drift");
        assert!(drift > 0.01, "{drift}");
        // Loose bounds pass and still report the change.
        let loose = Regression {
            max_label_change_rate: Some(0.25),
            max_output_drift: Some(1.0),
            max_mean_drift: None,
            ..bounds()
        };
        let c = regression(&ctx(&model, &cases), &baseline, "v1.onnx", &loose);
        assert_eq!(c.outcome, Outcome::Passed, "{c:#?}");
        assert!(message(&c).contains("(1 of 5 rows)"), "{c:#?}");
    }

    #[test]
    fn outputs_missing_or_reshaped_on_the_baseline_error() {
        let model = Fake::plain();
        let cases = golden();
        let renamed = Fake::new(Flags {
            renamed: true,
            ..Flags::default()
        });
        let c = regression(&ctx(&model, &cases), &renamed, "v1.onnx", &bounds());
        assert_eq!(c.outcome, Outcome::Errored);
        assert_eq!(
            message(&c),
            "output `probs` of the candidate is missing from the baseline `v1.onnx` (its outputs: `scores`, `label`)"
        );
        let wider = Fake::new(Flags {
            four_classes: true,
            ..Flags::default()
        });
        let c = regression(&ctx(&model, &cases), &wider, "v1.onnx", &bounds());
        assert_eq!(c.outcome, Outcome::Errored);
        assert_eq!(
            message(&c),
            "output `probs` has shape [1, 3] on the candidate but [1, 4] on the baseline `v1.onnx` (row 0 (`a.json` row 0))"
        );
        let broken = Fake::new(Flags {
            broken: true,
            ..Flags::default()
        });
        let c = regression(&ctx(&model, &cases), &broken, "v1.onnx", &bounds());
        assert_eq!(c.outcome, Outcome::Errored);
        assert!(
            message(&c).starts_with("the baseline `v1.onnx` could not answer the golden inputs: "),
            "{c:#?}"
        );
        let c = regression(&ctx(&broken, &cases), &model, "v1.onnx", &bounds());
        assert_eq!(c.outcome, Outcome::Errored);
        assert!(
            message(&c).starts_with("the candidate model could not answer the golden inputs: "),
            "{c:#?}"
        );
        // The candidate's label output missing from the baseline, with a label bound.
        let no_label = Fake::new(Flags {
            no_label: true,
            ..Flags::default()
        });
        let c = regression(&ctx(&model, &cases), &no_label, "v1.onnx", &bounds());
        assert_eq!(c.outcome, Outcome::Errored);
        assert_eq!(
            message(&c),
            "cannot read the baseline `v1.onnx`'s labels: the answer has no output `label`"
        );
    }

    #[test]
    fn unbounded_labels_that_the_baseline_lacks_are_left_out() {
        let model = Fake::plain();
        let no_label = Fake::new(Flags {
            no_label: true,
            ..Flags::default()
        });
        let cases = golden();
        let drift_only = Regression {
            max_label_change_rate: None,
            ..bounds()
        };
        let c = regression(&ctx(&model, &cases), &no_label, "v1.onnx", &drift_only);
        assert_eq!(c.outcome, Outcome::Passed, "{c:#?}");
        assert!(message(&c).starts_with("max output drift 0"), "{c:#?}");
        assert!(c.properties.get("label_change_rate").is_none(), "{c:#?}");
        // With labels the candidate and baseline share, they are reported though not bounded.
        let c = regression(&ctx(&model, &cases), &model, "v1.onnx", &drift_only);
        assert!(
            message(&c).starts_with("labels changed in 0% (0 of 5 rows); "),
            "{c:#?}"
        );
    }

    #[test]
    fn regression_with_a_fixed_batch_baseline_compares_whole_cases() {
        let model = Fake::plain();
        let fixed = Fake::new(Flags {
            fixed_batch: true,
            shifted: true,
            ..Flags::default()
        });
        let cases = golden_single();
        let c = regression(&ctx(&model, &cases), &fixed, "old", &bounds());
        assert_eq!(c.outcome, Outcome::Failed, "{c:#?}");
        assert!(
            message(&c).contains(
                "(1 of 5 cases), more than max_label_change_rate 10%: case `a.json#1`: 2→1"
            ),
            "{c:#?}"
        );
    }

    // --- limits ----------------------------------------------------------------------------

    #[test]
    fn perturbed_copies_run_as_soon_as_they_fill_a_batch() {
        let row = vec![x(&[[1.0, 2.0, 3.0, 4.0]])];
        let mut runs: Vec<usize> = Vec::new();
        let mut pushed = 0usize;
        let mut pending = Pending::new(|batch: &[(usize, Vec<Tensor>)]| {
            runs.push(batch.len());
            if runs.len() == 2 {
                Err("stop".to_owned())
            } else {
                Ok(())
            }
        });
        // However many copies a spec asks for (here: until the model fails), no more than a
        // batch is held before it runs.
        let stopped = loop {
            pushed += 1;
            if let Err(e) = pending.push(0, row.clone()) {
                break e;
            }
            assert!(
                pending.held.len() < MAX_BATCH_ROWS,
                "{}",
                pending.held.len()
            );
        };
        assert_eq!(stopped, "stop");
        assert_eq!(pushed, 2 * MAX_BATCH_ROWS);
        drop(pending);
        assert_eq!(runs, vec![MAX_BATCH_ROWS, MAX_BATCH_ROWS]);

        // Whole cases count their rows: a case of 600 rows runs with at most one other.
        let big = vec![x(&vec![[0.0; 4]; 600])];
        let mut sizes: Vec<usize> = Vec::new();
        let mut pending = Pending::new(|batch: &[(usize, Vec<Tensor>)]| {
            sizes.push(batch.len());
            Ok(())
        });
        for _ in 0..5 {
            pending.push(0, big.clone()).expect("runs");
        }
        pending.flush().expect("runs");
        pending.flush().expect("nothing left");
        drop(pending);
        assert_eq!(sizes, vec![2, 2, 1]);
    }

    #[test]
    fn shapes_too_large_for_rows_error_instead_of_overflowing() {
        // Zero elements, but rows of 2^80 elements: a valid tensor whose row width overflows.
        let huge = Tensor::new(
            "x",
            DType::F32,
            vec![2, 1 << 40, 1 << 40, 0],
            Data::Float(Vec::new()),
        )
        .expect("empty tensor");
        let cases = vec![case("huge.json", vec![huge])];
        let model = Fake::plain();
        let c = robustness(&ctx(&model, &cases), &noise(Perturbation::Gaussian, 0.1));
        assert_eq!(c.outcome, Outcome::Errored, "{c:#?}");
        assert_eq!(
            message(&c),
            "cannot build perturbed inputs: input `x` of golden case `huge.json` has shape [2, 1099511627776, 1099511627776, 0], too large to take rows from (its dimensions multiply past 2^63)"
        );

        /// Answers every batch with an empty output whose rows are 2^80 elements wide.
        struct Huge(Fake);
        impl Backend for Huge {
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
                let rows = inputs.first().and_then(Tensor::rows).unwrap_or(0) as i64;
                let t = Tensor::new(
                    "y",
                    DType::F32,
                    vec![rows, 1 << 40, 1 << 40, 0],
                    Data::Float(Vec::new()),
                )
                .map_err(|e| RuntimeError::Run {
                    message: e.to_string(),
                })?;
                Ok(vec![t])
            }
        }
        let model = Huge(Fake::plain());
        let cases = golden();
        let out = invariants(
            &ctx(&model, &cases),
            &Invariants {
                determinism: false,
                ..invariant_spec(vec![])
            },
        );
        let c = find(&out, BATCH_INVARIANCE);
        assert_eq!(c.outcome, Outcome::Errored, "{c:#?}");
        assert!(
            message(c).ends_with("output `y` has shape [5, 1099511627776, 1099511627776, 0], too large to split back into rows (its dimensions multiply past 2^63)"),
            "{c:#?}"
        );
    }

    #[test]
    fn bounds_on_floating_point_outputs_the_model_lacks_error() {
        let model = Fake::new(Flags {
            labels_only: true,
            ..Flags::default()
        });
        let cases = golden();
        // max_relative_change measures nothing: not a change of 0 that passes.
        let spec = Robustness {
            max_relative_change: Some(0.1),
            ..noise(Perturbation::Gaussian, 0.1)
        };
        let c = robustness(&ctx(&model, &cases), &spec);
        assert_eq!(c.outcome, Outcome::Errored, "{c:#?}");
        assert_eq!(
            message(&c),
            "cannot check max_relative_change: the model gives no floating-point outputs (`label`: int64)"
        );
        // A flip rate alone is measured from the labels.
        let flips = Robustness {
            max_flip_rate: Some(1.0),
            ..noise(Perturbation::Gaussian, 0.1)
        };
        let c = robustness(&ctx(&model, &cases), &flips);
        assert_eq!(c.outcome, Outcome::Passed, "{c:#?}");
        assert!(!message(&c).contains("relative"), "{c:#?}");
        assert!(c.properties.get("max_relative_change").is_none(), "{c:#?}");

        // Regression: drift bounds over no floating-point values error; labels still work.
        let c = regression(&ctx(&model, &cases), &model, "v1.onnx", &bounds());
        assert_eq!(c.outcome, Outcome::Errored, "{c:#?}");
        assert_eq!(
            message(&c),
            "cannot check output drift: the candidate gives no floating-point values to compare (`label`: int64)"
        );
        let labels_only = Regression {
            max_output_drift: None,
            max_mean_drift: None,
            ..bounds()
        };
        let c = regression(&ctx(&model, &cases), &model, "v1.onnx", &labels_only);
        assert_eq!(c.outcome, Outcome::Passed, "{c:#?}");
        assert_eq!(
            message(&c),
            "labels changed in 0% (0 of 5 rows), max_label_change_rate 10%"
        );
        assert!(c.properties.get("max_output_drift").is_none(), "{c:#?}");
    }

    // --- formatting ------------------------------------------------------------------------

    #[test]
    fn numbers_read_well() {
        assert_eq!(pct(0.075), "7.5%");
        assert_eq!(pct(0.05), "5%");
        assert_eq!(pct(0.0), "0%");
        assert_eq!(num(1e30), "1e30");
        assert_eq!(num(-1e-6), "-1e-6");
        assert_eq!(num(0.1234567), "0.123457");
        assert_eq!(num(2.0), "2");
        assert_eq!(num(f64::NEG_INFINITY), "-Inf");
        assert_eq!(num(f64::from(f32::MAX)), "3.403e38");
    }
}
