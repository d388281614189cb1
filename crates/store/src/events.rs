//! The per-run event log: one event per action change, appended in the change's transaction,
//! read by watchers after the last sequence they saw, and pruned once a run is over.
//!
//! # Pruning rule
//! A run's events are deleted once every action of the run has ended and the last of them
//! ended before the cut-off the caller gives (see `Store::prune_events`). Nothing else needs
//! them by then: every watch starts from the action rows, which keep each action's final state
//! and the sequence of its last change; only a watcher that was already behind for longer than
//! the grace period finds its events gone, and it then re-reads the action rows.

use crate::Store;
use crate::error::{DbContext, StoreError};
use crate::records::ActionEvent;
use crate::rows::event_from_row;
use aerie_core::{ActionName, RunId, Timestamp};
use sqlx::{AnyConnection, AssertSqlSafe};

/// Events per multi-row insert (8 values each, well under every backend's parameter limit).
const EVENTS_PER_INSERT: usize = 64;

/// One event waiting to be written.
struct PendingEvent {
    run: RunId,
    seq: i64,
    action: ActionName,
    parent: Option<ActionName>,
    state_json: String,
    created_at: Timestamp,
}

/// The events of a batch, written together just before it commits.
#[derive(Default)]
pub(crate) struct PendingEvents {
    events: Vec<PendingEvent>,
}

impl PendingEvents {
    /// Queues the event of one change; `state_json` is the action's state after it.
    pub fn push(
        &mut self,
        run: &RunId,
        seq: i64,
        action: &ActionName,
        parent: Option<&ActionName>,
        state_json: String,
        created_at: Timestamp,
    ) {
        self.events.push(PendingEvent {
            run: run.clone(),
            seq,
            action: action.clone(),
            parent: parent.cloned(),
            state_json,
            created_at,
        });
    }

    /// Writes every queued event with as few statements as possible.
    pub async fn flush(&mut self, connection: &mut AnyConnection) -> Result<(), StoreError> {
        for chunk in self.events.chunks(EVENTS_PER_INSERT) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|row| {
                    let first = row * 8;
                    let placeholders: Vec<String> = (1..=8)
                        .map(|column| format!("${}", first + column))
                        .collect();
                    format!("({})", placeholders.join(", "))
                })
                .collect();
            let sql = format!(
                "INSERT INTO events (project, domain, run_name, seq, action_name, parent, state, created_at) \
                 VALUES {}",
                rows.join(", ")
            );
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for event in chunk {
                query = query
                    .bind(event.run.project.as_str())
                    .bind(event.run.domain.as_str())
                    .bind(event.run.name.as_str())
                    .bind(event.seq)
                    .bind(event.action.as_str())
                    .bind(event.parent.as_ref().map_or("", ActionName::as_str))
                    .bind(event.state_json.as_str())
                    .bind(event.created_at.as_micros());
            }
            query
                .execute(&mut *connection)
                .await
                .during("appending events")?;
        }
        self.events.clear();
        Ok(())
    }
}

/// The SQL list of every phase in which an action has not ended.
fn unfinished_phases() -> String {
    crate::actions::unfinished()
        .iter()
        .map(|phase| phase.as_i32().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Deletes the events of runs that are over and whose last action ended before
/// `finished_before` (the module's pruning rule). Returns how many events went.
pub(crate) async fn apply_prune(
    connection: &mut AnyConnection,
    finished_before: Timestamp,
) -> Result<u64, StoreError> {
    let unfinished = unfinished_phases();
    // Runs still holding events whose actions have all ended, and ended long enough ago.
    let over: Vec<(String, String, String)> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT r.project, r.domain, r.name FROM runs r \
         WHERE r.events_pruned_at = 0 \
         AND NOT EXISTS (SELECT 1 FROM actions a WHERE a.project = r.project AND a.domain = r.domain \
             AND a.run_name = r.name AND (a.phase IN ({unfinished}) OR a.updated_at >= $1)) \
         LIMIT 500"
    )))
    .bind(finished_before.as_micros())
    .fetch_all(&mut *connection)
    .await
    .during("finding runs whose events can go")?;
    let mut deleted = 0;
    let now = Timestamp::now().as_micros();
    for (project, domain, name) in over {
        deleted +=
            sqlx::query("DELETE FROM events WHERE project = $1 AND domain = $2 AND run_name = $3")
                .bind(&project)
                .bind(&domain)
                .bind(&name)
                .execute(&mut *connection)
                .await
                .during("pruning events")?
                .rows_affected();
        sqlx::query(
            "UPDATE runs SET events_pruned_at = $1 WHERE project = $2 AND domain = $3 AND name = $4",
        )
        .bind(now)
        .bind(&project)
        .bind(&domain)
        .bind(&name)
        .execute(&mut *connection)
        .await
        .during("marking a run's events pruned")?;
    }
    Ok(deleted)
}

impl Store {
    /// Events of `run` with a sequence above `after_seq`, oldest first, at most `limit`.
    pub async fn events_after(
        &self,
        run: &RunId,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<ActionEvent>, StoreError> {
        let sql = format!(
            "SELECT seq, action_name, parent, state, created_at FROM events \
             WHERE project = $1 AND domain = $2 AND run_name = $3 AND seq > $4 \
             ORDER BY seq LIMIT {limit}"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(run.project.as_str())
            .bind(run.domain.as_str())
            .bind(run.name.as_str())
            .bind(after_seq)
            .fetch_all(&self.reads)
            .await
            .during("reading events")?;
        rows.iter().map(event_from_row).collect()
    }

    /// The highest committed sequence of `run`.
    pub async fn last_seq(&self, run: &RunId) -> Result<i64, StoreError> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT last_seq FROM runs WHERE project = $1 AND domain = $2 AND name = $3",
        )
        .bind(run.project.as_str())
        .bind(run.domain.as_str())
        .bind(run.name.as_str())
        .fetch_optional(&self.reads)
        .await
        .during("reading the run's last sequence")?;
        row.map(|(seq,)| seq)
            .ok_or_else(|| StoreError::RunNotFound(run.clone()))
    }

    /// Prunes the events of runs that ended before `finished_before` (the module's rule);
    /// returns how many events were deleted.
    pub async fn prune_events(&self, finished_before: Timestamp) -> Result<u64, StoreError> {
        self.writer
            .submit(|reply| crate::writer::WriteOp::PruneEvents {
                finished_before,
                reply,
            })
            .await
    }
}
