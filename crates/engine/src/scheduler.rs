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
//! with the reason, and starts in order when a slot frees.

use crate::{ActiveAttempt, Inner, attempt};
use aerie_core::spec::instant_after;
use aerie_core::{ActionPhase, ErrorInfo, Timestamp, Verdict, WaitReason};
use aerie_store::ActionRecord;
use aerie_wire::flyteidl2::task::RunSpec;
use buffa::Message;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::watch;

/// How often the store is re-read without a wake-up.
const RESCAN_INTERVAL: Duration = Duration::from_secs(1);
/// Most queued actions read per scan.
const SCAN_BATCH: u32 = 64;
/// Runs whose concurrency limit is remembered before the memory is cleared.
const RUN_LIMITS_KEPT: usize = 10_000;

pub(crate) async fn run(inner: Arc<Inner>) {
    let mut wait = RESCAN_INTERVAL;
    loop {
        tokio::select! {
            () = inner.cancel.cancelled() => return,
            () = inner.wake.notified() => {}
            () = tokio::time::sleep(wait) => {}
        }
        wait = match launch_queued(&inner).await {
            // A retry waiting out its backoff is looked at again when it is due.
            Ok(Some(due)) => due.since(Timestamp::now()).min(RESCAN_INTERVAL),
            Ok(None) => RESCAN_INTERVAL,
            Err(err) => {
                tracing::warn!(error = %err, "scanning for queued work failed");
                RESCAN_INTERVAL
            }
        };
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

/// The run's `max_action_concurrency` (0 and unset mean none), read once per run.
async fn run_concurrency_limit(inner: &Arc<Inner>, action: &ActionRecord) -> Option<u32> {
    let run = &action.id.run;
    if let Some(limit) = inner
        .run_limits
        .lock()
        .expect("run limits lock poisoned")
        .get(run)
    {
        return *limit;
    }
    let limit = match inner.store.get_run(run).await {
        Ok(record) => RunSpec::decode_from_slice(&record.run_spec)
            .ok()
            .map(|spec| spec.max_action_concurrency)
            .filter(|limit| *limit > 0),
        Err(err) => {
            tracing::warn!(run = %run, error = %err, "reading a run's concurrency limit failed");
            return None;
        }
    };
    let mut limits = inner.run_limits.lock().expect("run limits lock poisoned");
    if limits.len() >= RUN_LIMITS_KEPT {
        limits.clear();
    }
    limits.insert(run.clone(), limit);
    limit
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

/// Starts what is queued and due, as capacity allows, and ends what waited past its time;
/// returns when the earliest retry waiting out its backoff, or the earliest time limit, is due.
async fn launch_queued(inner: &Arc<Inner>) -> Result<Option<Timestamp>, aerie_store::StoreError> {
    let queued = inner
        .store
        .tasks_in_phases(
            &[ActionPhase::Queued, ActionPhase::WaitingForResources],
            SCAN_BATCH,
        )
        .await?;
    if queued.len() >= SCAN_BATCH as usize {
        inner.backlog.store(true, Ordering::Release);
    }
    let now = Timestamp::now();
    let mut earliest_waiting: Option<Timestamp> = None;
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
        let run_limit = run_concurrency_limit(inner, &action).await;
        let admitted = {
            let mut active = inner.active.lock().expect("active attempts lock poisoned");
            if active.contains_key(&action.id) {
                continue;
            }
            let in_run = || active.keys().filter(|id| id.run == action.id.run).count();
            if active.len() >= inner.config.max_running {
                inner.backlog.store(true, Ordering::Release);
                Err(WaitReason {
                    code: "ServerConcurrencyLimit".into(),
                    message: format!(
                        "waiting for one of aerie's {} task slots (--max-running)",
                        inner.config.max_running
                    ),
                })
            } else if let Some(limit) = run_limit.filter(|limit| in_run() >= *limit as usize) {
                inner.backlog.store(true, Ordering::Release);
                Err(WaitReason {
                    code: "RunConcurrencyLimit".into(),
                    message: format!(
                        "waiting for a run concurrency slot ({} of max_action_concurrency {limit} in use)",
                        in_run()
                    ),
                })
            } else {
                let (exited_tx, exited_rx) = watch::channel(false);
                active.insert(
                    action.id.clone(),
                    ActiveAttempt {
                        control: None,
                        exited: exited_rx,
                    },
                );
                Ok(exited_tx)
            }
        };
        let exited_tx = match admitted {
            Ok(exited_tx) => exited_tx,
            Err(reason) => {
                wait_for_resources(inner, &action, reason).await;
                continue;
            }
        };
        let inner_for_attempt = Arc::clone(inner);
        inner.tasks.spawn(async move {
            let id = action.id.clone();
            let requeued = attempt::run(&inner_for_attempt, action).await;
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
    Ok(earliest_waiting)
}
