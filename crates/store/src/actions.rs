//! Statements on actions: insert, the versioned lifecycle update, and the reads the engine and
//! the server need (one action, a page of a run's actions, children, unfinished work).
//! Writes run on a writer lane (`crate::writer`); reads on the read pool.

use crate::Store;
use crate::error::{DbContext, StoreError};
use crate::events::PendingEvents;
use crate::query::{ListQuery, Page, SqlValue, WhereClause};
use crate::records::{ActionRecord, Change, NewAction, RunRecord};
use crate::rows::{ACTION_COLUMNS, action_from_row, spec_to_json, state_to_json};
use crate::task_cache::CacheEntry;
use crate::writer::{StateChange, WriteOp};
use aerie_core::{
    ActionId, ActionKind, ActionName, ActionPhase, ActionSpec, Org, RunId, Timestamp,
};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, AssertSqlSafe, Row};
use std::sync::Arc;

/// How often an update is re-applied when the action changed since the caller read it.
const MAX_UPDATE_ATTEMPTS: usize = 8;

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

fn bind_all_as<'q, O>(
    mut query: sqlx::query::QueryAs<'q, Any, O, AnyArguments>,
    values: Vec<SqlValue>,
) -> sqlx::query::QueryAs<'q, Any, O, AnyArguments> {
    for value in values {
        query = match value {
            SqlValue::Int(number) => query.bind(number),
            SqlValue::Text(text) => query.bind(text),
        };
    }
    query
}

/// Inserts the action row of `new` at sequence `seq` and queues its first event.
pub(crate) async fn insert_action_row(
    connection: &mut AnyConnection,
    run: &RunId,
    org: &Org,
    new: &NewAction,
    seq: i64,
    now: Timestamp,
    events: &mut PendingEvents,
) -> Result<ActionRecord, StoreError> {
    let id = ActionId {
        run: run.clone(),
        name: new.name.clone(),
    };
    let state_json = state_to_json(&new.state);
    let inserted = sqlx::query(
        "INSERT INTO actions (project, domain, run_name, name, org, parent, kind, task_name, \
         task_version, spec, action_spec, input_uri, run_output_base, action_group, phase, state, \
         version, seq, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 1, $17, $18, $18) \
         ON CONFLICT DO NOTHING",
    )
    .bind(run.project.as_str())
    .bind(run.domain.as_str())
    .bind(run.name.as_str())
    .bind(new.name.as_str())
    .bind(org.as_str())
    .bind(new.parent.as_ref().map_or("", |parent| parent.as_str()))
    .bind(new.spec.kind.as_i32())
    .bind(new.spec.task.name.as_str())
    .bind(new.spec.task.version.as_str())
    .bind(new.wire_spec.as_slice())
    .bind(spec_to_json(&new.spec))
    .bind(new.input_uri.as_str())
    .bind(new.run_output_base.as_str())
    .bind(new.group.as_str())
    .bind(new.state.phase.as_i32())
    .bind(state_json.as_str())
    .bind(seq)
    .bind(now.as_micros())
    .execute(&mut *connection)
    .await
    .during("inserting an action")?;
    if inserted.rows_affected() == 0 {
        return Err(StoreError::ActionAlreadyExists(id));
    }
    events.push(run, seq, &new.name, new.parent.as_ref(), state_json, now);
    Ok(ActionRecord {
        id,
        org: org.clone(),
        parent: new.parent.clone(),
        spec: Arc::new(new.spec.clone()),
        input_uri: new.input_uri.clone(),
        run_output_base: new.run_output_base.clone(),
        group: new.group.clone(),
        state: new.state.clone(),
        version: 1,
        seq,
        updated_at: now,
    })
}

