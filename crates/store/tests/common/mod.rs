//! What every store test file shares: a fresh store on each backend, and the macro that runs a
//! test on both. PostgreSQL comes from `AERIE_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/test`); each test makes its own schema and drops it
//! afterwards, so tests run in parallel.
#![allow(dead_code)]

use aerie_core::{ActionId, ActionSpec, ActionState, Org, RunId, Timestamp};
use aerie_store::{
    Backend, FireClaim, NewAction, NewRun, NewTrigger, NextFire, RunTrigger, Store, TriggerId,
};
use std::future::Future;
use std::sync::Arc;

pub fn postgres_url() -> String {
    std::env::var("AERIE_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub async fn with_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&Backend::Sqlite {
        path: dir.path().join("aerie.db"),
    })
    .await
    .unwrap();
    test(store.clone()).await;
    store.close().await;
}

pub async fn with_postgres<F, Fut>(test: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let backend = fresh_postgres();
    let store = Store::open(&backend).await.unwrap();
    test(store.clone()).await;
    store.close().await;
    drop_postgres(&backend).await;
}

/// A PostgreSQL backend in a schema of its own, created when a store first opens it.
pub fn fresh_postgres() -> Backend {
    // Tests of one process run in parallel: the counter keeps two that start in the same
    // microsecond apart.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let schema = format!(
        "aerie_test_{}_{}_{}",
        std::process::id(),
        Timestamp::now().as_micros(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    Backend::Postgres {
        url: postgres_url(),
        schema: Some(schema),
    }
}

/// Drops the schema of a backend from [`fresh_postgres`].
pub async fn drop_postgres(backend: &Backend) {
    let Backend::Postgres {
        schema: Some(schema),
        ..
    } = backend
    else {
        panic!("not a backend from fresh_postgres");
    };
    use sqlx::Executor;
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(&postgres_url()).await.unwrap();
    admin
        .execute(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .await
        .unwrap();
}

pub fn run_id(name: &str) -> RunId {
    RunId {
        project: "flytesnacks".parse().unwrap(),
        domain: "development".parse().unwrap(),
        name: name.parse().unwrap(),
    }
}

pub fn task_spec() -> ActionSpec {
    let mut spec = ActionSpec::trace("hello.say", "");
    spec.kind = aerie_core::ActionKind::Task;
    spec.task.version = "v1".into();
    spec.retry.retries = 2;
    spec
}

pub fn new_action(name: &str, parent: Option<&str>) -> NewAction {
    NewAction {
        name: name.parse().unwrap(),
        parent: parent.map(|p| p.parse().unwrap()),
        spec: task_spec(),
        wire_spec: vec![1, 2, 3],
        input_uri: "file:///in".into(),
        run_output_base: "file:///out".into(),
        group: String::new(),
        state: ActionState::queued(Timestamp::now()),
    }
}

pub const MINUTE: i64 = 60_000_000;

/// Fires every minute after the instant it is given.
pub fn every_minute() -> NextFire {
    Arc::new(|_: &[u8], after: Timestamp| Some(Timestamp::from_micros(after.as_micros() + MINUTE)))
}

pub fn trigger_id() -> TriggerId {
    TriggerId {
        project: "flytesnacks".parse().unwrap(),
        domain: "development".parse().unwrap(),
        task_name: "env.task".into(),
        name: "nightly".into(),
    }
}

pub fn new_trigger(automation: &[u8], active: bool) -> NewTrigger {
    NewTrigger {
        id: trigger_id(),
        task_version: "v1".into(),
        active,
        automation: automation.to_vec(),
        spec: vec![1],
        description: "every minute".into(),
        by: "tester".into(),
    }
}

pub fn fired_run(name: &str, revision: i64, fire: Option<FireClaim>) -> NewRun {
    NewRun {
        id: run_id(name),
        org: Org::default(),
        created_by: "scheduler".into(),
        run_spec: Vec::new(),
        labels: vec![("team".into(), "ml".into())],
        trigger: Some(RunTrigger {
            task_name: "env.task".into(),
            name: "nightly".into(),
            revision,
            scheduled_at: fire.as_ref().map(|claim| claim.fire_at),
        }),
        fire,
        root: new_action("a0", None),
    }
}

/// Deploys the every-minute trigger, active; returns its revision and the claim of its first
/// fire.
pub async fn deploy_due_trigger(store: &Store) -> (i64, FireClaim) {
    let deployed = store
        .deploy_trigger(new_trigger(b"cron", true), every_minute())
        .await
        .unwrap();
    let due = deployed
        .next_fire_at
        .expect("an active trigger is scheduled");
    let claim = FireClaim {
        fire_at: due,
        next: Some(Timestamp::from_micros(due.as_micros() + MINUTE)),
    };
    (deployed.revision, claim)
}

/// A run with its root action `a0`, created by "tester"; returns the root's id.
pub async fn create(store: &Store, name: &str) -> ActionId {
    store
        .create_run(NewRun {
            id: run_id(name),
            org: Org::parse("").unwrap(),
            created_by: "tester".into(),
            run_spec: vec![9],
            labels: Vec::new(),
            trigger: None,
            fire: None,
            root: new_action("a0", None),
        })
        .await
        .unwrap();
    ActionId::root_of(run_id(name))
}

/// A schedule that never fires.
pub fn never() -> NextFire {
    Arc::new(|_: &[u8], _: Timestamp| None)
}

macro_rules! store_suite {
    ($backend:ident, $with:ident, [$($test:ident),* $(,)?]) => {
        mod $backend {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$with(super::$test).await;
                }
            )*
        }
    };
}

macro_rules! both_backends {
    ($($test:ident),* $(,)?) => {
        store_suite!(sqlite, with_sqlite, [$($test),*]);
        store_suite!(postgres, with_postgres, [$($test),*]);
    };
}
