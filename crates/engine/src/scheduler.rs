//! The loop that takes queued task actions from the store and launches their attempts.
//!
//! The store is the queue: work survives a crash between "accepted" and "launched". The loop
//! wakes on new work, on a retry, and when an attempt ends while queued work was left waiting
//! (for capacity, or beyond one scan's batch); it also re-reads once a second, which picks up
//! anything a wake-up missed. A retry waiting out its backoff (`AttemptState::not_before`,
//! stored with the action, so the wait survives a restart) is left queued until it is due; one
//! that waited past its deadline or max_queued_time ends TIMED_OUT here. An action that may not
//! start yet (aerie's `--max-running` is reached, or its run's `max_action_concurrency`, which
//! counts every running action of the run, parents included) waits in WAITING_FOR_RESOURCES
//! with the reason, and starts in order when a slot frees. Before its first attempt a cacheable
//! action is looked up in the task cache (`caching`): a hit ends it without a slot. Each pass
//! also ends the paused conditions past their timeouts (`conditions`). When nodes share the
//! store, every node's loop scans the same queue and wakes on the others' commits too; an
//! attempt starts on the node whose claim on it wins (`ownership`).

use crate::caching::{self, Decision, RunCacheSettings};
use crate::recover_run::RecoverFrom;
use crate::{ActiveAttempt, Inner, attempt, conditions, ownership};
use aerie_core::spec::instant_after;
use aerie_core::{ActionKind, ActionPhase, ErrorInfo, Timestamp, Verdict, WaitReason};
use aerie_store::ActionRecord;
use aerie_store::CacheScope;
use aerie_wire::flyteidl2::common::RelationType;
use aerie_wire::flyteidl2::task::{CacheLookupScope, RunSpec};
use buffa::Message;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::watch;

/// How often the store is re-read without a wake-up.
const RESCAN_INTERVAL: Duration = Duration::from_secs(1);
/// Most queued actions read per page of a scan.
const SCAN_BATCH: u32 = 64;
/// Most pages one scan reads (past pages of actions held by their runs' limits).
const SCAN_PAGES: u32 = 16;
/// The wait reason code when aerie's `--max-running` is reached.
const SERVER_LIMIT: &str = "ServerConcurrencyLimit";
/// The wait reason code when a run's `max_action_concurrency` is reached.
const RUN_LIMIT: &str = "RunConcurrencyLimit";
/// Runs whose settings are remembered before the memory is cleared.
const RUN_SETTINGS_KEPT: usize = 10_000;

pub(crate) async fn run(inner: Arc<Inner>) {
    let mut wait = RESCAN_INTERVAL;
    // Conditions are looked at when one is due, and otherwise once a second, not on every
    // wake-up: new work wakes the loop often, and conditions do not change with it.
    let mut next_condition_scan = Timestamp::now();
    let mut condition_due: Option<Timestamp> = None;
    loop {
        tokio::select! {
            () = inner.cancel.cancelled() => return,
            () = inner.wake.notified() => {}
            () = inner.store.hub().committed_elsewhere() => {}
            () = tokio::time::sleep(wait) => {}
        }
        let queued_due = launch_queued(&inner).await.unwrap_or_else(|err| {
            tracing::warn!(error = %err, "scanning for queued work failed");
            None
        });
        let now = Timestamp::now();
        if now >= next_condition_scan || condition_due.is_some_and(|due| due <= now) {
            condition_due = conditions::time_out_overdue(&inner)
                .await
                .unwrap_or_else(|err| {
                    tracing::warn!(error = %err, "timing out conditions failed");
                    None
                });
            next_condition_scan = instant_after(now, RESCAN_INTERVAL);
        }
        // A retry waiting out its backoff, or a time limit, is looked at again when it is due.
        wait = queued_due
            .into_iter()
            .chain(condition_due)
            .min()
            .map_or(RESCAN_INTERVAL, |due| {
                due.since(Timestamp::now()).min(RESCAN_INTERVAL)
            });
    }
}

/// The instants the queued `action` runs out of time at: its deadline, and its attempt's
/// max_queued_time.
fn time_limits(action: &ActionRecord) -> impl Iterator<Item = Timestamp> {
    let deadline = action
        .spec
        .deadline
        .map(|limit| instant_after(action.state.created_at, limit));
    let queued = action
        .spec
        .queued_timeout
        .zip(action.state.queued_since())
        .map(|(limit, since)| instant_after(since, limit));
    deadline.into_iter().chain(queued)
}

/// Ends the queued `action`'s attempt TIMED_OUT with `error`: past the deadline the action
/// ends; past max_queued_time a retry follows while the policy allows. An action that moved on
/// meanwhile keeps its new phase.
async fn time_out_queued(inner: &Arc<Inner>, action: &ActionRecord, error: ErrorInfo) {
    let id = &action.id;
    let policy = action.spec.retry;
    let ended = inner
        .store
        .update_action(action, move |state| {
            state.conclude(&Verdict::TimedOut(error.clone()), &policy, Timestamp::now())
        })
        .await;
    match ended {
        Ok(_) => tracing::info!(run = %id.run, action = %id.name, "queued action ran out of time"),
        Err(aerie_store::StoreError::Transition { .. }) => {}
        Err(err) => {
            tracing::warn!(run = %id.run, action = %id.name, error = %err, "ending a queued action that ran out of time failed")
        }
    }
}

