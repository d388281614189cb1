//! The store's writers: every change goes through one, which commits the changes that arrive
//! together in one transaction (group commit: one fsync for many actions).
//!
//! Runs are spread over lanes by a hash of their id, one connection per lane, so the changes of
//! one run are applied and published in order. SQLite gets one lane (it has one writer); a
//! PostgreSQL store gets several.
//!
//! # Contract
//! - A request's reply is sent only after the transaction holding its change has committed
//!   (durably: SQLite runs with `synchronous = FULL`), then watchers are woken in commit order.
//! - An operation that the rules or the data refuse (unknown run, duplicate, a phase change
//!   the rules forbid) writes nothing and fails alone; the rest of its batch commits.
//! - A database failure (disk full, I/O error, lost connection) fails exactly the requests of
//!   its batch, rolls the transaction back, and leaves the lane usable: a connection in doubt
//!   is replaced before the next batch.
//! - On PostgreSQL, where other nodes write too, a batch first locks the runs whose actions it
//!   changes, in one order (so two nodes' batches never deadlock): the changes of a
//!   run are then numbered and committed in one order across nodes, and a watcher that read up
//!   to a sequence never finds a lower one committed later. Before it commits, the batch sends
//!   a notice naming the runs it changed (`crate::cluster`).

use crate::actions::RunsSeen;
use crate::cache::ActionCache;
use crate::control::{self, ControlOutcome, ControlWrite};
use crate::error::{StoreError, WriteFailure};
use crate::hub::ChangeHub;
use crate::records::{ActionRecord, Change, NewAction, NewRun};
use crate::runs::RunWithRoot;
use crate::task_cache::{self, CacheEntry};
use crate::{actions, api_keys, events, runs};
use aerie_core::{ActionState, RunId, Timestamp, TransitionError};
use sqlx::{AnyConnection, Connection, Executor};
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tracing::warn;

/// Most operations committed in one transaction.
const MAX_BATCH: usize = 512;
/// Operations queued per lane before submitters wait.
const LANE_QUEUE: usize = 4096;

/// A change to an action's lifecycle record; re-run on the newer record after a conflict.
pub type StateChange = Box<dyn Fn(&mut ActionState) -> Result<(), TransitionError> + Send + Sync>;

/// One write, with where its result goes.
pub(crate) enum WriteOp {
    CreateRun {
        new: Box<NewRun>,
        reply: oneshot::Sender<Result<RunWithRoot, StoreError>>,
    },
    InsertAction {
        run: RunId,
        new: Box<NewAction>,
        reply: oneshot::Sender<Result<ActionRecord, StoreError>>,
    },
    UpdateAction {
        held: Box<ActionRecord>,
        change: StateChange,
        /// Stored in the same transaction if the change leaves the action SUCCEEDED with its
        /// cache status POPULATED.
        cache_put: Option<Box<CacheEntry>>,
        reply: oneshot::Sender<Result<ActionRecord, StoreError>>,
    },
    PruneEvents {
        finished_before: Timestamp,
        reply: oneshot::Sender<Result<u64, StoreError>>,
    },
    /// Stores the typed specs of actions written before specs were kept (see
    /// `Store::fill_missing_specs`).
    FillSpecs {
        specs: Vec<(aerie_core::ActionId, aerie_core::ActionSpec)>,
        reply: oneshot::Sender<Result<usize, StoreError>>,
    },
    CreateApiKey {
        new: Box<crate::api_keys::NewApiKey>,
        reply: oneshot::Sender<Result<crate::api_keys::ApiKeyRecord, StoreError>>,
    },
    RevokeApiKey {
        name: String,
        reply: oneshot::Sender<Result<bool, StoreError>>,
    },
    /// A write to deployed tasks, triggers, secrets or projects (`crate::control`).
    Control {
        write: Box<ControlWrite>,
        reply: oneshot::Sender<Result<ControlOutcome, StoreError>>,
    },
    /// Commit what came before, close the connection and stop the lane.
    Shutdown { reply: oneshot::Sender<()> },
}

