//! Projects: id, display name, description, labels (wire bytes) and state (active, archived,
//! as the wire `ProjectState` numbers). `flytesnacks` exists from the first start. Runs,
//! deploys and triggers are accepted only in a known project.

use crate::Store;
use crate::control::ControlWrite;
use crate::error::{DbContext, StoreError};
use crate::rows::fetch_page;
use aerie_core::{Project, Timestamp};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

/// A project as stored, or to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRecord {
    pub id: Project,
    pub name: String,
    pub description: String,
    /// The wire `Labels`.
    pub labels: Vec<u8>,
    /// The wire `ProjectState` number.
    pub state: i32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const COLUMNS: &str = "id, name, description, labels, state, created_at, updated_at";

fn project_from_row(row: &AnyRow) -> Result<ProjectRecord, StoreError> {
    let during = "reading a project";
    let id: String = row.try_get("id").during(during)?;
    Ok(ProjectRecord {
        id: id
            .parse()
            .map_err(|err| StoreError::corrupt("project id", err))?,
        name: row.try_get("name").during(during)?,
        description: row.try_get("description").during(during)?,
        labels: row.try_get("labels").during(during)?,
        state: i32::try_from(row.try_get::<i64, _>("state").during(during)?)
            .map_err(|err| StoreError::corrupt("project state", err))?,
        created_at: Timestamp::from_micros(row.try_get("created_at").during(during)?),
        updated_at: Timestamp::from_micros(row.try_get("updated_at").during(during)?),
    })
}

/// Stores a new project (`created_at` and `updated_at` are set now).
pub(crate) async fn apply_create(
    connection: &mut AnyConnection,
    project: &ProjectRecord,
) -> Result<ProjectRecord, StoreError> {
    let now = Timestamp::now();
    let inserted = sqlx::query(
        "INSERT INTO projects (id, name, description, labels, state, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT DO NOTHING",
    )
    .bind(project.id.as_str())
    .bind(project.name.as_str())
    .bind(project.description.as_str())
    .bind(project.labels.as_slice())
    .bind(i64::from(project.state))
    .bind(now.as_micros())
    .execute(&mut *connection)
    .await
    .during("inserting a project")?;
    if inserted.rows_affected() == 0 {
        return Err(StoreError::AlreadyExists(format!("project {}", project.id)));
    }
    Ok(ProjectRecord {
        created_at: now,
        updated_at: now,
        ..project.clone()
    })
}

/// Replaces a project's name, description, labels and state.
pub(crate) async fn apply_update(
    connection: &mut AnyConnection,
    project: &ProjectRecord,
) -> Result<(), StoreError> {
    let updated = sqlx::query(
        "UPDATE projects SET name = $2, description = $3, labels = $4, state = $5, \
         updated_at = $6 WHERE id = $1",
    )
    .bind(project.id.as_str())
    .bind(project.name.as_str())
    .bind(project.description.as_str())
    .bind(project.labels.as_slice())
    .bind(i64::from(project.state))
    .bind(Timestamp::now().as_micros())
    .execute(&mut *connection)
    .await
    .during("updating a project")?;
    if updated.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("project {}", project.id)));
    }
    Ok(())
}

impl Store {
    /// Stores a new project; `AlreadyExists` if its id is taken.
    pub async fn create_project(
        &self,
        project: ProjectRecord,
    ) -> Result<ProjectRecord, StoreError> {
        self.control(ControlWrite::CreateProject { project })
            .await?
            .into_project()
    }

    /// Replaces the project's fields (not its id or creation time); `NotFound` if unknown.
    pub async fn update_project(&self, project: ProjectRecord) -> Result<(), StoreError> {
        self.control(ControlWrite::UpdateProject { project })
            .await
            .map(drop)
    }

    /// The project `id`, if it exists.
    pub async fn project(&self, id: &Project) -> Result<Option<ProjectRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM projects WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.as_str())
            .fetch_optional(&self.reads)
            .await
            .during("reading a project")?;
        row.as_ref().map(project_from_row).transpose()
    }

    /// One page of projects, oldest first, in `state` when given, and whether more follow.
    pub async fn list_projects(
        &self,
        state: Option<i32>,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<ProjectRecord>, bool), StoreError> {
        // A number, so it goes into the statement as such.
        let filter = state.map_or_else(String::new, |state| format!("WHERE state = {state}"));
        let sql = format!("SELECT {COLUMNS} FROM projects {filter} ORDER BY created_at, id");
        fetch_page(
            &self.reads,
            sql,
            &[],
            (offset, limit),
            "listing projects",
            project_from_row,
        )
        .await
    }
}
