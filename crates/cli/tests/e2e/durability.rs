//! Nothing acknowledged is lost (issue #5): a reply is sent only once its write is durable, and
//! a failed write (a full disk) fails exactly the requests it touched, leaves the writer usable,
//! and loses nothing that was acknowledged.

use crate::harness::{Aerie, PATIENCE, shell_task};
use aerie_client::ErrorCode;
use aerie_client::wire::flyteidl2::common::{ActionIdentifier, OffloadedInputData, RunIdentifier};
use aerie_client::wire::flyteidl2::workflow::__buffa::oneof::create_run_request;
use aerie_client::wire::flyteidl2::workflow::{
    CreateRunRequest, GetActionDataURIsRequest, GetRunDetailsRequest, RunServiceClient,
};
use connectrpc::client::{ClientConfig, HttpClient};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn runs_client(endpoint: &str) -> RunServiceClient<HttpClient> {
    RunServiceClient::new(
        HttpClient::plaintext(),
        ClientConfig::new(format!("http://{endpoint}").parse().unwrap()),
    )
}

fn run_identifier(name: &str) -> RunIdentifier {
    RunIdentifier {
        project: "flytesnacks".into(),
        domain: "development".into(),
        name: name.into(),
        ..Default::default()
    }
}

/// Asks for a run whose inputs are already stored at `input_uri`, so the database is the only
/// thing CreateRun writes.
async fn create_with_inputs_at(
    runs: &RunServiceClient<HttpClient>,
    name: &str,
    input_uri: &str,
) -> Result<(), connectrpc::ConnectError> {
    let request = CreateRunRequest {
        id: Some(create_run_request::Id::RunId(Box::new(run_identifier(
            name,
        )))),
        task: Some(create_run_request::Task::TaskSpec(Box::new(shell_task(
            "durable", "true",
        )))),
        input_wrapper: Some(create_run_request::InputWrapper::OffloadedInputData(
            Box::new(OffloadedInputData {
                uri: input_uri.into(),
                ..Default::default()
            }),
        )),
        ..Default::default()
    };
    runs.create_run(request).await.map(drop)
}

/// Whether the server knows the run `name`; any answer but found / not found fails the test.
async fn run_exists(runs: &RunServiceClient<HttpClient>, name: &str) -> bool {
    let request = GetRunDetailsRequest {
        run_id: run_identifier(name).into(),
        ..Default::default()
    };
    match runs.get_run_details(request).await {
        Ok(_) => true,
        Err(err) if err.code == ErrorCode::NotFound => false,
        Err(err) => panic!("GetRunDetails {name}: {err:?}"),
    }
}

/// A reply is never sent before its write is durable: every run acknowledged while a burst of
/// CreateRuns is in flight is there after the server is killed with SIGKILL right after the
/// replies and restarted (group commit on: the burst is committed in shared transactions).
#[tokio::test]
async fn acknowledged_runs_survive_a_kill_right_after_the_reply() {
    let mut aerie = Aerie::start_with(&["--executor", "noop"]).await;
    let runs = runs_client(&aerie.endpoint);
    let (acked_tx, mut acked_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut burst = tokio::task::JoinSet::new();
    for index in 0..200 {
        let aerie_endpoint = aerie.endpoint.clone();
        let acked_tx = acked_tx.clone();
        burst.spawn(async move {
            let name = format!("burst{index}");
            let runs = runs_client(&aerie_endpoint);
            let request = CreateRunRequest {
                id: Some(create_run_request::Id::RunId(Box::new(run_identifier(
                    &name,
                )))),
                task: Some(create_run_request::Task::TaskSpec(Box::new(shell_task(
                    "durable", "true",
                )))),
                input_wrapper: Some(create_run_request::InputWrapper::Inputs(Box::default())),
                ..Default::default()
            };
            if runs.create_run(request).await.is_ok() {
                let _ = acked_tx.send(name);
            }
        });
    }
    drop(acked_tx);
    let mut acknowledged = Vec::new();
    while acknowledged.len() < 100 {
        let name = tokio::time::timeout(PATIENCE, acked_rx.recv())
            .await
            .expect("replies arrive")
            .expect("the burst acknowledges at least 100 runs");
        acknowledged.push(name);
    }
    aerie.kill().await;
    // Replies that raced the kill were acknowledged too; they must be there as well.
    while let Ok(name) = acked_rx.try_recv() {
        acknowledged.push(name);
    }
    burst.abort_all();
    aerie.restart().await;
    let runs_after = runs_client(&aerie.endpoint);
    for name in &acknowledged {
        assert!(
            run_exists(&runs_after, name).await,
            "run {name} was acknowledged before the kill but is gone after the restart"
        );
    }
    drop(runs);
}

/// A tmpfs mounted for one test; unmounted when dropped.
struct Tmpfs {
    mount_point: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Self {
        let mount_point = tempfile::tempdir().expect("mount point");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(mount_point.path())
            .status()
            .expect("running mount");
        assert!(
            status.success(),
            "mounting a tmpfs failed ({status}); this test needs root to mount a small filesystem"
        );
        Self { mount_point }
    }

    fn path(&self) -> &Path {
        self.mount_point.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.mount_point.path())
            .status();
    }
}