impl WriteOp {
    fn lane_key(&self) -> Option<&RunId> {
        match self {
            Self::CreateRun { new, .. } => Some(&new.id),
            Self::InsertAction { run, .. } => Some(run),
            Self::UpdateAction { held, .. } => Some(&held.id.run),
            Self::PruneEvents { .. }
            | Self::FillSpecs { .. }
            | Self::CreateApiKey { .. }
            | Self::RevokeApiKey { .. }
            | Self::Control { .. }
            | Self::Shutdown { .. } => None,
        }
    }

    /// Replies with `failure`; the operation did not happen.
    fn fail(self, failure: &WriteFailure) {
        let err = || StoreError::Write(failure.clone());
        // A closed reply channel means the requester is gone; nothing to tell.
        let _ = match self {
            Self::CreateRun { reply, .. } => reply.send(Err(err())).map_err(drop),
            Self::InsertAction { reply, .. } => reply.send(Err(err())).map_err(drop),
            Self::UpdateAction { reply, .. } => reply.send(Err(err())).map_err(drop),
            Self::PruneEvents { reply, .. } => reply.send(Err(err())).map_err(drop),
            Self::FillSpecs { reply, .. } => reply.send(Err(err())).map_err(drop),
            Self::CreateApiKey { reply, .. } => reply.send(Err(err())).map_err(drop),
            Self::RevokeApiKey { reply, .. } => reply.send(Err(err())).map_err(drop),
            Self::Control { reply, .. } => reply.send(Err(err())).map_err(drop),
            Self::Shutdown { reply } => reply.send(()).map_err(drop),
        };
    }
}

/// An applied operation waiting for its batch to commit.
pub(crate) struct Staged {
    pub changes: Vec<Arc<Change>>,
    /// The wire spec of the action the operation inserted, if it inserted one.
    inserted_wire_spec: Option<Arc<[u8]>>,
    reply: Box<dyn FnOnce(Result<(), WriteFailure>) + Send>,
}

impl Staged {
    /// An applied operation whose result `value` goes to `reply` once committed.
    pub fn new<T: Send + 'static>(
        value: T,
        changes: Vec<Arc<Change>>,
        reply: oneshot::Sender<Result<T, StoreError>>,
    ) -> Self {
        Self {
            changes,
            inserted_wire_spec: None,
            reply: Box::new(move |outcome| {
                let _ = reply.send(outcome.map(|()| value).map_err(StoreError::Write));
            }),
        }
    }

    /// Marks the operation as inserting the action of its change, created from `wire_spec`.
    fn inserting(mut self, wire_spec: &[u8]) -> Self {
        self.inserted_wire_spec = Some(Arc::from(wire_spec));
        self
    }
}

/// What applying one operation came to.
pub(crate) enum Applied {
    /// Written; replied to after the commit.
    Staged(Staged),
    /// Refused without writing anything; already replied to.
    Refused,
}

/// How a lane opens its connection: the URL and the statements run on every new connection.
#[derive(Debug, Clone)]
pub(crate) struct Connector {
    pub url: String,
    pub setup: String,
    /// Where the lane tells other nodes about its commits (PostgreSQL only).
    pub notices: Option<Notices>,
}

/// This node's name and the channel other nodes listen on.
#[derive(Debug, Clone)]
pub(crate) struct Notices {
    pub node: String,
    pub channel: String,
}

impl Connector {
    async fn connect(&self) -> Result<AnyConnection, sqlx::Error> {
        let mut connection = AnyConnection::connect(&self.url).await?;
        if !self.setup.is_empty() {
            connection
                .execute(sqlx::AssertSqlSafe(self.setup.clone()))
                .await?;
        }
        Ok(connection)
    }
}

/// Handle to the writer lanes; cheap to clone.
#[derive(Clone)]
pub(crate) struct Writer {
    lanes: Arc<Vec<mpsc::Sender<WriteOp>>>,
}

impl Writer {
    /// Starts `lanes` writer tasks on connections from `connector`, publishing to `hub` and
    /// keeping `cache` and `runs` current.
    pub fn start(
        connector: Connector,
        lanes: usize,
        hub: Arc<ChangeHub>,
        (cache, runs): (Arc<ActionCache>, Arc<RunsSeen>),
    ) -> Self {
        let senders = (0..lanes.max(1))
            .map(|_| {
                let (sender, receiver) = mpsc::channel(LANE_QUEUE);
                let committed = Committed {
                    hub: Arc::clone(&hub),
                    cache: Arc::clone(&cache),
                    runs: Arc::clone(&runs),
                };
                tokio::spawn(run_lane(receiver, connector.clone(), committed));
                sender
            })
            .collect();
        Self {
            lanes: Arc::new(senders),
        }
    }

