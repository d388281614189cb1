//! Several aerie nodes on one PostgreSQL database: which nodes are alive, which node runs each
//! attempt (a lease it renews), and the wake-ups that carry a commit on one node to the
//! watchers on every other.
//!
//! # Leases
//! A node claims an attempt before it starts it (one row per action in `attempt_leases`, won by
//! one node only) and renews all its leases, with its own row in `nodes`, every few seconds. A
//! lease that was not renewed in time is taken over by another node, which ends the attempt as
//! a SYSTEM error and retries it by policy (the engine's job). A node that finds one of its
//! leases gone no longer owns the attempt: it kills the process and reports nothing. Every
//! instant is the writing node's clock; nodes are expected to keep their clocks in step (NTP),
//! which a lease of several seconds tolerates easily.
//!
//! # Wake-ups
//! Every batch the writer commits on PostgreSQL sends a `NOTIFY` naming the runs it changed
//! (one, or a few for a batch of many runs), in the same transaction (so it is delivered only if
//! the batch committed). The payload names the node and the runs, never a state: a node hearing another node's notice tells the run's
//! watchers to re-read the event log from the last sequence they saw, exactly as a watcher that
//! fell behind does, so nothing is lost and a notice is never trusted for data. When the
//! listening connection drops, notices may be lost meanwhile: every watcher re-reads once it
//! is back.

use crate::actions::bind_id;
use crate::error::{DbContext, StoreError};
use crate::hub::ChangeHub;
use aerie_core::{ActionId, RunId, Timestamp};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Who this node is, as the other nodes see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeConfig {
    /// Unique among the nodes sharing a database, and kept across restarts so that a restarted
    /// node takes its own unfinished attempts back at once.
    pub id: String,
    /// Where the node can be reached (shown by `aerie nodes`).
    pub address: String,
    /// How long a lease lasts without renewal.
    pub lease_ttl: Duration,
    /// Most attempts the node runs at once (shown as its load's ceiling).
    pub capacity: u32,
}

impl NodeConfig {
    /// A node with a made-up id (host name and process id), for stores opened without one.
    pub fn anonymous() -> Self {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|name| name.trim().to_owned())
            .unwrap_or_else(|_| "node".to_owned());
        Self {
            id: format!("{host}-{}", std::process::id()),
            address: String::new(),
            lease_ttl: DEFAULT_LEASE_TTL,
            capacity: 0,
        }
    }

    /// How often the node renews its leases: a fifth of their lifetime, so that four renewals
    /// in a row can fail before one expires.
    pub fn renew_every(&self) -> Duration {
        self.lease_ttl / 5
    }
}

/// How long a lease lasts without renewal unless the node says otherwise.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(10);

/// A claim on one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub action: ActionId,
    pub attempt: u32,
    pub node: String,
    pub expires_at: Timestamp,
}

/// A node that shares the database, as it last reported itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRecord {
    pub id: String,
    pub address: String,
    pub started_at: Timestamp,
    pub heartbeat_at: Timestamp,
    /// Until when the node counts as alive without another heartbeat.
    pub expires_at: Timestamp,
    /// Attempts the node ran at its last heartbeat.
    pub running: u64,
    pub capacity: u64,
    /// Leases the node holds now.
    pub leases: u64,
}

/// This node's view of the cluster; cheap to share.
#[derive(Debug)]
pub struct Cluster {
    pool: AnyPool,
    node: NodeConfig,
    started_at: Timestamp,
}

/// Leases claimed or released per statement (five parameters each).
const LEASES_PER_STATEMENT: usize = 64;

/// Connections the lease and node statements use (they are few and short).
pub(crate) const CLUSTER_CONNECTIONS: u32 = 8;

impl Cluster {
    pub(crate) fn new(pool: AnyPool, node: NodeConfig) -> Self {
        Self {
            pool,
            node,
            started_at: Timestamp::now(),
        }
    }

    /// This node's id.
    pub fn node_id(&self) -> &str {
        &self.node.id
    }

    /// This node's settings.
    pub fn node(&self) -> &NodeConfig {
        &self.node
    }

    fn expiry(&self, now: Timestamp) -> Timestamp {
        aerie_core::spec::instant_after(now, self.node.lease_ttl)
    }

    /// Announces this node, and gives up the leases an earlier life of it held (it restarted:
    /// those attempts' processes are gone), so that they are taken over at once.
    pub async fn join(&self) -> Result<(), StoreError> {
        let now = Timestamp::now();
        self.heartbeat(now, 0).await?;
        sqlx::query("UPDATE attempt_leases SET expires_at = 0 WHERE node_id = $1")
            .bind(self.node.id.as_str())
            .execute(&self.pool)
            .await
            .during("giving up an earlier life's leases")?;
        Ok(())
    }

