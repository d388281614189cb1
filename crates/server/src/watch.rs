//! Following a run's changes: the machinery behind every watch stream.
//!
//! A watcher subscribes to its run's committed changes first, then reads its starting point
//! from the store (an action row carries the sequence of its latest change), then follows the
//! changes after that sequence as the writer publishes them. A watcher that falls behind the
//! channel, or hears that another node committed a change, re-reads the event log from the last
//! sequence it saw, so it loses nothing;
//! an idle watcher costs nothing, and the stream's consumer applies backpressure.

use crate::error::ApiResult;
use crate::state::AppState;
use aerie_core::{ActionId, ActionState, RunId};
use aerie_store::{ActionEvent, ActionRecord, Change, Received, Subscription};
use futures::Stream;
use std::sync::Arc;

/// Events read per store round trip when catching up.
const EVENT_BATCH: u32 = 256;

/// One change of a run as a watcher sees it: the event, and the action as committed when the
/// change came live from the writer (`None` when it was re-read from the event log).
pub struct RunChange {
    pub event: ActionEvent,
    pub committed: Option<Arc<Change>>,
}

impl RunChange {
    /// The action to render this change with, given the watcher's own copy `known` of it:
    /// `None` when that copy already reflects the change (it was read after it), else the
    /// action as committed, the known copy, or (for an action first seen in a re-read event
    /// log) the action read from the store.
    pub async fn newer_record(
        &self,
        app: &AppState,
        run: &RunId,
        known: Option<&ActionRecord>,
    ) -> ApiResult<Option<ActionRecord>> {
        Ok(Some(match (known, &self.committed) {
            (Some(known), _) if self.event.seq <= known.seq => return Ok(None),
            (_, Some(committed)) => committed.record.clone(),
            (Some(known), None) => known.clone(),
            (None, None) => {
                let id = ActionId {
                    run: run.clone(),
                    name: self.event.action.clone(),
                };
                app.store.get_action(&id).await?
            }
        }))
    }
}

/// Every change of `run` after `after_seq`, in order, until shutdown. `changes` must have been
/// subscribed before `after_seq` was read, so nothing falls between the two.
pub fn follow_run(
    app: AppState,
    run: RunId,
    mut changes: Subscription,
    after_seq: i64,
) -> impl Stream<Item = ApiResult<RunChange>> + Send + 'static {
    async_stream::try_stream! {
        let mut last_seq = after_seq;
        loop {
            let received = tokio::select! {
                () = app.shutdown.cancelled() => break,
                received = changes.recv() => received,
            };
            // A run's sequence numbers have no gaps: a change past the next one means others
            // were committed before it elsewhere (another node) and have not been heard of
            // yet, so the event log is re-read, the new change included.
            let reread = match received {
                Received::Committed(change) if change.record.seq <= last_seq => continue,
                Received::Committed(change) if change.record.seq == last_seq + 1 => {
                    last_seq = change.record.seq;
                    yield RunChange { event: change.event(), committed: Some(change) };
                    false
                }
                Received::Committed(_) | Received::Reread => true,
                Received::Closed => break,
            };
            if reread {
                loop {
                    let events = app.store.events_after(&run, last_seq, EVENT_BATCH).await?;
                    let caught_up = events.len() < EVENT_BATCH as usize;
                    for event in events {
                        last_seq = event.seq;
                        yield RunChange { event, committed: None };
                    }
                    if caught_up {
                        break;
                    }
                }
            }
        }
    }
}

/// The states of one action: `record`'s state first, then every change in order, ending after
/// the first terminal state (or at shutdown). `changes` must have been subscribed before
/// `record` was read.
pub fn action_states(
    app: AppState,
    record: ActionRecord,
    changes: Subscription,
) -> impl Stream<Item = ApiResult<ActionState>> + Send + 'static {
    async_stream::try_stream! {
        let done = record.state.phase.is_terminal();
        let name = record.id.name.clone();
        let run = record.id.run.clone();
        let seq = record.seq;
        yield record.state;
        if !done {
            let followed = follow_run(app, run, changes, seq);
            futures::pin_mut!(followed);
            while let Some(change) = futures::StreamExt::next(&mut followed).await {
                let change = change?;
                if change.event.action != name {
                    continue;
                }
                let terminal = change.event.state.phase.is_terminal();
                yield change.event.state;
                if terminal {
                    break;
                }
            }
        }
    }
}
