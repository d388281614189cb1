//! Where an action stands with the task cache: whether it was looked up, hit or stored, and
//! which attempt's outputs a hit reused.

use crate::id::ActionId;
use serde::{Deserialize, Serialize};

/// An action's cache outcome, as the wire's `CatalogCacheStatus` names them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheStatus {
    /// The task is not cacheable, or the action was not looked up yet.
    #[default]
    Disabled,
    /// Looked up and not found: the action runs.
    Miss,
    /// Found: the action ended with the entry's outputs and ran nothing.
    Hit,
    /// Ran after a miss (or an overwrite) and its outputs were stored.
    Populated,
    /// The lookup failed; the action ran anyway.
    LookupFailure,
    /// The run asked to overwrite the cache: no lookup, the action runs and replaces the entry.
    Skipped,
    /// The success could not be stored. aerie stores an entry in the transaction that records
    /// the success, so only other Flyte backends report this.
    PutFailure,
    /// The entry was evicted (reported by other Flyte backends).
    Evicted,
}

impl CacheStatus {
    pub fn is_disabled(&self) -> bool {
        *self == Self::Disabled
    }

    /// Whether the action runs and stores what it produces when it succeeds.
    pub fn stores_on_success(self) -> bool {
        matches!(self, Self::Miss | Self::Skipped | Self::LookupFailure)
    }
}

/// The attempt whose outputs a cache hit reused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheSource {
    pub action: ActionId,
    pub attempt: u32,
}
