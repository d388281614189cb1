//! In-memory wake-ups for watchers: after a commit the store bumps the run's counter.
//!
//! A wake-up carries no data; watchers re-read events from the store after their last sequence,
//! so a watcher that misses wake-ups or falls behind loses nothing (DESIGN.md, principle 1).

use aerie_core::RunId;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::watch;

/// Per-run change counters plus one for any change anywhere.
#[derive(Debug)]
pub struct ChangeHub {
    runs: Mutex<HashMap<RunId, watch::Sender<i64>>>,
    any: watch::Sender<u64>,
}

impl Default for ChangeHub {
    fn default() -> Self {
        Self {
            runs: Mutex::new(HashMap::new()),
            any: watch::Sender::new(0),
        }
    }
}

impl ChangeHub {
    /// A receiver that changes whenever an event of `run` is committed.
    pub fn subscribe_run(&self, run: &RunId) -> watch::Receiver<i64> {
        let mut runs = self.runs.lock().expect("change hub lock poisoned");
        runs.entry(run.clone())
            .or_insert_with(|| watch::Sender::new(0))
            .subscribe()
    }

    /// A receiver that changes whenever any event is committed.
    pub fn subscribe_any(&self) -> watch::Receiver<u64> {
        self.any.subscribe()
    }

    /// Wakes the watchers of `run`: its events up to `seq` are committed.
    pub(crate) fn committed(&self, run: &RunId, seq: i64) {
        {
            let mut runs = self.runs.lock().expect("change hub lock poisoned");
            if let Some(sender) = runs.get(run) {
                if sender.receiver_count() == 0 {
                    runs.remove(run);
                } else {
                    sender.send_if_modified(|last| {
                        let newer = seq > *last;
                        if newer {
                            *last = seq;
                        }
                        newer
                    });
                }
            }
        }
        self.any.send_modify(|count| *count += 1);
    }
}
