//! Statements on actions: insert, get, list, and the versioned lifecycle update.

use crate::Store;
use crate::error::{DbContext, StoreError};
use crate::events;
use crate::query::{ListQuery, Page, SqlValue, WhereClause};
use crate::records::{ActionKind, ActionRecord, NewAction};
use crate::rows::{ACTION_COLUMNS, action_from_row, state_to_json};
use aerie_core::{ActionId, ActionPhase, ActionState, Org, RunId, Timestamp, TransitionError};
use sqlx::AssertSqlSafe;
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, Transaction};

/// How often an update is retried when another writer changed the action first.
const MAX_UPDATE_ATTEMPTS: usize = 32;

pub(crate) fn bind_all<'q>(
    mut query: Query<'q, Any, AnyArguments>,
    values: Vec<SqlValue>,
) -> Query<'q, Any, AnyArguments> {
    for value in values {
        query = match value {
            SqlValue::Int(number) => query.bind(number),
            SqlValue::Text(text) => query.bind(text),
        };
    }
    query
}

pub(crate) async fn insert_action_row(
    tx: &mut Transaction<'static, Any>,
    run: &RunId,
    org: &Org,
    new: &NewAction,
    now: Timestamp,
) -> Result<ActionRecord, StoreError> {
    let id = ActionId {
        run: run.clone(),
        name: new.name.clone(),
    };
    let inserted = sqlx::query(
        "INSERT INTO actions (project, domain, run_name, name, org, parent, kind, task_name, \
         task_version, spec, input_uri, run_output_base, action_group, phase, state, version, \
         created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 1, $16, $16) \
         ON CONFLICT DO NOTHING",
    )
    .bind(run.project.as_str())
    .bind(run.domain.as_str())
    .bind(run.name.as_str())
    .bind(new.name.as_str())
    .bind(org.as_str())
    .bind(new.parent.as_ref().map_or("", |parent| parent.as_str()))
    .bind(new.kind.as_i32())
    .bind(new.task_name.as_str())
    .bind(new.task_version.as_str())
    .bind(new.spec.clone())
    .bind(new.input_uri.as_str())
    .bind(new.run_output_base.as_str())
    .bind(new.group.as_str())
    .bind(new.state.phase.as_i32())
    .bind(state_to_json(&new.state))
    .bind(now.as_micros())
    .execute(&mut **tx)
    .await
    .during("inserting an action")?;
    if inserted.rows_affected() == 0 {
        return Err(StoreError::ActionAlreadyExists(id));
    }
    Ok(ActionRecord {
        id,
        org: org.clone(),
        parent: new.parent.clone(),
        kind: new.kind,
        task_name: new.task_name.clone(),
        task_version: new.task_version.clone(),
        spec: new.spec.clone(),
        input_uri: new.input_uri.clone(),
        run_output_base: new.run_output_base.clone(),
        group: new.group.clone(),
        state: new.state.clone(),
        version: 1,
        updated_at: now,
    })
}

impl Store {
    /// Adds `new` to the existing run `run` and appends its first event.
    pub async fn insert_action(
        &self,
        run: &RunId,
        new: NewAction,
    ) -> Result<ActionRecord, StoreError> {
        let now = Timestamp::now();
        let org = self.get_run(run).await?.org;
        let mut tx = self.pool.begin().await.during("starting a transaction")?;
        let seq = events::next_seq(&mut tx, run).await?;
        let record = insert_action_row(&mut tx, run, &org, &new, now).await?;
        events::append(
            &mut tx,
            run,
            seq,
            &record.id.name,
            record.parent.as_ref(),
            &record.state,
            now,
        )
        .await?;
        tx.commit().await.during("committing a new action")?;
        self.hub.committed(run, seq);
        Ok(record)
    }

    /// The action `id`.
    pub async fn get_action(&self, id: &ActionId) -> Result<ActionRecord, StoreError> {
        let sql = format!(
            "SELECT {ACTION_COLUMNS} FROM actions a \
             WHERE a.project = $1 AND a.domain = $2 AND a.run_name = $3 AND a.name = $4"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.run.project.as_str())
            .bind(id.run.domain.as_str())
            .bind(id.run.name.as_str())
            .bind(id.name.as_str())
            .fetch_optional(&self.pool)
            .await
            .during("reading an action")?
            .ok_or_else(|| StoreError::ActionNotFound(id.clone()))?;
        action_from_row(&row)
    }

