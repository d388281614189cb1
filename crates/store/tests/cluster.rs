//! Several nodes on one PostgreSQL database: leases that one node wins and another takes over
//! once they lapse, commits on one node reaching the watchers of another, one run written by
//! two nodes at once, serialized cache twins and trigger fires across nodes, and a database
//! migrated by a newer aerie refused.

use aerie_core::{ActionPhase, Timestamp};
use aerie_store::{Backend, NodeConfig, Received, Store, StoreError, Subscription};
use std::time::Duration;

#[allow(unused_macros)]
mod common;
use common::{
    create, deploy_due_trigger, drop_postgres, fired_run, fresh_postgres, new_action, trigger_id,
};

fn node(id: &str, lease_ttl: Duration) -> NodeConfig {
    NodeConfig {
        id: id.into(),
        address: format!("{id}:30080"),
        lease_ttl,
        capacity: 4,
    }
}

/// Two nodes on one fresh database.
async fn two_nodes(lease_ttl: Duration) -> (Backend, Store, Store) {
    let backend = fresh_postgres();
    let a = Store::open_as(&backend, node("node-a", lease_ttl))
        .await
        .unwrap();
    let b = Store::open_as(&backend, node("node-b", lease_ttl))
        .await
        .unwrap();
    (backend, a, b)
}

async fn close(backend: Backend, stores: [Store; 2]) {
    for store in stores {
        store.close().await;
    }
    drop_postgres(&backend).await;
}

async fn next_signal(subscription: &mut Subscription) -> Received {
    tokio::time::timeout(Duration::from_secs(5), subscription.recv())
        .await
        .expect("a signal arrives within 5 s")
}

#[tokio::test]
async fn one_node_wins_an_attempt_and_another_takes_it_over_once_the_lease_lapses() {
    let (backend, a, b) = two_nodes(Duration::from_millis(600)).await;
    let root = create(&a, "r1").await;
    let (node_a, node_b) = (a.cluster().unwrap(), b.cluster().unwrap());
    node_a.join().await.unwrap();
    node_b.join().await.unwrap();

    assert!(node_a.claim(&root, 1).await.unwrap());
    assert!(
        !node_b.claim(&root, 1).await.unwrap(),
        "the attempt is node a's"
    );
    assert_eq!(node_a.renew(1).await.unwrap(), vec![(root.clone(), 1)]);
    assert!(
        node_b.take_over_expired(10).await.unwrap().is_empty(),
        "a renewed lease is not taken over"
    );

    tokio::time::sleep(Duration::from_millis(800)).await;
    let taken = node_b.take_over_expired(10).await.unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].action, root);
    assert_eq!(taken[0].attempt, 1);
    assert_eq!(
        taken[0].node, "node-a",
        "the lease names the node that lost it"
    );
    assert!(
        node_a.take_over_expired(10).await.unwrap().is_empty(),
        "a lease is taken over by one node only"
    );
    assert!(
        node_a.renew(0).await.unwrap().is_empty(),
        "node a learns it lost the lease"
    );
    assert!(!node_a.holds(&root, 1).await.unwrap());
    assert!(node_b.holds(&root, 1).await.unwrap());

    // Claims in one statement say which this node won.
    let other = create(&a, "r2").await;
    assert_eq!(
        node_a
            .claim_all(&[(root.clone(), 1), (other.clone(), 1)])
            .await
            .unwrap(),
        [false, true]
    );
    node_a.release_all(&[(other.clone(), 1)]).await.unwrap();
    assert!(!node_a.holds(&other, 1).await.unwrap());
    // A retry is a new attempt, claimed afresh; node a's release of the old one changes nothing.
    node_a.release(&root, 1).await.unwrap();
    assert!(node_b.holds(&root, 1).await.unwrap());
    node_b.release(&root, 1).await.unwrap();
    assert!(node_a.claim(&root, 2).await.unwrap());
    let nodes = node_b.nodes().await.unwrap();
    let ids: Vec<&str> = nodes.iter().map(|node| node.id.as_str()).collect();
    assert_eq!(ids, ["node-a", "node-b"]);
    assert_eq!(nodes[0].leases, 1);
    assert_eq!(nodes[0].address, "node-a:30080");
    close(backend, [a, b]).await;
}

