//! A map over a slice on up to `jobs` scoped threads, results in the slice's order.

use std::sync::atomic::{AtomicUsize, Ordering};

/// `f(i, &items[i])` for every item, on up to `jobs` threads (work taken one item at a time).
pub(crate) fn map<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    f: impl Fn(usize, &T) -> R + Sync,
) -> Vec<R> {
    let threads = jobs.clamp(1, items.len().max(1));
    if threads == 1 {
        return items.iter().enumerate().map(|(i, x)| f(i, x)).collect();
    }
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, R)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        out.push((i, f(i, item)));
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(out) => out,
                Err(payload) => std::panic::resume_unwind(payload),
            })
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_keep_the_order() {
        let xs: Vec<u64> = (0..100).collect();
        assert_eq!(
            super::map(&xs, 4, |i, x| (i as u64) + x),
            (0..100).map(|x| 2 * x).collect::<Vec<_>>()
        );
        assert_eq!(super::map(&xs[..0], 4, |_, x| *x), Vec::<u64>::new());
    }
}
