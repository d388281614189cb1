//! The local executor: each attempt is a process group on this machine, started from the
//! action's launch spec in a fresh working directory with a clean environment, with stdout and
//! stderr captured to the attempt's log. When the process ends, everything the attempt started
//! is killed (its group and whatever escaped it, see [`crate::process`]), its output drained for
//! at most [`OUTPUT_DRAIN`], its verdict judged from `error.pb` and its exit status, and its
//! working directory removed.
//!
//! A task's environment holds what Flyte sets, its container's and run's variables, and of
//! aerie's own environment only the names in [`DEFAULT_ENV_ALLOW`] and
//! [`LocalConfig::env_allow`]; the server may add per-attempt variables and secret files
//! through [`AttemptEnv`]. Secret files live in the working directory, so they go with it.

use crate::capture::{AttemptLog, Capture};
use crate::executor::{AttemptControl, AttemptToStart, Executor, Started};
use crate::launch::{self, LaunchInputs, LaunchPlan};
use crate::outcome::{self, ProcessExit};
use crate::process::{self, AttemptKey, AttemptProcesses, ProcessGroup};
use aerie_blob::{ActionLayout, Blobs, LogStore, layout};
use aerie_core::{ActionId, ErrorInfo, Launch, Verdict};
use aerie_store::{ActionRecord, Store};
use aerie_wire::flyteidl2::task::RunSpec;
use buffa::Message;
use futures::FutureExt;
use futures::future::BoxFuture;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tracing::{info, warn};

/// The variables of aerie's own environment every task gets, when set: the opt-out of usage
/// tracking the project's scripts rely on, the temporary directory, home and user, locale,
/// time zone and the CA bundle
/// for TLS. [`LocalConfig::env_allow`] adds to these; PATH is passed on only if added there
/// (otherwise tasks get [`launch::DEFAULT_PATH`]).
pub const DEFAULT_ENV_ALLOW: &[&str] = &[
    "DO_NOT_TRACK",
    "TMPDIR",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

/// How long an attempt's output is still read after its process exits. A process that escaped
/// the attempt and kept its stdout or stderr open could otherwise hold the attempt forever.
pub const OUTPUT_DRAIN: Duration = Duration::from_secs(2);

/// The directory, under an attempt's working directory, holding the secret files the server
/// hands it; tasks find it in `FLYTE_SECRETS_DEFAULT_DIR`.
pub const SECRETS_DIR: &str = ".secrets";

/// What the server adds to one attempt.
#[derive(Debug, Default)]
pub struct AttemptExtras {
    /// Variables that come last, so they win over every other source (a short-lived
    /// credential, the secrets the task asked for).
    pub env: Vec<(String, String)>,
    /// Files to write (mode 0600) under [`SECRETS_DIR`], by path relative to it.
    pub secret_files: Vec<(PathBuf, Vec<u8>)>,
}

/// Per-attempt additions from the server. An error fails the attempt before its process
/// starts.
pub trait AttemptEnv: Send + Sync {
    /// What `attempt` of `action` gets.
    fn prepare<'a>(
        &'a self,
        action: &'a ActionRecord,
        attempt: u32,
    ) -> BoxFuture<'a, Result<AttemptExtras, ErrorInfo>>;
}

/// Where and how local attempts run.
#[derive(Clone)]
pub struct LocalConfig {
    /// Parent of every attempt's fresh working directory. Best absolute: an attempt's key (how
    /// a restarted aerie finds what an interrupted attempt left running) derives from its path.
    pub work_dir: PathBuf,
    /// Virtual environment whose `bin/a0` runs tasks; `None` means `a0` on PATH.
    pub python_env: Option<PathBuf>,
    /// The address task processes call back on (`host:port`).
    pub endpoint: String,
    /// Names of aerie's own environment variables passed on to tasks when set, beyond
    /// [`DEFAULT_ENV_ALLOW`].
    pub env_allow: Vec<String>,
    /// Adds per-attempt variables to each task's environment; `None` adds nothing.
    pub attempt_env: Option<Arc<dyn AttemptEnv>>,
}

impl std::fmt::Debug for LocalConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalConfig")
            .field("work_dir", &self.work_dir)
            .field("python_env", &self.python_env)
            .field("endpoint", &self.endpoint)
            .field("env_allow", &self.env_allow)
            .field("attempt_env", &self.attempt_env.as_ref().map(|_| "set"))
            .finish()
    }
}

