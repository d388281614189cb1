//! `bucket_put_mib_per_s`, `bucket_get_mib_per_s` and `bucket_peak_rss_mb`: one 1 GiB object
//! through aerie's S3 bucket with obstore, the client the Flyte SDK moves `File`s with
//! (`benches/workflows/bucket.py`: a multipart upload in 5 MiB parts, 12 in flight, then a
//! streamed download, checked byte for byte).
//!
//! `aerie serve` with its defaults; the credential is `aerie storage env --write` on its data
//! directory. Peak memory is the server's VmHWM (the most it was resident at any time) after
//! the round trip, in MiB.

use super::sdk::{python_of, run_script};
use super::{Bench, Measured, with_server};
use anyhow::{Context, bail};
use std::time::Duration;
use tokio::process::Command;

/// The script, found beside this crate's manifest.
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/workflows/bucket.py");
const MIB: &str = "1024";
/// Limit for the round trip, Python start-up included.
const RUN_LIMIT: Duration = Duration::from_secs(600);

pub async fn measure(bench: &Bench) -> anyhow::Result<Measured> {
    let python = python_of(&bench.venv)?;
    with_server(
        bench,
        &crate::server::ServerOptions::defaults(),
        async |server| {
            let env = storage_env(bench, server).await?;
            let env: Vec<(&str, &str)> = env
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str()))
                .collect();
            let scratch = tempfile::Builder::new()
                .prefix("aerie-bench-bucket-")
                .tempdir()
                .context("creating the client's temporary directory")?;
            let reported = run_script(
                &python,
                SCRIPT,
                &["--mib", MIB],
                scratch.path(),
                &env,
                RUN_LIMIT,
            )
            .await?;
            let figure = |name: &str| {
                reported
                    .iter()
                    .find_map(|(reported, value)| (reported == name).then_some(*value))
                    .with_context(|| format!("{SCRIPT} reported no {name}"))
            };
            Ok(vec![
                ("bucket_put_mib_per_s", figure("put_mib_per_s")?),
                ("bucket_get_mib_per_s", figure("get_mib_per_s")?),
                ("bucket_peak_rss_mb", server.peak_rss_mib()?),
            ])
        },
    )
    .await
}

/// The `NAME=VALUE` pairs `aerie storage env --write` exports for `server`.
async fn storage_env(
    bench: &Bench,
    server: &crate::server::Server,
) -> anyhow::Result<Vec<(String, String)>> {
    let output = Command::new(&bench.aerie)
        .args(["--endpoint", &server.endpoint, "storage", "env", "--write"])
        .arg("--data-dir")
        .arg(server.data_dir())
        .output()
        .await
        .context("running aerie storage env")?;
    if !output.status.success() {
        bail!(
            "aerie storage env failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let (name, value) = line.strip_prefix("export ")?.split_once('=')?;
            Some((name.to_owned(), value.trim_matches('\'').to_owned()))
        })
        .collect())
}
