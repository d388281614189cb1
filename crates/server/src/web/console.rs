//! A small read-only web console at the URLs the SDK prints after `flyte run`
//! (`/v2/domain/D/project/P/runs/RUN`): a project's runs, a run's actions with their attempts,
//! phases, errors and abort reasons, and each attempt's log as plain text. Pages of unfinished
//! runs refresh themselves.

use crate::state::AppState;
use aerie_core::{
    ActionId, ActionKind, ActionState, CacheStatus, Domain, Project, RunId, Timestamp,
};
use aerie_store::{ActionRecord, ListQuery};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

/// Seconds between refreshes of a page that shows unfinished work.
const REFRESH_SECONDS: u32 = 2;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(title: &str, refresh: bool, body: &str) -> Html<String> {
    let refresh = if refresh {
        format!("<meta http-equiv=\"refresh\" content=\"{REFRESH_SECONDS}\">")
    } else {
        String::new()
    };
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\">{refresh}<title>{title} · aerie</title>\
         <style>body{{font:14px system-ui,sans-serif;margin:2em}}table{{border-collapse:collapse}}\
         td,th{{border-bottom:1px solid #ddd;padding:4px 10px;text-align:left;vertical-align:top}}\
         .SUCCEEDED{{color:#17803d}}.FAILED,.TIMED_OUT{{color:#b42318}}.ABORTED{{color:#8a5a00}}\
         pre{{white-space:pre-wrap;margin:0}}</style></head><body>{body}</body></html>",
        title = escape(title)
    ))
}

fn not_found(what: impl std::fmt::Display) -> Response {
    (
        StatusCode::NOT_FOUND,
        page(
            "not found",
            false,
            &format!("<p>{}</p>", escape(&what.to_string())),
        ),
    )
        .into_response()
}

fn run_id(domain: &str, project: &str, run: &str) -> Result<RunId, aerie_core::IdError> {
    Ok(RunId {
        project: project.parse()?,
        domain: domain.parse()?,
        name: run.parse()?,
    })
}

fn bad_request(err: aerie_core::IdError) -> Response {
    (StatusCode::BAD_REQUEST, err.to_string()).into_response()
}

fn duration(state: &ActionState) -> String {
    let runtime = state.runtime(Timestamp::now());
    format!("{:.1}s", runtime.as_secs_f64())
}

/// `/`: the default project's runs.
pub async fn home() -> Redirect {
    Redirect::to("/v2/domain/development/project/flytesnacks/runs")
}

/// `/v2/domain/D/project/P/runs`: the newest runs of a project.
pub async fn runs(
    State(app): State<AppState>,
    Path((domain, project)): Path<(String, String)>,
) -> Response {
    let (Ok(domain), Ok(project)) = (domain.parse::<Domain>(), project.parse::<Project>()) else {
        return (StatusCode::BAD_REQUEST, "bad project or domain").into_response();
    };
    let page_of_runs = match app
        .store
        .list_runs(&project, Some(&domain), &ListQuery::default())
        .await
    {
        Ok(page_of_runs) => page_of_runs,
        Err(err) => return (StatusCode::SERVICE_UNAVAILABLE, err.to_string()).into_response(),
    };
    let mut body = format!(
        "<h1>Runs of {}/{}</h1><table><tr><th>run</th><th>task</th><th>phase</th><th>started</th><th>duration</th></tr>",
        escape(project.as_str()),
        escape(domain.as_str())
    );
    let mut unfinished = false;
    for item in &page_of_runs.items {
        let state = &item.root.state;
        unfinished |= !state.phase.is_terminal();
        body.push_str(&format!(
            "<tr><td><a href=\"/v2/domain/{d}/project/{p}/runs/{r}\">{r}</a></td><td>{task}</td><td class=\"{phase}\">{phase}</td><td>{start}</td><td>{dur}</td></tr>",
            d = domain, p = project, r = item.run.id.name,
            task = escape(&item.root.spec.task.name), phase = state.phase,
            start = state.created_at, dur = duration(state),
        ));
    }
    body.push_str("</table>");
    page("runs", unfinished, &body).into_response()
}

/// What else the action's record says: its cache outcome, where a recovery took it from, a
/// condition's signal (escaped: names and values come from users).
fn notes(action: &ActionRecord) -> String {
    let state = &action.state;
    let mut notes = Vec::new();
    match (state.cache_status, &state.cache_source) {
        (CacheStatus::Disabled, _) => {}
        (CacheStatus::Hit, Some(source)) => notes.push(format!(
            "cache hit: outputs of {}/{}",
            source.action.run.name, source.action.name
        )),
        (status, _) => notes.push(format!("cache: {status:?}").to_lowercase()),
    }
    if let Some(source) = &state.recovered_from {
        notes.push(format!(
            "recovered from {}/{}",
            source.run.name, source.name
        ));
    }
    if action.kind() == ActionKind::Condition {
        match (&state.signal, crate::conditions::signalled_text(state)) {
            (Some(signal), Some(value)) => notes.push(format!(
                "signalled {} by {}",
                escape(&value),
                escape(&signal.by)
            )),
            _ if state.phase == aerie_core::ActionPhase::Paused => {
                notes.push(format!(
                    "condition {} waits for a signal",
                    escape(&action.spec.task.name)
                ));
            }
            _ => {}
        }
    }
    notes.join("<br>")
}

