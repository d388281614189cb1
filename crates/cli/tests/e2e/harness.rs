//! A real `aerie serve` on a port the OS picks, in its own data directory, plus the few raw
//! RPCs tests need beyond the client (creating runs from hand-built task specs).
//!
//! Tasks here are shell scripts: the executor runs a task's container arguments as given, so a
//! spec whose arguments are `sh -c SCRIPT sh {{.outputPrefix}}` runs SCRIPT with the attempt's
//! output prefix in `$1`, with no Python involved.

use aerie_client::ActionSummary;
use aerie_client::wire::flyteidl2::common::RunIdentifier;
use aerie_client::wire::flyteidl2::core::__buffa::oneof::task_template::Target;
use aerie_client::wire::flyteidl2::core::{
    Container, Identifier, RetryStrategy, TaskMetadata, TaskTemplate,
};
use aerie_client::wire::flyteidl2::task::TaskSpec;
use aerie_client::wire::flyteidl2::workflow::__buffa::oneof::create_run_request;
use aerie_client::wire::flyteidl2::workflow::{CreateRunRequest, RunServiceClient};
use aerie_client::{ActionDetails, ActionId, ActionPhase, Client, RunName};
use connectrpc::client::{ClientConfig, HttpClient};
use futures::StreamExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long a test waits for a server to become ready or an action to finish.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A running `aerie serve`.
pub struct Aerie {
    child: Option<Child>,
    /// Private parent of the data directory, so tests can check nothing lands beside it.
    _root: tempfile::TempDir,
    data_dir: PathBuf,
    /// Extra `aerie serve` arguments, kept for restarts.
    args: Vec<String>,
    pub endpoint: String,
}

impl Aerie {
    /// Starts aerie in a fresh data directory.
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Starts aerie in a fresh data directory with extra `aerie serve` arguments.
    pub async fn start_with(args: &[&str]) -> Self {
        let root = tempfile::tempdir().expect("temp dir");
        let data_dir = root.path().join("data");
        std::fs::create_dir(&data_dir).expect("data dir");
        Self::start_in(root, data_dir, args).await
    }

    /// Starts aerie with its data in `data_dir` (kept alive by `root`).
    pub async fn start_in(root: tempfile::TempDir, data_dir: PathBuf, args: &[&str]) -> Self {
        let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
        let (child, endpoint) = spawn_server(&data_dir, &args).await;
        Self {
            child: Some(child),
            _root: root,
            data_dir,
            args,
            endpoint,
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child
            .as_ref()
            .and_then(Child::id)
            .expect("aerie is running")
    }

    /// The data directory the server keeps everything in.
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.clone()
    }

    /// Where the local bucket keeps the object `uri` (`s3://aerie/KEY`) on disk.
    pub fn blob_path(&self, uri: &str) -> PathBuf {
        let key = uri
            .strip_prefix("s3://aerie/")
            .expect("a URI in aerie's bucket");
        self.data_dir.join("blobs").join(key)
    }

