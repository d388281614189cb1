use crate::harness::{Aerie, shell_task};
use aerie_client::wire::flyteidl2::common::{ActionIdentifier, RunIdentifier};
use aerie_client::wire::flyteidl2::task::OutputReferences;
use aerie_client::wire::flyteidl2::workflow::__buffa::oneof::{
    enqueue_action_request, watch_request, watch_response,
};
use aerie_client::wire::flyteidl2::workflow::{
    ActionUpdate, EnqueueActionRequest, QueueServiceClient, StateServiceClient, TaskAction,
    TraceAction, WatchRequest,
};
use aerie_client::{ActionDetails, ActionPhase, ActionSummary, ErrorCode};
use connectrpc::client::{ClientConfig, HttpClient};

fn config(aerie: &Aerie) -> ClientConfig {
    ClientConfig::new(format!("http://{}", aerie.endpoint).parse().unwrap())
}

fn child_id(run: &str, name: &str) -> ActionIdentifier {
    ActionIdentifier {
        run: RunIdentifier {
            project: "flytesnacks".into(),
            domain: "development".into(),
            name: run.into(),
            ..Default::default()
        }
        .into(),
        name: name.into(),
        ..Default::default()
    }
}

/// A child a running parent enqueues is run; enqueueing it twice is `already_exists`; the
/// parent's watch gets the snapshot, the sentinel, then the child's phases up to SUCCEEDED with
/// its output prefix; a trace is recorded finished with its outputs file verbatim.
#[tokio::test]
async fn enqueued_children_run_and_the_parent_watch_follows_them() {
    let aerie = Aerie::start().await;
    let root = aerie
        .create_run("parent1", shell_task("parent", "sleep 60"))
        .await;
    let running = aerie.wait_for_phase(&root, ActionPhase::Running).await;
    let outputs_file = &running.wire().attempts[0].outputs.output_uri;
    let run_base = outputs_file
        .strip_suffix("/a0/1/outputs.pb")
        .unwrap()
        .to_owned();

    let state = StateServiceClient::new(HttpClient::plaintext(), config(&aerie));
    let watch = WatchRequest {
        filter: Some(watch_request::Filter::ParentActionId(Box::new(child_id(
            "parent1", "a0",
        )))),
        ..Default::default()
    };
    let mut stream = state.watch(watch).await.expect("watch");
    let first = stream.message().await.unwrap().unwrap().to_owned_message();
    assert!(
        matches!(first.message, Some(watch_response::Message::ControlMessage(ref control)) if control.sentinel),
        "a parent without children gets the sentinel first"
    );

    let queue = QueueServiceClient::new(HttpClient::plaintext(), config(&aerie));
    let enqueue = |name: &str, spec| EnqueueActionRequest {
        action_id: child_id("parent1", name).into(),
        parent_action_name: Some("a0".into()),
        input_uri: format!("{run_base}/inputs.pb"),
        run_output_base: run_base.clone(),
        spec: Some(spec),
        ..Default::default()
    };
    let task = || {
        enqueue_action_request::Spec::Task(Box::new(TaskAction {
            spec: shell_task("child", "echo child").into(),
            ..Default::default()
        }))
    };
    queue
        .enqueue_action(enqueue("c1", task()))
        .await
        .expect("enqueue");
    let again = queue
        .enqueue_action(enqueue("c1", task()))
        .await
        .unwrap_err();
    assert_eq!(again.code, ErrorCode::AlreadyExists);

    let mut child_updates: Vec<ActionUpdate> = Vec::new();
    while child_updates.last().map(|u| u.phase.to_i32()) != Some(ActionPhase::Succeeded.as_i32()) {
        let message = stream
            .message()
            .await
            .unwrap()
            .expect("stream open")
            .to_owned_message();
        if let Some(watch_response::Message::ActionUpdate(update)) = message.message {
            child_updates.push(*update);
        }
    }
    let phases: Vec<i32> = child_updates.iter().map(|u| u.phase.to_i32()).collect();
    assert!(phases.windows(2).all(|w| w[0] < w[1]), "{phases:?}");
    assert_eq!(
        child_updates.last().unwrap().output_uri,
        format!("{run_base}/c1/1")
    );

    let trace = enqueue_action_request::Spec::Trace(Box::new(TraceAction {
        name: "t1".into(),
        phase: ActionPhase::Succeeded.as_i32().into(),
        outputs: OutputReferences {
            output_uri: format!("{run_base}/t1/outputs.pb"),
            ..Default::default()
        }
        .into(),
        ..Default::default()
    }));
    queue
        .enqueue_action(enqueue("t1", trace))
        .await
        .expect("trace");
    let update = loop {
        let message = stream
            .message()
            .await
            .unwrap()
            .expect("stream open")
            .to_owned_message();
        if let Some(watch_response::Message::ActionUpdate(update)) = message.message {
            break update;
        }
    };
    assert_eq!(update.action_id.name, "t1");
    assert_eq!(update.phase.to_i32(), ActionPhase::Succeeded.as_i32());
    assert_eq!(update.output_uri, format!("{run_base}/t1/outputs.pb"));

    // Aborting the parent ends it and everything below it.
    let client = aerie.client();
    aerie_client::Run::get(&client, &root.run.name)
        .await
        .unwrap()
        .abort(&client, None)
        .await
        .unwrap();
    let parent = ActionDetails::get_details(&client, &root).await.unwrap();
    assert_eq!(parent.phase().unwrap(), ActionPhase::Aborted);
}

