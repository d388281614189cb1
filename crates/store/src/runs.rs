//! Statements on runs: create (with the root action, in one transaction), get and list.
//! Writes run on a writer lane (`crate::writer`); reads on the read pool.

use crate::Store;
use crate::actions::insert_action_row;
use crate::error::{DbContext, StoreError};
use crate::events::PendingEvents;
use crate::query::{ListQuery, Page, SqlValue, WhereClause};
use crate::records::{ActionRecord, Change, NewRun, RunRecord};
use crate::rows::{ACTION_COLUMNS, RUN_COLUMNS, action_from_row, run_from_row};
use crate::triggers;
use crate::writer::WriteOp;
use aerie_core::{Domain, Project, RunId, Timestamp};
use sqlx::{AnyConnection, AssertSqlSafe};
use std::sync::Arc;

/// A run with its root action, as run lists return it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunWithRoot {
    pub run: RunRecord,
    pub root: ActionRecord,
}

/// Inserts `new` and its root action (sequence 1) and queues the root's first event. A
/// scheduled fire first claims its trigger's due instant; a fire already taken (or a trigger
/// changed since) refuses the run with [`StoreError::StaleFire`].
pub(crate) async fn apply_create_run(
    connection: &mut AnyConnection,
    new: &NewRun,
    events: &mut PendingEvents,
) -> Result<(RunWithRoot, Vec<Arc<Change>>), StoreError> {
    let now = Timestamp::now();
    if let Some(trigger) = &new.trigger {
        triggers::record_fire(connection, &new.id, trigger, new.fire.as_ref(), now).await?;
    }
    let scheduled_at = new
        .trigger
        .as_ref()
        .and_then(|trigger| trigger.scheduled_at)
        .map(Timestamp::as_micros);
    let inserted = sqlx::query(
        "INSERT INTO runs (project, domain, name, org, created_at, created_by, run_spec, last_seq, \
         trigger_task, trigger_name, trigger_revision, scheduled_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, $10, $11) ON CONFLICT DO NOTHING",
    )
    .bind(new.id.project.as_str())
    .bind(new.id.domain.as_str())
    .bind(new.id.name.as_str())
    .bind(new.org.as_str())
    .bind(now.as_micros())
    .bind(new.created_by.as_str())
    .bind(new.run_spec.as_slice())
    .bind(
        new.trigger
            .as_ref()
            .map_or("", |trigger| trigger.task_name.as_str()),
    )
    .bind(
        new.trigger
            .as_ref()
            .map_or("", |trigger| trigger.name.as_str()),
    )
    .bind(new.trigger.as_ref().map_or(0, |trigger| trigger.revision))
    .bind(scheduled_at)
    .execute(&mut *connection)
    .await
    .during("inserting a run")?;
    if inserted.rows_affected() == 0 {
        return Err(StoreError::RunAlreadyExists(new.id.clone()));
    }
    for (key, value) in &new.labels {
        sqlx::query(
            "INSERT INTO run_labels (project, domain, run_name, key, value) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(new.id.project.as_str())
        .bind(new.id.domain.as_str())
        .bind(new.id.name.as_str())
        .bind(key.as_str())
        .bind(value.as_str())
        .execute(&mut *connection)
        .await
        .during("inserting a run label")?;
    }
    let root = insert_action_row(connection, &new.id, &new.org, &new.root, 1, now, events).await?;
    let run = Arc::new(RunRecord {
        id: new.id.clone(),
        org: new.org.clone(),
        created_at: now,
        created_by: new.created_by.clone(),
        run_spec: new.run_spec.clone(),
        trigger: new.trigger.clone(),
    });
    let change = Arc::new(Change {
        record: root.clone(),
        run: Some(Arc::clone(&run)),
    });
    Ok((
        RunWithRoot {
            run: (*run).clone(),
            root,
        },
        vec![change],
    ))
}

/// Reads the run `id` through `executor` (the read pool, or a writer's connection).
pub(crate) async fn read_run<'e, E>(executor: E, id: &RunId) -> Result<RunRecord, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let sql = format!(
        "SELECT {RUN_COLUMNS} FROM runs r WHERE r.project = $1 AND r.domain = $2 AND r.name = $3"
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(id.project.as_str())
        .bind(id.domain.as_str())
        .bind(id.name.as_str())
        .fetch_optional(executor)
        .await
        .during("reading a run")?
        .ok_or_else(|| StoreError::RunNotFound(id.clone()))?;
    run_from_row(&row, "r_")
}

impl Store {
    /// Stores `new` and its root action and appends the root's first event, all in one
    /// transaction, so an accepted run is never lost or half-made. Returns once durable.
    pub async fn create_run(&self, new: NewRun) -> Result<RunWithRoot, StoreError> {
        self.writer
            .submit(|reply| WriteOp::CreateRun {
                new: Box::new(new),
                reply,
            })
            .await
    }

    /// The run `id` (from memory when it was read or written recently).
    pub async fn get_run(&self, id: &RunId) -> Result<RunRecord, StoreError> {
        if let Some(run) = self.runs.known(id) {
            return Ok((*run).clone());
        }
        let run = read_run(&self.reads, id).await?;
        self.runs.remember(&Arc::new(run.clone()));
        Ok(run)
    }

    /// Runs of `project` (and `domain`, when given) with their root actions, filtered, sorted
    /// and paged by `query` (filters apply to the root action, the run's creator and its
    /// labels; `paused_only` to every action of the run).
    pub async fn list_runs(
        &self,
        project: &Project,
        domain: Option<&Domain>,
        query: &ListQuery,
    ) -> Result<Page<RunWithRoot>, StoreError> {
        let mut clause = WhereClause::default();
        clause.push("a.project", "=", SqlValue::Text(project.as_str().into()));
        if let Some(domain) = domain {
            clause.push("a.domain", "=", SqlValue::Text(domain.as_str().into()));
        }
        // Root actions are the ones without a parent (the partial index `actions_roots`).
        clause.conditions.push("a.parent = ''".to_owned());
        for filter in &query.filters {
            clause.add_filter(filter)?;
        }
        for label in &query.labels {
            clause.add_label(label);
        }
        if query.paused_only {
            // A number, so it goes into the statement as such.
            clause.conditions.push(format!(
                "EXISTS (SELECT 1 FROM actions p WHERE p.project = a.project \
                 AND p.domain = a.domain AND p.run_name = a.run_name AND p.phase = {})",
                aerie_core::ActionPhase::Paused.as_i32()
            ));
        }
        let sql = format!(
            "SELECT {ACTION_COLUMNS}, {RUN_COLUMNS} FROM actions a \
             JOIN runs r ON r.project = a.project AND r.domain = a.domain AND r.name = a.run_name \
             {} {}",
            clause.sql(),
            query.order_and_window()?
        );
        let rows = crate::actions::bind_all(sqlx::query(AssertSqlSafe(sql)), clause.values)
            .fetch_all(&self.reads)
            .await
            .during("listing runs")?;
        let items = rows
            .iter()
            .map(|row| {
                Ok(RunWithRoot {
                    run: run_from_row(row, "r_")?,
                    root: action_from_row(row)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        query.page_of(items)
    }
}
