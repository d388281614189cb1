//! Scheduling and execution: takes queued task actions from the store, runs each attempt on an
//! executor, records every phase, enforces timeouts, retries by policy, aborts on request, and
//! reconciles what was running when aerie last stopped.
//!
//! # Layout
//! - [`executor`]: the interface an executor implements; [`local`] (process groups on this
//!   machine) and [`noop`] (runs nothing, for benchmarks) implement it.
//! - `attempt`: the driver of one attempt from claim to final record, for any executor.
//! - `caching`: the task cache's lookup before a first attempt, and the entry a success stores.
//! - `conditions`: conditions' timeouts.
//! - `scheduler`: the loop that finds queued work.
//! - `abort` and `recovery`: aborting actions and runs; reconciling after a restart.
//! - `ownership`: with several nodes on one store, the leases that make each attempt one
//!   node's, their renewal, and taking over the attempts of a node that died.
//! - `recover_run`: a recovery run's taking over of what the earlier run finished; `outputs`:
//!   copying an earlier attempt's outputs, for it and for cache hits.
//! - For the local executor: [`launch`] (launch spec → process, pure), [`outcome`] (error
//!   document + exit status → verdict, pure), `process` (process groups and the processes that
//!   escape them), `capture` (logs).
//!
//! # Contract
//! Every state change goes through the store's versioned update, so the engine never overwrites
//! a concurrent change: an abort that lands while an attempt finishes wins, and the attempt's
//! late verdict is refused by the phase rules.

mod abort;
pub use abort::AbortOutcome;
mod attempt;
mod caching;
mod capture;
mod conditions;
pub mod executor;
pub mod launch;
pub mod local;
pub mod noop;
pub mod outcome;
mod outputs;
mod ownership;
mod process;
mod recover_run;
mod recovery;
mod scheduler;

pub use executor::ExecutorKind;
pub use local::{AttemptEnv, AttemptExtras, DEFAULT_ENV_ALLOW, LocalConfig, SECRETS_DIR};

use aerie_blob::{Blobs, LogStore};
use aerie_core::{ActionId, ActionPhase, RunId};
use aerie_store::{ActionRecord, NewAction, NewRun, RunWithRoot, Store, StoreError};
use executor::{AttemptControl, Executor};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How the engine runs attempts.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub executor: ExecutorKind,
    /// Where and how the local executor runs processes.
    pub local: LocalConfig,
    /// How long an aborted attempt gets between SIGTERM and SIGKILL.
    pub abort_grace: Duration,
    /// Most attempts running at once.
    pub max_running: usize,
}

/// Why an engine operation failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("run {0} was aborted; it takes no new actions")]
    RunAborted(RunId),
}

/// An attempt between claim and final record.
#[derive(Clone)]
struct ActiveAttempt {
    /// Stops the attempt, once started.
    control: Option<Arc<dyn AttemptControl>>,
    /// Turns true once the attempt is over and its record written.
    exited: watch::Receiver<bool>,
}

struct Inner {
    store: Store,
    blobs: Blobs,
    logs: Arc<LogStore>,
    executor: Box<dyn Executor>,
    config: EngineConfig,
    active: Mutex<HashMap<ActionId, ActiveAttempt>>,
    wake: Notify,
    /// Set when a scan left queued work behind; the next attempt to end wakes the scheduler.
    backlog: AtomicBool,
    /// Actions that may have unfinished children: every parent that enqueued a child since the
    /// start, and those that had unfinished children at the start. Only these are swept for
    /// orphans when they end, which spares every leaf a query.
    parents: Mutex<HashSet<ActionId>>,
    /// Each run's settings the scheduler follows, once read.
    run_settings: Mutex<HashMap<RunId, scheduler::RunSettings>>,
    /// For serialized caching: the action running under each cache key.
    cache_owners: Mutex<HashMap<String, ActionId>>,
    /// The leases of the attempts this node runs, when nodes share the store.
    ownership: Option<ownership::Ownership>,
    cancel: CancellationToken,
    tasks: TaskTracker,
}