    /// Commits what is queued, closes every lane's connection and stops the lanes; later
    /// writes fail with [`StoreError::Closed`].
    pub async fn close(&self) {
        for lane in self.lanes.iter() {
            let (reply, done) = oneshot::channel();
            if lane.send(WriteOp::Shutdown { reply }).await.is_ok() {
                let _ = done.await;
            }
        }
    }

    /// Queues `op` on its run's lane and waits for its committed result.
    pub async fn submit<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, StoreError>>) -> WriteOp,
    ) -> Result<T, StoreError> {
        let (reply, result) = oneshot::channel();
        let op = make(reply);
        let lane = match op.lane_key() {
            Some(run) => {
                let mut hasher = std::collections::hash_map::DefaultHasher::new();
                run.hash(&mut hasher);
                usize::try_from(hasher.finish() % self.lanes.len() as u64).unwrap_or(0)
            }
            None => 0,
        };
        self.lanes[lane]
            .send(op)
            .await
            .map_err(|_| StoreError::Closed)?;
        result.await.map_err(|_| StoreError::Closed)?
    }
}

/// Where committed changes go: the cache first, then the watchers.
struct Committed {
    hub: Arc<ChangeHub>,
    cache: Arc<ActionCache>,
    runs: Arc<RunsSeen>,
}

impl Committed {
    fn publish(&self, staged: &[Staged]) {
        for done in staged {
            for change in &done.changes {
                if let Some(run) = &change.run {
                    self.runs.remember(run);
                }
                match &done.inserted_wire_spec {
                    Some(wire_spec) => self
                        .cache
                        .inserted(change.record.clone(), Arc::clone(wire_spec)),
                    None => self.cache.changed(&change.record),
                }
            }
        }
        let changes: Vec<Arc<Change>> = staged
            .iter()
            .flat_map(|done| done.changes.iter().cloned())
            .collect();
        self.hub.publish(&changes);
    }
}

/// One lane: takes what is queued, commits it as one transaction, replies, repeats.
async fn run_lane(mut queue: mpsc::Receiver<WriteOp>, connector: Connector, committed: Committed) {
    let mut connection: Option<AnyConnection> = None;
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let shutdown_at = batch
            .iter()
            .position(|op| matches!(op, WriteOp::Shutdown { .. }));
        let shutdown = shutdown_at.map(|index| {
            let after: Vec<WriteOp> = batch.drain(index..).collect();
            after
        });
        if !batch.is_empty() {
            commit_or_fail(&mut connection, &connector, &mut batch, &committed).await;
        }
        if let Some(rest) = shutdown {
            queue.close();
            let stopped = WriteFailure::Unavailable {
                op: "writing",
                detail: "the store is shutting down".into(),
            };
            if let Some(open) = connection.take() {
                let _ = open.close().await;
            }
            rest.into_iter().for_each(|op| op.fail(&stopped));
            while let Ok(op) = queue.try_recv() {
                op.fail(&stopped);
            }
            return;
        }
    }
}

/// Commits `batch` on the lane's connection, opening one first if needed; on failure replies
/// to the whole batch and replaces a connection in doubt.
async fn commit_or_fail(
    connection: &mut Option<AnyConnection>,
    connector: &Connector,
    batch: &mut Vec<WriteOp>,
    committed: &Committed,
) {
    {
        if connection.is_none() {
            match connector.connect().await {
                Ok(fresh) => *connection = Some(fresh),
                Err(err) => {
                    let failure = WriteFailure::from_database("opening a writer connection", &err);
                    warn!(error = %err, "the store's writer cannot connect");
                    batch.drain(..).for_each(|op| op.fail(&failure));
                    return;
                }
            }
        }
        let open = connection.as_mut().expect("connected above");
        if let Err(failure) = commit_batch(open, batch, committed, connector.notices.as_ref()).await
        {
            batch.drain(..).for_each(|op| op.fail(&failure));
            if !rolled_back(open).await {
                // The connection's state is unknown: replace it before the next batch.
                *connection = None;
            }
        }
        batch.clear();
    }
}

