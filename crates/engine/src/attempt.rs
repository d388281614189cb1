//! One attempt, from claim to final record: QUEUED → INITIALIZING (claimed, preparing) →
//! RUNNING (process started, logs available) → verdict, with stdout and stderr captured to the
//! attempt's log as they are written.

use crate::launch::{self, LaunchInputs, LaunchPlan};
use crate::outcome::{self, ProcessExit, Verdict};
use crate::{Inner, process};
use aerie_blob::{LogLine, LogWriter, Originator};
use aerie_core::state::Retry;
use aerie_core::{
    AbortInfo, ActionId, ActionPhase, ErrorInfo, ErrorKind, Timestamp, TransitionError,
};
use aerie_store::{ActionRecord, StoreError};
use aerie_wire::flyteidl2::task::{RunSpec, TaskSpec};
use buffa::Message;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::mpsc;
use tracing::{info, warn};

/// Lines buffered between the output readers and the log writer; readers wait when it is full.
const LOG_BUFFER: usize = 1024;

pub(crate) async fn run(inner: &Arc<Inner>, action: ActionRecord) {
    let id = action.id.clone();
    let attempt = action.state.current_attempt().number;
    let claimed = inner
        .store
        .update_action(&id, |state| {
            state.advance(ActionPhase::Initializing, Timestamp::now())
        })
        .await;
    match claimed {
        Ok(_) => {}
        Err(StoreError::Transition { .. }) => return, // aborted or claimed meanwhile
        Err(err) => {
            warn!(run = %id.run, action = %id.name, attempt, error = %err, "claiming an attempt failed");
            return;
        }
    }
    info!(run = %id.run, action = %id.name, attempt, "attempt claimed");
    let spec = match TaskSpec::decode_from_slice(&action.spec) {
        Ok(spec) => spec,
        Err(err) => {
            let error = system_error(
                "BadTaskSpec",
                format!("the stored task spec cannot be decoded: {err}"),
            );
            record_verdict(inner, &id, Verdict::Failed(error), 0).await;
            return;
        }
    };
    let retries = spec.task_template.metadata.retries.retries;
    let max_runtime = max_runtime(&spec);
    let plan = match prepare(inner, &action, &spec, attempt).await {
        Ok(plan) => plan,
        Err(error) => {
            record_verdict(inner, &id, Verdict::Failed(error), retries).await;
            return;
        }
    };
    let verdict = execute(inner, &id, attempt, &plan, max_runtime).await;
    if let Some(verdict) = verdict {
        record_verdict(inner, &id, verdict, retries).await;
    }
}

fn system_error(code: &str, message: String) -> ErrorInfo {
    ErrorInfo {
        message,
        kind: ErrorKind::System,
        code: code.into(),
        recoverable: false,
    }
}

async fn prepare(
    inner: &Inner,
    action: &ActionRecord,
    spec: &TaskSpec,
    attempt: u32,
) -> Result<LaunchPlan, ErrorInfo> {
    let run = inner
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
    let work_dir = inner
        .config
        .work_dir
        .join(action.id.run.project.as_str())
        .join(action.id.run.domain.as_str())
        .join(action.id.run.name.as_str())
        .join(action.id.name.as_str())
        .join(attempt.to_string());
    if work_dir.exists() {
        std::fs::remove_dir_all(&work_dir).map_err(|err| {
            system_error(
                "WorkDir",
                format!("cannot clear {}: {err}", work_dir.display()),
            )
        })?;
    }
    let inputs = LaunchInputs {
        action: &action.id,
        attempt,
        org: run.org.as_str(),
        input_uri: &action.input_uri,
        run_base: &action.run_output_base,
        run_started_at: run.created_at,
        run_envs: &run_spec.envs.values,
        endpoint: &inner.config.endpoint,
        python_env: inner.config.python_env.as_deref(),
        work_dir,
    };
    launch::plan(spec, &inputs).map_err(|err| system_error("LaunchFailed", err.to_string()))
}

