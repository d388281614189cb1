//! API keys and the OAuth2 client-credentials flow the Flyte SDK runs with them.
//!
//! An [`ApiKey`] is `base64("ENDPOINT:CLIENT_ID:SECRET:ORG")`, as `FLYTE_API_KEY` holds it. The
//! client trades its id and secret for an access token as the SDK does: AuthMetadataService says
//! where the token endpoint is (GetOAuth2Metadata) and which scopes, audience and header to use
//! (GetPublicClientConfig); a `POST` with HTTP Basic and `grant_type=client_credentials` returns
//! the token. The client's transport sends it with every call, fetches one before the first call and again
//! shortly before it expires, and forgets it when the server answers 401, so the next call
//! fetches a fresh one.

use aerie_wire::flyteidl2::auth::{
    AuthMetadataServiceClient, GetOAuth2MetadataRequest, GetPublicClientConfigRequest,
};
use base64::Engine as _;
use bytes::Bytes;
use connectrpc::ConnectError;
use connectrpc::client::{BoxFuture, ClientBody, ClientConfig, ClientTransport, HttpClient};
use http::{HeaderName, HeaderValue, Request, Response, StatusCode, Uri};
use http_body_util::BodyExt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// How long before a token's expiry a new one is fetched.
const REFRESH_MARGIN: Duration = Duration::from_secs(30);
/// Largest token response read.
const MAX_TOKEN_RESPONSE: usize = 64 * 1024;

/// An API key, decoded.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// The endpoint the key was made for (a host name, no scheme or port).
    pub endpoint: String,
    /// The OAuth2 client id.
    pub client_id: String,
    /// The OAuth2 client secret.
    pub client_secret: String,
    /// The organization, if the key names one.
    pub org: Option<String>,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey")
            .field("endpoint", &self.endpoint)
            .field("client_id", &self.client_id)
            .field("org", &self.org)
            .finish_non_exhaustive()
    }
}

impl ApiKey {
    /// Decodes `encoded`, split at its first three colons as the SDK splits it.
    pub fn decode(encoded: &str) -> Result<Self, String> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| "the API key is not base64".to_owned())?;
        let text = String::from_utf8(bytes).map_err(|_| "the API key is not text".to_owned())?;
        let mut parts = text.splitn(4, ':');
        let (Some(endpoint), Some(client_id), Some(client_secret)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err("the API key is not ENDPOINT:CLIENT_ID:SECRET:ORG".to_owned());
        };
        if client_id.is_empty() || client_secret.is_empty() {
            return Err("the API key has no client id or secret".to_owned());
        }
        let org = parts
            .next()
            .filter(|org| !org.is_empty() && *org != "None")
            .map(str::to_owned);
        Ok(Self {
            endpoint: endpoint.to_owned(),
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            org,
        })
    }
}

/// A token in hand and when to fetch the next.
struct Token {
    header: HeaderValue,
    refresh_at: Instant,
}

/// The client credentials of one connection and the token they were last traded for.
pub(crate) struct Credentials {
    key: ApiKey,
    base: Uri,
    token: Mutex<Option<Token>>,
}

impl Credentials {
    pub(crate) fn new(key: ApiKey, base: Uri) -> Self {
        Self {
            key,
            base,
            token: Mutex::new(None),
        }
    }

    /// The header to send, `(name, Bearer …)`, fetching a token when none is fresh.
    async fn header(&self, http: &HttpClient) -> Result<(HeaderName, HeaderValue), ConnectError> {
        let mut token = self.token.lock().await;
        if let Some(fresh) = token.as_ref().filter(|t| Instant::now() < t.refresh_at) {
            return Ok((http::header::AUTHORIZATION, fresh.header.clone()));
        }
        let fetched = self.fetch(http).await?;
        let header = fetched.header.clone();
        *token = Some(fetched);
        Ok((http::header::AUTHORIZATION, header))
    }

    /// Drops the token, so the next call fetches another.
    async fn forget(&self) {
        *self.token.lock().await = None;
    }

