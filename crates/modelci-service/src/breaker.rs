//! The circuit breaker around a primary model.
//!
//! - **Closed**: requests go to the primary; consecutive failures (errors, deadline overruns)
//!   are counted and a success resets the count. At `threshold` failures it opens.
//! - **Open**: requests go to the fallback (or are refused with 503 where there is none) until
//!   `cooldown` has passed since it opened.
//! - **Half-open**: the first request after the cooldown is the trial and goes to the primary;
//!   while it runs, the others go to the fallback. A successful trial closes the breaker, a
//!   failed one opens it again for another cooldown; a trial that ends in neither (the request
//!   was refused as invalid before it could tell anything) lets the next request be the trial.
//!
//! Outcomes of requests that were routed to the primary while closed and finish after the
//! breaker opened are ignored: only the trial decides in half-open, and an open breaker waits
//! out its cooldown. The state sits behind a mutex held for a few instructions, never across an
//! inference or an `await`.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Where a request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// The primary model; `trial` when this request is the half-open breaker's trial.
    Primary { trial: bool },
    /// The fallback (the breaker is open, or half-open with its trial in flight); `retry_after`
    /// is how long until the primary is tried again, at the earliest.
    Fallback { retry_after: Duration },
}

/// What a request to the primary says about the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Success,
    /// An error of the model or a deadline overrun.
    Failure,
    /// Nothing about the model (the request itself was at fault).
    Neutral,
}

/// The breaker's phase, for responses and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Closed,
    Open,
    HalfOpen,
}

impl Phase {
    /// `closed`, `open`, `half_open`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Phase::Closed => "closed",
            Phase::Open => "open",
            Phase::HalfOpen => "half_open",
        }
    }
}

/// A change of phase, to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transition {
    /// Opened after this many consecutive failures (or a failed trial, `trial: true`).
    Opened {
        failures: u32,
        trial: bool,
    },
    HalfOpened,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed { failures: u32 },
    Open { since: Instant },
    HalfOpen { trial_in_flight: bool },
}

/// A circuit breaker (see the module docs).
#[derive(Debug)]
pub(crate) struct Breaker {
    threshold: u32,
    cooldown: Duration,
    /// False only under `--broken no-breaker`: failures are not counted, it never opens.
    counts_failures: bool,
    /// False only under `--broken no-half-open`: once open, it stays open.
    half_opens: bool,
    state: Mutex<State>,
}

