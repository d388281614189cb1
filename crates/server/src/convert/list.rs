//! Wire list requests (`common.ListRequest`) into typed store queries: the SDK's field names
//! and string values are parsed here, so the store only ever sees typed filters.

use crate::error::{ApiError, ApiResult};
use aerie_core::{ActionKind, ActionPhase, Timestamp};
use aerie_store::{Filter, FilterField, FilterOp, FilterValue, LabelFilter, ListQuery, SortKey};
use aerie_wire::flyteidl2::common::ListRequest;
use aerie_wire::flyteidl2::common::filter::Function;
use aerie_wire::flyteidl2::common::sort::Direction;

fn filter_op(function: Function) -> ApiResult<FilterOp> {
    Ok(match function {
        Function::EQUAL => FilterOp::Equal,
        Function::NOT_EQUAL => FilterOp::NotEqual,
        Function::GREATER_THAN => FilterOp::GreaterThan,
        Function::GREATER_THAN_OR_EQUAL => FilterOp::GreaterThanOrEqual,
        Function::LESS_THAN => FilterOp::LessThan,
        Function::LESS_THAN_OR_EQUAL => FilterOp::LessThanOrEqual,
        Function::CONTAINS => FilterOp::Contains,
        Function::VALUE_IN => FilterOp::ValueIn,
        other => {
            return Err(ApiError::InvalidArgument(format!(
                "filter function {other:?} is not supported"
            )));
        }
    })
}

/// The field a filter names, as the SDK spells it.
fn filter_field(name: &str) -> ApiResult<FilterField> {
    Ok(match name {
        "phase" => FilterField::Phase,
        "action_type" => FilterField::ActionType,
        "parent_name" | "parent" => FilterField::ParentName,
        "name" | "action_name" => FilterField::Name,
        "run_name" => FilterField::RunName,
        "task_name" => FilterField::TaskName,
        "task_version" => FilterField::TaskVersion,
        "created_by" => FilterField::CreatedBy,
        "created_at" => FilterField::CreatedAt,
        "updated_at" => FilterField::UpdatedAt,
        other => {
            return Err(ApiError::InvalidArgument(format!(
                "cannot filter on {other:?}"
            )));
        }
    })
}

/// A filter value as the SDK sends it (a string), typed for `field`.
fn filter_value(field: FilterField, raw: &str) -> ApiResult<FilterValue> {
    let bad = |what: &str| ApiError::InvalidArgument(format!("{raw:?} is not {what}"));
    match field {
        FilterField::Phase => raw
            .parse::<ActionPhase>()
            .map(FilterValue::Phase)
            .map_err(|_| bad("a phase")),
        FilterField::ActionType => raw
            .parse::<i32>()
            .ok()
            .and_then(ActionKind::from_i32)
            .map(FilterValue::Kind)
            .ok_or_else(|| bad("an action type number")),
        FilterField::CreatedAt | FilterField::UpdatedAt => Timestamp::parse_rfc3339(raw)
            .map(FilterValue::Time)
            .ok_or_else(|| bad("an RFC 3339 timestamp")),
        FilterField::ParentName
        | FilterField::Name
        | FilterField::RunName
        | FilterField::TaskName
        | FilterField::TaskVersion
        | FilterField::CreatedBy => Ok(FilterValue::Text(raw.to_owned())),
    }
}

/// A filter on the label `key`: EQUAL to one value (`--with-label k=v`), or EXISTS
/// (`--with-label-key k`).
fn label_filter(key: &str, function: Function, values: &[String]) -> ApiResult<LabelFilter> {
    if key.is_empty() {
        return Err(ApiError::InvalidArgument(
            "a label filter needs a key after \"labels.\"".into(),
        ));
    }
    let value = match (function, values) {
        (Function::EQUAL, [value]) => Some(value.clone()),
        (Function::EXISTS, []) => None,
        (Function::EQUAL, _) => {
            return Err(ApiError::InvalidArgument(format!(
                "the filter on label {key:?} needs exactly one value"
            )));
        }
        (other, _) => {
            return Err(ApiError::InvalidArgument(format!(
                "labels filter by EQUAL or EXISTS only, not {other:?}"
            )));
        }
    };
    Ok(LabelFilter {
        key: key.to_owned(),
        value,
    })
}

/// The sort key a request names; empty means creation time.
fn sort_key(key: &str) -> ApiResult<SortKey> {
    Ok(match key {
        "" | "created_at" => SortKey::CreatedAt,
        "updated_at" => SortKey::UpdatedAt,
        "name" | "run_name" | "action_name" => SortKey::Name,
        "phase" => SortKey::Phase,
        other => {
            return Err(ApiError::InvalidArgument(format!(
                "cannot sort on {other:?}"
            )));
        }
    })
}

/// Items one page of an offset-paged listing (tasks, triggers, secrets, projects) holds when
/// the request asks for none.
const DEFAULT_PAGE: u32 = 100;
/// Most items one page of an offset-paged listing holds.
const MAX_PAGE: u32 = 1000;

/// One page of a listing paged by offset: where it starts (the token aerie gave, empty for the
/// first page) and how many items it holds (0 asks for 100; at most 1000).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageWindow {
    pub offset: u64,
    pub limit: u32,
}

impl PageWindow {
    /// The window a request's `token` and `limit` ask for.
    pub fn of(token: &str, limit: u32) -> ApiResult<Self> {
        let offset = match token {
            "" => 0,
            token => token.parse().map_err(|_| {
                ApiError::InvalidArgument(format!("page token {token:?} is not one aerie gave"))
            })?,
        };
        let limit = match limit {
            0 => DEFAULT_PAGE,
            limit => limit.min(MAX_PAGE),
        };
        Ok(Self { offset, limit })
    }

