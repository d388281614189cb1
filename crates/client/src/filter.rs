//! [`ListFilter`]: which runs ([`crate::Run::list_where`]) or actions
//! ([`crate::Action::list_where`]) a listing returns: by phase, task, label and creation time,
//! newest or oldest first, up to a limit. It becomes the filters of a wire `ListRequest`,
//! spelled as the `flyte` CLI spells them (`phase`, `task_name`, `labels.KEY`, `created_at`).

use aerie_core::{ActionPhase, Timestamp};
use aerie_wire::flyteidl2::common::filter::Function;
use aerie_wire::flyteidl2::common::sort::Direction;
use aerie_wire::flyteidl2::common::{Filter, ListRequest, Sort};

/// Which items a listing returns; the empty filter returns all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    phases: Vec<ActionPhase>,
    task: Option<String>,
    labels: Vec<(String, Option<String>)>,
    created_after: Option<Timestamp>,
    created_before: Option<Timestamp>,
    order: Option<Direction>,
    limit: Option<usize>,
}

impl ListFilter {
    /// Every item, in the server's order.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only items in `phase` (with several calls: in any of them).
    pub fn phase(mut self, phase: ActionPhase) -> Self {
        self.phases.push(phase);
        self
    }

    /// Only items running task `name` (e.g. `env.main`; for runs, the root's task).
    pub fn task(mut self, name: impl Into<String>) -> Self {
        self.task = Some(name.into());
        self
    }

    /// Only runs labelled `key=value` (actions have no labels: aerie refuses this filter on
    /// them).
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.push((key.into(), Some(value.into())));
        self
    }

    /// Only runs with label `key`, whatever its value.
    pub fn has_label(mut self, key: impl Into<String>) -> Self {
        self.labels.push((key.into(), None));
        self
    }

    /// Only items created at or after `time`.
    pub fn created_after(mut self, time: Timestamp) -> Self {
        self.created_after = Some(time);
        self
    }

    /// Only items created before `time`.
    pub fn created_before(mut self, time: Timestamp) -> Self {
        self.created_before = Some(time);
        self
    }

    /// Oldest first.
    pub fn oldest_first(mut self) -> Self {
        self.order = Some(Direction::ASCENDING);
        self
    }

    /// Newest first.
    pub fn newest_first(mut self) -> Self {
        self.order = Some(Direction::DESCENDING);
        self
    }

    /// At most `limit` items.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// The most items wanted, if limited.
    pub fn max_items(&self) -> Option<usize> {
        self.limit
    }

    /// The wire filters, in the order the fields were set.
    pub fn wire_filters(&self) -> Vec<Filter> {
        let filter = |field: &str, function: Function, values: Vec<String>| Filter {
            function: function.into(),
            field: field.to_owned(),
            values,
            ..Default::default()
        };
        let mut filters = Vec::new();
        if !self.phases.is_empty() {
            let values = self
                .phases
                .iter()
                .map(|phase| phase.as_i32().to_string())
                .collect();
            filters.push(filter("phase", Function::VALUE_IN, values));
        }
        if let Some(task) = &self.task {
            filters.push(filter("task_name", Function::EQUAL, vec![task.clone()]));
        }
        for (key, value) in &self.labels {
            let field = format!("labels.{key}");
            filters.push(match value {
                Some(value) => filter(&field, Function::EQUAL, vec![value.clone()]),
                None => filter(&field, Function::EXISTS, Vec::new()),
            });
        }
        if let Some(after) = self.created_after {
            filters.push(filter(
                "created_at",
                Function::GREATER_THAN_OR_EQUAL,
                vec![after.to_rfc3339()],
            ));
        }
        if let Some(before) = self.created_before {
            filters.push(filter(
                "created_at",
                Function::LESS_THAN,
                vec![before.to_rfc3339()],
            ));
        }
        filters
    }

    /// One page's request: these filters, by creation time in the order asked for (the server's
    /// otherwise), `page_size` items (fewer under a limit) from `token`.
    pub(crate) fn request(&self, token: String, page_size: u32) -> ListRequest {
        let page_size = match self.limit {
            Some(limit) => page_size.min(u32::try_from(limit.max(1)).unwrap_or(u32::MAX)),
            None => page_size,
        };
        ListRequest {
            limit: page_size,
            token,
            filters: self.wire_filters(),
            sort_by: self
                .order
                .map(|direction| Sort {
                    key: "created_at".into(),
                    direction: direction.into(),
                    ..Default::default()
                })
                .into(),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_empty_filter_asks_for_everything_in_the_servers_order() {
        let request = ListFilter::new().request(String::new(), 100);
        assert!(request.filters.is_empty());
        assert_eq!(request.limit, 100);
        assert!(request.sort_by.is_unset());
        let newest = ListFilter::new().newest_first().request(String::new(), 100);
        assert_eq!(newest.sort_by.key, "created_at");
        assert_eq!(
            newest.sort_by.direction.as_known(),
            Some(Direction::DESCENDING)
        );
    }

    #[test]
    fn each_field_becomes_the_filter_the_flyte_cli_sends() {
        let after = Timestamp::parse_rfc3339("2026-12-01T00:00:00Z").unwrap();
        let filter = ListFilter::new()
            .phase(ActionPhase::Failed)
            .phase(ActionPhase::Aborted)
            .task("env.main")
            .label("team", "ml")
            .has_label("nightly")
            .created_after(after)
            .oldest_first()
            .limit(5);
        let request = filter.request("t".into(), 100);
        let shown: Vec<(String, Option<Function>, Vec<String>)> = request
            .filters
            .iter()
            .map(|f| (f.field.clone(), f.function.as_known(), f.values.clone()))
            .collect();
        assert_eq!(
            shown,
            [
                (
                    "phase".to_owned(),
                    Some(Function::VALUE_IN),
                    vec![
                        ActionPhase::Failed.as_i32().to_string(),
                        ActionPhase::Aborted.as_i32().to_string()
                    ]
                ),
                (
                    "task_name".to_owned(),
                    Some(Function::EQUAL),
                    vec!["env.main".to_owned()]
                ),
                (
                    "labels.team".to_owned(),
                    Some(Function::EQUAL),
                    vec!["ml".to_owned()]
                ),
                ("labels.nightly".to_owned(), Some(Function::EXISTS), vec![]),
                (
                    "created_at".to_owned(),
                    Some(Function::GREATER_THAN_OR_EQUAL),
                    vec![after.to_rfc3339()]
                ),
            ]
        );
        assert_eq!(request.limit, 5);
        assert_eq!(request.token, "t");
        assert_eq!(
            request.sort_by.direction.as_known(),
            Some(Direction::ASCENDING)
        );
    }
}
