//! The control-plane tables on both backends: trigger fires claimed exactly once with their
//! run, trigger revisions and activation, run label filters, secret scopes, projects.

#[macro_use]
mod common;
use aerie_core::Timestamp;
use aerie_store::{
    LabelFilter, ListQuery, NewSecret, ProjectRecord, SecretId, SecretWrite, Store, StoreError,
};
use common::{
    deploy_due_trigger, every_minute, fired_run, new_trigger, run_id, trigger_id, with_postgres,
    with_sqlite,
};

/// A due fire is taken once: the run and the trigger's next instant commit together, and a
/// second claim of the same instant stores nothing.
async fn a_scheduled_fire_is_taken_exactly_once(store: Store) {
    let (revision, claim) = deploy_due_trigger(&store).await;
    let due = claim.fire_at;
    let created = store
        .create_run(fired_run("f1", revision, Some(claim.clone())))
        .await
        .unwrap();
    assert_eq!(created.run.started_at(), due);
    let again = store
        .create_run(fired_run("f2", revision, Some(claim.clone())))
        .await;
    assert!(matches!(again, Err(StoreError::StaleFire(_))), "{again:?}");
    assert!(matches!(
        store.get_run(&run_id("f2")).await,
        Err(StoreError::RunNotFound(_))
    ));
    let after = store.trigger(&trigger_id()).await.unwrap().unwrap();
    assert_eq!(after.next_fire_at, claim.next);
    assert_eq!(after.triggered_at, Some(due));
    let run = store.get_run(&run_id("f1")).await.unwrap();
    assert_eq!(run.trigger.unwrap().scheduled_at, Some(due));
}

/// A redeploy is a new revision that keeps an unchanged schedule; deactivating drops the next
/// fire, activating schedules one, deleting hides the trigger; an unknown name refuses the lot.
async fn triggers_keep_revisions_and_activation(store: Store) {
    let first = store
        .deploy_trigger(new_trigger(b"cron", true), every_minute())
        .await
        .unwrap();
    let second = store
        .deploy_trigger(new_trigger(b"cron", true), every_minute())
        .await
        .unwrap();
    assert_eq!(second.revision, first.revision + 1);
    assert_eq!(second.next_fire_at, first.next_fire_at);
    let off = store
        .set_triggers_active(vec![trigger_id()], false, "tester".into(), every_minute())
        .await
        .unwrap();
    assert_eq!(off[0].next_fire_at, None);
    let (due, _) = store
        .due_triggers(Timestamp::from_micros(i64::MAX), 10)
        .await
        .unwrap();
    assert!(due.is_empty(), "an inactive trigger is never due");
    let mut unknown = trigger_id();
    unknown.name = "missing".into();
    let refused = store
        .set_triggers_active(
            vec![trigger_id(), unknown],
            true,
            "tester".into(),
            every_minute(),
        )
        .await;
    assert!(matches!(refused, Err(StoreError::NotFound(message)) if message.contains("missing")));
    assert!(!store.trigger(&trigger_id()).await.unwrap().unwrap().active);
    let on = store
        .set_triggers_active(vec![trigger_id()], true, "tester".into(), every_minute())
        .await
        .unwrap();
    assert!(on[0].next_fire_at.is_some());
    store
        .delete_triggers(vec![trigger_id()], "tester".into())
        .await
        .unwrap();
    assert_eq!(store.trigger(&trigger_id()).await.unwrap(), None);
    let (due, _) = store
        .due_triggers(Timestamp::from_micros(i64::MAX), 10)
        .await
        .unwrap();
    assert!(due.is_empty(), "a deleted trigger is never due");
}

