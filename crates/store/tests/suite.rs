//! One store suite for runs, actions, events, API keys and deployed tasks, run against SQLite
//! and PostgreSQL (see `common`).

use aerie_core::{
    ActionId, ActionKind, ActionName, ActionPhase, ActionState, ErrorInfo, ErrorKind, Org, Role,
    Timestamp, TransitionError, state::Retry,
};
use aerie_store::{
    ActionRecord, Backend, Deployed, Filter, FilterField, FilterOp, FilterValue, ListQuery,
    NewApiKey, NewRun, NewTaskVersion, Store, StoreError, TaskQuery, TaskVersionId,
    TaskVersionRecord,
};

#[macro_use]
mod common;
use common::{with_postgres, with_sqlite};

use common::{create, new_action, run_id, task_spec};

/// Reads the action and applies `change` to what was read (the engine's way of writing).
async fn change<F>(store: &Store, id: &ActionId, change: F) -> Result<ActionRecord, StoreError>
where
    F: Fn(&mut ActionState) -> Result<(), TransitionError> + Send + Sync + 'static,
{
    let held = store.get_action(id).await?;
    store.update_action(&held, change).await
}

fn failure() -> ErrorInfo {
    ErrorInfo {
        message: "boom".into(),
        kind: ErrorKind::User,
        code: "ValueError".into(),
        recoverable: true,
    }
}

/// A new run's root is stored QUEUED with its typed and wire specs, and the run keeps its spec
/// and creator.
async fn created_run_reads_back_queued(store: Store) {
    let root = create(&store, "r1").await;
    let (action, wire_spec) = store.get_action_with_wire_spec(&root).await.unwrap();
    assert_eq!(action.phase(), ActionPhase::Queued);
    assert_eq!(*action.spec, task_spec());
    assert_eq!(*wire_spec, [1, 2, 3]);
    assert_eq!(action.version, 1);
    assert_eq!(action.seq, 1);
    let run = store.get_run(&root.run).await.unwrap();
    assert_eq!(run.run_spec, [9]);
    assert_eq!(run.created_by, "tester");
}

/// Creating a run whose name is taken is refused and leaves the first run as it was.
async fn duplicate_run_is_refused(store: Store) {
    let root = create(&store, "r1").await;
    change(&store, &root, |s| {
        s.advance(ActionPhase::Running, Timestamp::now())
    })
    .await
    .unwrap();
    let again = store
        .create_run(NewRun {
            id: run_id("r1"),
            org: Org::parse("").unwrap(),
            created_by: String::new(),
            run_spec: vec![],
            labels: Vec::new(),
            trigger: None,
            fire: None,
            root: new_action("a0", None),
        })
        .await;
    assert!(matches!(again, Err(StoreError::RunAlreadyExists(_))));
    assert_eq!(
        store.get_action(&root).await.unwrap().phase(),
        ActionPhase::Running
    );
}

/// Unknown runs and actions are NotFound errors.
async fn unknown_ids_are_not_found(store: Store) {
    assert!(matches!(
        store.get_run(&run_id("nope")).await,
        Err(StoreError::RunNotFound(_))
    ));
    assert!(matches!(
        store.get_action(&ActionId::root_of(run_id("nope"))).await,
        Err(StoreError::ActionNotFound(_))
    ));
    assert!(matches!(
        change(&store, &ActionId::root_of(run_id("nope")), |_| Ok(())).await,
        Err(StoreError::ActionNotFound(_))
    ));
    assert!(matches!(
        store
            .insert_action(&run_id("nope"), new_action("c1", Some("a0")))
            .await,
        Err(StoreError::RunNotFound(_))
    ));
}

/// Each change appends exactly one event, with sequences increasing by one.
async fn every_change_appends_one_event(store: Store) {
    let root = create(&store, "r1").await;
    change(&store, &root, |s| {
        s.advance(ActionPhase::Initializing, Timestamp::now())
    })
    .await
    .unwrap();
    change(&store, &root, |s| {
        s.advance(ActionPhase::Running, Timestamp::now())
    })
    .await
    .unwrap();
    change(&store, &root, |s| s.succeed(Timestamp::now()))
        .await
        .unwrap();
    let events = store.events_after(&root.run, 0, 100).await.unwrap();
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    let phases: Vec<ActionPhase> = events.iter().map(|e| e.state.phase).collect();
    assert_eq!(seqs, [1, 2, 3, 4]);
    use ActionPhase::*;
    assert_eq!(phases, [Queued, Initializing, Running, Succeeded]);
    let later = store.events_after(&root.run, 2, 100).await.unwrap();
    assert_eq!(later.len(), 2);
    assert_eq!(store.last_seq(&root.run).await.unwrap(), 4);
}

