/// A small seeded generator: xoshiro256** (Blackman and Vigna, 2018) with its state filled by
/// splitmix64 from the seed. Written out so that a seed gives the same stream on every platform
/// and in every version of modelci, whatever happens to the `rand` crates.
pub(super) struct Rng {
    s: [u64; 4],
}

impl Rng {
    pub(super) fn new(seed: u64) -> Rng {
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

    pub(super) fn next_u64(&mut self) -> u64 {
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
    pub(super) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
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
}
