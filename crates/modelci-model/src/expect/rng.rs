/// The expectations' seeded draws: modelci's one pinned generator ([`modelci_rng::SeededRng`],
/// xoshiro256** seeded by SplitMix64), so a seed gives the same stream on every platform and in
/// every version of modelci, with the distributions the perturbations need on top.
pub(super) struct Rng {
    inner: modelci_rng::SeededRng,
}

impl Rng {
    pub(super) fn new(seed: u64) -> Rng {
        Rng {
            inner: modelci_rng::SeededRng::new(seed),
        }
    }

    pub(super) fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// Uniform in [0, 1), 53 bits.
    pub(super) fn unit(&mut self) -> f64 {
        self.inner.unit()
    }

    /// Uniform in [-1, 1).
    pub(super) fn symmetric(&mut self) -> f64 {
        2.0 * self.unit() - 1.0
    }

    /// Standard normal (Box-Muller, one value per two uniforms).
    pub(super) fn gaussian(&mut self) -> f64 {
        let u1 = 1.0 - self.unit(); // (0, 1]: the logarithm stays finite
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// +1 or -1 with equal odds.
    pub(super) fn sign(&mut self) -> f64 {
        if self.next_u64() >> 63 == 0 {
            1.0
        } else {
            -1.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_is_pinned() {
        // The same stream as the hand-written generator this replaced: robustness results for
        // a seed do not change.
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
}
