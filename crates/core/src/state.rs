//! An action's lifecycle record and the pure functions that change it.
//!
//! [`ActionState`] is what the store keeps for every action and what every event carries: the
//! action's phase, each attempt with its own phase transitions, times, error and log flag, and
//! the final error or abort info. Every change goes through a method here, which enforces the
//! rules of [`crate::phase`]: phases move forward, terminal is final, a retry opens a new
//! attempt, and the action never shows FAILED for an attempt that will be retried.

use crate::cache::{CacheSource, CacheStatus};
use crate::id::ActionId;
use crate::phase::ActionPhase;
use crate::spec::{RetryPolicy, retry_decision};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Who is to blame for a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The task's code raised.
    User,
    /// The platform failed: the process crashed, was killed, or aerie could not run it.
    System,
}

/// Why an attempt or action failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorInfo {
    pub message: String,
    pub kind: ErrorKind,
    /// The error class, e.g. `ValueError`, or aerie's own such as `NonZeroExit`.
    pub code: String,
    /// Whether a retry may help (the error document's RECOVERABLE).
    pub recoverable: bool,
}

impl ErrorInfo {
    /// A failure of aerie's own (not the task's) that a retry will not mend.
    pub fn system(code: &str, message: String) -> Self {
        Self {
            message,
            kind: ErrorKind::System,
            code: code.to_owned(),
            recoverable: false,
        }
    }
}

/// Why and by whom an action was aborted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbortInfo {
    pub reason: String,
    pub aborted_by: String,
}

/// One phase an attempt entered, and when it left it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseTransition {
    pub phase: ActionPhase,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
}

/// One attempt of an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptState {
    /// 1-based attempt number.
    pub number: u32,
    pub phase: ActionPhase,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    pub transitions: Vec<PhaseTransition>,
    pub error: Option<ErrorInfo>,
    /// True once the attempt's process started; stays true, logs are kept.
    pub logs_available: bool,
    /// The attempt's process (and process group) id, once started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// A retry waiting out its backoff starts no sooner than this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<Timestamp>,
    /// Why the attempt waits in WAITING_FOR_RESOURCES, when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_reason: Option<WaitReason>,
}

/// The value a condition was signalled with, who sent it and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signal {
    /// The encoded wire `Literal`.
    pub value: Vec<u8>,
    pub by: String,
    pub at: Timestamp,
}

/// Why an attempt waits for resources: a short code and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitReason {
    /// e.g. `RunConcurrencyLimit`.
    pub code: String,
    pub message: String,
}

impl AttemptState {
    fn opened(number: u32, phase: ActionPhase, now: Timestamp) -> Self {
        Self {
            number,
            phase,
            started_at: now,
            ended_at: None,
            transitions: vec![PhaseTransition {
                phase,
                started_at: now,
                ended_at: None,
            }],
            error: None,
            logs_available: false,
            pid: None,
            not_before: None,
            waiting_reason: None,
        }
    }

    fn enter(&mut self, next: ActionPhase, now: Timestamp) -> Result<(), TransitionError> {
        if !self.phase.can_move_to(next) {
            return Err(TransitionError::Backwards {
                attempt: self.number,
                from: self.phase,
                to: next,
            });
        }
        if let Some(open) = self.transitions.last_mut() {
            open.ended_at.get_or_insert(now);
        }
        self.phase = next;
        self.transitions.push(PhaseTransition {
            phase: next,
            started_at: now,
            ended_at: next.is_terminal().then_some(now),
        });
        if next.is_terminal() {
            self.ended_at = Some(now);
        }
        Ok(())
    }
}

/// A change that the rules refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("the action is already {0}")]
    AlreadyTerminal(ActionPhase),
    #[error("attempt {attempt} cannot move from {from} to {to}")]
    Backwards {
        attempt: u32,
        from: ActionPhase,
        to: ActionPhase,
    },
    #[error("{0} is a terminal phase; use succeed, fail or abort")]
    TerminalViaAdvance(ActionPhase),
    #[error("attempt {attempt} is over; the action is on attempt {current}")]
    Superseded { attempt: u32, current: u32 },
}