/// Runs are found by label key and by key and value.
async fn runs_filter_on_labels(store: Store) {
    store
        .create_run(fired_run("labelled", 1, None))
        .await
        .unwrap();
    let mut plain = fired_run("plain", 1, None);
    plain.labels.clear();
    plain.trigger = None;
    store.create_run(plain).await.unwrap();
    let names = |labels: Vec<LabelFilter>| {
        let store = store.clone();
        async move {
            let query = ListQuery {
                labels,
                ..ListQuery::default()
            };
            let page = store
                .list_runs(&"flytesnacks".parse().unwrap(), None, &query)
                .await
                .unwrap();
            page.items
                .into_iter()
                .map(|item| item.run.id.name.to_string())
                .collect::<Vec<_>>()
        }
    };
    let label = |key: &str, value: Option<&str>| LabelFilter {
        key: key.into(),
        value: value.map(str::to_owned),
    };
    assert_eq!(names(vec![label("team", Some("ml"))]).await, ["labelled"]);
    assert_eq!(names(vec![label("team", None)]).await, ["labelled"]);
    assert!(names(vec![label("team", Some("web"))]).await.is_empty());
    assert_eq!(names(Vec::new()).await.len(), 2);
}

/// A secret is found in the most specific scope holding it; create refuses a taken name,
/// update and delete an unknown one.
async fn secrets_resolve_by_scope(store: Store) {
    let put = |project: &str, domain: &str, sealed: &[u8], write| {
        store.put_secret(
            NewSecret {
                id: SecretId {
                    project: project.into(),
                    domain: domain.into(),
                    name: "token".into(),
                },
                kind: 0,
                sealed: sealed.to_vec(),
            },
            write,
        )
    };
    put("", "", b"org", SecretWrite::Create).await.unwrap();
    put("flytesnacks", "", b"project", SecretWrite::Create)
        .await
        .unwrap();
    assert!(matches!(
        put("", "", b"again", SecretWrite::Create).await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert!(matches!(
        put("other", "", b"x", SecretWrite::Update).await,
        Err(StoreError::NotFound(_))
    ));
    let seen = |project: &'static str, domain: &'static str| {
        let store = store.clone();
        async move {
            store
                .resolve_secret(project, domain, "token")
                .await
                .unwrap()
                .map(|record| record.sealed)
        }
    };
    assert_eq!(
        seen("flytesnacks", "development").await.unwrap(),
        b"project"
    );
    assert_eq!(seen("other", "development").await.unwrap(), b"org");
    let (all, more) = store.list_secrets("", "", 0, 10).await.unwrap();
    assert_eq!((all.len(), more), (2, false));
    let (scoped, _) = store.list_secrets("flytesnacks", "", 0, 10).await.unwrap();
    assert_eq!(scoped.len(), 1);
    store
        .delete_secret(SecretId {
            project: "flytesnacks".into(),
            domain: String::new(),
            name: "token".into(),
        })
        .await
        .unwrap();
    assert_eq!(seen("flytesnacks", "development").await.unwrap(), b"org");
}

/// `flytesnacks` is there from the start; a project is created once, updated and listed by
/// state.
async fn projects_are_seeded_created_and_archived(store: Store) {
    let seeded = store
        .project(&"flytesnacks".parse().unwrap())
        .await
        .unwrap()
        .expect("flytesnacks exists");
    assert_eq!(seeded.state, 0);
    let new = ProjectRecord {
        id: "ml".parse().unwrap(),
        name: "Machine learning".into(),
        description: String::new(),
        labels: Vec::new(),
        state: 0,
        created_at: Timestamp::now(),
        updated_at: Timestamp::now(),
    };
    store.create_project(new.clone()).await.unwrap();
    assert!(matches!(
        store.create_project(new.clone()).await,
        Err(StoreError::AlreadyExists(_))
    ));
    store
        .update_project(ProjectRecord { state: 1, ..new })
        .await
        .unwrap();
    let (active, _) = store.list_projects(Some(0), 0, 10).await.unwrap();
    let (archived, _) = store.list_projects(Some(1), 0, 10).await.unwrap();
    assert_eq!(
        active.iter().map(|p| p.id.to_string()).collect::<Vec<_>>(),
        ["flytesnacks"]
    );
    assert_eq!(
        archived
            .iter()
            .map(|p| p.id.to_string())
            .collect::<Vec<_>>(),
        ["ml"]
    );
}

both_backends!(
    a_scheduled_fire_is_taken_exactly_once,
    triggers_keep_revisions_and_activation,
    runs_filter_on_labels,
    secrets_resolve_by_scope,
    projects_are_seeded_created_and_archived,
);