impl LocalConfig {
    /// The allow-listed variables of `environment` (aerie's own, in production), each once.
    fn inherited_env(
        &self,
        environment: impl Iterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
    ) -> Vec<(String, String)> {
        let allowed = |name: &str| {
            DEFAULT_ENV_ALLOW.contains(&name) || self.env_allow.iter().any(|allow| allow == name)
        };
        environment
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
            .filter(|(name, _)| allowed(name))
            .collect()
    }
}

/// Runs attempts as local process groups.
pub struct LocalExecutor {
    pub store: Store,
    pub blobs: Blobs,
    pub logs: Arc<LogStore>,
    pub config: LocalConfig,
}

/// The SYSTEM error for an I/O failure while preparing an attempt to `doing`; a full disk says
/// so. `err` names no path, so neither does the message.
fn io_error(code: &str, doing: &str, err: &io::Error) -> ErrorInfo {
    if err.raw_os_error() == Some(libc::ENOSPC) {
        ErrorInfo::system("DiskFull", format!("disk full: cannot {doing}"))
    } else {
        ErrorInfo::system(code, format!("cannot {doing}: {err}"))
    }
}

/// Signals everything the attempt started: its group and the processes that escaped it. The
/// `/proc` scan runs on the caller's thread; stopping an attempt is rare.
struct ProcessControl(AttemptProcesses);

impl AttemptControl for ProcessControl {
    fn terminate(&self) {
        self.0.signal(libc::SIGTERM);
    }

    fn kill(&self) {
        self.0.signal(libc::SIGKILL);
    }
}