    async fn heartbeat(&self, now: Timestamp, running: u32) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO nodes (node_id, address, started_at, heartbeat_at, expires_at, running, capacity) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (node_id) DO UPDATE SET address = excluded.address, \
             started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, \
             expires_at = excluded.expires_at, running = excluded.running, capacity = excluded.capacity",
        )
        .bind(self.node.id.as_str())
        .bind(self.node.address.as_str())
        .bind(self.started_at.as_micros())
        .bind(now.as_micros())
        .bind(self.expiry(now).as_micros())
        .bind(i64::from(running))
        .bind(i64::from(self.node.capacity))
        .execute(&self.pool)
        .await
        .during("recording the node's heartbeat")?;
        Ok(())
    }

    /// Claims `attempt` of `action` for this node; false if another node holds it.
    pub async fn claim(&self, action: &ActionId, attempt: u32) -> Result<bool, StoreError> {
        let claimed = self.claim_all(&[(action.clone(), attempt)]).await?;
        Ok(claimed.first().copied().unwrap_or(false))
    }

    /// Claims each attempt for this node in one statement; says, in order, which this node won
    /// (an attempt another node holds is not).
    pub async fn claim_all(&self, attempts: &[(ActionId, u32)]) -> Result<Vec<bool>, StoreError> {
        let mut won = Vec::with_capacity(attempts.len());
        for chunk in attempts.chunks(LEASES_PER_STATEMENT) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|row| {
                    let first = row * 5;
                    format!(
                        "(${}, ${}, ${}, ${}, ${}, $1, $2, $3)",
                        first + 4,
                        first + 5,
                        first + 6,
                        first + 7,
                        first + 8
                    )
                })
                .collect();
            let sql = format!(
                "INSERT INTO attempt_leases \
                 (project, domain, run_name, action_name, attempt, node_id, acquired_at, expires_at) \
                 VALUES {} \
                 ON CONFLICT (project, domain, run_name, action_name) DO UPDATE SET \
                 attempt = excluded.attempt, node_id = excluded.node_id, \
                 acquired_at = excluded.acquired_at, expires_at = excluded.expires_at \
                 WHERE attempt_leases.attempt < excluded.attempt \
                 RETURNING project, domain, run_name, action_name, attempt",
                rows.join(", ")
            );
            let now = Timestamp::now();
            let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(self.node.id.as_str())
                .bind(now.as_micros())
                .bind(self.expiry(now).as_micros());
            for (action, attempt) in chunk {
                insert = bind_id(insert, action).bind(i64::from(*attempt));
            }
            let claimed = insert
                .fetch_all(&self.pool)
                .await
                .during("claiming attempts")?
                .iter()
                .map(|row| Ok((action_of(row)?, attempt_of(row)?)))
                .collect::<Result<Vec<_>, StoreError>>()?;
            won.extend(chunk.iter().map(|wanted| claimed.contains(wanted)));
        }
        Ok(won)
    }

    /// Whether this node still holds the lease on `attempt` of `action`.
    pub async fn holds(&self, action: &ActionId, attempt: u32) -> Result<bool, StoreError> {
        let select = sqlx::query(
            "SELECT node_id FROM attempt_leases WHERE project = $1 AND domain = $2 \
             AND run_name = $3 AND action_name = $4 AND attempt = $5",
        );
        let held = bind_id(select, action)
            .bind(i64::from(attempt))
            .fetch_optional(&self.pool)
            .await
            .during("reading an attempt's lease")?;
        match held {
            Some(row) => Ok(row
                .try_get::<String, _>("node_id")
                .during("reading a lease")?
                == self.node.id),
            None => Ok(false),
        }
    }

    /// Lets go of the lease on `attempt` of `action`, if this node still holds it.
    pub async fn release(&self, action: &ActionId, attempt: u32) -> Result<(), StoreError> {
        self.release_all(&[(action.clone(), attempt)]).await
    }

    /// Lets go of each lease this node still holds among `attempts`, in one statement.
    pub async fn release_all(&self, attempts: &[(ActionId, u32)]) -> Result<(), StoreError> {
        for chunk in attempts.chunks(LEASES_PER_STATEMENT) {
            let keys: Vec<String> = (0..chunk.len())
                .map(|row| {
                    let first = row * 5;
                    format!(
                        "(${}, ${}, ${}, ${}, ${})",
                        first + 2,
                        first + 3,
                        first + 4,
                        first + 5,
                        first + 6
                    )
                })
                .collect();
            let sql = format!(
                "DELETE FROM attempt_leases WHERE node_id = $1 AND \
                 (project, domain, run_name, action_name, attempt) IN ({})",
                keys.join(", ")
            );
            let mut delete = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(self.node.id.as_str());
            for (action, attempt) in chunk {
                delete = bind_id(delete, action).bind(i64::from(*attempt));
            }
            delete
                .execute(&self.pool)
                .await
                .during("releasing leases")?;
        }
        Ok(())
    }

    /// Renews every lease this node holds and its own row (with `running` attempts); returns
    /// the leases it still holds. An attempt this node runs that is missing from the answer was
    /// taken over by another node.
    pub async fn renew(&self, running: u32) -> Result<Vec<(ActionId, u32)>, StoreError> {
        let now = Timestamp::now();
        self.heartbeat(now, running).await?;
        let rows = sqlx::query(
            "UPDATE attempt_leases SET expires_at = $2 WHERE node_id = $1 \
             RETURNING project, domain, run_name, action_name, attempt",
        )
        .bind(self.node.id.as_str())
        .bind(self.expiry(now).as_micros())
        .fetch_all(&self.pool)
        .await
        .during("renewing leases")?;
        rows.iter()
            .map(|row| Ok((action_of(row)?, attempt_of(row)?)))
            .collect()
    }

    /// Takes over up to `limit` leases that ran out (their node stopped renewing them) and
    /// returns them with the node that held them. Each expired lease goes to one node only.
    pub async fn take_over_expired(&self, limit: u32) -> Result<Vec<Lease>, StoreError> {
        let now = Timestamp::now();
        let rows = sqlx::query(
            "WITH expired AS ( \
                 SELECT project, domain, run_name, action_name, node_id FROM attempt_leases \
                 WHERE expires_at < $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED) \
             UPDATE attempt_leases l SET node_id = $3, acquired_at = $1, expires_at = $4 \
             FROM expired e WHERE l.project = e.project AND l.domain = e.domain \
             AND l.run_name = e.run_name AND l.action_name = e.action_name \
             RETURNING l.project, l.domain, l.run_name, l.action_name, l.attempt, \
             e.node_id AS previous_node, l.expires_at",
        )
        .bind(now.as_micros())
        .bind(i64::from(limit))
        .bind(self.node.id.as_str())
        .bind(self.expiry(now).as_micros())
        .fetch_all(&self.pool)
        .await
        .during("taking over expired leases")?;
        rows.iter()
            .map(|row| {
                Ok(Lease {
                    action: action_of(row)?,
                    attempt: attempt_of(row)?,
                    node: row
                        .try_get::<String, _>("previous_node")
                        .during("reading a lease")?,
                    expires_at: Timestamp::from_micros(
                        row.try_get::<i64, _>("expires_at")
                            .during("reading a lease")?,
                    ),
                })
            })
            .collect()
    }

    /// The task actions that are INITIALIZING or RUNNING with no lease at all: nobody runs
    /// them (a node claims an attempt before it starts it, and lets go only after its verdict).
    pub async fn unleased_running(&self, limit: u32) -> Result<Vec<ActionId>, StoreError> {
        let phases = [
            aerie_core::ActionPhase::Initializing,
            aerie_core::ActionPhase::Running,
        ]
        .map(|phase| phase.as_i32().to_string())
        .join(", ");
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT a.project, a.domain, a.run_name, a.name AS action_name FROM actions a \
             WHERE a.kind = $1 AND a.phase IN ({phases}) AND NOT EXISTS ( \
                 SELECT 1 FROM attempt_leases l WHERE l.project = a.project \
                 AND l.domain = a.domain AND l.run_name = a.run_name AND l.action_name = a.name) \
             LIMIT {limit}"
        )))
        .bind(aerie_core::ActionKind::Task.as_i32())
        .fetch_all(&self.pool)
        .await
        .during("reading attempts nobody runs")?;
        rows.iter().map(action_of).collect()
    }

    /// Up to `limit` actions that ended while a child of theirs has not, with the phase each
    /// ended in.
    pub async fn ended_parents(
        &self,
        limit: u32,
    ) -> Result<Vec<(ActionId, aerie_core::ActionPhase)>, StoreError> {
        let unfinished = crate::actions::unfinished()
            .iter()
            .map(|phase| phase.as_i32().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT DISTINCT p.project, p.domain, p.run_name, p.name AS action_name, p.phase \
             FROM actions c JOIN actions p ON p.project = c.project AND p.domain = c.domain \
             AND p.run_name = c.run_name AND p.name = c.parent \
             WHERE c.phase IN ({unfinished}) AND p.phase NOT IN ({unfinished}) LIMIT {limit}"
        )))
        .fetch_all(&self.pool)
        .await
        .during("reading ended actions with unfinished children")?;
        rows.iter()
            .map(|row| {
                let phase = row.try_get::<i32, _>("phase").during("reading a phase")?;
                let phase = aerie_core::ActionPhase::from_i32(phase)
                    .ok_or_else(|| StoreError::corrupt("action phase", phase))?;
                Ok((action_of(row)?, phase))
            })
            .collect()
    }

    /// Leaves the cluster on a clean stop: this node's leases expire now (their attempts were
    /// killed, and another node takes them over at its next look) and its row goes.
    pub async fn leave(&self) -> Result<(), StoreError> {
        sqlx::query("UPDATE attempt_leases SET expires_at = 0 WHERE node_id = $1")
            .bind(self.node.id.as_str())
            .execute(&self.pool)
            .await
            .during("giving up leases")?;
        sqlx::query("DELETE FROM nodes WHERE node_id = $1")
            .bind(self.node.id.as_str())
            .execute(&self.pool)
            .await
            .during("leaving the cluster")?;
        Ok(())
    }

    /// Serialized caching: makes `me` the action running under cache `key`, unless an action
    /// that has not ended holds it; returns that action then.
    pub async fn cache_runner(
        &self,
        key: &str,
        me: &ActionId,
    ) -> Result<Option<ActionId>, StoreError> {
        let unfinished = crate::actions::unfinished()
            .iter()
            .map(|phase| phase.as_i32().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let claim = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO cache_runners (project, domain, run_name, action_name, cache_key) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (cache_key) DO UPDATE SET project = excluded.project, \
             domain = excluded.domain, run_name = excluded.run_name, \
             action_name = excluded.action_name \
             WHERE NOT EXISTS (SELECT 1 FROM actions a WHERE a.project = cache_runners.project \
                 AND a.domain = cache_runners.domain AND a.run_name = cache_runners.run_name \
                 AND a.name = cache_runners.action_name AND a.phase IN ({unfinished}))"
        )));
        bind_id(claim, me)
            .bind(key)
            .execute(&self.pool)
            .await
            .during("claiming a cache key")?;
        let row = sqlx::query(
            "SELECT project, domain, run_name, action_name FROM cache_runners WHERE cache_key = $1",
        )
        .bind(key)
        .fetch_one(&self.pool)
        .await
        .during("reading a cache key's runner")?;
        let runner = action_of(&row)?;
        Ok(Some(runner).filter(|runner| runner != me))
    }

    /// Serialized caching: `action` ended, and runs under no cache key any more.
    pub async fn release_cache_runs(&self, action: &ActionId) -> Result<(), StoreError> {
        let delete = sqlx::query(
            "DELETE FROM cache_runners WHERE project = $1 AND domain = $2 AND run_name = $3 \
             AND action_name = $4",
        );
        bind_id(delete, action)
            .execute(&self.pool)
            .await
            .during("releasing a cache key")?;
        Ok(())
    }

    /// Records `value` as the cluster's `name` if no node did yet; otherwise checks that it is
    /// the value recorded. `Ok(false)` when another node recorded a different value.
    pub async fn agrees_on(&self, name: &str, value: &str) -> Result<bool, StoreError> {
        sqlx::query(
            "INSERT INTO cluster_facts (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(value)
        .execute(&self.pool)
        .await
        .during("recording a cluster fact")?;
        let (recorded,): (String,) =
            sqlx::query_as("SELECT value FROM cluster_facts WHERE name = $1")
                .bind(name)
                .fetch_one(&self.pool)
                .await
                .during("reading a cluster fact")?;
        Ok(recorded == value)
    }

    /// Every node that reported itself, with how many leases each holds now.
    pub async fn nodes(&self) -> Result<Vec<NodeRecord>, StoreError> {
        list_nodes(&self.pool).await
    }

    /// Every lease held now, oldest first.
    pub async fn leases(&self) -> Result<Vec<Lease>, StoreError> {
        list_leases(&self.pool).await
    }
}

