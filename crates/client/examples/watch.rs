//! Follows one action live, printing each phase it enters, until it is done; exits 0 if it
//! succeeded and 1 if it did not, so a shell script can wait on a run.
//!
//! ```text
//! cargo run -p aerie-client --example watch -- RUN [ACTION]
//! ```
//!
//! `ACTION` defaults to the run's root, `a0`. The endpoint is `AERIE_ENDPOINT`, else the flyte
//! config file's, else `localhost:30080`.

use aerie_client::{ActionName, ActionSummary, Client};
use futures::StreamExt;
use std::error::Error;
use std::io::{ErrorKind, Write};
use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(run), action) = (args.next(), args.next()) else {
        eprintln!("usage: watch RUN [ACTION]");
        return ExitCode::from(2);
    };
    match watch(&run, action.as_deref().unwrap_or("a0")).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        // A closed pipe (`| head`) ends the example quietly.
        Err(err) if is_broken_pipe(&*err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("watch: {err}");
            ExitCode::from(2)
        }
    }
}

/// Prints every phase change; whether the action ended in success.
async fn watch(run: &str, action: &str) -> Result<bool, Box<dyn Error>> {
    let client = Client::discover()?;
    let mut out = std::io::stdout().lock();
    let action: ActionName = action.parse()?;
    let id = client.action_id(run.parse()?, action);
    let mut updates = aerie_client::ActionDetails::watch(&client, &id);
    let mut last_phase = None;
    let mut succeeded = false;
    while let Some(update) = updates.next().await {
        let details = update?;
        let phase = details.phase()?;
        if last_phase != Some(phase) {
            writeln!(out, "{id}: {phase} (attempt {})", details.attempts())?;
            last_phase = Some(phase);
        }
        succeeded = details.done() && phase.is_success();
        if let Some(error) = details.error_info().filter(|_| details.done()) {
            writeln!(out, "{id}: {}", error.message)?;
        }
    }
    Ok(succeeded)
}

fn is_broken_pipe(err: &(dyn Error + 'static)) -> bool {
    err.downcast_ref::<std::io::Error>()
        .is_some_and(|err| err.kind() == ErrorKind::BrokenPipe)
}
