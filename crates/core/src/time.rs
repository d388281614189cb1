//! Wall-clock instants stored in records: microseconds since the Unix epoch, UTC.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// An instant in UTC with microsecond precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The current wall-clock time.
    pub fn now() -> Self {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Self(i64::try_from(since_epoch.as_micros()).unwrap_or(i64::MAX))
    }

    /// The instant `micros` microseconds after the epoch.
    pub const fn from_micros(micros: i64) -> Self {
        Self(micros)
    }

    /// Microseconds since the epoch.
    pub const fn as_micros(self) -> i64 {
        self.0
    }

    /// Whole seconds and the nanoseconds past them, as protobuf `Timestamp` wants them.
    pub fn to_seconds_and_nanos(self) -> (i64, i32) {
        let seconds = self.0.div_euclid(1_000_000);
        let nanos = (self.0.rem_euclid(1_000_000) * 1_000) as i32;
        (seconds, nanos)
    }

    /// The instant given as protobuf `Timestamp` parts (sub-microsecond digits are dropped).
    pub fn from_seconds_and_nanos(seconds: i64, nanos: i32) -> Self {
        Self(
            seconds
                .saturating_mul(1_000_000)
                .saturating_add(i64::from(nanos) / 1_000),
        )
    }

    /// Time elapsed from `earlier` to `self`, zero if `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_micros(u64::try_from(self.0 - earlier.0).unwrap_or(0))
    }

    /// ISO-8601 UTC with microseconds, e.g. `2026-11-27T04:05:26.123456Z`.
    pub fn to_rfc3339(self) -> String {
        let nanos = i128::from(self.0) * 1_000;
        match time::OffsetDateTime::from_unix_timestamp_nanos(nanos) {
            Ok(datetime) => datetime
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_else(|_| self.0.to_string()),
            Err(_) => self.0.to_string(),
        }
    }

    /// Parses an RFC 3339 instant, as the SDK sends in `created_at` filters.
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        let datetime =
            time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                .ok()?;
        i64::try_from(datetime.unix_timestamp_nanos() / 1_000)
            .ok()
            .map(Self)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_nanos_round_trip_including_before_the_epoch() {
        for micros in [0, 1, 1_500_000, -1, -1_500_001, 1_764_216_326_123_456] {
            let (seconds, nanos) = Timestamp::from_micros(micros).to_seconds_and_nanos();
            assert!((0..1_000_000_000).contains(&nanos));
            assert_eq!(
                Timestamp::from_seconds_and_nanos(seconds, nanos).as_micros(),
                micros
            );
        }
    }

    #[test]
    fn rfc3339_round_trips() {
        let instant = Timestamp::from_micros(1_764_216_326_123_456);
        assert_eq!(instant.to_rfc3339(), "2025-11-27T04:05:26.123456Z");
        assert_eq!(
            Timestamp::parse_rfc3339(&instant.to_rfc3339()),
            Some(instant)
        );
        assert_eq!(Timestamp::parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn since_never_goes_negative() {
        let early = Timestamp::from_micros(10);
        let late = Timestamp::from_micros(2_000_010);
        assert_eq!(late.since(early), Duration::from_secs(2));
        assert_eq!(early.since(late), Duration::ZERO);
    }
}
