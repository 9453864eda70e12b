//! An ordered parallel map: items made on one thread, worked on a thread pool, their
//! results handed on in the order the items were made, with a bounded number in flight.
//!
//! The archive job reads (and inflates) its inputs on one thread, scans their chunks on
//! every core and writes the hits in input order: this is that shape, and nothing about
//! files. Memory stays bounded because the producer blocks once `window` items are made
//! and not yet consumed.

use std::collections::BTreeMap;
use std::sync::mpsc::{self, Receiver};

/// Runs `produce` on the calling thread, `work` on a pool of `threads` threads, and
/// `consume` on one more thread, which gets every result in the order its item was
/// produced. `produce` calls the function it is given once per item, which returns
/// `false` when the consumer has stopped (then produce should stop too).
///
/// At most `window` items are in flight between producer and consumer; `threads` and
/// `window` are at least 1.
///
pub(crate) fn ordered_map<I, R, C>(
    threads: usize,
    window: usize,
    produce: impl FnOnce(&mut dyn FnMut(I) -> bool),
    work: impl Fn(I) -> R + Sync,
    consume: C,
) -> C::Output
where
    I: Send,
    R: Send,
    C: Consumer<R> + Send,
    C::Output: Send,
{
    let window = window.max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .thread_name(|i| format!("vedette-scan-{i}"))
        .build()
        .expect("a thread pool can be made");
    // Results flow to the consumer; `tokens` holds one slot per item in flight, taken by
    // the producer before it makes one and given back by the consumer after it is used.
    let (results_tx, results_rx) = mpsc::channel::<(u64, R)>();
    let (tokens_tx, tokens_rx) = mpsc::sync_channel::<()>(window);
    std::thread::scope(|scope| {
        let consumer = scope.spawn(move || drain_in_order(results_rx, tokens_rx, consume));
        let work = &work;
        pool.in_place_scope(|pool_scope| {
            let mut seq = 0u64;
            let mut send = |item: I| -> bool {
                if tokens_tx.send(()).is_err() {
                    return false;
                }
                let results = results_tx.clone();
                let at = seq;
                seq += 1;
                pool_scope.spawn(move |_| {
                    // A consumer that stopped early no longer wants results.
                    let _ = results.send((at, work(item)));
                });
                true
            };
            produce(&mut send);
        });
        drop(results_tx);
        drop(tokens_tx);
        consumer.join().expect("the consumer does not panic")
    })
}

/// What gets the results of [`ordered_map`], in order, on its own thread.
pub(crate) trait Consumer<R> {
    type Output;
    /// One result; `false` stops the run (the producer's next item is refused).
    fn take(&mut self, result: R) -> bool;
    fn finish(self) -> Self::Output;
}

fn drain_in_order<R, C: Consumer<R>>(
    results: Receiver<(u64, R)>,
    tokens: Receiver<()>,
    mut consume: C,
) -> C::Output {
    let mut next = 0u64;
    let mut early: BTreeMap<u64, R> = BTreeMap::new();
    let mut stopped = false;
    for (seq, result) in results.iter() {
        early.insert(seq, result);
        while let Some(result) = early.remove(&next) {
            next += 1;
            if !stopped && !consume.take(result) {
                stopped = true;
            }
            if !stopped {
                // Give the slot back; after a stop, holding slots makes the producer's
                // sends fail once every slot is taken and this receiver is gone.
                let _ = tokens.recv();
            }
        }
        if stopped {
            break;
        }
    }
    drop(tokens);
    consume.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Results handed to a closure.
    struct Each<F>(F);

    impl<R, F: FnMut(R) -> bool> Consumer<R> for Each<F> {
        type Output = ();
        fn take(&mut self, result: R) -> bool {
            (self.0)(result)
        }
        fn finish(self) {}
    }
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn results_come_in_order_for_any_pool_and_window() {
        for (threads, window) in [(1, 1), (1, 8), (2, 1), (2, 3), (4, 16)] {
            let mut out = Vec::new();
            ordered_map(
                threads,
                window,
                |send| {
                    for i in 0..200u64 {
                        assert!(send(i));
                    }
                },
                // Later items finish first: the consumer must reorder them.
                |i| {
                    std::thread::sleep(std::time::Duration::from_micros((200 - i) * 5));
                    i * i
                },
                Each(|sq| {
                    out.push(sq);
                    true
                }),
            );
            assert_eq!(
                out,
                (0..200u64).map(|i| i * i).collect::<Vec<_>>(),
                "{threads} threads, window {window}"
            );
        }
    }

    #[test]
    fn no_more_than_window_items_are_in_flight() {
        let in_flight = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        ordered_map(
            2,
            3,
            |send| {
                for i in 0..100 {
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    send(i);
                }
            },
            |i| i,
            Each(|_| {
                in_flight.fetch_sub(1, Ordering::SeqCst);
                true
            }),
        );
        // The producer counts an item before its slot is free: one more than the window.
        assert!(most.load(Ordering::SeqCst) <= 4, "{} in flight", most.load(Ordering::SeqCst));
    }

    #[test]
    fn a_stopped_consumer_stops_the_producer() {
        let mut taken = 0;
        let mut refused_at = None;
        ordered_map(
            2,
            2,
            |send| {
                for i in 0..1000 {
                    if !send(i) {
                        refused_at = Some(i);
                        return;
                    }
                }
            },
            |i| i,
            Each(|_| {
                taken += 1;
                taken < 5
            }),
        );
        assert_eq!(taken, 5);
        assert!(refused_at.is_some_and(|i| i < 20), "refused at {refused_at:?}");
    }
}
