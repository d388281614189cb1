//! Several nodes on one PostgreSQL database, each a real `aerie serve`: a dead node's attempt is
//! taken over and retried, a paused node reports nothing over the new owner, a watch on one
//! node follows work another runs, and `aerie nodes` lists them.

use crate::harness::{Aerie, PATIENCE, shell_task};
use aerie_client::{ActionDetails, ActionId, ActionPhase, ActionSummary};
use futures::StreamExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// Leases short enough that a test sees a takeover within seconds.
const LEASE_TTL: &str = "2";

/// A fresh PostgreSQL database for one test's nodes, dropped at the end, and the secret key
/// file they share.
struct Database {
    admin: sqlx::AnyPool,
    name: String,
    url: String,
    secrets: tempfile::TempDir,
}

impl Database {
    async fn create() -> Self {
        let base = std::env::var("AERIE_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        sqlx::any::install_default_drivers();
        let admin = sqlx::AnyPool::connect(&base)
            .await
            .expect("PostgreSQL at AERIE_TEST_POSTGRES");
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let name = format!(
            "aerie_e2e_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .expect("creating a database");
        let server = base
            .rsplit_once('/')
            .map_or(base.as_str(), |(server, _)| server);
        let url = format!("{server}/{name}");
        Self {
            admin,
            name,
            url,
            secrets: tempfile::tempdir().unwrap(),
        }
    }

    /// The secret key file every node of the test shares (aerie creates it).
    fn secret_key_file(&self) -> String {
        self.secrets
            .path()
            .join("secrets.key")
            .display()
            .to_string()
    }

    async fn drop_it(self) {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        )))
        .execute(&self.admin)
        .await
        .expect("dropping the test database");
    }
}

/// Starts node `id` on `database`, with `extra` arguments.
async fn node_with(database: &Database, id: &str, extra: &[&str]) -> Aerie {
    let key_file = database.secret_key_file();
    let mut args = vec![
        "--database",
        &database.url,
        "--secret-key-file",
        &key_file,
        "--node-id",
        id,
        "--lease-ttl",
        LEASE_TTL,
    ];
    args.extend_from_slice(extra);
    Aerie::start_with(&args).await
}

/// Starts node `id` on `database`.
async fn node(database: &Database, id: &str) -> Aerie {
    node_with(database, id, &[]).await
}

/// Starts node `node-2` on `database` with `extra` arguments, expecting it to refuse; returns
/// what it said.
async fn refused_start(database: &Database, extra: &[&str]) -> String {
    let other = tempfile::tempdir().unwrap();
    let started = tokio::process::Command::new(env!("CARGO_BIN_EXE_aerie"))
        .args(["serve", "--addr", "127.0.0.1:0", "--node-id", "node-2"])
        .arg("--data-dir")
        .arg(other.path().join("data"))
        .args(["--database", &database.url])
        .args(extra)
        .env_remove("AERIE_SECRET_KEY_FILE")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(PATIENCE, started)
        .await
        .expect("the node exits")
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "{stderr}");
    stderr
}

fn signal(aerie: &Aerie, signal: libc::c_int) {
    // SAFETY: kill(2) on the test's own child.
    assert_eq!(unsafe { libc::kill(aerie.pid() as i32, signal) }, 0);
}

fn process_alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

