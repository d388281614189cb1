//! `sdk_fanout_100_s` and `sdk_local_fanout_100_s`: the official Python SDK running
//! `benches/workflows/fanout.py`, a parent task with 100 trivial children.
//!
//! On aerie: `aerie serve --python-env VENV` (the local executor, so the parent and each child
//! are `a0` processes of that environment), the SDK pointed at it as the tests point it
//! (`localhost:PORT`, insecure, project `flytesnacks`, domain `development`). Locally: the same
//! program with `flyte.init()` and no endpoint, so `flyte.run` runs everything in-process. The
//! workflow times itself from just before `flyte.run` to SUCCEEDED and prints `elapsed_s S`.
//!
//! The SDK gets a throwaway config file (`FLYTECTL_CONFIG`, which also keeps its code-bundle
//! cache private), a throwaway working directory, and `DO_NOT_TRACK=1`.

use super::{Bench, Measured, with_server};
use crate::deadline::within;
use crate::server::ServerOptions;
use anyhow::{Context, bail};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

/// The workflow, found beside this crate's manifest.
const WORKFLOW: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/workflows/fanout.py");
const CHILDREN: usize = 100;
/// Limit for one SDK run, Python start-up included.
const RUN_LIMIT: Duration = Duration::from_secs(300);

pub async fn on_aerie(bench: &Bench) -> anyhow::Result<Measured> {
    let python = python_of(&bench.venv)?;
    let options = ServerOptions {
        python_env: Some(bench.venv.clone()),
        ..ServerOptions::defaults()
    };
    with_server(bench, &options, async |server| {
        let port = server
            .endpoint
            .rsplit(':')
            .next()
            .context("no port in the server address")?;
        let endpoint = format!("localhost:{port}");
        let seconds = run_workflow(&python, &["--endpoint", &endpoint]).await?;
        Ok(vec![("sdk_fanout_100_s", seconds)])
    })
    .await
}

pub async fn local(bench: &Bench) -> anyhow::Result<Measured> {
    let python = python_of(&bench.venv)?;
    let seconds = run_workflow(&python, &["--local"]).await?;
    Ok(vec![("sdk_local_fanout_100_s", seconds)])
}

pub(super) fn python_of(venv: &Path) -> anyhow::Result<std::path::PathBuf> {
    // Absolute, since scripts run in a directory of their own.
    let python = std::path::absolute(venv.join("bin").join("python"))
        .context("resolving the Python environment's path")?;
    if !python.is_file() {
        bail!(
            "no Python environment at {} (scripts/setup creates it)",
            venv.display()
        );
    }
    Ok(python)
}

/// Runs the workflow with `args` and returns the seconds it reports.
async fn run_workflow(python: &Path, args: &[&str]) -> anyhow::Result<f64> {
    let home = tempfile::Builder::new()
        .prefix("aerie-bench-sdk-")
        .tempdir()
        .context("creating the SDK's temporary directory")?;
    let config = home.path().join("config.yaml");
    std::fs::write(
        &config,
        "task:\n  project: flytesnacks\n  domain: development\n",
    )
    .context("writing the SDK's config file")?;
    let children = CHILDREN.to_string();
    let args: Vec<&str> = args
        .iter()
        .copied()
        .chain(["--children", &children])
        .collect();
    let config = config.display().to_string();
    let reported = run_script(
        python,
        WORKFLOW,
        &args,
        home.path(),
        &[("FLYTECTL_CONFIG", config.as_str())],
        RUN_LIMIT,
    )
    .await?;
    reported
        .iter()
        .find_map(|(name, value)| (name == "elapsed_s").then_some(*value))
        .context("the workflow reported no elapsed_s")
}

/// Runs the Python `script` with `args` in `dir`, with `env` added and the SDK's own knobs
/// removed, and returns the `NAME VALUE` lines it prints. Fails with the tail of its stderr if
/// it fails or takes longer than `limit`.
pub(super) async fn run_script(
    python: &Path,
    script: &str,
    args: &[&str],
    dir: &Path,
    env: &[(&str, &str)],
    limit: Duration,
) -> anyhow::Result<Vec<(String, f64)>> {
    let mut command = Command::new(python);
    command
        .arg(script)
        .args(args)
        .current_dir(dir)
        .envs(env.iter().copied())
        .env("DO_NOT_TRACK", "1")
        .env_remove("UCTL_CONFIG")
        .env_remove("FLYTE_API_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = within(limit, "running a Python script", async {
        command
            .output()
            .await
            .with_context(|| format!("running {}", python.display()))
    })
    .await?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(20).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!(
            "{script} {} failed ({}):\n{}\n{}",
            args.join(" "),
            output.status,
            stdout.trim(),
            tail.join("\n")
        )
    }
    Ok(stdout
        .lines()
        .filter_map(|line| {
            let (name, value) = line.split_once(' ')?;
            Some((name.to_owned(), value.trim().parse().ok()?))
        })
        .collect())
}
