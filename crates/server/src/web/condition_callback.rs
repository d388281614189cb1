//! The callback URL a condition's webhook hands out (`crate::webhook`): `POST
//! /conditions/PROJECT/DOMAIN/RUN/ACTION/signal?expires=…&signature=…` with a JSON body, either
//! `{"value": V}` or `V` alone, signals that condition as `RunService.SignalEvent` would. The
//! signature is the credential: it names this one condition and expires.
//!
//! Answers: 200 signalled; 400 a bad value or type; 403 a bad or expired signature; 404 an
//! unknown condition; 409 a condition that already completed.

use crate::conditions;
use crate::error::ApiError;
use crate::state::AppState;
use crate::webhook;
use aerie_core::{ActionId, RunId, Timestamp};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use connectrpc::ErrorCode;

/// Largest body a callback may send.
pub const MAX_CALLBACK_BYTES: usize = 64 * 1024;

/// The query a callback URL carries.
#[derive(Debug, serde::Deserialize)]
pub struct CallbackQuery {
    expires: i64,
    signature: String,
}

type Reply = (StatusCode, String);

fn reply(status: StatusCode, text: impl Into<String>) -> Reply {
    (status, format!("{}\n", text.into()))
}

/// Signals the condition the URL names with the value in the body.
pub async fn signal(
    State(app): State<AppState>,
    Path((project, domain, run, action)): Path<(String, String, String, String)>,
    Query(query): Query<CallbackQuery>,
    body: Bytes,
) -> Reply {
    let id = match parse_id(&project, &domain, &run, &action) {
        Ok(id) => id,
        Err(err) => return reply(StatusCode::BAD_REQUEST, err),
    };
    let key = webhook::callback_key(&id);
    let now_unix = Timestamp::now().as_micros() / 1_000_000;
    if let Err(err) = app.signer.verify(
        &webhook::callback_grant(&key, query.expires),
        &query.signature,
        now_unix,
    ) {
        return reply(
            StatusCode::FORBIDDEN,
            format!("{err}; this URL does not signal that condition"),
        );
    }
    let json: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(json) => json,
        Err(err) => {
            return reply(
                StatusCode::BAD_REQUEST,
                format!("the body is not JSON: {err}"),
            );
        }
    };
    let value = match &json {
        serde_json::Value::Object(fields) => match fields.get("value") {
            Some(value) => value,
            None => {
                return reply(
                    StatusCode::BAD_REQUEST,
                    "the body's object has no \"value\"",
                );
            }
        },
        other => other,
    };
    match conditions::signal_json(&app, &id, value, "webhook callback").await {
        Ok(()) => reply(StatusCode::OK, format!("signalled condition {}", id.name)),
        Err(err) => reply(status_of(&err), err.to_string()),
    }
}

fn parse_id(project: &str, domain: &str, run: &str, action: &str) -> Result<ActionId, String> {
    let parse = || -> Result<ActionId, aerie_core::IdError> {
        Ok(ActionId {
            run: RunId {
                project: project.parse()?,
                domain: domain.parse()?,
                name: run.parse()?,
            },
            name: action.parse()?,
        })
    };
    parse().map_err(|err| err.to_string())
}

fn status_of(err: &ApiError) -> StatusCode {
    match err.code() {
        ErrorCode::InvalidArgument => StatusCode::BAD_REQUEST,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::FailedPrecondition => StatusCode::CONFLICT,
        ErrorCode::Unavailable | ErrorCode::ResourceExhausted => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}
