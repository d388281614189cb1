//! What an action runs and under which rules: [`ActionSpec`], decoded once from the spec its
//! creator sent and kept with the action's record, plus the pure retry and timeout rules.
//!
//! The server turns the wire `TaskSpec`/`TraceAction` into an [`ActionSpec`] when the action is
//! created; the engine, the server and recovery read this type and never the spec bytes.
//!
//! # Contract
//! An [`ActionSpec`] is complete: a task that cannot run (no container, no arguments) carries
//! [`Launch::Refused`] with the reason, so the attempt fails with that reason instead of a
//! silent default.

use crate::state::{ErrorInfo, ErrorKind, Retry};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What kind of work an action is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// A task run by an executor.
    Task,
    /// A trace recorded by its parent, finished when it arrives.
    Trace,
    /// A condition waiting for a signal.
    Condition,
}

impl ActionKind {
    /// The `flyteidl2.workflow.ActionType` number.
    pub const fn as_i32(self) -> i32 {
        match self {
            Self::Task => 1,
            Self::Trace => 2,
            Self::Condition => 3,
        }
    }

    /// The kind with wire number `value`.
    pub fn from_i32(value: i32) -> Option<Self> {
        match value {
            1 => Some(Self::Task),
            2 => Some(Self::Trace),
            3 => Some(Self::Condition),
            _ => None,
        }
    }
}

/// Which deployed task an action runs, as its spec names it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRef {
    pub org: String,
    pub project: String,
    pub domain: String,
    pub name: String,
    pub version: String,
}

/// How a task's process is started: the container's command line and environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Launch {
    /// Program and arguments (with `{{.templates}}` unfilled) and the container's environment.
    Container {
        args: Vec<String>,
        env: Vec<(String, String)>,
    },
    /// The task cannot run here; the reason becomes the attempt's error.
    Refused(String),
}

/// How long to wait before each user retry: the n-th (0-indexed) waits
/// `min(base * factor^n, cap)` after the attempt before it ended, as `flyte.Backoff` says.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Backoff {
    pub base: Duration,
    pub factor: f64,
    pub cap: Option<Duration>,
}

impl Backoff {
    /// The wait before retry `n` (0-indexed); a delay too large to compute is the cap.
    pub fn delay(&self, n: u32) -> Duration {
        let scaled =
            self.base.as_secs_f64() * self.factor.powi(i32::try_from(n).unwrap_or(i32::MAX));
        let uncapped = Duration::try_from_secs_f64(scaled).ok();
        match (uncapped, self.cap) {
            (Some(delay), Some(cap)) => delay.min(cap),
            (Some(delay), None) => delay,
            (None, Some(cap)) => cap,
            (None, None) => Duration::MAX,
        }
    }
}

/// How often an action is retried and how long it waits in between.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Extra attempts after the first.
    pub retries: u32,
    pub backoff: Option<Backoff>,
}

/// The cache settings a task declares.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheSettings {
    /// The key the action's outputs are stored under: the SDK's for a child, computed by the
    /// server for a root (the same formula); empty when none could be computed.
    #[serde(default)]
    pub key: String,
    pub version: String,
    /// Identical actions wait for one another instead of running twice.
    pub serializable: bool,
    pub ignored_inputs: Vec<String>,
    /// Entries older than this are not reused; `None`: entries never expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<Duration>,
}

/// A secret a task asks for: its name (`key`, with an optional `group` that only names it),
/// and where the task wants it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretRequest {
    pub key: String,
    pub group: String,
    pub mount: SecretMount,
}

/// Where a task gets a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SecretMount {
    /// An environment variable of this name.
    EnvVar(String),
    /// A file in the attempt's secrets directory.
    File,
}

/// Everything aerie needs to know about what an action runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionSpec {
    pub kind: ActionKind,
    /// The task it runs (tasks), or the trace's name (traces).
    pub task: TaskRef,
    pub task_type: String,
    pub short_name: String,
    pub environment: String,
    pub retry: RetryPolicy,
    /// Longest an attempt may run.
    pub timeout: Option<Duration>,
    /// Longest an attempt may wait to start (`flyte.Timeout.max_queued_time`).
    #[serde(default)]
    pub queued_timeout: Option<Duration>,
    /// Longest the action may take from its first QUEUED to its end, across every attempt
    /// (`flyte.Timeout.deadline`).
    #[serde(default)]
    pub deadline: Option<Duration>,
    /// How a task's process starts; `None` for traces and conditions.
    pub launch: Option<Launch>,
    /// The code bundle a task runs from, if it names one.
    pub code_bundle_uri: Option<String>,
    /// Set when the task is cacheable.
    pub cache: Option<CacheSettings>,
    /// Where a trace's outputs are, verbatim as its parent sent them.
    pub trace_outputs_uri: Option<String>,
    /// The secrets a task asks for (absent from specs stored before secrets were served).
    #[serde(default)]
    pub secrets: Vec<SecretRequest>,
    /// For a condition: the type of value it takes, as the wire `SimpleType` number (`None`:
    /// any of the four).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition_type: Option<i32>,
}