#[tokio::test]
async fn a_restarted_node_gives_up_its_earlier_leases_and_a_leaving_node_all_of_them() {
    let (backend, a, b) = two_nodes(Duration::from_secs(60)).await;
    let first = create(&a, "r1").await;
    let second = create(&a, "r2").await;
    let (node_a, node_b) = (a.cluster().unwrap(), b.cluster().unwrap());
    assert!(node_a.claim(&first, 1).await.unwrap());
    // node a "restarts" under the same id: its earlier leases lapse at once.
    node_a.join().await.unwrap();
    let taken = node_b.take_over_expired(10).await.unwrap();
    assert_eq!(
        taken.iter().map(|l| &l.action).collect::<Vec<_>>(),
        [&first]
    );

    assert!(node_a.claim(&second, 1).await.unwrap());
    node_a.leave().await.unwrap();
    let taken = node_b.take_over_expired(10).await.unwrap();
    assert_eq!(
        taken.iter().map(|l| &l.action).collect::<Vec<_>>(),
        [&second]
    );
    let ids: Vec<String> = node_b
        .nodes()
        .await
        .unwrap()
        .into_iter()
        .map(|node| node.id)
        .collect();
    assert!(
        !ids.contains(&"node-a".to_owned()),
        "a leaving node's row goes"
    );
    close(backend, [a, b]).await;
}

#[tokio::test]
async fn running_attempts_that_no_node_holds_are_found() {
    let (backend, a, b) = two_nodes(Duration::from_secs(60)).await;
    let root = create(&a, "r1").await;
    let held = a.get_action(&root).await.unwrap();
    a.update_action(&held, |state| {
        state.advance(ActionPhase::Running, Timestamp::now())
    })
    .await
    .unwrap();
    let node_b = b.cluster().unwrap();
    assert_eq!(
        node_b.unleased_running(10).await.unwrap(),
        std::slice::from_ref(&root)
    );
    assert!(node_b.claim(&root, 1).await.unwrap());
    assert!(node_b.unleased_running(10).await.unwrap().is_empty());
    close(backend, [a, b]).await;
}

#[tokio::test]
async fn a_commit_on_one_node_tells_the_other_nodes_watchers_to_reread() {
    let (backend, a, b) = two_nodes(Duration::from_secs(60)).await;
    let root = create(&a, "r1").await;
    let mut run_watch = b.hub().subscribe_run(&root.run);
    let mut project_watch = b.hub().subscribe_project(&root.run.project);
    let held = a.get_action(&root).await.unwrap();
    a.update_action(&held, |state| {
        state.advance(ActionPhase::Running, Timestamp::now())
    })
    .await
    .unwrap();
    assert!(matches!(
        next_signal(&mut run_watch).await,
        Received::Reread
    ));
    assert!(matches!(
        next_signal(&mut project_watch).await,
        Received::Reread
    ));
    let events = b.events_after(&root.run, 1, 10).await.unwrap();
    assert_eq!(events.len(), 1, "the re-read finds the change");
    assert_eq!(events[0].state.phase, ActionPhase::Running);
    // The node that committed hears nothing from itself but its own commit.
    let mut own_watch = a.hub().subscribe_run(&root.run);
    let held = a.get_action(&root).await.unwrap();
    a.update_action(&held, |state| state.succeed(Timestamp::now()))
        .await
        .unwrap();
    assert!(matches!(
        next_signal(&mut own_watch).await,
        Received::Committed(_)
    ));
    assert!(
        tokio::time::timeout(Duration::from_millis(300), own_watch.recv())
            .await
            .is_err(),
        "a node's own notice is not delivered again"
    );
    close(backend, [a, b]).await;
}

#[tokio::test]
async fn two_nodes_writing_one_run_number_its_changes_without_gaps_or_repeats() {
    let (backend, a, b) = two_nodes(Duration::from_secs(60)).await;
    let root = create(&a, "r1").await;
    const EACH: usize = 40;
    let write = |store: Store, prefix: &'static str| {
        let run = root.run.clone();
        tokio::spawn(async move {
            let mut writes = Vec::new();
            for index in 0..EACH {
                let store = store.clone();
                let run = run.clone();
                writes.push(tokio::spawn(async move {
                    let name = format!("{prefix}{index}");
                    let child = store
                        .insert_action(&run, new_action(&name, Some("a0")))
                        .await
                        .unwrap();
                    store
                        .update_action(&child, |state| {
                            state.advance(ActionPhase::Running, Timestamp::now())
                        })
                        .await
                        .unwrap();
                }));
            }
            for written in writes {
                written.await.unwrap();
            }
        })
    };
    let (from_a, from_b) = (write(a.clone(), "x"), write(b.clone(), "y"));
    from_a.await.unwrap();
    from_b.await.unwrap();
    let events = a.events_after(&root.run, 0, 1000).await.unwrap();
    let seqs: Vec<i64> = events.iter().map(|event| event.seq).collect();
    let expected: Vec<i64> = (1..=(1 + 4 * EACH as i64)).collect();
    assert_eq!(seqs, expected, "one gapless sequence across both nodes");
    close(backend, [a, b]).await;
}

