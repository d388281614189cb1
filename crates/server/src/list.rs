//! Wire list requests (`common.ListRequest`) into store queries.

use crate::error::{ApiError, ApiResult};
use aerie_store::{Filter, FilterField, FilterOp, ListQuery, SortKey};
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
    for filter in &request.filters {
        let function = filter.function.as_known().ok_or_else(|| {
            ApiError::InvalidArgument(format!(
                "unknown filter function {}",
                filter.function.to_i32()
            ))
        })?;
        let field = filter
            .field
            .strip_prefix("labels.")
            .map_or(filter.field.as_str(), |_| "");
        if field.is_empty() {
            // Label filters cannot be evaluated in SQL yet; refuse rather than ignore.
            return Err(ApiError::Unimplemented(format!(
                "filtering on {:?} is not supported",
                filter.field
            )));
        }
        filters.push(Filter {
            field: FilterField::parse(field)?,
            op: filter_op(function)?,
            values: filter.values.clone(),
        });
    }
    let sort = request
        .sort_by_fields
        .first()
        .or(request.sort_by.as_option());
    let (sort_key, descending) = match sort {
        Some(sort) => (
            SortKey::parse(&sort.key)?,
            sort.direction.as_known() != Some(Direction::ASCENDING),
        ),
        None => (
            SortKey::CreatedAt,
            default_order == DefaultOrder::NewestFirst,
        ),
    };
    Ok(ListQuery {
        filters,
        sort: sort_key,
        descending,
        limit: request.limit,
        token: request.token.clone(),
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
    }

    #[test]
    fn unknown_fields_and_label_filters_are_refused() {
        let mut request = ListRequest::default();
        request.filters.push(WireFilter {
            field: "secret_column".into(),
            ..Default::default()
        });
        assert!(list_query(&request, DefaultOrder::NewestFirst).is_err());
        request.filters[0].field = "labels.team".into();
        assert!(matches!(
            list_query(&request, DefaultOrder::NewestFirst),
            Err(ApiError::Unimplemented(_))
        ));
    }
}