impl ActionSpec {
    /// A spec for a trace named `name` whose outputs are at `outputs_uri`.
    pub fn trace(name: &str, outputs_uri: &str) -> Self {
        Self {
            kind: ActionKind::Trace,
            task: TaskRef {
                name: name.to_owned(),
                ..TaskRef::default()
            },
            task_type: String::new(),
            short_name: String::new(),
            environment: String::new(),
            retry: RetryPolicy::default(),
            timeout: None,
            queued_timeout: None,
            deadline: None,
            launch: None,
            code_bundle_uri: None,
            cache: None,
            trace_outputs_uri: (!outputs_uri.is_empty()).then(|| outputs_uri.to_owned()),
            secrets: Vec::new(),
            condition_type: None,
        }
    }

    /// A spec for a condition named `name` whose value is of type `value_type` (the wire
    /// `SimpleType` number; `None`: any), that times out `timeout` after it is created.
    pub fn condition(name: &str, value_type: Option<i32>, timeout: Option<Duration>) -> Self {
        Self {
            kind: ActionKind::Condition,
            deadline: timeout,
            condition_type: value_type,
            ..Self::trace(name, "")
        }
    }
}

/// Extra attempts an action may use up on aerie restarts, beyond its own retry budget.
pub const RESTART_ALLOWANCE: u32 = 3;

/// Retry a recoverable failure while attempts remain: `retries` extra attempts after the first.
pub fn retry_decision(error: &ErrorInfo, attempts_so_far: u32, policy: &RetryPolicy) -> Retry {
    if error.recoverable && attempts_so_far <= policy.retries {
        Retry::NewAttempt
    } else {
        Retry::GiveUp
    }
}

/// The retry decision for an attempt that aerie's restart interrupted: a new attempt while the
/// task's budget plus [`RESTART_ALLOWANCE`] lasts.
pub fn restart_retry_decision(attempts_so_far: u32, policy: &RetryPolicy) -> Retry {
    if attempts_so_far <= policy.retries + RESTART_ALLOWANCE {
        Retry::NewAttempt
    } else {
        Retry::GiveUp
    }
}

/// The error of an attempt killed for running past `limit`.
pub fn timeout_error(limit: Duration) -> ErrorInfo {
    ErrorInfo {
        message: format!("the attempt ran longer than its timeout of {limit:?} and was killed"),
        kind: ErrorKind::User,
        code: "MAX_RUNTIME_EXCEEDED".into(),
        recoverable: true,
    }
}

/// The error of an action that ran past its `deadline`: final, whatever retries remain.
pub fn deadline_error(limit: Duration) -> ErrorInfo {
    ErrorInfo {
        message: format!("the action did not finish within its deadline of {limit:?}"),
        kind: ErrorKind::User,
        code: "DEADLINE_EXCEEDED".into(),
        recoverable: false,
    }
}

/// The error of an attempt that waited to start longer than `limit`; like a runtime timeout,
/// it is retried while retries remain.
pub fn queued_timeout_error(limit: Duration) -> ErrorInfo {
    ErrorInfo {
        message: format!(
            "the attempt waited longer than its max_queued_time of {limit:?} to start"
        ),
        kind: ErrorKind::User,
        code: "QUEUED_TIMEOUT_EXCEEDED".into(),
        recoverable: true,
    }
}

/// When `after` plus `limit` is, saturating.
pub fn instant_after(after: crate::Timestamp, limit: Duration) -> crate::Timestamp {
    let micros = i64::try_from(limit.as_micros()).unwrap_or(i64::MAX);
    crate::Timestamp::from_micros(after.as_micros().saturating_add(micros))
}

