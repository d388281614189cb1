//! `aerie watch RUN [ACTION]`: follows an action until it ends, exit 0 on success, 1 otherwise.
//!
//! On a terminal the status line (`r1/a0  RUNNING  attempt 1  12.3s`) is redrawn in place, its
//! clock ticking; into a pipe or file one line is printed per change of phase or attempt; with
//! `-o json` every update is printed as one line of proto3 JSON.

use crate::args::{OutputFormat, WatchArgs};
use crate::output::{abort_summary, error_summary, format_duration, phase_label};
use aerie_client::{ActionDetails, ActionId, ActionSummary, Client};
use futures::StreamExt;
use std::io::{IsTerminal, Write, stdout};
use std::process::ExitCode;
use std::time::Duration;

/// How often the live line's clock is redrawn between updates.
const REDRAW_EVERY: Duration = Duration::from_millis(200);

pub async fn run(client: &Client, args: WatchArgs) -> anyhow::Result<ExitCode> {
    let last = follow(client, &args.target.action_id(client), args.output.format).await?;
    Ok(exit_code(&last))
}

/// 0 if the action succeeded, 1 if not.
pub fn exit_code(last: &ActionDetails) -> ExitCode {
    if last.phase().is_ok_and(|phase| phase.is_success()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Follows `action` until it is done, printing its changes as `format` asks; returns its last
/// details.
pub async fn follow(
    client: &Client,
    action: &ActionId,
    format: OutputFormat,
) -> anyhow::Result<ActionDetails> {
    let out = stdout();
    let mode = match format {
        OutputFormat::Json => Mode::Json,
        OutputFormat::Table if out.is_terminal() => Mode::Live,
        OutputFormat::Table => Mode::Lines,
    };
    let mut reporter = Reporter {
        mode,
        out,
        last_change: None,
    };
    let mut updates = ActionDetails::watch(client, action);
    let mut redraw = tokio::time::interval(REDRAW_EVERY);
    let mut last: Option<ActionDetails> = None;
    loop {
        tokio::select! {
            update = updates.next() => match update {
                Some(update) => {
                    let details = update?;
                    reporter.update(&details)?;
                    last = Some(details);
                }
                None => break,
            },
            _ = redraw.tick(), if mode == Mode::Live => {
                if let Some(details) = &last {
                    reporter.draw(details)?;
                }
            }
        }
    }
    let last =
        last.ok_or_else(|| anyhow::anyhow!("the watch of {action} ended without an update"))?;
    reporter.finish(&last)?;
    Ok(last)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// One line redrawn in place (a terminal).
    Live,
    /// One line per change of phase or attempt (a pipe or file).
    Lines,
    /// One line of JSON per update.
    Json,
}

struct Reporter<W> {
    mode: Mode,
    out: W,
    /// Phase and attempt of the last line printed in [`Mode::Lines`].
    last_change: Option<(String, u32)>,
}

impl<W: Write> Reporter<W> {
    fn update(&mut self, details: &ActionDetails) -> anyhow::Result<()> {
        match self.mode {
            Mode::Live => self.draw(details)?,
            Mode::Lines => {
                let change = (phase_label(details), details.attempts());
                if self.last_change.as_ref() != Some(&change) {
                    writeln!(self.out, "{}", status_line(details))?;
                    self.out.flush()?;
                    self.last_change = Some(change);
                }
            }
            Mode::Json => {
                serde_json::to_writer(&mut self.out, details.wire())
                    .map_err(std::io::Error::from)?;
                writeln!(self.out)?;
                self.out.flush()?;
            }
        }
        Ok(())
    }

    /// Redraws the live line in place.
    fn draw(&mut self, details: &ActionDetails) -> std::io::Result<()> {
        write!(self.out, "\r\x1b[2K{}", status_line(details))?;
        self.out.flush()
    }

    /// Ends the live line and says why the action failed or was aborted.
    fn finish(&mut self, last: &ActionDetails) -> std::io::Result<()> {
        if self.mode == Mode::Json {
            return Ok(());
        }
        if self.mode == Mode::Live {
            self.draw(last)?;
            writeln!(self.out)?;
        }
        if let Some(error) = last.error_info() {
            let summary = error_summary(error.kind.as_known(), &error.code, &error.message);
            writeln!(self.out, "error: {summary}")?;
        }
        if let Some(abort) = last.abort_info() {
            writeln!(self.out, "aborted: {}", abort_summary(&abort.reason))?;
        }
        self.out.flush()
    }
}

/// `r1/a0  RUNNING  attempt 1  12.3s`.
fn status_line(details: &ActionDetails) -> String {
    format!(
        "{}/{}  {:<9}  attempt {}  {}",
        details.run_name(),
        details.name(),
        phase_label(details),
        details.attempts(),
        format_duration(details.runtime()),
    )
}
