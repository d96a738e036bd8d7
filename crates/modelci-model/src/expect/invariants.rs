//! Invariants: batch invariance, determinism, and outputs that are probability distributions.

use std::time::Instant;

use modelci_config::model::Invariants;
use modelci_report::Case;
use modelci_tensor::backend::Backend;
use modelci_tensor::tensor::{Data, Tensor};

use super::rows::{Plan, is_batched, no_batch_reason, plan, run_all};
use super::{Context, MAX_BATCH_ROWS, full, num, quoted, timed, tolerance};
use crate::compare::{NanPolicy, Tolerance, ValueMismatch, compare};
use crate::golden_suite::Overrides;

pub(super) const BATCH_INVARIANCE: &str = "invariant: batch invariance";
const DETERMINISM: &str = "invariant: determinism";

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
    super::with_matrices(ctx, |ctx| invariants_on(ctx, spec))
}

fn invariants_on(ctx: &Context<'_>, spec: &Invariants) -> Vec<Case> {
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

#[cfg(test)]
mod tests {
    use modelci_report::Outcome;

    use super::*;
    use crate::expect::testing::*;
    use crate::expect::*;

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
}
