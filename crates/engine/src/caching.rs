//! The task cache, from the engine's side: looks a cacheable action up once before its first
//! attempt, ends a hit SUCCEEDED with the cached outputs (no process starts), holds back an
//! action whose serialized twin is already running, and builds the entry a success stores.
//!
//! # Contract
//! - The lookup happens once: its outcome is recorded in the action's state (MISS, SKIPPED for
//!   an overwrite, LOOKUP_FAILURE), and retries never look up again.
//! - A hit copies the entry's `outputs.pb` into the action's own first attempt, so every reader
//!   (the parent's watch, `GetActionData`) finds the outputs where an attempt leaves them, and
//!   lets the run read the data of the run that made them (the files the outputs name).
//! - The entry of a success is written in the transaction that records SUCCEEDED
//!   ([`aerie_store::Store::update_action_storing`]); failures are never stored.
//! - Serialized caching (`Cache(serialize=True)`): of identical actions that miss, the first
//!   runs and the others wait in WAITING_FOR_RESOURCES (reason `WaitingForCache`) until it ends,
//!   then look up again. Who runs is kept in memory (after a restart the first to be looked at
//!   again runs), or in the database when nodes share it, so twins on different nodes wait too.

use crate::{Inner, outputs};
use aerie_blob::ActionLayout;
use aerie_core::{ActionId, ActionPhase, CacheSource, CacheStatus, Timestamp, WaitReason};
use aerie_store::{ActionRecord, CacheEntry, CacheScope, StoreError};
use std::sync::Arc;
use tracing::{info, warn};

/// The wait reason code of an action waiting for its serialized twin.
const WAITING_FOR_CACHE: &str = "WaitingForCache";

/// The run settings a cache lookup follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RunCacheSettings {
    /// Run and replace the entry instead of looking up.
    pub overwrite: bool,
    pub scope: CacheScope,
}

/// What the cache decided for an action that is about to start.
pub(crate) enum Decision {
    /// Start it (the held record, with the lookup's outcome recorded).
    Run(ActionRecord),
    /// It ended: the cache had its outputs.
    Hit,
    /// Its serialized twin runs; look again when that ends.
    Wait(ActionRecord, WaitReason),
    /// It changed meanwhile (aborted, taken); leave it.
    Gone,
}

/// Decides, once per action, whether `action` runs or is answered from the cache.
pub(crate) async fn before_first_attempt(
    inner: &Arc<Inner>,
    action: ActionRecord,
    settings: RunCacheSettings,
) -> Decision {
    let Some(cache) = action
        .spec
        .cache
        .as_ref()
        .filter(|cache| !cache.key.is_empty())
    else {
        return Decision::Run(action);
    };
    if action.state.cache_status != CacheStatus::Disabled || action.state.attempts.len() > 1 {
        return Decision::Run(action);
    }
    let key = cache.key.clone();
    if settings.overwrite {
        return record_lookup(inner, action, CacheStatus::Skipped).await;
    }
    let run = &action.id.run;
    let not_before = cache
        .max_age
        .map(|age| Timestamp::from_micros(Timestamp::now().as_micros() - micros(age)));
    let found = inner
        .store
        .cache_lookup(
            &key,
            settings.scope,
            (&run.project, &run.domain),
            not_before,
        )
        .await;
    let entry = match found {
        Ok(entry) => entry,
        Err(err) => {
            warn!(run = %run, action = %action.id.name, error = %err, "looking up the task cache failed; the action runs");
            return record_lookup(inner, action, CacheStatus::LookupFailure).await;
        }
    };
    if let Some(entry) = entry {
        match reuse(inner, &action, &entry).await {
            Ok(true) => return Decision::Hit,
            Ok(false) => return Decision::Gone,
            // The entry's outputs cannot be read or copied: run and store anew.
            Err(reason) => {
                warn!(run = %run, action = %action.id.name, %reason, "a cache entry could not be reused; the action runs");
            }
        }
    } else if cache.serializable
        && let Some(owner) = running_twin(inner, &key, &action.id).await
    {
        let reason = WaitReason {
            code: WAITING_FOR_CACHE.into(),
            message: format!(
                "waiting for the cache to be populated by {}/{}",
                owner.run.name, owner.name
            ),
        };
        return Decision::Wait(action, reason);
    }
    record_lookup(inner, action, CacheStatus::Miss).await
}

fn micros(age: std::time::Duration) -> i64 {
    i64::try_from(age.as_micros()).unwrap_or(i64::MAX)
}

/// Records the lookup's outcome; the action then runs.
async fn record_lookup(inner: &Arc<Inner>, action: ActionRecord, status: CacheStatus) -> Decision {
    match inner
        .store
        .update_action(&action, move |state| state.looked_up(status))
        .await
    {
        Ok(record) => Decision::Run(record),
        Err(StoreError::Transition { .. }) => Decision::Gone,
        Err(err) => {
            // Run anyway: the outcome is only a record, and the success still stores.
            warn!(run = %action.id.run, action = %action.id.name, error = %err, "recording a cache lookup failed");
            Decision::Run(action)
        }
    }
}

