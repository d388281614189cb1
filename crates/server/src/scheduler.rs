//! The trigger scheduler: fires every active scheduled trigger when it is due.
//!
//! Each fire creates its run in the transaction that moves the trigger on to its next instant
//! (`aerie_store::FireClaim`), so a crash never loses a fire that was taken nor takes one
//! twice. After downtime, the missed instants of a trigger become one run, for the earliest
//! of them, and the schedule resumes from now ([`aerie_core::Schedule::after_fire`]). A fire
//! that cannot start (its task version is gone, say) is logged and skipped; one the database
//! failed to record stays due and is tried again a few seconds later.

use crate::launch::{self, RunStart};
use crate::rpc::trigger_service;
use crate::schedule::schedule_of;
use crate::state::AppState;
use aerie_core::{Org, RunId, Timestamp};
use aerie_store::{FireClaim, StoreError, TriggerRecord};
use aerie_wire::flyteidl2::task::TriggerAutomationSpec;
use buffa::Message;
use std::time::Duration;

/// Triggers fired per look at the store.
const BATCH: u32 = 64;
/// Longest sleep between looks when nothing is due (a wake-up comes sooner on any change).
const IDLE: Duration = Duration::from_secs(60);
/// Pause after the store failed to answer.
const RETRY: Duration = Duration::from_secs(5);

/// Fires due triggers until the server shuts down.
pub async fn run(app: AppState) {
    loop {
        let now = Timestamp::now();
        let wait = match app.store.due_triggers(now, BATCH).await {
            Ok((due, _)) if !due.is_empty() => {
                let mut moved_on = true;
                for record in due {
                    moved_on &= fire(&app, record, now).await;
                }
                // A trigger the store could not move on is still due: look again, not at once.
                if moved_on { Duration::ZERO } else { RETRY }
            }
            Ok((_, later)) => later.map_or(IDLE, |at| at.since(now).min(IDLE)),
            Err(err) => {
                tracing::warn!(error = %err, "the scheduler cannot read due triggers");
                RETRY
            }
        };
        tokio::select! {
            () = app.shutdown.cancelled() => return,
            () = app.scheduler_wake.notified() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// Fires `record` for its due instant; false if the store could not record the fire or the
/// skip (the trigger is then still due).
async fn fire(app: &AppState, record: TriggerRecord, now: Timestamp) -> bool {
    let Some(fire_at) = record.next_fire_at else {
        return true;
    };
    let id = record.id.clone();
    let next = TriggerAutomationSpec::decode_from_slice(&record.automation)
        .ok()
        .and_then(|spec| schedule_of(&spec).ok().flatten())
        .and_then(|schedule| schedule.after_fire(fire_at, now));
    let claim = FireClaim { fire_at, next };
    let started = match trigger_service::fired(app, &record, Some(fire_at)).await {
        Ok(fired) => {
            let run = RunId {
                project: id.project.clone(),
                domain: id.domain.clone(),
                name: launch::new_run_name(),
            };
            launch::start_run(
                app,
                RunStart {
                    id: run.clone(),
                    org: Org::default(),
                    created_by: record.updated_by.clone(),
                    task_spec: fired.task_spec,
                    inputs: fired.inputs,
                    run_spec: fired.run_spec,
                    trigger: Some(fired.trigger),
                    fire: Some(claim.clone()),
                },
            )
            .await
            .map(|_| run)
        }
        Err(err) => Err(err),
    };
    match started {
        Ok(run) => {
            tracing::info!(trigger = %id, run = %run, at = %fire_at.to_rfc3339(), "trigger fired");
            true
        }
        Err(crate::error::ApiError::Store(StoreError::StaleFire(reason))) => {
            tracing::debug!(trigger = %id, reason, "trigger fire skipped");
            true
        }
        Err(err) if err.is_transient() => {
            // The database or the disk failed: nothing was written, the fire is still due.
            tracing::warn!(trigger = %id, error = %err, "a trigger could not fire; retrying");
            false
        }
        Err(err) => {
            tracing::warn!(trigger = %id, at = %fire_at.to_rfc3339(), error = %err, "a trigger could not fire; skipping to its next time");
            match app.store.skip_trigger_fire(id.clone(), claim).await {
                Ok(()) => true,
                Err(err) => {
                    tracing::warn!(trigger = %id, error = %err, "cannot move the trigger on");
                    false
                }
            }
        }
    }
}