impl Breaker {
    /// Opens after `threshold` (at least 1) consecutive failures, for `cooldown`.
    pub(crate) fn new(threshold: u32, cooldown: Duration) -> Breaker {
        Breaker {
            threshold: threshold.max(1),
            cooldown,
            counts_failures: true,
            half_opens: true,
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }

    /// A breaker that never opens: failures are read as neutral (`--broken no-breaker`, for
    /// tests only).
    pub(crate) fn never_opens(mut self) -> Breaker {
        self.counts_failures = false;
        self
    }

    /// A breaker that stays open once it opened (`--broken no-half-open`, for tests only).
    pub(crate) fn never_half_opens(mut self) -> Breaker {
        self.half_opens = false;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Nothing panics while holding it; a poisoned state is still a valid state.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Where the next request goes, as of `now` (an open breaker past its cooldown half-opens
    /// and makes this request the trial).
    pub(crate) fn route(&self, now: Instant) -> (Route, Option<Transition>) {
        let mut state = self.lock();
        match *state {
            State::Closed { .. } => (Route::Primary { trial: false }, None),
            State::Open { since } => {
                let elapsed = now.saturating_duration_since(since);
                if elapsed >= self.cooldown && self.half_opens {
                    *state = State::HalfOpen {
                        trial_in_flight: true,
                    };
                    (Route::Primary { trial: true }, Some(Transition::HalfOpened))
                } else {
                    (
                        Route::Fallback {
                            retry_after: self.cooldown.saturating_sub(elapsed),
                        },
                        None,
                    )
                }
            }
            State::HalfOpen {
                trial_in_flight: true,
            } => (
                Route::Fallback {
                    retry_after: Duration::ZERO,
                },
                None,
            ),
            State::HalfOpen {
                trial_in_flight: false,
            } => {
                *state = State::HalfOpen {
                    trial_in_flight: true,
                };
                (Route::Primary { trial: true }, None)
            }
        }
    }

    /// Records what a request routed to the primary found out.
    pub(crate) fn record(&self, trial: bool, outcome: Outcome, now: Instant) -> Option<Transition> {
        let outcome = match outcome {
            Outcome::Failure if !self.counts_failures => Outcome::Neutral,
            other => other,
        };
        let mut state = self.lock();
        match (*state, outcome) {
            (State::Closed { .. }, Outcome::Success) => {
                *state = State::Closed { failures: 0 };
                None
            }
            (State::Closed { failures }, Outcome::Failure) => {
                let failures = failures.saturating_add(1);
                if failures >= self.threshold {
                    *state = State::Open { since: now };
                    Some(Transition::Opened {
                        failures,
                        trial: false,
                    })
                } else {
                    *state = State::Closed { failures };
                    None
                }
            }
            (State::HalfOpen { .. }, Outcome::Success) if trial => {
                *state = State::Closed { failures: 0 };
                Some(Transition::Closed)
            }
            (State::HalfOpen { .. }, Outcome::Failure) if trial => {
                *state = State::Open { since: now };
                Some(Transition::Opened {
                    failures: 1,
                    trial: true,
                })
            }
            (State::HalfOpen { .. }, Outcome::Neutral) if trial => {
                *state = State::HalfOpen {
                    trial_in_flight: false,
                };
                None
            }
            _ => None,
        }
    }

    /// The phase as of `now` (an open breaker past its cooldown reads as half-open), and, when
    /// open, how long until it half-opens.
    pub(crate) fn phase(&self, now: Instant) -> (Phase, Duration) {
        match *self.lock() {
            State::Closed { .. } => (Phase::Closed, Duration::ZERO),
            State::Open { since } => {
                let elapsed = now.saturating_duration_since(since);
                if elapsed >= self.cooldown && self.half_opens {
                    (Phase::HalfOpen, Duration::ZERO)
                } else {
                    (Phase::Open, self.cooldown.saturating_sub(elapsed))
                }
            }
            State::HalfOpen { .. } => (Phase::HalfOpen, Duration::ZERO),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COOL: Duration = Duration::from_millis(100);

    fn primary(b: &Breaker, now: Instant) -> bool {
        match b.route(now).0 {
            Route::Primary { trial } => trial,
            Route::Fallback { .. } => panic!("expected the primary"),
        }
    }

    #[test]
    fn opens_after_consecutive_failures_only() {
        let b = Breaker::new(3, COOL);
        let t = Instant::now();
        assert!(!primary(&b, t));
        assert_eq!(b.record(false, Outcome::Failure, t), None);
        assert_eq!(b.record(false, Outcome::Failure, t), None);
        // A success resets the count; a neutral outcome does not count.
        assert_eq!(b.record(false, Outcome::Success, t), None);
        assert_eq!(b.record(false, Outcome::Failure, t), None);
        assert_eq!(b.record(false, Outcome::Neutral, t), None);
        assert_eq!(b.record(false, Outcome::Failure, t), None);
        assert_eq!(b.phase(t).0, Phase::Closed);
        assert_eq!(
            b.record(false, Outcome::Failure, t),
            Some(Transition::Opened {
                failures: 3,
                trial: false
            })
        );
        let (phase, left) = b.phase(t + Duration::from_millis(40));
        assert_eq!((phase, left), (Phase::Open, Duration::from_millis(60)));
        assert_eq!(
            b.route(t + Duration::from_millis(40)).0,
            Route::Fallback {
                retry_after: Duration::from_millis(60)
            }
        );
        // Late outcomes of requests admitted while closed change nothing.
        assert_eq!(b.record(false, Outcome::Success, t), None);
        assert_eq!(b.phase(t).0, Phase::Open);
    }

    #[test]
    fn a_breaker_that_never_half_opens_stays_on_the_fallback() {
        let b = Breaker::new(1, COOL).never_half_opens();
        let t = Instant::now();
        b.record(false, Outcome::Failure, t);
        let later = t + COOL * 3;
        assert_eq!(b.phase(later).0, Phase::Open);
        assert_eq!(
            b.route(later).0,
            Route::Fallback {
                retry_after: Duration::ZERO
            }
        );
    }

    #[test]
    fn a_breaker_that_never_opens_ignores_failures() {
        let b = Breaker::new(1, COOL).never_opens();
        let t = Instant::now();
        for _ in 0..10 {
            assert!(!primary(&b, t));
            assert_eq!(b.record(false, Outcome::Failure, t), None);
        }
        assert_eq!(b.phase(t).0, Phase::Closed);
    }

    #[test]
    fn half_opens_after_the_cooldown_with_one_trial() {
        let b = Breaker::new(1, COOL);
        let t = Instant::now();
        b.record(false, Outcome::Failure, t);
        let later = t + COOL;
        assert_eq!(b.phase(later).0, Phase::HalfOpen);
        assert_eq!(
            b.route(later),
            (Route::Primary { trial: true }, Some(Transition::HalfOpened))
        );
        // While the trial runs, everyone else gets the fallback.
        assert!(matches!(b.route(later).0, Route::Fallback { .. }));
        // Outcomes of non-trial requests do not decide.
        assert_eq!(b.record(false, Outcome::Success, later), None);
        assert_eq!(
            b.record(true, Outcome::Success, later),
            Some(Transition::Closed)
        );
        assert_eq!(b.phase(later).0, Phase::Closed);
        assert!(!primary(&b, later));
    }

    #[test]
    fn a_failed_trial_opens_again_and_a_neutral_one_frees_the_slot() {
        let b = Breaker::new(2, COOL);
        let t = Instant::now();
        b.record(false, Outcome::Failure, t);
        b.record(false, Outcome::Failure, t);
        let t1 = t + COOL;
        assert!(primary(&b, t1));
        assert_eq!(b.record(true, Outcome::Neutral, t1), None);
        assert!(primary(&b, t1), "the next request is the trial");
        assert_eq!(
            b.record(true, Outcome::Failure, t1),
            Some(Transition::Opened {
                failures: 1,
                trial: true
            })
        );
        assert_eq!(b.phase(t1).0, Phase::Open);
        assert!(matches!(b.route(t1 + COOL / 2).0, Route::Fallback { .. }));
        assert!(primary(&b, t1 + COOL));
    }
}
