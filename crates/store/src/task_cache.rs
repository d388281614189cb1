//! The task cache's entries: under a cache key and the project and domain that wrote it, the
//! attempt prefix holding the outputs to reuse; and the runs a run may read because it reused
//! their outputs. An entry is written in the transaction that
//! records its action SUCCEEDED (see [`Store::update_action_storing`]), so a success that is
//! acknowledged is cached and a failure never is.

use crate::Store;
use crate::control::ControlWrite;
use crate::error::{DbContext, StoreError};
use crate::rows::fetch_page;
use aerie_core::{ActionId, ActionName, CacheSource, Domain, Project, RunId, Timestamp};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

/// One cached result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheEntry {
    pub key: String,
    pub project: Project,
    pub domain: Domain,
    pub task_name: String,
    /// The task's cache (discovery) version.
    pub version: String,
    /// The attempt prefix whose `outputs.pb` is reused.
    pub outputs_prefix: String,
    pub source: CacheSource,
    pub created_at: Timestamp,
}

/// Where a lookup searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheScope {
    /// Entries written by any project and domain (the SDK's default).
    Global,
    /// Only entries written in the action's own project and domain.
    ProjectDomain,
}

/// Which entries a listing or a clear takes: all, or one task's (by name, from any project
/// and domain).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheSelection {
    pub task_name: Option<String>,
}

impl CacheSelection {
    /// The WHERE clause and its binds.
    fn clause(&self) -> (&'static str, Vec<String>) {
        match &self.task_name {
            Some(name) => ("WHERE task_name = $1", vec![name.clone()]),
            None => ("", Vec::new()),
        }
    }
}

const COLUMNS: &str = "cache_key, project, domain, task_name, cache_version, outputs_prefix, \
    source_run, source_action, source_attempt, created_at";

fn entry_from_row(row: &AnyRow) -> Result<CacheEntry, StoreError> {
    let during = "reading a cache entry";
    let text = |column: &str| -> Result<String, StoreError> { row.try_get(column).during(during) };
    let corrupt = |err: aerie_core::IdError| StoreError::corrupt("cache entry", err);
    let project: Project = text("project")?.parse().map_err(corrupt)?;
    let domain: Domain = text("domain")?.parse().map_err(corrupt)?;
    let run = RunId {
        project: project.clone(),
        domain: domain.clone(),
        name: text("source_run")?.parse().map_err(corrupt)?,
    };
    let action: ActionName = text("source_action")?.parse().map_err(corrupt)?;
    Ok(CacheEntry {
        key: text("cache_key")?,
        task_name: text("task_name")?,
        version: text("cache_version")?,
        outputs_prefix: text("outputs_prefix")?,
        source: CacheSource {
            action: ActionId { run, name: action },
            attempt: u32::try_from(row.try_get::<i64, _>("source_attempt").during(during)?)
                .map_err(|err| StoreError::corrupt("cache entry attempt", err))?,
        },
        created_at: Timestamp::from_micros(row.try_get("created_at").during(during)?),
        project,
        domain,
    })
}

/// Stores `entry`, replacing the entry of the same key, project and domain.
pub(crate) async fn apply_put(
    connection: &mut AnyConnection,
    entry: &CacheEntry,
) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO cache_entries ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (cache_key, project, domain) DO UPDATE SET task_name = excluded.task_name, \
         cache_version = excluded.cache_version, outputs_prefix = excluded.outputs_prefix, \
         source_run = excluded.source_run, source_action = excluded.source_action, \
         source_attempt = excluded.source_attempt, created_at = excluded.created_at"
    );
    let run = &entry.source.action.run;
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(entry.key.as_str())
        .bind(entry.project.as_str())
        .bind(entry.domain.as_str())
        .bind(entry.task_name.as_str())
        .bind(entry.version.as_str())
        .bind(entry.outputs_prefix.as_str())
        .bind(run.name.as_str())
        .bind(entry.source.action.name.as_str())
        .bind(i64::from(entry.source.attempt))
        .bind(entry.created_at.as_micros())
        .execute(&mut *connection)
        .await
        .during("storing a cache entry")?;
    Ok(())
}

