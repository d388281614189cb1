//! When a trigger fires: a cron expression in a time zone, or a fixed rate from an optional
//! start. Pure: [`Schedule::next_after`] gives the next fire strictly after an instant.
//!
//! Cron expressions have the five standard fields (minute, hour, day of month, month, day of
//! week) with `*`, `?`, lists, ranges, steps and the names `JAN`–`DEC` and `SUN`–`SAT`
//! (day 7 is Sunday too), or one of `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`,
//! `@midnight`, `@hourly`. When both day fields are restricted, a day matching either fires
//! (as in Vixie cron). Times are the zone's wall clock: a fire inside a daylight-saving gap
//! happens at the same offset after the gap, and a wall-clock time that happens twice fires
//! once, at the first.

use crate::Timestamp;
use jiff::ToSpan;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;

/// Why a schedule cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("cron expression {expression:?}: {problem}")]
    Cron { expression: String, problem: String },
    #[error("unknown time zone {0:?} (use an IANA name such as \"UTC\" or \"Europe/Paris\")")]
    TimeZone(String),
    #[error("a fixed rate must be at least one minute, got {0}")]
    Rate(String),
}

/// A trigger's schedule.
#[derive(Debug, Clone)]
pub enum Schedule {
    Cron(Cron),
    /// Every `every`, at `start + k·every` when a start is given, else `every` after the
    /// previous fire (or after activation).
    FixedRate {
        every_minutes: i64,
        start: Option<Timestamp>,
    },
}

/// A parsed cron expression and its zone.
#[derive(Debug, Clone)]
pub struct Cron {
    minutes: u64,
    hours: u32,
    days_of_month: u32,
    months: u16,
    days_of_week: u8,
    day_of_month_restricted: bool,
    day_of_week_restricted: bool,
    zone: TimeZone,
}

/// How far ahead a cron expression is searched before it counts as never firing.
const SEARCH_YEARS: i16 = 30;
const MICROS_PER_MINUTE: i64 = 60_000_000;

impl Schedule {
    /// A fixed rate of `every_minutes`, at least one.
    pub fn fixed_rate(every_minutes: i64, start: Option<Timestamp>) -> Result<Self, ScheduleError> {
        if every_minutes < 1 {
            return Err(ScheduleError::Rate(format!("{every_minutes} minutes")));
        }
        Ok(Self::FixedRate {
            every_minutes,
            start,
        })
    }

    /// The first fire strictly after `after`, `None` if there is none.
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        match self {
            Self::Cron(cron) => cron.next_after(after),
            Self::FixedRate {
                every_minutes,
                start,
            } => {
                let every = every_minutes.checked_mul(MICROS_PER_MINUTE)?;
                let after = after.as_micros();
                let next = match start {
                    Some(start) if after < start.as_micros() => start.as_micros(),
                    Some(start) => {
                        let periods = (after - start.as_micros()) / every + 1;
                        start.as_micros().checked_add(periods.checked_mul(every)?)?
                    }
                    None => after.checked_add(every)?,
                };
                Some(Timestamp::from_micros(next))
            }
        }
    }

    /// The fire after one at `fired`, given that it is `now`: the next scheduled instant, or
    /// when that has passed too (aerie was down), the first one after now. This is the
    /// catch-up policy: missed fires become at most one run.
    pub fn after_fire(&self, fired: Timestamp, now: Timestamp) -> Option<Timestamp> {
        let next = self.next_after(fired)?;
        if next > now {
            Some(next)
        } else {
            self.next_after(now)
        }
    }
}

