//! One module per subcommand; this one connects and dispatches.
//!
//! Each command writes its data to stdout and returns the exit code it earned; errors go up to
//! `main`, which prints them once.

mod abort;
mod apikey;
mod cache;
mod deployed;
mod get;
mod io;
mod logs;
mod nodes;
mod run;
mod signal;
mod storage;
mod watch;

use crate::args::{Cli, Command, GlobalArgs};
use crate::serve;
use aerie_client::{Client, ErrorCode};
use std::io::Write;
use std::process::ExitCode;

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let global = cli.global;
    let succeeded = |()| ExitCode::SUCCESS;
    let outcome = match cli.command {
        Command::Serve(args) => serve::run(args).await.map(succeeded),
        Command::Get(command) => get::run(&connect(&global)?, command).await.map(succeeded),
        Command::Run(args) => run::run(&connect(&global)?, args).await,
        Command::Watch(args) => watch::run(&connect(&global)?, args).await,
        Command::Logs(args) => logs::run(&connect(&global)?, args).await.map(succeeded),
        Command::Abort(command) => abort::run(&connect(&global)?, command).await.map(succeeded),
        Command::Io(args) => io::run(&connect(&global)?, args).await.map(succeeded),
        Command::Signal(args) => signal::run(&connect(&global)?, args).await.map(succeeded),
        Command::ApiKey(command) => apikey::run(command).await.map(succeeded),
        Command::Storage(command) => {
            storage::run(command, &connect(&global)?.endpoint().to_string()).map(succeeded)
        }
        Command::Cache(command) => cache::run(command).await.map(succeeded),
        Command::Nodes(args) => nodes::run(args).await.map(succeeded),
    };
    outcome.map_err(|err| explain_unreachable(err, &global))
}

/// Says which endpoint could not be reached, since the call's own message cannot know.
fn explain_unreachable(err: anyhow::Error, global: &GlobalArgs) -> anyhow::Error {
    let unreachable = err
        .downcast_ref::<aerie_client::Error>()
        .is_some_and(|err| err.code() == Some(ErrorCode::Unavailable));
    if unreachable {
        err.context(format!(
            "cannot reach {} (is `aerie serve` running?)",
            global.shown_endpoint()
        ))
    } else {
        err
    }
}

/// A client for the global endpoint, project and domain, with the flyte config's settings for
/// what they leave out (no call is made yet).
fn connect(global: &GlobalArgs) -> anyhow::Result<Client> {
    Ok(Client::from_config(&global.config()?)?)
}

/// Prints the proto3 JSON of wire messages, indented as the Python SDK's `to_json` does and in
/// field order (going through `serde_json::Value` would sort the keys).
fn write_json(out: &mut impl Write, message: &impl serde::Serialize) -> std::io::Result<()> {
    // Through `io::Error`, so a closed pipe stays recognisable (serde_json's own error hides it).
    serde_json::to_writer_pretty(&mut *out, message).map_err(std::io::Error::from)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stdout whose reader has gone away.
    struct ClosedPipe;

    impl Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn json_written_into_a_closed_pipe_fails_as_a_broken_pipe() {
        let err = write_json(&mut ClosedPipe, &serde_json::json!({"a": 1})).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
    }
}
