use crate::harness::{Aerie, shell_task};
use aerie_client::ActionPhase;
use aerie_client::wire::flyteidl2::common::{ProjectIdentifier, RunIdentifier};
use aerie_client::wire::flyteidl2::workflow::__buffa::oneof::watch_runs_request;
use aerie_client::wire::flyteidl2::workflow::{
    RunServiceClient, WatchActionsRequest, WatchRunDetailsRequest, WatchRunsRequest,
};
use connectrpc::client::{ClientConfig, HttpClient};

fn runs(aerie: &Aerie) -> RunServiceClient<HttpClient> {
    RunServiceClient::new(
        HttpClient::plaintext(),
        ClientConfig::new(format!("http://{}", aerie.endpoint).parse().unwrap()),
    )
}

fn run_id(name: &str) -> RunIdentifier {
    RunIdentifier {
        project: "flytesnacks".into(),
        domain: "development".into(),
        name: name.into(),
        ..Default::default()
    }
}

/// WatchRunDetails sends the run's details on every change and closes after the terminal one.
#[tokio::test]
async fn run_details_watch_ends_with_the_terminal_run() {
    let aerie = Aerie::start().await;
    aerie.create_run("wr1", shell_task("ok", "echo hi")).await;
    let request = WatchRunDetailsRequest {
        run_id: run_id("wr1").into(),
        ..Default::default()
    };
    let mut stream = runs(&aerie).watch_run_details(request).await.unwrap();
    let mut phases = Vec::new();
    while let Some(message) = stream.message().await.unwrap() {
        let details = message.to_owned_message().details.into_option().unwrap();
        assert!(details.run_spec.is_set());
        phases.push(details.action.status.phase.to_i32());
    }
    assert_eq!(phases.last(), Some(&ActionPhase::Succeeded.as_i32()));
    assert!(phases.windows(2).all(|w| w[0] < w[1]), "{phases:?}");
}

/// WatchActions sends the run's actions, then every change, and closes once all are over.
#[tokio::test]
async fn actions_watch_follows_the_run_to_its_end() {
    let aerie = Aerie::start().await;
    aerie.create_run("wa1", shell_task("ok", "echo hi")).await;
    let request = WatchActionsRequest {
        run_id: run_id("wa1").into(),
        ..Default::default()
    };
    let mut stream = runs(&aerie).watch_actions(request).await.unwrap();
    let mut last_phase = 0;
    let mut messages = 0;
    while let Some(message) = stream.message().await.unwrap() {
        for enriched in message.to_owned_message().enriched_actions {
            assert_eq!(enriched.action.id.name, "a0");
            last_phase = enriched.action.status.phase.to_i32();
        }
        messages += 1;
    }
    assert!(messages >= 1);
    assert_eq!(last_phase, ActionPhase::Succeeded.as_i32());
}

/// WatchRuns sends the project's runs, then runs that changed.
#[tokio::test]
async fn runs_watch_reports_new_runs() {
    let aerie = Aerie::start().await;
    let request = WatchRunsRequest {
        target: Some(watch_runs_request::Target::ProjectId(Box::new(
            ProjectIdentifier {
                name: "flytesnacks".into(),
                domain: "development".into(),
                ..Default::default()
            },
        ))),
        ..Default::default()
    };
    let mut stream = runs(&aerie).watch_runs(request).await.unwrap();
    let snapshot = stream.message().await.unwrap().unwrap().to_owned_message();
    assert!(snapshot.runs.is_empty());
    aerie.create_run("wn1", shell_task("ok", "true")).await;
    let update = tokio::time::timeout(std::time::Duration::from_secs(30), stream.message())
        .await
        .expect("an update in time")
        .unwrap()
        .unwrap()
        .to_owned_message();
    assert!(
        update
            .runs
            .iter()
            .any(|run| run.action.id.run.name == "wn1")
    );
}
