//! When requests are due: a rate profile (constant, or stages that ramp linearly) and an
//! arrival process (evenly spaced, or Poisson), as a bounded sequence of intended start times.
//!
//! Both processes are the same inversion: the expected number of requests by time `t` is the
//! integral of the rate, `N(t)`; the k-th request is due at `N⁻¹(x_k)` where `x_k = k` for even
//! spacing, and `x_k` is the k-th arrival of a unit-rate Poisson process for Poisson arrivals
//! (the time-rescaling theorem: this gives a Poisson process of the profile's varying rate).

use std::time::Duration;

use modelci_rng::SeededRng;

/// A stretch of the profile: the rate goes linearly from `from` to `to` requests per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stage {
    /// How long the stage lasts.
    pub duration: Duration,
    /// The rate at its start (requests per second).
    pub from: f64,
    /// The rate at its end.
    pub to: f64,
}

/// The target rate over time.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Profile {
    /// The stages, in order.
    pub stages: Vec<Stage>,
}

impl Profile {
    /// `rate` requests per second for `duration`.
    pub fn constant(rate: f64, duration: Duration) -> Profile {
        Profile {
            stages: vec![Stage {
                duration,
                from: rate,
                to: rate,
            }],
        }
    }

    /// Stages given as (duration, target rate): each ramps from the previous target (the first
    /// from `start`) to its own, as k6's ramping-arrival-rate executor does.
    pub fn ramping(start: f64, targets: &[(Duration, f64)]) -> Profile {
        let mut from = start;
        let stages = targets
            .iter()
            .map(|&(duration, to)| {
                let s = Stage { duration, from, to };
                from = to;
                s
            })
            .collect();
        Profile { stages }
    }

    /// How long the profile lasts.
    pub fn duration(&self) -> Duration {
        self.stages.iter().map(|s| s.duration).sum()
    }

    /// The expected number of requests over the whole profile.
    pub fn expected_requests(&self) -> f64 {
        self.stages
            .iter()
            .map(|s| (s.from + s.to) / 2.0 * s.duration.as_secs_f64())
            .sum()
    }

    /// The rate at the profile's start (the first stage's `from`, or its `to` when it starts
    /// from zero).
    pub fn first_rate(&self) -> f64 {
        self.stages
            .first()
            .map(|s| if s.from > 0.0 { s.from } else { s.to })
            .unwrap_or(0.0)
    }

    /// Checks that the profile can run: at least one stage, finite non-negative rates, a
    /// positive total duration.
    ///
    /// # Errors
    /// A message saying what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.stages.is_empty() || self.duration().is_zero() {
            return Err("the load profile lasts no time: give a duration".to_owned());
        }
        for s in &self.stages {
            for r in [s.from, s.to] {
                if !r.is_finite() || r < 0.0 {
                    return Err(format!(
                        "a rate must be a finite number of requests per second, not {r}"
                    ));
                }
            }
        }
        if self.expected_requests() < 1.0 {
            return Err(
                "the load profile sends no request (rate × duration is below 1)".to_owned(),
            );
        }
        Ok(())
    }

    /// The time at which the expected number of requests reaches `n`, or `None` past the end.
    pub fn time_of(&self, n: f64) -> Option<Duration> {
        let mut before = 0.0_f64; // requests expected before the stage
        let mut start = 0.0_f64; // the stage's start, in seconds
        for s in &self.stages {
            let t_len = s.duration.as_secs_f64();
            let count = (s.from + s.to) / 2.0 * t_len;
            let c = n - before;
            if c <= count && t_len > 0.0 {
                // c = from·t + (to − from)·t²/(2T): the root in [0, T], written so that it is
                // stable when the slope is zero or the discriminant is tiny.
                let a = (s.to - s.from) / (2.0 * t_len);
                let disc = s.from * s.from + 4.0 * a * c;
                let denom = s.from + disc.max(0.0).sqrt();
                let t = if c <= 0.0 {
                    0.0
                } else if denom > 0.0 {
                    2.0 * c / denom
                } else {
                    return None;
                };
                return Some(Duration::from_secs_f64((start + t.min(t_len)).max(0.0)));
            }
            before += count;
            start += t_len;
        }
        None
    }
}

/// How requests arrive within the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrivals {
    /// Evenly spaced at the profile's rate (wrk2, oha, k6's arrival-rate executors).
    Uniform,
    /// A Poisson process of the profile's rate: independent arrivals, bursts included, as
    /// many independent users make.
    Poisson {
        /// The seed of the arrival times (the same seed, the same schedule).
        seed: u64,
    },
}

/// The intended start times, from the profile's start, in order.
#[derive(Debug, Clone)]
pub struct Starts {
    profile: Profile,
    arrivals: Arrivals,
    rng: SeededRng,
    k: u64,
    x: f64,
    limit: Option<u64>,
    phase: f64,
}

