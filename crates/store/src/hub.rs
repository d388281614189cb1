//! In-process delivery of committed changes to watchers: one broadcast channel per watched run,
//! and one per watched project for changes of runs' root actions.
//!
//! The writer publishes each batch after its commit, in commit order. A channel holds the last
//! few changes only; a watcher that falls behind gets `Lagged` and re-reads the event log from
//! the last sequence it saw, so no watcher ever loses a change (DESIGN.md, principle 1). A
//! channel exists only while someone watches, so an unwatched commit costs one map lookup.
//!
//! With several nodes on one database, a change committed on another node arrives as a bare
//! notice ([`Received::Elsewhere`]): the watcher re-reads the event log from its last sequence,
//! as after a lag (see `crate::cluster`).

use crate::records::Change;
use aerie_core::{Project, RunId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};

/// What goes down a channel: a change committed here, or word that one was committed on
/// another node.
#[derive(Debug, Clone)]
enum Signal {
    Committed(Arc<Change>),
    Elsewhere,
}

/// What a watcher receives next.
#[derive(Debug)]
pub enum Received {
    /// A change committed by this node, in commit order.
    Committed(Arc<Change>),
    /// Changes the watcher has not seen were committed meanwhile (it fell behind, or another
    /// node committed them): re-read the event log from the last sequence seen.
    Reread,
    /// The store is gone.
    Closed,
}

/// One watcher's feed of committed changes.
#[derive(Debug)]
pub struct Subscription {
    signals: broadcast::Receiver<Signal>,
}

impl Subscription {
    /// The next change, or word to re-read.
    pub async fn recv(&mut self) -> Received {
        match self.signals.recv().await {
            Ok(Signal::Committed(change)) => Received::Committed(change),
            Ok(Signal::Elsewhere) | Err(RecvError::Lagged(_)) => Received::Reread,
            Err(RecvError::Closed) => Received::Closed,
        }
    }

    /// What has already arrived, without waiting; `None` when nothing has.
    pub fn try_recv(&mut self) -> Option<Received> {
        match self.signals.try_recv() {
            Ok(Signal::Committed(change)) => Some(Received::Committed(change)),
            Ok(Signal::Elsewhere) | Err(TryRecvError::Lagged(_)) => Some(Received::Reread),
            Err(TryRecvError::Closed) => Some(Received::Closed),
            Err(TryRecvError::Empty) => None,
        }
    }
}

/// Changes buffered per watched run before a slow watcher lags (and re-reads the store).
const RUN_BUFFER: usize = 256;
/// Root changes buffered per watched project.
const PROJECT_BUFFER: usize = 1024;

/// Channels by key, swept of unwatched ones as the map grows.
#[derive(Debug)]
struct Channels<K> {
    senders: HashMap<K, broadcast::Sender<Signal>>,
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
    fn subscribe(&mut self, key: &K, capacity: usize) -> broadcast::Receiver<Signal> {
        if self.senders.len() >= self.sweep_at {
            self.senders.retain(|_, sender| sender.receiver_count() > 0);
            self.sweep_at = SWEEP_MIN.max(self.senders.len() * 2);
        }
        self.senders
            .entry(key.clone())
            .or_insert_with(|| broadcast::Sender::new(capacity))
            .subscribe()
    }

    fn send(&mut self, key: &K, signal: Signal) {
        if let Some(sender) = self.senders.get(key)
            && sender.send(signal).is_err()
        {
            self.senders.remove(key);
        }
    }

    fn send_everywhere(&mut self) {
        self.senders
            .retain(|_, sender| sender.send(Signal::Elsewhere).is_ok());
    }
}

/// Committed changes, fanned out to the watchers of their run and project.
#[derive(Debug, Default)]
pub struct ChangeHub {
    runs: Mutex<Channels<RunId>>,
    projects: Mutex<Channels<Project>>,
    /// Woken by every other node's commit (the engine looks for work it queued).
    elsewhere: Notify,
    /// Whether the other nodes' notices can reach this node now (always, for a store that is
    /// not shared).
    deaf: AtomicBool,
}

impl ChangeHub {
    /// Every change of `run` committed from now on.
    pub fn subscribe_run(&self, run: &RunId) -> Subscription {
        let mut runs = self.runs.lock().expect("change hub lock poisoned");
        Subscription {
            signals: runs.subscribe(run, RUN_BUFFER),
        }
    }

    /// Every change of a root action in `project` committed from now on.
    pub fn subscribe_project(&self, project: &Project) -> Subscription {
        let mut projects = self.projects.lock().expect("change hub lock poisoned");
        Subscription {
            signals: projects.subscribe(project, PROJECT_BUFFER),
        }
    }

    /// Returns once another node committed something since the last call.
    pub async fn committed_elsewhere(&self) {
        self.elsewhere.notified().await;
    }

    /// Whether this node hears the other nodes' commits now (false while the listening
    /// connection is down).
    pub fn listening(&self) -> bool {
        !self.deaf.load(Ordering::Acquire)
    }

    pub(crate) fn set_listening(&self, listening: bool) {
        self.deaf.store(!listening, Ordering::Release);
    }

    /// Tells the watchers of `run` (and, for a root change, of its project) that another node
    /// committed a change to it.
    pub(crate) fn publish_elsewhere(&self, run: &RunId, root_changed: bool) {
        self.elsewhere.notify_one();
        self.runs
            .lock()
            .expect("change hub lock poisoned")
            .send(run, Signal::Elsewhere);
        if root_changed {
            self.projects
                .lock()
                .expect("change hub lock poisoned")
                .send(&run.project, Signal::Elsewhere);
        }
    }

    /// Tells every watcher to re-read: notices from other nodes may have been lost.
    pub(crate) fn publish_everywhere(&self) {
        self.elsewhere.notify_one();
        self.runs
            .lock()
            .expect("change hub lock poisoned")
            .send_everywhere();
        self.projects
            .lock()
            .expect("change hub lock poisoned")
            .send_everywhere();
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
                    runs.send(&change.record.id.run, Signal::Committed(Arc::clone(change)));
                }
            }
        }
        let mut projects = self.projects.lock().expect("change hub lock poisoned");
        if !projects.senders.is_empty() {
            for change in changes.iter().filter(|change| change.run.is_some()) {
                projects.send(
                    &change.record.id.run.project,
                    Signal::Committed(Arc::clone(change)),
                );
            }
        }
    }
}
