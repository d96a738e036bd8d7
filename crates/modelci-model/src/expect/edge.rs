//! Edge cases: bad or unusual inputs (wrong shape, wrong dtype, an empty batch, NaN and
//! infinities, extreme values), built from the first row of the golden inputs.

use std::time::Instant;

use modelci_config::model::{EdgeCases, NonFinite};
use modelci_report::Case;
use modelci_tensor::backend::Backend;
use modelci_tensor::runtime::RuntimeError;
use modelci_tensor::tensor::{DType, Data, Tensor};

use super::rows::{Unit, is_batched, no_batch_reason, plan};
use super::{Context, WithDetail, no_float_reason, num, quoted, timed};

const WRONG_SHAPE: &str = "edge: wrong shape is rejected";
const WRONG_DTYPE: &str = "edge: wrong dtype is rejected";
const EMPTY_BATCH: &str = "edge: empty batch is answered or rejected";
const NON_FINITE_FINITE: &str = "edge: NaN and ±Inf inputs give finite outputs";
const NON_FINITE_REJECT: &str = "edge: NaN and ±Inf inputs are rejected";
const EXTREME_VALUES: &str = "edge: extreme values give finite outputs";

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
    super::with_matrices(ctx, |ctx| edge_cases_on(ctx, spec))
}

fn edge_cases_on(ctx: &Context<'_>, spec: &EdgeCases) -> Vec<Case> {
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
    fn inputs(&self) -> &[modelci_tensor::runtime::Port] {
        self.inner.inputs()
    }
    fn outputs(&self) -> &[modelci_tensor::runtime::Port] {
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
        // Not an input a model takes (sequences and maps are refused before they are sent).
        Data::Maps { maps, .. } => vec![0.0; maps.len()],
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

#[cfg(test)]
mod tests {
    use modelci_report::Outcome;
    use modelci_tensor::runtime::Port;

    use super::*;
    use crate::expect::testing::*;
    use crate::expect::*;

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
            assert!(message(c).contains("timed out after 1 s"), "{c:#?}");
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
        let picky = Around(model, |fake: &Fake, inputs: &[Tensor]| {
            if inputs.iter().any(|t| t.rows() == Some(0)) {
                return fail("batch size must be at least 1");
            }
            fake.run(inputs)
        });
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
}
