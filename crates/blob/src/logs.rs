//! Per-attempt logs, kept after the process exits and across restarts, with live followers.
//!
//! Two backends behind one API:
//! - **Local** (the default): one append-only file of JSON lines per attempt, with in-memory
//!   wake-ups for followers on this node. A read offset is a byte offset.
//! - **Chunked** (S3 storage): the writer buffers lines and puts them as numbered chunk objects
//!   under the attempt's log prefix ([`crate::layout::attempt_log_prefix`]) at least every
//!   [`FLUSH_EVERY`] while lines arrive, and on [`LogWriter::close`]; any node reads them, and
//!   a follower on another node finds new chunks by listing every [`LogStore::poll_interval`].
//!   A read offset is the number of the next chunk.
//!
//! Readers only ever see complete lines; a follower that misses a wake-up still reads
//! everything from its offset on the next one.
//!
//! # Contract
//! One writer per attempt at a time: a writer numbers its chunks from one past the highest it
//! finds when opened, and chunks are put in order, so a follower never skips one.

use crate::layout::{attempt_log_prefix, log_chunk, log_chunk_number};
use crate::store::Blobs;
use aerie_core::{ActionId, Timestamp};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// How long a line may wait in a chunked writer's buffer before it is put.
pub const FLUSH_EVERY: Duration = Duration::from_millis(400);
/// A chunked writer puts its buffer early once it holds this much.
const MAX_CHUNK_BYTES: usize = 1024 * 1024;
/// A chunked writer whose store keeps failing drops its buffer past this size (and says so on
/// close), so a dead store cannot exhaust memory.
const MAX_BUFFER_BYTES: usize = 16 * 1024 * 1024;
/// Lines queued between a chunked writer and its flusher.
const LINE_QUEUE: usize = 1024;
/// Chunks read per listing.
const CHUNKS_PER_READ: usize = 1000;

/// Who wrote a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Originator {
    /// The task's own output.
    User,
    /// aerie's notes about the attempt (start, exit status, abort).
    System,
}

/// One line of an attempt's log; `message` keeps its trailing newline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    #[serde(rename = "t")]
    pub timestamp: Timestamp,
    #[serde(rename = "o")]
    pub originator: Originator,
    #[serde(rename = "m")]
    pub message: String,
}

#[derive(Debug)]
enum Backend {
    /// One file per attempt under this directory.
    Files(PathBuf),
    /// Chunk objects in this store.
    Chunks(Blobs),
}

/// Where attempt logs live, and who is following them on this node.
#[derive(Debug)]
pub struct LogStore {
    backend: Backend,
    followers: Mutex<HashMap<String, watch::Sender<u64>>>,
}

impl LogStore {
    /// Logs in files under `dir`.
    pub fn new(dir: &Path) -> Arc<Self> {
        Self::with(Backend::Files(dir.to_path_buf()))
    }

    /// Logs in chunks in `blobs` (an object store several nodes share).
    pub fn chunked(blobs: Blobs) -> Arc<Self> {
        Self::with(Backend::Chunks(blobs))
    }

    fn with(backend: Backend) -> Arc<Self> {
        Arc::new(Self {
            backend,
            followers: Mutex::new(HashMap::new()),
        })
    }

    /// How often a follower should look for new lines without a wake-up: writers on other
    /// nodes wake nobody here.
    pub fn poll_interval(&self) -> Duration {
        match self.backend {
            Backend::Files(_) => Duration::from_secs(1),
            Backend::Chunks(_) => Duration::from_millis(400),
        }
    }

    fn path(dir: &Path, action: &ActionId, attempt: u32) -> PathBuf {
        crate::layout::attempt_dir(dir, action, attempt).with_extension("jsonl")
    }

    fn sender(&self, action: &ActionId, attempt: u32) -> watch::Sender<u64> {
        let mut followers = self.followers.lock().expect("log followers lock poisoned");
        followers.retain(|_, sender| sender.receiver_count() > 0 || sender.sender_count() > 1);
        followers
            .entry(attempt_log_prefix(action, attempt))
            .or_insert_with(|| watch::Sender::new(0))
            .clone()
    }

