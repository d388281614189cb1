//! Limits that hold against abusive clients: an upload is refused on its signature and declared
//! size before its body is read, and a valid one is streamed to disk, so memory stays flat;
//! connections that never finish their headers are dropped while `/healthz` stays reachable;
//! an RPC declaring a body over the limit is refused at once.

use crate::harness::{Aerie, http};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

const MIB: usize = 1024 * 1024;

/// The server's resident memory, in bytes.
fn resident_bytes(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let kib: usize = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|value| value.parse().ok())
        .expect("VmRSS");
    kib * 1024
}

/// The status code of the response `stream` reads within `limit`.
async fn read_status(stream: &mut TcpStream, limit: Duration) -> u16 {
    let mut response = vec![0; 4096];
    let read = tokio::time::timeout(limit, stream.read(&mut response))
        .await
        .expect("the server answers in time")
        .expect("reading the answer");
    let text = String::from_utf8_lossy(&response[..read]);
    text.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"))
}

/// Eight uploads at once, each declaring 512 MiB under a bad signature, are refused with 403
/// before any of their body is sent, and the server's memory does not grow by their size.
#[tokio::test]
async fn bad_signature_upload_floods_are_refused_before_their_bodies() {
    let aerie = Aerie::start().await;
    let pid = aerie.pid();
    let before = resident_bytes(pid);
    let mut floods = JoinSet::new();
    for flood in 0..8 {
        let endpoint = aerie.endpoint.clone();
        floods.spawn(async move {
            let mut stream = TcpStream::connect(&endpoint).await.expect("connect");
            let head = format!(
                "PUT /blobs/uploads/p/d/f{flood}/x?expires=9999999999&signature=00 HTTP/1.1\r\n\
                 host: {endpoint}\r\ncontent-length: {}\r\n\r\n",
                512 * MIB
            );
            stream.write_all(head.as_bytes()).await.expect("head");
            // Answered with no body byte sent: the signature is checked first.
            let status = read_status(&mut stream, Duration::from_secs(10)).await;
            // What a flooder sends next is not read (the connection is closed).
            let _ = stream.write_all(&vec![0; MIB]).await;
            status
        });
    }
    while let Some(status) = floods.join_next().await {
        assert_eq!(status.expect("flood task"), 403);
    }
    let grown = resident_bytes(pid).saturating_sub(before);
    eprintln!(
        "8 bad-signature floods: memory grew by {} KiB",
        grown / 1024
    );
    assert!(grown < 64 * MIB, "memory grew by {} MiB", grown / MIB);
}

