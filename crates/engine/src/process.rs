//! Spawning an attempt's process with a clean environment in its own process group, and ending
//! everything the attempt started.
//!
//! The child starts a new session, so its group holds the task and whatever it starts. A process
//! that leaves the group (`setsid`, `start_new_session=True`) still inherits the environment, and
//! with it the attempt's [`AttemptKey`]; ending an attempt signals its group and every process of
//! aerie's user whose environment carries the key. The key derives from the attempt's working
//! directory, which is unique per data directory, action and attempt, so a restarted aerie finds
//! an interrupted attempt's processes again without having stored anything.
//!
//! The child also asks the kernel to SIGKILL it if aerie dies, so a crashed aerie leaves no
//! leader that would race a relaunched attempt.

use crate::launch::LaunchPlan;
use sha2::{Digest, Sha256};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Stdio;
use tokio::process::{Child, Command};

/// The variable every process of an attempt carries: `AERIE_ATTEMPT_KEY=<32 hex digits>`.
pub const ATTEMPT_KEY_VARIABLE: &str = "AERIE_ATTEMPT_KEY";

/// Marks every process of one attempt, descendants included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptKey(String);

impl AttemptKey {
    /// The key of the attempt whose working directory is `work_dir` (128 bits of its SHA-256).
    pub fn of_work_dir(work_dir: &Path) -> Self {
        let digest = Sha256::digest(work_dir.as_os_str().as_bytes());
        Self(hex::encode(&digest[..16]))
    }

    /// The key as it appears in the attempt's environment.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Spawns `plan` with only `plan.env` and `key` in its environment, piped stdout and stderr,
/// in its (existing) working directory.
pub fn spawn(plan: &LaunchPlan, key: &AttemptKey) -> io::Result<Child> {
    let mut command = Command::new(&plan.program);
    command
        .args(&plan.args)
        .env_clear()
        .envs(plan.env.iter().map(|(name, value)| (name, value)))
        .env(ATTEMPT_KEY_VARIABLE, key.as_str())
        .current_dir(&plan.work_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // SAFETY: the closure runs in the forked child before exec and calls only async-signal-safe
    // functions (setsid, prctl), as `pre_exec` requires.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(io::Error::last_os_error());
            }
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command.spawn()
}

/// The process group an attempt runs in, led by its process. Never 0: `kill(0, …)` would
/// signal aerie's own group, so a missing or zero pid has no group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessGroup(libc::pid_t);

impl ProcessGroup {
    /// The group led by `pid`; `None` for 0 or a value that is not a pid.
    pub fn led_by(pid: u32) -> Option<Self> {
        libc::pid_t::try_from(pid)
            .ok()
            .filter(|pid| *pid > 0)
            .map(Self)
    }

    /// The leader's pid.
    pub fn pid(self) -> u32 {
        self.0.unsigned_abs()
    }

    /// Sends `signal` to every process in the group; a group already gone is fine.
    fn signal(self, signal: i32) {
        // SAFETY: kill(2) with a negative pid signals a process group and touches no memory;
        // the constructor guarantees the pid is positive, so this never targets group 0.
        unsafe {
            libc::kill(-self.0, signal);
        }
    }
}

/// Everything one attempt started: its process group, while aerie knows it is the attempt's,
/// and every process carrying its key.
#[derive(Debug, Clone)]
pub struct AttemptProcesses {
    /// `None` after a restart: the leader died with aerie, so its group id may be reused.
    pub group: Option<ProcessGroup>,
    pub key: AttemptKey,
}

impl AttemptProcesses {
    /// Sends `signal` to the group and to every process of aerie's user (aerie excepted) whose
    /// environment carries the key; returns how many carried it. Reads `/proc`, a few
    /// milliseconds of blocking work on a busy machine. A process forked in the instant of the
    /// scan, or one that cleared its environment and left the group, is missed.
    pub fn signal(&self, signal: i32) -> usize {
        if let Some(group) = self.group {
            group.signal(signal);
        }
        let marker = format!("{ATTEMPT_KEY_VARIABLE}={}", self.key.as_str());
        let own_pid = std::process::id();
        // SAFETY: geteuid(2) cannot fail and touches no memory.
        let own_uid = unsafe { libc::geteuid() };
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return 0;
        };
        let mut signalled = 0;
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|name| name.parse::<libc::pid_t>().ok())
            else {
                continue;
            };
            if pid.unsigned_abs() == own_pid
                || entry.metadata().map(|meta| meta.uid()).ok() != Some(own_uid)
            {
                continue;
            }
            if carries(pid, &marker) {
                // SAFETY: kill(2) touches no memory; the target carries the attempt's key, so
                // a recycled pid (which would not) is never signalled.
                unsafe {
                    libc::kill(pid, signal);
                }
                signalled += 1;
            }
        }
        signalled
    }
}

/// Whether the environment `pid` was started with holds exactly `marker` (`NAME=value`).
fn carries(pid: libc::pid_t, marker: &str) -> bool {
    std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|environ| {
        environ
            .split(|&byte| byte == 0)
            .any(|variable| variable == marker.as_bytes())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_zero_and_out_of_range_pids_have_no_group() {
        assert_eq!(ProcessGroup::led_by(0), None);
        assert_eq!(ProcessGroup::led_by(u32::MAX), None);
        assert_eq!(ProcessGroup::led_by(42).map(ProcessGroup::pid), Some(42));
    }

    #[test]
    fn attempt_keys_are_32_hex_digits_and_differ_per_work_dir() {
        let first = AttemptKey::of_work_dir(Path::new("/data/work/p/d/r1/a0/1"));
        let second = AttemptKey::of_work_dir(Path::new("/data/work/p/d/r1/a0/2"));
        assert_eq!(first.as_str().len(), 32);
        assert!(first.as_str().bytes().all(|byte| byte.is_ascii_hexdigit()));
        assert_ne!(first, second);
        assert_eq!(
            first,
            AttemptKey::of_work_dir(Path::new("/data/work/p/d/r1/a0/1"))
        );
    }
}