#[tokio::test]
async fn a_database_migrated_by_a_newer_aerie_is_refused_untouched() {
    let backend = fresh_postgres();
    let store = Store::open(&backend).await.unwrap();
    store.close().await;
    let Backend::Postgres {
        url,
        schema: Some(schema),
    } = &backend
    else {
        unreachable!()
    };
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {schema}._sqlx_migrations \
         (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', TRUE, '\\x00'::bytea, 0)"
    )))
    .execute(&admin)
    .await
    .unwrap();
    let refused = Store::open(&backend).await.unwrap_err();
    match &refused {
        StoreError::SchemaTooNew { database, known } => {
            assert_eq!(*database, 9999);
            assert!(*known < 9999);
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
    let message = refused.to_string();
    assert!(
        message.contains("9999") && message.contains("newer"),
        "{message}"
    );
    admin.close().await;
    drop_postgres(&backend).await;
}

#[tokio::test]
async fn serialized_twins_on_two_nodes_run_one_at_a_time() {
    let (backend, a, b) = two_nodes(Duration::from_secs(60)).await;
    let first = create(&a, "r1").await;
    let twin = create(&b, "r2").await;
    let (node_a, node_b) = (a.cluster().unwrap(), b.cluster().unwrap());
    assert_eq!(node_a.cache_runner("key-1", &first).await.unwrap(), None);
    assert_eq!(
        node_a.cache_runner("key-1", &first).await.unwrap(),
        None,
        "asking again changes nothing"
    );
    assert_eq!(
        node_b.cache_runner("key-1", &twin).await.unwrap(),
        Some(first.clone()),
        "the twin on the other node waits for the first"
    );
    assert_eq!(node_b.cache_runner("key-2", &twin).await.unwrap(), None);
    node_b.release_cache_runs(&twin).await.unwrap();

    // Once the runner ended, the key goes to the next twin even if nobody released it.
    let held = a.get_action(&first).await.unwrap();
    a.update_action(&held, |state| {
        state.advance(ActionPhase::Running, Timestamp::now())?;
        state.succeed(Timestamp::now())
    })
    .await
    .unwrap();
    assert_eq!(node_b.cache_runner("key-1", &twin).await.unwrap(), None);
    assert_eq!(
        node_a.cache_runner("key-1", &first).await.unwrap(),
        Some(twin.clone())
    );
    node_b.release_cache_runs(&twin).await.unwrap();
    assert_eq!(node_a.cache_runner("key-1", &first).await.unwrap(), None);
    close(backend, [a, b]).await;
}

#[tokio::test]
async fn a_scheduled_fire_claimed_by_two_nodes_at_once_creates_one_run() {
    let (backend, a, b) = two_nodes(Duration::from_secs(60)).await;
    let (revision, claim) = deploy_due_trigger(&a).await;
    let (from_a, from_b) = tokio::join!(
        a.create_run(fired_run("fa", revision, Some(claim.clone()))),
        b.create_run(fired_run("fb", revision, Some(claim.clone()))),
    );
    let outcomes = [from_a.is_ok(), from_b.is_ok()];
    assert_eq!(
        outcomes.iter().filter(|created| **created).count(),
        1,
        "{from_a:?} / {from_b:?}"
    );
    let refused = if from_a.is_ok() { from_b } else { from_a };
    assert!(
        matches!(refused, Err(StoreError::StaleFire(_))),
        "{refused:?}"
    );
    let after = a.trigger(&trigger_id()).await.unwrap().unwrap();
    assert_eq!(after.next_fire_at, claim.next);
    close(backend, [a, b]).await;
}

#[tokio::test]
async fn an_action_that_ended_before_its_child_is_found() {
    let (backend, a, b) = two_nodes(Duration::from_secs(60)).await;
    let root = create(&a, "r1").await;
    let child = a
        .insert_action(&root.run, new_action("c1", Some("a0")))
        .await
        .unwrap();
    let node_b = b.cluster().unwrap();
    assert!(
        node_b.ended_parents(10).await.unwrap().is_empty(),
        "a running parent has no orphans"
    );
    let held = a.get_action(&root).await.unwrap();
    a.update_action(&held, |state| {
        state.advance(ActionPhase::Running, Timestamp::now())?;
        state.succeed(Timestamp::now())
    })
    .await
    .unwrap();
    assert_eq!(
        node_b.ended_parents(10).await.unwrap(),
        [(root.clone(), ActionPhase::Succeeded)]
    );
    b.update_action(&child, |state| {
        state.advance(ActionPhase::Running, Timestamp::now())?;
        state.succeed(Timestamp::now())
    })
    .await
    .unwrap();
    assert!(node_b.ended_parents(10).await.unwrap().is_empty());
    close(backend, [a, b]).await;
}