impl Cron {
    /// Parses `expression` for the IANA zone `zone` (empty means UTC).
    pub fn parse(expression: &str, zone: &str) -> Result<Self, ScheduleError> {
        let zone = match zone {
            "" => TimeZone::UTC,
            name => TimeZone::get(name).map_err(|_| ScheduleError::TimeZone(name.to_owned()))?,
        };
        let bad = |problem: String| ScheduleError::Cron {
            expression: expression.to_owned(),
            problem,
        };
        let trimmed = expression.trim();
        let expanded = match trimmed.to_ascii_lowercase().as_str() {
            "@yearly" | "@annually" => "0 0 1 1 *".to_owned(),
            "@monthly" => "0 0 1 * *".to_owned(),
            "@weekly" => "0 0 * * 0".to_owned(),
            "@daily" | "@midnight" => "0 0 * * *".to_owned(),
            "@hourly" => "0 * * * *".to_owned(),
            other if other.starts_with('@') => {
                return Err(bad(format!("unknown shorthand {trimmed:?}")));
            }
            _ => trimmed.to_owned(),
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        let [minute, hour, day_of_month, month, day_of_week] = fields[..] else {
            return Err(bad(format!(
                "expected 5 fields (minute hour day-of-month month day-of-week), found {}",
                fields.len()
            )));
        };
        let field = |text: &str, what: &str, low: u32, high: u32, names: &[&str]| {
            parse_field(text, low, high, names).map_err(|problem| bad(format!("{what}: {problem}")))
        };
        let days_of_week = field(day_of_week, "day of week", 0, 7, &DAY_NAMES)?;
        // Day 7 is Sunday, like day 0.
        let days_of_week = (days_of_week | (days_of_week >> 7)) & 0x7f;
        Ok(Self {
            minutes: field(minute, "minute", 0, 59, &[])?,
            hours: field(hour, "hour", 0, 23, &[])? as u32,
            days_of_month: field(day_of_month, "day of month", 1, 31, &[])? as u32,
            months: field(month, "month", 1, 12, &MONTH_NAMES)? as u16,
            days_of_week: days_of_week as u8,
            day_of_month_restricted: !is_any(day_of_month),
            day_of_week_restricted: !is_any(day_of_week),
            zone,
        })
    }

    fn day_matches(&self, date: Date) -> bool {
        let by_month_day = self.days_of_month & (1 << date.day()) != 0;
        let by_week_day = self.days_of_week & (1 << date.weekday().to_sunday_zero_offset()) != 0;
        match (self.day_of_month_restricted, self.day_of_week_restricted) {
            (true, true) => by_month_day || by_week_day,
            (true, false) => by_month_day,
            (false, true) => by_week_day,
            (false, false) => true,
        }
    }

    /// The first matching minute strictly after `after`.
    fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        let start = jiff::Timestamp::from_microsecond(after.as_micros()).ok()?;
        let local = start.to_zoned(self.zone.clone()).datetime();
        // The next whole minute of the wall clock.
        let mut at: DateTime = local
            .date()
            .at(local.hour(), local.minute(), 0, 0)
            .checked_add(1.minute())
            .ok()?;
        let last_year = local.year().saturating_add(SEARCH_YEARS);
        while at.year() <= last_year {
            if self.months & (1 << at.month()) == 0 {
                at = at
                    .date()
                    .first_of_month()
                    .checked_add(1.month())
                    .ok()?
                    .at(0, 0, 0, 0);
                continue;
            }
            if !self.day_matches(at.date()) {
                at = at.date().tomorrow().ok()?.at(0, 0, 0, 0);
                continue;
            }
            if self.hours & (1 << at.hour()) == 0 {
                at = at
                    .date()
                    .at(at.hour(), 0, 0, 0)
                    .checked_add(1.hour())
                    .ok()?;
                continue;
            }
            if self.minutes & (1 << at.minute()) == 0 {
                at = at.checked_add(1.minute()).ok()?;
                continue;
            }
            let instant = at
                .to_zoned(self.zone.clone())
                .ok()?
                .timestamp()
                .as_microsecond();
            if instant > after.as_micros() {
                return Some(Timestamp::from_micros(instant));
            }
            at = at.checked_add(1.minute()).ok()?;
        }
        None
    }
}