/// Every node recorded in the database behind `pool`, with its lease count.
pub(crate) async fn list_nodes(pool: &AnyPool) -> Result<Vec<NodeRecord>, StoreError> {
    let rows = sqlx::query(
        "SELECT n.node_id, n.address, n.started_at, n.heartbeat_at, n.expires_at, n.running, \
         n.capacity, (SELECT COUNT(*) FROM attempt_leases l WHERE l.node_id = n.node_id) AS leases \
         FROM nodes n ORDER BY n.node_id",
    )
    .fetch_all(pool)
    .await
    .during("listing nodes")?;
    rows.iter()
        .map(|row| {
            let int = |column: &str| row.try_get::<i64, _>(column).during("reading a node");
            Ok(NodeRecord {
                id: row.try_get("node_id").during("reading a node")?,
                address: row.try_get("address").during("reading a node")?,
                started_at: Timestamp::from_micros(int("started_at")?),
                heartbeat_at: Timestamp::from_micros(int("heartbeat_at")?),
                expires_at: Timestamp::from_micros(int("expires_at")?),
                running: u64::try_from(int("running")?).unwrap_or(0),
                capacity: u64::try_from(int("capacity")?).unwrap_or(0),
                leases: u64::try_from(int("leases")?).unwrap_or(0),
            })
        })
        .collect()
}

