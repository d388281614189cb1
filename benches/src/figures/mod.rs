//! Every figure the benchmark reports, grouped by the server run that measures it.
//!
//! A group starts its own `aerie serve` (or none, for the SDK's local mode), measures one or
//! more figures, and stops the server. A group runs when any of its figures is selected; a
//! group that fails marks all its figures failed and the benchmark moves on to the next group.
//!
//! # Layout
//! - [`lifecycle`]: root actions walked to SUCCEEDED per second (SQLite, PostgreSQL), and the
//!   database bytes each one costs.
//! - [`fanout`]: 10,000 children enqueued by a parent and walked to SUCCEEDED; paging through
//!   them with ListActions.
//! - [`latency`]: CreateRun to RUNNING as a watcher sees it.
//! - [`watch`]: AbortAction to ABORTED as 1,000 concurrent watchers see it.
//! - [`reads`]: GetActionDetails per second.
//! - [`rss`]: server memory idle and loaded.
//! - [`sdk`]: the official Python SDK fanning out 100 children, on aerie and in local mode.
//! - [`bucket`]: a 1 GiB object through aerie's S3 bucket with the SDK's object-store client.

mod bucket;
mod fanout;
mod latency;
mod lifecycle;
mod reads;
mod rss;
mod sdk;
mod watch;

use crate::report::Target;
use crate::server::{Server, ServerOptions};
use std::path::PathBuf;

/// What every group needs to know about this benchmark run.
#[derive(Debug, Clone)]
pub struct Bench {
    /// The `aerie` binary under test.
    pub aerie: PathBuf,
    /// The Python virtual environment holding the official SDK (for the SDK figures).
    pub venv: PathBuf,
    /// PostgreSQL URL without a database, e.g. `postgres://postgres@127.0.0.1:5432`.
    pub postgres: String,
}

/// A set of figures measured together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    LifecycleSqlite,
    LifecyclePostgres,
    ThreeNodes,
    Fanout,
    CreateToRunning,
    Watch,
    Reads,
    RssIdle,
    RssLoaded,
    SdkOnAerie,
    SdkLocal,
    Bucket,
}

/// A figure's fixed description.
#[derive(Debug, Clone, Copy)]
pub struct FigureSpec {
    pub name: &'static str,
    pub unit: &'static str,
    pub target: Target,
    pub group: Group,
}

const fn figure(
    name: &'static str,
    unit: &'static str,
    target: Target,
    group: Group,
) -> FigureSpec {
    FigureSpec {
        name,
        unit,
        target,
        group,
    }
}

/// Every figure, in the order groups run and lines print.
pub const FIGURES: &[FigureSpec] = &[
    figure(
        "lifecycle_sqlite_actions_per_s",
        "actions/s",
        Target::AtLeast(2000.0),
        Group::LifecycleSqlite,
    ),
    figure(
        "db_bytes_per_action",
        "bytes/action",
        Target::Report,
        Group::LifecycleSqlite,
    ),
    figure(
        "lifecycle_postgres_actions_per_s",
        "actions/s",
        Target::AtLeast(1000.0),
        Group::LifecyclePostgres,
    ),
    figure(
        "lifecycle_3nodes_actions_per_s",
        "actions/s",
        Target::Report,
        Group::ThreeNodes,
    ),
    figure(
        "watch_cross_node_p50_ms",
        "ms",
        Target::Report,
        Group::ThreeNodes,
    ),
    figure(
        "watch_cross_node_p99_ms",
        "ms",
        Target::Below(50.0),
        Group::ThreeNodes,
    ),
    figure(
        "fanout_10k_children_s",
        "s",
        Target::AtMost(10.0),
        Group::Fanout,
    ),
    figure(
        "list_actions_10k_ms",
        "ms",
        Target::Below(500.0),
        Group::Fanout,
    ),
    figure(
        "create_to_running_p50_ms",
        "ms",
        Target::Below(5.0),
        Group::CreateToRunning,
    ),
    figure(
        "create_to_running_p99_ms",
        "ms",
        Target::Below(20.0),
        Group::CreateToRunning,
    ),
    figure("watch_p50_ms", "ms", Target::Below(2.0), Group::Watch),
    figure("watch_p99_ms", "ms", Target::Below(10.0), Group::Watch),
    figure(
        "reads_per_s",
        "reads/s",
        Target::AtLeast(20000.0),
        Group::Reads,
    ),
    figure("rss_idle_mb", "MiB", Target::Below(30.0), Group::RssIdle),
    figure(
        "rss_loaded_mb",
        "MiB",
        Target::Below(200.0),
        Group::RssLoaded,
    ),
    figure("sdk_fanout_100_s", "s", Target::Report, Group::SdkOnAerie),
    figure(
        "sdk_local_fanout_100_s",
        "s",
        Target::Report,
        Group::SdkLocal,
    ),
    figure(
        "bucket_put_mib_per_s",
        "MiB/s",
        Target::Report,
        Group::Bucket,
    ),
    figure(
        "bucket_get_mib_per_s",
        "MiB/s",
        Target::Report,
        Group::Bucket,
    ),
    figure(
        "bucket_peak_rss_mb",
        "MiB",
        Target::Below(128.0),
        Group::Bucket,
    ),
];

