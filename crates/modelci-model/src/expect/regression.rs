//! Regression against a baseline model: label changes and output differences on the same rows.

use modelci_config::model::Regression;
use modelci_report::Case;
use modelci_tensor::backend::Backend;
use modelci_tensor::tensor::Data;

use super::labels::labels_for;
use super::rows::{is_batched, plan, run_all};
use super::{Context, WithDetail, difference, num, pct, quoted, ratio, timed, typed};

/// How many label changes a regression message lists.
const LISTED_CHANGES: usize = 5;
/// How many label changes a regression detail lists.
const DETAILED_CHANGES: usize = 50;

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
    let baseline = super::MapsAsMatrix(baseline);
    super::with_matrices(ctx, |ctx| {
        regression_on(ctx, &baseline, baseline_name, spec)
    })
}

fn regression_on(
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

#[cfg(test)]
mod tests {
    use modelci_config::model::{Perturbation, Robustness};
    use modelci_report::Outcome;

    use super::*;
    use crate::expect::testing::*;
    use crate::expect::*;

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
}