/// A valid 256 MiB upload goes to disk as it arrives: the server's memory never holds it.
#[tokio::test]
async fn a_large_upload_is_streamed_to_disk() {
    let aerie = Aerie::start().await;
    let (status, body) = http(
        &aerie.endpoint,
        "POST",
        "/flyteidl2.dataproxy.DataProxyService/CreateUploadLocation",
        "application/json",
        br#"{"project":"flytesnacks","domain":"development","filename":"big.bin"}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // The reply may come chunked: the JSON object is between the outer braces.
    let json = &body[body.find('{').unwrap()..=body.rfind('}').unwrap()];
    let reply: serde_json::Value = serde_json::from_str(json).unwrap();
    let signed = reply["signedUrl"].as_str().unwrap().to_owned();
    let native = reply["nativeUrl"].as_str().unwrap().to_owned();
    let path_and_query = signed.split_once(&aerie.endpoint).unwrap().1.to_owned();

    let pid = aerie.pid();
    let before = resident_bytes(pid);
    let uploading = Arc::new(AtomicBool::new(true));
    let sampling = tokio::spawn({
        let uploading = Arc::clone(&uploading);
        async move {
            let mut peak = 0;
            while uploading.load(Ordering::Relaxed) {
                peak = peak.max(resident_bytes(pid));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            peak
        }
    });
    let total = 256 * MIB;
    let mut stream = TcpStream::connect(&aerie.endpoint).await.expect("connect");
    let head = format!(
        "PUT {path_and_query} HTTP/1.1\r\nhost: {}\r\ncontent-length: {total}\r\n\r\n",
        aerie.endpoint
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![7u8; 4 * MIB];
    for _ in 0..total / chunk.len() {
        stream.write_all(&chunk).await.unwrap();
    }
    assert_eq!(read_status(&mut stream, Duration::from_secs(60)).await, 201);
    uploading.store(false, Ordering::Relaxed);
    let peak = sampling.await.expect("sampler").max(resident_bytes(pid));
    assert_eq!(
        std::fs::metadata(aerie.blob_path(&native)).unwrap().len(),
        total as u64
    );
    let grown = peak.saturating_sub(before);
    eprintln!("256 MiB upload: peak memory grew by {} KiB", grown / 1024);
    assert!(grown < 64 * MIB, "memory grew by {} MiB", grown / MIB);
}

/// Raises this process's open-file limit so it can hold many connections.
fn allow_many_files() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed to them.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = limit.rlim_max;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
}

/// 1,100 connections that send half a request head and stall do not make aerie unreachable:
/// `/healthz` answers while they hang, and aerie drops them once the header deadline passes.
#[tokio::test]
async fn stalled_connections_are_dropped_and_health_checks_still_answer() {
    allow_many_files();
    let aerie = Aerie::start().await;
    let mut stalled = Vec::new();
    for _ in 0..1100 {
        let mut stream = TcpStream::connect(&aerie.endpoint).await.expect("connect");
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: ")
            .await
            .expect("half a head");
        stalled.push(stream);
    }
    let asked = Instant::now();
    let (status, body) = tokio::time::timeout(
        Duration::from_secs(5),
        http(&aerie.endpoint, "GET", "/healthz", "text/plain", b""),
    )
    .await
    .expect("/healthz answers while 1,100 connections stall");
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    eprintln!("/healthz answered in {:?}", asked.elapsed());

    let deadline = Instant::now() + Duration::from_secs(30);
    for mut stream in stalled {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut buffer = [0u8; 512];
        let ended = tokio::time::timeout(left, async {
            loop {
                match stream.read(&mut buffer).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await;
        assert!(
            ended.is_ok(),
            "a stalled connection was still open after 30 s"
        );
    }
}

/// An RPC that declares a body over the limit is refused before it is read.
#[tokio::test]
async fn an_oversized_rpc_is_refused_on_its_declared_length() {
    let aerie = Aerie::start().await;
    let mut stream = TcpStream::connect(&aerie.endpoint).await.expect("connect");
    let head = format!(
        "POST /flyteidl2.workflow.RunService/CreateRun HTTP/1.1\r\nhost: {}\r\n\
         content-type: application/proto\r\nconnect-protocol-version: 1\r\n\
         content-length: {}\r\n\r\n",
        aerie.endpoint,
        100 * MIB
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // resource_exhausted, which Connect sends as 429.
    assert_eq!(read_status(&mut stream, Duration::from_secs(5)).await, 429);
}

/// The head of a compressed UploadInputs whose `length`-byte body is still to come.
fn compressed_rpc_head(endpoint: &str, length: usize) -> String {
    format!(
        "POST /flyteidl2.dataproxy.DataProxyService/UploadInputs HTTP/1.1\r\nhost: {endpoint}\r\n\
         content-type: application/proto\r\nconnect-protocol-version: 1\r\n\
         content-encoding: gzip\r\ncontent-length: {length}\r\n\r\n"
    )
}

/// Costly requests (here: compressed) are decoded two at a time: with two in flight, a third
/// waits for a turn while cheap requests are still answered at once.
#[tokio::test]
async fn costly_requests_take_turns_and_cheap_ones_do_not_wait() {
    let aerie = Aerie::start().await;
    let mut holders = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(&aerie.endpoint).await.expect("connect");
        let head = compressed_rpc_head(&aerie.endpoint, 64);
        stream.write_all(head.as_bytes()).await.unwrap();
        holders.push(stream);
    }
    // Let both holders take their turns before the third arrives.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut third = TcpStream::connect(&aerie.endpoint).await.expect("connect");
    let head = compressed_rpc_head(&aerie.endpoint, 8);
    third.write_all(head.as_bytes()).await.unwrap();
    third.write_all(b"not gzip").await.unwrap();
    let mut buffer = [0u8; 1024];
    let waited = tokio::time::timeout(Duration::from_secs(2), third.read(&mut buffer)).await;
    assert!(
        waited.is_err(),
        "a third costly request was decoded beside two others"
    );

    let (status, body) = tokio::time::timeout(
        Duration::from_secs(5),
        http(
            &aerie.endpoint,
            "POST",
            "/flyteidl2.workflow.RunService/GetActionDetails",
            "application/json",
            br#"{"actionId":{"run":{"project":"p","domain":"d","name":"nope"},"name":"a0"}}"#,
        ),
    )
    .await
    .expect("a cheap request is answered while costly ones wait");
    assert_eq!(status, 404, "{body}");

    let mut first = holders.remove(0);
    first.write_all(&[0u8; 64]).await.unwrap();
    read_status(&mut first, Duration::from_secs(10)).await;
    let status = read_status(&mut third, Duration::from_secs(10)).await;
    assert!(
        (400..500).contains(&status),
        "the third request got its turn and was judged: {status}"
    );
}
