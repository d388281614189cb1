//! The one source of truth: runs, actions and their events, in SQLite or PostgreSQL.
//!
//! Every change to an action is one transaction that rewrites the action's lifecycle record
//! (checked against its version, so concurrent writers never lose an update) and appends an
//! event with the run's next sequence number. After the commit the [`ChangeHub`] wakes watchers,
//! who re-read events after the last sequence they saw.
//!
//! # Layout
//! - [`records`]: what is stored and returned.
//! - [`query`]: list filters, sort and paging.
//! - [`hub`]: in-memory wake-ups after commits.
//! - `runs`, `actions`, `events`: the statements, one module per table.
//!
//! # Contract
//! Event sequence numbers strictly increase within a run and commit in that order (the run row
//! is updated in the same transaction, which serializes writers of one run).

mod actions;
mod error;
pub mod events;
pub mod hub;
pub mod query;
pub mod records;
mod rows;
pub mod runs;

pub use error::StoreError;
pub use events::EventScope;
pub use hub::ChangeHub;
pub use query::{Filter, FilterField, FilterOp, ListQuery, Page, SortKey};
pub use records::{ActionEvent, ActionKind, ActionRecord, NewAction, NewRun, RunRecord};
pub use runs::RunWithRoot;

use error::DbContext;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, AssertSqlSafe};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Where the store keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite database file (created if missing).
    Sqlite { path: std::path::PathBuf },
    /// A PostgreSQL database; `schema`, when set, is created if missing and used for all tables.
    Postgres { url: String, schema: Option<String> },
}

/// Handle to the store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    hub: Arc<ChangeHub>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Connects to `backend` and applies pending migrations.
    pub async fn open(backend: &Backend) -> Result<Self, StoreError> {
        install_default_drivers();
        let pool = match backend {
            Backend::Sqlite { path } => open_sqlite(path).await?,
            Backend::Postgres { url, schema } => open_postgres(url, schema.as_deref()).await?,
        };
        let migrator = match backend {
            Backend::Sqlite { .. } => sqlx::migrate!("migrations/sqlite"),
            Backend::Postgres { .. } => sqlx::migrate!("migrations/postgres"),
        };
        migrator
            .run(&pool)
            .await
            .map_err(|source| StoreError::Database {
                op: "applying migrations",
                source: source.into(),
            })?;
        Ok(Self {
            pool,
            hub: Arc::new(ChangeHub::default()),
        })
    }

    /// The wake-up hub watchers subscribe to.
    pub fn hub(&self) -> &ChangeHub {
        &self.hub
    }

    /// Closes every connection; pending operations finish first.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

async fn open_sqlite(path: &Path) -> Result<AnyPool, StoreError> {
    let url = format!("sqlite://{}?mode=rwc", path.display());
    // One connection: SQLite allows one writer, and a single connection turns writer
    // contention into queueing instead of SQLITE_BUSY errors.
    AnyPoolOptions::new()
        .max_connections(1)
        .after_connect(|connection, _meta| {
            Box::pin(async move {
                sqlx::raw_sql(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                     PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
                )
                .execute(&mut *connection)
                .await?;
                Ok(())
            })
        })
        .connect(&url)
        .await
        .during("opening the SQLite database")
}

async fn open_postgres(url: &str, schema: Option<&str>) -> Result<AnyPool, StoreError> {
    let Some(schema) = schema else {
        return AnyPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .during("connecting to PostgreSQL");
    };
    if !schema
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(StoreError::InvalidQuery(format!(
            "schema name {schema:?} may only hold a-z, 0-9 and _"
        )));
    }
    let bootstrap = AnyPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .during("connecting to PostgreSQL")?;
    sqlx::raw_sql(AssertSqlSafe(format!(
        "CREATE SCHEMA IF NOT EXISTS {schema}"
    )))
    .execute(&bootstrap)
    .await
    .during("creating the schema")?;
    bootstrap.close().await;
    // The schema name was checked above to hold only [a-z0-9_].
    let set_path = format!("SET search_path TO {schema}");
    AnyPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(move |connection, _meta| {
            let set_path = set_path.clone();
            Box::pin(async move {
                sqlx::raw_sql(AssertSqlSafe(set_path))
                    .execute(&mut *connection)
                    .await?;
                Ok(())
            })
        })
        .connect(url)
        .await
        .during("connecting to PostgreSQL")
}
