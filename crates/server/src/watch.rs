//! Following the event log: the machinery behind every watch stream.
//!
//! A watcher subscribes to its run's wake-ups first, then reads its starting point from the
//! store, then repeatedly reads the events after the last sequence it sent. Wake-ups carry no
//! data, so a watcher that misses some or falls behind re-reads and loses nothing; the stream's
//! consumer applies backpressure, so nothing is buffered without bound either.

use crate::error::ApiResult;
use crate::state::AppState;
use aerie_core::{ActionState, RunId};
use aerie_store::{ActionEvent, ActionRecord, EventScope};
use futures::Stream;
use std::time::Duration;

/// Events read per store round trip.
const EVENT_BATCH: u32 = 256;
/// Re-read without a wake-up this often (changes made by another aerie process).
const FALLBACK_POLL: Duration = Duration::from_secs(2);

/// Waits for the next wake-up, the fallback poll, or shutdown; false means stop.
async fn wait_for_change(app: &AppState, wake: &mut tokio::sync::watch::Receiver<i64>) -> bool {
    tokio::select! {
        () = app.shutdown.cancelled() => false,
        changed = wake.changed() => changed.is_ok(),
        () = tokio::time::sleep(FALLBACK_POLL) => true,
    }
}

/// The states of one action: its current state first, then every change in order, ending
/// after the first terminal state (or at shutdown).
pub fn action_states(
    app: AppState,
    record: ActionRecord,
) -> impl Stream<Item = ApiResult<ActionState>> + Send + 'static {
    async_stream::try_stream! {
        let run = record.id.run.clone();
        let scope = EventScope::Action(record.id.name.clone());
        let mut wake = app.store.hub().subscribe_run(&run);
        let latest = app.store.latest_event(&run, &record.id.name).await?;
        let mut last_seq = latest.seq;
        let mut done = latest.state.phase.is_terminal();
        yield latest.state;
        while !done {
            let events = app.store.events_after(&run, &scope, last_seq, EVENT_BATCH).await?;
            let caught_up = events.len() < EVENT_BATCH as usize;
            for event in events {
                last_seq = event.seq;
                done = event.state.phase.is_terminal();
                yield event.state;
                if done {
                    break;
                }
            }
            if !done && caught_up && !wait_for_change(&app, &mut wake).await {
                break;
            }
        }
    }
}

/// Every change in `run` after sequence `after_seq`, in order, until shutdown or until
/// `is_finished` says the watcher has seen enough.
pub fn run_events(
    app: AppState,
    run: RunId,
    after_seq: i64,
    mut is_finished: impl FnMut(&ActionEvent) -> bool + Send + 'static,
) -> impl Stream<Item = ApiResult<ActionEvent>> + Send + 'static {
    async_stream::try_stream! {
        let mut wake = app.store.hub().subscribe_run(&run);
        let mut last_seq = after_seq;
        let mut done = false;
        while !done {
            let events = app.store.events_after(&run, &EventScope::Run, last_seq, EVENT_BATCH).await?;
            let caught_up = events.len() < EVENT_BATCH as usize;
            for event in events {
                last_seq = event.seq;
                done = is_finished(&event);
                yield event;
                if done {
                    break;
                }
            }
            if !done && caught_up && !wait_for_change(&app, &mut wake).await {
                break;
            }
        }
    }
}