    /// Opens the attempt's log for appending (created if missing).
    pub async fn writer(
        self: &Arc<Self>,
        action: &ActionId,
        attempt: u32,
    ) -> io::Result<LogWriter> {
        let wake = self.sender(action, attempt);
        match &self.backend {
            Backend::Files(dir) => {
                let path = Self::path(dir, action, attempt);
                if let Some(parent) = path.parent() {
                    tokio::fs::create_dir_all(parent).await?;
                }
                let file = tokio::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .await?;
                Ok(LogWriter::File {
                    file,
                    wake,
                    written: 0,
                })
            }
            Backend::Chunks(blobs) => {
                let prefix = attempt_log_prefix(action, attempt);
                let mut next = 0;
                let mut after = String::new();
                loop {
                    let listed = blobs
                        .list(&format!("{prefix}/"), &after, CHUNKS_PER_READ)
                        .await
                        .map_err(io::Error::other)?;
                    let Some(last) = listed.last() else { break };
                    after = last.key.clone();
                    next = listed
                        .iter()
                        .filter_map(|meta| log_chunk_number(&meta.key))
                        .map(|number| number + 1)
                        .fold(next, u64::max);
                }
                let (line_tx, line_rx) = mpsc::channel(LINE_QUEUE);
                let flusher = Flusher {
                    blobs: blobs.clone(),
                    prefix,
                    next,
                    wake,
                };
                Ok(LogWriter::Chunked {
                    lines: line_tx,
                    flusher: tokio::spawn(flusher.run(line_rx)),
                })
            }
        }
    }

    /// A receiver that changes whenever the attempt's log grows through this node.
    pub fn follow(&self, action: &ActionId, attempt: u32) -> watch::Receiver<u64> {
        self.sender(action, attempt).subscribe()
    }

    /// Complete lines from `offset` on (see the module doc for what an offset is), and the
    /// offset after them; `None` if the attempt has no log.
    pub async fn read_from(
        &self,
        action: &ActionId,
        attempt: u32,
        offset: u64,
    ) -> io::Result<Option<(Vec<LogLine>, u64)>> {
        match &self.backend {
            Backend::Files(dir) => read_file_from(&Self::path(dir, action, attempt), offset).await,
            Backend::Chunks(blobs) => {
                read_chunks_from(blobs, &attempt_log_prefix(action, attempt), offset).await
            }
        }
    }
}

async fn read_file_from(path: &Path, offset: u64) -> io::Result<Option<(Vec<LogLine>, u64)>> {
    let mut file = match tokio::fs::File::open(path).await {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err),
    };
    file.seek(io::SeekFrom::Start(offset)).await?;
    let mut buffer = Vec::new();
    file.read_to_end(&mut buffer).await?;
    let complete = buffer
        .iter()
        .rposition(|&byte| byte == b'\n')
        .map_or(0, |last| last + 1);
    let lines = parse_lines(&buffer[..complete])?;
    Ok(Some((lines, offset + complete as u64)))
}

/// The lines of chunks numbered `next` and up, and the number after the last one read.
async fn read_chunks_from(
    blobs: &Blobs,
    prefix: &str,
    next: u64,
) -> io::Result<Option<(Vec<LogLine>, u64)>> {
    let after = match next {
        0 => String::new(),
        next => log_chunk(prefix, next - 1),
    };
    let listed = blobs
        .list(&format!("{prefix}/"), &after, CHUNKS_PER_READ)
        .await
        .map_err(io::Error::other)?;
    if listed.is_empty() && next == 0 {
        return Ok(None);
    }
    let mut lines = Vec::new();
    let mut offset = next;
    for meta in listed {
        let Some(number) = log_chunk_number(&meta.key) else {
            continue;
        };
        let bytes = blobs
            .get(&blobs.uri(&meta.key))
            .await
            .map_err(io::Error::other)?
            .unwrap_or_default();
        lines.extend(parse_lines(&bytes)?);
        offset = number + 1;
    }
    Ok(Some((lines, offset)))
}

fn parse_lines(complete: &[u8]) -> io::Result<Vec<LogLine>> {
    complete
        .split(|&byte| byte == b'\n')
        .filter(|raw| !raw.is_empty())
        .map(|raw| {
            serde_json::from_slice(raw)
                .map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err))
        })
        .collect()
}

/// Appends lines to one attempt's log and wakes its followers. [`LogWriter::close`] it: a
/// chunked writer puts what it still holds then; one merely dropped puts it in the background.
#[derive(Debug)]
pub enum LogWriter {
    #[doc(hidden)]
    File {
        file: tokio::fs::File,
        wake: watch::Sender<u64>,
        written: u64,
    },
    #[doc(hidden)]
    Chunked {
        lines: mpsc::Sender<Vec<u8>>,
        flusher: JoinHandle<io::Result<()>>,
    },
}

impl LogWriter {
    /// Appends `line`: at once to a file (a reader opening it sees the line), or to the
    /// buffer of a chunked writer (put within [`FLUSH_EVERY`]).
    pub async fn append(&mut self, line: &LogLine) -> io::Result<()> {
        let mut record = serde_json::to_vec(line).expect("a log line always serializes");
        record.push(b'\n');
        match self {
            Self::File {
                file,
                wake,
                written,
            } => {
                file.write_all(&record).await?;
                file.flush().await?;
                *written += 1;
                let count = *written;
                wake.send_modify(|seen| *seen = count);
                Ok(())
            }
            Self::Chunked { lines, .. } => lines
                .send(record)
                .await
                .map_err(|_| io::Error::other("the log's chunk writer stopped")),
        }
    }

