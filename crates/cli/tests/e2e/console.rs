use crate::harness::{Aerie, http, shell_task};

/// The console page answers at `/` and at the URLs the SDK prints, with its script and style;
/// what it shows comes over Connect JSON, the same RPCs the SDK calls.
#[tokio::test]
async fn the_console_is_served_where_the_sdk_points_and_reads_runs_over_connect_json() {
    let aerie = Aerie::start().await;
    let root = aerie
        .create_run("page1", shell_task("talk", "echo from-the-task"))
        .await;
    aerie.wait_done(&root).await;
    let run_page = "/v2/domain/development/project/flytesnacks/runs/page1";
    for path in [
        "/",
        run_page,
        "/v2/domain/development/project/flytesnacks/runs",
    ] {
        let (status, page) = http(&aerie.endpoint, "GET", path, "text/html", b"").await;
        assert_eq!(status, 200, "{path}: {page}");
        assert!(page.contains("/console/console.js"), "{path}: {page}");
    }
    for asset in ["/console/console.js", "/console/console.css"] {
        let (status, body) = http(&aerie.endpoint, "GET", asset, "text/plain", b"").await;
        assert_eq!(status, 200, "{asset}");
        assert!(body.len() > 1000, "{asset} is the built asset");
    }
    let request =
        br#"{"runId": {"project": "flytesnacks", "domain": "development", "name": "page1"}}"#;
    let (status, details) = http(
        &aerie.endpoint,
        "POST",
        "/flyteidl2.workflow.RunService/GetRunDetails",
        "application/json",
        request,
    )
    .await;
    assert_eq!(status, 200, "{details}");
    assert!(
        details.contains("\"page1\"") && details.contains("ACTION_PHASE_SUCCEEDED"),
        "{details}"
    );
}

/// The console's download links are offered only for data the run may read, with Connect's
/// error codes for the rest (the browser tests download a real file).
#[tokio::test]
async fn console_download_links_cover_only_what_the_run_may_read() {
    let aerie = Aerie::start().await;
    let mine = aerie.create_run("mine", shell_task("quiet", "true")).await;
    aerie.wait_done(&mine).await;
    let other = aerie.create_run("other", shell_task("quiet", "true")).await;
    aerie.wait_done(&other).await;
    let files = |run: &str, uri: &str| {
        format!(
            "/console/api/files?project=flytesnacks&domain=development&run={run}&uri={}",
            uri.replace('/', "%2F").replace(':', "%3A")
        )
    };
    let prefix = "s3://aerie/runs/flytesnacks/development";
    let (status, body) = http(
        &aerie.endpoint,
        "GET",
        &files("mine", &format!("{prefix}/mine/a0/1")),
        "",
        b"",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, r#"{"files":[]}"#, "its own (empty) folder lists");
    let (status, body) = http(
        &aerie.endpoint,
        "GET",
        &files("mine", &format!("{prefix}/other/a0/1/note.txt")),
        "",
        b"",
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("permission_denied"), "{body}");
    let (status, body) = http(&aerie.endpoint, "GET", &files("nosuchrun", prefix), "", b"").await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = http(
        &aerie.endpoint,
        "GET",
        &files("mine", "file:///etc/passwd"),
        "",
        b"",
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(!body.contains("/etc"), "names no server path: {body}");
}
