//! The per-run event log: appended in the same transaction as every action change, read by
//! watchers after the last sequence they saw.

use crate::Store;
use crate::error::{DbContext, StoreError};
use crate::records::ActionEvent;
use crate::rows::{event_from_row, state_to_json};
use aerie_core::{ActionName, ActionState, RunId, Timestamp};
use sqlx::AssertSqlSafe;
use sqlx::{Any, Transaction};

/// Which events of a run a watcher wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventScope {
    /// Changes of one action.
    Action(ActionName),
    /// Changes of the direct children of one action.
    ChildrenOf(ActionName),
    /// Every change in the run.
    Run,
}

/// Takes the run's next sequence number, locking the run row until commit.
pub(crate) async fn next_seq(
    tx: &mut Transaction<'static, Any>,
    run: &RunId,
) -> Result<i64, StoreError> {
    let row: Option<(i64,)> = sqlx::query_as(
        "UPDATE runs SET last_seq = last_seq + 1 \
         WHERE project = $1 AND domain = $2 AND name = $3 RETURNING last_seq",
    )
    .bind(run.project.as_str())
    .bind(run.domain.as_str())
    .bind(run.name.as_str())
    .fetch_optional(&mut **tx)
    .await
    .during("taking the next event sequence")?;
    row.map(|(seq,)| seq)
        .ok_or_else(|| StoreError::RunNotFound(run.clone()))
}

pub(crate) async fn append(
    tx: &mut Transaction<'static, Any>,
    run: &RunId,
    seq: i64,
    action: &ActionName,
    parent: Option<&ActionName>,
    state: &ActionState,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO events (project, domain, run_name, seq, action_name, parent, state, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(run.project.as_str())
    .bind(run.domain.as_str())
    .bind(run.name.as_str())
    .bind(seq)
    .bind(action.as_str())
    .bind(parent.map_or("", ActionName::as_str))
    .bind(state_to_json(state))
    .bind(now.as_micros())
    .execute(&mut **tx)
    .await
    .during("appending an event")?;
    Ok(())
}

impl Store {
    /// Events of `run` in `scope` with a sequence above `after_seq`, oldest first, at most `limit`.
    pub async fn events_after(
        &self,
        run: &RunId,
        scope: &EventScope,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<ActionEvent>, StoreError> {
        let (scope_condition, scope_value) = match scope {
            EventScope::Action(name) => ("AND action_name = $5", Some(name.as_str())),
            EventScope::ChildrenOf(name) => ("AND parent = $5", Some(name.as_str())),
            EventScope::Run => ("", None),
        };
        let sql = format!(
            "SELECT seq, action_name, parent, state, created_at FROM events \
             WHERE project = $1 AND domain = $2 AND run_name = $3 AND seq > $4 {scope_condition} \
             ORDER BY seq LIMIT {limit}"
        );
        let mut query = sqlx::query(AssertSqlSafe(sql))
            .bind(run.project.as_str())
            .bind(run.domain.as_str())
            .bind(run.name.as_str())
            .bind(after_seq);
        if let Some(value) = scope_value {
            query = query.bind(value);
        }
        let rows = query.fetch_all(&self.pool).await.during("reading events")?;
        rows.iter().map(event_from_row).collect()
    }

    /// The newest event of one action: its current state and the sequence it was reached at.
    pub async fn latest_event(
        &self,
        run: &RunId,
        action: &ActionName,
    ) -> Result<ActionEvent, StoreError> {
        let row = sqlx::query(
            "SELECT seq, action_name, parent, state, created_at FROM events \
             WHERE project = $1 AND domain = $2 AND run_name = $3 AND action_name = $4 \
             ORDER BY seq DESC LIMIT 1",
        )
        .bind(run.project.as_str())
        .bind(run.domain.as_str())
        .bind(run.name.as_str())
        .bind(action.as_str())
        .fetch_optional(&self.pool)
        .await
        .during("reading an action's latest event")?
        .ok_or_else(|| {
            StoreError::ActionNotFound(aerie_core::ActionId {
                run: run.clone(),
                name: action.clone(),
            })
        })?;
        event_from_row(&row)
    }

    /// The highest committed sequence of `run`.
    pub async fn last_seq(&self, run: &RunId) -> Result<i64, StoreError> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT last_seq FROM runs WHERE project = $1 AND domain = $2 AND name = $3",
        )
        .bind(run.project.as_str())
        .bind(run.domain.as_str())
        .bind(run.name.as_str())
        .fetch_optional(&self.pool)
        .await
        .during("reading the run's last sequence")?;
        row.map(|(seq,)| seq)
            .ok_or_else(|| StoreError::RunNotFound(run.clone()))
    }
}
