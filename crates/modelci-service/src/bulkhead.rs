//! The bulkhead of one model: at most `max_concurrency` inferences at once and `max_queue`
//! requests waiting for a slot, so that one model's load cannot take the threads, sessions and
//! memory that the other models need.
//!
//! A slot is a permit of a fair (first come, first served) semaphore. A request that finds no
//! free slot takes a place in the queue (a counter, bounded without a lock) or, when the queue
//! is full, is refused at once. The permit is moved into the inference itself and released when
//! the inference really ends, not when the request gives up at its deadline: an inference that
//! ONNX Runtime cannot interrupt still occupies its slot.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Why a request got no slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Every slot busy and the queue full.
    Full {
        max_concurrency: usize,
        max_queue: usize,
    },
    /// The deadline passed while waiting in the queue.
    Deadline,
}

/// See the module docs.
#[derive(Debug)]
pub(crate) struct Bulkhead {
    slots: Arc<Semaphore>,
    max_concurrency: usize,
    max_queue: usize,
    queued: AtomicUsize,
}

/// A place in the queue, given back when dropped (also when the waiting request is cancelled).
struct QueuePlace<'a>(&'a AtomicUsize);

impl Drop for QueuePlace<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Bulkhead {
    pub(crate) fn new(max_concurrency: usize, max_queue: usize) -> Bulkhead {
        let max_concurrency = max_concurrency.clamp(1, Semaphore::MAX_PERMITS);
        Bulkhead {
            slots: Arc::new(Semaphore::new(max_concurrency)),
            max_concurrency,
            max_queue,
            queued: AtomicUsize::new(0),
        }
    }

    /// A slot, waiting in the queue for one until `deadline` at the latest (for ever without
    /// one).
    pub(crate) async fn enter(
        &self,
        deadline: Option<Instant>,
    ) -> Result<OwnedSemaphorePermit, Refused> {
        if let Ok(permit) = Arc::clone(&self.slots).try_acquire_owned() {
            return Ok(permit);
        }
        let full = Refused::Full {
            max_concurrency: self.max_concurrency,
            max_queue: self.max_queue,
        };
        self.queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |q| {
                (q < self.max_queue).then_some(q + 1)
            })
            .map_err(|_| full)?;
        let _place = QueuePlace(&self.queued);
        let acquire = Arc::clone(&self.slots).acquire_owned();
        let acquired = match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline, acquire)
                .await
                .map_err(|_| Refused::Deadline)?,
            None => acquire.await,
        };
        // The semaphore is never closed; read it as full if it ever were.
        acquired.map_err(|_| full)
    }

    /// Inferences running now.
    #[cfg(test)]
    pub(crate) fn running(&self) -> usize {
        self.max_concurrency
            .saturating_sub(self.slots.available_permits())
    }

    /// Requests waiting now.
    pub(crate) fn queued(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }

    /// What to put in `Retry-After` when full: a second (the smallest value the header can
    /// say), more when the queue is long relative to the slots.
    pub(crate) fn retry_after(&self) -> Duration {
        let waves = (self.queued() / self.max_concurrency).clamp(1, 30);
        Duration::from_secs(waves as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refuses_beyond_slots_and_queue() {
        let b = Arc::new(Bulkhead::new(1, 1));
        let far = Some(Instant::now() + Duration::from_secs(10));
        let first = b.enter(far).await.expect("a free slot");
        assert_eq!(b.running(), 1);
        let waiter = {
            let b = Arc::clone(&b);
            tokio::spawn(async move { b.enter(far).await.map(drop) })
        };
        while b.queued() == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(
            b.enter(far).await.map(drop),
            Err(Refused::Full {
                max_concurrency: 1,
                max_queue: 1
            })
        );
        drop(first);
        assert_eq!(waiter.await.ok(), Some(Ok(())));
        assert_eq!((b.running(), b.queued()), (0, 0));
    }

    #[tokio::test]
    async fn waiting_ends_at_the_deadline_and_frees_the_place() {
        let b = Bulkhead::new(1, 4);
        let slot = b.enter(Some(Instant::now())).await.expect("a free slot");
        let soon = Some(Instant::now() + Duration::from_millis(20));
        assert_eq!(b.enter(soon).await.map(drop), Err(Refused::Deadline));
        assert_eq!(b.queued(), 0);
        drop(slot);
        assert!(b.enter(Some(Instant::now())).await.is_ok());
    }

    #[tokio::test]
    async fn a_zero_queue_refuses_whenever_busy() {
        let b = Bulkhead::new(2, 0);
        let far = Some(Instant::now() + Duration::from_secs(10));
        let _a = b.enter(far).await.expect("slot 1");
        let _b = b.enter(far).await.expect("slot 2");
        assert!(matches!(b.enter(far).await, Err(Refused::Full { .. })));
        assert_eq!(b.retry_after(), Duration::from_secs(1));
    }
}
