//! The RunService's long-lived streams over the event log: `WatchActions` (a run's actions) and
//! `WatchRuns` (a project's runs). Nothing is lost: a stream that falls behind re-reads.
//! A `WatchActions` snapshot gives each parent its children's counts by phase.

use crate::convert::details;
use crate::error::ApiResult;
use crate::state::AppState;
use crate::watch;
use aerie_core::{ActionName, ActionPhase, ActionState, Domain, Project, RunId, Timestamp};
use aerie_store::{ActionRecord, Change, FilterValue, Received};
use aerie_wire::flyteidl2::workflow::{EnrichedAction, WatchActionsResponse, WatchRunsResponse};
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::Arc;

/// Actions in the first snapshot message: few, so a reader can show a large run at once; the
/// rest follow in pages of the most a page may hold.
const FIRST_SNAPSHOT_PAGE: u32 = 100;

/// `WatchActions`: every action of the run, then each change, until every action is done.
pub fn actions(
    app: AppState,
    run_id: RunId,
) -> impl futures::Stream<Item = ApiResult<WatchActionsResponse>> + Send + 'static {
    async_stream::try_stream! {
        let changes = app.store.hub().subscribe_run(&run_id);
        // Changes after `start_seq` are followed below; a listed row that already reflects
        // one is newer than it, so that change is skipped.
        let start_seq = app.store.last_seq(&run_id).await?;
        let mut records: HashMap<ActionName, ActionRecord> = HashMap::new();
        // Each parent's children by phase, on the parent in the snapshot, so a reader knows
        // the shape of a large run from the first page.
        let mut child_counts: HashMap<ActionName, HashMap<i32, i32>> = HashMap::new();
        for (parent, phase, count) in app.store.child_phase_counts(&run_id).await? {
            child_counts.entry(parent).or_default().insert(phase.as_i32(), i32::try_from(count).unwrap_or(i32::MAX));
        }
        let mut query = aerie_store::ListQuery { descending: false, limit: FIRST_SNAPSHOT_PAGE, ..Default::default() };
        loop {
            let page = app.store.list_actions(&run_id, &query).await?;
            let enriched = page.items.iter().map(|record| {
                let mut action = enriched(record, &record.state);
                if let Some(counts) = child_counts.remove(&record.id.name) {
                    action.children_phase_counts = counts.into_iter().collect();
                }
                action
            }).collect();
            for record in page.items {
                records.insert(record.id.name.clone(), record);
            }
            yield WatchActionsResponse { enriched_actions: enriched, ..Default::default() };
            match page.next_token {
                Some(token) => query.token = token,
                None => break,
            }
            query.limit = aerie_store::query::MAX_PAGE_SIZE;
        }
        let mut phases: HashMap<ActionName, ActionPhase> =
            records.iter().map(|(name, record)| (name.clone(), record.state.phase)).collect();
        let mut unfinished = phases.values().filter(|phase| !phase.is_terminal()).count();
        if unfinished == 0 {
            return;
        }
        let followed = watch::follow_run(app.clone(), run_id.clone(), changes, start_seq);
        futures::pin_mut!(followed);
        while let Some(change) = followed.next().await {
            let change = change?;
            let event = &change.event;
            let Some(record) = change.newer_record(&app, &run_id, records.get(&event.action)).await? else {
                continue;
            };
            let was_open = phases
                .insert(event.action.clone(), event.state.phase)
                .is_some_and(|phase| !phase.is_terminal());
            let now_open = !event.state.phase.is_terminal();
            unfinished = unfinished + usize::from(now_open) - usize::from(was_open);
            yield WatchActionsResponse {
                enriched_actions: vec![enriched(&record, &event.state)],
                ..Default::default()
            };
            records.insert(event.action.clone(), ActionRecord { seq: event.seq, ..record });
            if unfinished == 0 {
                break;
            }
        }
    }
}

fn enriched(record: &ActionRecord, state: &ActionState) -> EnrichedAction {
    EnrichedAction {
        action: details::action(record, state).into(),
        meets_filter: true,
        ..Default::default()
    }
}

/// How far before the last listing a relist looks back.
const RELIST_MARGIN: std::time::Duration = std::time::Duration::from_secs(2);

/// `WatchRuns`: the runs of `project` (and `domain`), then every change to one, relisting what
/// changed when the stream fell behind the live changes, or another node committed one.
pub fn runs(
    app: AppState,
    project: Project,
    domain: Option<Domain>,
) -> impl futures::Stream<Item = ApiResult<WatchRunsResponse>> + Send + 'static {
    async_stream::try_stream! {
        let mut changes = app.store.hub().subscribe_project(&project);
        let mut since: Option<Timestamp> = None;
        'relist: loop {
            // The first page, and after falling behind the live changes, what changed since.
            let mut query = aerie_store::ListQuery::default();
            if let Some(since) = since {
                query.filters.push(aerie_store::Filter {
                    field: aerie_store::FilterField::UpdatedAt,
                    op: aerie_store::FilterOp::GreaterThanOrEqual,
                    values: vec![FilterValue::Time(since)],
                });
            }
            let checked_at = Timestamp::now();
            let page = app.store.list_runs(&project, domain.as_ref(), &query).await?;
            if since.is_none() || !page.items.is_empty() {
                yield WatchRunsResponse {
                    runs: page.items.iter().map(|item| details::run(&item.run, &item.root)).collect(),
                    ..Default::default()
                };
            }
            // Live changes do not move `since`: one committed on another node before a live one
            // here may only be heard of later, and must still be relisted then. The margin
            // covers clocks of nodes sharing a database that are slightly apart.
            since = Some(Timestamp::from_micros(
                checked_at.as_micros() - RELIST_MARGIN.as_micros() as i64,
            ));
            loop {
                let first = tokio::select! {
                    () = app.shutdown.cancelled() => break 'relist,
                    received = changes.recv() => received,
                };
                let mut batch: Vec<Arc<Change>> = Vec::new();
                match first {
                    Received::Committed(change) => batch.push(change),
                    Received::Reread => continue 'relist,
                    Received::Closed => break 'relist,
                }
                // Whatever else is already here goes out in the same message, latest per run.
                while let Some(next) = changes.try_recv() {
                    match next {
                        Received::Committed(change) => batch.push(change),
                        Received::Reread => continue 'relist,
                        Received::Closed => break 'relist,
                    }
                }
                let mut latest: HashMap<RunId, Arc<Change>> = HashMap::new();
                for change in batch {
                    let in_scope = domain.as_ref().is_none_or(|domain| change.record.id.run.domain == *domain);
                    if in_scope {
                        latest.insert(change.record.id.run.clone(), change);
                    }
                }
                if latest.is_empty() {
                    continue;
                }
                yield WatchRunsResponse {
                    runs: latest
                        .values()
                        .filter_map(|change| change.run.as_ref().map(|run| details::run(run, &change.record)))
                        .collect(),
                    ..Default::default()
                };
            }
        }
    }
}
