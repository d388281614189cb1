//! Runs a deployed task with inputs given as `name=value`, waits for it, and prints its outputs.
//! Each value is read as the type the task declares for it: `n=3`, `x=2.5`, `greeting=hi`,
//! `flag=true`, `pause=1m30s`, `when=2026-12-01T10:00:00Z`, `xs=[1,2]`, `scores={"a":1.5}`,
//! `data=s3://bucket/key`.
//!
//! ```text
//! cargo run -p aerie-client --example launch -- TASK [name=value ...]
//! cargo run -p aerie-client --example launch -- hello.main name=Rust
//! ```
//!
//! The latest deployed version runs; set `TASK_VERSION` to run another. The endpoint is
//! `AERIE_ENDPOINT`, else the flyte config file's, else `localhost:30080`.

use aerie_client::{ActionSummary, Client, Launch, RunOptions};
use std::error::Error;
use std::io::{ErrorKind, Write};
use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(task) = args.next() else {
        eprintln!("usage: launch TASK [name=value ...]");
        return ExitCode::from(2);
    };
    let mut launch = Launch::task(task);
    if let Ok(version) = std::env::var("TASK_VERSION") {
        launch = launch.version(version);
    }
    for arg in args {
        let Some((name, value)) = arg.split_once('=') else {
            eprintln!("launch: {arg:?} is not name=value");
            return ExitCode::from(2);
        };
        launch = launch.input_text(name, value);
    }
    let launch = launch.options(RunOptions::new().label("launched-by", "rust-example"));
    match run(launch).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        // A closed pipe (`| head`) ends the example quietly.
        Err(err) if is_broken_pipe(&*err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("launch: {err}");
            ExitCode::from(2)
        }
    }
}

/// Starts the run, waits for it and prints its outputs; whether it succeeded.
async fn run(launch: Launch) -> Result<bool, Box<dyn Error>> {
    let client = Client::discover()?;
    let mut out = std::io::stdout().lock();
    let mut run = launch.start(&client).await?;
    writeln!(out, "run: {}", run.run_id())?;
    let done = run.wait(&client).await?;
    let phase = done.phase()?;
    writeln!(out, "phase: {phase}")?;
    if !phase.is_success() {
        if let Some(error) = done.error_info() {
            writeln!(out, "error: {}", error.message)?;
        }
        return Ok(false);
    }
    for (name, value) in run.outputs(&client).await?.values() {
        writeln!(out, "{name} = {value}")?;
    }
    Ok(true)
}

fn is_broken_pipe(err: &(dyn Error + 'static)) -> bool {
    err.downcast_ref::<std::io::Error>()
        .is_some_and(|err| err.kind() == ErrorKind::BrokenPipe)
}