/// Every lease in the database behind `pool`.
pub(crate) async fn list_leases(pool: &AnyPool) -> Result<Vec<Lease>, StoreError> {
    let rows = sqlx::query(
        "SELECT project, domain, run_name, action_name, attempt, node_id, expires_at \
         FROM attempt_leases ORDER BY acquired_at",
    )
    .fetch_all(pool)
    .await
    .during("listing leases")?;
    rows.iter()
        .map(|row| {
            Ok(Lease {
                action: action_of(row)?,
                attempt: attempt_of(row)?,
                node: row.try_get("node_id").during("reading a lease")?,
                expires_at: Timestamp::from_micros(
                    row.try_get::<i64, _>("expires_at")
                        .during("reading a lease")?,
                ),
            })
        })
        .collect()
}

fn action_of(row: &AnyRow) -> Result<ActionId, StoreError> {
    let text = |column: &str| {
        row.try_get::<String, _>(column)
            .during("reading a lease's action")
    };
    let corrupt = |err: aerie_core::IdError| StoreError::corrupt("leased action", err);
    Ok(ActionId {
        run: RunId {
            project: text("project")?.parse().map_err(corrupt)?,
            domain: text("domain")?.parse().map_err(corrupt)?,
            name: text("run_name")?.parse().map_err(corrupt)?,
        },
        name: text("action_name")?.parse().map_err(corrupt)?,
    })
}

