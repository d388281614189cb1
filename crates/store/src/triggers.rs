//! Triggers: one row per trigger name of a deployed task, with its pinned task version, its
//! automation and run settings (wire bytes the store does not read), a revision that grows
//! with every change, and the scheduler's durable state, the next instant it fires at.
//!
//! The store does not understand schedules: whoever changes a trigger passes a [`NextFire`]
//! that computes the next instant from the automation spec. A scheduled fire is claimed in the
//! transaction that creates its run (`record_fire`), so a fire is never lost to a crash or
//! taken twice.

use crate::Store;
use crate::control::ControlWrite;
use crate::error::{DbContext, StoreError};
use crate::records::{FireClaim, RunTrigger};
use crate::rows::fetch_page;
use aerie_core::{Domain, Project, RunId, Timestamp};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::sync::Arc;

/// Which trigger: a name under a task, in a project and domain.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TriggerId {
    pub project: Project,
    pub domain: Domain,
    pub task_name: String,
    pub name: String,
}

impl std::fmt::Display for TriggerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "trigger {:?} of task {:?} in project {} domain {}",
            self.name, self.task_name, self.project, self.domain
        )
    }
}

/// The next instant a trigger with this automation spec fires at, strictly after the given
/// instant; `None` if it never fires on its own.
pub type NextFire = Arc<dyn Fn(&[u8], Timestamp) -> Option<Timestamp> + Send + Sync>;

/// A trigger to create or to replace (a new revision).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTrigger {
    pub id: TriggerId,
    pub task_version: String,
    pub active: bool,
    /// The wire `TriggerAutomationSpec`.
    pub automation: Vec<u8>,
    /// The wire `TriggerSpec` (inputs and run settings).
    pub spec: Vec<u8>,
    pub description: String,
    pub by: String,
}

/// A stored trigger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerRecord {
    pub id: TriggerId,
    pub task_version: String,
    pub revision: i64,
    pub active: bool,
    pub automation: Vec<u8>,
    pub spec: Vec<u8>,
    pub description: String,
    pub deployed_at: Timestamp,
    pub deployed_by: String,
    pub updated_at: Timestamp,
    pub updated_by: String,
    pub triggered_at: Option<Timestamp>,
    pub deleted_at: Option<Timestamp>,
    pub next_fire_at: Option<Timestamp>,
}

/// Which triggers a listing returns (deleted ones never).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerQuery {
    pub project: Project,
    pub domain: Domain,
    pub task_name: Option<String>,
    pub task_version: Option<String>,
    pub offset: u64,
    pub limit: u32,
}

const COLUMNS: &str = "project, domain, task_name, name, task_version, revision, active, \
    automation, spec, description, deployed_at, deployed_by, updated_at, updated_by, \
    triggered_at, deleted_at, next_fire_at";

fn micros(row: &AnyRow, column: &str) -> Result<Option<Timestamp>, StoreError> {
    let value: Option<i64> = row.try_get(column).during("reading a trigger")?;
    Ok(value.map(Timestamp::from_micros))
}

fn trigger_from_row(row: &AnyRow) -> Result<TriggerRecord, StoreError> {
    let during = "reading a trigger";
    let project: String = row.try_get("project").during(during)?;
    let domain: String = row.try_get("domain").during(during)?;
    Ok(TriggerRecord {
        id: TriggerId {
            project: project
                .parse()
                .map_err(|err| StoreError::corrupt("trigger project", err))?,
            domain: domain
                .parse()
                .map_err(|err| StoreError::corrupt("trigger domain", err))?,
            task_name: row.try_get("task_name").during(during)?,
            name: row.try_get("name").during(during)?,
        },
        task_version: row.try_get("task_version").during(during)?,
        revision: row.try_get("revision").during(during)?,
        active: row.try_get::<i64, _>("active").during(during)? != 0,
        automation: row.try_get("automation").during(during)?,
        spec: row.try_get("spec").during(during)?,
        description: row.try_get("description").during(during)?,
        deployed_at: Timestamp::from_micros(row.try_get("deployed_at").during(during)?),
        deployed_by: row.try_get("deployed_by").during(during)?,
        updated_at: Timestamp::from_micros(row.try_get("updated_at").during(during)?),
        updated_by: row.try_get("updated_by").during(during)?,
        triggered_at: micros(row, "triggered_at")?,
        deleted_at: micros(row, "deleted_at")?,
        next_fire_at: micros(row, "next_fire_at")?,
    })
}