    /// Discovers the token endpoint and trades the key for a token.
    async fn fetch(&self, http: &HttpClient) -> Result<Token, ConnectError> {
        let unauthenticated = |what: &str, err: &dyn std::fmt::Display| {
            ConnectError::unauthenticated(format!("{what}: {err}"))
        };
        let metadata =
            AuthMetadataServiceClient::new(http.clone(), ClientConfig::new(self.base.clone()));
        let oauth = metadata
            .get_o_auth2_metadata(GetOAuth2MetadataRequest::default())
            .await
            .map_err(|err| explained("cannot discover the token endpoint", err))?
            .into_owned();
        let public = metadata
            .get_public_client_config(GetPublicClientConfigRequest::default())
            .await
            .map_err(|err| explained("cannot read the public client config", err))?
            .into_owned();
        let token_endpoint: Uri = oauth.token_endpoint.parse().map_err(|_| {
            ConnectError::unauthenticated(format!(
                "the server named an invalid token endpoint {:?}",
                oauth.token_endpoint
            ))
        })?;
        let form = token_form(&public.scopes, &public.audience);
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            self.key.client_id,
            url::form_urlencoded::byte_serialize(self.key.client_secret.as_bytes())
                .collect::<String>()
        ));
        let request = Request::post(token_endpoint)
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::ACCEPT, "application/json")
            .header(http::header::AUTHORIZATION, format!("Basic {basic}"))
            .body(connectrpc::client::full_body(Bytes::from(form)))
            .map_err(|err| unauthenticated("cannot build the token request", &err))?;
        let response = http.send(request).await?;
        let status = response.status();
        let body = http_body_util::Limited::new(response.into_body(), MAX_TOKEN_RESPONSE)
            .collect()
            .await
            .map_err(|err| unauthenticated("cannot read the token response", &err))?
            .to_bytes();
        if status != StatusCode::OK {
            return Err(ConnectError::unauthenticated(format!(
                "the token endpoint refused the API key ({status}): {}",
                String::from_utf8_lossy(&body)
            )));
        }
        let granted: TokenResponse = serde_json::from_slice(&body)
            .map_err(|err| unauthenticated("the token response is not a token", &err))?;
        let header = HeaderValue::from_str(&format!("Bearer {}", granted.access_token))
            .map_err(|err| unauthenticated("the token is not a header value", &err))?;
        let lifetime = Duration::from_secs(granted.expires_in.unwrap_or(300));
        Ok(Token {
            header,
            refresh_at: Instant::now() + lifetime.saturating_sub(REFRESH_MARGIN),
        })
    }
}

/// `err` (its code and causes kept) with `what` said first.
fn explained(what: &str, mut err: ConnectError) -> ConnectError {
    let message = err.message.take().unwrap_or_default();
    err.message = Some(format!("{what}: {message}"));
    err
}

/// The form of a client-credentials token request, as the SDK sends it.
fn token_form(scopes: &[String], audience: &str) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "client_credentials");
    form.append_pair("scope", &scopes.join(" "));
    if !audience.is_empty() {
        form.append_pair("audience", audience);
    }
    form.finish()
}

#[derive(serde::Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Option<u64>,
}

/// The HTTP transport of every call: plaintext or TLS, with the credential's token when there
/// is one.
#[derive(Clone)]
pub(crate) struct Transport {
    pub(crate) http: HttpClient,
    pub(crate) credentials: Option<Arc<Credentials>>,
}

impl ClientTransport for Transport {
    type ResponseBody = <HttpClient as ClientTransport>::ResponseBody;
    type Error = ConnectError;

    fn send(
        &self,
        mut request: Request<ClientBody>,
    ) -> BoxFuture<'static, Result<Response<Self::ResponseBody>, ConnectError>> {
        let http = self.http.clone();
        let credentials = self.credentials.clone();
        Box::pin(async move {
            let Some(credentials) = credentials else {
                return http.send(request).await;
            };
            let (name, value) = credentials.header(&http).await?;
            request.headers_mut().insert(name, value);
            let response = http.send(request).await?;
            if response.status() == StatusCode::UNAUTHORIZED {
                credentials.forget().await;
            }
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(text: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    #[test]
    fn a_key_splits_at_its_first_three_colons() {
        let key = ApiKey::decode(&encode("aerie.example:aerie-1:s3cr:et:acme")).unwrap();
        assert_eq!(key.endpoint, "aerie.example");
        assert_eq!(key.client_id, "aerie-1");
        assert_eq!(key.client_secret, "s3cr");
        assert_eq!(key.org.as_deref(), Some("et:acme"));
        let no_org = ApiKey::decode(&encode("h:id:secret:")).unwrap();
        assert_eq!(no_org.org, None);
        assert_eq!(
            ApiKey::decode(&encode("h:id:secret:None")).unwrap().org,
            None
        );
    }

    #[test]
    fn a_malformed_key_is_refused_and_debug_hides_the_secret() {
        assert!(ApiKey::decode("not base64!").is_err());
        assert!(ApiKey::decode(&encode("host-only")).is_err());
        assert!(ApiKey::decode(&encode("h::secret:")).is_err());
        let key = ApiKey::decode(&encode("h:id:topsecret:")).unwrap();
        assert!(!format!("{key:?}").contains("topsecret"));
    }
}