/// Runs the process; `None` when the action was aborted meanwhile (nothing left to record).
async fn execute(
    inner: &Arc<Inner>,
    id: &ActionId,
    attempt: u32,
    plan: &LaunchPlan,
    max_runtime: Option<Duration>,
) -> Option<Verdict> {
    let mut log = match inner.logs.writer(id, attempt).await {
        Ok(log) => log,
        Err(err) => {
            return Some(Verdict::Failed(system_error(
                "LogStorage",
                format!("cannot open the attempt's log: {err}"),
            )));
        }
    };
    let mut child = match process::spawn(plan) {
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
            return Some(Verdict::Failed(system_error("LaunchFailed", message)));
        }
    };
    let pid = child.id().unwrap_or_default();
    if let Some(active) = inner
        .active
        .lock()
        .expect("active attempts lock poisoned")
        .get_mut(id)
    {
        active.pid = Some(pid);
    }
    let started = inner
        .store
        .update_action(id, |state| {
            state.mark_started(pid)?;
            state.advance(ActionPhase::Running, Timestamp::now())
        })
        .await;
    if let Err(err) = started {
        // Aborted between claim and start: the process must not outlive the decision.
        process::signal_group(pid, libc::SIGKILL);
        if let Err(wait_err) = child.wait().await {
            warn!(run = %id.run, action = %id.name, attempt, error = %wait_err, "reaping an aborted process failed");
        }
        if !matches!(err, StoreError::Transition { .. }) {
            warn!(run = %id.run, action = %id.name, attempt, error = %err, "recording RUNNING failed");
        }
        return None;
    }
    info!(run = %id.run, action = %id.name, attempt, pid, "attempt running");
    append_system_line(&mut log, &format!("attempt {attempt} started (pid {pid})")).await;
    let (line_tx, line_rx) = mpsc::channel(LOG_BUFFER);
    if let Some(stdout) = child.stdout.take() {
        tokio::spawn(read_lines(stdout, line_tx.clone()));
    }
    if let Some(stderr) = child.stderr.take() {
        tokio::spawn(read_lines(stderr, line_tx.clone()));
    }
    drop(line_tx);
    let writer = tokio::spawn(write_lines(line_rx, log));
    let (status, timed_out) = match max_runtime {
        Some(limit) => match tokio::time::timeout(limit, child.wait()).await {
            Ok(status) => (status, false),
            Err(_) => {
                process::signal_group(pid, libc::SIGKILL);
                (child.wait().await, true)
            }
        },
        None => (child.wait().await, false),
    };
    // Nothing the attempt started may outlive it.
    process::signal_group(pid, libc::SIGKILL);
    let mut log = writer.await.expect("the log writer task does not panic");
    let exit = match status {
        Ok(status) => ProcessExit::from_status(status),
        Err(err) => {
            warn!(run = %id.run, action = %id.name, attempt, error = %err, "waiting for the process failed");
            ProcessExit::Code(-1)
        }
    };
    if let (true, Some(limit)) = (timed_out, max_runtime) {
        let message =
            format!("the attempt ran longer than its timeout of {limit:?} and was killed");
        append_system_line(&mut log, &message).await;
        return Some(Verdict::TimedOut(ErrorInfo {
            message,
            kind: ErrorKind::User,
            code: "MAX_RUNTIME_EXCEEDED".into(),
            recoverable: true,
        }));
    }
    append_system_line(&mut log, &format!("attempt {attempt} {exit}")).await;
    let error_uri = format!("{}/error.pb", plan.output_prefix);
    let error_document = match inner.blobs.get(&error_uri).await {
        Ok(document) => document,
        Err(err) => {
            return Some(Verdict::Failed(system_error(
                "StorageError",
                format!("cannot read {error_uri}: {err}"),
            )));
        }
    };
    Some(outcome::judge(error_document.as_deref(), exit))
}

async fn read_lines(stream: impl AsyncRead + Unpin, lines: mpsc::Sender<LogLine>) {
    let mut reader = BufReader::new(stream);
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        match reader.read_until(b'\n', &mut buffer).await {
            Ok(0) => return,
            Ok(_) => {
                let line = LogLine {
                    timestamp: Timestamp::now(),
                    originator: Originator::User,
                    message: String::from_utf8_lossy(&buffer).into_owned(),
                };
                if lines.send(line).await.is_err() {
                    return;
                }
            }
            Err(err) => {
                warn!(error = %err, "reading task output failed");
                return;
            }
        }
    }
}