/// A child enqueued into an aborted run is refused with `aborted`; one with an input outside
/// aerie's storage with `invalid_argument`. One without a spec is how the SDK's QueueService
/// path sends a condition: it waits PAUSED, untyped, until the run is aborted.
#[tokio::test]
async fn enqueue_refuses_aborted_runs_and_bad_requests() {
    let aerie = Aerie::start().await;
    let root = aerie
        .create_run("parent2", shell_task("parent", "sleep 60"))
        .await;
    aerie.wait_for_phase(&root, ActionPhase::Running).await;
    let queue = QueueServiceClient::new(HttpClient::plaintext(), config(&aerie));
    let details = ActionDetails::get_details(&aerie.client(), &root)
        .await
        .unwrap();
    let run_base = details.wire().attempts[0]
        .outputs
        .output_uri
        .strip_suffix("/a0/1/outputs.pb")
        .unwrap()
        .to_owned();
    let request = |input_uri: String, with_spec: bool| EnqueueActionRequest {
        action_id: child_id("parent2", "c1").into(),
        parent_action_name: Some("a0".into()),
        input_uri,
        run_output_base: run_base.clone(),
        spec: with_spec.then(|| {
            enqueue_action_request::Spec::Task(Box::new(TaskAction {
                spec: shell_task("child", "true").into(),
                ..Default::default()
            }))
        }),
        ..Default::default()
    };
    queue
        .enqueue_action(request(format!("{run_base}/inputs.pb"), false))
        .await
        .unwrap();
    let condition_id = aerie_core::ActionId {
        run: root.run.clone(),
        name: "c1".parse().unwrap(),
    };
    let condition = ActionDetails::get_details(&aerie.client(), &condition_id)
        .await
        .unwrap();
    assert_eq!(condition.phase().unwrap(), ActionPhase::Paused);
    assert!(condition.is_condition() && condition.condition_type().is_none());
    let outside = queue
        .enqueue_action(request("/etc/passwd".into(), true))
        .await
        .unwrap_err();
    assert_eq!(outside.code, ErrorCode::InvalidArgument);
    let client = aerie.client();
    aerie_client::Run::get(&client, &root.run.name)
        .await
        .unwrap()
        .abort(&client, None)
        .await
        .unwrap();
    let late = queue
        .enqueue_action(request(format!("{run_base}/inputs.pb"), true))
        .await
        .unwrap_err();
    assert_eq!(late.code, ErrorCode::Aborted);
    let condition = ActionDetails::get_details(&aerie.client(), &condition_id)
        .await
        .unwrap();
    assert_eq!(condition.phase().unwrap(), ActionPhase::Aborted);
}
