//! `rss_idle_mb` and `rss_loaded_mb`: the server's resident memory (VmRSS of
//! `/proc/PID/status`, in MiB).
//!
//! Idle: `aerie serve` with its defaults, one second after its ready line.
//!
//! Loaded: `aerie serve --executor noop` holding 100,010 actions: 10 runs whose roots are held
//! RUNNING, each with 10,000 children enqueued as in the fan-out figure (16 enqueuers), of which
//! 9,900 walk to SUCCEEDED and 100 are held RUNNING. One WatchActionDetails stream is then
//! opened on each of the 1,000 held children (over 10 HTTP/2 connections); once every stream has
//! delivered RUNNING and a further second has passed, VmRSS is read.

use super::fanout::{fan_out, start_parent};
use super::watch::watch_until_running;
use super::{Bench, Measured, with_server};
use crate::server::ServerOptions;
use anyhow::bail;
use std::time::Duration;

const PARENTS: usize = 10;
const CHILDREN_PER_PARENT: usize = 10_000;
const HELD_PER_PARENT: usize = 100;
const ENQUEUERS: usize = 16;
/// Pause between reaching the measured state and reading VmRSS.
const SETTLE: Duration = Duration::from_secs(1);

pub async fn idle(bench: &Bench) -> anyhow::Result<Measured> {
    with_server(bench, &ServerOptions::defaults(), async |server| {
        tokio::time::sleep(SETTLE).await;
        Ok(vec![("rss_idle_mb", server.rss_mib()?)])
    })
    .await
}

pub async fn loaded(bench: &Bench) -> anyhow::Result<Measured> {
    with_server(bench, &ServerOptions::noop(), async |server| {
        let mut held = Vec::with_capacity(PARENTS * HELD_PER_PARENT);
        for index in 0..PARENTS {
            let parent = start_parent(server, &format!("load{index}")).await?;
            let plain = CHILDREN_PER_PARENT - HELD_PER_PARENT;
            fan_out(server, &parent, plain, HELD_PER_PARENT, ENQUEUERS).await?;
            held.extend(
                (0..HELD_PER_PARENT).map(|child| (parent.run.clone(), format!("h{child}"))),
            );
        }
        let mut watchers = watch_until_running(server, &held).await?;
        tokio::time::sleep(SETTLE).await;
        let rss = server.rss_mib()?;
        if let Some(ended) = watchers.try_join_next() {
            bail!("a watch stream ended before memory was read: {ended:?}");
        }
        Ok(vec![("rss_loaded_mb", rss)])
    })
    .await
}