/// What the scheduler follows of a run's spec.
#[derive(Debug, Clone)]
pub(crate) struct RunSettings {
    /// `max_action_concurrency` (0 and unset mean none).
    pub concurrency: Option<u32>,
    pub cache: RunCacheSettings,
    /// For a recovery run: the earlier run it reuses.
    pub recover: Option<Arc<RecoverFrom>>,
}

impl RunSettings {
    fn from_spec(spec: &RunSpec) -> Self {
        let config = &*spec.cache_config;
        let scope = if config.cache_lookup_scope.as_known()
            == Some(CacheLookupScope::CACHE_LOOKUP_SCOPE_PROJECT_DOMAIN)
        {
            CacheScope::ProjectDomain
        } else {
            CacheScope::Global
        };
        Self {
            concurrency: Some(spec.max_action_concurrency).filter(|limit| *limit > 0),
            cache: RunCacheSettings {
                // The deprecated flag is the only one a trigger sends.
                overwrite: spec.overwrite_cache || config.overwrite_cache,
                scope,
            },
            recover: recover_from(spec).map(Arc::new),
        }
    }
}

/// The earlier run a recovery run (relation RECOVER) reuses.
fn recover_from(spec: &RunSpec) -> Option<RecoverFrom> {
    let relation = spec.relation.as_option()?;
    if relation.relation_type.as_known() != Some(RelationType::RELATION_TYPE_RECOVER) {
        return None;
    }
    let source = aerie_convert::run_id(relation.related_to.as_option()?).ok()?;
    Some(RecoverFrom {
        source,
        forced: spec.recover.force_rerun_actions.iter().cloned().collect(),
    })
}

/// The run's settings, read once per run (a run that cannot be read gets the defaults, and is
/// read again next time).
async fn run_settings(inner: &Arc<Inner>, action: &ActionRecord) -> RunSettings {
    let run = &action.id.run;
    if let Some(settings) = inner
        .run_settings
        .lock()
        .expect("run settings lock poisoned")
        .get(run)
    {
        return settings.clone();
    }
    let settings = match inner.store.get_run(run).await {
        Ok(record) => RunSettings::from_spec(
            &RunSpec::decode_from_slice(&record.run_spec).unwrap_or_default(),
        ),
        Err(err) => {
            tracing::warn!(run = %run, error = %err, "reading a run's settings failed");
            return RunSettings::from_spec(&RunSpec::default());
        }
    };
    let mut all = inner
        .run_settings
        .lock()
        .expect("run settings lock poisoned");
    if all.len() >= RUN_SETTINGS_KEPT {
        all.clear();
    }
    all.insert(run.clone(), settings.clone());
    settings
}

/// Moves a queued action that cannot start yet to WAITING_FOR_RESOURCES with `reason` (once;
/// one already waiting keeps its record).
async fn wait_for_resources(inner: &Arc<Inner>, action: &ActionRecord, reason: WaitReason) {
    if action.phase() != ActionPhase::Queued {
        return;
    }
    let moved = inner
        .store
        .update_action(action, move |state| {
            state.wait_for_resources(reason.clone(), Timestamp::now())
        })
        .await;
    if let Err(err) = moved
        && !matches!(err, aerie_store::StoreError::Transition { .. })
    {
        let id = &action.id;
        tracing::warn!(run = %id.run, action = %id.name, error = %err, "recording that an action waits failed");
    }
}

/// Where one queued action stands after a look at the capacity.
enum Admission {
    /// It has a slot; its attempt starts, and `exited` turns true when it is over.
    Admitted(watch::Sender<bool>),
    /// It already runs.
    Active,
    /// It must wait, for this reason.
    Wait(WaitReason),
}

/// Takes a slot for `action` if aerie's `--max-running` and its run's limit allow.
fn admit(inner: &Inner, action: &ActionRecord, run_limit: Option<u32>) -> Admission {
    let mut active = inner.active.lock().expect("active attempts lock poisoned");
    if active.contains_key(&action.id) {
        return Admission::Active;
    }
    let in_run = active.keys().filter(|id| id.run == action.id.run).count();
    if active.len() >= inner.config.max_running {
        return Admission::Wait(WaitReason {
            code: SERVER_LIMIT.into(),
            message: format!(
                "waiting for one of aerie's {} task slots (--max-running)",
                inner.config.max_running
            ),
        });
    }
    if let Some(limit) = run_limit.filter(|limit| in_run >= *limit as usize) {
        return Admission::Wait(WaitReason {
            code: RUN_LIMIT.into(),
            message: format!(
                "waiting for a run concurrency slot ({in_run} of max_action_concurrency {limit} in use)"
            ),
        });
    }
    let (exited_tx, exited_rx) = watch::channel(false);
    active.insert(
        action.id.clone(),
        ActiveAttempt {
            control: None,
            exited: exited_rx,
        },
    );
    Admission::Admitted(exited_tx)
}

