//! Compensated summation.
//!
//! Hand-written on purpose: Neumaier's variant of Kahan summation is a dozen lines, and it keeps
//! sums over millions of rows within a few ulps of the exact value (NumPy's pairwise summation,
//! which the reference values come from, is similarly accurate), without a dependency.

/// A running sum with Neumaier's compensation term.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sum {
    sum: f64,
    compensation: f64,
}

impl Sum {
    pub(crate) fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.compensation += (self.sum - t) + x;
        } else {
            self.compensation += (x - t) + self.sum;
        }
        self.sum = t;
    }

    pub(crate) fn total(self) -> f64 {
        self.sum + self.compensation
    }
}

/// The compensated sum of an iterator.
pub(crate) fn sum(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut s = Sum::default();
    for v in values {
        s.add(v);
    }
    s.total()
}

#[cfg(test)]
mod tests {
    #[test]
    fn compensates() {
        let v = [1e16, 1.0, -1e16];
        assert_eq!(super::sum(v), 1.0);
        assert_eq!(v.iter().sum::<f64>(), 0.0);
    }
}