/// Whether a failed attempt is followed by another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Open a new attempt in QUEUED.
    NewAttempt,
    /// The failure is final for the action.
    GiveUp,
}

/// What an attempt amounted to, as its executor reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Succeeded,
    Failed(ErrorInfo),
    /// Killed for running past its timeout.
    TimedOut(ErrorInfo),
}

/// The full lifecycle record of one action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionState {
    /// The phase clients see: the current attempt's, except that a retried failure shows QUEUED.
    pub phase: ActionPhase,
    pub created_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    /// Never empty; `attempts[i].number == i + 1`.
    pub attempts: Vec<AttemptState>,
    /// Set when the action ends FAILED or TIMED_OUT.
    pub error: Option<ErrorInfo>,
    /// Set when the action ends ABORTED.
    pub abort: Option<AbortInfo>,
    /// Decided once, before the first attempt starts.
    #[serde(default, skip_serializing_if = "CacheStatus::is_disabled")]
    pub cache_status: CacheStatus,
    /// The attempt whose outputs a cache hit reused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_source: Option<CacheSource>,
    /// For a condition, once signalled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<Signal>,
    /// For an action a recovery run reused: the action of the earlier run that ran it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovered_from: Option<ActionId>,
}

impl ActionState {
    /// A new action waiting to run, with its first attempt open in QUEUED.
    pub fn queued(now: Timestamp) -> Self {
        Self {
            phase: ActionPhase::Queued,
            created_at: now,
            ended_at: None,
            attempts: vec![AttemptState::opened(1, ActionPhase::Queued, now)],
            error: None,
            abort: None,
            cache_status: CacheStatus::Disabled,
            cache_source: None,
            signal: None,
            recovered_from: None,
        }
    }

    /// An action a recovery run takes over, finished, from `source` (which succeeded): one
    /// attempt, RECOVERED at `now`, with the source's signal if it was a condition.
    pub fn recovered(source: ActionId, signal: Option<Signal>, now: Timestamp) -> Self {
        let mut state = Self::queued(now);
        let attempt = &mut state.attempts[0];
        attempt.phase = ActionPhase::Recovered;
        attempt.ended_at = Some(now);
        attempt.transitions = vec![PhaseTransition {
            phase: ActionPhase::Recovered,
            started_at: now,
            ended_at: Some(now),
        }];
        state.phase = ActionPhase::Recovered;
        state.ended_at = Some(now);
        state.signal = signal;
        state.recovered_from = Some(source);
        state
    }

    /// A new condition, PAUSED until it is signalled (it never queues: nothing runs).
    pub fn paused(now: Timestamp) -> Self {
        let mut state = Self::queued(now);
        state.phase = ActionPhase::Paused;
        state.attempts = vec![AttemptState::opened(1, ActionPhase::Paused, now)];
        state
    }

    /// Ends the paused condition SUCCEEDED with `signal`.
    pub fn signalled(&mut self, signal: Signal) -> Result<(), TransitionError> {
        self.finish(ActionPhase::Succeeded, signal.at, None, None)?;
        self.signal = Some(signal);
        Ok(())
    }

    /// An action recorded already finished (a trace): one attempt from `started_at` to
    /// `ended_at` in `phase`.
    pub fn finished(
        phase: ActionPhase,
        started_at: Timestamp,
        ended_at: Timestamp,
        error: Option<ErrorInfo>,
    ) -> Result<Self, TransitionError> {
        let mut state = Self::queued(started_at);
        state.attempts[0].transitions[0].phase = ActionPhase::Running;
        state.attempts[0].phase = ActionPhase::Running;
        state.phase = ActionPhase::Running;
        state.finish(phase, ended_at, error, None)?;
        Ok(state)
    }

    /// The attempt that is running now, or the last one.
    pub fn current_attempt(&self) -> &AttemptState {
        self.attempts
            .last()
            .expect("an action always has at least one attempt")
    }

    /// Refuses a change meant for `attempt` once the action has moved past it (a retry
    /// opened a newer one), so a late report of an old attempt never lands on its successor.
    pub fn check_attempt(&self, attempt: u32) -> Result<(), TransitionError> {
        let current = self.current_attempt().number;
        if current == attempt {
            Ok(())
        } else {
            Err(TransitionError::Superseded { attempt, current })
        }
    }

