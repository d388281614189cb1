//! RunService/WatchActionDetails as a stream of [`ActionDetails`] that ends on the terminal one.
//!
//! The rules are the SDK's (contract §7):
//! - the server sends the current details at once, then every change, and closes after the
//!   first terminal message; the stream here ends right after yielding it;
//! - a clean close before that is re-subscribed after [`RESUBSCRIBE_DELAY`], without limit;
//! - a transient failure ([`is_transient`]) reconnects after 0.5·2^(n−1) s (at most 10 s), and
//!   the [`MAX_CONSECUTIVE_FAILURES`]th failure in a row is yielded as the last item; any
//!   message resets the count;
//! - any other failure (`not_found` included) is yielded at once and ends the stream.

use crate::action_details::ActionDetails;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::rpc::{WatchStream, describe};
use crate::summary::ActionSummary;
use aerie_wire::flyteidl2::common::ActionIdentifier;
use connectrpc::ErrorCode;
use futures::stream::{self, BoxStream, StreamExt};
use std::time::Duration;

/// Wait before re-opening a watch the server closed while the action still ran.
pub const RESUBSCRIBE_DELAY: Duration = Duration::from_millis(500);
/// Wait after the first transient failure; doubles with each further one.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// Longest wait between reconnects.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// Transient failures in a row after which the watch gives up.
pub const MAX_CONSECUTIVE_FAILURES: u32 = 5;

/// Whether a failed watch may succeed if opened again: the server was unreachable or restarting,
/// the call timed out or was cancelled, or the connection broke mid-stream (which the Connect
/// client reports as `internal`).
pub fn is_transient(err: &Error) -> bool {
    matches!(
        err.code(),
        Some(
            ErrorCode::Unavailable
                | ErrorCode::DeadlineExceeded
                | ErrorCode::Canceled
                | ErrorCode::Internal
        )
    )
}

/// How long to wait before reconnecting after the `consecutive_failures`th failure in a row,
/// or `None` when the watch should give up and report `err`.
pub fn retry_delay(err: &Error, consecutive_failures: u32) -> Option<Duration> {
    let give_up = !is_transient(err) || consecutive_failures >= MAX_CONSECUTIVE_FAILURES;
    (!give_up).then(|| backoff(consecutive_failures))
}

/// 0.5·2^(n−1) s for the `n`th failure in a row, capped at [`MAX_BACKOFF`].
pub fn backoff(consecutive_failures: u32) -> Duration {
    let doublings = consecutive_failures.saturating_sub(1).min(16);
    (FIRST_BACKOFF * 2u32.pow(doublings)).min(MAX_BACKOFF)
}

/// Watches `action` (sent verbatim) until it is terminal.
pub(crate) fn watch_action(
    client: Client,
    action: ActionIdentifier,
) -> BoxStream<'static, Result<ActionDetails>> {
    let watcher = Watcher {
        client,
        action,
        stream: None,
        consecutive_failures: 0,
        finished: false,
    };
    stream::unfold(watcher, |mut watcher| async move {
        let item = watcher.next().await?;
        Some((item, watcher))
    })
    .boxed()
}

/// Consumes a watch and returns its last update: the terminal details, unless it failed.
pub(crate) async fn last_update(
    mut updates: BoxStream<'_, Result<ActionDetails>>,
    action: &aerie_core::ActionId,
) -> Result<ActionDetails> {
    let mut last = None;
    while let Some(update) = updates.next().await {
        last = Some(update?);
    }
    last.ok_or_else(|| Error::NoUpdates {
        action: action.clone(),
    })
}

struct Watcher {
    client: Client,
    action: ActionIdentifier,
    stream: Option<WatchStream>,
    consecutive_failures: u32,
    finished: bool,
}

impl Watcher {
    /// The next update, or the error that ends the watch; `None` once it is over.
    async fn next(&mut self) -> Option<Result<ActionDetails>> {
        while !self.finished {
            match self.next_message().await {
                Ok(Some(details)) => {
                    self.consecutive_failures = 0;
                    self.finished = details.done();
                    return Some(Ok(details));
                }
                Ok(None) => {
                    self.stream = None;
                    tokio::time::sleep(RESUBSCRIBE_DELAY).await;
                }
                Err(err) => {
                    self.stream = None;
                    self.consecutive_failures += 1;
                    match retry_delay(&err, self.consecutive_failures) {
                        Some(delay) => tokio::time::sleep(delay).await,
                        None => {
                            self.finished = true;
                            return Some(Err(err));
                        }
                    }
                }
            }
        }
        None
    }

    /// Opens the stream if needed and reads one message; `Ok(None)` on a clean close.
    async fn next_message(&mut self) -> Result<Option<ActionDetails>> {
        let stream = match self.stream.take() {
            Some(stream) => stream,
            None => self.client.watch_action_details(&self.action).await?,
        };
        let stream = self.stream.insert(stream);
        let Some(message) = stream
            .message()
            .await
            .map_err(Error::rpc("watch action", describe(&self.action)))?
        else {
            return Ok(None);
        };
        let details = message
            .to_owned_message()
            .details
            .into_option()
            .ok_or_else(|| Error::malformed("WatchActionDetails response", "no details"))?;
        ActionDetails::from_wire(details).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use connectrpc::ConnectError;

    fn failure(code: ErrorCode) -> Error {
        Error::rpc("watch action", "p/d/r/a0")(ConnectError::new(code, "boom"))
    }

    #[test]
    fn unavailable_timeouts_cancels_and_broken_streams_are_transient() {
        for code in [
            ErrorCode::Unavailable,
            ErrorCode::DeadlineExceeded,
            ErrorCode::Canceled,
            ErrorCode::Internal,
        ] {
            assert!(is_transient(&failure(code)), "{code:?}");
        }
    }

    #[test]
    fn not_found_and_other_codes_end_the_watch_at_once() {
        for code in [
            ErrorCode::NotFound,
            ErrorCode::InvalidArgument,
            ErrorCode::PermissionDenied,
            ErrorCode::Unknown,
        ] {
            assert_eq!(retry_delay(&failure(code), 1), None, "{code:?}");
        }
        assert_eq!(
            retry_delay(
                &Error::malformed("WatchActionDetails response", "no details"),
                1
            ),
            None
        );
    }

    #[test]
    fn backoff_doubles_from_half_a_second_and_gives_up_at_the_fifth_failure() {
        let delays: Vec<_> = (1..=MAX_CONSECUTIVE_FAILURES)
            .map(|n| retry_delay(&failure(ErrorCode::Unavailable), n))
            .collect();
        assert_eq!(
            delays,
            [
                Some(Duration::from_millis(500)),
                Some(Duration::from_secs(1)),
                Some(Duration::from_secs(2)),
                Some(Duration::from_secs(4)),
                None,
            ]
        );
    }

    #[test]
    fn backoff_is_capped_at_ten_seconds() {
        assert_eq!(backoff(5), Duration::from_secs(8));
        assert_eq!(backoff(6), MAX_BACKOFF);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }
}