/// Adds `new` to the run and queues its first event; refuses an unknown run or a duplicate
/// name before writing anything.
pub(crate) async fn apply_insert_action(
    connection: &mut AnyConnection,
    run: &RunId,
    new: &NewAction,
    events: &mut PendingEvents,
) -> Result<(ActionRecord, Vec<Arc<Change>>), StoreError> {
    let found: Option<(String, i64)> = sqlx::query_as(
        "SELECT org, last_seq FROM runs WHERE project = $1 AND domain = $2 AND name = $3",
    )
    .bind(run.project.as_str())
    .bind(run.domain.as_str())
    .bind(run.name.as_str())
    .fetch_optional(&mut *connection)
    .await
    .during("reading the run of a new action")?;
    let (org, last_seq) = found.ok_or_else(|| StoreError::RunNotFound(run.clone()))?;
    let org = Org::parse(&org).map_err(|err| StoreError::corrupt("org", err))?;
    let seq = last_seq + 1;
    let record =
        insert_action_row(connection, run, &org, new, seq, Timestamp::now(), events).await?;
    // The trigger `actions_seq_after_insert` moved the run's last sequence to `seq`.
    Ok((record.clone(), vec![Arc::new(Change { record, run: None })]))
}

/// Applies `change` to the action the caller holds; if the action changed since, re-reads it
/// and re-applies `change` to the newer state. Refusals write nothing.
pub(crate) async fn apply_update_action(
    connection: &mut AnyConnection,
    held: &ActionRecord,
    change: &StateChange,
    events: &mut PendingEvents,
    runs: &RunsSeen,
) -> Result<(ActionRecord, Vec<Arc<Change>>), StoreError> {
    let mut current = held.clone();
    for _ in 0..MAX_UPDATE_ATTEMPTS {
        let mut state = current.state.clone();
        change(&mut state).map_err(|source| StoreError::Transition {
            action: current.id.clone(),
            source,
        })?;
        let now = Timestamp::now();
        let state_json = state_to_json(&state);
        let id = &current.id;
        // The trigger `actions_seq_after_update` moves the run's last sequence along.
        let updated: Option<(i64,)> = sqlx::query_as(
            "UPDATE actions SET state = $1, phase = $2, version = version + 1, updated_at = $3, \
             seq = (SELECT last_seq + 1 FROM runs WHERE project = $4 AND domain = $5 AND name = $6) \
             WHERE project = $4 AND domain = $5 AND run_name = $6 AND name = $7 AND version = $8 \
             RETURNING seq",
        )
        .bind(state_json.as_str())
        .bind(state.phase.as_i32())
        .bind(now.as_micros())
        .bind(id.run.project.as_str())
        .bind(id.run.domain.as_str())
        .bind(id.run.name.as_str())
        .bind(id.name.as_str())
        .bind(current.version)
        .fetch_optional(&mut *connection)
        .await
        .during("updating an action")?;
        let Some((seq,)) = updated else {
            current = read_action(connection, id).await?;
            continue;
        };
        let run = if current.parent.is_none() {
            Some(runs.get(connection, &id.run).await?)
        } else {
            None
        };
        events.push(
            &id.run,
            seq,
            &id.name,
            current.parent.as_ref(),
            state_json,
            now,
        );
        current.state = state;
        current.version += 1;
        current.seq = seq;
        current.updated_at = now;
        let change = Arc::new(Change {
            record: current.clone(),
            run,
        });
        return Ok((current, vec![change]));
    }
    Err(StoreError::Contention(held.id.clone()))
}

/// Runs read or written recently, so a root change carries its run (run watchers render its
/// labels) and a root's details name its run without reading it again. Runs never change once
/// created, so any reader may remember one.
#[derive(Debug, Default)]
pub(crate) struct RunsSeen {
    runs: std::sync::Mutex<std::collections::HashMap<RunId, Arc<RunRecord>>>,
}

/// Runs remembered before the memory starts over.
const RUNS_SEEN: usize = 4096;