/// Reads the pid a task wrote to `path` once it exists.
async fn pid_written_to(path: &Path) -> i32 {
    tokio::time::timeout(PATIENCE, async {
        loop {
            if let Ok(text) = std::fs::read_to_string(path)
                && let Ok(pid) = text.trim().parse()
            {
                return pid;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the task writes its pid")
}

/// The first attempt's error of a finished action, as (code, message).
fn first_error(details: &ActionDetails) -> (String, String) {
    let first = &details.wire().attempts[0];
    assert_eq!(first.phase.to_i32(), ActionPhase::Failed.as_i32());
    (
        first.error_info.code.clone(),
        first.error_info.message.clone(),
    )
}

/// A node killed with SIGKILL loses its attempt to another node within the lease: the attempt
/// fails as a SYSTEM error naming the dead node and the retry runs to success elsewhere.
#[tokio::test]
async fn a_killed_nodes_attempt_is_taken_over_and_retried_on_another_node() {
    let database = Database::create().await;
    let scratch = tempfile::tempdir().unwrap();
    let ran_on = scratch.path().join("ran-on");
    let mut first = node(&database, "node-1").await;
    let script = format!(
        "echo \"$FLYTE_ATTEMPT_NUMBER $AERIE_NODE_ID\" >> {}; \
         if [ \"$FLYTE_ATTEMPT_NUMBER\" = 0 ]; then sleep 60; fi",
        ran_on.display()
    );
    let root = first
        .create_run("takeover", shell_task("slow", &script))
        .await;
    first.wait_for_phase(&root, ActionPhase::Running).await;
    let second = node(&database, "node-2").await;
    first.kill().await;
    let killed_at = Instant::now();
    let details = second.wait_done(&root).await;
    assert_eq!(details.phase().unwrap(), ActionPhase::Succeeded);
    assert!(
        killed_at.elapsed() < Duration::from_secs(15),
        "taken over and finished {:?} after the death",
        killed_at.elapsed()
    );
    assert_eq!(details.attempts(), 2);
    let (code, message) = first_error(&details);
    assert_eq!(code, "NodeLost");
    assert!(
        message.contains("node-1") && message.contains("node-2"),
        "{message}"
    );
    let runs = std::fs::read_to_string(&ran_on).unwrap();
    assert_eq!(
        runs, "0 node-1\n1 node-2\n",
        "each attempt ran once, where expected"
    );
    database.drop_it().await;
}

/// A node paused past its lease and then resumed kills the process it was running and reports
/// nothing: the attempt another node took over and retried keeps its record.
#[tokio::test]
async fn a_paused_node_kills_its_attempt_and_does_not_report_over_the_new_owner() {
    let database = Database::create().await;
    let scratch = tempfile::tempdir().unwrap();
    let pid_file = scratch.path().join("first-attempt.pid");
    let first = node(&database, "node-1").await;
    let script = format!(
        "if [ \"$FLYTE_ATTEMPT_NUMBER\" = 0 ]; then echo $$ > {}; exec sleep 60; fi",
        pid_file.display()
    );
    let root = first
        .create_run("paused", shell_task("slow", &script))
        .await;
    first.wait_for_phase(&root, ActionPhase::Running).await;
    let task_pid = pid_written_to(&pid_file).await;
    let second = node(&database, "node-2").await;
    signal(&first, libc::SIGSTOP);
    let details = second.wait_done(&root).await;
    assert_eq!(details.phase().unwrap(), ActionPhase::Succeeded);
    assert_eq!(details.attempts(), 2);
    assert_eq!(first_error(&details).0, "NodeLost");
    assert!(process_alive(task_pid), "a paused node's task runs on");

    signal(&first, libc::SIGCONT);
    tokio::time::timeout(PATIENCE, async {
        while process_alive(task_pid) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the resumed node kills the attempt it lost");
    // Give the resumed node time to (wrongly) report, then check that nothing changed.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let client = second.client();
    let after = ActionDetails::get_details(&client, &root).await.unwrap();
    assert_eq!(after.phase().unwrap(), ActionPhase::Succeeded);
    assert_eq!(after.attempts(), 2);
    assert_eq!(first_error(&after).0, "NodeLost");
    let (status, _) = crate::harness::http(&first.endpoint, "GET", "/readyz", "", b"").await;
    assert_eq!(status, 200, "the resumed node serves again");
    drop(first);
    drop(second);
    database.drop_it().await;
}

/// A watch opened on one node sees every phase of an action another node runs, in order.
#[tokio::test]
async fn a_watch_on_one_node_sees_every_phase_of_work_another_node_runs() {
    let database = Database::create().await;
    let scratch = tempfile::tempdir().unwrap();
    let ran_on = scratch.path().join("ran-on");
    // The watching node's one slot is taken, so the watched action runs on the other node.
    let watcher_node = node_with(&database, "node-2", &["--max-running", "1"]).await;
    let blocker = watcher_node
        .create_run("blocker", shell_task("hold", "sleep 60"))
        .await;
    watcher_node
        .wait_for_phase(&blocker, ActionPhase::Running)
        .await;
    let first = node(&database, "node-1").await;
    let script = format!("echo \"$AERIE_NODE_ID\" > {}; sleep 1", ran_on.display());
    let root: ActionId = first.create_run("seen", shell_task("quick", &script)).await;
    let client = watcher_node.client();
    let mut updates = ActionDetails::watch(&client, &root);
    let mut seen: Vec<ActionPhase> = Vec::new();
    tokio::time::timeout(PATIENCE, async {
        while let Some(update) = updates.next().await {
            let phase = update.expect("watch update").phase().unwrap();
            if seen.last() != Some(&phase) {
                seen.push(phase);
            }
        }
    })
    .await
    .expect("the watch ends when the action does");
    assert_eq!(std::fs::read_to_string(&ran_on).unwrap().trim(), "node-1");
    let order = [
        ActionPhase::Queued,
        ActionPhase::WaitingForResources,
        ActionPhase::Initializing,
        ActionPhase::Running,
        ActionPhase::Succeeded,
    ];
    let mut expected = order.iter();
    for phase in &seen {
        assert!(
            expected.any(|next| next == phase),
            "phases out of order: {seen:?}"
        );
    }
    for phase in [ActionPhase::Running, ActionPhase::Succeeded] {
        assert!(
            seen.contains(&phase),
            "the watch on node-2 saw {phase}: {seen:?}"
        );
    }
    drop(first);
    drop(watcher_node);
    database.drop_it().await;
}

/// `aerie nodes` lists the live nodes with their load, and `/readyz` answers on each.
#[tokio::test]
async fn aerie_nodes_lists_the_nodes_sharing_a_database() {
    let database = Database::create().await;
    let first = node(&database, "node-1").await;
    let second = node(&database, "node-2").await;
    for aerie in [&first, &second] {
        let (status, body) = crate::harness::http(&aerie.endpoint, "GET", "/readyz", "", b"").await;
        assert_eq!((status, body.trim()), (200, "ok"));
    }
    let output = first
        .cli(&["nodes", "--leases", "--database", &database.url])
        .await;
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows: Vec<&str> = text
        .lines()
        .filter(|line| line.starts_with("node-"))
        .collect();
    assert_eq!(rows.len(), 2, "{text}");
    assert!(
        rows[0].contains(&first.endpoint) && rows[0].contains("alive"),
        "{text}"
    );
    assert!(
        rows[1].contains(&second.endpoint) && rows[1].contains("alive"),
        "{text}"
    );
    drop(first);
    drop(second);
    database.drop_it().await;
}

/// A node whose secret key differs from the one the other nodes use refuses to start: what it
/// signed, sealed or issued would mean nothing to them.
#[tokio::test]
async fn a_node_with_another_secret_key_refuses_to_start() {
    let database = Database::create().await;
    let first = node(&database, "node-1").await;
    let stderr = refused_start(&database, &[]).await;
    assert!(
        stderr.contains("secret key differs") && stderr.contains("--secret-key-file"),
        "{stderr}"
    );
    drop(first);
    database.drop_it().await;
}

/// A node started against a database that a newer aerie migrated refuses to start, and says
/// which migrations it found and knows.
#[tokio::test]
async fn a_node_refuses_a_database_with_a_newer_schema() {
    let database = Database::create().await;
    drop(node(&database, "node-1").await);
    let migrated = sqlx::AnyPool::connect(&database.url).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from a newer aerie', TRUE, '\\x00'::bytea, 0)",
    )
    .execute(&migrated)
    .await
    .unwrap();
    migrated.close().await;
    let stderr = refused_start(
        &database,
        &["--secret-key-file", &database.secret_key_file()],
    )
    .await;
    assert!(
        stderr.contains("newer than this aerie") && stderr.contains("9999"),
        "{stderr}"
    );
    database.drop_it().await;
}
