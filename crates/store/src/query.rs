//! List requests (filters, sort, paging) and their translation into SQL.
//!
//! Only the columns named here can be filtered or sorted on, so user input never reaches SQL
//! text: field names map to fixed column names and values are always bound parameters.

use crate::error::StoreError;
use aerie_core::{ActionKind, ActionPhase, Timestamp};

/// Most items one page may hold.
pub const MAX_PAGE_SIZE: u32 = 1000;
/// Page size when the request gives none.
pub const DEFAULT_PAGE_SIZE: u32 = 100;

/// A field a list can be filtered on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterField {
    Phase,
    ActionType,
    ParentName,
    Name,
    /// The name of the action's run.
    RunName,
    TaskName,
    TaskVersion,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

impl FilterField {
    fn column(self) -> &'static str {
        match self {
            Self::Phase => "a.phase",
            Self::ActionType => "a.kind",
            Self::ParentName => "a.parent",
            Self::Name => "a.name",
            Self::RunName => "a.run_name",
            Self::TaskName => "a.task_name",
            Self::TaskVersion => "a.task_version",
            Self::CreatedBy => "r.created_by",
            Self::CreatedAt => "a.created_at",
            Self::UpdatedAt => "a.updated_at",
        }
    }

    /// The value bound for `value`, if it is of the type this field holds.
    fn bind_value(self, value: &FilterValue) -> Result<SqlValue, StoreError> {
        match (self, value) {
            (Self::Phase, FilterValue::Phase(phase)) => Ok(SqlValue::Int(phase.as_i32().into())),
            (Self::ActionType, FilterValue::Kind(kind)) => Ok(SqlValue::Int(kind.as_i32().into())),
            (Self::CreatedAt | Self::UpdatedAt, FilterValue::Time(instant)) => {
                Ok(SqlValue::Int(instant.as_micros()))
            }
            (
                Self::ParentName
                | Self::Name
                | Self::RunName
                | Self::TaskName
                | Self::TaskVersion
                | Self::CreatedBy,
                FilterValue::Text(text),
            ) => Ok(SqlValue::Text(text.clone())),
            (field, value) => Err(StoreError::InvalidQuery(format!(
                "{field:?} cannot be compared with {value:?}"
            ))),
        }
    }
}

/// A typed value a filter compares with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterValue {
    Phase(ActionPhase),
    Kind(ActionKind),
    Text(String),
    Time(Timestamp),
}

/// How a filter compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterOp {
    Equal,
    NotEqual,
    GreaterThan,
    GreaterThanOrEqual,
    LessThan,
    LessThanOrEqual,
    Contains,
    ValueIn,
}

/// One condition of a list request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub field: FilterField,
    pub op: FilterOp,
    pub values: Vec<FilterValue>,
}

/// A condition on a run's labels: the key is set (to `value`, when given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelFilter {
    pub key: String,
    pub value: Option<String>,
}

/// What a list is ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    #[default]
    CreatedAt,
    UpdatedAt,
    Name,
    Phase,
}

impl SortKey {
    fn column(self) -> &'static str {
        match self {
            Self::CreatedAt => "a.created_at",
            Self::UpdatedAt => "a.updated_at",
            Self::Name => "a.name",
            Self::Phase => "a.phase",
        }
    }
}

/// A page request over runs or actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub filters: Vec<Filter>,
    /// Conditions on run labels; only run lists take them.
    pub labels: Vec<LabelFilter>,
    /// Only runs with an action PAUSED at any depth (a condition waiting for its signal); only
    /// run lists take it.
    pub paused_only: bool,
    pub sort: SortKey,
    pub descending: bool,
    pub limit: u32,
    /// Opaque continuation token from the previous page; empty for the first.
    pub token: String,
}

impl Default for ListQuery {
    fn default() -> Self {
        Self {
            filters: Vec::new(),
            labels: Vec::new(),
            paused_only: false,
            sort: SortKey::CreatedAt,
            descending: true,
            limit: DEFAULT_PAGE_SIZE,
            token: String::new(),
        }
    }
}

