//! Figures for aerie's speed on this machine, against the real binary over the network:
//! `cargo bench -p aerie-cli --bench lifecycle`. Tasks are `sh -c true`, so the numbers are
//! aerie's own cost plus a process spawn, with no Python start-up.
//!
//! Prints: CreateRun rate, end-to-end actions per second (submit → SUCCEEDED, 16 at a time),
//! the latency of one action from CreateRun to the terminal update a watcher receives, and
//! GetActionDetails reads per second (sequential and 8 concurrent clients).

#[path = "../tests/e2e/harness.rs"]
#[allow(dead_code)]
mod harness;

use aerie_client::{ActionDetails, ActionSummary};
use harness::{Aerie, shell_task};
use std::time::{Duration, Instant};

const RUNS: usize = 200;
const LATENCY_SAMPLES: usize = 20;
const READS: usize = 2000;
const READERS: usize = 8;

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * fraction).round() as usize]
}

#[tokio::main]
async fn main() {
    let aerie = Aerie::start().await;

    let started = Instant::now();
    let mut roots = Vec::with_capacity(RUNS);
    for index in 0..RUNS {
        roots.push(
            aerie
                .create_run(&format!("bench{index}"), shell_task("noop", "true"))
                .await,
        );
    }
    let submitted = started.elapsed();
    for root in &roots {
        let details = aerie.wait_done(root).await;
        assert!(details.done());
    }
    let finished = started.elapsed();
    println!(
        "create_run: {RUNS} runs in {:.2}s = {:.0} runs/s",
        submitted.as_secs_f64(),
        RUNS as f64 / submitted.as_secs_f64()
    );
    println!(
        "end_to_end: {RUNS} actions submitted and SUCCEEDED in {:.2}s = {:.1} actions/s",
        finished.as_secs_f64(),
        RUNS as f64 / finished.as_secs_f64()
    );

    let mut latencies = Vec::with_capacity(LATENCY_SAMPLES);
    for index in 0..LATENCY_SAMPLES {
        let begin = Instant::now();
        let root = aerie
            .create_run(&format!("latency{index}"), shell_task("noop", "true"))
            .await;
        aerie.wait_done(&root).await;
        latencies.push(begin.elapsed());
    }
    latencies.sort();
    println!(
        "one_action_latency (CreateRun -> terminal watch update): p50 {:.1}ms p90 {:.1}ms max {:.1}ms",
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.9).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3
    );

    let client = aerie.client();
    let target = roots[0].clone();
    let begin = Instant::now();
    for _ in 0..READS {
        ActionDetails::get_details(&client, &target).await.unwrap();
    }
    let sequential = begin.elapsed();
    println!(
        "get_action_details: {READS} sequential reads in {:.2}s = {:.0} reads/s",
        sequential.as_secs_f64(),
        READS as f64 / sequential.as_secs_f64()
    );
    let begin = Instant::now();
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let client = aerie.client();
            let target = target.clone();
            tokio::spawn(async move {
                for _ in 0..READS / READERS {
                    let details = ActionDetails::get_details(&client, &target).await.unwrap();
                    assert!(details.done());
                }
            })
        })
        .collect();
    for reader in readers {
        reader.await.unwrap();
    }
    let concurrent = begin.elapsed();
    println!(
        "get_action_details: {READS} reads by {READERS} concurrent clients in {:.2}s = {:.0} reads/s",
        concurrent.as_secs_f64(),
        READS as f64 / concurrent.as_secs_f64()
    );
}
