//! Log plumbing for a local attempt: the process's stdout and stderr are read line by line
//! into a bounded channel, and one writer task appends them to the attempt's log. Readers
//! wait when the channel is full, so a chatty task is slowed, never a line lost.

use aerie_blob::{LogLine, LogWriter, Originator};
use aerie_core::Timestamp;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::warn;

/// Lines buffered between the output readers and the log writer.
const LOG_BUFFER: usize = 1024;

/// The capture of one attempt's output; [`Capture::finish`] waits until all of it is written.
pub struct Capture {
    writer: JoinHandle<LogWriter>,
}

impl Capture {
    /// Starts reading `stdout` and `stderr` into `log`.
    pub fn start(
        log: LogWriter,
        stdout: Option<impl AsyncRead + Unpin + Send + 'static>,
        stderr: Option<impl AsyncRead + Unpin + Send + 'static>,
    ) -> Self {
        let (line_tx, line_rx) = mpsc::channel(LOG_BUFFER);
        if let Some(stdout) = stdout {
            tokio::spawn(read_lines(stdout, line_tx.clone()));
        }
        if let Some(stderr) = stderr {
            tokio::spawn(read_lines(stderr, line_tx.clone()));
        }
        drop(line_tx);
        Self {
            writer: tokio::spawn(write_lines(line_rx, log)),
        }
    }

    /// Waits until both streams are closed and every line is written; returns the log.
    pub async fn finish(self) -> LogWriter {
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

async fn write_lines(mut lines: mpsc::Receiver<LogLine>, mut log: LogWriter) -> LogWriter {
    while let Some(line) = lines.recv().await {
        if let Err(err) = log.append(&line).await {
            warn!(error = %err, "writing the attempt's log failed");
        }
    }
    log
}

/// Appends one of aerie's own notes (`[aerie] …`) to the attempt's log.
pub async fn append_system_line(log: &mut LogWriter, text: &str) {
    let line = LogLine {
        timestamp: Timestamp::now(),
        originator: Originator::System,
        message: format!("[aerie] {text}\n"),
    };
    if let Err(err) = log.append(&line).await {
        warn!(error = %err, "writing the attempt's log failed");
    }
}
