//! Prints one action's details, as `flyte.remote.ActionDetails.get` reads them: phase, attempts,
//! runtime, error or abort, inputs, and outputs once it succeeded.
//!
//! ```text
//! cargo run -p aerie-client --example get -- flyte://v1/flytesnacks/development/RUN[/ACTION]
//! cargo run -p aerie-client --example get -- http://localhost:30080/v2/domain/development/project/flytesnacks/runs/RUN
//! ```
//!
//! The endpoint is `AERIE_ENDPOINT`, else the flyte config file's, else `localhost:30080`. This
//! example uses the blocking client.

use aerie_client::{ActionSummary, blocking};
use std::error::Error;
use std::io::{ErrorKind, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(uri) = std::env::args().nth(1) else {
        eprintln!("usage: get URI_OR_CONSOLE_URL");
        return ExitCode::from(2);
    };
    match show(&uri) {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`| head`) ends the example quietly.
        Err(err) if is_broken_pipe(&*err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("get: {err}");
            ExitCode::FAILURE
        }
    }
}

fn show(uri: &str) -> Result<(), Box<dyn Error>> {
    let client = blocking::Client::discover()?;
    let details = blocking::ActionDetails::get(&client, uri)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "action:   {}", details.action_id())?;
    writeln!(out, "task:     {}", details.task_name().unwrap_or("-"))?;
    writeln!(out, "phase:    {}", details.phase()?)?;
    writeln!(out, "attempts: {}", details.attempts())?;
    writeln!(out, "runtime:  {:.3}s", details.runtime().as_secs_f64())?;
    if let Some(error) = details.error_info() {
        writeln!(
            out,
            "error:    {}: {}",
            error.code,
            error.message.trim_end()
        )?;
    }
    if let Some(abort) = details.abort_info() {
        writeln!(out, "aborted:  {}", abort.reason)?;
    }
    for (name, value) in details.inputs()?.values() {
        writeln!(out, "input:    {name} = {value}")?;
    }
    if details.done() && details.phase()?.is_success() {
        for (name, value) in details.outputs()?.values() {
            writeln!(out, "output:   {name} = {value}")?;
        }
    }
    Ok(())
}

fn is_broken_pipe(err: &(dyn Error + 'static)) -> bool {
    err.downcast_ref::<std::io::Error>()
        .is_some_and(|err| err.kind() == ErrorKind::BrokenPipe)
}