async fn read_trigger<'e, E>(
    executor: E,
    id: &TriggerId,
) -> Result<Option<TriggerRecord>, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let sql = format!(
        "SELECT {COLUMNS} FROM triggers \
         WHERE project = $1 AND domain = $2 AND task_name = $3 AND name = $4"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.project.as_str())
        .bind(id.domain.as_str())
        .bind(id.task_name.as_str())
        .bind(id.name.as_str())
        .fetch_optional(executor)
        .await
        .during("reading a trigger")?;
    row.as_ref().map(trigger_from_row).transpose()
}

/// Writes `record` whole (insert or replace).
async fn write_trigger(
    connection: &mut AnyConnection,
    record: &TriggerRecord,
) -> Result<(), StoreError> {
    let id = &record.id;
    sqlx::query(
        "INSERT INTO triggers (project, domain, task_name, name, task_version, revision, active, \
         automation, spec, description, deployed_at, deployed_by, updated_at, updated_by, \
         triggered_at, deleted_at, next_fire_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
         ON CONFLICT (project, domain, task_name, name) DO UPDATE SET \
         task_version = excluded.task_version, revision = excluded.revision, \
         active = excluded.active, automation = excluded.automation, spec = excluded.spec, \
         description = excluded.description, deployed_at = excluded.deployed_at, \
         deployed_by = excluded.deployed_by, updated_at = excluded.updated_at, \
         updated_by = excluded.updated_by, triggered_at = excluded.triggered_at, \
         deleted_at = excluded.deleted_at, next_fire_at = excluded.next_fire_at",
    )
    .bind(id.project.as_str())
    .bind(id.domain.as_str())
    .bind(id.task_name.as_str())
    .bind(id.name.as_str())
    .bind(record.task_version.as_str())
    .bind(record.revision)
    .bind(i64::from(record.active))
    .bind(record.automation.as_slice())
    .bind(record.spec.as_slice())
    .bind(record.description.as_str())
    .bind(record.deployed_at.as_micros())
    .bind(record.deployed_by.as_str())
    .bind(record.updated_at.as_micros())
    .bind(record.updated_by.as_str())
    .bind(record.triggered_at.map(Timestamp::as_micros))
    .bind(record.deleted_at.map(Timestamp::as_micros))
    .bind(record.next_fire_at.map(Timestamp::as_micros))
    .execute(&mut *connection)
    .await
    .during("writing a trigger")?;
    Ok(())
}

/// Creates `new`, or makes it the next revision of the trigger of that name. A trigger whose
/// automation stays the same and stays active keeps its next fire; otherwise the next fire is
/// computed afresh from now.
pub(crate) async fn apply_deploy(
    connection: &mut AnyConnection,
    new: &NewTrigger,
    next_fire: &NextFire,
) -> Result<TriggerRecord, StoreError> {
    let now = Timestamp::now();
    let existing = read_trigger(&mut *connection, &new.id)
        .await?
        .filter(|old| old.deleted_at.is_none());
    let next_fire_at = match &existing {
        Some(old) if old.active && new.active && old.automation == new.automation => {
            old.next_fire_at
        }
        _ if new.active => next_fire(&new.automation, now),
        _ => None,
    };
    let record = TriggerRecord {
        id: new.id.clone(),
        task_version: new.task_version.clone(),
        revision: existing.as_ref().map_or(1, |old| old.revision + 1),
        active: new.active,
        automation: new.automation.clone(),
        spec: new.spec.clone(),
        description: new.description.clone(),
        deployed_at: existing.as_ref().map_or(now, |old| old.deployed_at),
        deployed_by: existing
            .as_ref()
            .map_or_else(|| new.by.clone(), |old| old.deployed_by.clone()),
        updated_at: now,
        updated_by: new.by.clone(),
        triggered_at: existing.as_ref().and_then(|old| old.triggered_at),
        deleted_at: None,
        next_fire_at,
    };
    write_trigger(connection, &record).await?;
    Ok(record)
}