/// One page of results and the token for the next, `None` on the last page.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_token: Option<String>,
}

/// A value bound to a placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SqlValue {
    Int(i64),
    Text(String),
}

/// A WHERE clause under construction with `$n` placeholders.
#[derive(Debug, Default)]
pub(crate) struct WhereClause {
    pub conditions: Vec<String>,
    pub values: Vec<SqlValue>,
}

impl WhereClause {
    pub fn push(&mut self, column: &str, op: &str, value: SqlValue) {
        self.values.push(value);
        self.conditions
            .push(format!("{column} {op} ${}", self.values.len()));
    }

    fn push_in(&mut self, column: &str, negate: bool, values: Vec<SqlValue>) {
        if values.is_empty() {
            self.conditions
                .push(if negate { "1 = 1" } else { "1 = 0" }.to_owned());
            return;
        }
        let mut placeholders = Vec::with_capacity(values.len());
        for value in values {
            self.values.push(value);
            placeholders.push(format!("${}", self.values.len()));
        }
        let keyword = if negate { "NOT IN" } else { "IN" };
        self.conditions
            .push(format!("{column} {keyword} ({})", placeholders.join(", ")));
    }

    pub fn add_filter(&mut self, filter: &Filter) -> Result<(), StoreError> {
        let column = filter.field.column();
        let mut values = filter
            .values
            .iter()
            .map(|value| filter.field.bind_value(value))
            .collect::<Result<Vec<_>, _>>()?;
        let single = |values: &mut Vec<SqlValue>| {
            if values.len() == 1 {
                Ok(values.remove(0))
            } else {
                Err(StoreError::InvalidQuery(format!(
                    "filter on {:?} takes exactly one value, got {}",
                    filter.field,
                    values.len()
                )))
            }
        };
        match filter.op {
            FilterOp::Equal => self.push(column, "=", single(&mut values)?),
            FilterOp::NotEqual => self.push(column, "<>", single(&mut values)?),
            FilterOp::GreaterThan => self.push(column, ">", single(&mut values)?),
            FilterOp::GreaterThanOrEqual => self.push(column, ">=", single(&mut values)?),
            FilterOp::LessThan => self.push(column, "<", single(&mut values)?),
            FilterOp::LessThanOrEqual => self.push(column, "<=", single(&mut values)?),
            FilterOp::ValueIn => self.push_in(column, false, values),
            FilterOp::Contains => match single(&mut values)? {
                SqlValue::Text(text) => {
                    let escaped = text
                        .replace('\\', "\\\\")
                        .replace('%', "\\%")
                        .replace('_', "\\_");
                    self.values.push(SqlValue::Text(format!("%{escaped}%")));
                    self.conditions
                        .push(format!("{column} LIKE ${} ESCAPE '\\'", self.values.len()));
                }
                SqlValue::Int(_) => {
                    return Err(StoreError::InvalidQuery(format!(
                        "CONTAINS does not apply to {:?}",
                        filter.field
                    )));
                }
            },
        }
        Ok(())
    }

    /// Keeps the runs (aliased `r`) carrying `label`.
    pub fn add_label(&mut self, label: &LabelFilter) {
        self.values.push(SqlValue::Text(label.key.clone()));
        let mut condition = format!(
            "EXISTS (SELECT 1 FROM run_labels l WHERE l.project = r.project \
             AND l.domain = r.domain AND l.run_name = r.name AND l.key = ${}",
            self.values.len()
        );
        if let Some(value) = &label.value {
            self.values.push(SqlValue::Text(value.clone()));
            condition.push_str(&format!(" AND l.value = ${}", self.values.len()));
        }
        condition.push(')');
        self.conditions.push(condition);
    }

    pub fn sql(&self) -> String {
        if self.conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.conditions.join(" AND "))
        }
    }
}

