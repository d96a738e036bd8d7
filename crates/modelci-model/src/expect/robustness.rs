//! Robustness to seeded perturbations: noise and dropout with bounds on label flips and output
//! changes, and a black-box search for the smallest label-flipping perturbation.

use std::collections::BTreeMap;

use modelci_config::model::{Perturbation, Robustness};
use modelci_report::Case;
use modelci_tensor::backend::Backend;
use modelci_tensor::tensor::{Data, Tensor};

use super::labels::{Labels, labels_for};
use super::rng::Rng;
use super::rows::{Plan, is_batched, plan, rows_of, run_all};
use super::{
    Context, MAX_BATCH_ROWS, WithDetail, difference, no_float_reason, num, pct, ratio, timed, typed,
};

/// Search: halvings of eps below `scale` tried before giving up (down to `scale / 2^16`).
const SEARCH_HALVINGS: u32 = 16;
/// Search: bisection steps between the largest eps that did not flip and the smallest that did.
const SEARCH_BISECTIONS: u32 = 6;

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
    super::with_matrices(ctx, |ctx| robustness_on(ctx, spec))
}

fn robustness_on(ctx: &Context<'_>, spec: &Robustness) -> Case {
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

#[cfg(test)]
mod tests {
    use modelci_report::Outcome;

    use super::*;
    use crate::expect::testing::*;
    use crate::expect::*;

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
}