impl RunsSeen {
    /// Remembers `run` (after its creation committed).
    pub fn remember(&self, run: &Arc<RunRecord>) {
        let mut runs = self.runs.lock().expect("runs seen lock poisoned");
        if runs.len() >= RUNS_SEEN {
            runs.clear();
        }
        runs.insert(run.id.clone(), Arc::clone(run));
    }

    /// The run `id`, if remembered.
    pub fn known(&self, id: &RunId) -> Option<Arc<RunRecord>> {
        self.runs
            .lock()
            .expect("runs seen lock poisoned")
            .get(id)
            .cloned()
    }

    /// The run `id`, from memory or else the database.
    async fn get(
        &self,
        connection: &mut AnyConnection,
        id: &RunId,
    ) -> Result<Arc<RunRecord>, StoreError> {
        if let Some(run) = self.known(id) {
            return Ok(run);
        }
        let run = Arc::new(crate::runs::read_run(&mut *connection, id).await?);
        self.remember(&run);
        Ok(run)
    }
}

/// Writes the typed spec of each action in `specs` that has none yet.
pub(crate) async fn apply_fill_specs(
    connection: &mut AnyConnection,
    specs: &[(ActionId, ActionSpec)],
) -> Result<usize, StoreError> {
    let mut filled = 0;
    for (id, spec) in specs {
        let updated = sqlx::query(
            "UPDATE actions SET action_spec = $1 \
             WHERE project = $2 AND domain = $3 AND run_name = $4 AND name = $5 AND action_spec = ''",
        )
        .bind(spec_to_json(spec))
        .bind(id.run.project.as_str())
        .bind(id.run.domain.as_str())
        .bind(id.run.name.as_str())
        .bind(id.name.as_str())
        .execute(&mut *connection)
        .await
        .during("filling in an action's spec")?;
        filled += usize::try_from(updated.rows_affected()).unwrap_or(0);
    }
    Ok(filled)
}

const SELECT_ONE_ACTION: &str =
    "WHERE a.project = $1 AND a.domain = $2 AND a.run_name = $3 AND a.name = $4";

async fn read_action(
    connection: &mut AnyConnection,
    id: &ActionId,
) -> Result<ActionRecord, StoreError> {
    let sql = format!("SELECT {ACTION_COLUMNS} FROM actions a {SELECT_ONE_ACTION}");
    let row = bind_id(sqlx::query(AssertSqlSafe(sql)), id)
        .fetch_optional(&mut *connection)
        .await
        .during("reading an action")?
        .ok_or_else(|| StoreError::ActionNotFound(id.clone()))?;
    action_from_row(&row)
}

/// `query` with `id`'s project, domain, run name and action name bound as its next four
/// parameters.
pub(crate) fn bind_id<'q>(
    query: Query<'q, Any, AnyArguments>,
    id: &'q ActionId,
) -> Query<'q, Any, AnyArguments> {
    query
        .bind(id.run.project.as_str())
        .bind(id.run.domain.as_str())
        .bind(id.run.name.as_str())
        .bind(id.name.as_str())
}

fn records(rows: &[AnyRow]) -> Result<Vec<ActionRecord>, StoreError> {
    rows.iter().map(action_from_row).collect()
}

/// `phase IN (…)` over `phases`, bound into `clause`.
fn phase_in(clause: &mut WhereClause, phases: &[ActionPhase]) {
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
}

/// Every phase in which an action has not ended.
pub(crate) fn unfinished() -> Vec<ActionPhase> {
    ActionPhase::ALL
        .into_iter()
        .filter(|phase| !phase.is_terminal())
        .collect()
}

fn run_clause(run: &RunId) -> WhereClause {
    let mut clause = WhereClause::default();
    clause.push(
        "a.project",
        "=",
        SqlValue::Text(run.project.as_str().into()),
    );
    clause.push("a.domain", "=", SqlValue::Text(run.domain.as_str().into()));
    clause.push("a.run_name", "=", SqlValue::Text(run.name.as_str().into()));
    clause
}

