//! The no-op executor, for measuring the control plane alone (`aerie serve --executor noop`).
//!
//! Each attempt goes through the same phases, store writes and events as with the local
//! executor, but nothing is started: the attempt succeeds at once with empty outputs (it
//! writes no outputs file, which readers treat as a task that returns nothing) and no logs.
//! A task whose container environment sets `AERIE_NOOP_HOLD=SECONDS` stays RUNNING that long
//! first, or until it is aborted or times out; benchmarks use it to hold a parent open.

use crate::executor::{AttemptControl, AttemptToStart, Executor, Started};
use aerie_core::{ErrorInfo, ErrorKind, Launch, Verdict};
use futures::FutureExt;
use futures::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The container variable that holds a no-op attempt RUNNING, in seconds.
pub const HOLD_VARIABLE: &str = "AERIE_NOOP_HOLD";

/// Runs nothing; see the module docs.
#[derive(Debug, Default)]
pub struct NoopExecutor;

struct Cancel(CancellationToken);

impl AttemptControl for Cancel {
    fn terminate(&self) {
        self.0.cancel();
    }

    fn kill(&self) {
        self.0.cancel();
    }
}

/// How long the spec asks the attempt to stay RUNNING.
fn hold(launch: Option<&Launch>) -> Result<Duration, ErrorInfo> {
    let Some(Launch::Container { env, .. }) = launch else {
        return Ok(Duration::ZERO);
    };
    let Some((_, raw)) = env.iter().rev().find(|(key, _)| key == HOLD_VARIABLE) else {
        return Ok(Duration::ZERO);
    };
    raw.trim()
        .parse::<f64>()
        .ok()
        .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
        .ok_or_else(|| ErrorInfo {
            message: format!("{HOLD_VARIABLE}={raw:?} is not a number of seconds"),
            kind: ErrorKind::User,
            code: "BadNoopHold".into(),
            recoverable: false,
        })
}

impl Executor for NoopExecutor {
    fn start<'a>(
        &'a self,
        attempt: AttemptToStart<'a>,
    ) -> BoxFuture<'a, Result<Started, ErrorInfo>> {
        let held_for = hold(attempt.action.spec.launch.as_ref());
        async move {
            let held_for = held_for?;
            let cancel = CancellationToken::new();
            let stopped = cancel.clone();
            let outcome = async move {
                if !held_for.is_zero() {
                    tokio::select! {
                        () = stopped.cancelled() => return Verdict::Failed(ErrorInfo {
                            message: "the no-op attempt was stopped".into(),
                            kind: ErrorKind::System,
                            code: "Stopped".into(),
                            recoverable: true,
                        }),
                        () = tokio::time::sleep(held_for) => {}
                    }
                }
                Verdict::Succeeded
            };
            Ok(Started {
                pid: None,
                logs_available: false,
                control: Arc::new(Cancel(cancel)),
                outcome: outcome.boxed(),
            })
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn launch(env: &[(&str, &str)]) -> Launch {
        Launch::Container {
            args: vec!["a0".into()],
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn the_hold_comes_from_the_container_environment() {
        assert_eq!(hold(None).unwrap(), Duration::ZERO);
        assert_eq!(hold(Some(&launch(&[]))).unwrap(), Duration::ZERO);
        assert_eq!(
            hold(Some(&launch(&[(HOLD_VARIABLE, "1.5")]))).unwrap(),
            Duration::from_millis(1500)
        );
        assert_eq!(
            hold(Some(&launch(&[(HOLD_VARIABLE, "soon")])))
                .unwrap_err()
                .code,
            "BadNoopHold"
        );
    }
}
