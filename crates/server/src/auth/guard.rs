//! The middleware every request passes first: the `Host` must be one aerie serves, a
//! state-changing request must not come from a foreign page (`Origin`), and unless the route
//! is public the caller must present a credential whose grant covers it. The caller's
//! [`Identity`] and the [`RequestOrigin`] then travel with the request as extensions.

use super::access::{self, Access};
use super::hosts::AllowedHosts;
use super::{Auth, Identity};
use crate::error::connect_error_response;
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
        return connect_error_response(status, code, &message);
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

/// Whether handlers of `path` build URLs from the request's origin (signed blob URLs, the
/// token endpoint, a condition's callback URL); only those get a [`RequestOrigin`].
fn needs_origin(path: &str) -> bool {
    path.starts_with("/flyteidl2.dataproxy.")
        || path.starts_with("/flyteidl2.auth.")
        || path.starts_with(crate::web::console_api::PREFIX)
        || matches!(
            path,
            "/flyteidl2.workflow.QueueService/EnqueueAction"
                | "/flyteidl2.actions.ActionsService/Enqueue"
        )
}

/// Applies the checks; see the module docs. With auth off, a request that passes the `Host`
/// and `Origin` checks carries no [`Identity`]: its caller is anonymous.
pub async fn guard(State(guard): State<Arc<Guard>>, mut request: Request, next: Next) -> Response {
    let authority = request
        .headers()
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .or_else(|| request.uri().authority().map(|a| a.as_str()));
    let Some(authority) = authority.filter(|authority| guard.hosts.allows(authority)) else {
        return refuse(
            request.uri().path(),
            StatusCode::MISDIRECTED_REQUEST,
            "aerie does not serve the host this request names; start it with --public-host \
             NAME to serve a name other than localhost or an IP address"
                .to_owned(),
        );
    };
    let path = request.uri().path();
    let origin = needs_origin(path).then(|| {
        let scheme = if guard.tls { "https" } else { "http" };
        RequestOrigin(format!("{scheme}://{authority}"))
    });
    let changes_state = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if changes_state
        && let Some(sent) = request.headers().get(header::ORIGIN)
        && !sent
            .to_str()
            .is_ok_and(|sent| guard.hosts.allows_origin(sent))
    {
        return refuse(
            path,
            StatusCode::FORBIDDEN,
            "cross-site requests are refused: the request's Origin is not a page aerie serves"
                .to_owned(),
        );
    }
    let needed = access::required(request.method(), path);
    if guard.auth.enabled && needed != Access::Public {
        let identity: Identity = match guard.auth.identify(request.headers()).await {
            Ok(identity) => identity,
            Err(refusal) => return refuse(path, StatusCode::UNAUTHORIZED, refusal.to_string()),
        };
        if !identity.grant.allows(needed) {
            let message = format!(
                "{} may not call {path}: it needs an admin key",
                identity.name
            );
            return refuse(path, StatusCode::FORBIDDEN, message);
        }
        request.extensions_mut().insert(identity);
    }
    if let Some(origin) = origin {
        request.extensions_mut().insert(origin);
    }
    next.run(request).await
}