/// Handle to the engine; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl Engine {
    /// An engine over `store`, `blobs` and `logs`; call [`Engine::start`] to run it.
    pub fn new(store: Store, blobs: Blobs, logs: Arc<LogStore>, config: EngineConfig) -> Self {
        let executor: Box<dyn Executor> = match config.executor {
            ExecutorKind::Local => Box::new(local::LocalExecutor {
                store: store.clone(),
                blobs: blobs.clone(),
                logs: Arc::clone(&logs),
                config: config.local.clone(),
            }),
            ExecutorKind::Noop => Box::new(noop::NoopExecutor),
        };
        let ownership = store
            .cluster()
            .map(|cluster| ownership::Ownership::new(Arc::clone(cluster)));
        Self {
            inner: Arc::new(Inner {
                ownership,
                store,
                blobs,
                logs,
                executor,
                config,
                active: Mutex::new(HashMap::new()),
                wake: Notify::new(),
                backlog: AtomicBool::new(false),
                parents: Mutex::new(HashSet::new()),
                run_settings: Mutex::new(HashMap::new()),
                cache_owners: Mutex::new(HashMap::new()),
                cancel: CancellationToken::new(),
                tasks: TaskTracker::new(),
            }),
        }
    }

    /// Reconciles what was running before the last stop, then starts scheduling.
    pub async fn start(&self) -> Result<(), EngineError> {
        let parents = self.inner.store.parents_of_unfinished().await?;
        self.inner
            .parents
            .lock()
            .expect("parents lock poisoned")
            .extend(parents);
        recovery::reconcile(&self.inner).await?;
        let inner = Arc::clone(&self.inner);
        self.inner
            .tasks
            .spawn(async move { scheduler::run(inner).await });
        let inner = Arc::clone(&self.inner);
        self.inner
            .tasks
            .spawn(async move { ownership::run(inner).await });
        let inner = Arc::clone(&self.inner);
        self.inner
            .tasks
            .spawn(async move { ownership::release_batches(inner).await });
        Ok(())
    }

    /// Stores a new run with its queued root action and wakes the scheduler.
    pub async fn create_run(&self, new: NewRun) -> Result<RunWithRoot, EngineError> {
        let created = self.inner.store.create_run(new).await?;
        self.inner.wake.notify_one();
        Ok(created)
    }

    /// Adds a child action (or a finished trace) under `parent` (which the caller read) and
    /// wakes the scheduler. Refused once the run's root was aborted.
    pub async fn enqueue_action(
        &self,
        parent: &ActionRecord,
        new: NewAction,
    ) -> Result<ActionRecord, EngineError> {
        let run = &parent.id.run;
        let root_phase = if parent.parent.is_none() {
            parent.state.phase
        } else {
            self.inner
                .store
                .get_action(&ActionId::root_of(run.clone()))
                .await?
                .state
                .phase
        };
        if root_phase == ActionPhase::Aborted {
            return Err(EngineError::RunAborted(run.clone()));
        }
        self.inner
            .parents
            .lock()
            .expect("parents lock poisoned")
            .insert(parent.id.clone());
        let record = self.inner.store.insert_action(run, new).await?;
        self.inner.wake.notify_one();
        Ok(record)
    }

    /// Stops scheduling, kills every running attempt and waits for the engine's tasks. The
    /// killed attempts stay RUNNING in the store; the next start reconciles them, or, when
    /// nodes share the store, another node takes them over at once (this node leaves).
    pub async fn shutdown(&self, grace: Duration) {
        self.inner.cancel.cancel();
        let started: Vec<Arc<dyn AttemptControl>> = {
            let active = self
                .inner
                .active
                .lock()
                .expect("active attempts lock poisoned");
            active
                .values()
                .filter_map(|attempt| attempt.control.clone())
                .collect()
        };
        for control in started {
            control.kill();
        }
        self.inner.tasks.close();
        if tokio::time::timeout(grace, self.inner.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("engine tasks still running after the shutdown grace period");
        }
        if let Some(cluster) = self.inner.store.cluster()
            && let Err(err) = cluster.leave().await
        {
            tracing::warn!(error = %err, "leaving the cluster failed; this node's leases expire on their own");
        }
    }
}
