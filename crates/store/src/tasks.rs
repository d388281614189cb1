//! Deployed task versions: stored once and never changed, looked up by (project, domain, name,
//! version), and listed newest or oldest first with the name filters `ListTasks` sends.
//! A redeploy of the same version with the same spec is accepted and changes nothing; with a
//! different spec it is refused. Writes run on a writer lane (`crate::writer`); reads on the
//! read pool.

use crate::Store;
use crate::control::ControlWrite;
use crate::error::{DbContext, StoreError};
use crate::rows::fetch_page;
use crate::triggers::{NewTrigger, NextFire, TriggerRecord};
use aerie_core::{Domain, Project, Timestamp};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Row};

/// Which deployed version: the org is not part of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TaskVersionId {
    pub project: Project,
    pub domain: Domain,
    pub name: String,
    pub version: String,
}

impl std::fmt::Display for TaskVersionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "task {:?} version {:?} in project {} domain {}",
            self.name, self.version, self.project, self.domain
        )
    }
}

/// A version to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTaskVersion {
    pub id: TaskVersionId,
    /// The wire `TaskSpec`, exactly as deployed.
    pub spec: Vec<u8>,
    /// Hex SHA-256 of `spec`.
    pub spec_digest: String,
    pub deployed_by: String,
    pub short_name: String,
    pub environment_name: String,
    pub entrypoint: bool,
}

/// A stored version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskVersionRecord {
    pub id: TaskVersionId,
    pub spec: Vec<u8>,
    pub deployed_at: Timestamp,
    pub deployed_by: String,
    pub short_name: String,
    pub environment_name: String,
    pub entrypoint: bool,
}

/// What a deploy did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deployed {
    /// The version is new and now stored.
    Stored(TaskVersionRecord),
    /// The version was already stored with exactly this spec; nothing changed.
    AlreadyStored(TaskVersionRecord),
}

/// Which versions a listing returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskQuery {
    pub project: Project,
    pub domain: Domain,
    /// Only this task name.
    pub name_equals: Option<String>,
    /// Only names containing this.
    pub name_contains: Option<String>,
    /// Only entrypoint tasks.
    pub entrypoint_only: bool,
    /// Newest deploys first (otherwise oldest first).
    pub newest_first: bool,
    /// Versions to skip (the page token).
    pub offset: u64,
    pub limit: u32,
}

const COLUMNS: &str = "project, domain, name, version, spec, deployed_at, deployed_by, short_name, environment_name, entrypoint";

fn version_from_row(row: &AnyRow) -> Result<TaskVersionRecord, StoreError> {
    let during = "reading a task version";
    let project: String = row.try_get("project").during(during)?;
    let domain: String = row.try_get("domain").during(during)?;
    Ok(TaskVersionRecord {
        id: TaskVersionId {
            project: project
                .parse()
                .map_err(|err| StoreError::corrupt("task project", err))?,
            domain: domain
                .parse()
                .map_err(|err| StoreError::corrupt("task domain", err))?,
            name: row.try_get("name").during(during)?,
            version: row.try_get("version").during(during)?,
        },
        spec: row.try_get("spec").during(during)?,
        deployed_at: Timestamp::from_micros(row.try_get("deployed_at").during(during)?),
        deployed_by: row.try_get("deployed_by").during(during)?,
        short_name: row.try_get("short_name").during(during)?,
        environment_name: row.try_get("environment_name").during(during)?,
        entrypoint: row.try_get::<i64, _>("entrypoint").during(during)? != 0,
    })
}

/// The statement that reads version `id`, its spec digest included.
fn select_version(id: &TaskVersionId) -> Query<'_, Any, AnyArguments> {
    let sql = format!(
        "SELECT {COLUMNS}, spec_digest FROM task_versions \
         WHERE project = $1 AND domain = $2 AND name = $3 AND version = $4"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.project.as_str())
        .bind(id.domain.as_str())
        .bind(id.name.as_str())
        .bind(id.version.as_str())
}