/// Applies and commits `batch`, replying to every operation in it on success. On a database
/// failure returns it; the operations not yet replied to are left in `batch`.
async fn commit_batch(
    connection: &mut AnyConnection,
    batch: &mut Vec<WriteOp>,
    committed: &Committed,
    notices: Option<&Notices>,
) -> Result<(), WriteFailure> {
    connection
        .execute("BEGIN")
        .await
        .map_err(|err| WriteFailure::from_database("starting a transaction", &err))?;
    if notices.is_some() {
        lock_runs(connection, batch)
            .await
            .map_err(|err| WriteFailure::from_store(&err))?;
    }
    let mut staged: Vec<Staged> = Vec::with_capacity(batch.len());
    let mut pending_events = events::PendingEvents::default();
    let mut failure = None;
    let mut remaining = std::mem::take(batch).into_iter();
    for op in remaining.by_ref() {
        match apply(connection, op, &mut pending_events, &committed.runs).await {
            Ok(Applied::Staged(done)) => staged.push(done),
            Ok(Applied::Refused) => {}
            Err((failure_of_op, op)) => {
                batch.push(op);
                failure = Some(failure_of_op);
                break;
            }
        }
    }
    batch.extend(remaining);
    if failure.is_none()
        && let Err(err) = pending_events.flush(connection).await
    {
        failure = Some(WriteFailure::from_store(&err));
    }
    if failure.is_none()
        && let Some(notices) = notices
        && let Err(err) =
            send_notices(connection, &notices.channel, notices_of(notices, &staged)).await
    {
        failure = Some(WriteFailure::from_store(&err));
    }
    if failure.is_none()
        && let Err(err) = connection.execute("COMMIT").await
    {
        failure = Some(WriteFailure::from_database("committing", &err));
    }
    if let Some(failure) = failure {
        warn!(error = %failure, operations = staged.len() + batch.len(), "a write batch failed; its requests are refused");
        for done in staged {
            (done.reply)(Err(failure.clone()));
        }
        return Err(failure);
    }
    committed.publish(&staged);
    for done in staged {
        (done.reply)(Ok(()));
    }
    Ok(())
}

/// Locks the runs whose existing actions `batch` changes, in one order (module contract), with
/// transaction-scoped advisory locks (which write nothing to the runs' rows). Runs the batch
/// creates need no lock: nobody else can write to them yet.
async fn lock_runs(connection: &mut AnyConnection, batch: &[WriteOp]) -> Result<(), StoreError> {
    let runs: Vec<&RunId> = batch
        .iter()
        .filter(|op| {
            matches!(
                op,
                WriteOp::InsertAction { .. } | WriteOp::UpdateAction { .. }
            )
        })
        .filter_map(WriteOp::lane_key)
        .collect();
    let mut keys: Vec<i64> = runs.into_iter().map(run_lock_key).collect();
    keys.sort_unstable();
    keys.dedup();
    for chunk in keys.chunks(LOCKS_PER_STATEMENT) {
        // Called left to right, so in key order.
        let calls: Vec<String> = (1..=chunk.len())
            .map(|param| format!("pg_advisory_xact_lock(${param})"))
            .collect();
        let mut query = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {}", calls.join(", "))));
        for key in chunk {
            query = query.bind(*key);
        }
        query
            .execute(&mut *connection)
            .await
            .map_err(|source| StoreError::Database {
                op: "locking the runs a batch changes",
                source,
            })?;
    }
    Ok(())
}

