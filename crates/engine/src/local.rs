//! The local executor: each attempt is a process group on this machine, started from the
//! action's launch spec in a fresh working directory, with stdout and stderr captured to the
//! attempt's log. When the process ends, whatever it left in its group is killed, its output
//! drained, its verdict judged from `error.pb` and its exit status, and its working directory
//! removed.

use crate::capture::{Capture, append_system_line};
use crate::executor::{AttemptControl, AttemptToStart, Executor, Started};
use crate::launch::{self, LaunchInputs, LaunchPlan};
use crate::outcome::{self, ProcessExit};
use crate::process::{self, ProcessGroup};
use aerie_blob::{ActionLayout, Blobs, LogStore, layout};
use aerie_core::{ActionId, ErrorInfo, ErrorKind, Launch, Verdict};
use aerie_store::{ActionRecord, Store};
use aerie_wire::flyteidl2::task::RunSpec;
use buffa::Message;
use futures::FutureExt;
use futures::future::BoxFuture;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tracing::{info, warn};

/// Where and how local attempts run.
#[derive(Debug, Clone)]
pub struct LocalConfig {
    /// Parent of every attempt's fresh working directory.
    pub work_dir: PathBuf,
    /// Virtual environment whose `bin/a0` runs tasks; `None` means `a0` on PATH.
    pub python_env: Option<PathBuf>,
    /// The address task processes call back on (`host:port`).
    pub endpoint: String,
}

/// Runs attempts as local process groups.
pub struct LocalExecutor {
    pub store: Store,
    pub blobs: Blobs,
    pub logs: Arc<LogStore>,
    pub config: LocalConfig,
}

fn system_error(code: &str, message: String) -> ErrorInfo {
    ErrorInfo {
        message,
        kind: ErrorKind::System,
        code: code.into(),
        recoverable: false,
    }
}

/// Signals the attempt's process group.
struct GroupControl(ProcessGroup);

impl AttemptControl for GroupControl {
    fn terminate(&self) {
        self.0.signal(libc::SIGTERM);
    }

    fn kill(&self) {
        self.0.signal(libc::SIGKILL);
    }
}

impl LocalExecutor {
    /// The process for `attempt`, in its freshly cleared working directory.
    async fn plan(&self, action: &ActionRecord, attempt: u32) -> Result<LaunchPlan, ErrorInfo> {
        let launch = match &action.spec.launch {
            Some(launch) => launch,
            None => &Launch::Refused(format!("a {:?} action has nothing to run", action.kind())),
        };
        let run = self
            .store
            .get_run(&action.id.run)
            .await
            .map_err(|err| system_error("StoreError", err.to_string()))?;
        let run_spec = RunSpec::decode_from_slice(&run.run_spec).map_err(|err| {
            system_error(
                "BadRunSpec",
                format!("the stored run spec cannot be decoded: {err}"),
            )
        })?;
        let run_envs: Vec<(String, String)> = run_spec
            .envs
            .values
            .iter()
            .map(|pair| (pair.key.clone(), pair.value.clone()))
            .collect();
        let work_dir = layout::attempt_dir(&self.config.work_dir, &action.id, attempt);
        remove_work_dir(&work_dir).map_err(|err| {
            system_error(
                "WorkDir",
                format!("cannot clear the attempt's working directory: {err}"),
            )
        })?;
        let inputs = LaunchInputs {
            action: &action.id,
            attempt,
            org: run.org.as_str(),
            input_uri: &action.input_uri,
            run_base: &action.run_output_base,
            run_started_at: run.created_at,
            run_envs: &run_envs,
            endpoint: &self.config.endpoint,
            python_env: self.config.python_env.as_deref(),
            work_dir,
        };
        launch::plan(launch, &inputs).map_err(|err| system_error("LaunchFailed", err.to_string()))
    }

    async fn start_process(
        &self,
        action: &ActionRecord,
        attempt: u32,
    ) -> Result<Started, ErrorInfo> {
        let id = action.id.clone();
        let plan = self.plan(action, attempt).await?;
        let mut log = self.logs.writer(&id, attempt).await.map_err(|err| {
            system_error(
                "LogStorage",
                format!("cannot open the attempt's log: {}", err.kind()),
            )
        })?;
        let mut child = match process::spawn(&plan) {
            Ok(child) => child,
            Err(err) => {
                let hint = if err.kind() == std::io::ErrorKind::NotFound {
                    " (is flyte installed there? start aerie with --python-env pointing at a \
                     virtual environment that has flyte)"
                } else {
                    ""
                };
                let message = format!("cannot start {}: {err}{hint}", plan.program.display());
                append_system_line(&mut log, &message).await;
                let _ = remove_work_dir(&plan.work_dir);
                return Err(system_error("LaunchFailed", message));
            }
        };
        let Some(group) = child.id().and_then(ProcessGroup::led_by) else {
            // The child is gone before it could be named; it is reaped on drop.
            let _ = child.start_kill();
            let _ = remove_work_dir(&plan.work_dir);
            return Err(system_error(
                "LaunchFailed",
                "the task process exited before aerie could record it".into(),
            ));
        };
        info!(run = %id.run, action = %id.name, attempt, pid = group.pid(), "attempt process started");
        append_system_line(
            &mut log,
            &format!("attempt {attempt} started (pid {})", group.pid()),
        )
        .await;
        let capture = Capture::start(log, child.stdout.take(), child.stderr.take());
        let blobs = self.blobs.clone();
        let error_uri = ActionLayout::new(&action.run_output_base, &id.name)
            .attempt(attempt)
            .error();
        let outcome = async move {
            let status = child.wait().await;
            // Nothing the attempt started may outlive it.
            group.signal(libc::SIGKILL);
            let mut log = capture.finish().await;
            let exit = match status {
                Ok(status) => ProcessExit::from_status(status),
                Err(err) => {
                    warn!(run = %id.run, action = %id.name, attempt, error = %err, "waiting for the process failed");
                    ProcessExit::Code(-1)
                }
            };
            append_system_line(&mut log, &format!("attempt {attempt} {exit}")).await;
            if let Err(err) = remove_work_dir(&plan.work_dir) {
                warn!(run = %id.run, action = %id.name, attempt, error = %err, "removing the attempt's working directory failed");
            }
            match blobs.get(&error_uri).await {
                Ok(document) => outcome::judge(document.as_deref(), exit),
                Err(err) => Verdict::Failed(system_error(
                    "StorageError",
                    format!("cannot read the attempt's error document: {err}"),
                )),
            }
        };
        Ok(Started {
            pid: Some(group.pid()),
            logs_available: true,
            control: Arc::new(GroupControl(group)),
            outcome: outcome.boxed(),
        })
    }
}

/// Removes an attempt's working directory if it exists.
fn remove_work_dir(work_dir: &Path) -> std::io::Result<()> {
    match std::fs::remove_dir_all(work_dir) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}

impl Executor for LocalExecutor {
    fn start<'a>(
        &'a self,
        attempt: AttemptToStart<'a>,
    ) -> BoxFuture<'a, Result<Started, ErrorInfo>> {
        self.start_process(attempt.action, attempt.attempt).boxed()
    }
}

/// Ends what is left of an interrupted attempt's process group after aerie itself was killed.
pub(crate) fn end_leftovers(id: &ActionId, pid: Option<u32>) {
    let Some(group) = pid.and_then(ProcessGroup::led_by) else {
        return;
    };
    let killed = process::kill_leftovers(group, id.run.name.as_str(), id.name.as_str());
    if killed > 0 {
        info!(run = %id.run, action = %id.name, killed, "ended processes left by an interrupted attempt");
    }
}
