//! Who is calling, which run a task's credential may change, and the abort info an abort
//! request amounts to.

use crate::auth::Identity;
use crate::auth::guard::RequestOrigin;
use crate::error::{ApiError, ApiResult};
use aerie_core::{AbortInfo, RunId};
use connectrpc::RequestContext;

/// Who asked: the name behind the request's checked credential; with auth off, the
/// `x-aerie-user` header the aerie CLI sends, else the local user aerie runs as (everyone who
/// can reach an aerie without auth acts as that user).
pub fn caller(ctx: &RequestContext) -> String {
    if let Some(identity) = ctx.extensions().get::<Identity>() {
        return identity.name.clone();
    }
    ctx.header("x-aerie-user")
        .and_then(|value| value.to_str().ok())
        .filter(|value| !value.is_empty())
        .map_or_else(|| local_user().to_owned(), str::to_owned)
}

/// The name of the user aerie runs as.
pub fn local_user() -> &'static str {
    static USER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    USER.get_or_init(|| {
        std::env::var("USER")
            .ok()
            .filter(|user| !user.is_empty())
            .unwrap_or_else(|| "local".to_owned())
    })
}

/// Refuses a change to `run` by a caller bound to another run (a task's attempt token).
pub fn may_change(ctx: &RequestContext, run: &RunId) -> ApiResult<()> {
    match ctx
        .extensions()
        .get::<Identity>()
        .and_then(|identity| identity.run.as_ref())
    {
        Some(own) if own != run => Err(ApiError::PermissionDenied(format!(
            "a task of run {own} may not change run {run}"
        ))),
        _ => Ok(()),
    }
}

/// Whether the request carries a credential aerie checked (auth is on).
pub fn authenticated(ctx: &RequestContext) -> bool {
    ctx.extensions().get::<Identity>().is_some()
}

/// Who an abort came from, which decides the reason recorded when the request gives none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbortSource {
    /// A person, through a CLI or `flyte.remote`.
    User,
    /// A running parent task that stopped waiting for a child.
    Parent,
}

/// The abort info to record: the request's reason (or the source's default) and who.
pub fn abort_info(reason: Option<&str>, source: AbortSource, aborted_by: String) -> AbortInfo {
    let default_reason = match source {
        AbortSource::User => "aborted by user",
        AbortSource::Parent => "aborted by its parent",
    };
    AbortInfo {
        reason: reason
            .filter(|reason| !reason.is_empty())
            .unwrap_or(default_reason)
            .to_owned(),
        aborted_by,
    }
}

/// Where the request reached aerie; the guard puts it on every request.
pub fn request_origin(ctx: &RequestContext) -> ApiResult<RequestOrigin> {
    ctx.extensions()
        .get::<RequestOrigin>()
        .cloned()
        .ok_or_else(|| ApiError::Internal("the request passed no guard".into()))
}
