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

/// Sends `signal` to every process in the group led by `pid`; a group already gone is fine.
pub fn signal_group(pid: u32, signal: i32) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: kill(2) with a negative pid signals a process group and touches no memory.
    unsafe {
        libc::kill(-pid, signal);
    }
}