    /// Actions of `run`, filtered, sorted and paged by `query`.
    pub async fn list_actions(
        &self,
        run: &RunId,
        query: &ListQuery,
    ) -> Result<Page<ActionRecord>, StoreError> {
        self.get_run(run).await?;
        let mut clause = WhereClause::default();
        clause.push(
            "a.project",
            "=",
            SqlValue::Text(run.project.as_str().into()),
        );
        clause.push("a.domain", "=", SqlValue::Text(run.domain.as_str().into()));
        clause.push("a.run_name", "=", SqlValue::Text(run.name.as_str().into()));
        for filter in &query.filters {
            clause.add_filter(filter)?;
        }
        let sql = format!(
            "SELECT {ACTION_COLUMNS} FROM actions a \
             JOIN runs r ON r.project = a.project AND r.domain = a.domain AND r.name = a.run_name \
             {} {}",
            clause.sql(),
            query.order_and_window()?
        );
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql)), clause.values)
            .fetch_all(&self.pool)
            .await
            .during("listing actions")?;
        let items = rows
            .iter()
            .map(action_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        query.page_of(items)
    }

    /// Task actions in any of `phases`, oldest change first, at most `limit`.
    pub async fn tasks_in_phases(
        &self,
        phases: &[ActionPhase],
        limit: u32,
    ) -> Result<Vec<ActionRecord>, StoreError> {
        let mut clause = WhereClause::default();
        clause.push(
            "a.kind",
            "=",
            SqlValue::Int(ActionKind::Task.as_i32().into()),
        );
        let placeholders: Vec<String> = phases
            .iter()
            .map(|phase| {
                clause.values.push(SqlValue::Int(phase.as_i32().into()));
                format!("${}", clause.values.len())
            })
            .collect();
        clause
            .conditions
            .push(format!("a.phase IN ({})", placeholders.join(", ")));
        let sql = format!(
            "SELECT {ACTION_COLUMNS} FROM actions a {} ORDER BY a.updated_at LIMIT {limit}",
            clause.sql()
        );
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql)), clause.values)
            .fetch_all(&self.pool)
            .await
            .during("reading actions by phase")?;
        rows.iter().map(action_from_row).collect()
    }

    /// Applies `change` to the action's lifecycle record and appends the event, in one
    /// transaction. The change runs against the latest record; if another writer committed in
    /// between, it is re-run on the newer record. A change the rules refuse leaves the action
    /// as it was.
    pub async fn update_action<F>(
        &self,
        id: &ActionId,
        change: F,
    ) -> Result<ActionRecord, StoreError>
    where
        F: Fn(&mut ActionState) -> Result<(), TransitionError>,
    {
        for _ in 0..MAX_UPDATE_ATTEMPTS {
            let mut record = self.get_action(id).await?;
            let mut state = record.state.clone();
            change(&mut state).map_err(|source| StoreError::Transition {
                action: id.clone(),
                source,
            })?;
            let now = Timestamp::now();
            let mut tx = self.pool.begin().await.during("starting a transaction")?;
            let updated = sqlx::query(
                "UPDATE actions SET state = $1, phase = $2, version = version + 1, updated_at = $3 \
                 WHERE project = $4 AND domain = $5 AND run_name = $6 AND name = $7 AND version = $8",
            )
            .bind(state_to_json(&state))
            .bind(state.phase.as_i32())
            .bind(now.as_micros())
            .bind(id.run.project.as_str())
            .bind(id.run.domain.as_str())
            .bind(id.run.name.as_str())
            .bind(id.name.as_str())
            .bind(record.version)
            .execute(&mut *tx)
            .await
            .during("updating an action")?;
            if updated.rows_affected() == 0 {
                tx.rollback().await.during("rolling back a stale update")?;
                continue;
            }
            let seq = events::next_seq(&mut tx, &id.run).await?;
            events::append(
                &mut tx,
                &id.run,
                seq,
                &id.name,
                record.parent.as_ref(),
                &state,
                now,
            )
            .await?;
            tx.commit().await.during("committing an action change")?;
            self.hub.committed(&id.run, seq);
            record.state = state;
            record.version += 1;
            record.updated_at = now;
            return Ok(record);
        }
        Err(StoreError::Contention(id.clone()))
    }
}
