//! Secrets: a sealed value per name and scope. The server seals a value before it reaches the
//! store, so the database never holds one in plain text; the store only keeps, finds and
//! lists the sealed bytes. A scope is a project and a domain, either of which may be empty
//! (empty both: the whole organization).

use crate::Store;
use crate::control::ControlWrite;
use crate::error::{DbContext, StoreError};
use crate::rows::fetch_page;
use aerie_core::Timestamp;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

/// Which secret: a name in a scope (`project` and `domain` may be empty).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecretId {
    pub project: String,
    pub domain: String,
    pub name: String,
}

impl std::fmt::Display for SecretId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scope = match (self.project.is_empty(), self.domain.is_empty()) {
            (true, true) => "the organization".to_owned(),
            (false, true) => format!("project {}", self.project),
            (true, false) => format!("domain {}", self.domain),
            (false, false) => format!("project {} domain {}", self.project, self.domain),
        };
        write!(f, "secret {:?} of {scope}", self.name)
    }
}

/// A secret to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSecret {
    pub id: SecretId,
    /// The wire `SecretType` number.
    pub kind: i32,
    /// The value, sealed by the server.
    pub sealed: Vec<u8>,
}

/// A stored secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRecord {
    pub id: SecretId,
    pub kind: i32,
    pub sealed: Vec<u8>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// How a secret write treats an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretWrite {
    /// Refuse if it exists.
    Create,
    /// Refuse unless it exists.
    Update,
}

const COLUMNS: &str = "project, domain, name, kind, sealed, created_at, updated_at";

fn secret_from_row(row: &AnyRow) -> Result<SecretRecord, StoreError> {
    let during = "reading a secret";
    Ok(SecretRecord {
        id: SecretId {
            project: row.try_get("project").during(during)?,
            domain: row.try_get("domain").during(during)?,
            name: row.try_get("name").during(during)?,
        },
        kind: i32::try_from(row.try_get::<i64, _>("kind").during(during)?)
            .map_err(|err| StoreError::corrupt("secret type", err))?,
        sealed: row.try_get("sealed").during(during)?,
        created_at: Timestamp::from_micros(row.try_get("created_at").during(during)?),
        updated_at: Timestamp::from_micros(row.try_get("updated_at").during(during)?),
    })
}

pub(crate) async fn apply_put(
    connection: &mut AnyConnection,
    new: &NewSecret,
    write: SecretWrite,
) -> Result<(), StoreError> {
    let id = &new.id;
    let now = Timestamp::now().as_micros();
    let changed = match write {
        SecretWrite::Create => sqlx::query(
            "INSERT INTO secrets (project, domain, name, kind, sealed, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT DO NOTHING",
        ),
        SecretWrite::Update => sqlx::query(
            "UPDATE secrets SET kind = $4, sealed = $5, updated_at = $6 \
             WHERE project = $1 AND domain = $2 AND name = $3",
        ),
    }
    .bind(id.project.as_str())
    .bind(id.domain.as_str())
    .bind(id.name.as_str())
    .bind(i64::from(new.kind))
    .bind(new.sealed.as_slice())
    .bind(now)
    .execute(&mut *connection)
    .await
    .during("writing a secret")?;
    match (changed.rows_affected(), write) {
        (0, SecretWrite::Create) => Err(StoreError::AlreadyExists(id.to_string())),
        (0, SecretWrite::Update) => Err(StoreError::NotFound(id.to_string())),
        _ => Ok(()),
    }
}

pub(crate) async fn apply_delete(
    connection: &mut AnyConnection,
    id: &SecretId,
) -> Result<(), StoreError> {
    let deleted =
        sqlx::query("DELETE FROM secrets WHERE project = $1 AND domain = $2 AND name = $3")
            .bind(id.project.as_str())
            .bind(id.domain.as_str())
            .bind(id.name.as_str())
            .execute(&mut *connection)
            .await
            .during("deleting a secret")?;
    if deleted.rows_affected() == 0 {
        return Err(StoreError::NotFound(id.to_string()));
    }
    Ok(())
}

impl Store {
    /// Stores a sealed secret, new ([`SecretWrite::Create`]) or replacing one.
    pub async fn put_secret(&self, new: NewSecret, write: SecretWrite) -> Result<(), StoreError> {
        self.control(ControlWrite::PutSecret { new, write })
            .await
            .map(drop)
    }

    /// Deletes the secret `id`; `NotFound` if there is none.
    pub async fn delete_secret(&self, id: SecretId) -> Result<(), StoreError> {
        self.control(ControlWrite::DeleteSecret { id })
            .await
            .map(drop)
    }

    /// The secret `id` of exactly that scope.
    pub async fn secret(&self, id: &SecretId) -> Result<Option<SecretRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM secrets WHERE project = $1 AND domain = $2 AND name = $3"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.project.as_str())
            .bind(id.domain.as_str())
            .bind(id.name.as_str())
            .fetch_optional(&self.reads)
            .await
            .during("reading a secret")?;
        row.as_ref().map(secret_from_row).transpose()
    }

    /// The secret `name` as a task in `project` and `domain` sees it: the most specific scope
    /// holding one, (project, domain) first, then the project, the domain, the organization.
    pub async fn resolve_secret(
        &self,
        project: &str,
        domain: &str,
        name: &str,
    ) -> Result<Option<SecretRecord>, StoreError> {
        for (project, domain) in [(project, domain), (project, ""), ("", domain), ("", "")] {
            let id = SecretId {
                project: project.to_owned(),
                domain: domain.to_owned(),
                name: name.to_owned(),
            };
            if let Some(found) = self.secret(&id).await? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// One page of secrets by scope and name, and whether more follow: those of exactly
    /// `project` and `domain`, or every scope's when both are empty.
    pub async fn list_secrets(
        &self,
        project: &str,
        domain: &str,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<SecretRecord>, bool), StoreError> {
        let every_scope = project.is_empty() && domain.is_empty();
        let (filter, binds) = if every_scope {
            ("", Vec::new())
        } else {
            (
                "WHERE project = $1 AND domain = $2",
                vec![project.to_owned(), domain.to_owned()],
            )
        };
        let sql = format!("SELECT {COLUMNS} FROM secrets {filter} ORDER BY project, domain, name");
        fetch_page(
            &self.reads,
            sql,
            &binds,
            (offset, limit),
            "listing secrets",
            secret_from_row,
        )
        .await
    }
}