/// An action stored before typed specs were kept: its id, kind and wire spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpeclessAction {
    pub id: ActionId,
    pub kind: ActionKind,
    pub wire_spec: Vec<u8>,
}

impl Store {
    /// Fills in the typed spec of every action stored before typed specs were kept (database
    /// migration 0002), decoding each stored wire spec with `decode`. Returns how many were
    /// filled. Run once at start, before anything reads actions.
    pub async fn fill_missing_specs(
        &self,
        decode: impl Fn(&SpeclessAction) -> ActionSpec,
    ) -> Result<usize, StoreError> {
        let mut filled = 0;
        loop {
            let rows = sqlx::query(
                "SELECT project, domain, run_name, name, kind, spec FROM actions \
                 WHERE action_spec = '' LIMIT 500",
            )
            .fetch_all(&self.reads)
            .await
            .during("finding actions without a typed spec")?;
            if rows.is_empty() {
                return Ok(filled);
            }
            let mut specs = Vec::with_capacity(rows.len());
            for row in &rows {
                let text = |column: &str| row.try_get::<String, _>(column).during("reading a row");
                let id = ActionId {
                    run: RunId {
                        project: text("project")?
                            .parse()
                            .map_err(|e| StoreError::corrupt("project", e))?,
                        domain: text("domain")?
                            .parse()
                            .map_err(|e| StoreError::corrupt("domain", e))?,
                        name: text("run_name")?
                            .parse()
                            .map_err(|e| StoreError::corrupt("run name", e))?,
                    },
                    name: text("name")?
                        .parse()
                        .map_err(|e| StoreError::corrupt("action name", e))?,
                };
                let kind_number: i64 = row.try_get("kind").during("reading a row")?;
                let kind = i32::try_from(kind_number)
                    .ok()
                    .and_then(ActionKind::from_i32)
                    .ok_or_else(|| StoreError::corrupt("action kind", kind_number))?;
                let stored = SpeclessAction {
                    id,
                    kind,
                    wire_spec: row.try_get("spec").during("reading a row")?,
                };
                specs.push((stored.id.clone(), decode(&stored)));
            }
            filled += self
                .writer
                .submit(|reply| WriteOp::FillSpecs { specs, reply })
                .await?;
        }
    }

