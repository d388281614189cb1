//! The client against the scripted server of [`support`], over real HTTP/1.1.

mod support;

use aerie_client::{
    Action, ActionDetails, ActionPhase, ActionSummary, ErrorCode, Follow, Logs, Run, blocking,
};
use futures::StreamExt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use support::{Fake, client_for, start};

#[tokio::test]
async fn action_details_are_fetched_and_keep_the_servers_id() {
    let fake = Arc::new(Fake::default());
    let client = client_for(&fake);
    let details = ActionDetails::get(&client, "flyte://v1/flytesnacks/development/r1/n1")
        .await
        .unwrap();
    assert_eq!(details.name(), "n1");
    assert_eq!(details.phase().unwrap(), ActionPhase::Running);
    assert_eq!(details.wire().id.run.org, "local");
    assert!(details.logs_available(None));
}

#[tokio::test]
async fn a_missing_action_is_not_found_and_names_the_action() {
    let fake = Arc::new(Fake::default());
    let client = client_for(&fake);
    let err = ActionDetails::get_by_name(&client, &"r1".parse().unwrap(), &"zz".parse().unwrap())
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(
        err.to_string(),
        "get action flytesnacks/development/r1/zz: action zz not found (not_found)"
    );
}

#[tokio::test]
async fn inputs_and_outputs_are_fetched_once_then_cached() {
    let fake = Arc::new(Fake::default());
    let client = client_for(&fake);
    let done = ActionDetails::get(&client, "flyte://v1/flytesnacks/development/r1")
        .await
        .unwrap();
    assert_eq!(done.inputs(&client).await.unwrap().to_string(), "x = 3");
    assert_eq!(done.outputs(&client).await.unwrap().to_string(), "o0 = 6");
    assert_eq!(done.inputs(&client).await.unwrap().len(), 1);
    assert_eq!(fake.data_calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn outputs_of_a_running_action_are_refused_without_a_call() {
    let fake = Arc::new(Fake::default());
    let client = client_for(&fake);
    let running = ActionDetails::get(&client, "flyte://v1/flytesnacks/development/r1/n1")
        .await
        .unwrap();
    assert!(matches!(
        running.outputs(&client).await,
        Err(aerie_client::Error::NotTerminal { .. })
    ));
    assert_eq!(fake.data_calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_watch_survives_an_early_close_and_a_broken_stream_and_ends_on_terminal() {
    let fake = Arc::new(Fake::default());
    let client = client_for(&fake);
    let id = client.action_id("r1".parse().unwrap(), "n1".parse().unwrap());
    let phases: Vec<ActionPhase> = ActionDetails::watch(&client, &id)
        .map(|update| update.unwrap().phase().unwrap())
        .collect()
        .await;
    assert_eq!(
        phases,
        [
            ActionPhase::Queued,
            ActionPhase::Running,
            ActionPhase::Running,
            ActionPhase::Succeeded
        ]
    );
    assert_eq!(fake.watch_connections.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn watch_updates_keeps_the_details_current_and_caches_data_when_done() {
    let fake = Arc::new(Fake::default());
    let client = client_for(&fake);
    let mut details = ActionDetails::get(&client, "flyte://v1/flytesnacks/development/r1")
        .await
        .unwrap();
    let updates: Vec<_> = details.watch_updates(&client, true).collect().await;
    assert!(updates.iter().all(Result::is_ok));
    assert_eq!(details.phase().unwrap(), ActionPhase::Succeeded);
    let (inputs, outputs) = details.cached_data();
    assert_eq!(inputs.unwrap().to_string(), "x = 3");
    assert_eq!(outputs.unwrap().to_string(), "o0 = 6");
}

#[tokio::test]
async fn runs_are_listed_across_pages_and_read_through_their_root_action() {
    let fake = Arc::new(Fake::default());
    let client = client_for(&fake);
    let runs = Run::list(&client).await.unwrap();
    let names: Vec<_> = runs.iter().map(|run| run.run_name().to_owned()).collect();
    assert_eq!(names, ["r1", "r2", "r3"]);
    assert_eq!(*fake.list_tokens.lock().unwrap(), ["", "page2"]);

    let run = Run::get(&client, &"r1".parse().unwrap()).await.unwrap();
    assert_eq!(run.label("team"), Some("ml"));
    assert!(run.done() && run.root_details().is_some());
    assert_eq!(run.outputs(&client).await.unwrap().to_string(), "o0 = 6");
    run.abort(&client, Some("enough")).await.unwrap();
    assert_eq!(*fake.aborts.lock().unwrap(), ["run r1: enough"]);
}

#[tokio::test]
async fn actions_are_listed_and_aborted_by_name() {
    let fake = Arc::new(Fake::default());
    let client = client_for(&fake);
    let actions = Action::list(&client, &"r1".parse().unwrap()).await.unwrap();
    assert_eq!(
        actions.iter().map(ActionSummary::name).collect::<Vec<_>>(),
        ["a0", "n1"]
    );
    let child = Action::get(&client, &"r1".parse().unwrap(), &"n1".parse().unwrap())
        .await
        .unwrap();
    child.abort(&client, None).await.unwrap();
    assert_eq!(*fake.aborts.lock().unwrap(), ["action n1: "]);
}

#[tokio::test]
async fn logs_arrive_in_order_with_their_newlines() {
    let fake = Arc::new(Fake::default());
    let client = client_for(&fake);
    let id = client.action_id("r1".parse().unwrap(), "n1".parse().unwrap());
    let logs = Logs::tail(&client, &id, None, Follow::Yes).await.unwrap();
    assert_eq!(logs.attempt(), 1);
    let text: String = logs
        .map(|line| line.unwrap().message)
        .collect::<Vec<_>>()
        .await
        .concat();
    assert_eq!(text, "hello\nworld\ndone\n");
}

#[tokio::test]
async fn logs_of_an_attempt_that_never_started_are_not_found_without_following() {
    let fake = Arc::new(Fake::default());
    let client = client_for(&fake);
    let id = client.action_id("r1".parse().unwrap(), "n1".parse().unwrap());
    let mut logs = Logs::tail(&client, &id, Some(2), Follow::No).await.unwrap();
    let err = logs.next().await.unwrap().unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NotFound), "{err}");
    assert!(logs.next().await.is_none());
}

#[test]
fn the_blocking_twins_do_the_same_without_a_runtime() {
    let fake = Arc::new(Fake::default());
    let client = blocking::Client::connect(&start(Arc::clone(&fake)).to_string()).unwrap();
    let details =
        blocking::ActionDetails::get(&client, "flyte://v1/flytesnacks/development/r1").unwrap();
    assert_eq!(details.outputs().unwrap().to_string(), "o0 = 6");
    let mut run = blocking::Run::get(&client, &"r1".parse().unwrap()).unwrap();
    assert_eq!(run.wait().unwrap().phase().unwrap(), ActionPhase::Succeeded);
    let id = client.action_id("r1".parse().unwrap(), "a0".parse().unwrap());
    let lines: Vec<_> = blocking::Logs::tail(&client, &id, Some(1), Follow::Yes)
        .unwrap()
        .map(|line| line.unwrap().message)
        .collect();
    assert_eq!(lines, ["hello\n", "world\n", "done\n"]);
}
