use crate::harness::{Aerie, shell_task, shell_task_with_retries, with_timeout};
use aerie_client::ActionSummary;
use aerie_client::{ActionDetails, ActionPhase, Follow, Logs};
use futures::StreamExt;

fn phases_of(details: &ActionDetails, attempt: usize) -> Vec<ActionPhase> {
    details.wire().attempts[attempt]
        .phase_transitions
        .iter()
        .map(|t| ActionPhase::from_i32(t.phase.to_i32()).expect("known phase"))
        .collect()
}

/// A task that exits 0 ends SUCCEEDED with every phase of its attempt recorded in order.
#[tokio::test]
async fn succeeding_task_records_every_phase_in_order() {
    let aerie = Aerie::start().await;
    let root = aerie
        .create_run("ok1", shell_task("ok", "echo hello"))
        .await;
    let details = aerie.wait_done(&root).await;
    assert_eq!(details.phase().unwrap(), ActionPhase::Succeeded);
    assert_eq!(details.attempts(), 1);
    use ActionPhase::*;
    assert_eq!(
        phases_of(&details, 0),
        [Queued, Initializing, Running, Succeeded]
    );
    assert!(details.logs_available(None));
    assert!(details.runtime() > std::time::Duration::ZERO);
}

/// A watcher that reads slowly still receives every phase after the one it started from, in
/// order, ending at the terminal one.
#[tokio::test]
async fn slow_watcher_still_sees_every_phase_in_order() {
    use ActionPhase::*;
    let lifecycle = [Queued, Initializing, Running, Succeeded];
    let aerie = Aerie::start().await;
    let client = aerie.client();
    let root = aerie.create_run("slow1", shell_task("ok", "echo hi")).await;
    let mut updates = ActionDetails::watch(&client, &root);
    let first = updates.next().await.unwrap().unwrap().phase().unwrap();
    assert_ne!(
        first, Succeeded,
        "the watch opened too late to prove anything"
    );
    // Let the whole lifecycle happen before reading on.
    aerie.wait_done(&root).await;
    let mut phases = vec![first];
    while let Some(update) = updates.next().await {
        phases.push(update.unwrap().phase().unwrap());
    }
    let start = lifecycle.iter().position(|phase| *phase == first).unwrap();
    assert_eq!(phases, lifecycle[start..]);
}

/// stdout and stderr are kept per attempt, with their newlines, and served after the exit.
#[tokio::test]
async fn task_output_is_kept_as_logs_after_exit() {
    let aerie = Aerie::start().await;
    let root = aerie
        .create_run(
            "logs1",
            shell_task("talk", "echo line-one; echo line-two 1>&2"),
        )
        .await;
    aerie.wait_done(&root).await;
    let logs = Logs::tail(&aerie.client(), &root, Some(1), Follow::Yes)
        .await
        .unwrap();
    let messages: Vec<String> = logs
        .into_stream()
        .map(|line| line.unwrap().message)
        .collect()
        .await;
    assert!(messages.contains(&"line-one\n".to_owned()), "{messages:?}");
    assert!(messages.contains(&"line-two\n".to_owned()), "{messages:?}");
}

/// An error document written by the task becomes the action's error info, whatever the exit.
#[tokio::test]
async fn error_document_becomes_error_info() {
    use aerie_client::wire::flyteidl2::core::container_error::Kind;
    use aerie_client::wire::flyteidl2::core::execution_error::ErrorKind;
    use aerie_client::wire::flyteidl2::core::{ContainerError, ErrorDocument};
    use buffa::Message;
    let aerie = Aerie::start().await;
    let document = ErrorDocument {
        error: ContainerError {
            code: "ValueError".into(),
            message: "bad value 3".into(),
            kind: Kind::NON_RECOVERABLE.into(),
            origin: ErrorKind::USER.into(),
            ..Default::default()
        }
        .into(),
        ..Default::default()
    };
    let document_path = aerie.data_dir().join("error-document.pb");
    std::fs::write(&document_path, document.encode_to_vec()).unwrap();
    // A shell task has no S3 client: it writes where the local bucket keeps its output prefix.
    let script = format!(
        "out={}/${{1#s3://aerie/}} && mkdir -p \"$out\" && cp {} \"$out/error.pb\"",
        aerie.data_dir().join("blobs").display(),
        document_path.display()
    );
    let root = aerie.create_run("err1", shell_task("fails", &script)).await;
    let details = aerie.wait_done(&root).await;
    assert_eq!(details.phase().unwrap(), ActionPhase::Failed);
    let error = details.error_info().expect("error info");
    assert_eq!(error.message, "bad value 3");
    assert_eq!(error.code, "ValueError");
    assert_eq!(error.kind.to_i32(), 1, "KIND_USER");
}

/// A crash without an error document is a SYSTEM failure that says how the process ended.
#[tokio::test]
async fn crash_without_error_document_is_a_system_error() {
    let aerie = Aerie::start().await;
    let root = aerie
        .create_run("crash1", shell_task("crash", "exit 3"))
        .await;
    let details = aerie.wait_done(&root).await;
    assert_eq!(details.phase().unwrap(), ActionPhase::Failed);
    let error = details.error_info().expect("error info");
    assert_eq!(error.code, "NonZeroExit");
    assert_eq!(error.kind.to_i32(), 2, "KIND_SYSTEM");
    assert!(error.message.contains("status 3"), "{}", error.message);
}

/// A recoverable failure is retried as a new attempt; the action never shows FAILED meanwhile.
#[tokio::test]
async fn recoverable_failure_is_retried_as_a_new_attempt() {
    let aerie = Aerie::start().await;
    let marker = aerie.data_dir().join("tried-once");
    let script = format!(
        "if [ -e {m} ]; then echo second; else touch {m}; exit 1; fi",
        m = marker.display()
    );
    let client = aerie.client();
    let root = aerie
        .create_run("retry1", shell_task_with_retries("flaky", &script, 1))
        .await;
    let mut updates = ActionDetails::watch(&client, &root);
    let mut phases = Vec::new();
    while let Some(update) = updates.next().await {
        phases.push(update.unwrap().phase().unwrap());
    }
    assert!(!phases.contains(&ActionPhase::Failed), "{phases:?}");
    let details = ActionDetails::get_details(&client, &root).await.unwrap();
    assert_eq!(details.phase().unwrap(), ActionPhase::Succeeded);
    assert_eq!(details.attempts(), 2);
    assert_eq!(
        details.wire().attempts[0].phase.to_i32(),
        ActionPhase::Failed.as_i32()
    );
    assert!(details.logs_available(Some(1)) && details.logs_available(Some(2)));
}

/// An attempt that runs past the task's timeout is killed and the action ends TIMED_OUT with
/// the code the SDK maps to `MaxRuntimeExceededError`.
#[tokio::test]
async fn attempt_past_its_timeout_ends_timed_out() {
    let aerie = Aerie::start().await;
    let spec = with_timeout(
        shell_task("slow", "sleep 30"),
        std::time::Duration::from_secs(1),
    );
    let root = aerie.create_run("timeout1", spec).await;
    let started = std::time::Instant::now();
    let details = aerie.wait_done(&root).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert_eq!(details.phase().unwrap(), ActionPhase::TimedOut);
    assert_eq!(details.error_info().unwrap().code, "MAX_RUNTIME_EXCEEDED");
}
