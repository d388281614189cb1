//! How data is shown: aligned tables, durations, times, phases and the detail block of an action.
//!
//! Everything here formats into a writer and returns its I/O error, so a closed pipe
//! (`aerie get run | head`) ends the command quietly instead of panicking like `println!`.

use aerie_client::wire::flyteidl2::workflow::ActionMetadata;
use aerie_client::wire::flyteidl2::workflow::error_info::Kind;
use aerie_client::{ActionDetails, ActionSummary, CacheStatus, Relation, Timestamp};
use std::io::{self, Write};
use std::time::Duration;

/// Rows of text printed with each column padded to its widest cell.
#[derive(Debug, Default)]
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table whose first row is `header`.
    pub fn with_header(header: &[&str]) -> Self {
        Self {
            rows: vec![header.iter().map(|cell| (*cell).to_owned()).collect()],
        }
    }

    /// Appends a row.
    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// Writes the rows, columns two spaces apart, the last column unpadded.
    pub fn write_to(&self, out: &mut impl Write) -> io::Result<()> {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|column| {
                self.rows
                    .iter()
                    .filter_map(|row| row.get(column))
                    .map(|cell| cell.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for row in &self.rows {
            let mut line = String::new();
            for (column, cell) in row.iter().enumerate() {
                if column + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    line.push_str(&format!("{cell:<width$}  ", width = widths[column]));
                }
            }
            writeln!(out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

/// `4.2s`, `3m07s`, `2h05m`, `3d04h`: short, and precise where it matters.
pub fn format_duration(duration: Duration) -> String {
    const MINUTE: u64 = 60;
    const HOUR: u64 = 60 * MINUTE;
    const DAY: u64 = 24 * HOUR;
    let seconds = duration.as_secs();
    if seconds < MINUTE {
        format!("{:.1}s", duration.as_secs_f64())
    } else if seconds < HOUR {
        format!("{}m{:02}s", seconds / MINUTE, seconds % MINUTE)
    } else if seconds < DAY {
        format!("{}h{:02}m", seconds / HOUR, (seconds % HOUR) / MINUTE)
    } else {
        format!("{}d{:02}h", seconds / DAY, (seconds % DAY) / HOUR)
    }
}

/// An instant to the second, e.g. `2025-11-27T04:05:26Z`.
pub fn format_time(instant: Timestamp) -> String {
    let text = instant.to_rfc3339();
    match text.split_once('.') {
        Some((whole_seconds, _fraction)) => format!("{whole_seconds}Z"),
        None => text,
    }
}

/// The phase name, or `UNKNOWN(n)` for a phase this build does not know.
pub fn phase_label(action: &impl ActionSummary) -> String {
    match action.phase() {
        Ok(phase) => phase.to_string(),
        Err(_) => format!("UNKNOWN({})", action.raw_phase().to_i32()),
    }
}

/// The task name, or `-` for traces and conditions.
pub fn task_label(action: &impl ActionSummary) -> String {
    action.task_name().unwrap_or("-").to_owned()
}

/// The start time, or `-`.
pub fn start_label(action: &impl ActionSummary) -> String {
    action
        .start_time()
        .map_or_else(|| "-".to_owned(), format_time)
}

/// Everything worth a glance about one action, one `key  value` line each.
pub fn write_details(details: &ActionDetails, out: &mut impl Write) -> io::Result<()> {
    let mut table = Table::default();
    let mut row = |key: &str, value: String| table.push(vec![key.to_owned(), value]);
    row("run", details.run_name().to_owned());
    row("action", details.name().to_owned());
    let parent = &details.metadata().parent;
    if !parent.is_empty() {
        row("parent", parent.clone());
    }
    row("task", task_label(details));
    if let Some(trigger) = trigger_label(details.metadata()) {
        row("trigger", trigger);
    }
    row("phase", phase_label(details));
    row("attempts", details.attempts().to_string());
    row("started", start_label(details));
    if let Some(end) = details.end_time() {
        row("ended", format_time(end));
    }
    row("runtime", format_duration(details.runtime()));
    if let Some(cache) = cache_label(details) {
        row("cache", cache);
    }
    if let Some((source, relation)) = details.related_run() {
        let how = match relation {
            Relation::Rerun => "rerun of",
            Relation::Recover => "recovery of",
            Relation::Other => "related to",
        };
        row("source", format!("{how} {}", source.name));
    }
    if let Some(source) = details.recovered_from() {
        row(
            "recovered",
            format!("from {}/{}", source.run.name, source.name),
        );
    }
    if details.is_condition() {
        let value_type = details.condition_type().map_or_else(
            || "any type".to_owned(),
            |value_type| value_type.to_string(),
        );
        let prompt = details.condition_prompt().unwrap_or_default();
        row("condition", format!("{value_type}: {prompt}"));
        if let Some((value, by)) = details.signalled() {
            row("signal", format!("{value} by {}", by.unwrap_or("unknown")));
        }
    }
    if let Some(error) = details.error_info() {
        row(
            "error",
            error_summary(error.kind.as_known(), &error.code, &error.message),
        );
    }
    if let Some(abort) = details.abort_info() {
        row("aborted", abort_summary(&abort.reason));
    }
    table.write_to(out)
}

/// The action's cache outcome, e.g. `hit (outputs of r1/a0, attempt 1)`; `None` for a task
/// that is not cached.
pub fn cache_label(details: &ActionDetails) -> Option<String> {
    let label = match details.cache_status() {
        CacheStatus::Disabled => return None,
        CacheStatus::Miss => "miss",
        CacheStatus::Hit => "hit",
        CacheStatus::Populated => "populated",
        CacheStatus::LookupFailure => "lookup failed",
        CacheStatus::Skipped => "skipped (overwrite)",
        CacheStatus::PutFailure => "not stored",
        CacheStatus::Evicted => "evicted",
    };
    Some(match details.cache_source() {
        Some(source) => format!(
            "{label} (outputs of {}/{}, attempt {})",
            source.action.run.name, source.action.name, source.attempt
        ),
        None => label.to_owned(),
    })
}

/// The trigger that started the run (root actions only), e.g. `nightly (task env.t, revision
/// 2)`; `None` for a run started directly.
pub fn trigger_label(metadata: &ActionMetadata) -> Option<String> {
    if metadata.trigger_name.is_empty() {
        return None;
    }
    let name = &metadata.trigger_name;
    Some(match metadata.trigger_id.as_option() {
        Some(id) if !id.name.task_name.is_empty() => format!(
            "{name} (task {}, revision {})",
            id.name.task_name, id.revision
        ),
        _ => name.clone(),
    })
}

/// `ValueError: x must be positive (user error)`.
pub fn error_summary(kind: Option<Kind>, code: &str, message: &str) -> String {
    let blame = match kind {
        Some(Kind::KIND_USER) => " (user error)",
        Some(Kind::KIND_SYSTEM) => " (system error)",
        _ => "",
    };
    let message = message.trim_end();
    match (code.is_empty(), message.is_empty()) {
        (true, _) => format!("{message}{blame}"),
        (false, true) => format!("{code}{blame}"),
        (false, false) => format!("{code}: {message}{blame}"),
    }
}

/// The reason, or a note that none was given.
pub fn abort_summary(reason: &str) -> String {
    if reason.is_empty() {
        "no reason given".to_owned()
    } else {
        reason.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_columns_are_padded_to_the_widest_cell_and_lines_have_no_trailing_space() {
        let mut table = Table::with_header(&["NAME", "PHASE", "TASK"]);
        table.push(vec!["r1".into(), "SUCCEEDED".into(), "wf.main".into()]);
        table.push(vec!["run-long".into(), "QUEUED".into(), String::new()]);
        let mut out = Vec::new();
        table.write_to(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "NAME      PHASE      TASK\nr1        SUCCEEDED  wf.main\nrun-long  QUEUED\n"
        );
    }

    #[test]
    fn durations_are_short_and_keep_their_precision() {
        assert_eq!(format_duration(Duration::from_millis(4_240)), "4.2s");
        assert_eq!(format_duration(Duration::ZERO), "0.0s");
        assert_eq!(format_duration(Duration::from_secs(187)), "3m07s");
        assert_eq!(format_duration(Duration::from_secs(7_500)), "2h05m");
        assert_eq!(
            format_duration(Duration::from_secs(3 * 86_400 + 4 * 3_600)),
            "3d04h"
        );
    }

    #[test]
    fn times_are_shown_to_the_second() {
        let instant = Timestamp::from_micros(1_764_216_326_123_456);
        assert_eq!(format_time(instant), "2025-11-27T04:05:26Z");
        assert_eq!(
            format_time(Timestamp::from_micros(1_764_216_326_000_000)),
            "2025-11-27T04:05:26Z"
        );
    }

    #[test]
    fn a_triggered_run_names_its_trigger_task_and_revision() {
        use aerie_client::wire::flyteidl2::common::{TriggerIdentifier, TriggerName};
        assert_eq!(trigger_label(&ActionMetadata::default()), None);
        let by_name_only = ActionMetadata {
            trigger_name: "nightly".into(),
            ..Default::default()
        };
        assert_eq!(trigger_label(&by_name_only).as_deref(), Some("nightly"));
        let with_id = ActionMetadata {
            trigger_id: TriggerIdentifier {
                name: TriggerName {
                    task_name: "env.t".into(),
                    name: "nightly".into(),
                    ..Default::default()
                }
                .into(),
                revision: 2,
                ..Default::default()
            }
            .into(),
            ..by_name_only
        };
        assert_eq!(
            trigger_label(&with_id).as_deref(),
            Some("nightly (task env.t, revision 2)")
        );
    }

    #[test]
    fn errors_show_class_message_and_blame() {
        assert_eq!(
            error_summary(Some(Kind::KIND_USER), "ValueError", "x must be positive\n"),
            "ValueError: x must be positive (user error)"
        );
        assert_eq!(
            error_summary(Some(Kind::KIND_SYSTEM), "", "process killed"),
            "process killed (system error)"
        );
        assert_eq!(error_summary(None, "OOM", ""), "OOM");
        assert_eq!(abort_summary(""), "no reason given");
    }
}
