//! The fault switch of one primary model (`POST /faults`, only with `--enable-faults`): make it
//! fail, or answer late, so that deadlines, the breaker and the fallback can be exercised.
//! Read without a lock on every request.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// The longest delay the switch accepts (10 minutes).
pub(crate) const MAX_DELAY_MS: u64 = 600_000;

/// A fault as set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Fault {
    /// Every inference of the primary fails.
    pub fail: bool,
    /// Every inference of the primary starts this late (the delay holds its bulkhead slot).
    pub delay_ms: u64,
    /// Every inference of the primary fails as ONNX Runtime's CUDA provider does when the GPU
    /// is out of memory (the failure counts for the breaker, like any other).
    pub gpu_oom: bool,
}

impl Fault {
    pub(crate) fn is_active(self) -> bool {
        self.fail || self.delay_ms > 0 || self.gpu_oom
    }

    pub(crate) fn delay(self) -> Duration {
        Duration::from_millis(self.delay_ms)
    }
}

/// One model's switch.
#[derive(Debug, Default)]
pub(crate) struct FaultSwitch {
    fail: AtomicBool,
    delay_ms: AtomicU64,
    gpu_oom: AtomicBool,
}

impl FaultSwitch {
    pub(crate) fn set(&self, fault: Fault) {
        self.fail.store(fault.fail, Ordering::Release);
        self.gpu_oom.store(fault.gpu_oom, Ordering::Release);
        self.delay_ms
            .store(fault.delay_ms.min(MAX_DELAY_MS), Ordering::Release);
    }

    pub(crate) fn get(&self) -> Fault {
        Fault {
            fail: self.fail.load(Ordering::Acquire),
            delay_ms: self.delay_ms.load(Ordering::Acquire),
            gpu_oom: self.gpu_oom.load(Ordering::Acquire),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_and_clear() {
        let s = FaultSwitch::default();
        assert!(!s.get().is_active());
        s.set(Fault {
            fail: false,
            delay_ms: u64::MAX,
            gpu_oom: false,
        });
        assert_eq!(s.get().delay_ms, MAX_DELAY_MS);
        assert!(s.get().is_active());
        s.set(Fault::default());
        assert_eq!(s.get(), Fault::default());
        s.set(Fault {
            gpu_oom: true,
            ..Fault::default()
        });
        assert!(s.get().is_active() && s.get().gpu_oom);
    }
}
