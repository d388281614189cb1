//! aerie's domain vocabulary, with no I/O.
//!
//! # Layout
//! - [`id`]: validated identifiers (project, domain, run, action); parsing is the only way in,
//!   so a value of these types is always safe to use as a storage path segment.
//! - [`phase`]: the one [`ActionPhase`] enum and its ordering and terminal rules.
//! - [`state`]: [`ActionState`], an action's full lifecycle record (attempts, phase transitions,
//!   error and abort info), and the pure functions that change it.
//! - [`spec`]: [`ActionSpec`], what an action runs and under which rules (retries, timeout,
//!   launch, cache), and the pure retry and timeout rules.
//! - [`time`]: the [`Timestamp`] every record carries.
//! - [`role`]: the [`Role`] an API key grants.
//! - [`schedule`]: when a trigger fires ([`Schedule`]: cron in a time zone, or a fixed rate).

pub mod cache;
pub mod id;
pub mod phase;
pub mod role;
pub mod schedule;
pub mod spec;
pub mod state;
pub mod time;

pub use cache::{CacheSource, CacheStatus};
pub use id::{ActionId, ActionName, Domain, IdError, Org, Project, RunId, RunName};
pub use phase::ActionPhase;
pub use role::{Role, UnknownRole};
pub use schedule::{Cron, Schedule, ScheduleError};
pub use spec::{
    ActionKind, ActionSpec, Backoff, CacheSettings, Launch, RetryPolicy, SecretMount,
    SecretRequest, TaskRef,
};
pub use state::{
    AbortInfo, ActionState, AttemptState, ErrorInfo, ErrorKind, PhaseTransition, Retry, Signal,
    TransitionError, Verdict, WaitReason,
};
pub use time::Timestamp;