/// A change the phase rules refuse writes nothing: same record, no event.
async fn refused_change_writes_nothing(store: Store) {
    let root = create(&store, "r1").await;
    change(&store, &root, |s| s.succeed(Timestamp::now()))
        .await
        .unwrap();
    let refused = change(&store, &root, |s| {
        s.advance(ActionPhase::Running, Timestamp::now())
    })
    .await;
    assert!(matches!(refused, Err(StoreError::Transition { .. })));
    let action = store.get_action(&root).await.unwrap();
    assert_eq!(action.phase(), ActionPhase::Succeeded);
    assert_eq!(action.version, 2);
    assert_eq!(store.last_seq(&root.run).await.unwrap(), 2);
}

/// Concurrent writers holding the same, soon stale, record never lose each other's changes.
async fn concurrent_changes_are_all_kept(store: Store) {
    let root = create(&store, "r1").await;
    let held = store.get_action(&root).await.unwrap();
    let writers: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            let held = held.clone();
            tokio::spawn(async move {
                store
                    .update_action(&held, |s| {
                        s.fail(failure(), Retry::NewAttempt, Timestamp::now())
                    })
                    .await
                    .unwrap();
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let action = store.get_action(&root).await.unwrap();
    assert_eq!(action.state.attempts.len(), 9);
    assert_eq!(action.version, 9);
    let events = store.events_after(&root.run, 0, 100).await.unwrap();
    assert_eq!(events.len(), 9);
    assert!(events.windows(2).all(|w| w[1].seq == w[0].seq + 1));
}

/// Children are listed and watched by parent; a child name can be used once per run.
async fn children_are_scoped_by_parent(store: Store) {
    let root = create(&store, "r1").await;
    store
        .insert_action(&root.run, new_action("c1", Some("a0")))
        .await
        .unwrap();
    store
        .insert_action(&root.run, new_action("c2", Some("a0")))
        .await
        .unwrap();
    let again = store
        .insert_action(&root.run, new_action("c1", Some("a0")))
        .await;
    assert!(matches!(again, Err(StoreError::ActionAlreadyExists(_))));
    let children = store.children(&root).await.unwrap();
    let names: Vec<&str> = children.iter().map(|c| c.id.name.as_str()).collect();
    assert_eq!(names, ["c1", "c2"]);
    assert!(
        children
            .iter()
            .all(|c| c.parent == Some(ActionName::root()))
    );
    let listed = store
        .list_actions(&root.run, &ListQuery::default())
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 3);
}

/// Run lists filter on the root's phase and page with a token that is empty at the end.
async fn run_lists_filter_and_page(store: Store) {
    for name in ["r1", "r2", "r3"] {
        create(&store, name).await;
    }
    change(&store, &ActionId::root_of(run_id("r2")), |s| {
        s.fail(failure(), Retry::GiveUp, Timestamp::now())
    })
    .await
    .unwrap();
    let project = "flytesnacks".parse().unwrap();
    let failed = store
        .list_runs(
            &project,
            None,
            &ListQuery {
                filters: vec![Filter {
                    field: FilterField::Phase,
                    op: FilterOp::Equal,
                    values: vec![FilterValue::Phase(ActionPhase::Failed)],
                }],
                ..ListQuery::default()
            },
        )
        .await
        .unwrap();
    let names: Vec<&str> = failed
        .items
        .iter()
        .map(|r| r.run.id.name.as_str())
        .collect();
    assert_eq!(names, ["r2"]);
    let first = store
        .list_runs(
            &project,
            None,
            &ListQuery {
                limit: 2,
                descending: false,
                ..ListQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(first.items.len(), 2);
    let token = first.next_token.expect("a second page");
    let second = store
        .list_runs(
            &project,
            None,
            &ListQuery {
                limit: 2,
                descending: false,
                token,
                ..ListQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(second.items.len(), 1);
    assert_eq!(second.next_token, None);
    let mut all: Vec<String> = first
        .items
        .iter()
        .chain(&second.items)
        .map(|r| r.run.id.name.to_string())
        .collect();
    all.sort();
    assert_eq!(all, ["r1", "r2", "r3"]);
}

/// The scheduler's query finds queued tasks and nothing else.
async fn queued_tasks_are_found_by_phase(store: Store) {
    let r1 = create(&store, "r1").await;
    create(&store, "r2").await;
    change(&store, &r1, |s| {
        s.advance(ActionPhase::Running, Timestamp::now())
    })
    .await
    .unwrap();
    let queued = store
        .actions_in_phases(ActionKind::Task, &[ActionPhase::Queued], 10, 0)
        .await
        .unwrap();
    let names: Vec<String> = queued.iter().map(|a| a.id.run.name.to_string()).collect();
    assert_eq!(names, ["r2"]);
}

/// A watcher subscribed to a run receives each committed change of it, in order, with data.
async fn commits_reach_run_watchers_in_order(store: Store) {
    let root = create(&store, "r1").await;
    let mut changes = store.hub().subscribe_run(&root.run);
    change(&store, &root, |s| {
        s.advance(ActionPhase::Running, Timestamp::now())
    })
    .await
    .unwrap();
    change(&store, &root, |s| s.succeed(Timestamp::now()))
        .await
        .unwrap();
    for (seq, phase) in [(2, ActionPhase::Running), (3, ActionPhase::Succeeded)] {
        let aerie_store::Received::Committed(change) =
            tokio::time::timeout(std::time::Duration::from_secs(5), changes.recv())
                .await
                .expect("delivered")
        else {
            panic!("a change committed on this node arrives with its data");
        };
        assert_eq!(change.record.seq, seq);
        assert_eq!(change.record.state.phase, phase);
        let run = change.run.as_ref().expect("root changes carry their run");
        assert_eq!(run.created_by, "tester");
    }
}

/// Many writes arriving together are all committed and readable, each with its own sequence;
/// a refused one among them fails alone.
async fn writes_arriving_together_all_commit(store: Store) {
    let root = create(&store, "r1").await;
    let inserts: Vec<_> = (0..200)
        .map(|index| {
            let store = store.clone();
            let run = root.run.clone();
            // Every tenth is a duplicate of the previous name, so it must be refused.
            let name = format!("c{}", index - index % 10 / 9);
            tokio::spawn(async move {
                store
                    .insert_action(&run, new_action(&name, Some("a0")))
                    .await
            })
        })
        .collect();
    let mut refused = 0;
    for insert in inserts {
        match insert.await.unwrap() {
            Ok(_) => {}
            Err(StoreError::ActionAlreadyExists(_)) => refused += 1,
            Err(other) => panic!("unexpected {other}"),
        }
    }
    assert_eq!(refused, 20);
    let children = store.children(&root).await.unwrap();
    assert_eq!(children.len(), 180);
    assert_eq!(store.last_seq(&root.run).await.unwrap(), 181);
    let mut seqs: Vec<i64> = children.iter().map(|child| child.seq).collect();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), 180, "every child has its own sequence");
}

/// The purpose-built queries find unfinished children and unfinished actions of a run.
async fn unfinished_work_is_found_by_purpose_built_queries(store: Store) {
    let root = create(&store, "r1").await;
    for name in ["c1", "c2"] {
        store
            .insert_action(&root.run, new_action(name, Some("a0")))
            .await
            .unwrap();
    }
    let c1 = ActionId {
        run: root.run.clone(),
        name: "c1".parse().unwrap(),
    };
    change(&store, &c1, |s| s.succeed(Timestamp::now()))
        .await
        .unwrap();
    let open: Vec<String> = store
        .unfinished_children(&root)
        .await
        .unwrap()
        .iter()
        .map(|a| a.id.name.to_string())
        .collect();
    assert_eq!(open, ["c2"]);
    let mut unfinished: Vec<String> = store
        .unfinished_actions(&root.run)
        .await
        .unwrap()
        .iter()
        .map(|a| a.id.name.to_string())
        .collect();
    unfinished.sort();
    assert_eq!(unfinished, ["a0", "c2"]);
    assert_eq!(
        store.parents_of_unfinished().await.unwrap(),
        std::slice::from_ref(&root)
    );
}

/// Events of a finished run are pruned after the grace; the action rows keep the final state.
async fn events_of_finished_runs_are_pruned_and_rows_stay(store: Store) {
    let done = create(&store, "r1").await;
    let running = create(&store, "r2").await;
    change(&store, &done, |s| s.succeed(Timestamp::now()))
        .await
        .unwrap();
    change(&store, &running, |s| {
        s.advance(ActionPhase::Running, Timestamp::now())
    })
    .await
    .unwrap();
    let before_end = Timestamp::from_micros(Timestamp::now().as_micros() - 60_000_000);
    assert_eq!(
        store.prune_events(before_end).await.unwrap(),
        0,
        "within the grace"
    );
    let deleted = store
        .prune_events(Timestamp::from_micros(Timestamp::now().as_micros() + 1))
        .await
        .unwrap();
    assert_eq!(deleted, 2);
    let gone = store.events_after(&done.run, 0, 10).await.unwrap();
    assert!(gone.is_empty());
    let kept = store.events_after(&running.run, 0, 10).await.unwrap();
    assert_eq!(kept.len(), 2, "an unfinished run keeps its events");
    let record = store.get_action(&done).await.unwrap();
    assert_eq!(record.phase(), ActionPhase::Succeeded);
    assert_eq!(record.seq, 2);
}

/// API keys: a name is unique among active keys, revoking frees it, lookups see revocation.
async fn api_keys_are_made_listed_and_revoked(store: Store) {
    let new = |client_id: &str, role| NewApiKey {
        client_id: client_id.to_owned(),
        name: "ci".to_owned(),
        role,
        secret_hash: format!("hash-of-{client_id}"),
    };
    let first = store.create_api_key(new("c1", Role::Admin)).await.unwrap();
    assert_eq!(first.revoked_at, None);
    assert!(matches!(
        store.create_api_key(new("c2", Role::ReadOnly)).await,
        Err(StoreError::ApiKeyExists(name)) if name == "ci"
    ));
    assert!(store.revoke_api_key("ci").await.unwrap());
    assert!(
        !store.revoke_api_key("ci").await.unwrap(),
        "already revoked"
    );
    let second = store
        .create_api_key(new("c2", Role::ReadOnly))
        .await
        .unwrap();
    let revoked = store.api_key("c1").await.unwrap().unwrap();
    assert!(revoked.revoked_at.is_some());
    assert_eq!(revoked.secret_hash, "hash-of-c1");
    assert_eq!(store.api_key("c2").await.unwrap(), Some(second));
    assert_eq!(store.api_key("nobody").await.unwrap(), None);
    let listed: Vec<(String, Role, bool)> = store
        .list_api_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|key| (key.client_id, key.role, key.revoked_at.is_some()))
        .collect();
    assert_eq!(
        listed,
        [
            ("c1".to_owned(), Role::Admin, true),
            ("c2".to_owned(), Role::ReadOnly, false)
        ]
    );
}

/// Deployed task versions: stored once, the same spec again is fine, a different one is refused
/// and changes nothing; listings filter by name, sort by deploy time and page.
async fn task_versions_are_immutable_and_listed(store: Store) {
    let id = |name: &str, version: &str| TaskVersionId {
        project: "p".parse().unwrap(),
        domain: "d".parse().unwrap(),
        name: name.to_owned(),
        version: version.to_owned(),
    };
    let new = |name: &str, version: &str, spec: &[u8]| NewTaskVersion {
        id: id(name, version),
        spec: spec.to_vec(),
        spec_digest: format!("digest-of-{}", String::from_utf8_lossy(spec)),
        deployed_by: "tester".to_owned(),
        short_name: name.to_owned(),
        environment_name: "env".to_owned(),
        entrypoint: version == "v1",
    };
    let stored = store
        .deploy_task(new("env.a", "v1", b"one"), Vec::new(), common::never())
        .await
        .unwrap()
        .0;
    let Deployed::Stored(first) = stored else {
        panic!("a new version is stored: {stored:?}")
    };
    assert_eq!(
        store
            .deploy_task(new("env.a", "v1", b"one"), Vec::new(), common::never())
            .await
            .unwrap()
            .0,
        Deployed::AlreadyStored(first.clone())
    );
    assert!(matches!(
        store.deploy_task(new("env.a", "v1", b"two"), Vec::new(), common::never()).await,
        Err(StoreError::TaskVersionExists(message)) if message.contains("env.a")
    ));
    assert_eq!(
        store.task_version(&id("env.a", "v1")).await.unwrap(),
        Some(first)
    );
    assert_eq!(store.task_version(&id("env.a", "v9")).await.unwrap(), None);
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    store
        .deploy_task(new("env.a", "v2", b"two"), Vec::new(), common::never())
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    store
        .deploy_task(
            new("other.b_%", "v1", b"three"),
            Vec::new(),
            common::never(),
        )
        .await
        .unwrap();
    let query =
        |name_equals: Option<&str>, name_contains: Option<&str>, newest_first, offset, limit| {
            TaskQuery {
                project: "p".parse().unwrap(),
                domain: "d".parse().unwrap(),
                name_equals: name_equals.map(str::to_owned),
                name_contains: name_contains.map(str::to_owned),
                entrypoint_only: false,
                newest_first,
                offset,
                limit,
            }
        };
    let listed = |(versions, more): (Vec<TaskVersionRecord>, bool)| {
        let names: Vec<String> = versions
            .into_iter()
            .map(|record| format!("{}:{}", record.id.name, record.id.version))
            .collect();
        (names, more)
    };
    assert_eq!(
        listed(
            store
                .list_task_versions(&query(Some("env.a"), None, true, 0, 1))
                .await
                .unwrap()
        ),
        (vec!["env.a:v2".to_owned()], true),
        "the latest version of a name"
    );
    assert_eq!(
        listed(
            store
                .list_task_versions(&query(None, None, false, 1, 5))
                .await
                .unwrap()
        ),
        (
            vec!["env.a:v2".to_owned(), "other.b_%:v1".to_owned()],
            false
        ),
        "oldest first, second page"
    );
    assert_eq!(
        listed(
            store
                .list_task_versions(&query(None, Some("b_%"), false, 0, 5))
                .await
                .unwrap()
        ),
        (vec!["other.b_%:v1".to_owned()], false),
        "wildcards in a name are matched literally"
    );
    let mut entrypoints = query(None, None, false, 0, 5);
    entrypoints.entrypoint_only = true;
    assert_eq!(
        listed(store.list_task_versions(&entrypoints).await.unwrap()).0,
        ["env.a:v1", "other.b_%:v1"]
    );
}

both_backends!(
    created_run_reads_back_queued,
    duplicate_run_is_refused,
    unknown_ids_are_not_found,
    every_change_appends_one_event,
    refused_change_writes_nothing,
    concurrent_changes_are_all_kept,
    children_are_scoped_by_parent,
    run_lists_filter_and_page,
    queued_tasks_are_found_by_phase,
    commits_reach_run_watchers_in_order,
    writes_arriving_together_all_commit,
    unfinished_work_is_found_by_purpose_built_queries,
    events_of_finished_runs_are_pruned_and_rows_stay,
    api_keys_are_made_listed_and_revoked,
    task_versions_are_immutable_and_listed,
);

/// Data outlives the process: reopening the same SQLite file finds the run.
#[tokio::test]
async fn sqlite_data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let backend = Backend::Sqlite {
        path: dir.path().join("aerie.db"),
    };
    let store = Store::open(&backend).await.unwrap();
    let root = create(&store, "r1").await;
    store.close().await;
    let reopened = Store::open(&backend).await.unwrap();
    assert_eq!(
        reopened.get_action(&root).await.unwrap().phase(),
        ActionPhase::Queued
    );
}

/// Actions stored before typed specs were kept are unreadable until their specs are filled in
/// from the stored wire specs, after which they read back with the decoded spec.
#[tokio::test]
async fn actions_from_before_typed_specs_are_filled_in() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aerie.db");
    let backend = Backend::Sqlite { path: path.clone() };
    let store = Store::open(&backend).await.unwrap();
    let root = create(&store, "r1").await;
    store.close().await;
    use sqlx::Executor;
    sqlx::any::install_default_drivers();
    let legacy = sqlx::AnyPool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    legacy
        .execute("UPDATE actions SET action_spec = ''")
        .await
        .unwrap();
    legacy.close().await;

    let reopened = Store::open(&backend).await.unwrap();
    assert!(matches!(
        reopened.get_action(&root).await,
        Err(StoreError::Corrupt { .. })
    ));
    let filled = reopened
        .fill_missing_specs(|stored| {
            assert_eq!(stored.wire_spec, [1, 2, 3]);
            task_spec()
        })
        .await
        .unwrap();
    assert_eq!(filled, 1);
    assert_eq!(*reopened.get_action(&root).await.unwrap().spec, task_spec());
    assert_eq!(
        reopened.fill_missing_specs(|_| task_spec()).await.unwrap(),
        0
    );
}
