//! Deterministic data parallelism over an index range with `std::thread::scope`.
//!
//! Work item `i` is always computed by `f(state, i)` and lands at position `i` of the output,
//! whatever the number of threads, so results never depend on the thread count.

use std::num::NonZeroUsize;

/// The most worker threads, whatever is asked for (results do not depend on the count).
const MAX_THREADS: usize = 256;

/// The number of worker threads for a requested count (`0` = the machine's available
/// parallelism), never more than `items` or [`MAX_THREADS`] and never less than one.
pub(crate) fn thread_count(requested: usize, items: usize) -> usize {
    let wanted = if requested == 0 {
        std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
    } else {
        requested
    };
    wanted.min(items).clamp(1, MAX_THREADS)
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
    let run_block = |t: usize| {
        let start = (t * block).min(count);
        let end = (start + block).min(count);
        let mut state = init();
        (start..end).map(|i| f(&mut state, i)).collect::<Vec<T>>()
    };
    std::thread::scope(|scope| {
        // A thread that cannot be started (a process or memory limit) is not a panic: its
        // block runs on this thread instead, with the same result.
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let run_block = &run_block;
                std::thread::Builder::new()
                    .spawn_scoped(scope, move || run_block(t))
                    .ok()
            })
            .collect();
        let mut out = Vec::with_capacity(count);
        for (t, handle) in handles.into_iter().enumerate() {
            match handle {
                // A panic can only come from a caller-supplied closure: hand it back unchanged.
                Some(handle) => out.extend(
                    handle
                        .join()
                        .unwrap_or_else(|p| std::panic::resume_unwind(p)),
                ),
                None => out.extend(run_block(t)),
            }
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
        for t in [2, 3, 7, 200, usize::MAX] {
            let many = super::map(103, t, || 0_usize, |_, i| i * i);
            assert_eq!(one, many);
        }
        assert!(super::map(0, 4, || (), |(), i| i).is_empty());
    }
}
