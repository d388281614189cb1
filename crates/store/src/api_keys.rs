//! API keys: made, listed, looked up by client id and revoked. Only the SHA-256 of a key's
//! secret is stored; what the secret is, and how a key is checked, belong to the server.
//! Writes run on a writer lane (`crate::writer`); reads on the read pool.

use crate::Store;
use crate::error::{DbContext, StoreError};
use crate::writer::WriteOp;
use aerie_core::{Role, Timestamp};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

/// A stored API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// The OAuth2 client id the key authenticates as.
    pub client_id: String,
    /// Who or what the key is for; names runs' creators and aborters.
    pub name: String,
    pub role: Role,
    /// Hex SHA-256 of the secret.
    pub secret_hash: String,
    pub created_at: Timestamp,
    /// When the key stopped working, if it did.
    pub revoked_at: Option<Timestamp>,
}

/// A key to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiKey {
    pub client_id: String,
    pub name: String,
    pub role: Role,
    pub secret_hash: String,
}

const COLUMNS: &str = "client_id, name, role, secret_hash, created_at, revoked_at";

fn key_from_row(row: &AnyRow) -> Result<ApiKeyRecord, StoreError> {
    let role: String = row.try_get("role").during("reading an API key")?;
    Ok(ApiKeyRecord {
        client_id: row.try_get("client_id").during("reading an API key")?,
        name: row.try_get("name").during("reading an API key")?,
        role: role
            .parse()
            .map_err(|err| StoreError::corrupt("API key role", err))?,
        secret_hash: row.try_get("secret_hash").during("reading an API key")?,
        created_at: Timestamp::from_micros(row.try_get("created_at").during("reading an API key")?),
        revoked_at: row
            .try_get::<Option<i64>, _>("revoked_at")
            .during("reading an API key")?
            .map(Timestamp::from_micros),
    })
}

/// Inserts `new` unless an active key already has its name.
pub(crate) async fn apply_create(
    connection: &mut AnyConnection,
    new: &NewApiKey,
) -> Result<ApiKeyRecord, StoreError> {
    let taken = sqlx::query("SELECT 1 FROM api_keys WHERE name = $1 AND revoked_at IS NULL")
        .bind(new.name.as_str())
        .fetch_optional(&mut *connection)
        .await
        .during("looking for an API key by name")?;
    if taken.is_some() {
        return Err(StoreError::ApiKeyExists(new.name.clone()));
    }
    let now = Timestamp::now();
    sqlx::query(
        "INSERT INTO api_keys (client_id, name, role, secret_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(new.client_id.as_str())
    .bind(new.name.as_str())
    .bind(new.role.as_str())
    .bind(new.secret_hash.as_str())
    .bind(now.as_micros())
    .execute(&mut *connection)
    .await
    .during("inserting an API key")?;
    Ok(ApiKeyRecord {
        client_id: new.client_id.clone(),
        name: new.name.clone(),
        role: new.role,
        secret_hash: new.secret_hash.clone(),
        created_at: now,
        revoked_at: None,
    })
}

/// Revokes the active key named `name`; false if there is none.
pub(crate) async fn apply_revoke(
    connection: &mut AnyConnection,
    name: &str,
) -> Result<bool, StoreError> {
    let revoked =
        sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL")
            .bind(Timestamp::now().as_micros())
            .bind(name)
            .execute(&mut *connection)
            .await
            .during("revoking an API key")?;
    Ok(revoked.rows_affected() > 0)
}

impl Store {
    /// Stores a new key; [`StoreError::ApiKeyExists`] if an active key has its name.
    pub async fn create_api_key(&self, new: NewApiKey) -> Result<ApiKeyRecord, StoreError> {
        self.writer
            .submit(|reply| WriteOp::CreateApiKey {
                new: Box::new(new),
                reply,
            })
            .await
    }

    /// Revokes the active key named `name`; false if no active key has that name.
    pub async fn revoke_api_key(&self, name: &str) -> Result<bool, StoreError> {
        self.writer
            .submit(|reply| WriteOp::RevokeApiKey {
                name: name.to_owned(),
                reply,
            })
            .await
    }

    /// Every key, revoked ones included, oldest first.
    pub async fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM api_keys ORDER BY created_at, client_id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.reads)
            .await
            .during("listing API keys")?;
        rows.iter().map(key_from_row).collect()
    }

    /// The key with `client_id`, revoked or not.
    pub async fn api_key(&self, client_id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE client_id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(client_id)
            .fetch_optional(&self.reads)
            .await
            .during("looking up an API key")?;
        row.as_ref().map(key_from_row).transpose()
    }
}
