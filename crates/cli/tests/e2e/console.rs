use crate::harness::{Aerie, http, shell_task};

/// The console URL the SDK prints shows the run's actions, phases and a link to each attempt's
/// log, which serves the captured output; an unknown run is a 404 page, a bad name a 400.
#[tokio::test]
async fn console_shows_the_run_its_actions_and_their_logs() {
    let aerie = Aerie::start().await;
    let root = aerie
        .create_run("page1", shell_task("talk", "echo from-the-task"))
        .await;
    aerie.wait_done(&root).await;
    let base = "/v2/domain/development/project/flytesnacks/runs";
    let (status, page) = http(
        &aerie.endpoint,
        "GET",
        &format!("{base}/page1"),
        "text/html",
        b"",
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Run page1") && page.contains("SUCCEEDED"),
        "{page}"
    );
    let log_path = format!("{base}/page1/actions/a0/attempts/1/logs");
    assert!(page.contains(&log_path), "{page}");
    let (status, log) = http(&aerie.endpoint, "GET", &log_path, "text/plain", b"").await;
    assert_eq!(status, 200);
    assert!(log.contains("from-the-task\n"), "{log}");
    let (status, list) = http(&aerie.endpoint, "GET", base, "text/html", b"").await;
    assert_eq!(status, 200);
    assert!(list.contains("page1"), "{list}");
    let (status, _) = http(
        &aerie.endpoint,
        "GET",
        &format!("{base}/nosuchrun"),
        "text/html",
        b"",
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = http(
        &aerie.endpoint,
        "GET",
        &format!("{base}/bad..%2Fname"),
        "text/html",
        b"",
    )
    .await;
    assert_eq!(status, 400);
}
