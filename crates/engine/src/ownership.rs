//! Which attempts this node owns when several nodes share the store (PostgreSQL): an attempt is
//! claimed with a lease before it starts, the lease is renewed while it runs and given up after
//! its verdict is recorded (`aerie_store::cluster` has the rules).
//!
//! The loop here renews this node's leases, and:
//! - kills the process of an attempt whose lease another node took over (this node was paused
//!   or cut off from the database past the lease): that attempt's verdict is never recorded;
//! - kills every attempt it runs when it could not renew for most of a lease's lifetime, since
//!   it can no longer prove it owns them;
//! - takes over the leases other nodes let expire, failing their attempts as SYSTEM errors that
//!   name the node, retried by policy (a new attempt is queued for any node to claim);
//! - fails the attempts that run with no lease at all (see `fail_unowned`);
//! - aborts what is left unfinished below an ended action (a child enqueued through another
//!   node than the one its parent ran on).
//!
//! A store with one node (SQLite) has no leases: every claim succeeds, and a restart
//! reconciles everything that was running (`recovery`).

use crate::{Inner, recovery};
use aerie_core::{ActionId, ActionPhase, ErrorInfo, ErrorKind};
use aerie_store::{Cluster, Lease};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Most expired leases taken over per look.
const TAKEOVER_BATCH: u32 = 64;

/// The leases this node holds, each with the attempt and when the database last confirmed it
/// (its claim, or a renewal that returned it).
pub(crate) struct Ownership {
    cluster: Arc<Cluster>,
    held: Mutex<HashMap<ActionId, (u32, Instant)>>,
    /// Leases to give up, released together by the loop in [`release_batches`].
    releases: tokio::sync::mpsc::UnboundedSender<(ActionId, u32)>,
    releases_rx: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<(ActionId, u32)>>>,
}