fn attempt_of(row: &AnyRow) -> Result<u32, StoreError> {
    let attempt = row.try_get::<i64, _>("attempt").during("reading a lease")?;
    u32::try_from(attempt).map_err(|err| StoreError::corrupt("lease attempt", err))
}

/// The notification channel of the database (and schema) a store uses: stores in different
/// schemas of one database never hear each other.
pub(crate) fn channel(schema: Option<&str>) -> String {
    match schema {
        Some(schema) => format!("aerie_changes_{schema}"),
        None => "aerie_changes".to_owned(),
    }
}

/// Most bytes of one notice's payload (PostgreSQL refuses 8,000 or more).
const NOTICE_BYTES: usize = 7_000;

/// The payloads that tell other nodes about one commit: the node that committed it, then one
/// line per run it changed, with whether a root action changed (run lists care). Runs go in
/// as few payloads as fit.
pub(crate) fn notices(node: &str, changed: &[(&RunId, bool)]) -> Vec<String> {
    let mut payloads = Vec::new();
    let mut payload = node.to_owned();
    for (run, root_changed) in changed {
        let line = format!(
            "\n{}\t{}\t{}\t{}",
            u8::from(*root_changed),
            run.project,
            run.domain,
            run.name
        );
        if payload.len() + line.len() > NOTICE_BYTES && payload.len() > node.len() {
            payloads.push(std::mem::replace(&mut payload, node.to_owned()));
        }
        payload.push_str(&line);
    }
    if payload.len() > node.len() {
        payloads.push(payload);
    }
    payloads
}

