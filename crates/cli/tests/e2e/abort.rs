use crate::harness::{Aerie, shell_task};
use aerie_client::ActionSummary;
use aerie_client::{ActionDetails, ActionPhase, Follow, Logs, Run};
use futures::StreamExt;

fn process_alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

/// Aborting a run kills its sleeping process group before the call returns and records
/// ABORTED with the reason.
#[tokio::test]
async fn abort_kills_a_sleeping_task_and_records_the_reason() {
    let aerie = Aerie::start().await;
    let client = aerie.client();
    let pid_file = aerie.data_dir().join("sleeper.pid");
    let script = format!("echo $$ > {}; sleep 300", pid_file.display());
    let root = aerie
        .create_run("sleepy1", shell_task("sleeper", &script))
        .await;
    aerie.wait_for_phase(&root, ActionPhase::Running).await;
    let pid: i32 = loop {
        if let Ok(Ok(pid)) = std::fs::read_to_string(&pid_file).map(|text| text.trim().parse()) {
            break pid;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let run = Run::get(&client, &root.run.name).await.unwrap();
    run.abort(&client, Some("no longer needed")).await.unwrap();
    assert!(!process_alive(pid), "the task's process outlived the abort");
    let details = ActionDetails::get_details(&client, &root).await.unwrap();
    assert_eq!(details.phase().unwrap(), ActionPhase::Aborted);
    assert_eq!(details.abort_info().unwrap().reason, "no longer needed");
    assert!(details.done());
    // Its log is complete and the stream ends.
    let lines: Vec<_> = Logs::tail(&client, &root, Some(1), Follow::Yes)
        .await
        .unwrap()
        .into_stream()
        .collect()
        .await;
    assert!(lines.iter().all(Result::is_ok));
}

/// Aborting an action that already ended changes nothing.
#[tokio::test]
async fn abort_of_a_finished_action_leaves_it_as_it_was() {
    let aerie = Aerie::start().await;
    let client = aerie.client();
    let root = aerie.create_run("done1", shell_task("ok", "true")).await;
    aerie.wait_done(&root).await;
    let run = Run::get(&client, &root.run.name).await.unwrap();
    run.abort(&client, Some("too late")).await.unwrap();
    let details = ActionDetails::get_details(&client, &root).await.unwrap();
    assert_eq!(details.phase().unwrap(), ActionPhase::Succeeded);
    assert!(details.abort_info().is_none());
}
