//! Scheduling and execution: takes queued task actions from the store, runs each attempt as a
//! local process, records every phase, captures logs, retries by policy, aborts on request, and
//! reconciles what was running when aerie last stopped.
//!
//! # Layout
//! - [`launch`]: task spec → process (pure).
//! - [`outcome`]: error document + exit status → verdict and retry decision (pure).
//! - `process`: spawning in a process group and killing the group.
//! - `attempt`: one attempt from claim to final record.
//! - `scheduler`: the loop that finds queued work.
//! - `abort` and `recovery`: aborting actions and runs; reconciling after a restart.
//!
//! # Contract
//! Every state change goes through the store's versioned update, so the engine never overwrites
//! a concurrent change: an abort that lands while an attempt finishes wins, and the attempt's
//! late verdict is refused by the phase rules.

mod abort;
pub use abort::AbortOutcome;
mod attempt;
pub mod launch;
pub mod outcome;
mod process;
mod recovery;
mod scheduler;

use aerie_blob::{Blobs, LogStore};
use aerie_core::{ActionId, ActionPhase, RunId};
use aerie_store::{ActionRecord, NewAction, NewRun, RunWithRoot, Store, StoreError};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How the engine runs attempts.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Parent of every attempt's fresh working directory.
    pub work_dir: PathBuf,
    /// Virtual environment whose `bin/a0` runs tasks; `None` means `a0` on PATH.
    pub python_env: Option<PathBuf>,
    /// The address task processes call back on (`host:port`).
    pub endpoint: String,
    /// How long an aborted process gets between SIGTERM and SIGKILL.
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
#[derive(Debug, Clone)]
struct ActiveAttempt {
    /// The process group leader, once spawned.
    pid: Option<u32>,
    /// Turns true once the process has exited and its output is drained.
    exited: watch::Receiver<bool>,
}

struct Inner {
    store: Store,
    blobs: Blobs,
    logs: Arc<LogStore>,
    config: EngineConfig,
    active: Mutex<HashMap<ActionId, ActiveAttempt>>,
    wake: Notify,
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
        Self {
            inner: Arc::new(Inner {
                store,
                blobs,
                logs,
                config,
                active: Mutex::new(HashMap::new()),
                wake: Notify::new(),
                cancel: CancellationToken::new(),
                tasks: TaskTracker::new(),
            }),
        }
    }

    /// Reconciles what was running before the last stop, then starts scheduling.
    pub async fn start(&self) -> Result<(), EngineError> {
        recovery::reconcile(&self.inner).await?;
        let inner = Arc::clone(&self.inner);
        self.inner
            .tasks
            .spawn(async move { scheduler::run(inner).await });
        Ok(())
    }

    /// Stores a new run with its queued root action and wakes the scheduler.
    pub async fn create_run(&self, new: NewRun) -> Result<RunWithRoot, EngineError> {
        let created = self.inner.store.create_run(new).await?;
        self.inner.wake.notify_one();
        Ok(created)
    }

    /// Adds a child action (or a finished trace) to a running run and wakes the scheduler.
    /// Refused once the run's root was aborted.
    pub async fn enqueue_action(
        &self,
        run: &RunId,
        new: NewAction,
    ) -> Result<ActionRecord, EngineError> {
        let root = self
            .inner
            .store
            .get_action(&ActionId::root_of(run.clone()))
            .await?;
        if root.state.phase == ActionPhase::Aborted {
            return Err(EngineError::RunAborted(run.clone()));
        }
        let record = self.inner.store.insert_action(run, new).await?;
        self.inner.wake.notify_one();
        Ok(record)
    }

    /// Stops scheduling, ends every running attempt's process group and waits for the engine's
    /// tasks. The attempts stay RUNNING in the store; the next start reconciles them.
    pub async fn shutdown(&self, grace: Duration) {
        self.inner.cancel.cancel();
        let pids: Vec<u32> = {
            let active = self
                .inner
                .active
                .lock()
                .expect("active attempts lock poisoned");
            active.values().filter_map(|attempt| attempt.pid).collect()
        };
        for pid in pids {
            process::signal_group(pid, libc::SIGKILL);
        }
        self.inner.tasks.close();
        if tokio::time::timeout(grace, self.inner.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("engine tasks still running after the shutdown grace period");
        }
    }
}