fn action_rows(body: &mut String, run: &RunId, actions: &[ActionRecord]) {
    body.push_str("<table><tr><th>action</th><th>parent</th><th>task</th><th>phase</th><th>attempts</th><th>duration</th><th>result</th></tr>");
    for action in actions {
        let state = &action.state;
        let attempts: Vec<String> = state
            .attempts
            .iter()
            .map(|attempt| {
                let logs = if attempt.logs_available {
                    format!(
                        " <a href=\"/v2/domain/{}/project/{}/runs/{}/actions/{}/attempts/{}/logs\">logs</a>",
                        run.domain, run.project, run.name, action.id.name, attempt.number
                    )
                } else {
                    String::new()
                };
                format!("#{} <span class=\"{phase}\">{phase}</span>{logs}", attempt.number, phase = attempt.phase)
            })
            .collect();
        let result = match (&state.error, &state.abort) {
            (Some(error), _) => format!(
                "<pre>{}: {}</pre>",
                escape(&error.code),
                escape(&error.message)
            ),
            (None, Some(abort)) => format!(
                "aborted by {}: {}",
                escape(&abort.aborted_by),
                escape(&abort.reason)
            ),
            (None, None) => String::new(),
        };
        let result = [result, notes(action)]
            .into_iter()
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join("<br>");
        body.push_str(&format!(
            "<tr><td>{name}</td><td>{parent}</td><td>{task}</td><td class=\"{phase}\">{phase}</td><td>{attempts}</td><td>{dur}</td><td>{result}</td></tr>",
            name = action.id.name,
            parent = action.parent.as_ref().map(ToString::to_string).unwrap_or_default(),
            task = escape(&action.spec.task.name),
            phase = state.phase,
            attempts = attempts.join("<br>"),
            dur = duration(state),
        ));
    }
    body.push_str("</table>");
}

/// `/v2/domain/D/project/P/runs/RUN`: a run and its actions.
pub async fn run(
    State(app): State<AppState>,
    Path((domain, project, run_name)): Path<(String, String, String)>,
) -> Response {
    run_page(&app, &domain, &project, &run_name).await
}

/// `/v2/domain/D/project/P/runs/RUN/actions/A`: the run page, which shows every action.
pub async fn action(
    State(app): State<AppState>,
    Path((domain, project, run_name, _action)): Path<(String, String, String, String)>,
) -> Response {
    run_page(&app, &domain, &project, &run_name).await
}

async fn run_page(app: &AppState, domain: &str, project: &str, run_name: &str) -> Response {
    let run = match run_id(domain, project, run_name) {
        Ok(run) => run,
        Err(err) => return bad_request(err),
    };
    let query = ListQuery {
        descending: false,
        limit: aerie_store::query::MAX_PAGE_SIZE,
        ..ListQuery::default()
    };
    let actions = match app.store.list_actions(&run, &query).await {
        Ok(page_of_actions) => page_of_actions.items,
        Err(aerie_store::StoreError::RunNotFound(_)) => {
            return not_found(format!("run {run} not found"));
        }
        Err(err) => return (StatusCode::SERVICE_UNAVAILABLE, err.to_string()).into_response(),
    };
    let unfinished = actions
        .iter()
        .any(|action| !action.state.phase.is_terminal());
    let mut body = format!(
        "<p><a href=\"/v2/domain/{d}/project/{p}/runs\">runs of {p}/{d}</a></p><h1>Run {r}</h1>",
        d = run.domain,
        p = run.project,
        r = run.name
    );
    action_rows(&mut body, &run, &actions);
    page(run.name.as_str(), unfinished, &body).into_response()
}

/// `/v2/domain/D/project/P/runs/RUN/actions/A/attempts/N/logs`: one attempt's log.
pub async fn logs(
    State(app): State<AppState>,
    Path((domain, project, run_name, action, attempt)): Path<(String, String, String, String, u32)>,
) -> Response {
    let run = match run_id(&domain, &project, &run_name) {
        Ok(run) => run,
        Err(err) => return bad_request(err),
    };
    let Ok(name) = action.parse() else {
        return (StatusCode::BAD_REQUEST, "bad action name").into_response();
    };
    let id = ActionId { run, name };
    match app.logs.read_from(&id, attempt, 0).await {
        Ok(Some((lines, _))) => {
            let text: String = lines.into_iter().map(|line| line.message).collect();
            ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
        }
        Ok(None) => not_found(format!("no log for attempt {attempt} of {id}")),
        Err(err) => (StatusCode::SERVICE_UNAVAILABLE, err.to_string()).into_response(),
    }
}