    fn current_attempt_mut(&mut self) -> &mut AttemptState {
        self.attempts
            .last_mut()
            .expect("an action always has at least one attempt")
    }

    fn ensure_open(&self) -> Result<(), TransitionError> {
        if self.phase.is_terminal() {
            Err(TransitionError::AlreadyTerminal(self.phase))
        } else {
            Ok(())
        }
    }

    /// Moves the current attempt to a later non-terminal phase.
    pub fn advance(&mut self, next: ActionPhase, now: Timestamp) -> Result<(), TransitionError> {
        self.ensure_open()?;
        if next.is_terminal() {
            return Err(TransitionError::TerminalViaAdvance(next));
        }
        self.current_attempt_mut().enter(next, now)?;
        self.phase = next;
        Ok(())
    }

    /// Records that the current attempt started: its process (and process group) `pid`, if it
    /// runs as a local process, and whether it writes logs.
    pub fn mark_started(
        &mut self,
        pid: Option<u32>,
        logs_available: bool,
    ) -> Result<(), TransitionError> {
        self.ensure_open()?;
        let attempt = self.current_attempt_mut();
        attempt.logs_available = logs_available;
        attempt.pid = pid;
        Ok(())
    }

    /// Ends the action SUCCEEDED.
    pub fn succeed(&mut self, now: Timestamp) -> Result<(), TransitionError> {
        self.finish(ActionPhase::Succeeded, now, None, None)
    }

    /// Ends the current attempt FAILED with `error`; either opens a new attempt (the action
    /// returns to QUEUED and never shows FAILED) or ends the action FAILED.
    pub fn fail(
        &mut self,
        error: ErrorInfo,
        retry: Retry,
        now: Timestamp,
    ) -> Result<(), TransitionError> {
        match retry {
            Retry::GiveUp => self.finish(ActionPhase::Failed, now, Some(error), None),
            Retry::NewAttempt => {
                self.ensure_open()?;
                let attempt = self.current_attempt_mut();
                attempt.enter(ActionPhase::Failed, now)?;
                attempt.error = Some(error);
                let next_number = attempt.number + 1;
                self.attempts
                    .push(AttemptState::opened(next_number, ActionPhase::Queued, now));
                self.phase = ActionPhase::Queued;
                Ok(())
            }
        }
    }

    /// Records the current attempt's `verdict`: success ends the action; a failure or a timeout
    /// opens a new attempt while `policy` allows one, else ends the action FAILED or TIMED_OUT.
    pub fn conclude(
        &mut self,
        verdict: &Verdict,
        policy: &RetryPolicy,
        now: Timestamp,
    ) -> Result<(), TransitionError> {
        let attempts = self.current_attempt().number;
        match verdict {
            Verdict::Succeeded => self.succeed(now),
            Verdict::Failed(error) => {
                let retry = retry_decision(error, attempts, policy);
                self.fail(error.clone(), retry, now)?;
                self.back_off(retry, policy, attempts, now);
                Ok(())
            }
            Verdict::TimedOut(error) => match retry_decision(error, attempts, policy) {
                Retry::NewAttempt => {
                    self.fail(error.clone(), Retry::NewAttempt, now)?;
                    self.back_off(Retry::NewAttempt, policy, attempts, now);
                    Ok(())
                }
                Retry::GiveUp => self.time_out(error.clone(), now),
            },
        }
    }

    /// Holds the retry that follows attempt `attempts` for the policy's backoff: retry
    /// `attempts - 1` (0-indexed) starts that long after `now`.
    fn back_off(&mut self, retry: Retry, policy: &RetryPolicy, attempts: u32, now: Timestamp) {
        let Some(backoff) = policy.backoff.filter(|_| retry == Retry::NewAttempt) else {
            return;
        };
        let delay = backoff.delay(attempts.saturating_sub(1));
        if !delay.is_zero() {
            self.current_attempt_mut().not_before = Some(crate::spec::instant_after(now, delay));
        }
    }

