//! The seeded generator behind every bootstrap resample, identical on every platform.
//!
//! - Generator: `modelci-rng`'s [`SeededRng`], the one pinned generator of every `--seed` in
//!   modelci (xoshiro256** seeded by SplitMix64).
//! - One stream per resample: resample `b` uses stream `b` of the seed ([`SeededRng::streams`]:
//!   the seed's stream after `b` jumps of 2^128 outputs), so its indices do not depend on which
//!   thread draws it or on how many threads there are.
//! - Uniform indices in `0..n`: [`SeededRng::index`] (exactly uniform, pinned).

use modelci_rng::SeededRng;

/// The first streams of one seed, computed up front (a jump each), so that any thread can
/// start any of them at once.
#[derive(Debug, Clone)]
pub struct Streams {
    seed: u64,
    starts: Vec<SeededRng>,
}

impl Streams {
    /// Streams `0..count` of `seed`.
    #[must_use]
    pub fn new(seed: u64, count: usize) -> Self {
        Self {
            seed,
            starts: SeededRng::streams(seed).take(count).collect(),
        }
    }

    /// Stream number `id`, from its start (computed now when `id` is not below the `count`
    /// given to [`Streams::new`]).
    #[must_use]
    pub fn stream(&self, id: usize) -> Stream {
        let rng = match self.starts.get(id) {
            Some(start) => start.clone(),
            None => {
                let mut rng = self
                    .starts
                    .last()
                    .cloned()
                    .unwrap_or_else(|| SeededRng::new(self.seed));
                for _ in self.starts.len().saturating_sub(1)..id {
                    rng.jump();
                }
                rng
            }
        };
        Stream { rng }
    }
}

/// One random stream.
#[derive(Debug)]
pub struct Stream {
    rng: SeededRng,
}

impl Stream {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }

    /// A uniform index in `0..n`; `n` must be positive (0 gives 0).
    pub fn index(&mut self, n: usize) -> usize {
        self.rng.index(n)
    }

    /// Fills `out` with uniform indices in `0..n`: one bootstrap resample of `n` rows.
    pub fn fill_indices(&mut self, n: usize, out: &mut [usize]) {
        for slot in out {
            *slot = self.index(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_the_seeds_jumped_streams_whatever_was_computed_up_front() {
        let mut want = SeededRng::streams(42);
        for id in 0..6 {
            let next = want.next().expect("infinite").next_u64();
            for count in [0, 1, 3, 6] {
                let got = Streams::new(42, count).stream(id).next_u64();
                assert_eq!(got, next, "stream {id} of 42, {count} up front");
            }
        }
    }

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a = Streams::new(42, 9);
        let b = Streams::new(42, 9);
        let x: Vec<u64> = (0..4).map(|_| a.stream(7).next_u64()).collect();
        assert!(x.windows(2).all(|w| w[0] == w[1]));
        assert_eq!(a.stream(7).next_u64(), b.stream(7).next_u64());
        assert_ne!(a.stream(7).next_u64(), a.stream(8).next_u64());
        assert_ne!(
            Streams::new(43, 9).stream(7).next_u64(),
            a.stream(7).next_u64()
        );
    }

    #[test]
    fn golden_values_pin_the_generator() {
        // Changing these breaks reproducibility of every recorded bootstrap: don't, unless the
        // change is deliberate and documented.
        let mut s = Streams::new(2024, 4).stream(3);
        let v: Vec<usize> = (0..5).map(|_| s.index(1000)).collect();
        assert_eq!(v, GOLDEN);
    }

    // Changed deliberately once, when bootstraps moved from ChaCha8 to modelci-rng's pinned
    // xoshiro256** streams (every seed's resamples changed then).
    const GOLDEN: [usize; 5] = [667, 578, 33, 180, 656];

    #[test]
    fn indices_are_in_range_and_roughly_uniform() {
        let mut s = Streams::new(1, 1).stream(0);
        let mut hist = [0_u32; 10];
        for _ in 0..100_000 {
            hist[s.index(10)] += 1;
        }
        assert!(
            hist.iter().all(|&h| (9_500..10_500).contains(&h)),
            "{hist:?}"
        );
        assert_eq!(s.index(1), 0);
    }
}
