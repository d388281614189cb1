//! Aborting actions and runs: record ABORTED with reason and who first (so no later verdict
//! can overwrite it), then stop the attempt (SIGTERM, then SIGKILL after the grace), before
//! the call returns.

use crate::{Engine, EngineError};
use aerie_core::{AbortInfo, ActionId, ActionPhase, RunId, Timestamp, TransitionError};
use aerie_store::{ActionRecord, StoreError};
use std::time::Duration;

/// How long to wait for a killed process to be reaped before giving up on it.
const REAP_TIMEOUT: Duration = Duration::from_secs(10);

/// What an abort did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AbortOutcome {
    /// The action was running or waiting and is now ABORTED.
    Aborted,
    /// The action had already ended in this phase; nothing changed.
    AlreadyOver(ActionPhase),
}

impl Engine {
    /// Aborts one action and every unfinished action below it: ABORTED with `info`, attempts
    /// stopped.
    pub async fn abort_action(
        &self,
        id: &ActionId,
        info: &AbortInfo,
    ) -> Result<AbortOutcome, EngineError> {
        let action = self.inner.store.get_action(id).await?;
        let outcome = self.abort_one(action, info).await?;
        self.abort_descendants(id, info).await?;
        Ok(outcome)
    }

    /// Aborts the unfinished descendants of `parent`.
    pub(crate) async fn abort_descendants(
        &self,
        parent: &ActionId,
        info: &AbortInfo,
    ) -> Result<(), EngineError> {
        let mut pending = vec![parent.clone()];
        while let Some(next) = pending.pop() {
            for child in self.inner.store.unfinished_children(&next).await? {
                pending.push(child.id.clone());
                self.abort_one(child, info).await?;
            }
        }
        Ok(())
    }

    async fn abort_one(
        &self,
        action: ActionRecord,
        info: &AbortInfo,
    ) -> Result<AbortOutcome, EngineError> {
        let id = action.id.clone();
        let abort = info.clone();
        let recorded = self
            .inner
            .store
            .update_action(&action, move |state| {
                state.abort(abort.clone(), Timestamp::now())
            })
            .await;
        match recorded {
            Ok(_) => {}
            Err(StoreError::Transition {
                source: TransitionError::AlreadyTerminal(phase),
                ..
            }) => return Ok(AbortOutcome::AlreadyOver(phase)),
            Err(err) => return Err(err.into()),
        }
        tracing::info!(run = %id.run, action = %id.name, reason = %info.reason, "action aborted");
        self.stop_attempt(&id).await;
        Ok(AbortOutcome::Aborted)
    }

    /// Aborts a run: its root and every action of it that has not ended.
    pub async fn abort_run(
        &self,
        run: &RunId,
        info: &AbortInfo,
    ) -> Result<AbortOutcome, EngineError> {
        let root = self
            .inner
            .store
            .get_action(&ActionId::root_of(run.clone()))
            .await?;
        let outcome = self.abort_one(root, info).await?;
        for action in self.inner.store.unfinished_actions(run).await? {
            self.abort_one(action, info).await?;
        }
        Ok(outcome)
    }

    async fn stop_attempt(&self, id: &ActionId) {
        let active = self
            .inner
            .active
            .lock()
            .expect("active attempts lock poisoned")
            .get(id)
            .cloned();
        let Some(mut active) = active else {
            return;
        };
        let Some(control) = active.control else {
            // Not started yet: the attempt sees ABORTED when it records RUNNING and stops.
            return;
        };
        control.terminate();
        let exited_in_grace = tokio::time::timeout(
            self.inner.config.abort_grace,
            active.exited.wait_for(|exited| *exited),
        )
        .await
        .is_ok();
        if !exited_in_grace {
            control.kill();
            if tokio::time::timeout(REAP_TIMEOUT, active.exited.wait_for(|exited| *exited))
                .await
                .is_err()
            {
                tracing::warn!(run = %id.run, action = %id.name, "aborted attempt not over in time");
            }
        }
    }
}