impl ActionSpec {
    /// Whether the action, created at `created_at`, has run out of time at `now` (its deadline),
    /// or its current attempt, queued since `queued_since`, waited too long to start; the
    /// error the attempt ends TIMED_OUT with (the codes the SDK maps to its timeout errors).
    pub fn out_of_time(
        &self,
        created_at: crate::Timestamp,
        queued_since: Option<crate::Timestamp>,
        now: crate::Timestamp,
    ) -> Option<ErrorInfo> {
        if let Some(limit) = self.deadline
            && instant_after(created_at, limit) <= now
        {
            return Some(deadline_error(limit));
        }
        match (self.queued_timeout, queued_since) {
            (Some(limit), Some(since)) if instant_after(since, limit) <= now => {
                Some(queued_timeout_error(limit))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(recoverable: bool) -> ErrorInfo {
        ErrorInfo {
            message: "x".into(),
            kind: ErrorKind::User,
            code: "ValueError".into(),
            recoverable,
        }
    }

    fn retries(n: u32) -> RetryPolicy {
        RetryPolicy {
            retries: n,
            backoff: None,
        }
    }

    #[test]
    fn retries_follow_the_budget_and_recoverability() {
        assert_eq!(retry_decision(&error(true), 1, &retries(0)), Retry::GiveUp);
        assert_eq!(
            retry_decision(&error(true), 1, &retries(2)),
            Retry::NewAttempt
        );
        assert_eq!(
            retry_decision(&error(true), 2, &retries(2)),
            Retry::NewAttempt
        );
        assert_eq!(retry_decision(&error(true), 3, &retries(2)), Retry::GiveUp);
        assert_eq!(retry_decision(&error(false), 1, &retries(2)), Retry::GiveUp);
    }

    #[test]
    fn restarts_get_an_allowance_beyond_the_budget() {
        assert_eq!(restart_retry_decision(1, &retries(0)), Retry::NewAttempt);
        assert_eq!(
            restart_retry_decision(RESTART_ALLOWANCE, &retries(0)),
            Retry::NewAttempt
        );
        assert_eq!(
            restart_retry_decision(RESTART_ALLOWANCE + 1, &retries(0)),
            Retry::GiveUp
        );
    }

    #[test]
    fn backoff_grows_by_its_factor_from_the_first_retry_and_stops_at_its_cap() {
        let backoff = Backoff {
            base: Duration::from_secs(2),
            factor: 2.0,
            cap: Some(Duration::from_secs(10)),
        };
        let delays: Vec<u64> = (0..5).map(|n| backoff.delay(n).as_secs()).collect();
        assert_eq!(delays, [2, 4, 8, 10, 10]);
        assert_eq!(
            backoff.delay(10_000),
            Duration::from_secs(10),
            "overflow is the cap"
        );
        let constant = Backoff {
            base: Duration::from_millis(500),
            factor: 1.0,
            cap: None,
        };
        assert_eq!(constant.delay(7), Duration::from_millis(500));
    }

    #[test]
    fn a_deadline_counts_from_creation_and_queued_time_from_the_attempts_queueing() {
        let at = |seconds: i64| crate::Timestamp::from_micros(seconds * 1_000_000);
        let mut spec = ActionSpec::trace("t", "");
        spec.deadline = Some(Duration::from_secs(10));
        spec.queued_timeout = Some(Duration::from_secs(3));
        assert_eq!(spec.out_of_time(at(0), Some(at(5)), at(7)), None);
        let queued = spec.out_of_time(at(0), Some(at(5)), at(8)).unwrap();
        assert_eq!(queued.code, "QUEUED_TIMEOUT_EXCEEDED");
        assert!(
            spec.out_of_time(at(0), None, at(9)).is_none(),
            "a started attempt is not queued"
        );
        let deadline = spec.out_of_time(at(0), None, at(10)).unwrap();
        assert_eq!(deadline.code, "DEADLINE_EXCEEDED");
        assert!(!deadline.recoverable, "a deadline is never retried");
    }

    #[test]
    fn a_timeout_is_a_recoverable_user_error_naming_the_limit() {
        let error = timeout_error(Duration::from_secs(30));
        assert_eq!(error.code, "MAX_RUNTIME_EXCEEDED");
        assert!(error.recoverable);
        assert!(error.message.contains("30s"));
    }

    #[test]
    fn specs_survive_a_json_round_trip() {
        let mut spec = ActionSpec::trace("t", "/x/outputs.pb");
        spec.launch = Some(Launch::Container {
            args: vec!["a0".into()],
            env: vec![("K".into(), "V".into())],
        });
        let json = serde_json::to_string(&spec).unwrap();
        assert_eq!(serde_json::from_str::<ActionSpec>(&json).unwrap(), spec);
    }
}