impl Starts {
    /// The start times of `profile` with `arrivals`, at most `limit` of them.
    pub fn new(profile: Profile, arrivals: Arrivals, limit: Option<u64>) -> Starts {
        let seed = match arrivals {
            Arrivals::Poisson { seed } => seed,
            Arrivals::Uniform => 0,
        };
        Starts {
            profile,
            arrivals,
            rng: SeededRng::new(seed),
            k: 0,
            x: 0.0,
            limit,
            phase: 0.0,
        }
    }

    /// Evenly spaced arrivals start `phase` (0 to 1) of an interval late: N shards with
    /// phases 0, 1/N, ... interleave into one evenly spaced stream.
    #[must_use]
    pub fn with_phase(mut self, phase: f64) -> Starts {
        self.phase = if phase.is_finite() {
            phase.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self
    }
}

impl Iterator for Starts {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        if self.limit.is_some_and(|l| self.k >= l) {
            return None;
        }
        self.x = match self.arrivals {
            Arrivals::Uniform => self.k as f64 + self.phase,
            Arrivals::Poisson { .. } => {
                // An exponential gap of mean 1: −ln(U), U in (0, 1].
                let u = 1.0 - self.rng.unit();
                self.x - u.max(f64::MIN_POSITIVE).ln()
            }
        };
        let t = self.profile.time_of(self.x)?;
        if t >= self.profile.duration() {
            return None;
        }
        self.k += 1;
        Some(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn constant_rate_is_evenly_spaced() {
        let p = Profile::constant(10.0, secs(2.0));
        let starts: Vec<Duration> = Starts::new(p, Arrivals::Uniform, None).collect();
        assert_eq!(starts.len(), 20);
        assert_eq!(starts[0], Duration::ZERO);
        assert!((starts[1].as_secs_f64() - 0.1).abs() < 1e-9);
        assert!((starts[19].as_secs_f64() - 1.9).abs() < 1e-9);
    }

    #[test]
    fn a_ramp_sends_the_area_under_the_rate() {
        // 0 → 100 rps over 10 s, then 100 for 5 s: 500 + 500 requests.
        let p = Profile::ramping(0.0, &[(secs(10.0), 100.0), (secs(5.0), 100.0)]);
        assert!((p.expected_requests() - 1000.0).abs() < 1e-9);
        let starts: Vec<Duration> = Starts::new(p.clone(), Arrivals::Uniform, None).collect();
        assert_eq!(starts.len(), 1000);
        // Half the ramp's requests come in its last 29% (rate grows linearly).
        let in_first_half = starts.iter().filter(|t| t.as_secs_f64() < 5.0).count();
        assert!((120..=130).contains(&in_first_half), "{in_first_half}");
        assert!(starts.windows(2).all(|w| w[0] <= w[1]));
        // A ramp down ends.
        let down = Profile::ramping(100.0, &[(secs(2.0), 0.0)]);
        assert_eq!(Starts::new(down, Arrivals::Uniform, None).count(), 100);
    }

    #[test]
    fn poisson_arrivals_keep_the_rate_and_are_seeded() {
        let p = Profile::constant(1000.0, secs(10.0));
        let a: Vec<Duration> =
            Starts::new(p.clone(), Arrivals::Poisson { seed: 7 }, None).collect();
        let b: Vec<Duration> =
            Starts::new(p.clone(), Arrivals::Poisson { seed: 7 }, None).collect();
        assert_eq!(a, b);
        // 10 000 expected, standard deviation 100.
        assert!((9_600..=10_400).contains(&a.len()), "{}", a.len());
        // Gaps are exponential: about 1/e of them exceed the mean gap.
        let long = a
            .windows(2)
            .filter(|w| (w[1] - w[0]).as_secs_f64() > 0.001)
            .count() as f64
            / a.len() as f64;
        assert!((0.34..0.40).contains(&long), "{long}");
    }

    #[test]
    fn limits_and_validation() {
        let p = Profile::constant(10.0, secs(100.0));
        assert_eq!(
            Starts::new(p.clone(), Arrivals::Uniform, Some(5)).count(),
            5
        );
        assert!(p.validate().is_ok());
        assert!(Profile::constant(0.0, secs(1.0)).validate().is_err());
        assert!(Profile::constant(f64::NAN, secs(1.0)).validate().is_err());
        assert!(Profile::constant(5.0, Duration::ZERO).validate().is_err());
        assert!(Profile::default().validate().is_err());
    }

    proptest::proptest! {
        #[test]
        fn starts_are_ordered_and_within_the_profile(
            a in 0.0f64..500.0, b in 0.0f64..500.0, d1 in 0.1f64..5.0, d2 in 0.1f64..5.0,
        ) {
            let p = Profile::ramping(a, &[(secs(d1), b), (secs(d2), a)]);
            let total = p.duration();
            let starts: Vec<Duration> = Starts::new(p.clone(), Arrivals::Uniform, None).collect();
            proptest::prop_assert!(starts.windows(2).all(|w| w[0] <= w[1]));
            proptest::prop_assert!(starts.iter().all(|t| *t < total));
            let expected = p.expected_requests();
            proptest::prop_assert!((starts.len() as f64 - expected).abs() <= 2.0,
                "{} vs {expected}", starts.len());
        }
    }
}