/// The transaction-scoped advisory lock that stands for `run` (a 64-bit FNV-1a hash of its
/// id: two runs that share one only wait for each other).
fn run_lock_key(run: &RunId) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [run.project.as_str(), run.domain.as_str(), run.name.as_str()] {
        for byte in part.bytes().chain(std::iter::once(0)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    i64::from_ne_bytes(hash.to_ne_bytes())
}

/// Runs locked per statement (one parameter each).
const LOCKS_PER_STATEMENT: usize = 512;

/// The notice payloads that name every run `staged` changed (`crate::cluster::notices`).
fn notices_of(notices: &Notices, staged: &[Staged]) -> Vec<String> {
    let mut changed: Vec<(&RunId, bool)> = Vec::new();
    let mut seen: std::collections::HashMap<&RunId, usize> = std::collections::HashMap::new();
    for change in staged.iter().flat_map(|done| &done.changes) {
        let run = &change.record.id.run;
        let root = change.record.parent.is_none();
        match seen.get(run) {
            Some(&index) => changed[index].1 |= root,
            None => {
                seen.insert(run, changed.len());
                changed.push((run, root));
            }
        }
    }
    crate::cluster::notices(&notices.node, &changed)
}

/// Queues `payloads` on the notices' channel; PostgreSQL delivers them when (and only if) the
/// transaction commits.
async fn send_notices(
    connection: &mut AnyConnection,
    channel: &str,
    payloads: Vec<String>,
) -> Result<(), StoreError> {
    for payload in payloads {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(channel)
            .bind(payload)
            .execute(&mut *connection)
            .await
            .map_err(|source| StoreError::Database {
                op: "telling other nodes about a commit",
                source,
            })?;
    }
    Ok(())
}

/// Applies an action's change and, if it succeeded into the cache, stores its cache entry.
async fn apply_update_and_cache(
    connection: &mut AnyConnection,
    (held, change, cache_put): (&ActionRecord, &StateChange, Option<&CacheEntry>),
    events: &mut events::PendingEvents,
    runs: &RunsSeen,
) -> Result<(ActionRecord, Vec<Arc<Change>>), StoreError> {
    let (record, changes) =
        actions::apply_update_action(connection, held, change, events, runs).await?;
    if let Some(entry) = cache_put
        && record.phase() == aerie_core::ActionPhase::Succeeded
        && record.state.cache_status == aerie_core::CacheStatus::Populated
    {
        task_cache::apply_put(connection, entry).await?;
    }
    Ok((record, changes))
}

/// Applies one operation inside the open transaction. A refusal is replied to here; a
/// database failure hands the operation back so its batch can fail it.
async fn apply(
    connection: &mut AnyConnection,
    op: WriteOp,
    events: &mut events::PendingEvents,
    runs: &RunsSeen,
) -> Result<Applied, (WriteFailure, WriteOp)> {
    match op {
        WriteOp::CreateRun { new, reply } => {
            // A run from a trigger changes the trigger too: a refusal after that must undo it.
            let created = if new.trigger.is_some() {
                match open_savepoint(connection).await {
                    Ok(()) => {
                        let created = runs::apply_create_run(connection, &new, events).await;
                        close_savepoint(connection, created).await
                    }
                    Err(err) => Err(err),
                }
            } else {
                runs::apply_create_run(connection, &new, events).await
            };
            match created {
                Ok((created, changes)) => Ok(Applied::Staged(
                    Staged::new(created, changes, reply).inserting(&new.root.wire_spec),
                )),
                Err(err) if err.is_refusal() => {
                    let _ = reply.send(Err(err));
                    Ok(Applied::Refused)
                }
                Err(err) => Err((
                    WriteFailure::from_store(&err),
                    WriteOp::CreateRun { new, reply },
                )),
            }
        }
        WriteOp::InsertAction { run, new, reply } => {
            match actions::apply_insert_action(connection, &run, &new, events).await {
                Ok((record, changes)) => Ok(Applied::Staged(
                    Staged::new(record, changes, reply).inserting(&new.wire_spec),
                )),
                Err(err) if err.is_refusal() => {
                    let _ = reply.send(Err(err));
                    Ok(Applied::Refused)
                }
                Err(err) => Err((
                    WriteFailure::from_store(&err),
                    WriteOp::InsertAction { run, new, reply },
                )),
            }
        }
        WriteOp::UpdateAction {
            held,
            change,
            cache_put,
            reply,
        } => {
            let updated = apply_update_and_cache(
                connection,
                (&held, &change, cache_put.as_deref()),
                events,
                runs,
            )
            .await;
            match updated {
                Ok((record, changes)) => Ok(Applied::Staged(Staged::new(record, changes, reply))),
                Err(err) if err.is_refusal() => {
                    let _ = reply.send(Err(err));
                    Ok(Applied::Refused)
                }
                Err(err) => Err((
                    WriteFailure::from_store(&err),
                    WriteOp::UpdateAction {
                        held,
                        change,
                        cache_put,
                        reply,
                    },
                )),
            }
        }
        WriteOp::Shutdown { reply } => {
            // Split off before batches are applied; answered here only if one slips through.
            let _ = reply.send(());
            Ok(Applied::Refused)
        }
        WriteOp::FillSpecs { specs, reply } => {
            match actions::apply_fill_specs(connection, &specs).await {
                Ok(count) => Ok(Applied::Staged(Staged::new(count, Vec::new(), reply))),
                Err(err) => Err((
                    WriteFailure::from_store(&err),
                    WriteOp::FillSpecs { specs, reply },
                )),
            }
        }
        WriteOp::CreateApiKey { new, reply } => {
            match api_keys::apply_create(connection, &new).await {
                Ok(record) => Ok(Applied::Staged(Staged::new(record, Vec::new(), reply))),
                Err(err) if err.is_refusal() => {
                    let _ = reply.send(Err(err));
                    Ok(Applied::Refused)
                }
                Err(err) => Err((
                    WriteFailure::from_store(&err),
                    WriteOp::CreateApiKey { new, reply },
                )),
            }
        }
        WriteOp::Control { write, reply } => {
            let applied = match open_savepoint(connection).await {
                Ok(()) => {
                    let applied = control::apply(connection, &write).await;
                    close_savepoint(connection, applied).await
                }
                Err(err) => Err(err),
            };
            match applied {
                Ok(outcome) => Ok(Applied::Staged(Staged::new(outcome, Vec::new(), reply))),
                Err(err) if err.is_refusal() => {
                    let _ = reply.send(Err(err));
                    Ok(Applied::Refused)
                }
                Err(err) => Err((
                    WriteFailure::from_store(&err),
                    WriteOp::Control { write, reply },
                )),
            }
        }
        WriteOp::RevokeApiKey { name, reply } => {
            match api_keys::apply_revoke(connection, &name).await {
                Ok(revoked) => Ok(Applied::Staged(Staged::new(revoked, Vec::new(), reply))),
                Err(err) => Err((
                    WriteFailure::from_store(&err),
                    WriteOp::RevokeApiKey { name, reply },
                )),
            }
        }
        WriteOp::PruneEvents {
            finished_before,
            reply,
        } => match events::apply_prune(connection, finished_before).await {
            Ok(count) => Ok(Applied::Staged(Staged::new(count, Vec::new(), reply))),
            Err(err) => Err((
                WriteFailure::from_store(&err),
                WriteOp::PruneEvents {
                    finished_before,
                    reply,
                },
            )),
        },
    }
}

/// Opens a savepoint inside the batch's transaction, for an operation that may refuse after
/// it wrote something.
async fn open_savepoint(connection: &mut AnyConnection) -> Result<(), StoreError> {
    connection
        .execute("SAVEPOINT operation")
        .await
        .map(drop)
        .map_err(|source| StoreError::Database {
            op: "opening a savepoint",
            source,
        })
}

/// Closes the savepoint [`open_savepoint`] opened: a refusal undoes what the operation wrote.
async fn close_savepoint<T>(
    connection: &mut AnyConnection,
    applied: Result<T, StoreError>,
) -> Result<T, StoreError> {
    let end = match &applied {
        Err(err) if err.is_refusal() => "ROLLBACK TO SAVEPOINT operation",
        _ => "RELEASE SAVEPOINT operation",
    };
    connection
        .execute(end)
        .await
        .map_err(|source| StoreError::Database {
            op: "closing a savepoint",
            source,
        })?;
    applied
}

/// Ends whatever transaction is open; false if the connection cannot be trusted any more.
async fn rolled_back(connection: &mut AnyConnection) -> bool {
    if let Err(err) = connection.execute("ROLLBACK").await {
        let no_transaction = err.to_string().contains("no transaction");
        if !no_transaction {
            warn!(error = %err, "rolling back a failed batch failed; reconnecting");
            return false;
        }
    }
    connection.ping().await.is_ok()
}