const MONTH_NAMES: [&str; 13] = [
    "", "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

fn is_any(field: &str) -> bool {
    field == "*" || field == "?"
}

/// One number of a field, or a name from `names` (indexed by value).
fn parse_value(text: &str, low: u32, high: u32, names: &[&str]) -> Result<u32, String> {
    let value = match text.parse::<u32>() {
        Ok(value) => value,
        Err(_) => names
            .iter()
            .position(|name| !name.is_empty() && name.eq_ignore_ascii_case(text))
            .map(|index| index as u32)
            .ok_or_else(|| format!("{text:?} is not a number or a known name"))?,
    };
    if value < low || value > high {
        return Err(format!("{value} is outside {low}-{high}"));
    }
    Ok(value)
}

/// A field as a bit set of the values it allows.
fn parse_field(text: &str, low: u32, high: u32, names: &[&str]) -> Result<u64, String> {
    let mut allowed = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => {
                let step: u32 = step
                    .parse()
                    .ok()
                    .filter(|step| *step > 0)
                    .ok_or_else(|| format!("step {step:?} is not a positive number"))?;
                (range, step)
            }
            None => (part, 1),
        };
        let (first, last) = if is_any(range) {
            (low, high)
        } else if let Some((from, to)) = range.split_once('-') {
            let from = parse_value(from, low, high, names)?;
            let to = parse_value(to, low, high, names)?;
            if from > to {
                return Err(format!("range {range:?} runs backwards"));
            }
            (from, to)
        } else {
            let single = parse_value(range, low, high, names)?;
            // `5/15` means from 5 to the end in steps of 15.
            (single, if part.contains('/') { high } else { single })
        };
        let mut value = first;
        while value <= last {
            allowed |= 1 << value;
            value += step;
        }
    }
    Ok(allowed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        let instant: jiff::Timestamp = text.parse().unwrap();
        Timestamp::from_micros(instant.as_microsecond())
    }

    fn next(expression: &str, zone: &str, after: &str) -> String {
        let cron = Cron::parse(expression, zone).unwrap();
        let next = Schedule::Cron(cron).next_after(at(after)).unwrap();
        next.to_rfc3339()
    }

    #[test]
    fn daily_hourly_and_stepped_crons_fire_at_the_next_matching_minute() {
        assert_eq!(
            next("0 0 * * *", "UTC", "2026-11-30T12:00:00Z"),
            "2026-12-01T00:00:00Z"
        );
        assert_eq!(
            next("@hourly", "", "2026-11-30T12:00:00Z"),
            "2026-11-30T13:00:00Z"
        );
        assert_eq!(
            next("*/15 9-17 * * MON-FRI", "UTC", "2026-11-28T10:00:00Z"),
            "2026-11-30T09:00:00Z"
        );
        assert_eq!(
            next("5/20 * * * *", "UTC", "2026-11-30T12:06:00Z"),
            "2026-11-30T12:25:00Z"
        );
        assert_eq!(
            next("0 12 1 JAN,jul *", "UTC", "2026-11-30T12:00:00Z"),
            "2027-01-01T12:00:00Z"
        );
    }

    #[test]
    fn time_zones_and_daylight_saving_follow_the_wall_clock() {
        // 9:00 in New York is 14:00 UTC in winter and 13:00 UTC in summer.
        assert_eq!(
            next("0 9 * * *", "America/New_York", "2026-12-01T00:00:00Z"),
            "2026-12-01T14:00:00Z"
        );
        assert_eq!(
            next("0 9 * * *", "US/Eastern", "2026-07-01T00:00:00Z"),
            "2026-07-01T13:00:00Z"
        );
        // 2:30 does not exist on 8 March 2026 in New York: it fires just after the gap.
        assert_eq!(
            next("30 2 * * *", "America/New_York", "2026-03-08T05:00:00Z"),
            "2026-03-08T07:30:00Z"
        );
    }

    #[test]
    fn either_restricted_day_field_matches_and_sunday_is_0_or_7() {
        // The 1st of the month or any Friday: after Monday 30 Nov 2026 comes Tuesday 1 Dec.
        assert_eq!(
            next("0 0 1 * 5", "UTC", "2026-11-30T01:00:00Z"),
            "2026-12-01T00:00:00Z"
        );
        assert_eq!(
            next("0 0 * * 7", "UTC", "2026-11-30T01:00:00Z"),
            "2026-12-06T00:00:00Z"
        );
    }

    #[test]
    fn bad_expressions_and_zones_say_what_is_wrong() {
        let problem =
            |expression: &str, zone: &str| Cron::parse(expression, zone).unwrap_err().to_string();
        assert!(problem("0 0 * *", "UTC").contains("expected 5 fields"));
        assert!(problem("61 * * * *", "UTC").contains("minute: 61 is outside 0-59"));
        assert!(problem("0 0 * FOO *", "UTC").contains("month"));
        assert!(problem("*/0 * * * *", "UTC").contains("step"));
        assert!(problem("5-1 * * * *", "UTC").contains("backwards"));
        assert!(problem("@often", "UTC").contains("unknown shorthand"));
        assert!(problem("0 0 * * *", "Mars/Olympus").contains("unknown time zone"));
        assert_eq!(
            Schedule::Cron(Cron::parse("0 0 30 2 *", "UTC").unwrap())
                .next_after(at("2026-01-01T00:00:00Z")),
            None
        );
    }

    #[test]
    fn fixed_rates_keep_to_their_start_and_miss_at_most_once() {
        let start = at("2026-11-30T12:00:00Z");
        let every_ten = Schedule::fixed_rate(10, Some(start)).unwrap();
        assert_eq!(
            every_ten.next_after(at("2026-11-30T11:00:00Z")),
            Some(start)
        );
        assert_eq!(
            every_ten
                .next_after(at("2026-11-30T12:00:00Z"))
                .unwrap()
                .to_rfc3339(),
            "2026-11-30T12:10:00Z"
        );
        // After three hours down, the fire at 12:10 is followed by the first one after now.
        assert_eq!(
            every_ten
                .after_fire(at("2026-11-30T12:10:00Z"), at("2026-11-30T15:05:00Z"))
                .unwrap()
                .to_rfc3339(),
            "2026-11-30T15:10:00Z"
        );
        let free = Schedule::fixed_rate(1, None).unwrap();
        assert_eq!(
            free.next_after(at("2026-11-30T12:00:30Z"))
                .unwrap()
                .to_rfc3339(),
            "2026-11-30T12:01:30Z"
        );
        assert!(Schedule::fixed_rate(0, None).is_err());
    }
}
