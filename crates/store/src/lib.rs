//! The one source of truth: runs, actions and their events, in SQLite or PostgreSQL.
//!
//! Every change to an action is one operation on a writer lane that rewrites the action's
//! lifecycle record (checked against the version the caller holds, so concurrent writers never
//! lose an update) and appends an event with the run's next sequence number. The lane commits
//! the operations that arrive together as one transaction, replies once it is durable, then
//! hands the committed changes to the [`ChangeHub`]. Reads use a pool of their own, so they
//! never queue behind writes.
//!
//! # Layout
//! - [`records`]: what is stored and returned.
//! - [`query`]: typed list filters, sort and paging.
//! - [`hub`]: in-process delivery of committed changes to watchers.
//! - [`cluster`]: several nodes on one PostgreSQL database: nodes, attempt leases, and the
//!   notices that carry one node's commits to the others' watchers.
//! - `writer`: the group-commit writer lanes.
//! - `cache`: the recently written actions, which hot reads take from memory.
//! - `runs`, `actions`, `events`, `api_keys`, `tasks` (deployed task versions), `triggers`,
//!   `secrets` (sealed values), `projects`, `task_cache` (cached outputs): the statements, one
//!   module per table.
//! - `control`: the one writer operation behind every write to deployed tasks, triggers,
//!   secrets and projects.
//!
//! # Contract
//! Event sequence numbers strictly increase within a run and are published in that order (the
//! changes of one run all go through one lane).

mod actions;
mod api_keys;
mod cache;
pub mod cluster;
mod control;
mod error;
pub mod events;
pub mod hub;
mod projects;
pub mod query;
pub mod records;
mod rows;
pub mod runs;
mod secrets;
mod task_cache;
mod tasks;
mod triggers;
mod writer;

pub use actions::SpeclessAction;
pub use api_keys::{ApiKeyRecord, NewApiKey};
pub use cluster::{Cluster, Lease, NodeConfig, NodeRecord};
pub use error::{StoreError, WriteFailure};
pub use hub::{ChangeHub, Received, Subscription};
pub use projects::ProjectRecord;
pub use query::{
    Filter, FilterField, FilterOp, FilterValue, LabelFilter, ListQuery, Page, SortKey,
};
pub use records::{
    ActionEvent, ActionRecord, Change, FireClaim, NewAction, NewRun, RunRecord, RunTrigger,
};
pub use runs::RunWithRoot;
pub use secrets::{NewSecret, SecretId, SecretRecord, SecretWrite};
pub use task_cache::{CacheEntry, CacheScope, CacheSelection};
pub use tasks::{Deployed, NewTaskVersion, TaskQuery, TaskVersionId, TaskVersionRecord};
pub use triggers::{NewTrigger, NextFire, TriggerId, TriggerQuery, TriggerRecord};

use error::DbContext;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, AssertSqlSafe};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use writer::{Connector, Notices, Writer};

/// Read connections to a SQLite database (WAL readers run beside the writer).
const SQLITE_READERS: u32 = 4;
/// Writer lanes on PostgreSQL (one connection each).
const POSTGRES_LANES: usize = 4;
/// Read connections to PostgreSQL.
const POSTGRES_READERS: u32 = 8;

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
    reads: AnyPool,
    writer: Writer,
    hub: Arc<ChangeHub>,
    cache: Arc<cache::ActionCache>,
    runs: Arc<actions::RunsSeen>,
    /// This node among the others, for a PostgreSQL store (which several nodes may share).
    cluster: Option<Arc<Cluster>>,
    /// Stops the listener for other nodes' notices.
    stop: CancellationToken,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

/// The statements every SQLite writer connection starts with: WAL, and every commit synced.
/// Every connection maps up to 256 MiB of the database file, which spares a system call per page
/// read; the mapped pages are the file's page cache, counted in the server's resident memory.
const SQLITE_WRITER_SETUP: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
     PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA mmap_size = 268435456;";
/// The statements every SQLite reader connection starts with.
const SQLITE_READER_SETUP: &str =
    "PRAGMA busy_timeout = 5000; PRAGMA query_only = ON; PRAGMA mmap_size = 268435456;";

impl Store {
    /// Connects to `backend`, applies pending migrations and starts the writer lanes; on
    /// PostgreSQL, as a node with a made-up id ([`NodeConfig::anonymous`]).
    pub async fn open(backend: &Backend) -> Result<Self, StoreError> {
        Self::open_as(backend, NodeConfig::anonymous()).await
    }