/// Starts what is queued and due, as capacity allows, and ends what waited past its time;
/// returns when the earliest retry waiting out its backoff, or the earliest time limit, is due.
///
/// Actions are read oldest change first, a page at a time. A page whose actions all wait on
/// their runs' limits does not hide what comes after it: the next page is read too (up to
/// [`SCAN_PAGES`]), so one run at its limit never starves the others.
async fn launch_queued(inner: &Arc<Inner>) -> Result<Option<Timestamp>, aerie_store::StoreError> {
    let now = Timestamp::now();
    let mut earliest_waiting: Option<Timestamp> = None;
    for page in 0..SCAN_PAGES {
        let queued = inner
            .store
            .actions_in_phases(
                ActionKind::Task,
                &[ActionPhase::Queued, ActionPhase::WaitingForResources],
                SCAN_BATCH,
                u64::from(page) * u64::from(SCAN_BATCH),
            )
            .await?;
        let full = queued.len() >= SCAN_BATCH as usize;
        let mut server_full = false;
        let mut admitted = Vec::new();
        for action in queued {
            if let Some(error) =
                action
                    .spec
                    .out_of_time(action.state.created_at, action.state.queued_since(), now)
            {
                time_out_queued(inner, &action, error).await;
                continue;
            }
            let backoff = action.state.current_attempt().not_before;
            for due in time_limits(&action).chain(backoff).filter(|due| *due > now) {
                earliest_waiting = Some(earliest_waiting.map_or(due, |earliest| earliest.min(due)));
            }
            if backoff.is_some_and(|due| due > now) {
                continue;
            }
            let settings = run_settings(inner, &action).await;
            let action = match caching::before_first_attempt(inner, action, settings.cache).await {
                Decision::Run(action) => action,
                Decision::Hit | Decision::Gone => continue,
                Decision::Wait(action, reason) => {
                    inner.backlog.store(true, Ordering::Release);
                    wait_for_resources(inner, &action, reason).await;
                    continue;
                }
            };
            match admit(inner, &action, settings.concurrency) {
                Admission::Admitted(exited_tx) => {
                    admitted.push((action, settings.recover, exited_tx));
                }
                Admission::Active => {}
                Admission::Wait(reason) => {
                    // An attempt that ends wakes the scan to look again.
                    inner.backlog.store(true, Ordering::Release);
                    server_full |= reason.code == SERVER_LIMIT;
                    wait_for_resources(inner, &action, reason).await;
                }
            }
        }
        start_claimed(inner, admitted).await;
        if full && !server_full {
            // More may be queued behind this page, for runs that are not at their limits.
            inner.backlog.store(true, Ordering::Release);
            continue;
        }
        break;
    }
    Ok(earliest_waiting)
}

/// An action admitted to start, with the run it recovers from and its slot's exit signal.
type AdmittedAction = (ActionRecord, Option<Arc<RecoverFrom>>, watch::Sender<bool>);

/// Claims the attempts of `admitted` for this node (all at once) and starts those it won; the
/// others run on another node, and their slots are freed.
async fn start_claimed(inner: &Arc<Inner>, admitted: Vec<AdmittedAction>) {
    if admitted.is_empty() {
        return;
    }
    let wanted: Vec<(aerie_core::ActionId, u32)> = admitted
        .iter()
        .map(|(action, _, _)| (action.id.clone(), action.state.current_attempt().number))
        .collect();
    let won = ownership::claim_all(inner, &wanted).await;
    for ((action, recover, exited_tx), won) in admitted.into_iter().zip(won) {
        if won {
            start(inner, action, recover, exited_tx);
        } else {
            inner
                .active
                .lock()
                .expect("active attempts lock poisoned")
                .remove(&action.id);
            exited_tx.send_replace(true);
        }
    }
}

/// Runs the admitted and claimed `action`'s attempt (taking over its children first, in a
/// recovery run); when it is over, frees its slot and wakes the scan.
fn start(
    inner: &Arc<Inner>,
    action: ActionRecord,
    recover: Option<Arc<RecoverFrom>>,
    exited_tx: watch::Sender<bool>,
) {
    let inner_for_attempt = Arc::clone(inner);
    inner.tasks.spawn(async move {
        let id = action.id.clone();
        let requeued = attempt::run(&inner_for_attempt, action, recover.as_deref()).await;
        inner_for_attempt
            .active
            .lock()
            .expect("active attempts lock poisoned")
            .remove(&id);
        exited_tx.send_replace(true);
        // Look again if this attempt queued a retry, or if queued work was left waiting.
        if requeued || inner_for_attempt.backlog.swap(false, Ordering::AcqRel) {
            inner_for_attempt.wake.notify_one();
        }
    });
}