/// Activates or deactivates every trigger of `ids` (all or none: an unknown one refuses the
/// lot). Activating schedules the next fire from now; deactivating drops it.
pub(crate) async fn apply_set_active(
    connection: &mut AnyConnection,
    ids: &[TriggerId],
    active: bool,
    by: &str,
    next_fire: &NextFire,
) -> Result<Vec<TriggerRecord>, StoreError> {
    let now = Timestamp::now();
    let mut records = Vec::with_capacity(ids.len());
    for id in ids {
        let mut record = live_trigger(connection, id).await?;
        if record.active != active {
            record.active = active;
            record.revision += 1;
            record.updated_at = now;
            record.updated_by = by.to_owned();
            record.next_fire_at = if active {
                next_fire(&record.automation, now)
            } else {
                None
            };
        }
        records.push(record);
    }
    for record in &records {
        write_trigger(connection, record).await?;
    }
    Ok(records)
}

/// Deletes every trigger of `ids` (all or none): it never fires again and leaves the lists;
/// runs it fired keep naming it.
pub(crate) async fn apply_delete(
    connection: &mut AnyConnection,
    ids: &[TriggerId],
    by: &str,
) -> Result<usize, StoreError> {
    let now = Timestamp::now();
    let mut records = Vec::with_capacity(ids.len());
    for id in ids {
        let mut record = live_trigger(connection, id).await?;
        record.active = false;
        record.revision += 1;
        record.updated_at = now;
        record.updated_by = by.to_owned();
        record.deleted_at = Some(now);
        record.next_fire_at = None;
        records.push(record);
    }
    for record in &records {
        write_trigger(connection, record).await?;
    }
    Ok(records.len())
}

/// Moves a trigger that could not fire at `fire_at` on to `next`, if it is still due then.
pub(crate) async fn apply_skip_fire(
    connection: &mut AnyConnection,
    id: &TriggerId,
    claim: &FireClaim,
) -> Result<bool, StoreError> {
    let moved = sqlx::query(
        "UPDATE triggers SET next_fire_at = $1 WHERE project = $2 AND domain = $3 \
         AND task_name = $4 AND name = $5 AND next_fire_at = $6",
    )
    .bind(claim.next.map(Timestamp::as_micros))
    .bind(id.project.as_str())
    .bind(id.domain.as_str())
    .bind(id.task_name.as_str())
    .bind(id.name.as_str())
    .bind(claim.fire_at.as_micros())
    .execute(&mut *connection)
    .await
    .during("skipping a trigger's fire")?;
    Ok(moved.rows_affected() > 0)
}

async fn live_trigger(
    connection: &mut AnyConnection,
    id: &TriggerId,
) -> Result<TriggerRecord, StoreError> {
    read_trigger(&mut *connection, id)
        .await?
        .filter(|record| record.deleted_at.is_none())
        .ok_or_else(|| StoreError::NotFound(id.to_string()))
}

/// Records that the run `run` came from `trigger`: a scheduled fire (`claim`) takes the
/// trigger's due instant and moves it on, or refuses with [`StoreError::StaleFire`] if the
/// instant was taken or the trigger changed; a fire on demand only notes the time.
pub(crate) async fn record_fire(
    connection: &mut AnyConnection,
    run: &RunId,
    trigger: &RunTrigger,
    claim: Option<&FireClaim>,
    now: Timestamp,
) -> Result<(), StoreError> {
    let key = |query: sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments>| {
        query
            .bind(run.project.as_str().to_owned())
            .bind(run.domain.as_str().to_owned())
            .bind(trigger.task_name.clone())
            .bind(trigger.name.clone())
    };
    match claim {
        Some(claim) => {
            let claimed = key(sqlx::query(
                "UPDATE triggers SET next_fire_at = $5, triggered_at = $6 \
                 WHERE project = $1 AND domain = $2 AND task_name = $3 AND name = $4 \
                 AND next_fire_at = $6 AND active = 1 AND deleted_at IS NULL AND revision = $7",
            ))
            .bind(claim.next.map(Timestamp::as_micros))
            .bind(claim.fire_at.as_micros())
            .bind(trigger.revision)
            .execute(&mut *connection)
            .await
            .during("claiming a trigger's fire")?;
            if claimed.rows_affected() == 0 {
                return Err(StoreError::StaleFire(format!(
                    "the fire of trigger {:?} at {} was taken or the trigger changed",
                    trigger.name,
                    claim.fire_at.to_rfc3339()
                )));
            }
        }
        None => {
            key(sqlx::query(
                "UPDATE triggers SET triggered_at = $5 \
                 WHERE project = $1 AND domain = $2 AND task_name = $3 AND name = $4",
            ))
            .bind(now.as_micros())
            .execute(&mut *connection)
            .await
            .during("noting a trigger's fire")?;
        }
    }
    Ok(())
}