impl ListQuery {
    pub(crate) fn offset(&self) -> Result<u64, StoreError> {
        if self.token.is_empty() {
            return Ok(0);
        }
        self.token
            .parse()
            .map_err(|_| StoreError::InvalidQuery(format!("bad page token {:?}", self.token)))
    }

    pub(crate) fn page_size(&self) -> u32 {
        match self.limit {
            0 => DEFAULT_PAGE_SIZE,
            limit => limit.min(MAX_PAGE_SIZE),
        }
    }

    /// `ORDER BY … LIMIT … OFFSET …`, fetching one extra row to know whether a next page exists.
    pub(crate) fn order_and_window(&self) -> Result<String, StoreError> {
        let direction = if self.descending { "DESC" } else { "ASC" };
        Ok(format!(
            "ORDER BY {column} {direction}, a.run_name {direction}, a.name {direction} LIMIT {limit} OFFSET {offset}",
            column = self.sort.column(),
            limit = u64::from(self.page_size()) + 1,
            offset = self.offset()?,
        ))
    }

    pub(crate) fn page_of<T>(&self, mut items: Vec<T>) -> Result<Page<T>, StoreError> {
        let size = self.page_size() as usize;
        let next_token = if items.len() > size {
            items.truncate(size);
            Some((self.offset()? + size as u64).to_string())
        } else {
            None
        };
        Ok(Page { items, next_token })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(field: FilterField, op: FilterOp, values: &[FilterValue]) -> Filter {
        Filter {
            field,
            op,
            values: values.to_vec(),
        }
    }

    fn text(raw: &str) -> FilterValue {
        FilterValue::Text(raw.to_owned())
    }

    #[test]
    fn phase_filters_bind_phase_numbers() {
        let mut clause = WhereClause::default();
        let phases = [
            FilterValue::Phase(ActionPhase::Running),
            FilterValue::Phase(ActionPhase::Succeeded),
        ];
        clause
            .add_filter(&filter(FilterField::Phase, FilterOp::ValueIn, &phases))
            .unwrap();
        clause
            .add_filter(&filter(
                FilterField::Phase,
                FilterOp::NotEqual,
                &[FilterValue::Phase(ActionPhase::Failed)],
            ))
            .unwrap();
        assert_eq!(clause.sql(), "WHERE a.phase IN ($1, $2) AND a.phase <> $3");
        assert_eq!(
            clause.values,
            [SqlValue::Int(4), SqlValue::Int(5), SqlValue::Int(6)]
        );
    }

    #[test]
    fn user_text_is_bound_never_spliced() {
        let mut clause = WhereClause::default();
        clause
            .add_filter(&filter(
                FilterField::TaskName,
                FilterOp::Equal,
                &[text("x'; DROP TABLE runs; --")],
            ))
            .unwrap();
        assert_eq!(clause.sql(), "WHERE a.task_name = $1");
    }

    #[test]
    fn mistyped_values_and_extra_values_are_invalid_queries() {
        let mut clause = WhereClause::default();
        assert!(
            clause
                .add_filter(&filter(
                    FilterField::CreatedAt,
                    FilterOp::LessThan,
                    &[text("soon")]
                ))
                .is_err()
        );
        let two = [
            FilterValue::Phase(ActionPhase::Running),
            FilterValue::Phase(ActionPhase::Queued),
        ];
        assert!(
            clause
                .add_filter(&filter(FilterField::Phase, FilterOp::Equal, &two))
                .is_err()
        );
    }

    #[test]
    fn pages_carry_a_token_until_the_last() {
        let query = ListQuery {
            limit: 2,
            ..ListQuery::default()
        };
        let first = query.page_of(vec![1, 2, 3]).unwrap();
        assert_eq!(first.items, [1, 2]);
        assert_eq!(first.next_token.as_deref(), Some("2"));
        let second = ListQuery {
            token: "2".into(),
            ..query
        };
        let last = second.page_of(vec![3]).unwrap();
        assert_eq!(last.next_token, None);
        assert!(
            ListQuery {
                token: "abc".into(),
                ..ListQuery::default()
            }
            .offset()
            .is_err()
        );
    }
}
