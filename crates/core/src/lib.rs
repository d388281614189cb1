//! aerie's domain vocabulary, with no I/O.
//!
//! # Layout
//! - [`id`]: validated identifiers (project, domain, run, action); parsing is the only way in,
//!   so a value of these types is always safe to use as a storage path segment.
//! - [`phase`]: the one [`ActionPhase`] enum and its ordering and terminal rules.
//! - [`state`]: [`ActionState`], an action's full lifecycle record (attempts, phase transitions,
//!   error and abort info), and the pure functions that change it.
//! - [`time`]: the [`Timestamp`] every record carries.

pub mod id;
pub mod phase;
pub mod state;
pub mod time;

pub use id::{ActionId, ActionName, Domain, IdError, Org, Project, RunId, RunName};
pub use phase::ActionPhase;
pub use state::{
    AbortInfo, ActionState, AttemptState, ErrorInfo, ErrorKind, PhaseTransition, Retry,
    TransitionError,
};
pub use time::Timestamp;
