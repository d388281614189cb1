//! In-process delivery of committed changes to watchers: one broadcast channel per watched run,
//! and one per watched project for changes of runs' root actions.
//!
//! The writer publishes each batch after its commit, in commit order. A channel holds the last
//! few changes only; a watcher that falls behind gets `Lagged` and re-reads the event log from
//! the last sequence it saw, so no watcher ever loses a change (DESIGN.md, principle 1). A
//! channel exists only while someone watches, so an unwatched commit costs one map lookup.

use crate::records::Change;
use aerie_core::{Project, RunId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// Changes buffered per watched run before a slow watcher lags (and re-reads the store).
const RUN_BUFFER: usize = 256;
/// Root changes buffered per watched project.
const PROJECT_BUFFER: usize = 1024;

/// Channels by key, swept of unwatched ones as the map grows.
#[derive(Debug)]
struct Channels<K> {
    senders: HashMap<K, broadcast::Sender<Arc<Change>>>,
    /// The size at which the next subscription sweeps out channels nobody reads.
    sweep_at: usize,
}

impl<K> Default for Channels<K> {
    fn default() -> Self {
        Self {
            senders: HashMap::new(),
            sweep_at: SWEEP_MIN,
        }
    }
}

/// Fewest channels kept before unwatched ones are swept out.
const SWEEP_MIN: usize = 1024;

impl<K: std::hash::Hash + Eq + Clone> Channels<K> {
    fn subscribe(&mut self, key: &K, capacity: usize) -> broadcast::Receiver<Arc<Change>> {
        if self.senders.len() >= self.sweep_at {
            self.senders.retain(|_, sender| sender.receiver_count() > 0);
            self.sweep_at = SWEEP_MIN.max(self.senders.len() * 2);
        }
        self.senders
            .entry(key.clone())
            .or_insert_with(|| broadcast::Sender::new(capacity))
            .subscribe()
    }

    fn send(&mut self, key: &K, change: &Arc<Change>) {
        if let Some(sender) = self.senders.get(key)
            && sender.send(Arc::clone(change)).is_err()
        {
            self.senders.remove(key);
        }
    }
}

/// Committed changes, fanned out to the watchers of their run and project.
#[derive(Debug, Default)]
pub struct ChangeHub {
    runs: Mutex<Channels<RunId>>,
    projects: Mutex<Channels<Project>>,
}

impl ChangeHub {
    /// Every change of `run` committed from now on.
    pub fn subscribe_run(&self, run: &RunId) -> broadcast::Receiver<Arc<Change>> {
        let mut runs = self.runs.lock().expect("change hub lock poisoned");
        runs.subscribe(run, RUN_BUFFER)
    }

    /// Every change of a root action in `project` committed from now on.
    pub fn subscribe_project(&self, project: &Project) -> broadcast::Receiver<Arc<Change>> {
        let mut projects = self.projects.lock().expect("change hub lock poisoned");
        projects.subscribe(project, PROJECT_BUFFER)
    }

    /// Hands a committed batch to its watchers, in commit order; drops channels nobody reads.
    pub(crate) fn publish(&self, changes: &[Arc<Change>]) {
        if changes.is_empty() {
            return;
        }
        {
            let mut runs = self.runs.lock().expect("change hub lock poisoned");
            if !runs.senders.is_empty() {
                for change in changes {
                    runs.send(&change.record.id.run, change);
                }
            }
        }
        let mut projects = self.projects.lock().expect("change hub lock poisoned");
        if !projects.senders.is_empty() {
            for change in changes.iter().filter(|change| change.run.is_some()) {
                projects.send(&change.record.id.run.project, change);
            }
        }
    }
}