/// The runs (with their root flags) of a notice another node sent; nothing for this node's
/// own notices (their watchers were woken by the commit itself). Unreadable lines are skipped.
fn other_nodes_notice(payload: &str, own_node: &str) -> Vec<(RunId, bool)> {
    let mut lines = payload.split('\n');
    if lines.next().is_none_or(|node| node == own_node) {
        return Vec::new();
    }
    lines
        .filter_map(|line| {
            let mut parts = line.split('\t');
            let root_changed = parts.next()? == "1";
            let run = RunId {
                project: parts.next()?.parse().ok()?,
                domain: parts.next()?.parse().ok()?,
                name: parts.next()?.parse().ok()?,
            };
            Some((run, root_changed))
        })
        .collect()
}

/// How long the listener waits before connecting again after its connection failed.
const LISTEN_RETRY: Duration = Duration::from_secs(1);

/// Listens for other nodes' notices on `channel` until `stop`, and tells `hub` about each; when
/// the connection drops, tells every watcher to re-read once it is back.
pub(crate) async fn listen(
    url: String,
    channel: String,
    own_node: String,
    hub: Arc<ChangeHub>,
    stop: CancellationToken,
) {
    let mut listener: Option<sqlx::postgres::PgListener> = None;
    loop {
        let active = match listener.as_mut() {
            Some(active) => active,
            None => {
                let connected = async {
                    let mut fresh = sqlx::postgres::PgListener::connect(&url).await?;
                    fresh.listen(&channel).await?;
                    Ok::<_, sqlx::Error>(fresh)
                };
                match connected.await {
                    Ok(fresh) => {
                        // Notices sent while nobody listened are lost: every watcher re-reads.
                        hub.publish_everywhere();
                        hub.set_listening(true);
                        listener.insert(fresh)
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "listening for other nodes' changes failed; retrying");
                        tokio::select! {
                            () = stop.cancelled() => return,
                            () = tokio::time::sleep(LISTEN_RETRY) => continue,
                        }
                    }
                }
            }
        };
        let received = tokio::select! {
            () = stop.cancelled() => return,
            received = active.try_recv() => received,
        };
        match received {
            Ok(Some(notification)) => {
                for (run, root_changed) in other_nodes_notice(notification.payload(), &own_node) {
                    hub.publish_elsewhere(&run, root_changed);
                }
            }
            Ok(None) | Err(_) => {
                tracing::warn!(
                    "the connection that hears other nodes' changes dropped; reconnecting"
                );
                hub.set_listening(false);
                listener = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> RunId {
        RunId {
            project: "p".parse().unwrap(),
            domain: "d".parse().unwrap(),
            name: "r1".parse().unwrap(),
        }
    }

    fn run_named(name: &str) -> RunId {
        RunId {
            name: name.parse().unwrap(),
            ..run()
        }
    }

    #[test]
    fn a_notice_from_another_node_names_its_runs_and_root_flags() {
        let (first, second) = (run_named("r1"), run_named("r2"));
        let payloads = notices("node-2", &[(&first, true), (&second, false)]);
        assert_eq!(payloads.len(), 1);
        assert_eq!(
            other_nodes_notice(&payloads[0], "node-1"),
            [(first, true), (second, false)]
        );
    }

    #[test]
    fn many_runs_are_split_over_notices_that_postgres_accepts() {
        let runs: Vec<RunId> = (0..1000)
            .map(|i| run_named(&format!("run-{i:04}")))
            .collect();
        let changed: Vec<(&RunId, bool)> = runs.iter().map(|run| (run, false)).collect();
        let payloads = notices("node-2", &changed);
        assert!(payloads.len() > 1);
        assert!(payloads.iter().all(|payload| payload.len() < 8000));
        let heard: Vec<RunId> = payloads
            .iter()
            .flat_map(|payload| other_nodes_notice(payload, "node-1"))
            .map(|(run, _)| run)
            .collect();
        assert_eq!(heard, runs);
        assert!(notices("node-2", &[]).is_empty());
    }

    #[test]
    fn a_nodes_own_notices_and_garbage_are_ignored() {
        let own = notices("node-1", &[(&run(), true)]);
        assert!(other_nodes_notice(&own[0], "node-1").is_empty());
        assert!(other_nodes_notice("node-2\n1\tp", "node-1").is_empty());
        assert!(other_nodes_notice("node-2\n1\t../\td\tr", "node-1").is_empty());
        assert_eq!(
            other_nodes_notice("node-2\ngarbage\n0\tp\td\tr1", "node-1"),
            [(run(), false)]
        );
    }

    #[test]
    fn stores_in_different_schemas_use_different_channels() {
        assert_ne!(channel(Some("a")), channel(Some("b")));
        assert_eq!(channel(None), "aerie_changes");
    }
}
