//! `aerie nodes`: the nodes sharing a PostgreSQL database, with their load and the attempts
//! each holds a lease on, read from the database directly (an operator's tool, like `apikey`).

use crate::args::NodesArgs;
use crate::output::Table;
use aerie_core::Timestamp;
use aerie_store::Store;
use anyhow::{Context, bail};
use std::io::Write;

/// Prints the nodes, then (with `--leases`) every lease.
pub async fn run(args: NodesArgs) -> anyhow::Result<()> {
    let backend = args.store.backend()?;
    if !matches!(backend, aerie_store::Backend::Postgres { .. }) {
        bail!(
            "aerie nodes reads a PostgreSQL database (--database postgres://…); a SQLite store \
             has exactly one node"
        );
    }
    let store = Store::open(&backend)
        .await
        .context("opening aerie's store")?;
    let cluster = store
        .cluster()
        .context("a PostgreSQL store has a cluster")?;
    let listed = async {
        let nodes = cluster.nodes().await?;
        let leases = if args.leases {
            cluster.leases().await?
        } else {
            Vec::new()
        };
        Ok::<_, aerie_store::StoreError>((nodes, leases))
    }
    .await;
    store.close().await;
    let (nodes, leases) = listed?;
    let now = Timestamp::now();
    let mut table = Table::with_header(&[
        "NODE",
        "ADDRESS",
        "STATE",
        "RUNNING",
        "LEASES",
        "STARTED",
        "HEARTBEAT",
    ]);
    for node in nodes {
        let state = if node.expires_at > now {
            "alive"
        } else {
            "silent"
        };
        table.push(vec![
            node.id,
            node.address,
            state.to_owned(),
            format!("{}/{}", node.running, node.capacity),
            node.leases.to_string(),
            node.started_at.to_rfc3339(),
            node.heartbeat_at.to_rfc3339(),
        ]);
    }
    let mut out = std::io::stdout().lock();
    table.write_to(&mut out)?;
    if args.leases {
        writeln!(out)?;
        let mut table = Table::with_header(&["RUN", "ACTION", "ATTEMPT", "NODE", "EXPIRES"]);
        for lease in leases {
            table.push(vec![
                lease.action.run.to_string(),
                lease.action.name.to_string(),
                lease.attempt.to_string(),
                lease.node,
                lease.expires_at.to_rfc3339(),
            ]);
        }
        table.write_to(&mut out)?;
    }
    Ok(())
}