impl Ownership {
    pub(crate) fn new(cluster: Arc<Cluster>) -> Self {
        let (releases, releases_rx) = tokio::sync::mpsc::unbounded_channel();
        Self {
            cluster,
            held: Mutex::new(HashMap::new()),
            releases,
            releases_rx: Mutex::new(Some(releases_rx)),
        }
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<ActionId, (u32, Instant)>> {
        self.held.lock().expect("held leases lock poisoned")
    }
}

/// Claims each of `attempts` for this node at once; says, in order, which it won (all of them
/// on a store with one node). A claim that could not be written is lost: the scheduler looks
/// again.
pub(crate) async fn claim_all(inner: &Inner, attempts: &[(ActionId, u32)]) -> Vec<bool> {
    let Some(ownership) = &inner.ownership else {
        return vec![true; attempts.len()];
    };
    match ownership.cluster.claim_all(attempts).await {
        Ok(won) => {
            let now = Instant::now();
            let mut held = ownership.held();
            for ((id, attempt), _) in attempts.iter().zip(&won).filter(|(_, won)| **won) {
                held.insert(id.clone(), (*attempt, now));
            }
            won
        }
        Err(err) => {
            tracing::warn!(error = %err, attempts = attempts.len(), "claiming attempts failed");
            vec![false; attempts.len()]
        }
    }
}

/// Whether this node may still report on `attempt` of `action`. A lease the database confirmed
/// less than half a lifetime ago cannot have expired yet, so it needs no read.
pub(crate) async fn still_owned(inner: &Inner, action: &ActionId, attempt: u32) -> bool {
    let Some(ownership) = &inner.ownership else {
        return true;
    };
    let fresh = ownership.cluster.node().lease_ttl / 2;
    let recently_confirmed = ownership
        .held()
        .get(action)
        .is_some_and(|(held, confirmed)| *held == attempt && confirmed.elapsed() < fresh);
    if recently_confirmed {
        return true;
    }
    match ownership.cluster.holds(action, attempt).await {
        Ok(held) => held,
        Err(err) => {
            // Unknown: report anyway; the store's phase rules refuse a report on an attempt
            // another node already ended.
            tracing::warn!(run = %action.run, action = %action.name, attempt, error = %err, "reading an attempt's lease failed");
            true
        }
    }
}

/// Gives up the lease on `attempt` of `action` once its verdict is recorded (or it was never
/// started); another node's lease on it is left alone. Releases go out together a moment later
/// ([`release_batches`]): a lease that outlives its verdict briefly holds nothing back, since a
/// retry is a newer attempt that any node may claim.
pub(crate) fn release(inner: &Inner, action: &ActionId, attempt: u32) {
    let Some(ownership) = &inner.ownership else {
        return;
    };
    ownership.held().remove(action);
    // The receiver lives as long as the engine's tasks; after a stop, leases expire on their own.
    let _ = ownership.releases.send((action.clone(), attempt));
}

/// Most leases released per statement.
const RELEASE_BATCH: usize = 256;

/// Releases the leases [`release`] was given, many per statement, until the engine stops.
pub(crate) async fn release_batches(inner: Arc<Inner>) {
    let Some(ownership) = &inner.ownership else {
        return;
    };
    let Some(mut releases) = ownership
        .releases_rx
        .lock()
        .expect("lease releases lock poisoned")
        .take()
    else {
        return;
    };
    let mut batch = Vec::with_capacity(RELEASE_BATCH);
    loop {
        let received = tokio::select! {
            () = inner.cancel.cancelled() => return,
            received = releases.recv_many(&mut batch, RELEASE_BATCH) => received,
        };
        if received == 0 {
            return;
        }
        if let Err(err) = ownership.cluster.release_all(&batch).await {
            // They expire on their own; another node then finds their attempts over.
            tracing::warn!(error = %err, leases = batch.len(), "releasing leases failed");
        }
        batch.clear();
    }
}

/// Joins the cluster, then fails what nobody runs. Attempts under an earlier life's leases are
/// taken over by the loop.
pub(crate) async fn reconcile(
    inner: &Arc<Inner>,
    cluster: &Cluster,
) -> Result<(), crate::EngineError> {
    cluster.join().await?;
    fail_unowned(inner, cluster).await?;
    Ok(())
}

/// Fails the attempts left INITIALIZING or RUNNING with no lease: nobody runs them (a node
/// claims an attempt before it starts it and lets go only after its verdict, so this is an
/// attempt whose node stopped, or one a node started after its claim had been taken over).
async fn fail_unowned(
    inner: &Arc<Inner>,
    cluster: &Cluster,
) -> Result<(), aerie_store::StoreError> {
    loop {
        let unowned = cluster.unleased_running(TAKEOVER_BATCH).await?;
        if unowned.is_empty() {
            return Ok(());
        }
        for id in unowned {
            let action = inner.store.get_action(&id).await?;
            let attempt = action.state.current_attempt().number;
            let error = ErrorInfo {
                message: "no node held this attempt any more (aerie stopped while it ran); it \
                          was ended"
                    .into(),
                kind: ErrorKind::System,
                code: "AerieRestarted".into(),
                recoverable: true,
            };
            recovery::fail_interrupted(inner, &action, attempt, error).await?;
        }
    }
}

/// Renews this node's leases and takes over expired ones, until the engine stops.
pub(crate) async fn run(inner: Arc<Inner>) {
    let Some(ownership) = &inner.ownership else {
        return;
    };
    let node = ownership.cluster.node().clone();
    let mut last_renewed = Instant::now();
    let mut every = tokio::time::interval(node.renew_every());
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = inner.cancel.cancelled() => return,
            _ = every.tick() => {}
        }
        let renewal_started = Instant::now();
        let running = inner
            .active
            .lock()
            .expect("active attempts lock poisoned")
            .len();
        match ownership
            .cluster
            .renew(u32::try_from(running).unwrap_or(u32::MAX))
            .await
        {
            Ok(still_held) => {
                last_renewed = renewal_started;
                kill_lost(&inner, ownership, &still_held, renewal_started);
                confirm(ownership, &still_held, renewal_started);
            }
            Err(err) => {
                tracing::warn!(error = %err, "renewing this node's leases failed");
                if last_renewed.elapsed() + node.renew_every() >= node.lease_ttl {
                    kill_all_owned(&inner, ownership);
                }
            }
        }
        match ownership.cluster.take_over_expired(TAKEOVER_BATCH).await {
            Ok(taken) => {
                for lease in taken {
                    take_over(&inner, lease).await;
                }
            }
            Err(err) => tracing::warn!(error = %err, "taking over expired leases failed"),
        }
        if let Err(err) = fail_unowned(&inner, &ownership.cluster).await {
            tracing::warn!(error = %err, "ending attempts nobody holds failed");
        }
        match ownership.cluster.ended_parents(TAKEOVER_BATCH).await {
            Ok(parents) => {
                for (parent, phase) in parents {
                    crate::attempt::end_children(&inner, &parent, phase).await;
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, "looking for children of ended actions failed")
            }
        }
    }
}

