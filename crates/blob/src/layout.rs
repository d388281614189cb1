//! Where an action's and an attempt's files live: the one owner of the storage layout.
//!
//! Launch, verdicts, details, the data proxy and children all ask here for `outputs.pb`,
//! `error.pb`, the report, checkpoints and the raw-data prefix; the log store and the engine's
//! work directories ask here for the per-attempt path segments. Nothing else spells a file name.
//!
//! ```text
//! {run_base}/{action}/raw                     raw data the task writes (files, dirs)
//! {run_base}/{action}/error.pb                a trace's error, written by its parent
//! {run_base}/{action}/{attempt}/outputs.pb    the attempt's outputs
//! {run_base}/{action}/{attempt}/error.pb      the attempt's error document
//! {run_base}/{action}/{attempt}/report.html   the attempt's report
//! {run_base}/{action}/{attempt}/checkpoint    the attempt's checkpoint prefix
//! {dir}/{project}/{domain}/{run}/{action}/{attempt}   logs (`.jsonl`) and work directories
//! logs/{project}/{domain}/{run}/{action}/{attempt}/{chunk:010}.jsonl   logs on S3, in chunks
//! ```

use aerie_core::{ActionId, ActionName};
use std::path::{Path, PathBuf};

/// The files of one action under its run's output base.
#[derive(Debug, Clone, Copy)]
pub struct ActionLayout<'a> {
    run_base: &'a str,
    action: &'a ActionName,
}

impl<'a> ActionLayout<'a> {
    /// The layout of `action` under `run_base` (no trailing slash).
    pub fn new(run_base: &'a str, action: &'a ActionName) -> Self {
        Self { run_base, action }
    }

    /// The files of attempt `number` (1-based).
    pub fn attempt(&self, number: u32) -> AttemptLayout {
        AttemptLayout {
            prefix: format!("{}/{}/{number}", self.run_base, self.action),
        }
    }

    /// Where the task writes raw data (files and directories it returns).
    pub fn raw_data(&self) -> String {
        format!("{}/{}/raw", self.run_base, self.action)
    }

    /// A trace's error document, which its parent writes.
    pub fn trace_error(&self) -> String {
        format!("{}/{}/error.pb", self.run_base, self.action)
    }
}

/// The files of one attempt; every URI is under its prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptLayout {
    prefix: String,
}

impl AttemptLayout {
    /// The attempt's output prefix, `{run_base}/{action}/{attempt}` (no trailing slash).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The outputs the task writes when it succeeds.
    pub fn outputs(&self) -> String {
        format!("{}/outputs.pb", self.prefix)
    }

    /// The error document the task writes when it fails.
    pub fn error(&self) -> String {
        format!("{}/error.pb", self.prefix)
    }

    /// The HTML report (`flyte.report`).
    pub fn report(&self) -> String {
        format!("{}/report.html", self.prefix)
    }

    /// Where the attempt writes its checkpoint.
    pub fn checkpoint(&self) -> String {
        format!("{}/checkpoint", self.prefix)
    }
}

/// The per-attempt directory under `dir` (logs, work directories):
/// `{dir}/{project}/{domain}/{run}/{action}/{attempt}`.
pub fn attempt_dir(dir: &Path, action: &ActionId, attempt: u32) -> PathBuf {
    action_dir(dir, action).join(attempt.to_string())
}

/// The per-action directory under `dir`: `{dir}/{project}/{domain}/{run}/{action}`.
pub fn action_dir(dir: &Path, action: &ActionId) -> PathBuf {
    dir.join(action.run.project.as_str())
        .join(action.run.domain.as_str())
        .join(action.run.name.as_str())
        .join(action.name.as_str())
}

/// The key prefix (no trailing slash) of an attempt's log chunks in an object store:
/// `logs/{project}/{domain}/{run}/{action}/{attempt}`.
pub fn attempt_log_prefix(action: &ActionId, attempt: u32) -> String {
    format!(
        "logs/{}/{}/{}/{}/{attempt}",
        action.run.project, action.run.domain, action.run.name, action.name
    )
}

/// The key of chunk `number` of the log under `prefix`; zero-padded, so keys sort by number.
pub fn log_chunk(prefix: &str, number: u64) -> String {
    format!("{prefix}/{number:010}.jsonl")
}

/// The number of a chunk [`log_chunk`] named, if `key` is one.
pub fn log_chunk_number(key: &str) -> Option<u64> {
    let name = key.rsplit('/').next()?.strip_suffix(".jsonl")?;
    (name.len() == 10).then(|| name.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_attempt_file_lives_under_its_prefix() {
        let action: ActionName = "n1".parse().unwrap();
        let layout = ActionLayout::new("/data/runs/p/d/r1", &action);
        let attempt = layout.attempt(2);
        assert_eq!(attempt.prefix(), "/data/runs/p/d/r1/n1/2");
        assert_eq!(attempt.outputs(), "/data/runs/p/d/r1/n1/2/outputs.pb");
        assert_eq!(attempt.error(), "/data/runs/p/d/r1/n1/2/error.pb");
        assert_eq!(attempt.report(), "/data/runs/p/d/r1/n1/2/report.html");
        assert_eq!(attempt.checkpoint(), "/data/runs/p/d/r1/n1/2/checkpoint");
        assert_eq!(layout.raw_data(), "/data/runs/p/d/r1/n1/raw");
        assert_eq!(layout.trace_error(), "/data/runs/p/d/r1/n1/error.pb");
    }

    #[test]
    fn attempt_directories_nest_by_run_and_action() {
        let action = ActionId::parse_uri("flyte://v1/p/d/r1/a0").unwrap();
        assert_eq!(
            attempt_dir(Path::new("/logs"), &action, 3),
            PathBuf::from("/logs/p/d/r1/a0/3")
        );
        let prefix = attempt_log_prefix(&action, 3);
        assert_eq!(prefix, "logs/p/d/r1/a0/3");
        assert_eq!(log_chunk(&prefix, 12), "logs/p/d/r1/a0/3/0000000012.jsonl");
        assert_eq!(log_chunk_number(&log_chunk(&prefix, 12)), Some(12));
        assert_eq!(log_chunk_number("logs/p/d/r1/a0/3/x.jsonl"), None);
    }
}
