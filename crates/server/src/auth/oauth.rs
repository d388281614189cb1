//! OAuth2 as the Flyte SDK discovers and uses it: `AuthMetadataService` says where the token
//! endpoint is, `POST /oauth2/token` trades an API key's client id and secret for an access
//! token (the client-credentials grant), and `IdentityService.UserInfo` says who a credential
//! belongs to (`whoami`).

use super::access::Grant;
use super::guard::RequestOrigin;
use super::{Auth, Identity, Refusal, basic_credentials};
use crate::caller::caller;
use aerie_core::Role;
use aerie_wire::flyteidl2::auth::{
    AuthMetadataService, GetOAuth2MetadataRequest, GetOAuth2MetadataResponse,
    GetPublicClientConfigRequest, GetPublicClientConfigResponse, IdentityService, UserInfoRequest,
    UserInfoResponse,
};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use buffa_types::google::protobuf::value::Kind;
use buffa_types::google::protobuf::{Struct, Value};
use bytes::Bytes;
use connectrpc::{RequestContext, ServiceRequest, ServiceResult};
use http::{HeaderMap, StatusCode, header};
use std::sync::Arc;

/// Largest token request body read.
pub const MAX_TOKEN_REQUEST_BYTES: usize = 16 * 1024;
/// The path of the token endpoint.
pub const TOKEN_PATH: &str = "/oauth2/token";
/// The one scope aerie's tokens carry.
const SCOPE: &str = "all";

fn origin(ctx: &RequestContext) -> String {
    ctx.extensions()
        .get::<RequestOrigin>()
        .map(|origin| origin.0.clone())
        .unwrap_or_default()
}

/// The `AuthMetadataService` and `IdentityService` handlers.
pub struct AuthHandlers;

#[allow(refining_impl_trait)]
impl AuthMetadataService for AuthHandlers {
    async fn get_o_auth2_metadata(
        &self,
        ctx: RequestContext,
        _request: ServiceRequest<'_, GetOAuth2MetadataRequest>,
    ) -> ServiceResult<GetOAuth2MetadataResponse> {
        let origin = origin(&ctx);
        Ok(connectrpc::Response::new(GetOAuth2MetadataResponse {
            issuer: origin.clone(),
            token_endpoint: format!("{origin}{TOKEN_PATH}"),
            grant_types_supported: vec!["client_credentials".into()],
            token_endpoint_auth_methods_supported: vec![
                "client_secret_basic".into(),
                "client_secret_post".into(),
            ],
            scopes_supported: vec![SCOPE.into()],
            ..Default::default()
        }))
    }

    async fn get_public_client_config(
        &self,
        _ctx: RequestContext,
        _request: ServiceRequest<'_, GetPublicClientConfigRequest>,
    ) -> ServiceResult<GetPublicClientConfigResponse> {
        Ok(connectrpc::Response::new(GetPublicClientConfigResponse {
            scopes: vec![SCOPE.into()],
            authorization_metadata_key: header::AUTHORIZATION.as_str().into(),
            ..Default::default()
        }))
    }
}

#[allow(refining_impl_trait)]
impl IdentityService for AuthHandlers {
    async fn user_info(
        &self,
        ctx: RequestContext,
        _request: ServiceRequest<'_, UserInfoRequest>,
    ) -> ServiceResult<UserInfoResponse> {
        // The subject is the name runs record as their creator, so `--only-mine` (a
        // `created_by` filter on the subject) finds the caller's runs. With auth off there is no
        // checked caller: everyone is the local user.
        let name = caller(&ctx);
        let identity = ctx.extensions().get::<Identity>();
        let username = identity.map_or_else(|| name.clone(), |identity| identity.subject.clone());
        Ok(connectrpc::Response::new(UserInfoResponse {
            subject: name.clone(),
            name,
            preferred_username: username,
            additional_claims: role_claim(identity).into(),
            ..Default::default()
        }))
    }
}

/// `{"role": ROLE}`: what the caller may do, so the console shows only the buttons that work.
/// With auth off everyone is an admin.
fn role_claim(identity: Option<&Identity>) -> Struct {
    let role = match identity.map(|identity| identity.grant) {
        None => Role::Admin.to_string(),
        Some(Grant::Key(role)) => role.to_string(),
        Some(Grant::Attempt) => "attempt".to_owned(),
    };
    let value = Value {
        kind: Some(Kind::StringValue(role)),
        ..Default::default()
    };
    Struct {
        fields: [("role".to_owned(), value)].into_iter().collect(),
        ..Default::default()
    }
}

/// An OAuth2 error reply (RFC 6749 §5.2).
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = serde_json::json!({ "error": error, "error_description": description });
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body.to_string(),
    )
        .into_response()
}

/// The client id and secret of a token request: HTTP Basic, else the form's fields.
fn client_of(headers: &HeaderMap, form: &[(String, String)]) -> Result<(String, String), Refusal> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value.to_str().map_err(|_| Refusal::Malformed)?;
        let (scheme, encoded) = value.split_once(' ').ok_or(Refusal::Malformed)?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(Refusal::Malformed);
        }
        return basic_credentials(encoded.trim());
    }
    let field = |name: &str| {
        form.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    match (field("client_id"), field("client_secret")) {
        (Some(id), Some(secret)) => Ok((id, secret)),
        _ => Err(Refusal::Missing),
    }
}

/// `POST /oauth2/token`: the client-credentials grant.
pub async fn token(State(auth): State<Arc<Auth>>, headers: HeaderMap, body: Bytes) -> Response {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body)
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    let grant = form
        .iter()
        .find(|(key, _)| key == "grant_type")
        .map(|(_, value)| value.as_str());
    if grant != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "aerie issues tokens for the client_credentials grant only",
        );
    }
    let key = match client_of(&headers, &form) {
        Ok((client_id, secret)) => auth.check_key(&client_id, &secret).await,
        Err(refusal) => Err(refusal),
    };
    let key = match key {
        Ok(key) => key,
        Err(Refusal::Unavailable) => {
            return oauth_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                &Refusal::Unavailable.to_string(),
            );
        }
        Err(refusal) => {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                &refusal.to_string(),
            );
        }
    };
    let (access_token, ttl) = auth.token_for_key(&key);
    let body = serde_json::json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": ttl.as_secs(),
        "scope": SCOPE,
    });
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body.to_string(),
    )
        .into_response()
}