impl Store {
    /// Creates or replaces a trigger (see [`apply_deploy`]).
    pub async fn deploy_trigger(
        &self,
        new: NewTrigger,
        next_fire: NextFire,
    ) -> Result<TriggerRecord, StoreError> {
        self.control(ControlWrite::DeployTriggers {
            triggers: vec![new],
            next_fire,
        })
        .await?
        .into_triggers()
        .map(|mut records| records.remove(0))
    }

    /// Activates or deactivates `ids`, all or none.
    pub async fn set_triggers_active(
        &self,
        ids: Vec<TriggerId>,
        active: bool,
        by: String,
        next_fire: NextFire,
    ) -> Result<Vec<TriggerRecord>, StoreError> {
        self.control(ControlWrite::SetTriggersActive {
            ids,
            active,
            by,
            next_fire,
        })
        .await?
        .into_triggers()
    }

    /// Deletes `ids`, all or none.
    pub async fn delete_triggers(&self, ids: Vec<TriggerId>, by: String) -> Result<(), StoreError> {
        self.control(ControlWrite::DeleteTriggers { ids, by })
            .await
            .map(drop)
    }

    /// Moves a trigger whose fire at `claim.fire_at` cannot happen on to `claim.next`.
    pub async fn skip_trigger_fire(
        &self,
        id: TriggerId,
        claim: FireClaim,
    ) -> Result<(), StoreError> {
        self.control(ControlWrite::SkipFire { id, claim })
            .await
            .map(drop)
    }

    /// The trigger `id`, unless it is unknown or deleted.
    pub async fn trigger(&self, id: &TriggerId) -> Result<Option<TriggerRecord>, StoreError> {
        Ok(read_trigger(&self.reads, id)
            .await?
            .filter(|record| record.deleted_at.is_none()))
    }

    /// One page of the live triggers `query` selects, by task and name, and whether more follow.
    pub async fn list_triggers(
        &self,
        query: &TriggerQuery,
    ) -> Result<(Vec<TriggerRecord>, bool), StoreError> {
        let mut sql = format!(
            "SELECT {COLUMNS} FROM triggers \
             WHERE project = $1 AND domain = $2 AND deleted_at IS NULL"
        );
        let mut binds: Vec<String> = vec![query.project.to_string(), query.domain.to_string()];
        if let Some(task) = &query.task_name {
            binds.push(task.clone());
            sql.push_str(&format!(" AND task_name = ${}", binds.len()));
        }
        if let Some(version) = &query.task_version {
            binds.push(version.clone());
            sql.push_str(&format!(" AND task_version = ${}", binds.len()));
        }
        sql.push_str(" ORDER BY task_name, name");
        fetch_page(
            &self.reads,
            sql,
            &binds,
            (query.offset, query.limit),
            "listing triggers",
            trigger_from_row,
        )
        .await
    }

    /// Up to `limit` triggers due at `now`, earliest first, and the earliest fire after those
    /// (when the scheduler should look again).
    pub async fn due_triggers(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<(Vec<TriggerRecord>, Option<Timestamp>), StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM triggers WHERE next_fire_at IS NOT NULL \
             ORDER BY next_fire_at LIMIT {}",
            u64::from(limit) + 1
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.reads)
            .await
            .during("finding due triggers")?;
        let mut due = Vec::new();
        let mut later = None;
        for row in &rows {
            let record = trigger_from_row(row)?;
            match record.next_fire_at {
                Some(at) if at <= now && due.len() < limit as usize => due.push(record),
                Some(at) => {
                    later = Some(at);
                    break;
                }
                None => {}
            }
        }
        Ok((due, later))
    }
}
