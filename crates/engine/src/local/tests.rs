//! The local executor with real processes: a SQLite store, blob root, log directory and work
//! directory in a temp dir, and tasks that are shell scripts.

use super::*;
use crate::executor::AttemptControl;
use aerie_core::{ActionKind, ActionSpec, ActionState, ErrorKind, Org, RunId, Timestamp};
use aerie_store::{Backend, NewAction, NewRun};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::process::Command;
use std::time::Instant;

/// Longest a test waits for a process to appear, end or an outcome to resolve.
const PATIENCE: Duration = Duration::from_secs(15);

/// A local executor in its own temp dir.
struct Fixture {
    dir: tempfile::TempDir,
    executor: LocalExecutor,
}

impl Fixture {
    async fn new() -> Self {
        Self::with(|_| {}).await
    }

    /// A fixture whose configuration `adjust` changes first.
    async fn with(adjust: impl FnOnce(&mut LocalConfig)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&Backend::Sqlite {
            path: dir.path().join("aerie.db"),
        })
        .await
        .expect("store");
        let mut config = LocalConfig {
            work_dir: dir.path().join("work"),
            python_env: None,
            endpoint: "127.0.0.1:9".into(),
            env_allow: Vec::new(),
            attempt_env: None,
        };
        adjust(&mut config);
        let executor = LocalExecutor {
            store,
            blobs: Blobs::local(&dir.path().join("blobs")).expect("blobs"),
            logs: LogStore::new(&dir.path().join("logs")),
            config,
        };
        Self { dir, executor }
    }

    /// A file path in the fixture's temp dir, for scripts to leave pids in.
    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Stores a run whose root action runs `sh -c script` with container variables `env`.
    async fn action(&self, script: &str, env: &[(&str, &str)]) -> ActionRecord {
        let mut spec = ActionSpec::trace("shell", "");
        spec.kind = ActionKind::Task;
        spec.launch = Some(Launch::Container {
            args: ["sh", "-c", script].map(String::from).to_vec(),
            env: env
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
        });
        let run = RunId {
            project: "p".parse().unwrap(),
            domain: "d".parse().unwrap(),
            name: "r1".parse().unwrap(),
        };
        let created = self
            .executor
            .store
            .create_run(NewRun {
                id: run,
                org: Org::parse("").unwrap(),
                created_by: "tester".into(),
                run_spec: Vec::new(),
                labels: Vec::new(),
                trigger: None,
                fire: None,
                root: NewAction {
                    name: "a0".parse().unwrap(),
                    parent: None,
                    spec,
                    wire_spec: Vec::new(),
                    input_uri: self.executor.blobs.uri("inputs.pb"),
                    run_output_base: self.executor.blobs.uri("runs/r1"),
                    group: String::new(),
                    state: ActionState::queued(Timestamp::now()),
                },
            })
            .await
            .expect("creating the run");
        created.root
    }

    /// Starts the first attempt of `action`.
    async fn start(&self, action: &ActionRecord) -> Result<Started, ErrorInfo> {
        self.executor
            .start(AttemptToStart { action, attempt: 1 })
            .await
    }

    /// The messages of the first attempt's log.
    async fn log_messages(&self, action: &ActionRecord) -> Vec<String> {
        let (lines, _) = self
            .executor
            .logs
            .read_from(&action.id, 1, 0)
            .await
            .expect("reading the log")
            .expect("the attempt has a log");
        lines.into_iter().map(|line| line.message).collect()
    }
}

/// Kills a process the attempt could not be expected to find, when the test ends.
struct KillOnDrop(u32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-9", &self.0.to_string()])
            .status();
    }
}