/// Deletes the selected entries; returns how many.
pub(crate) async fn apply_clear(
    connection: &mut AnyConnection,
    selection: &CacheSelection,
) -> Result<u64, StoreError> {
    let (clause, binds) = selection.clause();
    let sql = format!("DELETE FROM cache_entries {clause}");
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for bind in &binds {
        query = query.bind(bind.as_str());
    }
    let deleted = query
        .execute(&mut *connection)
        .await
        .during("clearing cache entries")?;
    Ok(deleted.rows_affected())
}

/// Binds `$1`..`$6` to the parts of `reader`, then of `source`.
fn bind_runs<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    reader: &'q RunId,
    source: &'q RunId,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    [reader, source].into_iter().fold(query, |query, run| {
        query
            .bind(run.project.as_str())
            .bind(run.domain.as_str())
            .bind(run.name.as_str())
    })
}

/// Lets `reader` read `source`'s data.
pub(crate) async fn apply_grant_read(
    connection: &mut AnyConnection,
    reader: &RunId,
    source: &RunId,
) -> Result<(), StoreError> {
    let insert = sqlx::query(
        "INSERT INTO run_reads (project, domain, run_name, source_project, source_domain, \
         source_run) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
    );
    bind_runs(insert, reader, source)
        .execute(&mut *connection)
        .await
        .during("granting a run another run's data")?;
    Ok(())
}

impl Store {
    /// Lets `reader` read `source`'s data from now on (before it is handed outputs `source`
    /// made).
    pub async fn grant_read(&self, reader: &RunId, source: &RunId) -> Result<(), StoreError> {
        self.control(ControlWrite::GrantRead {
            reader: reader.clone(),
            source: source.clone(),
        })
        .await
        .map(drop)
    }

    /// Whether `reader` was granted `source`'s data.
    pub async fn may_read(&self, reader: &RunId, source: &RunId) -> Result<bool, StoreError> {
        let select = sqlx::query(
            "SELECT 1 FROM run_reads WHERE project = $1 AND domain = $2 AND run_name = $3 \
             AND source_project = $4 AND source_domain = $5 AND source_run = $6",
        );
        let row = bind_runs(select, reader, source)
            .fetch_optional(&self.reads)
            .await
            .during("reading a run's grants")?;
        Ok(row.is_some())
    }

    /// The newest entry under `key` in `scope` of `project`/`domain`, written no earlier than
    /// `not_before` when given.
    pub async fn cache_lookup(
        &self,
        key: &str,
        scope: CacheScope,
        (project, domain): (&Project, &Domain),
        not_before: Option<Timestamp>,
    ) -> Result<Option<CacheEntry>, StoreError> {
        let scoped = match scope {
            CacheScope::Global => "",
            CacheScope::ProjectDomain => " AND project = $3 AND domain = $4",
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM cache_entries WHERE cache_key = $1 AND created_at >= $2\
             {scoped} ORDER BY created_at DESC LIMIT 1"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(key)
            .bind(not_before.map_or(i64::MIN, Timestamp::as_micros));
        if scope == CacheScope::ProjectDomain {
            query = query.bind(project.as_str()).bind(domain.as_str());
        }
        let row = query
            .fetch_optional(&self.reads)
            .await
            .during("looking up the task cache")?;
        row.as_ref().map(entry_from_row).transpose()
    }

    /// One page of the selected entries, newest first, and whether more follow.
    pub async fn list_cache(
        &self,
        selection: &CacheSelection,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<CacheEntry>, bool), StoreError> {
        let (clause, binds) = selection.clause();
        let sql = format!(
            "SELECT {COLUMNS} FROM cache_entries {clause} ORDER BY created_at DESC, cache_key"
        );
        fetch_page(
            &self.reads,
            sql,
            &binds,
            (offset, limit),
            "listing the task cache",
            entry_from_row,
        )
        .await
    }

    /// Deletes the selected entries (their outputs stay with the runs that made them);
    /// returns how many.
    pub async fn clear_cache(&self, selection: CacheSelection) -> Result<u64, StoreError> {
        self.control(ControlWrite::ClearCache { selection })
            .await?
            .into_count()
    }
}