/// Ends `action` with the outputs of `entry`: copies them into its first attempt, then records
/// SUCCEEDED with CACHE_HIT. `Ok(false)`: the action changed meanwhile; `Err`: the entry's
/// outputs cannot be read or copied.
async fn reuse(
    inner: &Arc<Inner>,
    action: &ActionRecord,
    entry: &CacheEntry,
) -> Result<bool, String> {
    let reader = &action.id.run;
    let source_run = &entry.source.action.run;
    if source_run != reader {
        // The outputs may name files of the run that made them.
        inner
            .store
            .grant_read(reader, source_run)
            .await
            .map_err(|err| err.to_string())?;
    }
    let source_outputs = format!("{}/outputs.pb", entry.outputs_prefix.trim_end_matches('/'));
    outputs::adopt(
        &inner.blobs,
        &source_outputs,
        &action.run_output_base,
        &action.id.name,
    )
    .await?;
    let source = entry.source.clone();
    let hit = inner
        .store
        .update_action(action, move |state| {
            state.hit_cache(source.clone(), Timestamp::now())
        })
        .await;
    match hit {
        Ok(_) => {
            info!(run = %action.id.run, action = %action.id.name, source = %entry.source.action, "cache hit");
            Ok(true)
        }
        Err(StoreError::Transition { .. }) => Ok(false),
        Err(err) => Err(err.to_string()),
    }
}

/// The action already running under `key` (serialized caching), if it is not `me` and has not
/// ended; otherwise `me` becomes the one that runs.
async fn running_twin(inner: &Arc<Inner>, key: &str, me: &ActionId) -> Option<ActionId> {
    if let Some(cluster) = inner.store.cluster() {
        return match cluster.cache_runner(key, me).await {
            Ok(runner) => runner,
            Err(err) => {
                warn!(run = %me.run, action = %me.name, error = %err, "claiming a cache key failed; the action runs");
                None
            }
        };
    }
    let owner = inner
        .cache_owners
        .lock()
        .expect("cache owners lock poisoned")
        .get(key)
        .cloned();
    if let Some(owner) = owner.filter(|owner| owner != me) {
        let ended = match inner.store.get_action(&owner).await {
            Ok(record) => record.phase().is_terminal(),
            Err(StoreError::NotFound(_)) => true,
            // Unknown: keep waiting, the next look decides.
            Err(_) => false,
        };
        if !ended {
            return Some(owner);
        }
    }
    inner
        .cache_owners
        .lock()
        .expect("cache owners lock poisoned")
        .insert(key.to_owned(), me.clone());
    None
}

/// Forgets `action` as the one running its key (it ended).
pub(crate) async fn release(inner: &Inner, action: &ActionRecord) {
    let serializable = action
        .spec
        .cache
        .as_ref()
        .is_some_and(|cache| cache.serializable);
    if !serializable {
        return;
    }
    if let Some(cluster) = inner.store.cluster() {
        if let Err(err) = cluster.release_cache_runs(&action.id).await {
            // The key is taken over once a twin finds this action ended.
            warn!(run = %action.id.run, action = %action.id.name, error = %err, "releasing a cache key failed");
        }
    } else {
        inner
            .cache_owners
            .lock()
            .expect("cache owners lock poisoned")
            .retain(|_, owner| owner != &action.id);
    }
}

/// The entry `held`'s current attempt stores if it succeeds, when it is to store one.
pub(crate) fn entry_on_success(held: &ActionRecord) -> Option<CacheEntry> {
    let cache = held
        .spec
        .cache
        .as_ref()
        .filter(|cache| !cache.key.is_empty())?;
    if !held.state.cache_status.stores_on_success() {
        return None;
    }
    let attempt = held.state.current_attempt().number;
    let run = &held.id.run;
    Some(CacheEntry {
        key: cache.key.clone(),
        project: run.project.clone(),
        domain: run.domain.clone(),
        task_name: held.spec.task.name.clone(),
        version: cache.version.clone(),
        outputs_prefix: ActionLayout::new(&held.run_output_base, &held.id.name)
            .attempt(attempt)
            .prefix()
            .to_owned(),
        source: CacheSource {
            action: held.id.clone(),
            attempt,
        },
        created_at: Timestamp::now(),
    })
}

/// Marks a success that stores its entry POPULATED (the state change of the same write).
pub(crate) fn mark_populated(state: &mut aerie_core::ActionState) {
    if state.phase == ActionPhase::Succeeded && state.cache_status.stores_on_success() {
        state.cache_status = CacheStatus::Populated;
    }
}
