//! `aerie run TASK [--version V] [-i NAME=VALUE ...]`: starts a run of a deployed task through
//! the client's [`Launch`], prints its name and console URL, follows it as `aerie watch` does and
//! prints its outputs; exit 0 if it succeeded, 1 if not.

use super::watch;
use crate::args::{OutputFormat, RunArgs};
use aerie_client::{ActionName, ActionSummary, Client, Launch, RunOptions};
use std::io::{Write, stdout};
use std::process::ExitCode;

pub async fn run(client: &Client, args: RunArgs) -> anyhow::Result<ExitCode> {
    let mut launch = Launch::task(&args.task);
    if let Some(version) = &args.version {
        launch = launch.version(version);
    }
    for (name, value) in &args.inputs {
        launch = launch.input_text(name, value);
    }
    let launch = launch.options(run_options(&args));
    let run = launch.start(client).await?;
    let json = args.output.format == OutputFormat::Json;
    if !json {
        let mut out = stdout().lock();
        writeln!(
            out,
            "run {} started: {}",
            run.run_id().name,
            run.url(client)
        )?;
        out.flush()?;
    }
    if args.no_wait {
        if json {
            super::write_json(&mut stdout().lock(), run.wire())?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let root = client.action_id(run.run_id().name.clone(), ActionName::root());
    let last = watch::follow(client, &root, args.output.format).await?;
    if !json && last.phase()?.is_success() {
        let outputs = last.outputs(client).await?;
        let mut out = stdout().lock();
        writeln!(out, "outputs")?;
        if outputs.is_empty() {
            writeln!(out, "  (none)")?;
        }
        for (name, value) in outputs.values() {
            writeln!(out, "  {name} = {value}")?;
        }
        out.flush()?;
    }
    Ok(watch::exit_code(&last))
}

fn run_options(args: &RunArgs) -> RunOptions {
    let mut options = RunOptions::new().overwrite_cache(args.overwrite_cache);
    if let Some(name) = &args.name {
        options = options.name(name.clone());
    }
    if let Some(limit) = args.max_concurrency {
        options = options.max_concurrency(limit);
    }
    for (key, value) in &args.labels {
        options = options.label(key, value);
    }
    for (key, value) in &args.env_vars {
        options = options.env(key, value);
    }
    options
}