/// Kills the attempts this node claimed before `renewal_started` whose leases are no longer
/// among `still_held`.
fn kill_lost(
    inner: &Inner,
    ownership: &Ownership,
    still_held: &[(ActionId, u32)],
    renewal_started: Instant,
) {
    let lost: Vec<(ActionId, u32)> = ownership
        .held()
        .iter()
        .filter(|(id, (attempt, confirmed))| {
            *confirmed < renewal_started
                && !still_held
                    .iter()
                    .any(|(held, held_attempt)| held == *id && held_attempt == attempt)
        })
        .map(|(id, (attempt, _))| (id.clone(), *attempt))
        .collect();
    for (id, attempt) in lost {
        tracing::warn!(run = %id.run, action = %id.name, attempt, "another node took this attempt over; killing it here");
        ownership.held().remove(&id);
        kill(inner, &id);
    }
}

/// Records that the database confirmed `still_held` at `renewal_started`.
fn confirm(ownership: &Ownership, still_held: &[(ActionId, u32)], renewal_started: Instant) {
    let mut held = ownership.held();
    for (id, attempt) in still_held {
        if let Some((held_attempt, confirmed)) = held.get_mut(id)
            && held_attempt == attempt
        {
            *confirmed = (*confirmed).max(renewal_started);
        }
    }
}

/// Kills every attempt this node runs: it could not renew its leases in time.
fn kill_all_owned(inner: &Inner, ownership: &Ownership) {
    let owned: Vec<ActionId> = ownership.held().keys().cloned().collect();
    if !owned.is_empty() {
        tracing::warn!(
            attempts = owned.len(),
            "this node could not renew its leases in time; killing the attempts it runs"
        );
    }
    for id in owned {
        kill(inner, &id);
    }
}

fn kill(inner: &Inner, id: &ActionId) {
    let control = inner
        .active
        .lock()
        .expect("active attempts lock poisoned")
        .get(id)
        .and_then(|active| active.control.clone());
    if let Some(control) = control {
        control.kill();
    }
}

/// Ends the attempt under `lease`, which its node let expire: a SYSTEM error naming the node,
/// retried by policy. Then lets the lease go.
async fn take_over(inner: &Arc<Inner>, lease: Lease) {
    let Lease {
        action: id,
        attempt,
        node,
        ..
    } = lease;
    match inner.store.get_action(&id).await {
        Ok(action) => {
            let phase = action.state.phase;
            let running = matches!(phase, ActionPhase::Initializing | ActionPhase::Running);
            if running && action.state.current_attempt().number == attempt {
                let this_node = inner
                    .ownership
                    .as_ref()
                    .map_or("", |ownership| ownership.cluster.node_id());
                let error = ErrorInfo {
                    message: format!(
                        "node {node} stopped renewing its lease on this attempt (it died, was \
                         paused or lost the database); node {this_node} took it over and ended it"
                    ),
                    kind: ErrorKind::System,
                    code: "NodeLost".into(),
                    recoverable: true,
                };
                if let Err(err) = recovery::fail_interrupted(inner, &action, attempt, error).await {
                    tracing::warn!(run = %id.run, action = %id.name, attempt, error = %err, "ending a lost node's attempt failed; it is tried again");
                    return;
                }
                tracing::info!(run = %id.run, action = %id.name, attempt, from = %node, "took over a lost node's attempt");
            }
        }
        Err(aerie_store::StoreError::ActionNotFound(_)) => {}
        Err(err) => {
            tracing::warn!(run = %id.run, action = %id.name, attempt, error = %err, "reading a lost node's attempt failed; it is tried again");
            return;
        }
    }
    if let Some(ownership) = &inner.ownership
        && let Err(err) = ownership.cluster.release(&id, attempt).await
    {
        tracing::warn!(run = %id.run, action = %id.name, attempt, error = %err, "releasing a taken-over lease failed");
    }
}