    /// Kills the server with SIGKILL, as a crash would.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("killing aerie");
        }
    }

    /// Stops the server with SIGTERM and waits for a clean exit.
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("aerie is running");
        let pid = child.id().expect("pid") as i32;
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        tokio::time::timeout(PATIENCE, child.wait())
            .await
            .expect("aerie stops")
            .expect("wait")
    }

    /// Starts the server again on the same data directory (a new port).
    pub async fn restart(&mut self) {
        if self.child.is_some() {
            self.terminate().await;
        }
        let (child, endpoint) = spawn_server(&self.data_dir, &self.args).await;
        self.child = Some(child);
        self.endpoint = endpoint;
    }

    /// Stops the server and starts it again on the same data directory with `args` instead of
    /// the ones it had.
    pub async fn restart_with(&mut self, args: &[&str]) {
        self.args = args.iter().map(|arg| (*arg).to_owned()).collect();
        self.restart().await;
    }

    /// Makes an API key `name` with `role` (`admin`, `read-only`) in the server's data
    /// directory and returns it encoded, as `FLYTE_API_KEY` takes it.
    pub async fn api_key(&self, name: &str, role: &str) -> String {
        let made = Command::new(env!("CARGO_BIN_EXE_aerie"))
            .args(["apikey", "create", name, "--role", role, "--data-dir"])
            .arg(&self.data_dir)
            .output()
            .await
            .expect("aerie apikey create runs");
        let stdout = String::from_utf8_lossy(&made.stdout);
        assert!(made.status.success(), "apikey create failed: {stdout}");
        stdout
            .lines()
            .find_map(|line| line.strip_prefix("api key:"))
            .expect("the key is printed")
            .trim()
            .to_owned()
    }

    /// The aerie Rust client, connected over the network.
    pub fn client(&self) -> Client {
        Client::connect(&self.endpoint).expect("client")
    }

    /// Creates a run of `spec` and returns its root action.
    pub async fn create_run(&self, name: &str, spec: TaskSpec) -> ActionId {
        self.try_create_run(name, spec).await.expect("CreateRun");
        let run: RunName = name.parse().unwrap();
        self.client()
            .action_id(run, aerie_client::ActionName::root())
    }

    /// Asks for a run of `spec`; returns the server's answer.
    pub async fn try_create_run(
        &self,
        name: &str,
        spec: TaskSpec,
    ) -> Result<(), connectrpc::ConnectError> {
        let runs = RunServiceClient::new(
            HttpClient::plaintext(),
            ClientConfig::new(format!("http://{}", self.endpoint).parse().unwrap()),
        );
        let request = CreateRunRequest {
            id: Some(create_run_request::Id::RunId(Box::new(RunIdentifier {
                project: "flytesnacks".into(),
                domain: "development".into(),
                name: name.into(),
                ..Default::default()
            }))),
            task: Some(create_run_request::Task::TaskSpec(Box::new(spec))),
            input_wrapper: Some(create_run_request::InputWrapper::Inputs(Box::default())),
            ..Default::default()
        };
        runs.create_run(request).await.map(drop)
    }

    /// Runs `aerie ARGS… --endpoint <this server>` (no `AERIE_ENDPOINT` from outside) and
    /// returns what it printed and how it exited.
    pub async fn cli(&self, args: &[&str]) -> std::process::Output {
        let run = Command::new(env!("CARGO_BIN_EXE_aerie"))
            .args(args)
            .args(["--endpoint", &self.endpoint])
            .env_remove("AERIE_ENDPOINT")
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output();
        tokio::time::timeout(PATIENCE, run)
            .await
            .unwrap_or_else(|_| panic!("aerie {args:?} finishes in time"))
            .expect("the aerie binary runs")
    }

    /// Waits until the action reaches a terminal phase and returns its details.
    pub async fn wait_done(&self, action: &ActionId) -> ActionDetails {
        let client = self.client();
        let mut updates = ActionDetails::watch(&client, action);
        let mut last = None;
        tokio::time::timeout(PATIENCE, async {
            while let Some(update) = updates.next().await {
                last = Some(update.expect("watch update"));
            }
        })
        .await
        .expect("action finishes in time");
        let details = last.expect("at least one update");
        assert!(details.done(), "watch ended before the action was done");
        details
    }

    /// Waits until the action is in `phase`.
    pub async fn wait_for_phase(&self, action: &ActionId, phase: ActionPhase) -> ActionDetails {
        let client = self.client();
        let mut updates = ActionDetails::watch(&client, action);
        tokio::time::timeout(PATIENCE, async {
            while let Some(update) = updates.next().await {
                let update = update.expect("watch update");
                if update.phase().expect("phase") == phase {
                    return update;
                }
            }
            panic!("watch ended before {phase}");
        })
        .await
        .expect("phase reached in time")
    }
}

