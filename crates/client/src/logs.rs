//! [`Logs`]: the log lines of one attempt of an action, from DataProxyService/TailLogs.
//!
//! The server streams the attempt's whole log from the start, follows live output, and ends the
//! stream once the attempt's process has exited and everything is sent. So:
//! - [`Follow::Yes`] reads until the server ends the stream. An attempt that has not started yet
//!   answers `not_found`; that is retried [`NOT_FOUND_RETRIES`] times, [`NOT_FOUND_RETRY_DELAY`]
//!   apart, as the Python SDK does, before it is reported.
//! - [`Follow::No`] reads what is there now: it also stops once no line arrived for
//!   [`BACKLOG_IDLE`], since the protocol does not mark where the backlog ends.
//!
//! Each line's `message` keeps its trailing newline; print it as-is.

use crate::action_details::ActionDetails;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::rpc::{TailStream, describe};
use crate::summary::ActionSummary;
use aerie_core::ActionId;
use aerie_wire::flyteidl2::common::ActionIdentifier;
pub use aerie_wire::flyteidl2::logs::dataplane::LogLine;
use aerie_wire::flyteidl2::logs::dataplane::LogLineOriginator;
use futures::stream::{self, BoxStream, Stream, StreamExt};
use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// Times an attempt that is not started yet is asked for again when following.
pub const NOT_FOUND_RETRIES: u32 = 5;
/// Wait between those retries.
pub const NOT_FOUND_RETRY_DELAY: Duration = Duration::from_secs(2);
/// Without following, the read stops after this long without a line.
pub const BACKLOG_IDLE: Duration = Duration::from_secs(1);

/// Whether to keep reading while the attempt runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Follow {
    /// Read what has been logged so far.
    #[default]
    No,
    /// Read until the attempt is over.
    Yes,
}

/// The log lines of one attempt, as a stream.
pub struct Logs {
    attempt: u32,
    lines: BoxStream<'static, Result<LogLine>>,
}

impl Logs {
    /// Tails attempt `attempt` (1-based) of `action`, or its latest attempt when `None` (which
    /// costs one GetActionDetails call).
    pub async fn tail(
        client: &Client,
        action: &ActionId,
        attempt: Option<u32>,
        follow: Follow,
    ) -> Result<Self> {
        let wire_id = aerie_convert::wire_action_id(action, client.org());
        let attempt = match attempt {
            Some(attempt) => attempt,
            None => latest_attempt_number(&ActionDetails::from_wire(
                client.get_action_details(&wire_id).await?,
            )?),
        };
        Ok(Self::tail_attempt(client, wire_id, attempt, follow))
    }

    fn tail_attempt(
        client: &Client,
        action: ActionIdentifier,
        attempt: u32,
        follow: Follow,
    ) -> Self {
        let tail = Tail {
            client: client.clone(),
            action,
            attempt,
            follow,
            stream: None,
            pending: VecDeque::new(),
            not_found_retries: 0,
            received_any: false,
            finished: false,
        };
        let lines = stream::unfold(tail, |mut tail| async move {
            let line = tail.next().await?;
            Some((line, tail))
        })
        .boxed();
        Self { attempt, lines }
    }

    /// The attempt being read (1-based).
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The stream of lines, for adapters that want it boxed.
    pub fn into_stream(self) -> BoxStream<'static, Result<LogLine>> {
        self.lines
    }

    /// Only the lines the task wrote, without the server's own (`[aerie] attempt 1 started`),
    /// as the SDK's `filter_system=True` shows them.
    pub fn task_lines_only(self) -> Self {
        Self {
            attempt: self.attempt,
            lines: self
                .lines
                .filter(|line| {
                    let system = matches!(line, Ok(line) if is_system(line));
                    futures::future::ready(!system)
                })
                .boxed(),
        }
    }
}

/// Whether `line` was written by the server about the attempt rather than by the task.
pub fn is_system(line: &LogLine) -> bool {
    line.originator.as_known() == Some(LogLineOriginator::SYSTEM)
}

impl Stream for Logs {
    type Item = Result<LogLine>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.lines.poll_next_unpin(cx)
    }
}

/// The number of the attempt logs default to: the latest one, at least 1.
pub(crate) fn latest_attempt_number(details: &ActionDetails) -> u32 {
    details
        .latest_attempt()
        .map(|attempt| attempt.attempt)
        .filter(|&number| number > 0)
        .unwrap_or_else(|| details.attempts().max(1))
}

struct Tail {
    client: Client,
    action: ActionIdentifier,
    attempt: u32,
    follow: Follow,
    stream: Option<TailStream>,
    pending: VecDeque<LogLine>,
    not_found_retries: u32,
    received_any: bool,
    finished: bool,
}

impl Tail {
    async fn next(&mut self) -> Option<Result<LogLine>> {
        loop {
            if let Some(line) = self.pending.pop_front() {
                return Some(Ok(line));
            }
            if self.finished {
                return None;
            }
            match self.next_batch().await {
                Ok(Some(lines)) => {
                    self.received_any = true;
                    self.pending.extend(lines);
                }
                Ok(None) => self.finished = true,
                Err(err) if self.should_retry(&err) => {
                    self.stream = None;
                    self.not_found_retries += 1;
                    tokio::time::sleep(NOT_FOUND_RETRY_DELAY).await;
                }
                Err(err) => {
                    self.finished = true;
                    return Some(Err(err));
                }
            }
        }
    }

    /// An attempt that is not started yet, while following and before any line arrived.
    fn should_retry(&self, err: &Error) -> bool {
        self.follow == Follow::Yes
            && !self.received_any
            && err.is_not_found()
            && self.not_found_retries < NOT_FOUND_RETRIES
    }

    /// The lines of the next response; `None` when the stream (or, unfollowed, the backlog) ends.
    async fn next_batch(&mut self) -> Result<Option<Vec<LogLine>>> {
        let stream = match self.stream.take() {
            Some(stream) => stream,
            None => self.client.tail_logs(&self.action, self.attempt).await?,
        };
        let stream = self.stream.insert(stream);
        let message = match self.follow {
            Follow::Yes => stream.message().await,
            Follow::No => match tokio::time::timeout(BACKLOG_IDLE, stream.message()).await {
                Ok(message) => message,
                Err(_idle) => return Ok(None),
            },
        }
        .map_err(Error::rpc("tail logs of action", describe(&self.action)))?;
        Ok(message.map(|message| {
            message
                .to_owned_message()
                .logs
                .into_iter()
                .flat_map(|logs| logs.lines)
                .collect()
        }))
    }
}
