//! Spawning an attempt's process in its own process group, and killing that whole group.
//!
//! The child starts a new session, so the group holds the task and everything it starts; it
//! also asks the kernel to SIGKILL it if aerie dies, so a crashed aerie leaves no orphan that
//! would race a relaunched attempt.

use crate::launch::LaunchPlan;
use std::io;
use std::process::Stdio;
use tokio::process::{Child, Command};

/// Spawns `plan` with piped stdout and stderr in a fresh working directory.
pub fn spawn(plan: &LaunchPlan) -> io::Result<Child> {
    std::fs::create_dir_all(&plan.work_dir)?;
    let mut command = Command::new(&plan.program);
    command
        .args(&plan.args)
        .envs(plan.env.iter().map(|(key, value)| (key, value)))
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
    pub fn signal(self, signal: i32) {
        // SAFETY: kill(2) with a negative pid signals a process group and touches no memory;
        // the constructor guarantees the pid is positive, so this never targets group 0.
        unsafe {
            libc::kill(-self.0, signal);
        }
    }
}

/// Kills what is left of an attempt's process group after aerie itself was killed: every process
/// whose group is `pgid` and whose environment names this run and action (so a recycled id is
/// never mistaken for the attempt). Returns how many were killed.
pub fn kill_leftovers(group: ProcessGroup, run_name: &str, action_name: &str) -> usize {
    let pgid = group.pid();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let run_marker = format!("RUN_NAME={run_name}");
    let action_marker = format!("ACTION_NAME={action_name}");
    let mut killed = 0;
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<u32>().ok())
        else {
            continue;
        };
        if process_group(pid) != Some(pgid) {
            continue;
        }
        let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        let variables: Vec<&[u8]> = environ.split(|&byte| byte == 0).collect();
        let names_attempt = variables.contains(&run_marker.as_bytes())
            && variables.contains(&action_marker.as_bytes());
        if names_attempt && let Ok(pid) = libc::pid_t::try_from(pid) {
            // SAFETY: kill(2) touches no memory; the target was checked to be the attempt's.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
            killed += 1;
        }
    }
    killed
}

/// The process group of `pid`, from `/proc/PID/stat` (the field after state and parent).
fn process_group(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(2)?.parse().ok()
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
}