impl LocalExecutor {
    /// The process for `attempt`, in its freshly cleared working directory, and the secret
    /// files to write there.
    async fn plan(
        &self,
        action: &ActionRecord,
        attempt: u32,
    ) -> Result<(LaunchPlan, Vec<(PathBuf, Vec<u8>)>), ErrorInfo> {
        let launch = match &action.spec.launch {
            Some(launch) => launch,
            None => &Launch::Refused(format!("a {:?} action has nothing to run", action.kind())),
        };
        let run = self
            .store
            .get_run(&action.id.run)
            .await
            .map_err(|err| ErrorInfo::system("StoreError", err.to_string()))?;
        let run_spec = RunSpec::decode_from_slice(&run.run_spec).map_err(|err| {
            ErrorInfo::system(
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
        remove_work_dir(&work_dir)
            .map_err(|err| io_error("WorkDir", "clear the attempt's working directory", &err))?;
        let inherited_env = self.config.inherited_env(std::env::vars_os());
        let extras = match &self.config.attempt_env {
            Some(source) => source.prepare(action, attempt).await?,
            None => AttemptExtras::default(),
        };
        let mut attempt_env = extras.env;
        if let Some(cluster) = self.store.cluster() {
            // Which node ran an attempt, for the task's own records.
            attempt_env.push(("AERIE_NODE_ID".to_owned(), cluster.node_id().to_owned()));
        }
        if !extras.secret_files.is_empty() {
            attempt_env.push((
                "FLYTE_SECRETS_DEFAULT_DIR".to_owned(),
                work_dir.join(SECRETS_DIR).display().to_string(),
            ));
        }
        let inputs = LaunchInputs {
            action: &action.id,
            attempt,
            org: run.org.as_str(),
            input_uri: &action.input_uri,
            run_base: &action.run_output_base,
            run_started_at: run.started_at(),
            run_envs: &run_envs,
            endpoint: &self.config.endpoint,
            python_env: self.config.python_env.as_deref(),
            work_dir,
            inherited_env: &inherited_env,
            attempt_env: &attempt_env,
        };
        let plan = launch::plan(launch, &inputs)
            .map_err(|err| ErrorInfo::system("LaunchFailed", err.to_string()))?;
        Ok((plan, extras.secret_files))
    }

    async fn start_process(
        &self,
        action: &ActionRecord,
        attempt: u32,
    ) -> Result<Started, ErrorInfo> {
        let id = action.id.clone();
        let (plan, secret_files) = self.plan(action, attempt).await?;
        let writer = self
            .logs
            .writer(&id, attempt)
            .await
            .map_err(|err| io_error("LogStorage", "open the attempt's log", &err))?;
        let mut log = AttemptLog::new(writer, id.clone(), attempt);
        if let Err(err) = create_work_dir(&plan) {
            let error = io_error("WorkDir", "create the attempt's working directory", &err);
            return Err(refuse_start(log, &plan, error).await);
        }
        if let Err(err) = write_secret_files(&plan.work_dir, &secret_files) {
            let error = io_error("SecretFiles", "write the task's secret files", &err);
            return Err(refuse_start(log, &plan, error).await);
        }
        let key = AttemptKey::of_work_dir(&plan.work_dir);
        let mut child = match process::spawn(&plan, &key) {
            Ok(child) => child,
            Err(err) => {
                let hint = if err.kind() == io::ErrorKind::NotFound {
                    " (is flyte installed there? start aerie with --python-env pointing at a \
                     virtual environment that has flyte)"
                } else {
                    ""
                };
                let message = format!("cannot start {}: {err}{hint}", plan.program.display());
                return Err(
                    refuse_start(log, &plan, ErrorInfo::system("LaunchFailed", message)).await,
                );
            }
        };
        let Some(group) = child.id().and_then(ProcessGroup::led_by) else {
            // The child is gone before it could be named; it is reaped on drop.
            let _ = child.start_kill();
            let _ = remove_work_dir(&plan.work_dir);
            log.close().await;
            return Err(ErrorInfo::system(
                "LaunchFailed",
                "the task process exited before aerie could record it".into(),
            ));
        };
        info!(run = %id.run, action = %id.name, attempt, pid = group.pid(), "attempt process started");
        log.note(&format!("attempt {attempt} started (pid {})", group.pid()))
            .await;
        let capture = Capture::start(log, child.stdout.take(), child.stderr.take());
        let processes = AttemptProcesses {
            group: Some(group),
            key,
        };
        let control = Arc::new(ProcessControl(processes.clone()));
        let blobs = self.blobs.clone();
        let error_uri = ActionLayout::new(&action.run_output_base, &id.name)
            .attempt(attempt)
            .error();
        let outcome = async move {
            let status = child.wait().await;
            // The attempt is over when its process exits: nothing it started may outlive it.
            let killed = tokio::task::spawn_blocking(move || processes.signal(libc::SIGKILL))
                .await
                .expect("ending an attempt's processes does not panic");
            if killed > 0 {
                info!(run = %id.run, action = %id.name, attempt, killed, "killed processes the attempt left running");
            }
            let mut log = capture.finish(OUTPUT_DRAIN).await;
            let exit = match status {
                Ok(status) => ProcessExit::from_status(status),
                Err(err) => {
                    warn!(run = %id.run, action = %id.name, attempt, error = %err, "waiting for the process failed");
                    ProcessExit::Code(-1)
                }
            };
            log.note(&format!("attempt {attempt} {exit}")).await;
            log.close().await;
            if let Err(err) = remove_work_dir(&plan.work_dir) {
                warn!(run = %id.run, action = %id.name, attempt, error = %err, "removing the attempt's working directory failed");
            }
            match blobs.get(&error_uri).await {
                Ok(document) => outcome::judge(document.as_deref(), exit),
                Err(err) => Verdict::Failed(ErrorInfo::system(
                    "StorageError",
                    format!("cannot read the attempt's error document: {err}"),
                )),
            }
        };
        Ok(Started {
            pid: Some(group.pid()),
            logs_available: true,
            control,
            outcome: outcome.boxed(),
        })
    }
}

/// Notes why the attempt could not start in its log, removes its working directory and returns
/// the attempt's error.
async fn refuse_start(mut log: AttemptLog, plan: &LaunchPlan, error: ErrorInfo) -> ErrorInfo {
    log.note(&error.message).await;
    log.close().await;
    let _ = remove_work_dir(&plan.work_dir);
    error
}

/// Creates the attempt's working directory.
fn create_work_dir(plan: &LaunchPlan) -> io::Result<()> {
    std::fs::create_dir_all(&plan.work_dir)
}

/// Writes `files` under the attempt's [`SECRETS_DIR`], readable by aerie's user only.
fn write_secret_files(work_dir: &Path, files: &[(PathBuf, Vec<u8>)]) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let root = work_dir.join(SECRETS_DIR);
    for (path, value) in files {
        let path = root.join(path);
        if let Some(parent) = path.parent() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)?;
        file.write_all(value)?;
    }
    Ok(())
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

/// Ends what an interrupted attempt left running after aerie itself was killed: every process
/// carrying the attempt's key. Its group is not signalled, as the leader died with aerie and its
/// group id may belong to someone else by now.
pub(crate) fn end_leftovers(config: &LocalConfig, id: &ActionId, attempt: u32) {
    let work_dir = layout::attempt_dir(&config.work_dir, id, attempt);
    let leftovers = AttemptProcesses {
        group: None,
        key: AttemptKey::of_work_dir(&work_dir),
    };
    let killed = leftovers.signal(libc::SIGKILL);
    if killed > 0 {
        info!(run = %id.run, action = %id.name, attempt, killed, "ended processes left by an interrupted attempt");
    }
}

#[cfg(test)]
mod tests;
