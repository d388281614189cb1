//! Statements on runs: create (with the root action, in one transaction), get and list.

use crate::Store;
use crate::actions::insert_action_row;
use crate::error::{DbContext, StoreError};
use crate::events;
use crate::query::{ListQuery, Page, SqlValue, WhereClause};
use crate::records::{ActionRecord, NewRun, RunRecord};
use crate::rows::{ACTION_COLUMNS, RUN_COLUMNS, action_from_row, run_from_row};
use aerie_core::{Domain, Project, RunId, Timestamp};
use sqlx::AssertSqlSafe;

/// A run with its root action, as run lists return it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunWithRoot {
    pub run: RunRecord,
    pub root: ActionRecord,
}

impl Store {
    /// Stores `new` and its root action and appends the root's first event, all in one
    /// transaction, so an accepted run is never lost or half-made.
    pub async fn create_run(&self, new: NewRun) -> Result<RunWithRoot, StoreError> {
        let now = Timestamp::now();
        let mut tx = self.pool.begin().await.during("starting a transaction")?;
        let inserted = sqlx::query(
            "INSERT INTO runs (project, domain, name, org, created_at, created_by, run_spec, last_seq) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0) ON CONFLICT DO NOTHING",
        )
        .bind(new.id.project.as_str())
        .bind(new.id.domain.as_str())
        .bind(new.id.name.as_str())
        .bind(new.org.as_str())
        .bind(now.as_micros())
        .bind(new.created_by.as_str())
        .bind(new.run_spec.clone())
        .execute(&mut *tx)
        .await
        .during("inserting a run")?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::RunAlreadyExists(new.id));
        }
        let root = insert_action_row(&mut tx, &new.id, &new.org, &new.root, now).await?;
        let seq = events::next_seq(&mut tx, &new.id).await?;
        events::append(&mut tx, &new.id, seq, &root.id.name, None, &root.state, now).await?;
        tx.commit().await.during("committing a new run")?;
        self.hub.committed(&new.id, seq);
        let run = RunRecord {
            id: new.id,
            org: new.org,
            created_at: now,
            created_by: new.created_by,
            run_spec: new.run_spec,
        };
        Ok(RunWithRoot { run, root })
    }

    /// The run `id`.
    pub async fn get_run(&self, id: &RunId) -> Result<RunRecord, StoreError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs r WHERE r.project = $1 AND r.domain = $2 AND r.name = $3"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(id.project.as_str())
            .bind(id.domain.as_str())
            .bind(id.name.as_str())
            .fetch_optional(&self.pool)
            .await
            .during("reading a run")?
            .ok_or_else(|| StoreError::RunNotFound(id.clone()))?;
        run_from_row(&row, "r_")
    }

    /// Runs of `project` (and `domain`, when given) with their root actions, filtered, sorted
    /// and paged by `query` (filters apply to the root action and the run's creator).
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
        clause.push("a.name", "=", SqlValue::Text("a0".into()));
        for filter in &query.filters {
            clause.add_filter(filter)?;
        }
        let sql = format!(
            "SELECT {ACTION_COLUMNS}, {RUN_COLUMNS} FROM actions a \
             JOIN runs r ON r.project = a.project AND r.domain = a.domain AND r.name = a.run_name \
             {} {}",
            clause.sql(),
            query.order_and_window()?
        );
        let rows = crate::actions::bind_all(sqlx::query(AssertSqlSafe(sql)), clause.values)
            .fetch_all(&self.pool)
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
