//! Prints the log of an action's latest attempt and follows it until the attempt ends, as
//! `flyte get logs` does; only the lines the task wrote are shown (`--all` shows aerie's own
//! too).
//!
//! ```text
//! cargo run -p aerie-client --example logs -- RUN [ACTION] [--all]
//! ```
//!
//! `ACTION` defaults to the run's root, `a0`. The endpoint is `AERIE_ENDPOINT`, else the flyte
//! config file's, else `localhost:30080`. This example uses the blocking client.

use aerie_client::logs::is_system;
use aerie_client::{ActionName, Follow, blocking};
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let all = args.iter().any(|arg| arg == "--all");
    let names: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|arg| *arg != "--all")
        .collect();
    let (run, action) = match names.as_slice() {
        [run] => (*run, "a0"),
        [run, action] => (*run, *action),
        _ => {
            eprintln!("usage: logs RUN [ACTION] [--all]");
            return ExitCode::from(2);
        }
    };
    match follow(run, action, all) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("logs: {err}");
            ExitCode::FAILURE
        }
    }
}

fn follow(run: &str, action: &str, all: bool) -> aerie_client::Result<()> {
    let client = blocking::Client::discover()?;
    let action: ActionName = action.parse()?;
    let id = client.action_id(run.parse()?, action);
    let mut out = std::io::stdout().lock();
    for line in blocking::Logs::tail(&client, &id, None, Follow::Yes)? {
        let line = line?;
        if all || !is_system(&line) {
            // A closed pipe (`| head`) ends the example quietly.
            if out.write_all(line.message.as_bytes()).is_err() {
                break;
            }
        }
    }
    Ok(())
}
