//! `create_to_running_p50_ms` and `create_to_running_p99_ms`.
//!
//! 200 sequential samples on `aerie serve --executor noop`, each a new run whose root is held
//! RUNNING. A sample is timed from just before the CreateRun call to the arrival of the first
//! WatchActionDetails update saying RUNNING, on a watch opened as soon as CreateRun returns (so
//! the watch's set-up is part of the figure, as it is for any client that waits on a run).
//! After each sample the run is aborted and its ABORTED update awaited, untimed, so samples do
//! not overlap. The first 5 samples warm the connections up and are not counted.

use super::{Bench, Measured, with_server};
use crate::deadline::within;
use crate::rpc::{Hold, ROOT, noop_task};
use crate::server::ServerOptions;
use crate::stats::{ms, percentile};
use aerie_client::wire::flyteidl2::common::ActionPhase;
use std::time::{Duration, Instant};

const SAMPLES: usize = 200;
const WARM_UP: usize = 5;
/// Limit for one sample, abort included.
const SAMPLE_LIMIT: Duration = Duration::from_secs(10);

pub async fn measure(bench: &Bench) -> anyhow::Result<Measured> {
    with_server(bench, &ServerOptions::noop(), async |server| {
        let rpc = server.rpc();
        let mut latencies = Vec::with_capacity(SAMPLES);
        for index in 0..WARM_UP + SAMPLES {
            let run = format!("latency{index:03}");
            let latency = within(SAMPLE_LIMIT, &format!("latency sample {run}"), async {
                let started = Instant::now();
                rpc.create_run(&run, noop_task(Hold::Running)).await?;
                let mut watch = rpc.watch_action(&run, ROOT).await?;
                watch.until(ActionPhase::Running).await?;
                let latency = started.elapsed();
                rpc.abort_run(&run).await?;
                watch.until(ActionPhase::Aborted).await?;
                Ok(latency)
            })
            .await?;
            if index >= WARM_UP {
                latencies.push(latency);
            }
        }
        Ok(vec![
            ("create_to_running_p50_ms", ms(percentile(&latencies, 0.50))),
            ("create_to_running_p99_ms", ms(percentile(&latencies, 0.99))),
        ])
    })
    .await
}
