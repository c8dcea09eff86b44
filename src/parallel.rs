//! Independent inputs worked on at once, results in the inputs' order.
//!
//! A fleet audit checks thousands of pipelines that share nothing, and the
//! machines it runs on (a laptop, a CI runner) have several cores: like
//! ruff and ripgrep, the tool spreads them over one thread per core
//! (`--threads` limits it). Items are handed out in their order from one
//! queue, so the first ones finish first (which [`crate::discover`] relies
//! on to skip files an earlier pipeline includes), and the results are put
//! back in that order: what a run prints does not depend on the threads.
//!
//! std's scoped threads are enough: no work stealing is needed when the
//! items are whole files, and a crate such as rayon would add a thread pool
//! for this one loop.

use std::num::NonZeroUsize;
use std::sync::Mutex;

/// The stack of each helper thread: the main thread's usual 8 MiB, so that
/// an input the sequential run reads is read alike on any thread (std's
/// default for a new thread is 2 MiB).
const STACK_BYTES: usize = 8 << 20;

/// One thread per core, the default of `--threads`.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// `work(index, item)` for every item, on up to `threads` threads (the
/// calling one included), and the results in the items' order. With one
/// thread, or one item, nothing is spawned.
pub fn map<I, R, W>(items: Vec<I>, threads: usize, work: W) -> Vec<R>
where
    I: Send,
    R: Send,
    W: Fn(usize, I) -> R + Sync,
{
    let threads = threads.clamp(1, items.len().max(1));
    if threads == 1 {
        return items
            .into_iter()
            .enumerate()
            .map(|(index, item)| work(index, item))
            .collect();
    }
    let count = items.len();
    let queue = Mutex::new(items.into_iter().enumerate());
    let run = || {
        let mut done = Vec::new();
        loop {
            // The lock is held only to take the next item.
            let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
            let Some((index, item)) = next else {
                return done;
            };
            done.push((index, work(index, item)));
        }
    };
    let finished: Vec<Vec<(usize, R)>> = std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads)
            .map(|_| {
                std::thread::Builder::new()
                    .stack_size(STACK_BYTES)
                    .spawn_scoped(scope, run)
            })
            .collect();
        // A thread the system will not give is work the others do.
        let mut finished = vec![run()];
        for helper in helpers.into_iter().flatten() {
            match helper.join() {
                Ok(done) => finished.push(done),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        finished
    });
    let mut slots: Vec<Option<R>> = std::iter::repeat_with(|| None).take(count).collect();
    for (index, result) in finished.into_iter().flatten() {
        slots[index] = Some(result);
    }
    slots
        .into_iter()
        .map(|result| result.expect("every item is taken from the queue once"))
        .collect()
}

/// `work` on a new scoped thread with the main thread's stack
/// ([`STACK_BYTES`]), for a helper that takes part of one file's work: it
/// reads what the main thread would, however deeply nested. As
/// `std::thread::scope`'s own `spawn`, a thread the system will not give is
/// a panic.
pub fn spawn_scoped<'scope, T: Send + 'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    work: impl FnOnce() -> T + Send + 'scope,
) -> std::thread::ScopedJoinHandle<'scope, T> {
    std::thread::Builder::new()
        .stack_size(STACK_BYTES)
        .spawn_scoped(scope, work)
        .expect("the system gives a second thread")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_items_order() {
        for threads in [1, 2, 3, 8] {
            let items: Vec<u64> = (0..500).collect();
            let results = map(items, threads, |index, item| {
                // Uneven work, so that threads finish out of order.
                std::hint::black_box((0..(item % 7) * 1000).sum::<u64>());
                (index, item * 2)
            });
            let expected: Vec<(usize, u64)> = (0..500).map(|i| (i, i as u64 * 2)).collect();
            assert_eq!(results, expected, "{threads} threads");
        }
    }

    #[test]
    fn no_items_and_more_threads_than_items() {
        assert!(map(Vec::<u8>::new(), 4, |_, item| item).is_empty());
        assert_eq!(map(vec!['a', 'b'], 16, |_, c| c), vec!['a', 'b']);
    }
}
