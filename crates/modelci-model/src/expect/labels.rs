//! Class labels read from outputs: `label_output`, else the first integer output, else the
//! argmax along the last axis of the first floating-point output.

use modelci_tensor::tensor::{Data, Tensor};

use super::quoted;

/// Which output holds the labels.
pub(super) struct LabelRule {
    pub(super) output: String,
    /// Floating point: the argmax along the last axis; otherwise the values themselves.
    pub(super) argmax: bool,
    /// Named by `label_output`.
    pub(super) named: bool,
}

impl LabelRule {
    /// `label_output` when given (it must exist), else the first integer output, else the first
    /// floating-point output's argmax.
    pub(super) fn pick(
        label_output: Option<&str>,
        outputs: &[Tensor],
    ) -> Result<LabelRule, String> {
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

    pub(super) fn describe(&self) -> String {
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
    pub(super) fn read(&self, outputs: &[Tensor]) -> Result<String, String> {
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
pub(super) fn argmax(group: &[f64]) -> String {
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
pub(super) struct Labels {
    pub(super) rule: LabelRule,
    pub(super) values: Vec<String>,
}

/// Labels for every answer: an error when `label_output` names no output, or when labels are
/// `needed` and cannot be read; `None` when they are not needed and cannot be read.
pub(super) fn labels_for(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expect::rows::{plan, run_all};
    use crate::expect::testing::*;

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
}
