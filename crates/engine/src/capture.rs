//! Log plumbing for a local attempt: the process's stdout and stderr are read line by line
//! into a bounded channel, and one writer task appends them to the attempt's [`AttemptLog`].
//! Readers wait when the channel is full, so a chatty task is slowed, never a line dropped.
//!
//! Capture ends when the attempt does, not when the last holder of its output closes it: after
//! the process exits, [`Capture::finish`] drains what is left for a bounded time, then stops
//! reading (a process that escaped the attempt may hold the pipes open forever).

use aerie_blob::{LogLine, LogWriter, Originator};
use aerie_core::{ActionId, Timestamp};
use std::io;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::warn;

/// Lines buffered between the output readers and the log writer.
const LOG_BUFFER: usize = 1024;

/// One attempt's log as aerie writes it. A line that cannot be written is counted, not
/// reported: [`AttemptLog::close`] warns once with how many were lost.
pub struct AttemptLog {
    writer: LogWriter,
    action: ActionId,
    attempt: u32,
    lost: u64,
    first_error: Option<io::Error>,
}

impl AttemptLog {
    /// The log of `attempt` of `action`, written through `writer`.
    pub fn new(writer: LogWriter, action: ActionId, attempt: u32) -> Self {
        Self {
            writer,
            action,
            attempt,
            lost: 0,
            first_error: None,
        }
    }

    async fn append(&mut self, line: &LogLine) {
        if let Err(err) = self.writer.append(line).await {
            self.lost += 1;
            self.first_error.get_or_insert(err);
        }
    }

    /// Appends one of aerie's own notes (`[aerie] …`).
    pub async fn note(&mut self, text: &str) {
        let line = LogLine {
            timestamp: Timestamp::now(),
            originator: Originator::System,
            message: format!("[aerie] {text}\n"),
        };
        self.append(&line).await;
    }

    /// Lines that could not be written so far.
    #[cfg(test)]
    pub fn lost(&self) -> u64 {
        self.lost
    }

    /// Ends writing (a log in an object store puts what it still holds, so every line is
    /// readable from any node once this returns); warns once if any line was lost.
    pub async fn close(self) {
        let closed = self.writer.close().await;
        let (mut lost, mut first_error) = (self.lost, self.first_error);
        if let Err(err) = closed {
            lost += 1;
            first_error.get_or_insert(err);
        }
        if let Some(error) = first_error {
            let (id, attempt) = (self.action, self.attempt);
            warn!(run = %id.run, action = %id.name, attempt, lost, error = %error, "lines of the attempt's log could not be written");
        }
    }
}

/// The capture of one attempt's output.
pub struct Capture {
    readers: Vec<JoinHandle<()>>,
    writer: JoinHandle<AttemptLog>,
}

impl Capture {
    /// Starts reading `stdout` and `stderr` into `log`.
    pub fn start(
        log: AttemptLog,
        stdout: Option<impl AsyncRead + Unpin + Send + 'static>,
        stderr: Option<impl AsyncRead + Unpin + Send + 'static>,
    ) -> Self {
        let (line_tx, line_rx) = mpsc::channel(LOG_BUFFER);
        let mut readers = Vec::with_capacity(2);
        if let Some(stdout) = stdout {
            readers.push(tokio::spawn(read_lines(stdout, line_tx.clone())));
        }
        if let Some(stderr) = stderr {
            readers.push(tokio::spawn(read_lines(stderr, line_tx.clone())));
        }
        drop(line_tx);
        Self {
            readers,
            writer: tokio::spawn(write_lines(line_rx, log)),
        }
    }

    /// Waits up to `drain` for both streams to close, then stops reading; returns the log once
    /// every line read is written.
    pub async fn finish(mut self, drain: Duration) -> AttemptLog {
        let streams_closed = futures::future::join_all(self.readers.iter_mut());
        if tokio::time::timeout(drain, streams_closed).await.is_err() {
            for reader in &self.readers {
                reader.abort();
            }
        }
        self.writer
            .await
            .expect("the log writer task does not panic")
    }
}

async fn read_lines(stream: impl AsyncRead + Unpin, lines: mpsc::Sender<LogLine>) {
    let mut reader = BufReader::new(stream);
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        match reader.read_until(b'\n', &mut buffer).await {
            Ok(0) => return,
            Ok(_) => {
                let line = LogLine {
                    timestamp: Timestamp::now(),
                    originator: Originator::User,
                    message: String::from_utf8_lossy(&buffer).into_owned(),
                };
                if lines.send(line).await.is_err() {
                    return;
                }
            }
            Err(err) => {
                warn!(error = %err, "reading task output failed");
                return;
            }
        }
    }
}

async fn write_lines(mut lines: mpsc::Receiver<LogLine>, mut log: AttemptLog) -> AttemptLog {
    while let Some(line) = lines.recv().await {
        log.append(&line).await;
    }
    log
}
