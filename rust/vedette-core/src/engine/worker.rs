//! The background compactor: one thread per engine, started by its first publish, that
//! compacts once the pending changes pass the threshold, or once updates have paused for
//! [`EngineOptions::compact_idle`](super::EngineOptions::compact_idle) with any pending:
//! feeds come in bursts, and between them readers then scan one index again, not two.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use super::shared::{lock, Shared};

#[derive(Default)]
pub(super) struct Worker {
    signal: Mutex<Signal>,
    wake: Condvar,
    thread: Mutex<Option<JoinHandle<()>>>,
}

#[derive(Default)]
struct Signal {
    /// A publish happened since the worker last looked.
    published: bool,
    /// When the last publish happened, until the worker has looked after the pause.
    last_publish: Option<Instant>,
    stop: bool,
}

/// Why the worker woke.
enum Wake {
    Published,
    Idle,
}

impl Worker {
    /// Tells the worker of a publish, starting it the first time.
    pub(super) fn published(shared: &Arc<Shared>) {
        if !shared.options.background_compaction {
            return;
        }
        let worker = &shared.worker;
        {
            let mut signal = lock(&worker.signal);
            if signal.stop {
                return;
            }
            signal.published = true;
            signal.last_publish = Some(Instant::now());
        }
        worker.wake.notify_one();
        let mut thread = lock(&worker.thread);
        if thread.is_none() {
            let shared = Arc::clone(shared);
            let spawned =
                std::thread::Builder::new().name("vedette-compact".into()).spawn(move || run(&shared));
            *thread = spawned.ok();
        }
    }

    /// Stops the worker after the compaction it runs, if any; its thread, to join.
    pub(super) fn stop(&self) -> Option<JoinHandle<()>> {
        lock(&self.signal).stop = true;
        self.wake.notify_one();
        lock(&self.thread).take()
    }
}

fn run(shared: &Shared) {
    let idle = shared.options.compact_idle;
    while let Some(wake) = wait(&shared.worker, idle) {
        let due = {
            let state = lock(&shared.state);
            let pending = Shared::pending(&state);
            match wake {
                Wake::Published => pending > shared.threshold(&state),
                Wake::Idle => pending > 0,
            }
        };
        if due {
            // A failure is kept in the status; the next publish tries again.
            let _ = shared.compact();
        }
    }
}

/// Waits for a publish, or for the pause after the last one; `None` once stopped.
fn wait(worker: &Worker, idle: std::time::Duration) -> Option<Wake> {
    let mut signal = lock(&worker.signal);
    loop {
        if signal.stop {
            return None;
        }
        if std::mem::take(&mut signal.published) {
            return Some(Wake::Published);
        }
        signal = match signal.last_publish {
            Some(at) if at.elapsed() >= idle => {
                signal.last_publish = None;
                return Some(Wake::Idle);
            }
            Some(at) => {
                let (signal, _) =
                    worker.wake.wait_timeout(signal, idle - at.elapsed()).unwrap_or_else(|e| e.into_inner());
                signal
            }
            None => worker.wake.wait(signal).unwrap_or_else(|e| e.into_inner()),
        };
    }
}