async fn write_lines(mut lines: mpsc::Receiver<LogLine>, mut log: LogWriter) -> LogWriter {
    while let Some(line) = lines.recv().await {
        if let Err(err) = log.append(&line).await {
            warn!(error = %err, "writing the attempt's log failed");
        }
    }
    log
}

async fn append_system_line(log: &mut LogWriter, text: &str) {
    let line = LogLine {
        timestamp: Timestamp::now(),
        originator: Originator::System,
        message: format!("[aerie] {text}\n"),
    };
    if let Err(err) = log.append(&line).await {
        warn!(error = %err, "writing the attempt's log failed");
    }
}

/// Records the verdict; a refusal because the action already ended (an abort won) is expected.
async fn record_verdict(inner: &Arc<Inner>, id: &ActionId, verdict: Verdict, retries: u32) {
    let result = inner
        .store
        .update_action(id, |state| {
            let now = Timestamp::now();
            match &verdict {
                Verdict::Succeeded => state.succeed(now),
                Verdict::Failed(error) => {
                    let attempts = state.current_attempt().number;
                    let retry = outcome::retry_decision(error, attempts, retries);
                    state.fail(error.clone(), retry, now)
                }
                Verdict::TimedOut(error) => {
                    let attempts = state.current_attempt().number;
                    match outcome::retry_decision(error, attempts, retries) {
                        Retry::NewAttempt => state.fail(error.clone(), Retry::NewAttempt, now),
                        Retry::GiveUp => state.time_out(error.clone(), now),
                    }
                }
            }
        })
        .await;
    match result {
        Ok(record) => {
            let phase = record.state.phase;
            let retried = phase == ActionPhase::Queued;
            info!(run = %id.run, action = %id.name, %phase, retried, "attempt over");
            if phase.is_terminal() {
                end_orphans(inner, id, phase).await;
            }
        }
        Err(StoreError::Transition {
            source: TransitionError::AlreadyTerminal(phase),
            ..
        }) => info!(run = %id.run, action = %id.name, %phase, "attempt ended after the action did"),
        Err(err) => {
            warn!(run = %id.run, action = %id.name, error = %err, "recording the verdict failed")
        }
    }
}

/// The task's limit on one attempt's running time (`metadata.timeout`), if it sets one.
fn max_runtime(spec: &TaskSpec) -> Option<Duration> {
    let timeout = spec.task_template.metadata.timeout.as_option()?;
    let total_nanos = i128::from(timeout.seconds) * 1_000_000_000 + i128::from(timeout.nanos);
    u64::try_from(total_nanos)
        .ok()
        .filter(|nanos| *nanos > 0)
        .map(Duration::from_nanos)
}

/// A parent that ended leaves nothing running below it.
async fn end_orphans(inner: &Arc<Inner>, parent: &ActionId, phase: ActionPhase) {
    let engine = crate::Engine {
        inner: Arc::clone(inner),
    };
    let info = AbortInfo {
        reason: format!("parent action {} ended {phase}", parent.name),
        aborted_by: "aerie".into(),
    };
    if let Err(err) = engine.abort_descendants(parent, &info).await {
        warn!(run = %parent.run, action = %parent.name, error = %err, "ending the children of a finished action failed");
    }
}

/// The retry decision for a failure found on restart: a new attempt while the budget lasts.
pub(crate) fn restart_retry(attempts_so_far: u32, retries: u32) -> Retry {
    let interrupted = ErrorInfo {
        message: String::new(),
        kind: ErrorKind::System,
        code: String::new(),
        recoverable: true,
    };
    outcome::retry_decision(&interrupted, attempts_so_far, retries + RESTART_ALLOWANCE)
}

/// Extra attempts an action may use up on aerie restarts, beyond its own retry budget.
const RESTART_ALLOWANCE: u32 = 3;
