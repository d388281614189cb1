//! The recently written actions, kept in memory so that hot reads (a client polling an
//! action, a watch starting) never reach the database.
//!
//! # Contract
//! Only the writer fills the cache, right after a commit and before any reply: every action it
//! inserts or changes is stored here as committed, so a cached record is never older than the
//! database's at the moment a reply could have told anyone about a newer one. Readers never
//! insert (a reader's row could be older than a change committed meanwhile). The oldest
//! written actions are evicted first once [`CAPACITY`] is reached; a miss reads the database.

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
#[derive(Debug, Default)]
pub(crate) struct ActionCache {
    entries: Mutex<Entries>,
}

impl ActionCache {
    /// The cached action `id`, if it is among the recently written.
    pub fn get(&self, id: &ActionId) -> Option<CachedAction> {
        let entries = self.entries.lock().expect("action cache lock poisoned");
        entries.actions.get(id).cloned()
    }

    /// Stores a newly inserted action (writer only, after its commit).
    pub fn inserted(&self, record: ActionRecord, wire_spec: Arc<[u8]>) {
        let mut entries = self.entries.lock().expect("action cache lock poisoned");
        let id = record.id.clone();
        if entries
            .actions
            .insert(id.clone(), CachedAction { record, wire_spec })
            .is_none()
        {
            entries.order.push_back(id);
        }
        while entries.order.len() > CAPACITY {
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
