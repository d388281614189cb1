//! `fanout_10k_children_s` and `list_actions_10k_ms`.
//!
//! The bench plays a parent task: it creates a run whose root is a noop attempt held RUNNING,
//! then, as the root's process would, enqueues children through QueueService.EnqueueAction
//! (parent `a0`, the root's input URI, the run's base directory as output base). 16 enqueuers,
//! each on its own HTTP/1.1 connection, enqueue 10,000 noop children; one StateService.Watch on
//! the parent (opened, and past its snapshot sentinel, before the first enqueue) sees each child
//! reach SUCCEEDED. The figure is the time from the first EnqueueAction to the last SUCCEEDED.
//!
//! Then the run is aborted, and `list_actions_10k_ms` is the wall time of paging through its
//! 10,001 actions with ListActions, 1,000 per page (the server's largest page), from one client.
//!
//! [`start_parent`] and [`fan_out`] are shared with the loaded-memory figure, which also holds
//! some children RUNNING.

use super::{Bench, Measured, with_server};
use crate::concurrency::{for_each_index, join_all};
use crate::deadline::within;
use crate::rpc::{ChildAction, ChildUpdate, ChildWatch, Hold, ROOT, Rpc, is_terminal, noop_task};
use crate::server::{Server, ServerOptions};
use aerie_client::wire::flyteidl2::common::ActionPhase;
use anyhow::{bail, ensure};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

const RUN: &str = "fanout";
const CHILDREN: usize = 10_000;
const ENQUEUERS: usize = 16;
/// Actions per ListActions page.
const PAGE_SIZE: u32 = 1_000;
/// Limit for a parent to reach RUNNING, and for the run to be aborted.
const PHASE_LIMIT: Duration = Duration::from_secs(30);
/// Limit for paging through every action.
const LIST_LIMIT: Duration = Duration::from_secs(60);

pub async fn measure(bench: &Bench) -> anyhow::Result<Measured> {
    with_server(bench, &ServerOptions::noop(), async |server| {
        let parent = start_parent(server, RUN).await?;
        let fan_out_time = fan_out(server, &parent, CHILDREN, 0, ENQUEUERS).await?;
        let rpc = server.rpc();
        within(PHASE_LIMIT, "aborting the fan-out run", async {
            let mut watch = rpc.watch_action(RUN, ROOT).await?;
            rpc.abort_run(RUN).await?;
            watch.until(ActionPhase::Aborted).await
        })
        .await?;
        let list_time = list_all(&rpc, RUN, CHILDREN + 1).await?;
        Ok(vec![
            ("fanout_10k_children_s", fan_out_time.as_secs_f64()),
            ("list_actions_10k_ms", crate::stats::ms(list_time)),
        ])
    })
    .await
}

/// A run whose root is held RUNNING, ready to take children.
#[derive(Debug, Clone)]
pub struct Parent {
    pub run: String,
    pub input_uri: String,
    pub run_output_base: String,
}

/// Creates run `run` with a held root and waits until the root is RUNNING.
pub async fn start_parent(server: &Server, run: &str) -> anyhow::Result<Parent> {
    let rpc = server.rpc();
    within(PHASE_LIMIT, &format!("starting parent run {run}"), async {
        rpc.create_run(run, noop_task(Hold::Running)).await?;
        let mut watch = rpc.watch_action(run, ROOT).await?;
        watch.until(ActionPhase::Running).await
    })
    .await?;
    let input_uri = within(PHASE_LIMIT, "GetActionDataURIs of the parent", async {
        rpc.inputs_uri(run, ROOT).await
    })
    .await?;
    Ok(Parent {
        run: run.to_owned(),
        input_uri,
        run_output_base: server.run_base(run),
    })
}

/// Enqueues `plain` children that succeed and `held` children that stay RUNNING under
/// `parent`, from `enqueuers` concurrent clients, and waits until every child has settled
/// (plain ones SUCCEEDED, held ones RUNNING). Returns the time from the first EnqueueAction to
/// the last child settling. Held children are named `h0…`, plain ones `c0…`.
pub async fn fan_out(
    server: &Server,
    parent: &Parent,
    plain: usize,
    held: usize,
    enqueuers: usize,
) -> anyhow::Result<Duration> {
    let total = plain + held;
    // A generous floor plus 10 ms a child: far above any useful figure, short of a hang.
    let limit = Duration::from_secs(60) + Duration::from_millis(10) * total as u32;
    let what = format!("waiting for {total} children of {} to settle", parent.run);
    let mut watch = within(PHASE_LIMIT, "opening the child watch", async {
        let mut watch = server.rpc().watch_children(&parent.run).await?;
        loop {
            if let ChildUpdate::Sentinel = watch.next().await? {
                return Ok(watch);
            }
        }
    })
    .await?;
    let started = Instant::now();
    // In a set, so the watch is dropped with it if anything below fails.
    let mut settled = JoinSet::new();
    settled.spawn(async move { settle(&mut watch, total).await });
    let clients: Vec<Rpc> = (0..enqueuers).map(|_| server.rpc()).collect();
    let shared = Arc::new(parent.clone());
    within(limit, &what, async {
        for_each_index(clients, total, move |rpc, index| {
            let shared = Arc::clone(&shared);
            async move {
                let (name, hold) = if index < held {
                    (format!("h{index}"), Hold::Running)
                } else {
                    (format!("c{}", index - held), Hold::No)
                };
                rpc.enqueue_child(&ChildAction {
                    run: &shared.run,
                    name,
                    input_uri: &shared.input_uri,
                    run_output_base: &shared.run_output_base,
                    hold,
                })
                .await
            }
        })
        .await?;
        let last_settled = join_all(settled).await?.remove(0);
        Ok(last_settled - started)
    })
    .await
}

/// Reads the child watch until `total` children have settled; returns when the last did.
async fn settle(watch: &mut ChildWatch, total: usize) -> anyhow::Result<Instant> {
    let mut settled = HashSet::with_capacity(total);
    while settled.len() < total {
        let ChildUpdate::Phase(child, phase) = watch.next().await? else {
            continue;
        };
        let wanted = if child.starts_with('h') {
            ActionPhase::Running
        } else {
            ActionPhase::Succeeded
        };
        if phase == wanted {
            settled.insert(child);
        } else if is_terminal(phase) {
            bail!("child {child} ended {phase:?}");
        }
    }
    Ok(Instant::now())
}

/// Pages through every action of `run` with ListActions; returns the wall time.
async fn list_all(rpc: &Rpc, run: &str, expected: usize) -> anyhow::Result<Duration> {
    within(
        LIST_LIMIT,
        &format!("listing the actions of {run}"),
        async {
            let started = Instant::now();
            let mut token = String::new();
            let mut listed = 0;
            loop {
                let (actions, next) = rpc.list_actions_page(run, PAGE_SIZE, token).await?;
                listed += actions.len();
                if next.is_empty() {
                    break;
                }
                token = next;
            }
            let elapsed = started.elapsed();
            ensure!(
                listed == expected,
                "ListActions returned {listed} actions of {run}, expected {expected}"
            );
            Ok(elapsed)
        },
    )
    .await
}
