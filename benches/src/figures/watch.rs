//! `watch_p50_ms` and `watch_p99_ms`: how soon 1,000 concurrent watchers learn of an abort.
//!
//! 1,000 runs are created (32 clients) on `aerie serve --executor noop` with roots held
//! RUNNING. One WatchActionDetails stream per root is opened, multiplexed over 10 HTTP/2
//! connections (100 streams each, below the server's 200-stream limit per connection), and each
//! watcher waits until it has seen RUNNING. Then the roots are aborted one at a time with
//! AbortAction from a separate HTTP/1.1 client. A sample is the time from just before an
//! AbortAction call to its watcher receiving the ABORTED update.
//!
//! `watch_cross_node_p50_ms` and `watch_cross_node_p99_ms` ([`across_nodes`]) are the same
//! measurement with two nodes sharing a PostgreSQL database: runs are created and aborted
//! through one node, and the watchers are on the other, which learns of each change through
//! the database's notices.
//!
//! [`watch_until_running`] is shared with the loaded-memory figure, which holds 1,000 streams
//! open the same way.

use super::{Bench, Measured, with_server};
use crate::concurrency::{for_each_index, join_all};
use crate::deadline::within;
use crate::rpc::{Hold, ROOT, Rpc, noop_task};
use crate::server::{Server, ServerOptions};
use crate::stats::{ms, percentile};
use aerie_client::wire::flyteidl2::common::ActionPhase;
use anyhow::bail;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

const WATCHERS: usize = 1_000;
/// HTTP/2 connections the watch streams are spread over.
const WATCH_CONNECTIONS: usize = 10;
const CREATORS: usize = 32;
const SETUP_LIMIT: Duration = Duration::from_secs(120);
const ABORT_LIMIT: Duration = Duration::from_secs(120);

/// Watcher tasks: each ends when its action is ABORTED, with its index and when it learned.
pub type Watchers = JoinSet<anyhow::Result<(usize, Instant)>>;

pub async fn measure(bench: &Bench) -> anyhow::Result<Measured> {
    with_server(bench, &ServerOptions::noop(), async |server| {
        let [p50, p99] = abort_latencies(server, server, "watch").await?;
        Ok(vec![("watch_p50_ms", p50), ("watch_p99_ms", p99)])
    })
    .await
}

/// The watch latencies with runs made and aborted through `origin` and watched on `watching`.
pub async fn across_nodes(origin: &Server, watching: &Server) -> anyhow::Result<Measured> {
    let [p50, p99] = abort_latencies(origin, watching, "xwatch").await?;
    Ok(vec![
        ("watch_cross_node_p50_ms", p50),
        ("watch_cross_node_p99_ms", p99),
    ])
}

/// Creates [`WATCHERS`] held runs named `prefix…` through `origin`, watches each on `watching`,
/// aborts them through `origin` one by one; returns the p50 and p99 latency in ms.
async fn abort_latencies(
    origin: &Server,
    watching: &Server,
    prefix: &str,
) -> anyhow::Result<[f64; 2]> {
    let runs: Vec<String> = (0..WATCHERS)
        .map(|index| format!("{prefix}{index:04}"))
        .collect();
    let creators: Vec<Rpc> = (0..CREATORS).map(|_| origin.rpc()).collect();
    let names = runs.clone();
    within(SETUP_LIMIT, "creating 1,000 held runs", async {
        for_each_index(creators, WATCHERS, move |rpc, index| {
            let run = names[index].clone();
            async move { rpc.create_run(&run, noop_task(Hold::Running)).await }
        })
        .await
    })
    .await?;
    let targets: Vec<(String, String)> = runs
        .iter()
        .map(|run| (run.clone(), ROOT.to_owned()))
        .collect();
    let watchers = watch_until_running(watching, &targets).await?;
    let aborter = origin.rpc();
    let latencies = within(ABORT_LIMIT, "aborting 1,000 watched actions", async {
        let mut abort_started = Vec::with_capacity(WATCHERS);
        for (run, action) in &targets {
            abort_started.push(Instant::now());
            aborter.abort_action(run, action).await?;
        }
        let received = join_all(watchers).await?;
        Ok(received
            .into_iter()
            .map(|(index, at)| at.saturating_duration_since(abort_started[index]))
            .collect::<Vec<_>>())
    })
    .await?;
    Ok([
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.99)),
    ])
}

/// Opens one WatchActionDetails stream per `(run, action)` target, spread over
/// [`WATCH_CONNECTIONS`] HTTP/2 connections, and returns once every watcher has seen RUNNING.
/// Each watcher then keeps its stream open until the action is ABORTED.
pub async fn watch_until_running(
    server: &Server,
    targets: &[(String, String)],
) -> anyhow::Result<Watchers> {
    let connections: Vec<Rpc> = (0..WATCH_CONNECTIONS)
        .map(|_| Rpc::http2(&server.endpoint))
        .collect();
    let (running_tx, mut running_rx) = mpsc::channel::<()>(targets.len());
    let mut watchers = JoinSet::new();
    for (index, (run, action)) in targets.iter().enumerate() {
        let rpc = connections[index % WATCH_CONNECTIONS].clone();
        let (run, action) = (run.clone(), action.clone());
        let running_tx = running_tx.clone();
        watchers.spawn(async move {
            let mut watch = rpc.watch_action(&run, &action).await?;
            watch.until(ActionPhase::Running).await?;
            // The receiver outlives every watcher that reaches this point.
            let _ = running_tx.send(()).await;
            watch.until(ActionPhase::Aborted).await?;
            Ok((index, Instant::now()))
        });
    }
    drop(running_tx);
    let what = format!("{} watchers seeing RUNNING", targets.len());
    within(SETUP_LIMIT, &what, async {
        let mut running = 0;
        while running < targets.len() {
            tokio::select! {
                Some(()) = running_rx.recv() => running += 1,
                Some(joined) = watchers.join_next() => {
                    let ended = joined.map_err(|err| anyhow::anyhow!("watcher task: {err}"))?;
                    ended?;
                    bail!("a watcher saw ABORTED before any abort was sent");
                }
            }
        }
        Ok(())
    })
    .await?;
    Ok(watchers)
}