    /// Ends writing: a chunked writer puts what it still holds and reports whether every line
    /// was stored.
    pub async fn close(self) -> io::Result<()> {
        match self {
            Self::File { .. } => Ok(()),
            Self::Chunked { lines, flusher } => {
                drop(lines);
                flusher
                    .await
                    .map_err(|_| io::Error::other("the log's chunk writer panicked"))?
            }
        }
    }
}

/// The task behind a chunked [`LogWriter`]: collects lines and puts them as chunks.
struct Flusher {
    blobs: Blobs,
    prefix: String,
    /// The number of the next chunk.
    next: u64,
    wake: watch::Sender<u64>,
}

impl Flusher {
    async fn run(mut self, mut lines: mpsc::Receiver<Vec<u8>>) -> io::Result<()> {
        let mut buffer = Vec::new();
        let mut lost_bytes = 0usize;
        let mut last_error = None;
        let mut ticker = tokio::time::interval(FLUSH_EVERY);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                record = lines.recv() => match record {
                    Some(record) => {
                        buffer.extend_from_slice(&record);
                        if buffer.len() < MAX_CHUNK_BYTES {
                            continue;
                        }
                    }
                    None => break,
                },
                _ = ticker.tick() => {}
            }
            if buffer.is_empty() {
                continue;
            }
            if let Err(err) = self.put(&buffer).await {
                if buffer.len() > MAX_BUFFER_BYTES {
                    lost_bytes += buffer.len();
                    buffer.clear();
                }
                last_error = Some(err);
            } else {
                buffer.clear();
            }
        }
        if !buffer.is_empty() {
            match self.put(&buffer).await {
                Ok(()) => {}
                Err(err) => {
                    lost_bytes += buffer.len();
                    last_error = Some(err);
                }
            }
        }
        match (lost_bytes, last_error) {
            (0, _) => Ok(()),
            (lost, Some(err)) => Err(io::Error::other(format!(
                "{lost} bytes of the log could not be stored: {err}"
            ))),
            (lost, None) => Err(io::Error::other(format!(
                "{lost} bytes of the log could not be stored"
            ))),
        }
    }

    /// Puts `buffer` as the next chunk and wakes this node's followers.
    async fn put(&mut self, buffer: &[u8]) -> io::Result<()> {
        let key = log_chunk(&self.prefix, self.next);
        self.blobs
            .put(&self.blobs.uri(&key), Bytes::copy_from_slice(buffer))
            .await
            .map_err(io::Error::other)?;
        self.next += 1;
        let chunks = self.next;
        self.wake.send_modify(|seen| *seen = chunks);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action() -> ActionId {
        ActionId::parse_uri("flyte://v1/p/d/r1/a0").unwrap()
    }

    fn line(message: &str) -> LogLine {
        LogLine {
            timestamp: Timestamp::from_micros(7),
            originator: Originator::User,
            message: message.into(),
        }
    }

    #[tokio::test]
    async fn lines_read_back_in_order_from_any_offset() {
        let dir = tempfile::tempdir().unwrap();
        let logs = LogStore::new(dir.path());
        assert!(logs.read_from(&action(), 1, 0).await.unwrap().is_none());
        let mut follower = logs.follow(&action(), 1);
        let mut writer = logs.writer(&action(), 1).await.unwrap();
        writer.append(&line("one\n")).await.unwrap();
        assert!(follower.has_changed().unwrap());
        follower.mark_unchanged();
        writer.append(&line("two\n")).await.unwrap();
        let (lines, offset) = logs.read_from(&action(), 1, 0).await.unwrap().unwrap();
        let messages: Vec<&str> = lines.iter().map(|l| l.message.as_str()).collect();
        assert_eq!(messages, ["one\n", "two\n"]);
        let (rest, end) = logs.read_from(&action(), 1, offset).await.unwrap().unwrap();
        assert!(rest.is_empty());
        assert_eq!(end, offset);
        assert!(logs.read_from(&action(), 2, 0).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_partial_trailing_line_waits_for_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let logs = LogStore::new(dir.path());
        let mut writer = logs.writer(&action(), 1).await.unwrap();
        writer.append(&line("whole\n")).await.unwrap();
        let path = LogStore::path(dir.path(), &action(), 1);
        let mut raw = tokio::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .await
            .unwrap();
        raw.write_all(b"{\"t\":1,").await.unwrap();
        let (lines, offset) = logs.read_from(&action(), 1, 0).await.unwrap().unwrap();
        assert_eq!(lines.len(), 1);
        raw.write_all(b"\"o\":\"system\",\"m\":\"late\\n\"}\n")
            .await
            .unwrap();
        let (late, _) = logs.read_from(&action(), 1, offset).await.unwrap().unwrap();
        assert_eq!(late[0].message, "late\n");
        assert_eq!(late[0].originator, Originator::System);
    }
}
