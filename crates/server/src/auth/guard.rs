//! The middleware every request passes first: the `Host` must be one aerie serves, a
//! state-changing request must not come from a foreign page (`Origin`), and unless the route
//! is public the caller must present a credential whose grant covers it. The caller's
//! [`Identity`] and the [`RequestOrigin`] then travel with the request as extensions.

use super::access::{self, Access};
use super::hosts::AllowedHosts;
use super::{Auth, Identity};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, StatusCode, header};
use std::sync::Arc;

/// What the guard checks against.
#[derive(Debug, Clone)]
pub struct Guard {
    pub auth: Auth,
    pub hosts: AllowedHosts,
    /// Whether the listeners speak TLS (the scheme of URLs aerie hands back).
    pub tls: bool,
}

/// Where the request reached aerie, e.g. `https://localhost:30443`; URLs aerie hands back
/// (signed blob URLs, the token endpoint) start with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestOrigin(pub String);

fn is_rpc(path: &str) -> bool {
    path.starts_with("/flyteidl2.")
}

/// A refusal in the form the caller reads: a Connect error for RPCs, a line of text (with a
/// Basic challenge, so a browser asks for a key) for pages.
fn refuse(path: &str, status: StatusCode, message: String) -> Response {
    if is_rpc(path) {
        let code = match status {
            StatusCode::UNAUTHORIZED => "unauthenticated",
            _ => "permission_denied",
        };
        let body = serde_json::json!({ "code": code, "message": message });
        return (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response();
    }
    let mut response = (status, format!("{message}\n")).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"aerie\", charset=\"UTF-8\""),
        );
    }
    response
}

/// Applies the checks; see the module docs.
pub async fn guard(State(guard): State<Arc<Guard>>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let authority = request
        .headers()
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
        .or_else(|| request.uri().authority().map(|a| a.as_str().to_owned()));
    let Some(authority) = authority.filter(|authority| guard.hosts.allows(authority)) else {
        return refuse(
            &path,
            StatusCode::MISDIRECTED_REQUEST,
            "aerie does not serve the host this request names; start it with --public-host \
             NAME to serve a name other than localhost or an IP address"
                .to_owned(),
        );
    };
    let changes_state = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if changes_state
        && let Some(origin) = request.headers().get(header::ORIGIN)
        && !origin
            .to_str()
            .is_ok_and(|origin| guard.hosts.allows_origin(origin))
    {
        return refuse(
            &path,
            StatusCode::FORBIDDEN,
            "cross-site requests are refused: the request's Origin is not a page aerie serves"
                .to_owned(),
        );
    }
    let needed = access::required(request.method(), &path);
    if needed != Access::Public {
        let identity: Identity = match guard.auth.identify(request.headers()).await {
            Ok(identity) => identity,
            Err(refusal) => return refuse(&path, StatusCode::UNAUTHORIZED, refusal.to_string()),
        };
        if !identity.grant.allows(needed) {
            return refuse(
                &path,
                StatusCode::FORBIDDEN,
                format!(
                    "{} may not call {path}: it needs an admin key",
                    identity.name
                ),
            );
        }
        request.extensions_mut().insert(identity);
    }
    let scheme = if guard.tls { "https" } else { "http" };
    request
        .extensions_mut()
        .insert(RequestOrigin(format!("{scheme}://{authority}")));
    next.run(request).await
}
