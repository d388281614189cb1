//! Reconciling after a restart: an attempt that was INITIALIZING or RUNNING when aerie stopped
//! has no process any more (its leader was killed with aerie; anything else it started, for the
//! local executor, is ended here), so it fails as a SYSTEM error and, while the budget lasts, a
//! new attempt is queued. Queued work needs nothing: the scheduler finds it.

use crate::{EngineError, ExecutorKind, Inner, local};
use aerie_core::spec::restart_retry_decision;
use aerie_core::{ActionKind, ActionPhase, ErrorInfo, ErrorKind, Timestamp};
use aerie_store::StoreError;

/// Most interrupted actions read per batch.
const BATCH: u32 = 256;

pub(crate) async fn reconcile(inner: &Inner) -> Result<(), EngineError> {
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
            let policy = action.spec.retry;
            let error = ErrorInfo {
                message: "aerie stopped while this attempt was running; its process was ended"
                    .into(),
                kind: ErrorKind::System,
                code: "AerieRestarted".into(),
                recoverable: true,
            };
            let result = inner
                .store
                .update_action(&action, move |state| {
                    let retry = restart_retry_decision(state.current_attempt().number, &policy);
                    state.fail(error.clone(), retry, Timestamp::now())
                })
                .await;
            match result {
                Ok(record) => tracing::info!(
                    run = %action.id.run, action = %action.id.name, phase = %record.state.phase,
                    "reconciled an interrupted attempt"
                ),
                Err(StoreError::Transition { .. }) => {}
                Err(err) => return Err(err.into()),
            }
        }
    }
}
