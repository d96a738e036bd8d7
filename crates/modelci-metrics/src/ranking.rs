//! Ranking metrics of one binary problem (scores against a positive/negative truth): the area
//! under the ROC curve and average precision, both from one sort.

/// ROC AUC and average precision of one binary problem; `None` where undefined.
pub(crate) struct Ranking {
    /// Positives in the truth.
    pub positives: u64,
    /// Area under the ROC curve (trapezoidal, ties counted as half, like scikit-learn's
    /// `roc_auc_score`); `None` with no positive or no negative.
    pub roc_auc: Option<f64>,
    /// Average precision, scikit-learn's `average_precision_score`: the step-wise sum
    /// `Σ (R_n − R_{n−1}) P_n` over distinct score thresholds; `None` with no positive.
    pub average_precision: Option<f64>,
}

/// Computes [`Ranking`] from `(score, is_positive)` pairs. `pairs` is reordered.
/// Scores must be finite (checked by the callers).
pub(crate) fn rank(pairs: &mut [(f64, bool)]) -> Ranking {
    // Descending by score; the order inside a run of equal scores does not matter because each
    // run is consumed whole.
    pairs.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
    let positives = pairs.iter().filter(|p| p.1).count() as u64;
    let negatives = pairs.len() as u64 - positives;

    // 2 × the area under the (unnormalised) ROC staircase, exact in integers.
    let mut area2: u128 = 0;
    let mut ap = 0.0_f64;
    let (mut tp, mut fp) = (0_u64, 0_u64);
    let mut i = 0;
    while i < pairs.len() {
        let score = pairs[i].0;
        let (tp_before, fp_before) = (tp, fp);
        while i < pairs.len() && pairs[i].0 == score {
            if pairs[i].1 {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
        }
        area2 += u128::from(fp - fp_before) * u128::from(tp + tp_before);
        if positives > 0 && tp > tp_before {
            let recall_step = (tp - tp_before) as f64 / positives as f64;
            let precision = tp as f64 / (tp + fp) as f64;
            ap += recall_step * precision;
        }
    }
    let roc_auc = (positives > 0 && negatives > 0)
        .then(|| area2 as f64 / (2.0 * positives as f64 * negatives as f64));
    let average_precision = (positives > 0).then_some(ap);
    Ranking {
        positives,
        roc_auc,
        average_precision,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(scores: &[f64], truth: &[bool]) -> Ranking {
        let mut pairs: Vec<_> = scores.iter().copied().zip(truth.iter().copied()).collect();
        rank(&mut pairs)
    }

    #[test]
    fn sklearn_doc_examples() {
        // roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
        // average_precision_score(same) == 0.8333...
        let r = run(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]);
        assert!((r.roc_auc.unwrap() - 0.75).abs() < 1e-15);
        assert!((r.average_precision.unwrap() - 0.833_333_333_333_333_4).abs() < 1e-15);
    }

    #[test]
    fn ties_count_half() {
        let r = run(&[0.5, 0.5], &[false, true]);
        assert_eq!(r.roc_auc, Some(0.5));
        assert_eq!(r.average_precision, Some(0.5));
    }

    #[test]
    fn one_class_is_undefined() {
        let r = run(&[0.1, 0.2], &[true, true]);
        assert_eq!(r.roc_auc, None);
        assert_eq!(r.average_precision, Some(1.0));
        let r = run(&[0.1, 0.2], &[false, false]);
        assert_eq!(r.roc_auc, None);
        assert_eq!(r.average_precision, None);
    }
}