    /// The token of the page after this one, which held `count` items; empty when no `more`.
    pub fn next_token(self, count: usize, more: bool) -> String {
        if more {
            (self.offset + count as u64).to_string()
        } else {
            String::new()
        }
    }
}

/// Which way a list runs when the request names no sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultOrder {
    /// Newest first (runs).
    NewestFirst,
    /// Oldest first (a run's actions, so `a0` leads).
    OldestFirst,
}

/// The store query for `request`; unset sorting means creation time in `default_order`.
pub fn list_query(request: &ListRequest, default_order: DefaultOrder) -> ApiResult<ListQuery> {
    let mut filters = Vec::with_capacity(request.filters.len());
    let mut labels = Vec::new();
    for filter in &request.filters {
        let function = filter.function.as_known().ok_or_else(|| {
            ApiError::InvalidArgument(format!(
                "unknown filter function {}",
                filter.function.to_i32()
            ))
        })?;
        if let Some(key) = filter.field.strip_prefix("labels.") {
            labels.push(label_filter(key, function, &filter.values)?);
            continue;
        }
        let field = filter_field(&filter.field)?;
        let values = match (field, function) {
            // The SDK sends `--in-phase recovered` (10) as the characters "1", "0".
            (FilterField::Phase, Function::EQUAL)
                if filter.values.len() > 1
                    && filter.values.iter().all(|value| {
                        value.len() == 1 && value.bytes().all(|b| b.is_ascii_digit())
                    }) =>
            {
                vec![filter.values.concat()]
            }
            _ => filter.values.clone(),
        };
        filters.push(Filter {
            field,
            op: filter_op(function)?,
            values: values
                .iter()
                .map(|raw| filter_value(field, raw))
                .collect::<ApiResult<_>>()?,
        });
    }
    let sort = request
        .sort_by_fields
        .first()
        .or(request.sort_by.as_option());
    let (sort_key, descending) = match sort {
        Some(sort) => (
            sort_key(&sort.key)?,
            sort.direction.as_known() != Some(Direction::ASCENDING),
        ),
        None => (
            SortKey::CreatedAt,
            default_order == DefaultOrder::NewestFirst,
        ),
    };
    Ok(ListQuery {
        filters,
        labels,
        sort: sort_key,
        descending,
        limit: request.limit,
        token: request.token.clone(),
        ..ListQuery::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aerie_wire::flyteidl2::common::{Filter as WireFilter, Sort};

    #[test]
    fn filters_sort_and_paging_carry_over() {
        let request = ListRequest {
            limit: 10,
            token: "20".into(),
            sort_by: Sort {
                key: "created_at".into(),
                direction: Direction::ASCENDING.into(),
                ..Default::default()
            }
            .into(),
            filters: vec![WireFilter {
                function: Function::VALUE_IN.into(),
                field: "phase".into(),
                values: vec!["4".into(), "5".into()],
                ..Default::default()
            }],
            ..Default::default()
        };
        let query = list_query(&request, DefaultOrder::NewestFirst).unwrap();
        assert_eq!(query.limit, 10);
        assert_eq!(query.token, "20");
        assert!(!query.descending);
        assert_eq!(query.filters[0].op, FilterOp::ValueIn);
        assert_eq!(query.filters[0].field, FilterField::Phase);
        assert_eq!(
            query.filters[0].values,
            [
                FilterValue::Phase(ActionPhase::Running),
                FilterValue::Phase(ActionPhase::Succeeded)
            ]
        );
    }

    #[test]
    fn values_are_typed_here_and_bad_ones_refused() {
        assert_eq!(
            filter_value(FilterField::Phase, "FAILED").unwrap(),
            FilterValue::Phase(ActionPhase::Failed)
        );
        assert!(filter_value(FilterField::CreatedAt, "soon").is_err());
        assert!(filter_value(FilterField::ActionType, "99").is_err());
        assert!(filter_field("password").is_err());
        assert!(sort_key("1; DROP").is_err());
    }

    #[test]
    fn unknown_fields_are_refused_and_labels_filter_by_key_or_value() {
        use aerie_wire::flyteidl2::common::filter::Function;
        let mut request = ListRequest::default();
        request.filters.push(WireFilter {
            field: "secret_column".into(),
            ..Default::default()
        });
        assert!(list_query(&request, DefaultOrder::NewestFirst).is_err());
        request.filters[0].field = "labels.team".into();
        request.filters[0].values = vec!["ml".into()];
        let query = list_query(&request, DefaultOrder::NewestFirst).unwrap();
        assert_eq!(
            query.labels,
            [LabelFilter {
                key: "team".into(),
                value: Some("ml".into())
            }]
        );
        request.filters[0].function = Function::EXISTS.into();
        request.filters[0].values.clear();
        let query = list_query(&request, DefaultOrder::NewestFirst).unwrap();
        assert_eq!(query.labels[0].value, None);
        request.filters[0].function = Function::CONTAINS.into();
        assert!(list_query(&request, DefaultOrder::NewestFirst).is_err());
    }

    #[test]
    fn a_two_digit_phase_split_into_characters_is_put_back_together() {
        let mut request = ListRequest::default();
        request.filters.push(WireFilter {
            field: "phase".into(),
            values: vec!["1".into(), "0".into()],
            ..Default::default()
        });
        let query = list_query(&request, DefaultOrder::NewestFirst).unwrap();
        assert_eq!(
            query.filters[0].values,
            [FilterValue::Phase(ActionPhase::Recovered)]
        );
    }
}