/// A tmpfs mounted for one test, unmounted when dropped; needs root, like the e2e suite.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    /// A tmpfs with room for nothing but its own root directory.
    fn full() -> Self {
        Self::mount("size=1m,nr_inodes=1")
    }

    /// A tmpfs mounted with `options`.
    fn mount(options: &str) -> Self {
        let mount_point = tempfile::tempdir().expect("mount point");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(mount_point.path())
            .status()
            .expect("running mount");
        assert!(
            status.success(),
            "mounting a tmpfs failed ({status}); this test needs root to fill a filesystem"
        );
        Self(mount_point)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

/// Waits until the script has written a pid to `path`.
async fn pid_written_to(path: &Path) -> u32 {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(pid) = std::fs::read_to_string(path)
            .ok()
            .and_then(|text| text.trim().parse().ok())
        {
            return pid;
        }
        assert!(Instant::now() < deadline, "no pid in {}", path.display());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether `pid` has exited (gone, or a zombie nobody reaped yet).
fn has_exited(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat[stat.rfind(')').unwrap() + 1..]
            .trim_start()
            .starts_with('Z'),
        Err(_) => true,
    }
}

/// Waits until `pid` has exited.
async fn exited(pid: u32) {
    let deadline = Instant::now() + PATIENCE;
    while !has_exited(pid) {
        assert!(Instant::now() < deadline, "process {pid} still runs");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The variables a running process was started with.
fn environment_of(pid: u32) -> Vec<(String, String)> {
    let environ = std::fs::read(format!("/proc/{pid}/environ")).expect("reading environ");
    environ
        .split(|&byte| byte == 0)
        .filter(|variable| !variable.is_empty())
        .map(|variable| {
            let variable = String::from_utf8_lossy(variable);
            let (name, value) = variable.split_once('=').expect("NAME=value");
            (name.to_owned(), value.to_owned())
        })
        .collect()
}

/// Hands every attempt the same variables.
struct FixedAttemptEnv(Vec<(String, String)>);

impl AttemptEnv for FixedAttemptEnv {
    fn prepare<'a>(
        &'a self,
        _action: &'a ActionRecord,
        _attempt: u32,
    ) -> BoxFuture<'a, Result<AttemptExtras, ErrorInfo>> {
        let extras = AttemptExtras {
            env: self.0.clone(),
            secret_files: Vec::new(),
        };
        Box::pin(async move { Ok(extras) })
    }
}

#[test]
fn only_allow_listed_variables_of_aeries_environment_are_passed_on() {
    let config = LocalConfig {
        work_dir: PathBuf::from("/work"),
        python_env: None,
        endpoint: String::new(),
        env_allow: vec!["AERIE_TEST_ALLOWED".into()],
        attempt_env: None,
    };
    let extra = [
        ("AERIE_TEST_SECRET", "do-not-leak"),
        ("DO_NOT_TRACK", "1"),
        ("AERIE_TEST_ALLOWED", "yes"),
    ]
    .map(|(name, value)| (OsString::from(name), OsString::from(value)));
    let environment: Vec<(OsString, OsString)> = std::env::vars_os()
        .filter(|(name, _)| name != "DO_NOT_TRACK")
        .chain(extra)
        .collect();
    let inherited = config.inherited_env(environment.into_iter());
    assert!(inherited.contains(&("DO_NOT_TRACK".into(), "1".into())));
    assert!(inherited.contains(&("AERIE_TEST_ALLOWED".into(), "yes".into())));
    for (name, _) in &inherited {
        assert!(
            DEFAULT_ENV_ALLOW.contains(&name.as_str()) || name == "AERIE_TEST_ALLOWED",
            "{name} was passed on"
        );
    }
}

/// The task process gets nothing of aerie's environment beyond the allow-list, and the
/// attempt's own variables win over the container's.
#[tokio::test]
async fn a_task_process_starts_with_a_clean_environment() {
    let fixture = Fixture::with(|config| {
        config.attempt_env = Some(Arc::new(FixedAttemptEnv(vec![(
            "FLYTE_API_KEY".into(),
            "short-lived".into(),
        )])));
    })
    .await;
    let action = fixture
        // The shell stays the attempt's process (an exec'd command would also get the PWD the
        // shell exports), so its /proc environ is exactly what aerie passed.
        .action(
            "while :; do sleep 1; done",
            &[("FLYTE_API_KEY", "from-the-container")],
        )
        .await;
    let started = fixture.start(&action).await.expect("start");
    let environment = environment_of(started.pid.unwrap());
    started.control.kill();
    tokio::time::timeout(PATIENCE, started.outcome)
        .await
        .expect("outcome");

    let set_by_aerie = [
        "_U_RUN_BASE",
        "_U_ORG_NAME",
        "FLYTE_INTERNAL_EXECUTION_PROJECT",
        "FLYTE_INTERNAL_EXECUTION_DOMAIN",
        "_U_EP_OVERRIDE",
        "_U_INSECURE",
        "RUN_NAME",
        "ACTION_NAME",
        "FLYTE_ATTEMPT_NUMBER",
        "PATH",
        "_U_USE_ACTIONS",
        "FLYTE_API_KEY",
        process::ATTEMPT_KEY_VARIABLE,
    ];
    let expected: BTreeSet<&str> = set_by_aerie
        .iter()
        .chain(DEFAULT_ENV_ALLOW)
        .copied()
        .collect();
    assert!(
        std::env::vars_os().any(|(name, _)| !expected.contains(name.to_str().unwrap_or("?"))),
        "the test process has no variable a task must not get, so this test proves nothing"
    );
    for (name, _) in &environment {
        assert!(expected.contains(name.as_str()), "{name} reached the task");
    }
    let value = |name: &str| {
        environment
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    assert_eq!(value("FLYTE_API_KEY").as_deref(), Some("short-lived"));
    assert_eq!(value("PATH").as_deref(), Some(launch::DEFAULT_PATH));
    assert_eq!(value(process::ATTEMPT_KEY_VARIABLE).unwrap().len(), 32);
}

/// Processes that left the attempt's group, one of them holding its stdout, and one that also
/// cleared its environment (so aerie cannot find it): the attempt still ends within the drain
/// time of its process's exit, its output so far is kept, and every process aerie can find is
/// gone.
#[tokio::test]
async fn an_attempt_ends_when_its_process_exits_and_takes_escaped_processes_with_it() {
    let fixture = Fixture::new().await;
    let (escaped, holder, hidden) = (
        fixture.file("escaped"),
        fixture.file("holder"),
        fixture.file("hidden"),
    );
    let script = format!(
        "echo before-exit
         setsid sleep 300 & echo $! > {escaped}
         setsid sh -c 'sleep 300 & echo $! > {holder}; wait' &
         env -i \"$(command -v setsid)\" \"$(command -v sleep)\" 300 & echo $! > {hidden}
         i=0
         until [ \"$(cat /proc/$!/comm)\" = sleep ] || [ $i -ge 500 ]; do sleep 0.01; i=$((i+1)); done
         until [ -s {holder} ] || [ $i -ge 1000 ]; do sleep 0.01; i=$((i+1)); done
         exit 0",
        escaped = escaped.display(),
        holder = holder.display(),
        hidden = hidden.display(),
    );
    let action = fixture.action(&script, &[]).await;
    let started = fixture.start(&action).await.expect("start");
    let hidden_pid = pid_written_to(&hidden).await;
    let _cleanup = KillOnDrop(hidden_pid);
    let leader = started.pid.unwrap();

    let verdict = tokio::time::timeout(PATIENCE, started.outcome)
        .await
        .expect("the attempt ended although its process exited");

    assert!(has_exited(leader));
    assert_eq!(verdict, Verdict::Succeeded);
    assert!(
        !has_exited(hidden_pid),
        "the hidden process was expected to survive"
    );
    exited(pid_written_to(&escaped).await).await;
    exited(pid_written_to(&holder).await).await;
    let messages = fixture.log_messages(&action).await;
    assert!(messages.iter().any(|message| message == "before-exit\n"));
    assert!(messages.last().unwrap().contains("attempt 1 exited"));
}

/// Starts a task that leaves a process outside its group and then ignores SIGTERM, stops it with
/// `stop`, and shows the escaped process ends before the attempt's own cleanup could run.
async fn stopping_reaches_an_escaped_process(stop: fn(&dyn AttemptControl)) {
    let fixture = Fixture::new().await;
    let escaped = fixture.file("escaped");
    let script = format!(
        "setsid sleep 300 & echo $! > {}
         trap '' TERM
         while :; do sleep 1; done",
        escaped.display()
    );
    let action = fixture.action(&script, &[]).await;
    let started = fixture.start(&action).await.expect("start");
    let escaped_pid = pid_written_to(&escaped).await;
    stop(started.control.as_ref());
    // The outcome, which kills leftovers, is not polled yet: only the control can reach it.
    exited(escaped_pid).await;
    started.control.kill();
    tokio::time::timeout(PATIENCE, started.outcome)
        .await
        .expect("outcome");
}

#[tokio::test]
async fn terminate_reaches_a_process_that_left_the_group() {
    stopping_reaches_an_escaped_process(|control| control.terminate()).await;
}

#[tokio::test]
async fn kill_reaches_a_process_that_left_the_group() {
    stopping_reaches_an_escaped_process(|control| control.kill()).await;
}

/// After a restart aerie knows only the action and attempt; that is enough to find and end what
/// the attempt left running.
#[tokio::test]
async fn leftovers_of_an_interrupted_attempt_are_found_from_its_identity_alone() {
    let fixture = Fixture::new().await;
    let escaped = fixture.file("escaped");
    let script = format!(
        "setsid sleep 300 & echo $! > {}\nexec sleep 300",
        escaped.display()
    );
    let action = fixture.action(&script, &[]).await;
    let started = fixture.start(&action).await.expect("start");
    let escaped_pid = pid_written_to(&escaped).await;

    end_leftovers(&fixture.executor.config, &action.id, 1);

    exited(escaped_pid).await;
    exited(started.pid.unwrap()).await;
    tokio::time::timeout(PATIENCE, started.outcome)
        .await
        .expect("outcome");
}

/// Asserts `result` is the quick DISK_FULL failure, naming no server path.
fn assert_disk_full(result: Result<Started, ErrorInfo>, began: Instant, doing: &str) {
    let Err(error) = result else {
        panic!("the attempt started on a full disk");
    };
    assert!(began.elapsed() < Duration::from_secs(5));
    assert_eq!(error.kind, ErrorKind::System);
    assert_eq!(error.code, "DiskFull");
    assert_eq!(error.message, format!("disk full: cannot {doing}"));
}

#[tokio::test]
async fn a_start_with_a_full_work_disk_fails_at_once_saying_disk_full() {
    let tmpfs = Tmpfs::full();
    let work_dir = tmpfs.0.path().to_path_buf();
    let fixture = Fixture::with(|config| config.work_dir = work_dir).await;
    let action = fixture.action("true", &[]).await;
    let began = Instant::now();
    let result = fixture.start(&action).await;
    assert_disk_full(result, began, "create the attempt's working directory");
}

#[tokio::test]
async fn a_start_with_a_full_log_disk_fails_at_once_saying_disk_full() {
    let tmpfs = Tmpfs::full();
    let mut fixture = Fixture::new().await;
    fixture.executor.logs = LogStore::new(tmpfs.0.path());
    let action = fixture.action("true", &[]).await;
    let began = Instant::now();
    let result = fixture.start(&action).await;
    assert_disk_full(result, began, "open the attempt's log");
}

/// Every line that cannot be written is counted (and reported once, on close).
#[tokio::test]
async fn log_lines_lost_to_a_full_disk_are_counted() {
    let tmpfs = Tmpfs::mount("size=64k,nr_inodes=16");
    let logs = LogStore::new(tmpfs.0.path());
    let action = ActionId::parse_uri("flyte://v1/p/d/r1/a0").unwrap();
    let writer = logs.writer(&action, 1).await.expect("opening the log");
    let mut filler = std::fs::File::create(tmpfs.0.path().join("filler")).expect("filler");
    let full = loop {
        if let Err(err) = std::io::Write::write_all(&mut filler, &[0; 4096]) {
            break err;
        }
    };
    assert_eq!(full.raw_os_error(), Some(libc::ENOSPC));
    let mut log = AttemptLog::new(writer, action, 1);
    for _ in 0..3 {
        log.note("nowhere to go").await;
    }
    assert_eq!(log.lost(), 3);
    log.close().await;
}
