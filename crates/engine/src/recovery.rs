//! Reconciling after a restart: an attempt that was INITIALIZING or RUNNING when aerie stopped
//! has no process any more (its leader was killed with aerie; anything else it started, for the
//! local executor, is ended here), so it fails as a SYSTEM error and, while the budget lasts, a
//! new attempt is queued. Queued work needs nothing: the scheduler finds it.
//!
//! This is the whole story for a store with one node (SQLite). When nodes share the store,
//! another node may be running what is RUNNING, so only what no node holds a lease on is
//! reconciled at start (`ownership`), and the attempts of a node that died are failed the same
//! way ([`fail_interrupted`]) by the node that takes them over.

use crate::{EngineError, ExecutorKind, Inner, attempt, local};
use aerie_core::spec::restart_retry_decision;
use aerie_core::{ActionKind, ActionPhase, ErrorInfo, ErrorKind, Timestamp};
use aerie_store::{ActionRecord, StoreError};
use std::sync::Arc;

/// Most interrupted actions read per batch.
const BATCH: u32 = 256;

pub(crate) async fn reconcile(inner: &Arc<Inner>) -> Result<(), EngineError> {
    if let Some(cluster) = inner.store.cluster() {
        return crate::ownership::reconcile(inner, cluster).await;
    }
    loop {
        let interrupted = inner
            .store
            .actions_in_phases(
                ActionKind::Task,
                &[ActionPhase::Initializing, ActionPhase::Running],
                BATCH,
                0,
            )
            .await?;
        if interrupted.is_empty() {
            return Ok(());
        }
        for action in interrupted {
            if inner.config.executor == ExecutorKind::Local {
                let attempt = action.state.current_attempt().number;
                local::end_leftovers(&inner.config.local, &action.id, attempt);
            }
            let error = ErrorInfo {
                message: "aerie stopped while this attempt was running; its process was ended"
                    .into(),
                kind: ErrorKind::System,
                code: "AerieRestarted".into(),
                recoverable: true,
            };
            let attempt = action.state.current_attempt().number;
            fail_interrupted(inner, &action, attempt, error).await?;
        }
    }
}

/// Fails `attempt` of `action`, whose process is gone, with the SYSTEM `error`; a new attempt is
/// queued while the restart allowance lasts, and an action that ends leaves nothing running
/// below it. An action that moved on meanwhile (it ended, or is past that attempt) keeps its
/// state.
pub(crate) async fn fail_interrupted(
    inner: &Arc<Inner>,
    action: &ActionRecord,
    attempt: u32,
    error: ErrorInfo,
) -> Result<(), StoreError> {
    let policy = action.spec.retry;
    let result = inner
        .store
        .update_action(action, move |state| {
            state.check_attempt(attempt)?;
            let retry = restart_retry_decision(attempt, &policy);
            state.fail(error.clone(), retry, Timestamp::now())
        })
        .await;
    match result {
        Ok(record) => {
            let phase = record.state.phase;
            tracing::info!(
                run = %action.id.run, action = %action.id.name, attempt, %phase,
                "failed an interrupted attempt"
            );
            if phase.is_terminal() {
                attempt::end_children(inner, &action.id, phase).await;
            }
            Ok(())
        }
        Err(StoreError::Transition { .. }) => Ok(()),
        Err(err) => Err(err),
    }
}
