//! The attempt driver: one attempt from claim to final record, whatever executor runs it.
//! QUEUED → INITIALIZING (claimed) → RUNNING (started) → verdict, with the task's timeout and
//! the action's deadline enforced here, and a parent that ends leaving nothing running below it.
//!
//! Every write names the attempt it is about (`check_attempt`), so a late report never lands
//! on a newer attempt; when nodes share the store the attempt is claimed with a lease first,
//! and a node that lost the lease reports nothing (`ownership`).

use crate::caching;
use crate::capture::AttemptLog;
use crate::executor::{AttemptToStart, Started};
use crate::recover_run::{self, RecoverFrom};
use crate::{Engine, Inner, ownership};
use aerie_blob::LogStore;
use aerie_core::spec::{deadline_error, instant_after, timeout_error};
use aerie_core::{
    AbortInfo, ActionId, ActionPhase, ActionState, Timestamp, TransitionError, Verdict,
};
use aerie_store::{ActionRecord, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tracing::{info, warn};

/// Runs one attempt of `queued`, which this node claimed (in a recovery run, once its reusable
/// children are taken over from `recover`); true if it ended with a retry queued.
pub(crate) async fn run(
    inner: &Arc<Inner>,
    queued: ActionRecord,
    recover: Option<&RecoverFrom>,
) -> bool {
    let id = queued.id.clone();
    let attempt = queued.state.current_attempt().number;
    let requeued = drive(inner, queued, recover).await;
    // An attempt interrupted by this node's stop keeps its lease: the stop gives the lease up
    // so that another node takes the attempt over (`Engine::shutdown`).
    if !inner.cancel.is_cancelled() {
        ownership::release(inner, &id, attempt);
    }
    requeued
}

/// Drives the claimed attempt of `queued` to its verdict.
async fn drive(inner: &Arc<Inner>, queued: ActionRecord, recover: Option<&RecoverFrom>) -> bool {
    let id = queued.id.clone();
    let attempt = queued.state.current_attempt().number;
    let claimed = match inner
        .store
        .update_action(&queued, move |state| {
            state.check_attempt(attempt)?;
            state.advance(ActionPhase::Initializing, Timestamp::now())
        })
        .await
    {
        Ok(claimed) => claimed,
        Err(StoreError::Transition { .. }) => return false, // aborted or claimed meanwhile
        Err(err) => {
            warn!(run = %id.run, action = %id.name, attempt, error = %err, "claiming an attempt failed");
            return false;
        }
    };
    if let Some(recover) = recover {
        recover_run::take_over_children(inner, &claimed, recover).await;
    }
    let started = inner
        .executor
        .start(AttemptToStart {
            action: &claimed,
            attempt,
        })
        .await;
    let started = match started {
        Ok(started) => started,
        Err(error) => {
            return record_verdict(inner, claimed, Verdict::Failed(error)).await;
        }
    };
    if let Some(active) = inner
        .active
        .lock()
        .expect("active attempts lock poisoned")
        .get_mut(&id)
    {
        active.control = Some(Arc::clone(&started.control));
    }
    let (pid, logs_available) = (started.pid, started.logs_available);
    let running = inner
        .store
        .update_action(&claimed, move |state| {
            state.check_attempt(attempt)?;
            state.mark_started(pid, logs_available)?;
            state.advance(ActionPhase::Running, Timestamp::now())
        })
        .await;
    let running = match running {
        Ok(running) => running,
        Err(StoreError::Transition { .. }) => {
            // Aborted between claim and start: the work must not outlive the decision.
            started.control.kill();
            started.outcome.await;
            return false;
        }
        Err(err) => {
            // The store could not record the start: stop the work and fail the attempt (it is
            // retried by policy) rather than leave it INITIALIZING with nothing behind it.
            warn!(run = %id.run, action = %id.name, attempt, error = %err, "recording RUNNING failed; stopping the attempt");
            started.control.kill();
            started.outcome.await;
            let error = aerie_core::ErrorInfo {
                message: format!("aerie could not record that the attempt started: {err}"),
                kind: aerie_core::ErrorKind::System,
                code: "StoreUnavailable".into(),
                recoverable: true,
            };
            return record_verdict(inner, claimed, Verdict::Failed(error)).await;
        }
    };
    info!(run = %id.run, action = %id.name, attempt, "attempt running");
    let verdict = wait_within_timeout(&inner.logs, &running, started).await;
    if inner.cancel.is_cancelled() {
        // aerie is stopping and killed the attempt: it stays RUNNING in the store, and the next
        // start reconciles it under the restart allowance instead of the task's retries.
        info!(run = %id.run, action = %id.name, attempt, "attempt interrupted by shutdown");
        return false;
    }
    record_verdict(inner, running, verdict).await
}

/// Waits for the attempt's outcome; past the task's timeout or the action's deadline, kills it
/// and judges it TIMED_OUT (a deadline's error allows no retry).
async fn wait_within_timeout(
    logs: &Arc<LogStore>,
    action: &ActionRecord,
    started: Started,
) -> Verdict {
    let runtime = action
        .spec
        .timeout
        .map(|limit| (limit, timeout_error(limit)));
    let deadline = action.spec.deadline.map(|limit| {
        let left = instant_after(action.state.created_at, limit).since(Timestamp::now());
        (left, deadline_error(limit))
    });
    let first = match (runtime, deadline) {
        (Some(runtime), Some(deadline)) if deadline.0 < runtime.0 => Some(deadline),
        (Some(runtime), _) => Some(runtime),
        (None, deadline) => deadline,
    };
    let Some((limit, error)) = first else {
        return started.outcome.await;
    };
    let mut outcome = started.outcome;
    tokio::select! {
        verdict = &mut outcome => verdict,
        () = tokio::time::sleep(limit) => {
            started.control.kill();
            outcome.await;
            if started.logs_available {
                note_in_log(logs, &action.id, action.state.current_attempt().number, &error.message).await;
            }
            Verdict::TimedOut(error)
        }
    }
}

/// Appends one of aerie's notes to the attempt's log after its process is gone.
async fn note_in_log(logs: &Arc<LogStore>, id: &ActionId, attempt: u32, text: &str) {
    match logs.writer(id, attempt).await {
        Ok(writer) => {
            let mut log = AttemptLog::new(writer, id.clone(), attempt);
            log.note(text).await;
            log.close().await;
        }
        Err(err) => {
            warn!(run = %id.run, action = %id.name, attempt, error = %err, "opening the attempt's log failed")
        }
    }
}

/// How long to wait before writing a verdict again after the database failed.
const VERDICT_RETRY: Duration = Duration::from_millis(500);

/// Records the verdict; a refusal because the action already ended (an abort won) is expected.
/// A database failure (disk full, connection lost) is retried until the write lands or aerie
/// stops, so no finished attempt is left looking as if it still ran.
/// Returns true if a retry was queued.
async fn record_verdict(inner: &Arc<Inner>, held: ActionRecord, verdict: Verdict) -> bool {
    let id = held.id.clone();
    let attempt = held.state.current_attempt().number;
    if !ownership::still_owned(inner, &id, attempt).await {
        info!(run = %id.run, action = %id.name, attempt, "another node took this attempt over; its verdict is not recorded");
        return false;
    }
    let policy = held.spec.retry;
    let cache_entry = caching::entry_on_success(&held);
    let result = loop {
        let change = {
            let verdict = verdict.clone();
            move |state: &mut ActionState| {
                state.check_attempt(attempt)?;
                state.conclude(&verdict, &policy, Timestamp::now())?;
                caching::mark_populated(state);
                Ok(())
            }
        };
        let written = match cache_entry.clone() {
            Some(entry) => {
                inner
                    .store
                    .update_action_storing(&held, change, entry)
                    .await
            }
            None => inner.store.update_action(&held, change).await,
        };
        match written {
            Err(err) if !err.is_refusal() && !matches!(err, StoreError::Closed) => {
                warn!(run = %id.run, action = %id.name, error = %err, "recording the verdict failed; retrying");
                tokio::select! {
                    () = inner.cancel.cancelled() => break Err(err),
                    () = tokio::time::sleep(VERDICT_RETRY) => {}
                }
            }
            other => break other,
        }
    };
    match result {
        Ok(record) => {
            let phase = record.state.phase;
            let retried = phase == ActionPhase::Queued;
            info!(run = %id.run, action = %id.name, %phase, retried, "attempt over");
            if phase.is_terminal() {
                caching::release(inner, &held).await;
                end_orphans(inner, &id, phase).await;
            }
            retried
        }
        Err(StoreError::Transition {
            source: TransitionError::AlreadyTerminal(phase),
            ..
        }) => {
            info!(run = %id.run, action = %id.name, %phase, "attempt ended after the action did");
            false
        }
        Err(err) => {
            warn!(run = %id.run, action = %id.name, error = %err, "recording the verdict failed");
            false
        }
    }
}

/// A parent that ended leaves nothing running below it. Only parents this node saw enqueue
/// children are swept here, which spares every leaf a query; when nodes share the store, a
/// child enqueued through another node is found by the lease loop's sweep (`ownership`).
pub(crate) async fn end_orphans(inner: &Arc<Inner>, parent: &ActionId, phase: ActionPhase) {
    let known_parent = inner
        .parents
        .lock()
        .expect("parents lock poisoned")
        .remove(parent);
    if known_parent {
        end_children(inner, parent, phase).await;
    }
}

/// Aborts every unfinished descendant of `parent`, which ended `phase`.
pub(crate) async fn end_children(inner: &Arc<Inner>, parent: &ActionId, phase: ActionPhase) {
    let engine = Engine {
        inner: Arc::clone(inner),
    };
    let info = AbortInfo {
        reason: format!("parent action {} ended {phase}", parent.name),
        aborted_by: "aerie".into(),
    };
    if let Err(err) = engine.abort_descendants(parent, &info).await {
        warn!(run = %parent.run, action = %parent.name, error = %err, "ending the children of a finished action failed");
    }
}
