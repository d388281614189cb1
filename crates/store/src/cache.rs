//! The recently written actions, kept in memory so that hot reads (a client polling an
//! action, a watch starting) never reach the database.
//!
//! # Contract
//! Only the writer fills the cache, right after a commit and before any reply: every action it
//! inserts or changes is stored here as committed, so a cached record is never older than the
//! database's at the moment a reply could have told anyone about a newer one. Readers never
//! insert (a reader's row could be older than a change committed meanwhile). The oldest
//! written actions are evicted first once [`CAPACITY`] is reached; a miss reads the database.
//! A store shared by several nodes keeps no cache ([`ActionCache::disabled`]): another node's
//! commit would leave it stale.

use crate::records::ActionRecord;
use aerie_core::ActionId;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// Most actions kept.
const CAPACITY: usize = 4096;

/// One cached action: its record as committed and the wire spec it was created from.
#[derive(Debug, Clone)]
pub(crate) struct CachedAction {
    pub record: ActionRecord,
    pub wire_spec: Arc<[u8]>,
}

#[derive(Debug, Default)]
struct Entries {
    actions: HashMap<ActionId, CachedAction>,
    /// Insertion order, for eviction.
    order: VecDeque<ActionId>,
}

/// Recently written actions.
#[derive(Debug)]
pub(crate) struct ActionCache {
    entries: Mutex<Entries>,
    capacity: usize,
}

impl Default for ActionCache {
    fn default() -> Self {
        Self {
            entries: Mutex::default(),
            capacity: CAPACITY,
        }
    }
}

impl ActionCache {
    /// A cache that keeps nothing: every read goes to the database.
    pub fn disabled() -> Self {
        Self {
            entries: Mutex::default(),
            capacity: 0,
        }
    }

    /// The cached action `id`, if it is among the recently written.
    pub fn get(&self, id: &ActionId) -> Option<CachedAction> {
        let entries = self.entries.lock().expect("action cache lock poisoned");
        entries.actions.get(id).cloned()
    }

    /// Stores a newly inserted action (writer only, after its commit).
    pub fn inserted(&self, record: ActionRecord, wire_spec: Arc<[u8]>) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.entries.lock().expect("action cache lock poisoned");
        let id = record.id.clone();
        if entries
            .actions
            .insert(id.clone(), CachedAction { record, wire_spec })
            .is_none()
        {
            entries.order.push_back(id);
        }
        while entries.order.len() > self.capacity {
            if let Some(oldest) = entries.order.pop_front() {
                entries.actions.remove(&oldest);
            }
        }
    }

    /// Replaces the record of a changed action, if cached (writer only, after its commit).
    pub fn changed(&self, record: &ActionRecord) {
        let mut entries = self.entries.lock().expect("action cache lock poisoned");
        if let Some(cached) = entries.actions.get_mut(&record.id)
            && cached.record.version < record.version
        {
            cached.record = record.clone();
        }
    }
}
