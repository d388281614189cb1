//! One `aerie serve` subprocess per figure group: a fresh data directory, a port the OS picks,
//! and its log in a file beside the data directory.
//!
//! The address comes from the server's `aerie ready on http://ADDR` line. The server's own
//! environment is cleared of `AERIE_*` variables, so only the flags given here configure it.
//! A server that is dropped without [`Server::stop`] is killed (SIGKILL).

use crate::deadline::within;
use crate::rpc::{DOMAIN, PROJECT, Rpc};
use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long the server may take to print its ready line.
const STARTUP_LIMIT: Duration = Duration::from_secs(60);
/// How long a SIGTERM'd server may take to exit before it is killed.
const STOP_LIMIT: Duration = Duration::from_secs(15);
/// `--max-running` for the noop executor: high enough that the cap on concurrent attempts is
/// never what a figure measures (noop attempts start no process).
const NOOP_MAX_RUNNING: usize = 20_000;
/// Lines of the server log quoted when it fails.
const LOG_TAIL_LINES: usize = 30;

/// Which executor runs the attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Executor {
    /// The default: each attempt is a local process.
    Local,
    /// `--executor noop`: attempts walk to SUCCEEDED (or are held RUNNING) without a process.
    Noop,
}

/// The flags a figure starts `aerie serve` with, beyond the address and data directory.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub executor: Executor,
    /// `--database URL`; `None` keeps the embedded SQLite database in the data directory.
    pub database: Option<String>,
    /// `--python-env DIR` for tasks run by the official SDK.
    pub python_env: Option<PathBuf>,
    /// `--node-id ID`, for one of several nodes sharing a PostgreSQL database.
    pub node_id: Option<String>,
    /// `--secret-key-file PATH`, the key nodes sharing a database must share.
    pub secret_key_file: Option<PathBuf>,
}

impl ServerOptions {
    /// `aerie serve` as a user starts it: local executor, SQLite.
    pub fn defaults() -> Self {
        Self {
            executor: Executor::Local,
            database: None,
            python_env: None,
            node_id: None,
            secret_key_file: None,
        }
    }

    /// The noop executor on SQLite.
    pub fn noop() -> Self {
        Self {
            executor: Executor::Noop,
            ..Self::defaults()
        }
    }

    fn args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if self.executor == Executor::Noop {
            args.extend(["--executor".into(), "noop".into()]);
            args.extend(["--max-running".into(), NOOP_MAX_RUNNING.to_string()]);
        }
        if let Some(url) = &self.database {
            args.extend(["--database".into(), url.clone()]);
        }
        if let Some(env) = &self.python_env {
            args.extend(["--python-env".into(), env.display().to_string()]);
        }
        if let Some(id) = &self.node_id {
            args.extend(["--node-id".into(), id.clone()]);
        }
        if let Some(key) = &self.secret_key_file {
            args.extend(["--secret-key-file".into(), key.display().to_string()]);
        }
        args
    }
}

/// A running `aerie serve`.
pub struct Server {
    child: Child,
    /// Holds the data directory and the log; removed when the server is dropped.
    root: tempfile::TempDir,
    /// `HOST:PORT` from the ready line.
    pub endpoint: String,
}

impl Server {
    /// Starts `aerie` (the binary at `binary`) with `options` in a fresh data directory.
    pub async fn start(binary: &Path, options: &ServerOptions) -> anyhow::Result<Self> {
        let root = tempfile::Builder::new()
            .prefix("aerie-bench-")
            .tempdir()
            .context("creating a temporary directory for the server")?;
        let data_dir = root.path().join("data");
        std::fs::create_dir(&data_dir).context("creating the data directory")?;
        let log_path = root.path().join("server.log");
        let log = std::fs::File::create(&log_path).context("creating the server log")?;
        let mut command = Command::new(binary);
        command
            .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(&data_dir)
            .args(options.args())
            .env("DO_NOT_TRACK", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("AERIE_") {
                command.env_remove(key);
            }
        }
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let stdout = child.stdout.take().context("the server's stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(STARTUP_LIMIT, lines.next_line()).await;
        let line = match ready {
            Ok(Ok(Some(line))) => line,
            Ok(Ok(None)) | Ok(Err(_)) => bail!(
                "aerie serve {} exited before it was ready; its log:\n{}",
                options.args().join(" "),
                log_tail(&log_path)
            ),
            Err(_) => bail!(
                "aerie serve printed no ready line within {STARTUP_LIMIT:?}; its log:\n{}",
                log_tail(&log_path)
            ),
        };
        let endpoint = line
            .strip_prefix("aerie ready on http://")
            .with_context(|| format!("unexpected first line from aerie serve: {line:?}"))?
            .to_owned();
        // Keep draining stdout so a later write never meets a closed pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self {
            child,
            root,
            endpoint,
        })
    }

    /// The directory holding the database, blobs and logs.
    pub fn data_dir(&self) -> PathBuf {
        self.root.path().join("data")
    }

    /// Where the server keeps run `run`'s data: `s3://aerie/runs/{project}/{domain}/{run}`.
    pub fn run_base(&self, run: &str) -> String {
        format!("s3://aerie/runs/{PROJECT}/{DOMAIN}/{run}")
    }

    /// New raw RPC clients on their own HTTP/1.1 connection pool.
    pub fn rpc(&self) -> Rpc {
        Rpc::http1(&self.endpoint)
    }

    /// The server's resident set size (VmRSS) in MiB.
    pub fn rss_mib(&self) -> anyhow::Result<f64> {
        self.status_mib("VmRSS")
    }

    /// The most memory the server has held resident so far (VmHWM), in MiB.
    pub fn peak_rss_mib(&self) -> anyhow::Result<f64> {
        self.status_mib("VmHWM")
    }

    /// A memory line of the server's `/proc/PID/status`, in MiB.
    fn status_mib(&self, field: &str) -> anyhow::Result<f64> {
        let pid = self.child.id().context("the server has exited")?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .with_context(|| format!("reading /proc/{pid}/status"))?;
        let kib: f64 = status
            .lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .with_context(|| format!("no {field} line in /proc/PID/status"))?;
        Ok(kib / 1024.0)
    }

    /// The last lines of the server log, for error messages.
    pub fn log_tail(&self) -> String {
        log_tail(&self.root.path().join("server.log"))
    }

    /// Fails with the log tail if the server is no longer running.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "aerie serve exited ({status}); its log:\n{}",
                self.log_tail()
            );
        }
        Ok(())
    }

    /// Stops the server with SIGTERM (SIGKILL if it does not exit in time) and removes its data.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let Some(pid) = self.child.id() else {
            return Ok(());
        };
        // SAFETY: kill(2) on our own child's pid, which has not been reaped yet.
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
        let stopped = within(STOP_LIMIT, "stopping aerie serve with SIGTERM", async {
            Ok(self.child.wait().await?)
        })
        .await;
        if stopped.is_err() {
            self.child.kill().await.context("killing aerie serve")?;
            bail!("aerie serve did not stop within {STOP_LIMIT:?} of SIGTERM and was killed");
        }
        Ok(())
    }
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
}
