use crate::harness::{Aerie, shell_task};
use aerie_client::ActionSummary;
use aerie_client::{ActionDetails, ActionPhase, Follow, Logs};
use futures::StreamExt;

/// A server killed with SIGKILL mid-attempt loses nothing: after restart the interrupted
/// attempt is recorded as a SYSTEM failure and a new attempt runs the task to success.
#[tokio::test]
async fn killed_server_resumes_the_interrupted_action() {
    let mut aerie = Aerie::start().await;
    let root = aerie
        .create_run("crash2", shell_task("slow", "sleep 2; echo finished"))
        .await;
    aerie.wait_for_phase(&root, ActionPhase::Running).await;
    aerie.kill().await;
    aerie.restart().await;
    let details = aerie.wait_done(&root).await;
    assert_eq!(details.phase().unwrap(), ActionPhase::Succeeded);
    assert_eq!(details.attempts(), 2);
    let first = &details.wire().attempts[0];
    assert_eq!(first.phase.to_i32(), ActionPhase::Failed.as_i32());
    assert_eq!(first.error_info.code, "AerieRestarted");
}

/// Records and logs outlive a clean restart.
#[tokio::test]
async fn records_and_logs_survive_a_restart() {
    let mut aerie = Aerie::start().await;
    let root = aerie
        .create_run("keep1", shell_task("talk", "echo kept"))
        .await;
    let before = aerie.wait_done(&root).await;
    let status = aerie.terminate().await;
    assert!(status.success(), "aerie exited with {status}");
    aerie.restart().await;
    let client = aerie.client();
    let after = ActionDetails::get_details(&client, &root).await.unwrap();
    assert_eq!(after.wire(), before.wire());
    let messages: Vec<String> = Logs::tail(&client, &root, Some(1), Follow::Yes)
        .await
        .unwrap()
        .into_stream()
        .map(|line| line.unwrap().message)
        .collect()
        .await;
    assert!(messages.contains(&"kept\n".to_owned()), "{messages:?}");
}

/// What an interrupted attempt started outlives neither aerie's crash nor its restart: the
/// restart ends the attempt's leftover processes before the retry runs.
#[tokio::test]
async fn restart_ends_processes_an_interrupted_attempt_left_behind() {
    let mut aerie = Aerie::start().await;
    let pid_file = aerie.data_dir().join("leftover.pid");
    let script = format!(
        "if [ \"$FLYTE_ATTEMPT_NUMBER\" = 0 ]; then sleep 300 & echo $! > {pid}; sleep 300; else echo retried; fi",
        pid = pid_file.display()
    );
    let root = aerie
        .create_run("orphan1", shell_task("spawner", &script))
        .await;
    aerie.wait_for_phase(&root, ActionPhase::Running).await;
    let leftover: i32 = loop {
        if let Some(pid) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|text| text.trim().parse().ok())
        {
            break pid;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    aerie.kill().await;
    // Running means present and not a zombie waiting for a reaper.
    let alive = || {
        std::fs::read_to_string(format!("/proc/{leftover}/stat"))
            .map(|stat| {
                let state = stat[stat.rfind(')').unwrap() + 1..]
                    .split_whitespace()
                    .next();
                state != Some("Z")
            })
            .unwrap_or(false)
    };
    assert!(alive(), "the background child should outlive aerie's crash");
    aerie.restart().await;
    let details = aerie.wait_done(&root).await;
    assert_eq!(details.phase().unwrap(), ActionPhase::Succeeded);
    assert!(
        !alive(),
        "the interrupted attempt's leftover process is still running"
    );
}