    /// The actions matching `clause`, followed by `order` (ORDER BY and LIMIT, or nothing).
    async fn select_actions(
        &self,
        clause: WhereClause,
        order: &str,
        op: &'static str,
    ) -> Result<Vec<ActionRecord>, StoreError> {
        let sql = format!(
            "SELECT {ACTION_COLUMNS} FROM actions a {} {order}",
            clause.sql()
        );
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql)), clause.values)
            .fetch_all(&self.reads)
            .await
            .during(op)?;
        records(&rows)
    }

    /// Adds `new` to the existing run `run` and appends its first event; returns once durable.
    pub async fn insert_action(
        &self,
        run: &RunId,
        new: NewAction,
    ) -> Result<ActionRecord, StoreError> {
        self.writer
            .submit(|reply| WriteOp::InsertAction {
                run: run.clone(),
                new: Box::new(new),
                reply,
            })
            .await
    }

    /// Applies `change` to the lifecycle record of `held` and appends the event, in one
    /// transaction, and returns the action as committed (once durable). If the action changed
    /// since `held` was read, `change` is re-run on the newer record; a change the rules refuse
    /// leaves the action as it was.
    pub async fn update_action<F>(
        &self,
        held: &ActionRecord,
        change: F,
    ) -> Result<ActionRecord, StoreError>
    where
        F: Fn(&mut aerie_core::ActionState) -> Result<(), aerie_core::TransitionError>
            + Send
            + Sync
            + 'static,
    {
        self.submit_update(held, Box::new(change), None).await
    }

    /// [`Store::update_action`], storing `entry` in the task cache in the same transaction if
    /// the change leaves the action SUCCEEDED with its cache status POPULATED.
    pub async fn update_action_storing<F>(
        &self,
        held: &ActionRecord,
        change: F,
        entry: CacheEntry,
    ) -> Result<ActionRecord, StoreError>
    where
        F: Fn(&mut aerie_core::ActionState) -> Result<(), aerie_core::TransitionError>
            + Send
            + Sync
            + 'static,
    {
        self.submit_update(held, Box::new(change), Some(Box::new(entry)))
            .await
    }

    async fn submit_update(
        &self,
        held: &ActionRecord,
        change: StateChange,
        cache_put: Option<Box<CacheEntry>>,
    ) -> Result<ActionRecord, StoreError> {
        self.writer
            .submit(|reply| WriteOp::UpdateAction {
                held: Box::new(held.clone()),
                change,
                cache_put,
                reply,
            })
            .await
    }

    /// The action `id`.
    pub async fn get_action(&self, id: &ActionId) -> Result<ActionRecord, StoreError> {
        if let Some(cached) = self.cache.get(id) {
            return Ok(cached.record);
        }
        let sql = format!("SELECT {ACTION_COLUMNS} FROM actions a {SELECT_ONE_ACTION}");
        let row = bind_id(sqlx::query(AssertSqlSafe(sql)), id)
            .fetch_optional(&self.reads)
            .await
            .during("reading an action")?
            .ok_or_else(|| StoreError::ActionNotFound(id.clone()))?;
        action_from_row(&row)
    }

    /// The action `id` and the encoded wire spec it was created from, in one read.
    pub async fn get_action_with_wire_spec(
        &self,
        id: &ActionId,
    ) -> Result<(ActionRecord, Arc<[u8]>), StoreError> {
        if let Some(cached) = self.cache.get(id) {
            return Ok((cached.record, cached.wire_spec));
        }
        let sql = format!("SELECT {ACTION_COLUMNS}, a.spec FROM actions a {SELECT_ONE_ACTION}");
        let row = bind_id(sqlx::query(AssertSqlSafe(sql)), id)
            .fetch_optional(&self.reads)
            .await
            .during("reading an action")?
            .ok_or_else(|| StoreError::ActionNotFound(id.clone()))?;
        let wire_spec: Vec<u8> = row.try_get("spec").during("reading an action's spec")?;
        Ok((action_from_row(&row)?, Arc::from(wire_spec)))
    }

    /// Actions of `run`, filtered, sorted and paged by `query`.
    pub async fn list_actions(
        &self,
        run: &RunId,
        query: &ListQuery,
    ) -> Result<Page<ActionRecord>, StoreError> {
        self.last_seq(run).await?;
        if !query.labels.is_empty() {
            return Err(StoreError::InvalidQuery(
                "labels belong to runs; actions cannot be filtered on them".into(),
            ));
        }
        let mut clause = run_clause(run);
        for filter in &query.filters {
            clause.add_filter(filter)?;
        }
        let needs_run = query
            .filters
            .iter()
            .any(|filter| filter.field == crate::FilterField::CreatedBy);
        let join = if needs_run {
            "JOIN runs r ON r.project = a.project AND r.domain = a.domain AND r.name = a.run_name"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {ACTION_COLUMNS} FROM actions a {join} {} {}",
            clause.sql(),
            query.order_and_window()?
        );
        let rows = bind_all(sqlx::query(AssertSqlSafe(sql)), clause.values)
            .fetch_all(&self.reads)
            .await
            .during("listing actions")?;
        query.page_of(records(&rows)?)
    }

    /// How many children each parent of `run` has in each phase, as `(parent, phase, count)`;
    /// one grouped read, so a page can show the shape of a large run before listing it.
    pub async fn child_phase_counts(
        &self,
        run: &RunId,
    ) -> Result<Vec<(ActionName, ActionPhase, u64)>, StoreError> {
        let rows: Vec<(String, i32, i64)> = sqlx::query_as(
            "SELECT parent, phase, COUNT(*) FROM actions \
             WHERE project = $1 AND domain = $2 AND run_name = $3 AND parent <> '' \
             GROUP BY parent, phase",
        )
        .bind(run.project.as_str())
        .bind(run.domain.as_str())
        .bind(run.name.as_str())
        .fetch_all(&self.reads)
        .await
        .during("counting children by phase")?;
        rows.into_iter()
            .map(|(parent, phase, count)| {
                let parent = parent
                    .parse()
                    .map_err(|err| StoreError::corrupt("a parent action name", err))?;
                let phase = ActionPhase::from_i32(phase)
                    .ok_or_else(|| StoreError::corrupt("an action phase", phase))?;
                Ok((parent, phase, u64::try_from(count).unwrap_or(0)))
            })
            .collect()
    }

    /// The direct children of `parent` that have not ended.
    pub async fn unfinished_children(
        &self,
        parent: &ActionId,
    ) -> Result<Vec<ActionRecord>, StoreError> {
        let mut clause = run_clause(&parent.run);
        clause.push("a.parent", "=", SqlValue::Text(parent.name.as_str().into()));
        phase_in(&mut clause, &unfinished());
        self.select_actions(clause, "", "reading unfinished children")
            .await
    }

    /// The direct children of `parent`, each with its latest state and sequence.
    pub async fn children(&self, parent: &ActionId) -> Result<Vec<ActionRecord>, StoreError> {
        let mut clause = run_clause(&parent.run);
        clause.push("a.parent", "=", SqlValue::Text(parent.name.as_str().into()));
        self.select_actions(clause, "ORDER BY a.created_at, a.name", "reading children")
            .await
    }

    /// Every action that has at least one child that has not ended.
    pub async fn parents_of_unfinished(&self) -> Result<Vec<ActionId>, StoreError> {
        let mut clause = WhereClause::default();
        phase_in(&mut clause, &unfinished());
        clause.conditions.push("a.parent <> ''".to_owned());
        let sql = format!(
            "SELECT DISTINCT a.project, a.domain, a.run_name, a.parent FROM actions a {}",
            clause.sql()
        );
        let rows: Vec<(String, String, String, String)> =
            bind_all_as(sqlx::query_as(AssertSqlSafe(sql)), clause.values)
                .fetch_all(&self.reads)
                .await
                .during("finding parents of unfinished actions")?;
        rows.into_iter()
            .map(|(project, domain, run, parent)| {
                Ok(ActionId {
                    run: RunId {
                        project: project
                            .parse()
                            .map_err(|e| StoreError::corrupt("project", e))?,
                        domain: domain
                            .parse()
                            .map_err(|e| StoreError::corrupt("domain", e))?,
                        name: run
                            .parse()
                            .map_err(|e| StoreError::corrupt("run name", e))?,
                    },
                    name: parent
                        .parse()
                        .map_err(|e| StoreError::corrupt("parent name", e))?,
                })
            })
            .collect()
    }

    /// Every action of `run` that has not ended.
    pub async fn unfinished_actions(&self, run: &RunId) -> Result<Vec<ActionRecord>, StoreError> {
        let mut clause = run_clause(run);
        phase_in(&mut clause, &unfinished());
        self.select_actions(clause, "", "reading a run's unfinished actions")
            .await
    }

    /// Actions of `kind` in any of `phases`, oldest change first, at most `limit` after skipping
    /// `offset`.
    pub async fn actions_in_phases(
        &self,
        kind: ActionKind,
        phases: &[ActionPhase],
        limit: u32,
        offset: u64,
    ) -> Result<Vec<ActionRecord>, StoreError> {
        let mut clause = WhereClause::default();
        phase_in(&mut clause, phases);
        clause.push("a.kind", "=", SqlValue::Int(kind.as_i32().into()));
        let order = format!("ORDER BY a.updated_at, a.name LIMIT {limit} OFFSET {offset}");
        self.select_actions(clause, &order, "reading actions by phase")
            .await
    }
}