    /// Connects to `backend` as `node` (which matters on PostgreSQL only: a SQLite store has
    /// one node), applies pending migrations and starts the writer lanes.
    pub async fn open_as(backend: &Backend, node: NodeConfig) -> Result<Self, StoreError> {
        install_default_drivers();
        let hub = Arc::new(ChangeHub::default());
        let stop = CancellationToken::new();
        let (reads, connector, lanes, cluster, cache) = match backend {
            Backend::Sqlite { path } => {
                let url = format!("sqlite://{}?mode=rwc", path.display());
                let connector = Connector {
                    url: url.clone(),
                    setup: SQLITE_WRITER_SETUP.to_owned(),
                    notices: None,
                };
                migrate(&connector, sqlx::migrate!("migrations/sqlite")).await?;
                (
                    open_sqlite_readers(&url).await?,
                    connector,
                    1,
                    None,
                    cache::ActionCache::default(),
                )
            }
            Backend::Postgres { url, schema } => {
                let setup = match schema {
                    Some(schema) => prepare_schema(url, schema).await?,
                    None => String::new(),
                };
                let channel = cluster::channel(schema.as_deref());
                let connector = Connector {
                    url: url.clone(),
                    setup,
                    notices: Some(Notices {
                        node: node.id.clone(),
                        channel: channel.clone(),
                    }),
                };
                migrate(&connector, sqlx::migrate!("migrations/postgres")).await?;
                let cluster = Cluster::new(
                    pool_with_setup(
                        &connector.url,
                        &connector.setup,
                        cluster::CLUSTER_CONNECTIONS,
                    )
                    .await?,
                    node.clone(),
                );
                hub.set_listening(false);
                tokio::spawn(cluster::listen(
                    url.clone(),
                    channel,
                    node.id.clone(),
                    Arc::clone(&hub),
                    stop.clone(),
                ));
                (
                    open_postgres_readers(&connector).await?,
                    connector,
                    POSTGRES_LANES,
                    Some(Arc::new(cluster)),
                    cache::ActionCache::disabled(),
                )
            }
        };
        let cache = Arc::new(cache);
        let runs = Arc::new(actions::RunsSeen::default());
        Ok(Self {
            reads,
            writer: Writer::start(
                connector,
                lanes,
                Arc::clone(&hub),
                (Arc::clone(&cache), Arc::clone(&runs)),
            ),
            hub,
            cache,
            runs,
            cluster,
            stop,
        })
    }

    /// Whether this store can serve: the database answers a read and, when nodes share it, the
    /// other nodes' notices reach this one. The error says what is wrong.
    pub async fn readiness(&self) -> Result<(), String> {
        sqlx::query("SELECT 1")
            .execute(&self.reads)
            .await
            .map_err(|_| "the database does not answer".to_owned())?;
        if self.hub.listening() {
            Ok(())
        } else {
            Err("the connection that hears other nodes' changes is down".to_owned())
        }
    }

    /// This node among the others sharing the database; `None` for SQLite (one node).
    pub fn cluster(&self) -> Option<&Arc<Cluster>> {
        self.cluster.as_ref()
    }

    /// Where committed changes are delivered to watchers.
    pub fn hub(&self) -> &ChangeHub {
        &self.hub
    }

    /// Commits what is queued, then closes every connection.
    pub async fn close(&self) {
        self.stop.cancel();
        self.writer.close().await;
        self.reads.close().await;
    }
}

/// Applies `migrator` on a connection of its own. On PostgreSQL the migrator holds an advisory
/// lock while it works, so nodes starting together migrate once. A database that has a
/// migration this build does not know (a newer aerie migrated it) is refused, untouched.
async fn migrate(
    connector: &Connector,
    migrator: sqlx::migrate::Migrator,
) -> Result<(), StoreError> {
    let pool = pool_with_setup(&connector.url, &connector.setup, 1).await?;
    let migrated = migrator.run(&pool).await;
    pool.close().await;
    let known = migrator
        .iter()
        .map(|migration| migration.version)
        .max()
        .unwrap_or(0);
    migrated.map_err(|source| match source {
        sqlx::migrate::MigrateError::VersionMissing(database) => {
            StoreError::SchemaTooNew { database, known }
        }
        source => StoreError::Database {
            op: "applying migrations",
            source: source.into(),
        },
    })
}

async fn pool_with_setup(url: &str, setup: &str, size: u32) -> Result<AnyPool, StoreError> {
    let setup = setup.to_owned();
    AnyPoolOptions::new()
        .max_connections(size)
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(move |connection, _meta| {
            let setup = setup.clone();
            Box::pin(async move {
                if !setup.is_empty() {
                    sqlx::raw_sql(AssertSqlSafe(setup))
                        .execute(&mut *connection)
                        .await?;
                }
                Ok(())
            })
        })
        .connect(url)
        .await
        .during("connecting to the database")
}

async fn open_sqlite_readers(url: &str) -> Result<AnyPool, StoreError> {
    pool_with_setup(url, SQLITE_READER_SETUP, SQLITE_READERS).await
}

async fn open_postgres_readers(connector: &Connector) -> Result<AnyPool, StoreError> {
    pool_with_setup(&connector.url, &connector.setup, POSTGRES_READERS).await
}

/// Creates `schema` if missing; returns the statement that makes connections use it.
async fn prepare_schema(url: &str, schema: &str) -> Result<String, StoreError> {
    if !schema
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(StoreError::InvalidQuery(format!(
            "schema name {schema:?} may only hold a-z, 0-9 and _"
        )));
    }
    let bootstrap = pool_with_setup(url, "", 1).await?;
    let created = sqlx::raw_sql(AssertSqlSafe(format!(
        "CREATE SCHEMA IF NOT EXISTS {schema}"
    )))
    .execute(&bootstrap)
    .await
    .during("creating the schema");
    bootstrap.close().await;
    created?;
    // The schema name was checked above to hold only [a-z0-9_].
    Ok(format!("SET search_path TO {schema}"))
}
