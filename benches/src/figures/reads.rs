//! `reads_per_s`: GetActionDetails on one finished action, Connect with binary protobuf over
//! HTTP/1.1, from 64 concurrent clients (one connection each) for 5 seconds.
//!
//! The server is `aerie serve` with its defaults (local executor, SQLite); the action is the root
//! of a run of `sh -c true`, read only once it is SUCCEEDED. Each client makes one untimed call
//! first so connection set-up is not counted. The figure is the number of successful reads
//! divided by the time from the start of the window to the last client's last answer. The
//! clients share the machine's two cores with the server.

use super::{Bench, Measured, with_server};
use crate::concurrency::join_all;
use crate::deadline::within;
use crate::rpc::{Hold, ROOT, Rpc, noop_task};
use crate::server::ServerOptions;
use aerie_client::wire::flyteidl2::common::ActionPhase;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

const RUN: &str = "reads";
const READERS: usize = 64;
const WINDOW: Duration = Duration::from_secs(5);
/// Limit for the action to finish, and for each single read.
const FINISH_LIMIT: Duration = Duration::from_secs(60);
const READ_LIMIT: Duration = Duration::from_secs(10);

pub async fn measure(bench: &Bench) -> anyhow::Result<Measured> {
    with_server(bench, &ServerOptions::defaults(), async |server| {
        let rpc = server.rpc();
        within(
            FINISH_LIMIT,
            "running the read target to SUCCEEDED",
            async {
                rpc.create_run(RUN, noop_task(Hold::No)).await?;
                let mut watch = rpc.watch_action(RUN, ROOT).await?;
                watch.until(ActionPhase::Succeeded).await
            },
        )
        .await?;
        let readers: Vec<Rpc> = (0..READERS).map(|_| server.rpc()).collect();
        for reader in &readers {
            within(
                READ_LIMIT,
                "a warm-up read",
                reader.get_action_details(RUN, ROOT),
            )
            .await?;
        }
        let started = Instant::now();
        let window_end = started + WINDOW;
        let mut tasks = JoinSet::new();
        for reader in readers {
            tasks.spawn(async move {
                let mut reads = 0u64;
                while Instant::now() < window_end {
                    within(
                        READ_LIMIT,
                        "GetActionDetails",
                        reader.get_action_details(RUN, ROOT),
                    )
                    .await?;
                    reads += 1;
                }
                Ok(reads)
            });
        }
        let total: u64 = join_all(tasks).await?.into_iter().sum();
        let elapsed = started.elapsed();
        Ok(vec![("reads_per_s", total as f64 / elapsed.as_secs_f64())])
    })
    .await
}