    /// When the current attempt started waiting to start (QUEUED, then perhaps
    /// WAITING_FOR_RESOURCES), if it is still waiting.
    pub fn queued_since(&self) -> Option<Timestamp> {
        let attempt = self.current_attempt();
        matches!(
            attempt.phase,
            ActionPhase::Queued | ActionPhase::WaitingForResources
        )
        .then_some(attempt.started_at)
    }

    /// Moves the queued current attempt to WAITING_FOR_RESOURCES, saying why.
    pub fn wait_for_resources(
        &mut self,
        reason: WaitReason,
        now: Timestamp,
    ) -> Result<(), TransitionError> {
        self.advance(ActionPhase::WaitingForResources, now)?;
        self.current_attempt_mut().waiting_reason = Some(reason);
        Ok(())
    }

    /// Records the cache lookup's outcome for the first attempt, which has not started.
    pub fn looked_up(&mut self, status: CacheStatus) -> Result<(), TransitionError> {
        self.ensure_open()?;
        self.cache_status = status;
        Ok(())
    }

    /// Ends the waiting action SUCCEEDED with the outputs of the cached attempt `source`: its
    /// one attempt ran nothing.
    pub fn hit_cache(
        &mut self,
        source: CacheSource,
        now: Timestamp,
    ) -> Result<(), TransitionError> {
        self.finish(ActionPhase::Succeeded, now, None, None)?;
        self.cache_status = CacheStatus::Hit;
        self.cache_source = Some(source);
        Ok(())
    }

    /// Ends the action ABORTED with `info`.
    pub fn abort(&mut self, info: AbortInfo, now: Timestamp) -> Result<(), TransitionError> {
        self.finish(ActionPhase::Aborted, now, None, Some(info))
    }

    /// Ends the action TIMED_OUT with `error` (its code names which bound was exceeded).
    pub fn time_out(&mut self, error: ErrorInfo, now: Timestamp) -> Result<(), TransitionError> {
        self.finish(ActionPhase::TimedOut, now, Some(error), None)
    }

    fn finish(
        &mut self,
        phase: ActionPhase,
        now: Timestamp,
        error: Option<ErrorInfo>,
        abort: Option<AbortInfo>,
    ) -> Result<(), TransitionError> {
        self.ensure_open()?;
        let attempt = self.current_attempt_mut();
        attempt.enter(phase, now)?;
        attempt.error.clone_from(&error);
        self.phase = phase;
        self.ended_at = Some(now);
        self.error = error;
        self.abort = abort;
        Ok(())
    }

