//! Per-attempt logs: one append-only file of JSON lines per attempt, kept after the process
//! exits and across restarts, with in-memory wake-ups for live followers.
//!
//! Readers only ever see complete lines; a follower that misses a wake-up still reads
//! everything from its offset on the next one.

use aerie_core::{ActionId, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio::sync::watch;

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

/// Where attempt logs live, and who is following them.
#[derive(Debug)]
pub struct LogStore {
    dir: PathBuf,
    followers: Mutex<HashMap<PathBuf, watch::Sender<u64>>>,
}

impl LogStore {
    /// Logs under `dir`.
    pub fn new(dir: &Path) -> Arc<Self> {
        Arc::new(Self {
            dir: dir.to_path_buf(),
            followers: Mutex::new(HashMap::new()),
        })
    }

    fn path(&self, action: &ActionId, attempt: u32) -> PathBuf {
        crate::layout::attempt_dir(&self.dir, action, attempt).with_extension("jsonl")
    }

    fn sender(&self, path: &Path) -> watch::Sender<u64> {
        let mut followers = self.followers.lock().expect("log followers lock poisoned");
        followers.retain(|_, sender| sender.receiver_count() > 0 || sender.sender_count() > 1);
        followers
            .entry(path.to_path_buf())
            .or_insert_with(|| watch::Sender::new(0))
            .clone()
    }

    /// Opens the attempt's log for appending (created if missing).
    pub async fn writer(
        self: &Arc<Self>,
        action: &ActionId,
        attempt: u32,
    ) -> io::Result<LogWriter> {
        let path = self.path(action, attempt);
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .await?;
        Ok(LogWriter {
            file,
            wake: self.sender(&path),
            written: 0,
        })
    }

    /// A receiver that changes whenever the attempt's log grows.
    pub fn follow(&self, action: &ActionId, attempt: u32) -> watch::Receiver<u64> {
        self.sender(&self.path(action, attempt)).subscribe()
    }

    /// Complete lines from byte `offset` on, and the offset after them; `None` if the attempt
    /// has no log.
    pub async fn read_from(
        &self,
        action: &ActionId,
        attempt: u32,
        offset: u64,
    ) -> io::Result<Option<(Vec<LogLine>, u64)>> {
        let mut file = match tokio::fs::File::open(self.path(action, attempt)).await {
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
        let lines = buffer[..complete]
            .split(|&byte| byte == b'\n')
            .filter(|raw| !raw.is_empty())
            .map(|raw| {
                serde_json::from_slice(raw)
                    .map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err))
            })
            .collect::<io::Result<Vec<LogLine>>>()?;
        Ok(Some((lines, offset + complete as u64)))
    }
}

/// Appends lines to one attempt's log and wakes its followers.
#[derive(Debug)]
pub struct LogWriter {
    file: tokio::fs::File,
    wake: watch::Sender<u64>,
    written: u64,
}

impl LogWriter {
    /// Appends `line`, durably enough that a reader opening the file sees it.
    pub async fn append(&mut self, line: &LogLine) -> io::Result<()> {
        let mut record = serde_json::to_vec(line).expect("a log line always serializes");
        record.push(b'\n');
        self.file.write_all(&record).await?;
        self.file.flush().await?;
        self.written += 1;
        let written = self.written;
        self.wake.send_modify(|count| *count = written);
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
        let path = logs.path(&action(), 1);
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
