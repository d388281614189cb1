//! Housekeeping while aerie serves: the event log of finished runs is pruned once no watcher
//! can need it (the rule is in `aerie_store::events`).

use aerie_core::Timestamp;
use aerie_store::Store;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long a finished run keeps its events, so a watcher that is behind can still catch up.
pub const EVENT_RETENTION: Duration = Duration::from_secs(300);
/// How often finished runs are looked for.
const PRUNE_INTERVAL: Duration = Duration::from_secs(30);

/// Prunes events every [`PRUNE_INTERVAL`] until `stop` is cancelled.
pub async fn prune_events(store: Store, stop: CancellationToken) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(PRUNE_INTERVAL) => {}
        }
        let retention = i64::try_from(EVENT_RETENTION.as_micros()).unwrap_or(i64::MAX);
        let cutoff = Timestamp::from_micros(Timestamp::now().as_micros() - retention);
        match store.prune_events(cutoff).await {
            Ok(0) => {}
            Ok(deleted) => tracing::debug!(deleted, "pruned the events of finished runs"),
            Err(err) => tracing::warn!(error = %err, "pruning events failed"),
        }
    }
}
