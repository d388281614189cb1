//! Aborting actions and runs: record ABORTED with reason and who first (so no later verdict
//! can overwrite it), then end the attempt's process group, before the call returns.

use crate::{Engine, EngineError, process};
use aerie_core::{AbortInfo, ActionId, ActionPhase, RunId, Timestamp, TransitionError};
use aerie_store::{Filter, FilterField, FilterOp, ListQuery, StoreError};
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
    /// Aborts one action and every unfinished action below it: ABORTED with `info`, process
    /// groups ended.
    pub async fn abort_action(
        &self,
        id: &ActionId,
        info: &AbortInfo,
    ) -> Result<AbortOutcome, EngineError> {
        let outcome = self.abort_one(id, info).await?;
        self.abort_descendants(id, info).await?;
        Ok(outcome)
    }

    /// Aborts the unfinished descendants of `parent`, deepest last.
    pub(crate) async fn abort_descendants(
        &self,
        parent: &ActionId,
        info: &AbortInfo,
    ) -> Result<(), EngineError> {
        let mut pending = vec![parent.clone()];
        while let Some(next) = pending.pop() {
            let children = ListQuery {
                filters: vec![Filter {
                    field: FilterField::ParentName,
                    op: FilterOp::Equal,
                    values: vec![next.name.to_string()],
                }],
                limit: aerie_store::query::MAX_PAGE_SIZE,
                ..ListQuery::default()
            };
            let mut query = children;
            loop {
                let page = self.inner.store.list_actions(&next.run, &query).await?;
                for child in &page.items {
                    if !child.state.phase.is_terminal() {
                        self.abort_one(&child.id, info).await?;
                    }
                    pending.push(child.id.clone());
                }
                match page.next_token {
                    Some(token) => query.token = token,
                    None => break,
                }
            }
        }
        Ok(())
    }

    async fn abort_one(
        &self,
        id: &ActionId,
        info: &AbortInfo,
    ) -> Result<AbortOutcome, EngineError> {
        let recorded = self
            .inner
            .store
            .update_action(id, |state| state.abort(info.clone(), Timestamp::now()))
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
        self.end_process(id).await;
        Ok(AbortOutcome::Aborted)
    }

    /// Aborts a run: its root and every action of it that has not ended.
    pub async fn abort_run(
        &self,
        run: &RunId,
        info: &AbortInfo,
    ) -> Result<AbortOutcome, EngineError> {
        let root = self
            .abort_one(&ActionId::root_of(run.clone()), info)
            .await?;
        let unfinished = ListQuery {
            filters: vec![Filter {
                field: FilterField::Phase,
                op: FilterOp::ValueIn,
                values: [
                    ActionPhase::Queued,
                    ActionPhase::WaitingForResources,
                    ActionPhase::Initializing,
                    ActionPhase::Running,
                    ActionPhase::Paused,
                ]
                .iter()
                .map(|phase| phase.as_i32().to_string())
                .collect(),
            }],
            limit: aerie_store::query::MAX_PAGE_SIZE,
            ..ListQuery::default()
        };
        loop {
            let page = self.inner.store.list_actions(run, &unfinished).await?;
            if page.items.is_empty() {
                break;
            }
            for action in page.items {
                self.abort_one(&action.id, info).await?;
            }
        }
        Ok(root)
    }

    async fn end_process(&self, id: &ActionId) {
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
        let Some(pid) = active.pid else {
            // Not spawned yet: the attempt sees ABORTED when it records RUNNING and stops.
            return;
        };
        process::signal_group(pid, libc::SIGTERM);
        let exited_in_grace = tokio::time::timeout(
            self.inner.config.abort_grace,
            active.exited.wait_for(|exited| *exited),
        )
        .await
        .is_ok();
        if !exited_in_grace {
            process::signal_group(pid, libc::SIGKILL);
            if tokio::time::timeout(REAP_TIMEOUT, active.exited.wait_for(|exited| *exited))
                .await
                .is_err()
            {
                tracing::warn!(run = %id.run, action = %id.name, pid, "aborted process not reaped in time");
            }
        }
    }
}
