//! The task cache's tables on both backends: an entry is stored only with the success that made
//! it, lookups follow scope and age, a newer entry replaces an older one, clearing is by task,
//! and a run reads another run's data only once granted.

#[macro_use]
mod common;
use aerie_core::{
    ActionId, ActionName, ActionPhase, CacheSource, CacheStatus, Org, Timestamp, TransitionError,
};
use aerie_store::{CacheEntry, CacheScope, CacheSelection, NewRun, Store};
use common::{new_action, run_id, with_postgres, with_sqlite};

fn new_run(name: &str) -> NewRun {
    NewRun {
        id: run_id(name),
        org: Org::default(),
        created_by: "tester".into(),
        run_spec: Vec::new(),
        labels: Vec::new(),
        trigger: None,
        fire: None,
        root: new_action("a0", None),
    }
}

fn entry(run: &str, key: &str, project: &str, created_at: Timestamp) -> CacheEntry {
    CacheEntry {
        key: key.into(),
        project: project.parse().unwrap(),
        domain: "development".parse().unwrap(),
        task_name: "env.square".into(),
        version: "v1".into(),
        outputs_prefix: format!("file:///out/{run}/a0/1"),
        source: CacheSource {
            action: ActionId {
                run: run_id(run),
                name: ActionName::root(),
            },
            attempt: 1,
        },
        created_at,
    }
}

/// Runs the root of a new run to its end with `status` as its cache outcome, `succeed` deciding
/// how it ends, storing `entry` if the write leaves it SUCCEEDED and POPULATED.
async fn finish_root(store: &Store, run: &str, succeed: bool, entry: CacheEntry) {
    let created = store.create_run(new_run(run)).await.unwrap();
    let held = store
        .update_action(&created.root, |state| state.looked_up(CacheStatus::Miss))
        .await
        .unwrap();
    store
        .update_action_storing(
            &held,
            move |state| {
                let now = Timestamp::now();
                state.advance(ActionPhase::Running, now)?;
                if succeed {
                    state.succeed(now)?;
                    state.cache_status = CacheStatus::Populated;
                    Ok(())
                } else {
                    state.time_out(
                        aerie_core::spec::timeout_error(std::time::Duration::ZERO),
                        now,
                    )
                }
            },
            entry,
        )
        .await
        .unwrap();
}

async fn lookup(store: &Store, key: &str, scope: CacheScope) -> Option<CacheEntry> {
    let project = "flytesnacks".parse().unwrap();
    let domain = "development".parse().unwrap();
    store
        .cache_lookup(key, scope, (&project, &domain), None)
        .await
        .unwrap()
}

async fn an_entry_is_stored_only_with_the_success_that_made_it(store: Store) {
    let now = Timestamp::now();
    finish_root(
        &store,
        "failed",
        false,
        entry("failed", "k-fail", "flytesnacks", now),
    )
    .await;
    assert_eq!(lookup(&store, "k-fail", CacheScope::Global).await, None);

    finish_root(
        &store,
        "made",
        true,
        entry("made", "k1", "flytesnacks", now),
    )
    .await;
    let found = lookup(&store, "k1", CacheScope::Global).await.unwrap();
    assert_eq!(found.source.action.run, run_id("made"));

    // A change the rules refuse stores nothing either.
    let root = store
        .get_action(&ActionId {
            run: run_id("made"),
            name: ActionName::root(),
        })
        .await
        .unwrap();
    let refused = store
        .update_action_storing(
            &root,
            |_| Err(TransitionError::AlreadyTerminal(ActionPhase::Succeeded)),
            entry("made", "k-refused", "flytesnacks", now),
        )
        .await;
    assert!(refused.is_err());
    assert_eq!(lookup(&store, "k-refused", CacheScope::Global).await, None);
}

async fn lookups_follow_scope_and_age_and_the_newest_entry_wins(store: Store) {
    let earlier = Timestamp::from_micros(Timestamp::now().as_micros() - 60_000_000);
    finish_root(
        &store,
        "elsewhere",
        true,
        entry("elsewhere", "k", "other", earlier),
    )
    .await;
    assert_eq!(lookup(&store, "k", CacheScope::ProjectDomain).await, None);
    let global = lookup(&store, "k", CacheScope::Global).await.unwrap();
    assert_eq!(global.project.as_str(), "other");

    let project = "flytesnacks".parse().unwrap();
    let domain = "development".parse().unwrap();
    let too_old = store
        .cache_lookup(
            "k",
            CacheScope::Global,
            (&project, &domain),
            Some(Timestamp::now()),
        )
        .await
        .unwrap();
    assert_eq!(too_old, None, "an entry older than max_age is not reused");

    finish_root(
        &store,
        "here",
        true,
        entry("here", "k", "flytesnacks", Timestamp::now()),
    )
    .await;
    finish_root(
        &store,
        "again",
        true,
        entry("again", "k", "flytesnacks", Timestamp::now()),
    )
    .await;
    let replaced = lookup(&store, "k", CacheScope::ProjectDomain)
        .await
        .unwrap();
    assert_eq!(
        replaced.source.action.run,
        run_id("again"),
        "the newer entry replaced the older"
    );
    let global = lookup(&store, "k", CacheScope::Global).await.unwrap();
    assert_eq!(
        global.source.action.run,
        run_id("again"),
        "global takes the newest"
    );
}

async fn clearing_takes_one_task_or_all(store: Store) {
    let now = Timestamp::now();
    finish_root(&store, "r1", true, entry("r1", "k1", "flytesnacks", now)).await;
    let mut other_task = entry("r2", "k2", "flytesnacks", now);
    other_task.task_name = "env.cube".into();
    finish_root(&store, "r2", true, other_task).await;

    let square = CacheSelection {
        task_name: Some("env.square".into()),
    };
    let (listed, more) = store.list_cache(&square, 0, 10).await.unwrap();
    assert_eq!((listed.len(), more), (1, false));
    assert_eq!(store.clear_cache(square).await.unwrap(), 1);
    assert_eq!(lookup(&store, "k1", CacheScope::Global).await, None);
    assert!(lookup(&store, "k2", CacheScope::Global).await.is_some());
    assert_eq!(
        store.clear_cache(CacheSelection::default()).await.unwrap(),
        1
    );
    let (left, _) = store
        .list_cache(&CacheSelection::default(), 0, 10)
        .await
        .unwrap();
    assert!(left.is_empty());
}

async fn a_run_reads_another_runs_data_only_once_granted(store: Store) {
    let (reader, source) = (run_id("reader"), run_id("source"));
    assert!(!store.may_read(&reader, &source).await.unwrap());
    store.grant_read(&reader, &source).await.unwrap();
    store.grant_read(&reader, &source).await.unwrap();
    assert!(store.may_read(&reader, &source).await.unwrap());
    assert!(
        !store.may_read(&source, &reader).await.unwrap(),
        "a grant is one way"
    );
}

both_backends!(
    an_entry_is_stored_only_with_the_success_that_made_it,
    lookups_follow_scope_and_age_and_the_newest_entry_wins,
    clearing_takes_one_task_or_all,
    a_run_reads_another_runs_data_only_once_granted,
);
