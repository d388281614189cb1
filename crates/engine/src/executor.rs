//! The executor interface: what runs an attempt. The engine's attempt driver owns the phases,
//! the store writes, the timeout and aborts; an executor only starts the work and reports how
//! it ended.
//!
//! Two executors exist: [`crate::local`] runs the task as a local process group, and
//! [`crate::noop`] walks the attempt through the same phases without running anything (a
//! benchmark tool). An executor on a remote engine (Kubernetes pods, a Ray cluster) fits the
//! same shape: `start` submits the work, `outcome` resolves when the remote side reports the
//! end, and the control handle deletes or cancels it.

use aerie_core::{ErrorInfo, Verdict};
use aerie_store::ActionRecord;
use futures::future::BoxFuture;
use std::sync::Arc;

/// Which executor runs attempts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ExecutorKind {
    /// Each attempt is a local process group.
    #[default]
    Local,
    /// Nothing runs: each attempt walks through its phases and succeeds with empty outputs.
    Noop,
}

/// An attempt to start: the action as the engine claimed it, and the attempt's number.
pub struct AttemptToStart<'a> {
    pub action: &'a ActionRecord,
    pub attempt: u32,
}

/// Stops a started attempt early (abort, timeout, shutdown).
pub trait AttemptControl: Send + Sync {
    /// Asks the attempt to stop (SIGTERM for a process); it may clean up first.
    fn terminate(&self);
    /// Stops the attempt at once (SIGKILL for a process).
    fn kill(&self);
}

/// A started attempt.
pub struct Started {
    /// The process (and process group) id, for a local process; recorded so that a restart
    /// can end what is left of it.
    pub pid: Option<u32>,
    /// Whether the attempt writes logs (its log stream exists from now on).
    pub logs_available: bool,
    pub control: Arc<dyn AttemptControl>,
    /// Resolves once the attempt is over and everything it left is cleaned up.
    pub outcome: BoxFuture<'static, Verdict>,
}

/// Runs attempts.
pub trait Executor: Send + Sync {
    /// Starts the attempt; an error is the attempt's (SYSTEM) failure.
    fn start<'a>(
        &'a self,
        attempt: AttemptToStart<'a>,
    ) -> BoxFuture<'a, Result<Started, ErrorInfo>>;
}