/// Measured values by figure name.
pub type Measured = Vec<(&'static str, f64)>;

impl Group {
    /// What the group does, for the progress line on stderr.
    pub fn describe(self) -> &'static str {
        match self {
            Self::LifecycleSqlite => {
                "lifecycle on SQLite: 5,000 runs from 32 clients, noop executor"
            }
            Self::LifecyclePostgres => {
                "lifecycle on PostgreSQL: 5,000 runs from 32 clients, noop executor"
            }
            Self::ThreeNodes => {
                "three nodes on one PostgreSQL: 5,000 runs spread over them, then 1,000 \
                 watchers on one node seeing aborts made through another"
            }
            Self::Fanout => {
                "fan-out: 10,000 children from 16 enqueuers, then ListActions over them"
            }
            Self::CreateToRunning => "CreateRun to RUNNING: 200 sequential samples",
            Self::Watch => "watch latency: 1,000 watchers, aborted one by one",
            Self::Reads => "GetActionDetails: 64 clients for 5 s",
            Self::RssIdle => "server RSS right after start",
            Self::RssLoaded => "server RSS with 100,000 actions and 1,000 open watches",
            Self::SdkOnAerie => "official SDK: parent with 100 children on aerie (local executor)",
            Self::SdkLocal => "official SDK: the same workflow in local mode",
            Self::Bucket => "a 1 GiB object through the S3 bucket with obstore, up and down",
        }
    }

    /// Measures the group's figures.
    pub async fn measure(self, bench: &Bench) -> anyhow::Result<Measured> {
        match self {
            Self::LifecycleSqlite => lifecycle::sqlite(bench).await,
            Self::LifecyclePostgres => lifecycle::postgres(bench).await,
            Self::ThreeNodes => lifecycle::three_nodes(bench).await,
            Self::Fanout => fanout::measure(bench).await,
            Self::CreateToRunning => latency::measure(bench).await,
            Self::Watch => watch::measure(bench).await,
            Self::Reads => reads::measure(bench).await,
            Self::RssIdle => rss::idle(bench).await,
            Self::RssLoaded => rss::loaded(bench).await,
            Self::SdkOnAerie => sdk::on_aerie(bench).await,
            Self::SdkLocal => sdk::local(bench).await,
            Self::Bucket => bucket::measure(bench).await,
        }
    }
}

/// Starts one server per entry of `options`, runs `work` on them and stops them. When `work`
/// fails, the tail of each server's log goes to stderr and the servers are killed.
async fn with_servers<T>(
    bench: &Bench,
    options: &[ServerOptions],
    work: impl AsyncFnOnce(&[Server]) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let mut servers = Vec::with_capacity(options.len());
    for options in options {
        servers.push(Server::start(&bench.aerie, options).await?);
    }
    match work(&servers).await {
        Ok(value) => {
            for mut server in servers {
                server.check_alive()?;
                server.stop().await?;
            }
            Ok(value)
        }
        Err(err) => {
            for server in &servers {
                eprintln!(
                    "aerie-bench: last lines of the log of the server on {}:\n{}",
                    server.endpoint,
                    server.log_tail()
                );
            }
            Err(err)
        }
    }
}

/// Starts a server with `options`, runs `work` on it and stops it. When `work` fails, the tail
/// of the server log goes to stderr and the server is killed.
async fn with_server<T>(
    bench: &Bench,
    options: &ServerOptions,
    work: impl AsyncFnOnce(&Server) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let mut server = Server::start(&bench.aerie, options).await?;
    match work(&server).await {
        Ok(value) => {
            server.check_alive()?;
            server.stop().await?;
            Ok(value)
        }
        Err(err) => {
            eprintln!(
                "aerie-bench: last lines of the server log:\n{}",
                server.log_tail()
            );
            Err(err)
        }
    }
}
