//! Conditions (`flyte.new_condition`): actions that run nothing and wait PAUSED until someone
//! signals them. The engine's part is their timeout, counted from the condition's creation (so a
//! parent that is retried sees the original deadline, and a restart does not extend it): past
//! it, the condition ends TIMED_OUT with the code `ConditionTimedOut`, and the parent waiting on
//! it learns so through its watch.

use crate::Inner;
use aerie_core::spec::instant_after;
use aerie_core::{ActionKind, ActionPhase, ErrorInfo, ErrorKind, Timestamp};
use aerie_store::StoreError;
use std::sync::Arc;

/// Paused conditions read per page.
const PAGE: u32 = 256;

/// The error a condition that timed out ends with.
fn timed_out(limit: std::time::Duration) -> ErrorInfo {
    ErrorInfo {
        message: format!(
            "condition timed out after {:.0}s without a signal",
            limit.as_secs_f64()
        ),
        kind: ErrorKind::User,
        code: "ConditionTimedOut".into(),
        recoverable: false,
    }
}

/// Ends every paused condition past its timeout; returns when the next one is due.
pub(crate) async fn time_out_overdue(inner: &Arc<Inner>) -> Result<Option<Timestamp>, StoreError> {
    let now = Timestamp::now();
    let mut next_due: Option<Timestamp> = None;
    let mut offset = 0;
    loop {
        let paused = inner
            .store
            .actions_in_phases(ActionKind::Condition, &[ActionPhase::Paused], PAGE, offset)
            .await?;
        let full = paused.len() >= PAGE as usize;
        for condition in paused {
            let Some(limit) = condition.spec.deadline else {
                continue;
            };
            let due = instant_after(condition.state.created_at, limit);
            if due > now {
                next_due = Some(next_due.map_or(due, |next| next.min(due)));
                continue;
            }
            let error = timed_out(limit);
            let ended = inner
                .store
                .update_action(&condition, move |state| {
                    state.time_out(error.clone(), Timestamp::now())
                })
                .await;
            match ended {
                Ok(_) => {
                    tracing::info!(run = %condition.id.run, action = %condition.id.name, "condition timed out");
                }
                // Signalled or aborted meanwhile: that stands.
                Err(StoreError::Transition { .. }) => {}
                Err(err) => return Err(err),
            }
        }
        if !full {
            return Ok(next_due);
        }
        offset += u64::from(PAGE);
    }
}
