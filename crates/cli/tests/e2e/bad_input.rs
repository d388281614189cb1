use crate::harness::{Aerie, http, shell_task};
use aerie_client::ActionSummary;
use aerie_client::{ActionDetails, ActionPhase, ErrorCode};

const GET_ACTION: &str = "/flyteidl2.workflow.RunService/GetActionDetails";
const CREATE_RUN: &str = "/flyteidl2.workflow.RunService/CreateRun";
const UPLOAD: &str = "/flyteidl2.dataproxy.DataProxyService/CreateUploadLocation";

/// Unknown runs and actions are `not_found`, through the client and on the wire.
#[tokio::test]
async fn unknown_run_or_action_is_not_found() {
    let aerie = Aerie::start().await;
    let client = aerie.client();
    let err = ActionDetails::get(&client, "flyte://v1/flytesnacks/development/nosuchrun")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NotFound), "{err}");
    let body = br#"{"actionId":{"run":{"project":"p","domain":"d","name":"nope"},"name":"a0"}}"#;
    let (status, text) = http(
        &aerie.endpoint,
        "POST",
        GET_ACTION,
        "application/json",
        body,
    )
    .await;
    assert_eq!(status, 404);
    assert!(text.contains("\"code\":\"not_found\""), "{text}");
}

/// Path-like and malformed names are `invalid_argument`, and nothing lands outside the data
/// directory.
#[tokio::test]
async fn path_like_names_are_invalid_and_write_nothing_outside() {
    let aerie = Aerie::start().await;
    let outside = aerie.data_dir().parent().unwrap().to_path_buf();
    let before: Vec<_> = std::fs::read_dir(&outside)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    for body in [
        r#"{"actionId":{"run":{"project":"../../etc","domain":"d","name":"r"},"name":"a0"}}"#,
        r#"{"actionId":{"run":{"project":"p","domain":"d","name":"a/b"},"name":"a0"}}"#,
        r#"{"actionId":{"run":{"project":"p","domain":"d","name":"r"},"name":""}}"#,
    ] {
        let (status, text) = http(
            &aerie.endpoint,
            "POST",
            GET_ACTION,
            "application/json",
            body.as_bytes(),
        )
        .await;
        assert_eq!(status, 400, "{body}: {text}");
        assert!(text.contains("invalid_argument"), "{text}");
    }
    let create = r#"{"runId":{"project":"flytesnacks","domain":"development","name":"../escape"},"taskSpec":{}}"#;
    let (status, text) = http(
        &aerie.endpoint,
        "POST",
        CREATE_RUN,
        "application/json",
        create.as_bytes(),
    )
    .await;
    assert_eq!(status, 400, "{text}");
    let upload =
        r#"{"project":"flytesnacks","domain":"development","filename":"../../escape.tgz"}"#;
    let (status, text) = http(
        &aerie.endpoint,
        "POST",
        UPLOAD,
        "application/json",
        upload.as_bytes(),
    )
    .await;
    assert_eq!(status, 400, "{text}");
    let after: Vec<_> = std::fs::read_dir(&outside)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(
        before.len(),
        after.len(),
        "something was written beside the data dir"
    );
}

/// Garbage bodies, wrong content types and oversized bodies each get a clear error; the server
/// keeps serving and an earlier run is intact.
#[tokio::test]
async fn garbage_wrong_type_and_oversized_bodies_are_refused_cleanly() {
    let aerie = Aerie::start().await;
    let root = aerie
        .create_run("intact1", shell_task("ok", "echo fine"))
        .await;
    let before = aerie.wait_done(&root).await;

    let (status, text) = http(
        &aerie.endpoint,
        "POST",
        GET_ACTION,
        "application/proto",
        b"\xff\xff\xff\x01junk",
    )
    .await;
    assert_eq!(status, 400);
    assert!(text.contains("invalid_argument"), "{text}");

    let (status, text) = http(&aerie.endpoint, "POST", GET_ACTION, "text/plain", b"hello").await;
    assert_eq!(status, 415, "{text}");
    assert!(
        text.contains("text/plain") && text.contains("is not supported"),
        "{text}"
    );

    let oversized = vec![0u8; 40 * 1024 * 1024];
    let (status, text) = http(
        &aerie.endpoint,
        "POST",
        GET_ACTION,
        "application/proto",
        &oversized,
    )
    .await;
    assert_eq!(status, 429, "{text}");
    assert!(text.contains("resource_exhausted"), "{text}");

    let after = ActionDetails::get_details(&aerie.client(), &root)
        .await
        .unwrap();
    assert_eq!(after.phase().unwrap(), ActionPhase::Succeeded);
    assert_eq!(after.wire(), before.wire());
}
