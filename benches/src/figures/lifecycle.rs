//! `lifecycle_sqlite_actions_per_s`, `lifecycle_postgres_actions_per_s`,
//! `lifecycle_3nodes_actions_per_s`, `db_bytes_per_action`.
//!
//! 32 clients, each on its own HTTP/1.1 connection, create 5,000 runs (CreateRun of a noop
//! task, inline empty inputs) as fast as the server answers; `aerie serve --executor noop` walks
//! each root action QUEUED → INITIALIZING → RUNNING → SUCCEEDED. The figure is 5,000 divided by
//! the wall time from the first CreateRun to the moment every run is seen SUCCEEDED. With three
//! nodes on one PostgreSQL database, the clients are spread evenly over the nodes, and each
//! attempt runs on whichever node claims it first.
//!
//! Completion is detected by polling ListRuns with the filter `phase != SUCCEEDED` and a page of
//! one, every 20 ms, once the last CreateRun has returned: one cheap query per poll and nothing
//! while runs are being created, where WatchRuns would re-list every run on every change and
//! 5,000 WatchActionDetails streams would cost the server more than the actions themselves.
//! The poll interval bounds the error of the end time.
//!
//! `db_bytes_per_action` is the size of `aerie.db` plus `aerie.db-wal` in the data directory
//! right after the SQLite run, divided by the 5,000 finished actions.

use super::{Bench, Measured, with_server, with_servers};
use crate::concurrency::for_each_index;
use crate::deadline::within;
use crate::rpc::{Hold, Rpc, is_terminal, noop_task};
use crate::server::{Server, ServerOptions};
use anyhow::{Context, bail};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::process::Command;

/// Runs created, each one root action.
const RUNS: usize = 5_000;
/// Concurrent CreateRun clients.
const CLIENTS: usize = 32;
/// How often completion is polled.
const POLL_INTERVAL: Duration = Duration::from_millis(20);
/// Limit for creating every run, and then for every run to succeed.
const CREATE_LIMIT: Duration = Duration::from_secs(120);
const FINISH_LIMIT: Duration = Duration::from_secs(120);
/// Limit for each psql command.
const PSQL_LIMIT: Duration = Duration::from_secs(30);

pub async fn sqlite(bench: &Bench) -> anyhow::Result<Measured> {
    with_server(bench, &ServerOptions::noop(), async |server| {
        let actions_per_s = walk_runs(&[server]).await?;
        let db_bytes = database_bytes(&server.data_dir())?;
        Ok(vec![
            ("lifecycle_sqlite_actions_per_s", actions_per_s),
            ("db_bytes_per_action", db_bytes as f64 / RUNS as f64),
        ])
    })
    .await
}

pub async fn postgres(bench: &Bench) -> anyhow::Result<Measured> {
    let database = Database::create(&bench.postgres).await?;
    let options = ServerOptions {
        database: Some(database.url()),
        ..ServerOptions::noop()
    };
    let measured = with_server(bench, &options, async |server| {
        Ok(vec![(
            "lifecycle_postgres_actions_per_s",
            walk_runs(&[server]).await?,
        )])
    })
    .await;
    let dropped = database.drop_it().await;
    let measured = measured?;
    dropped?;
    Ok(measured)
}

/// Three nodes on one fresh PostgreSQL database, noop executor.
pub async fn three_nodes(bench: &Bench) -> anyhow::Result<Measured> {
    let database = Database::create(&bench.postgres).await?;
    // The first node creates the key; the others must use the same one.
    let shared = tempfile::tempdir().context("a directory for the nodes' shared key")?;
    let options: Vec<ServerOptions> = (1..=3)
        .map(|node| ServerOptions {
            database: Some(database.url()),
            node_id: Some(format!("bench-{node}")),
            secret_key_file: Some(shared.path().join("secret.key")),
            ..ServerOptions::noop()
        })
        .collect();
    let measured = with_servers(bench, &options, async |servers| {
        let mut measured = vec![(
            "lifecycle_3nodes_actions_per_s",
            walk_runs(&servers.iter().collect::<Vec<_>>()).await?,
        )];
        measured.extend(super::watch::across_nodes(&servers[0], &servers[1]).await?);
        Ok(measured)
    })
    .await;
    let dropped = database.drop_it().await;
    let measured = measured?;
    dropped?;
    Ok(measured)
}

/// Creates [`RUNS`] runs from [`CLIENTS`] clients spread over `servers` and waits until all
/// succeeded; returns root actions per second.
async fn walk_runs(servers: &[&Server]) -> anyhow::Result<f64> {
    let clients: Vec<Rpc> = (0..CLIENTS)
        .map(|index| servers[index % servers.len()].rpc())
        .collect();
    let server = servers[0];
    let started = Instant::now();
    within(CREATE_LIMIT, "creating 5,000 runs", async {
        for_each_index(clients, RUNS, |rpc, index| async move {
            rpc.create_run(&format!("life{index:05}"), noop_task(Hold::No))
                .await
        })
        .await
    })
    .await?;
    let poller = server.rpc();
    let finished = within(FINISH_LIMIT, "waiting for 5,000 runs to succeed", async {
        loop {
            match poller.a_run_not_succeeded().await? {
                None => return Ok(Instant::now()),
                Some((run, phase)) if is_terminal(phase) => {
                    bail!("run {run} ended {phase:?} instead of SUCCEEDED")
                }
                Some(_) => tokio::time::sleep(POLL_INTERVAL).await,
            }
        }
    })
    .await?;
    Ok(RUNS as f64 / (finished - started).as_secs_f64())
}

/// Bytes in the SQLite database and its write-ahead log.
fn database_bytes(data_dir: &Path) -> anyhow::Result<u64> {
    let mut total = 0;
    for name in ["aerie.db", "aerie.db-wal"] {
        let path = data_dir.join(name);
        match std::fs::metadata(&path) {
            Ok(metadata) => total += metadata.len(),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound && name.ends_with("-wal") => {}
            Err(err) => return Err(err).with_context(|| format!("size of {}", path.display())),
        }
    }
    Ok(total)
}

/// A fresh PostgreSQL database for one server, created and dropped with `psql`.
struct Database {
    /// The server URL without a database, e.g. `postgres://postgres@127.0.0.1:5432`.
    base: String,
    name: String,
}

impl Database {
    async fn create(base: &str) -> anyhow::Result<Self> {
        let unique = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_millis());
        let database = Self {
            base: base.trim_end_matches('/').to_owned(),
            name: format!("aerie_bench_{}_{unique}", std::process::id()),
        };
        database
            .psql(&format!("CREATE DATABASE {}", database.name))
            .await?;
        Ok(database)
    }

    fn url(&self) -> String {
        format!("{}/{}", self.base, self.name)
    }

    /// Drops the database, closing any connection a killed server left behind.
    async fn drop_it(self) -> anyhow::Result<()> {
        self.psql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .await
    }

    /// Runs one statement in the `postgres` maintenance database.
    async fn psql(&self, statement: &str) -> anyhow::Result<()> {
        let mut command = Command::new("psql");
        command
            .arg(format!("{}/postgres", self.base))
            .args([
                "--no-psqlrc",
                "--quiet",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                statement,
            ])
            .kill_on_drop(true);
        let output = within(PSQL_LIMIT, &format!("psql -c {statement:?}"), async {
            command
                .output()
                .await
                .context("running psql (is the PostgreSQL client installed?)")
        })
        .await?;
        if !output.status.success() {
            bail!(
                "psql {}/postgres -c {statement:?} failed ({}): {}",
                self.base,
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }
}
