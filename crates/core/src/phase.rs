//! The phases an action and each of its attempts move through.
//!
//! Numbering follows `flyteidl2.common.ActionPhase`, so `as_i32`/`from_i32` are the wire mapping.
//! Within one attempt a phase only moves forward ([`ActionPhase::can_move_to`]); a terminal phase
//! is final.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Where an action, or one attempt of it, stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ActionPhase {
    Queued,
    WaitingForResources,
    Initializing,
    Running,
    Succeeded,
    Failed,
    Aborted,
    TimedOut,
    Paused,
    Recovered,
}

impl ActionPhase {
    /// Every phase, in wire order.
    pub const ALL: [ActionPhase; 10] = [
        Self::Queued,
        Self::WaitingForResources,
        Self::Initializing,
        Self::Running,
        Self::Succeeded,
        Self::Failed,
        Self::Aborted,
        Self::TimedOut,
        Self::Paused,
        Self::Recovered,
    ];

    /// The `flyteidl2.common.ActionPhase` number.
    pub const fn as_i32(self) -> i32 {
        match self {
            Self::Queued => 1,
            Self::WaitingForResources => 2,
            Self::Initializing => 3,
            Self::Running => 4,
            Self::Succeeded => 5,
            Self::Failed => 6,
            Self::Aborted => 7,
            Self::TimedOut => 8,
            Self::Paused => 9,
            Self::Recovered => 10,
        }
    }

    /// The phase with wire number `value`; `None` for 0 (UNSPECIFIED) and unknown numbers.
    pub fn from_i32(value: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|phase| phase.as_i32() == value)
    }

    /// Whether the action is over: succeeded, failed, aborted, timed out or recovered.
    pub const fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Succeeded | Self::Failed | Self::Aborted | Self::TimedOut | Self::Recovered
        )
    }

    /// Whether the phase counts as success (outputs exist).
    pub const fn is_success(self) -> bool {
        matches!(self, Self::Succeeded | Self::Recovered)
    }

    /// How far along an attempt is; phases never move to a lower rank.
    const fn rank(self) -> u8 {
        match self {
            Self::Queued => 1,
            Self::WaitingForResources => 2,
            Self::Initializing => 3,
            Self::Running | Self::Paused => 4,
            _ => 5,
        }
    }

    /// Whether an attempt in `self` may enter `next`: strictly forward, never out of a
    /// terminal phase.
    pub const fn can_move_to(self, next: ActionPhase) -> bool {
        !self.is_terminal() && next.rank() > self.rank()
    }

    /// The upper-case proto name without prefix, e.g. `RUNNING`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Queued => "QUEUED",
            Self::WaitingForResources => "WAITING_FOR_RESOURCES",
            Self::Initializing => "INITIALIZING",
            Self::Running => "RUNNING",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::Aborted => "ABORTED",
            Self::TimedOut => "TIMED_OUT",
            Self::Paused => "PAUSED",
            Self::Recovered => "RECOVERED",
        }
    }
}

impl fmt::Display for ActionPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The text is not a phase name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown phase {0:?}")]
pub struct UnknownPhase(pub String);

impl FromStr for ActionPhase {
    type Err = UnknownPhase;

    /// Accepts `RUNNING`, `running`, `ACTION_PHASE_RUNNING` or the wire number `4`.
    fn from_str(raw: &str) -> Result<Self, UnknownPhase> {
        let upper = raw.trim().to_ascii_uppercase();
        let bare = upper.strip_prefix("ACTION_PHASE_").unwrap_or(&upper);
        if let Ok(number) = bare.parse::<i32>() {
            return Self::from_i32(number).ok_or_else(|| UnknownPhase(raw.into()));
        }
        Self::ALL
            .into_iter()
            .find(|phase| phase.name() == bare)
            .ok_or_else(|| UnknownPhase(raw.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::ActionPhase::*;
    use super::*;

    #[test]
    fn wire_numbers_round_trip_and_zero_is_not_a_phase() {
        for phase in ActionPhase::ALL {
            assert_eq!(ActionPhase::from_i32(phase.as_i32()), Some(phase));
        }
        assert_eq!(ActionPhase::from_i32(0), None);
        assert_eq!(ActionPhase::from_i32(11), None);
    }

    #[test]
    fn terminal_phases_are_exactly_the_five_final_ones() {
        let terminal: Vec<_> = ActionPhase::ALL
            .into_iter()
            .filter(|p| p.is_terminal())
            .collect();
        assert_eq!(terminal, [Succeeded, Failed, Aborted, TimedOut, Recovered]);
        assert!(Recovered.is_success() && Succeeded.is_success() && !Failed.is_success());
    }

    #[test]
    fn lifecycle_moves_forward_only() {
        assert!(Queued.can_move_to(WaitingForResources));
        assert!(Queued.can_move_to(Initializing));
        assert!(Queued.can_move_to(Running));
        assert!(Initializing.can_move_to(Running));
        assert!(Running.can_move_to(Succeeded));
        assert!(Queued.can_move_to(Aborted));
        assert!(Queued.can_move_to(Paused));
        assert!(Paused.can_move_to(Succeeded));
        assert!(!Running.can_move_to(Queued));
        assert!(!Running.can_move_to(Initializing));
        assert!(!Running.can_move_to(Running));
        assert!(!Running.can_move_to(Paused));
    }

    #[test]
    fn terminal_is_final() {
        for from in ActionPhase::ALL.into_iter().filter(|p| p.is_terminal()) {
            for to in ActionPhase::ALL {
                assert!(!from.can_move_to(to), "{from} -> {to} was allowed");
            }
        }
    }

    #[test]
    fn parses_names_prefixed_names_and_numbers() {
        assert_eq!("running".parse(), Ok(Running));
        assert_eq!("ACTION_PHASE_TIMED_OUT".parse(), Ok(TimedOut));
        assert_eq!("6".parse(), Ok(Failed));
        assert!("0".parse::<ActionPhase>().is_err());
        assert!("walking".parse::<ActionPhase>().is_err());
    }
}