/// Stores `new` unless its version exists; an existing version with the same spec digest is
/// [`Deployed::AlreadyStored`], with another one [`StoreError::TaskVersionExists`].
pub(crate) async fn apply_deploy(
    connection: &mut AnyConnection,
    new: &NewTaskVersion,
) -> Result<Deployed, StoreError> {
    let id = &new.id;
    let existing = select_version(id)
        .fetch_optional(&mut *connection)
        .await
        .during("looking for a task version")?;
    if let Some(row) = existing {
        let digest: String = row
            .try_get("spec_digest")
            .during("reading a task version")?;
        return if digest == new.spec_digest {
            Ok(Deployed::AlreadyStored(version_from_row(&row)?))
        } else {
            Err(StoreError::TaskVersionExists(id.to_string()))
        };
    }
    let now = Timestamp::now();
    sqlx::query(
        "INSERT INTO task_versions (project, domain, name, version, spec, spec_digest, \
         deployed_at, deployed_by, short_name, environment_name, entrypoint) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(id.project.as_str())
    .bind(id.domain.as_str())
    .bind(id.name.as_str())
    .bind(id.version.as_str())
    .bind(new.spec.as_slice())
    .bind(new.spec_digest.as_str())
    .bind(now.as_micros())
    .bind(new.deployed_by.as_str())
    .bind(new.short_name.as_str())
    .bind(new.environment_name.as_str())
    .bind(i64::from(new.entrypoint))
    .execute(&mut *connection)
    .await
    .during("inserting a task version")?;
    Ok(Deployed::Stored(TaskVersionRecord {
        id: id.clone(),
        spec: new.spec.clone(),
        deployed_at: now,
        deployed_by: new.deployed_by.clone(),
        short_name: new.short_name.clone(),
        environment_name: new.environment_name.clone(),
        entrypoint: new.entrypoint,
    }))
}

impl Store {
    /// Stores a deployed version (see [`Deployed`]) and the triggers deployed with it, in one
    /// transaction; [`StoreError::TaskVersionExists`] (and nothing stored) if the version is
    /// stored with a different spec.
    pub async fn deploy_task(
        &self,
        version: NewTaskVersion,
        triggers: Vec<NewTrigger>,
        next_fire: NextFire,
    ) -> Result<(Deployed, Vec<TriggerRecord>), StoreError> {
        self.control(ControlWrite::DeployTask {
            version,
            triggers,
            next_fire,
        })
        .await?
        .into_deployed()
    }

    /// The stored version `id`, if there is one.
    pub async fn task_version(
        &self,
        id: &TaskVersionId,
    ) -> Result<Option<TaskVersionRecord>, StoreError> {
        let row = select_version(id)
            .fetch_optional(&self.reads)
            .await
            .during("reading a task version")?;
        row.as_ref().map(version_from_row).transpose()
    }

    /// One page of the versions `query` selects, and whether more follow.
    pub async fn list_task_versions(
        &self,
        query: &TaskQuery,
    ) -> Result<(Vec<TaskVersionRecord>, bool), StoreError> {
        let mut sql =
            format!("SELECT {COLUMNS} FROM task_versions WHERE project = $1 AND domain = $2");
        let mut binds: Vec<String> = vec![query.project.to_string(), query.domain.to_string()];
        if let Some(name) = &query.name_equals {
            binds.push(name.clone());
            sql.push_str(&format!(" AND name = ${}", binds.len()));
        }
        if let Some(part) = &query.name_contains {
            binds.push(format!("%{}%", escape_like(part)));
            sql.push_str(&format!(" AND name LIKE ${} ESCAPE '\\'", binds.len()));
        }
        if query.entrypoint_only {
            sql.push_str(" AND entrypoint = 1");
        }
        let direction = if query.newest_first { "DESC" } else { "ASC" };
        sql.push_str(&format!(
            " ORDER BY deployed_at {direction}, name {direction}, version {direction}"
        ));
        fetch_page(
            &self.reads,
            sql,
            &binds,
            (query.offset, query.limit),
            "listing task versions",
            version_from_row,
        )
        .await
    }
}

/// `text` with the LIKE wildcards and the escape character escaped.
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