impl Drop for Aerie {
    fn drop(&mut self) {
        if let Some(pid) = self.child.as_mut().and_then(|child| child.id()) {
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
    }
}

/// Where the server started on `data_dir` writes its log: beside the data directory, so a full
/// data directory never stops the log.
fn log_path_for(data_dir: &Path) -> PathBuf {
    let name = data_dir
        .file_name()
        .map_or_else(|| "data".into(), |name| name.to_string_lossy().into_owned());
    data_dir.with_file_name(format!("{name}.server.log"))
}

async fn spawn_server(data_dir: &Path, args: &[String]) -> (Child, String) {
    let log_path = log_path_for(data_dir);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .expect("log file");
    let mut command = Command::new(env!("CARGO_BIN_EXE_aerie"));
    command
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(args)
        .env_remove("AERIE_DATABASE")
        .env_remove("AERIE_PYTHON_ENV")
        .env_remove("AERIE_ADDR")
        .env_remove("AERIE_HOME")
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .kill_on_drop(true);
    let mut child = command.spawn().expect("starting aerie");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let ready = tokio::time::timeout(PATIENCE, lines.next_line()).await;
    let line = match ready {
        Ok(Ok(Some(line))) => line,
        other => panic!(
            "aerie did not report ready ({other:?}); its log:\n{}",
            std::fs::read_to_string(&log_path).unwrap_or_default()
        ),
    };
    let endpoint = line
        .strip_prefix("aerie ready on http://")
        .or_else(|| line.strip_prefix("aerie ready on https://"))
        .unwrap_or_else(|| panic!("unexpected ready line {line:?}"))
        .to_owned();
    (child, endpoint)
}

/// Writes a test CA and a certificate it signed for `localhost` and `127.0.0.1` into `dir`;
/// returns the paths of the CA certificate, the server certificate and its key (PEM).
pub fn tls_files(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "aerie test CA");
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca, &ca_key)
        .unwrap();
    let paths = (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    );
    std::fs::write(&paths.0, ca.pem()).unwrap();
    std::fs::write(&paths.1, leaf.pem()).unwrap();
    std::fs::write(&paths.2, leaf_key.serialize_pem()).unwrap();
    paths
}

/// A task that runs `script` with `sh`; `$1` is the attempt's output prefix.
pub fn shell_task(name: &str, script: &str) -> TaskSpec {
    shell_task_with_retries(name, script, 0)
}

/// Like [`shell_task`] with `retries` extra attempts.
pub fn shell_task_with_retries(name: &str, script: &str, retries: u32) -> TaskSpec {
    let container = Container {
        args: vec![
            "sh".into(),
            "-c".into(),
            script.into(),
            "sh".into(),
            "{{.outputPrefix}}".into(),
        ],
        ..Default::default()
    };
    let template = TaskTemplate {
        id: Identifier {
            project: "flytesnacks".into(),
            domain: "development".into(),
            name: name.into(),
            version: "v1".into(),
            ..Default::default()
        }
        .into(),
        r#type: "python".into(),
        metadata: TaskMetadata {
            retries: RetryStrategy {
                retries,
                ..Default::default()
            }
            .into(),
            ..Default::default()
        }
        .into(),
        target: Some(Target::Container(Box::new(container))),
        ..Default::default()
    };
    TaskSpec {
        task_template: template.into(),
        short_name: name.into(),
        ..Default::default()
    }
}

/// `spec` with a limit on each attempt's running time.
pub fn with_timeout(mut spec: TaskSpec, limit: Duration) -> TaskSpec {
    let metadata = spec
        .task_template
        .get_or_insert_default()
        .metadata
        .get_or_insert_default();
    metadata.timeout = buffa_types::google::protobuf::Duration {
        seconds: limit.as_secs() as i64,
        nanos: limit.subsec_nanos() as i32,
        ..Default::default()
    }
    .into();
    spec
}

/// One HTTP/1.1 request; returns the status code and the body.
pub async fn http(
    endpoint: &str,
    method: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(endpoint)
        .await
        .expect("connect");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {endpoint}\r\ncontent-type: {content_type}\r\n\
         connect-protocol-version: 1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("write head");
    // The server may answer and close before an oversized body is fully sent.
    let _ = stream.write_all(body).await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    (status, body)
}
