//! Decoding database rows into records; a corrupt row is an error, never a default.

use crate::error::{DbContext, StoreError};
use crate::records::{ActionEvent, ActionRecord, RunRecord, RunTrigger};
use aerie_core::{ActionId, ActionName, ActionSpec, ActionState, Org, RunId, Timestamp};
use sqlx::Row;
use sqlx::any::AnyRow;

/// The action columns, in the order [`action_from_row`] reads them, for `FROM actions a`.
pub(crate) const ACTION_COLUMNS: &str = "a.project, a.domain, a.run_name, a.name, a.org, \
    a.parent, a.action_spec, a.input_uri, a.run_output_base, a.action_group, a.state, \
    a.version, a.seq, a.updated_at";

/// The run columns, aliased, for `JOIN runs r`.
pub(crate) const RUN_COLUMNS: &str = "r.project AS r_project, r.domain AS r_domain, \
    r.name AS r_name, r.org AS r_org, r.created_at AS r_created_at, \
    r.created_by AS r_created_by, r.run_spec AS r_run_spec, r.trigger_task AS r_trigger_task, \
    r.trigger_name AS r_trigger_name, r.trigger_revision AS r_trigger_revision, \
    r.scheduled_at AS r_scheduled_at";

/// One page of `sql` (a SELECT with its ORDER BY and no LIMIT) with `binds` as `$1`, `$2`, ...:
/// up to `limit` rows after `offset`, decoded, and whether more follow.
pub(crate) async fn fetch_page<T>(
    reads: &sqlx::AnyPool,
    sql: String,
    binds: &[String],
    (offset, limit): (u64, u32),
    op: &'static str,
    decode: fn(&AnyRow) -> Result<T, StoreError>,
) -> Result<(Vec<T>, bool), StoreError> {
    let sql = format!("{sql} LIMIT {} OFFSET {offset}", u64::from(limit) + 1);
    let mut select = sqlx::query(sqlx::AssertSqlSafe(sql));
    for bind in binds {
        select = select.bind(bind.as_str());
    }
    let rows = select.fetch_all(reads).await.during(op)?;
    let more = rows.len() > limit as usize;
    let items = rows
        .iter()
        .take(limit as usize)
        .map(decode)
        .collect::<Result<_, _>>()?;
    Ok((items, more))
}

fn text(row: &AnyRow, column: &str) -> Result<String, StoreError> {
    row.try_get::<String, _>(column).during("reading a row")
}

fn int(row: &AnyRow, column: &str) -> Result<i64, StoreError> {
    row.try_get::<i64, _>(column).during("reading a row")
}

fn bytes(row: &AnyRow, column: &str) -> Result<Vec<u8>, StoreError> {
    row.try_get::<Vec<u8>, _>(column).during("reading a row")
}

fn parsed<T: std::str::FromStr>(
    row: &AnyRow,
    column: &str,
    what: &'static str,
) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    text(row, column)?
        .parse()
        .map_err(|err| StoreError::corrupt(what, err))
}

fn optional_name(raw: String) -> Result<Option<ActionName>, StoreError> {
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse()
        .map(Some)
        .map_err(|err| StoreError::corrupt("parent name", err))
}

pub(crate) fn state_from_json(json: &str) -> Result<ActionState, StoreError> {
    serde_json::from_str(json).map_err(|err| StoreError::corrupt("action state", err))
}

pub(crate) fn state_to_json(state: &ActionState) -> String {
    serde_json::to_string(state).expect("an action state always serializes")
}

pub(crate) fn spec_to_json(spec: &ActionSpec) -> String {
    serde_json::to_string(spec).expect("an action spec always serializes")
}

fn spec_from_json(json: &str) -> Result<ActionSpec, StoreError> {
    if json.is_empty() {
        return Err(StoreError::corrupt(
            "action spec",
            "missing (stored before typed specs were kept; aerie fills it in when it starts)",
        ));
    }
    serde_json::from_str(json).map_err(|err| StoreError::corrupt("action spec", err))
}

pub(crate) fn action_from_row(row: &AnyRow) -> Result<ActionRecord, StoreError> {
    let run = RunId {
        project: parsed(row, "project", "project")?,
        domain: parsed(row, "domain", "domain")?,
        name: parsed(row, "run_name", "run name")?,
    };
    Ok(ActionRecord {
        id: ActionId {
            run,
            name: parsed(row, "name", "action name")?,
        },
        org: Org::parse(&text(row, "org")?).map_err(|err| StoreError::corrupt("org", err))?,
        parent: optional_name(text(row, "parent")?)?,
        spec: std::sync::Arc::new(spec_from_json(&text(row, "action_spec")?)?),
        input_uri: text(row, "input_uri")?,
        run_output_base: text(row, "run_output_base")?,
        group: text(row, "action_group")?,
        state: state_from_json(&text(row, "state")?)?,
        version: int(row, "version")?,
        seq: int(row, "seq")?,
        updated_at: Timestamp::from_micros(int(row, "updated_at")?),
    })
}

pub(crate) fn run_from_row(row: &AnyRow, prefix: &str) -> Result<RunRecord, StoreError> {
    let column = |name: &str| format!("{prefix}{name}");
    Ok(RunRecord {
        id: RunId {
            project: parsed(row, &column("project"), "project")?,
            domain: parsed(row, &column("domain"), "domain")?,
            name: parsed(row, &column("name"), "run name")?,
        },
        org: Org::parse(&text(row, &column("org"))?)
            .map_err(|err| StoreError::corrupt("org", err))?,
        created_at: Timestamp::from_micros(int(row, &column("created_at"))?),
        created_by: text(row, &column("created_by"))?,
        run_spec: bytes(row, &column("run_spec"))?,
        trigger: run_trigger_from_row(row, &column)?,
    })
}

fn run_trigger_from_row(
    row: &AnyRow,
    column: &dyn Fn(&str) -> String,
) -> Result<Option<RunTrigger>, StoreError> {
    let name = text(row, &column("trigger_name"))?;
    if name.is_empty() {
        return Ok(None);
    }
    let scheduled_at: Option<i64> = row
        .try_get(column("scheduled_at").as_str())
        .during("reading a row")?;
    Ok(Some(RunTrigger {
        task_name: text(row, &column("trigger_task"))?,
        name,
        revision: int(row, &column("trigger_revision"))?,
        scheduled_at: scheduled_at.map(Timestamp::from_micros),
    }))
}

pub(crate) fn event_from_row(row: &AnyRow) -> Result<ActionEvent, StoreError> {
    Ok(ActionEvent {
        seq: int(row, "seq")?,
        action: parsed(row, "action_name", "action name")?,
        parent: optional_name(text(row, "parent")?)?,
        state: state_from_json(&text(row, "state")?)?,
        created_at: Timestamp::from_micros(int(row, "created_at")?),
    })
}
