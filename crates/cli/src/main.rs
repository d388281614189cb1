//! The `aerie` binary: parses the command line, runs the command, and owns the exit code.
//!
//! Exit codes: 0 on success (a closed stdout pipe counts as success), 1 when a command fails or
//! a watched action did not succeed, 2 for usage errors (reported by clap). Errors are printed
//! once, as one line `aerie: <message>` on stderr.

mod args;
mod commands;
mod output;
mod serve;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let outcome = tokio::runtime::Runtime::new()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| runtime.block_on(commands::run(cli)));
    match outcome {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("aerie: {}", one_line(&err));
            ExitCode::FAILURE
        }
    }
}

/// Whether the error is stdout going away (`aerie logs r1 | head`).
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The error and its causes, `: `-separated, on one line.
fn one_line(err: &anyhow::Error) -> String {
    format!("{err:#}").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_pipe_is_recognised_through_context() {
        let err = anyhow::Error::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
            .context("writing logs");
        assert!(is_broken_pipe(&err));
        assert!(!is_broken_pipe(&anyhow::anyhow!("run not found")));
    }

    #[test]
    fn errors_are_reported_on_one_line_with_their_causes() {
        let err = anyhow::anyhow!("second\nline").context("outer");
        assert_eq!(one_line(&err), "outer: second line");
    }
}
