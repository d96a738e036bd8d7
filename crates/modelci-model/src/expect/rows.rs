//! Rows, batches and runs: golden inputs split into rows (or whole cases), stacked into batches
//! of at most [`super::MAX_BATCH_ROWS`] rows, run, and split back.

use modelci_tensor::backend::Backend;
use modelci_tensor::golden;
use modelci_tensor::tensor::Tensor;

use super::MAX_BATCH_ROWS;

/// One thing the checks run: a row of a case (dynamic batch) or a whole case.
pub(super) struct Unit {
    pub(super) inputs: Vec<Tensor>,
    /// For messages: ``row 3 (`cats.json` row 1)`` or ``case `cats.json` ``.
    pub(super) origin: String,
}

/// The units of the golden inputs, and whether they may be batched.
pub(super) struct Plan {
    pub(super) units: Vec<Unit>,
    pub(super) batched: bool,
}

impl Plan {
    pub(super) fn slices(&self) -> Vec<&[Tensor]> {
        self.units.iter().map(|u| u.inputs.as_slice()).collect()
    }

    pub(super) fn origin(&self, i: usize) -> String {
        self.units
            .get(i)
            .map_or_else(|| format!("#{i}"), |u| u.origin.clone())
    }

    pub(super) fn noun(&self) -> &'static str {
        if self.batched { "rows" } else { "cases" }
    }
}

/// Whether every input of the model has a leading dynamic dimension.
pub(super) fn is_batched(backend: &dyn Backend) -> bool {
    let ports = backend.inputs();
    !ports.is_empty() && ports.iter().all(|p| p.shape.first() == Some(&-1))
}

pub(super) fn no_batch_reason(backend: &dyn Backend) -> String {
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
pub(super) fn plan(
    backend: &dyn Backend,
    cases: &[golden::Case],
    batched: bool,
) -> Result<Plan, String> {
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
pub(super) struct RunFailure {
    pub(super) first: usize,
    pub(super) count: usize,
    pub(super) message: String,
}

impl RunFailure {
    pub(super) fn describe(&self, origin: impl Fn(usize) -> String) -> String {
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
pub(super) fn run_all(
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
pub(super) fn too_large(t: &Tensor) -> bool {
    t.shape
        .iter()
        .try_fold(1_i64, |product, &d| match d {
            0 => Some(product),
            d if d > 0 => product.checked_mul(d),
            _ => None,
        })
        .is_none()
}

pub(super) fn rows_of(unit: &[Tensor]) -> usize {
    unit.first().and_then(Tensor::rows).unwrap_or(1)
}

pub(super) fn stackable(a: &[Tensor], b: &[Tensor]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.name == y.name
                && x.dtype == y.dtype
                && !x.shape.is_empty()
                && x.shape.get(1..) == y.shape.get(1..)
                && std::mem::discriminant(&x.data) == std::mem::discriminant(&y.data)
        })
}

pub(super) fn stack(chunk: &[&[Tensor]]) -> Option<Vec<Tensor>> {
    let first = chunk.first()?;
    (0..first.len())
        .map(|k| {
            let parts: Option<Vec<&Tensor>> = chunk.iter().map(|u| u.get(k)).collect();
            Tensor::concat_rows(&parts?)
        })
        .collect()
}

/// Splits a batch's outputs into consecutive runs of `sizes` rows.
pub(super) fn split(outputs: &[Tensor], sizes: &[usize]) -> Result<Vec<Vec<Tensor>>, String> {
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use modelci_config::model::{Invariants, Perturbation};
    use modelci_report::Outcome;
    use modelci_tensor::runtime::RuntimeError;
    use modelci_tensor::tensor::Data;

    use super::*;
    use crate::expect::invariants::BATCH_INVARIANCE;
    use crate::expect::testing::*;
    use crate::expect::*;

    #[test]
    fn large_inputs_run_in_batches_of_at_most_1024_rows() {
        let most = AtomicUsize::new(0);
        let model = Around(Fake::plain(), |fake: &Fake, inputs: &[Tensor]| {
            let rows = inputs.first().and_then(Tensor::rows).unwrap_or(0);
            most.fetch_max(rows, Ordering::SeqCst);
            fake.run(inputs)
        });
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
        assert_eq!(most.load(Ordering::SeqCst), MAX_BATCH_ROWS);
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

        // Answers every batch with an empty output whose rows are 2^80 elements wide.
        let model = Around(Fake::plain(), |_: &Fake, inputs: &[Tensor]| {
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
        });
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
}
