//! The seeded generator behind every bootstrap resample, identical on every platform.
//!
//! - Generator: ChaCha8 (the `chacha20` crate's `ChaCha8Rng`, through `rand::rngs`), a
//!   specified stream cipher whose output depends only on its key, stream id and position: not
//!   on the platform, pointer width, endianness or SIMD backend.
//! - Key: the 64-bit seed expanded to 32 bytes by four SplitMix64 steps (Steele, Lea and Flood;
//!   written out here so the expansion cannot change with a dependency), little-endian.
//! - One stream per resample: resample `b` uses stream id `b` from position 0, so its indices
//!   do not depend on which thread draws it or on how many threads there are.
//! - Uniform indices in `0..n`: Lemire's multiply-shift with rejection ("Fast random integer
//!   generation in an interval", 2019) on 64-bit outputs: exactly uniform, and written out here
//!   for the same reason as the key expansion.

use rand::rngs::ChaCha8Rng;
use rand::{Rng, SeedableRng};

/// A family of independent random streams derived from one seed.
#[derive(Debug, Clone)]
pub struct Streams {
    key: [u8; 32],
}

impl Streams {
    /// The streams of `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        let mut state = seed;
        let mut key = [0_u8; 32];
        for chunk in key.chunks_exact_mut(8) {
            chunk.copy_from_slice(&splitmix64(&mut state).to_le_bytes());
        }
        Self { key }
    }

    /// Stream number `id`, from its start.
    #[must_use]
    pub fn stream(&self, id: u64) -> Stream {
        let mut rng = ChaCha8Rng::from_seed(self.key);
        rng.set_stream(id);
        Stream { rng }
    }
}

/// One random stream.
#[derive(Debug)]
pub struct Stream {
    rng: ChaCha8Rng,
}

impl Stream {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }

    /// A uniform index in `0..n`; `n` must be positive (0 gives 0).
    pub fn index(&mut self, n: usize) -> usize {
        let range = n as u64;
        if range == 0 {
            return 0;
        }
        let mut m = u128::from(self.next_u64()) * u128::from(range);
        let mut low = m as u64;
        if low < range {
            let threshold = range.wrapping_neg() % range;
            while low < threshold {
                m = u128::from(self.next_u64()) * u128::from(range);
                low = m as u64;
            }
        }
        (m >> 64) as usize
    }

    /// Fills `out` with uniform indices in `0..n`: one bootstrap resample of `n` rows.
    pub fn fill_indices(&mut self, n: usize, out: &mut [usize]) {
        for slot in out {
            *slot = self.index(n);
        }
    }
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_reference_values() {
        // First outputs of SplitMix64 seeded with 0 (reference implementation).
        let mut s = 0;
        assert_eq!(splitmix64(&mut s), 0xE220_A839_7B1D_CDAF);
        assert_eq!(splitmix64(&mut s), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a = Streams::new(42);
        let b = Streams::new(42);
        let x: Vec<u64> = (0..4).map(|_| a.stream(7).next_u64()).collect();
        assert!(x.windows(2).all(|w| w[0] == w[1]));
        assert_eq!(a.stream(7).next_u64(), b.stream(7).next_u64());
        assert_ne!(a.stream(7).next_u64(), a.stream(8).next_u64());
        assert_ne!(
            Streams::new(43).stream(7).next_u64(),
            a.stream(7).next_u64()
        );
    }

    #[test]
    fn golden_values_pin_the_generator() {
        // Changing these breaks reproducibility of every recorded bootstrap: don't, unless the
        // change is deliberate and documented.
        let mut s = Streams::new(2024).stream(3);
        let v: Vec<usize> = (0..5).map(|_| s.index(1000)).collect();
        assert_eq!(v, GOLDEN);
    }

    const GOLDEN: [usize; 5] = [664, 875, 237, 200, 1];

    #[test]
    fn indices_are_in_range_and_roughly_uniform() {
        let mut s = Streams::new(1).stream(0);
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
