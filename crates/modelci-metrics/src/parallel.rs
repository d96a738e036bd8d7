//! Deterministic data parallelism over an index range with `std::thread::scope`.
//!
//! Work item `i` is always computed by `f(state, i)` and lands at position `i` of the output,
//! whatever the number of threads, so results never depend on the thread count.

use std::num::NonZeroUsize;

/// The number of worker threads for a requested count (`0` = the machine's available
/// parallelism), never more than `items` and never less than one.
pub(crate) fn thread_count(requested: usize, items: usize) -> usize {
    let wanted = if requested == 0 {
        std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
    } else {
        requested
    };
    wanted.min(items).max(1)
}

/// `(0..count).map(|i| f(&mut state, i))` with one `state` (from `init`) per thread, each thread
/// taking a contiguous block of indices.
pub(crate) fn map<S, T, I, F>(count: usize, threads: usize, init: I, f: F) -> Vec<T>
where
    I: Fn() -> S + Sync,
    F: Fn(&mut S, usize) -> T + Sync,
    T: Send,
{
    let threads = thread_count(threads, count);
    if threads <= 1 {
        let mut state = init();
        return (0..count).map(|i| f(&mut state, i)).collect();
    }
    let block = count.div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (init, f) = (&init, &f);
                scope.spawn(move || {
                    let start = (t * block).min(count);
                    let end = (start + block).min(count);
                    let mut state = init();
                    (start..end).map(|i| f(&mut state, i)).collect::<Vec<T>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(count);
        for handle in handles {
            // A panic can only come from a caller-supplied closure: hand it back unchanged.
            out.extend(
                handle
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p)),
            );
        }
        out
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn same_result_for_any_thread_count() {
        let one = super::map(
            103,
            1,
            || 0_usize,
            |s, i| {
                *s += 1;
                i * i
            },
        );
        for t in [2, 3, 7, 200] {
            let many = super::map(103, t, || 0_usize, |_, i| i * i);
            assert_eq!(one, many);
        }
        assert!(super::map(0, 4, || (), |(), i| i).is_empty());
    }
}