    /// How long the action has run: to its end, or to `now` while it runs.
    pub fn runtime(&self, now: Timestamp) -> std::time::Duration {
        self.ended_at.unwrap_or(now).since(self.created_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ActionPhase::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_micros(seconds * 1_000_000)
    }

    fn user_error(message: &str) -> ErrorInfo {
        ErrorInfo {
            message: message.into(),
            kind: ErrorKind::User,
            code: "ValueError".into(),
            recoverable: true,
        }
    }

    fn phases(attempt: &AttemptState) -> Vec<ActionPhase> {
        attempt.transitions.iter().map(|t| t.phase).collect()
    }

    #[test]
    fn new_action_is_queued_with_one_open_attempt() {
        let state = ActionState::queued(at(1));
        assert_eq!(state.phase, Queued);
        assert_eq!(state.attempts.len(), 1);
        assert_eq!(state.current_attempt().number, 1);
        assert_eq!(phases(state.current_attempt()), [Queued]);
        assert!(!state.current_attempt().logs_available);
    }

    #[test]
    fn a_change_for_an_earlier_attempt_is_refused_once_a_retry_opened() {
        let mut state = ActionState::queued(at(1));
        state.advance(Running, at(2)).unwrap();
        assert_eq!(state.check_attempt(1), Ok(()));
        let error = ErrorInfo {
            message: "node lost".into(),
            kind: crate::ErrorKind::System,
            code: "NodeLost".into(),
            recoverable: true,
        };
        state.fail(error, Retry::NewAttempt, at(3)).unwrap();
        assert_eq!(
            state.check_attempt(1),
            Err(TransitionError::Superseded {
                attempt: 1,
                current: 2
            })
        );
        assert_eq!(state.check_attempt(2), Ok(()));
    }

    #[test]
    fn success_records_every_phase_with_times() {
        let mut state = ActionState::queued(at(1));
        state.advance(Initializing, at(2)).unwrap();
        state.mark_started(Some(42), true).unwrap();
        state.advance(Running, at(3)).unwrap();
        state.succeed(at(10)).unwrap();
        let attempt = state.current_attempt();
        assert_eq!(phases(attempt), [Queued, Initializing, Running, Succeeded]);
        assert_eq!(attempt.transitions[0].ended_at, Some(at(2)));
        assert_eq!(attempt.transitions[2].ended_at, Some(at(10)));
        assert_eq!(attempt.ended_at, Some(at(10)));
        assert!(attempt.logs_available);
        assert_eq!(attempt.pid, Some(42));
        assert_eq!(state.phase, Succeeded);
        assert_eq!(state.ended_at, Some(at(10)));
        assert_eq!(state.runtime(at(99)), std::time::Duration::from_secs(9));
    }

    #[test]
    fn runtime_of_a_running_action_counts_to_now() {
        let state = ActionState::queued(at(1));
        assert_eq!(state.runtime(at(4)), std::time::Duration::from_secs(3));
    }

    #[test]
    fn final_failure_sets_the_action_error() {
        let mut state = ActionState::queued(at(1));
        state.advance(Running, at(2)).unwrap();
        state
            .fail(user_error("boom"), Retry::GiveUp, at(3))
            .unwrap();
        assert_eq!(state.phase, Failed);
        assert_eq!(state.error.as_ref().unwrap().message, "boom");
        assert_eq!(state.current_attempt().error, state.error);
    }

    #[test]
    fn retried_failure_opens_a_new_attempt_and_never_shows_failed() {
        let mut state = ActionState::queued(at(1));
        state.advance(Running, at(2)).unwrap();
        state
            .fail(user_error("flaky"), Retry::NewAttempt, at(3))
            .unwrap();
        assert_eq!(state.phase, Queued);
        assert!(state.error.is_none());
        assert_eq!(state.attempts.len(), 2);
        assert_eq!(state.attempts[0].phase, Failed);
        assert_eq!(state.attempts[0].error.as_ref().unwrap().message, "flaky");
        assert_eq!(state.attempts[1].number, 2);
        assert_eq!(phases(&state.attempts[1]), [Queued]);
        state.advance(Running, at(4)).unwrap();
        state.succeed(at(5)).unwrap();
        assert_eq!(state.phase, Succeeded);
    }

    #[test]
    fn abort_records_reason_and_who() {
        let mut state = ActionState::queued(at(1));
        state.advance(Running, at(2)).unwrap();
        let info = AbortInfo {
            reason: "user asked".into(),
            aborted_by: "alice".into(),
        };
        state.abort(info.clone(), at(3)).unwrap();
        assert_eq!(state.phase, Aborted);
        assert_eq!(state.abort, Some(info));
        assert_eq!(phases(state.current_attempt()), [Queued, Running, Aborted]);
    }

    #[test]
    fn terminal_is_final_for_every_change() {
        let mut state = ActionState::queued(at(1));
        state.succeed(at(2)).unwrap();
        let before = state.clone();
        let terminal = TransitionError::AlreadyTerminal(Succeeded);
        assert_eq!(state.advance(Running, at(3)), Err(terminal.clone()));
        assert_eq!(state.succeed(at(3)), Err(terminal.clone()));
        assert_eq!(
            state.fail(user_error("late"), Retry::NewAttempt, at(3)),
            Err(terminal.clone())
        );
        let info = AbortInfo {
            reason: String::new(),
            aborted_by: String::new(),
        };
        assert_eq!(state.abort(info, at(3)), Err(terminal.clone()));
        assert_eq!(state.mark_started(Some(7), true), Err(terminal));
        assert_eq!(state, before, "a refused change must not alter the record");
    }

    #[test]
    fn phases_never_move_backwards_and_terminal_needs_its_own_call() {
        let mut state = ActionState::queued(at(1));
        state.advance(Running, at(2)).unwrap();
        assert!(matches!(
            state.advance(Initializing, at(3)),
            Err(TransitionError::Backwards { .. })
        ));
        assert_eq!(
            state.advance(Succeeded, at(3)),
            Err(TransitionError::TerminalViaAdvance(Succeeded))
        );
        assert_eq!(state.phase, Running);
    }

    #[test]
    fn finished_records_a_single_terminal_attempt() {
        let state = ActionState::finished(Succeeded, at(1), at(2), None).unwrap();
        assert_eq!(state.phase, Succeeded);
        assert_eq!(state.attempts.len(), 1);
        assert_eq!(phases(&state.attempts[0]), [Running, Succeeded]);
        assert_eq!(state.ended_at, Some(at(2)));
    }

    #[test]
    fn a_timeout_is_retried_within_the_budget_then_ends_timed_out() {
        let policy = RetryPolicy {
            retries: 1,
            backoff: None,
        };
        let timeout = Verdict::TimedOut(crate::spec::timeout_error(
            std::time::Duration::from_secs(1),
        ));
        let mut state = ActionState::queued(at(1));
        state.advance(Running, at(2)).unwrap();
        state.conclude(&timeout, &policy, at(3)).unwrap();
        assert_eq!(state.phase, Queued);
        assert_eq!(state.attempts[0].phase, Failed);
        state.advance(Running, at(4)).unwrap();
        state.conclude(&timeout, &policy, at(5)).unwrap();
        assert_eq!(state.phase, TimedOut);
        assert_eq!(state.error.as_ref().unwrap().code, "MAX_RUNTIME_EXCEEDED");
    }

    #[test]
    fn a_retry_waits_out_its_backoff_and_the_last_failure_waits_for_nothing() {
        let policy = RetryPolicy {
            retries: 2,
            backoff: Some(crate::spec::Backoff {
                base: std::time::Duration::from_secs(2),
                factor: 3.0,
                cap: Some(std::time::Duration::from_secs(60)),
            }),
        };
        let failed = Verdict::Failed(user_error("flaky"));
        let mut state = ActionState::queued(at(1));
        state.advance(Running, at(2)).unwrap();
        state.conclude(&failed, &policy, at(3)).unwrap();
        assert_eq!(
            state.current_attempt().not_before,
            Some(at(5)),
            "base after the first"
        );
        state.advance(Running, at(5)).unwrap();
        state.conclude(&failed, &policy, at(6)).unwrap();
        assert_eq!(
            state.current_attempt().not_before,
            Some(at(12)),
            "base * factor after the second"
        );
        state.advance(Running, at(12)).unwrap();
        state.conclude(&failed, &policy, at(13)).unwrap();
        assert_eq!(state.phase, Failed);
    }

    #[test]
    fn success_concludes_the_action_whatever_the_policy() {
        let mut state = ActionState::queued(at(1));
        state.advance(Running, at(2)).unwrap();
        state
            .conclude(&Verdict::Succeeded, &RetryPolicy::default(), at(3))
            .unwrap();
        assert_eq!(state.phase, Succeeded);
    }

    #[test]
    fn state_survives_a_json_round_trip() {
        let mut state = ActionState::queued(at(1));
        state.advance(Running, at(2)).unwrap();
        state.fail(user_error("x"), Retry::GiveUp, at(3)).unwrap();
        let json = serde_json::to_string(&state).unwrap();
        assert_eq!(serde_json::from_str::<ActionState>(&json).unwrap(), state);
    }

    #[test]
    fn a_condition_starts_paused_and_a_signal_ends_it_once() {
        let mut state = ActionState::paused(at(0));
        assert_eq!(state.phase, ActionPhase::Paused);
        assert_eq!(state.attempts.len(), 1);
        assert_eq!(state.attempts[0].transitions[0].phase, ActionPhase::Paused);
        let signal = Signal {
            value: vec![1, 2],
            by: "ana".into(),
            at: at(5),
        };
        state.signalled(signal.clone()).unwrap();
        assert_eq!(state.phase, ActionPhase::Succeeded);
        assert_eq!(state.ended_at, Some(at(5)));
        assert_eq!(state.signal, Some(signal.clone()));
        assert_eq!(
            state.signalled(signal),
            Err(TransitionError::AlreadyTerminal(ActionPhase::Succeeded))
        );
    }
}
