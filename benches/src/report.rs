//! The figures a benchmark run reports: one line each on stdout, and optionally a JSON file.
//!
//! A figure is a name, a value, a unit and a target. A figure whose measurement failed keeps its
//! name, unit and target and carries the reason instead of a value; it is never met.

use serde::Serialize;
use std::fmt;
use std::path::Path;

/// What a figure must reach.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// `>= N`: throughputs.
    AtLeast(f64),
    /// `<= N`.
    AtMost(f64),
    /// `< N`: latencies, times and sizes.
    Below(f64),
    /// No target: the figure is reported for comparison only, and always counts as met.
    Report,
}

impl Target {
    pub fn is_met_by(self, value: f64) -> bool {
        match self {
            Self::AtLeast(bound) => value >= bound,
            Self::AtMost(bound) => value <= bound,
            Self::Below(bound) => value < bound,
            Self::Report => true,
        }
    }
}

impl fmt::Display for Target {
    /// `>= 2000`, `<= 10`, `< 5` or `report`: the form the JSON file carries.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AtLeast(bound) => write!(f, ">= {bound}"),
            Self::AtMost(bound) => write!(f, "<= {bound}"),
            Self::Below(bound) => write!(f, "< {bound}"),
            Self::Report => f.write_str("report"),
        }
    }
}

/// One measured (or failed) figure.
#[derive(Debug, Clone)]
pub struct Figure {
    pub name: &'static str,
    pub unit: &'static str,
    pub target: Target,
    /// The value, or why it could not be measured.
    pub outcome: Result<f64, String>,
}

impl Figure {
    pub fn met(&self) -> bool {
        matches!(self.outcome, Ok(value) if self.target.is_met_by(value))
    }

    /// The line printed for this figure, columns aligned across figures.
    pub fn line(&self) -> String {
        let target = format!("target {}", self.target);
        match &self.outcome {
            Ok(value) => {
                let verdict = if self.met() { "met" } else { "MISSED" };
                format!(
                    "{:<34} {:>10.1} {:<14} {:<16} {verdict}",
                    self.name, value, self.unit, target
                )
            }
            Err(reason) => format!(
                "{:<34} {:>10} {:<14} {:<16} FAILED: {}",
                self.name,
                "-",
                self.unit,
                target,
                reason.lines().next().unwrap_or_default()
            ),
        }
    }
}

/// The JSON form of a figure: `{"name", "value", "unit", "target", "met"}`, plus `"error"` when
/// the measurement failed (then `value` is null).
#[derive(Serialize)]
struct JsonFigure<'a> {
    name: &'a str,
    value: Option<f64>,
    unit: &'a str,
    target: String,
    met: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

/// Writes `figures` to `path` as a JSON array.
pub fn write_json(path: &Path, figures: &[Figure]) -> anyhow::Result<()> {
    let rows: Vec<JsonFigure<'_>> = figures
        .iter()
        .map(|figure| JsonFigure {
            name: figure.name,
            value: figure.outcome.as_ref().ok().copied(),
            unit: figure.unit,
            target: figure.target.to_string(),
            met: figure.met(),
            error: figure.outcome.as_ref().err().map(String::as_str),
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&rows)?;
    text.push('\n');
    std::fs::write(path, text)
        .map_err(|err| anyhow::anyhow!("cannot write {}: {err}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_print_as_the_json_file_spells_them() {
        assert_eq!(Target::AtLeast(2000.0).to_string(), ">= 2000");
        assert_eq!(Target::Below(5.0).to_string(), "< 5");
        assert_eq!(Target::AtMost(10.0).to_string(), "<= 10");
        assert_eq!(Target::Report.to_string(), "report");
    }

    #[test]
    fn a_bound_is_met_only_on_its_side_and_report_is_always_met() {
        assert!(Target::AtLeast(2000.0).is_met_by(2000.0));
        assert!(!Target::Below(5.0).is_met_by(5.0));
        assert!(Target::AtMost(10.0).is_met_by(10.0));
        assert!(Target::Report.is_met_by(f64::MAX));
    }

    #[test]
    fn a_failed_figure_is_never_met() {
        let figure = Figure {
            name: "reads_per_s",
            unit: "reads/s",
            target: Target::Report,
            outcome: Err("server hung".into()),
        };
        assert!(!figure.met());
        assert!(figure.line().contains("FAILED: server hung"));
    }
}