/// Writes zeros to `path` until the filesystem is full.
fn fill(path: &Path) {
    use std::io::Write;
    let mut file = std::fs::File::create(path).expect("filler file");
    let chunk = vec![0u8; 64 * 1024];
    loop {
        match file.write_all(&chunk) {
            Ok(()) => {}
            Err(err) if err.raw_os_error() == Some(libc::ENOSPC) => break,
            Err(err) => panic!("filling the disk: {err}"),
        }
    }
    // Fill the last partial chunk too, a byte at a time.
    while file.write_all(&[0]).is_ok() {}
}

/// A full disk under a live server: every CreateRun is either acknowledged or refused with
/// `resource_exhausted` and a message that says the disk is full without naming a server path;
/// once space is freed the same server accepts writes again; after a restart every
/// acknowledged run is there and no refused one is.
#[tokio::test]
async fn a_full_disk_refuses_writes_cleanly_and_loses_nothing_acknowledged() {
    let tmpfs = Tmpfs::mount("6m");
    let data_dir: PathBuf = tmpfs.path().to_path_buf();
    let root = tempfile::tempdir().expect("root");
    let mut aerie = Aerie::start_in(root, data_dir.clone(), &["--executor", "noop"]).await;
    let runs = runs_client(&aerie.endpoint);
    aerie.create_run("seed", shell_task("seed", "true")).await;
    let input_uri = runs
        .get_action_data_ur_is(GetActionDataURIsRequest {
            action_id: ActionIdentifier {
                run: run_identifier("seed").into(),
                name: "a0".into(),
                ..Default::default()
            }
            .into(),
            ..Default::default()
        })
        .await
        .expect("the seed run's inputs")
        .into_owned()
        .inputs_uri;

    let mut acknowledged = vec!["seed".to_owned()];
    let filler = data_dir.join("filler");
    fill(&filler);
    let mut refused = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    let mut index = 0;
    // Keep writing until the database has refused a good number of writes.
    while refused.len() < 20 {
        assert!(
            Instant::now() < deadline,
            "the full disk never refused a write"
        );
        let name = format!("full{index}");
        index += 1;
        match create_with_inputs_at(&runs, &name, &input_uri).await {
            Ok(()) => acknowledged.push(name),
            Err(err) => {
                assert_eq!(err.code, ErrorCode::ResourceExhausted, "{err:?}");
                let message = err.message.clone().unwrap_or_default();
                assert!(message.contains("disk full"), "{message}");
                assert!(
                    !message.contains(data_dir.to_str().unwrap()),
                    "the error names a server path: {message}"
                );
                refused.push(name);
            }
        }
    }

    std::fs::remove_file(&filler).expect("freeing space");
    let mut recovered = None;
    for attempt in 0..50 {
        let name = format!("after{attempt}");
        if create_with_inputs_at(&runs, &name, &input_uri)
            .await
            .is_ok()
        {
            recovered = Some(name);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let recovered = recovered.expect("the writer accepts writes again once space is free");
    acknowledged.push(recovered);

    aerie.terminate().await;
    aerie.restart().await;
    let runs = runs_client(&aerie.endpoint);
    for name in &acknowledged {
        assert!(
            run_exists(&runs, name).await,
            "acknowledged run {name} was lost"
        );
    }
    for name in &refused {
        assert!(!run_exists(&runs, name).await, "refused run {name} exists");
    }
    drop(aerie);
}
