//! Who is calling, and whether they may.
//!
//! With auth on, every request but health checks, the OAuth2 token endpoint, the auth
//! metadata RPCs and the S3 bucket (signed with its own storage credentials) carries a
//! credential: `Authorization: Bearer TOKEN` (an access token from
//! the token endpoint, or one handed to a running attempt), or `Authorization: Basic` with an
//! API key's client id and secret (what a browser sends for the console). Each request is
//! then checked against what its RPC needs (`access`). With auth off, every caller is an
//! anonymous admin (see `crate::caller`).
//!
//! # Layout
//! - `api_key`: the key format the SDK decodes, and secret hashing.
//! - `token`: signed, short-lived access tokens.
//! - `access`: what each RPC and page needs, and what each grant allows.
//! - `hosts`: the `Host` and `Origin` checks against DNS rebinding and cross-site requests.
//! - `guard`: the middleware that applies all of the above to every request.
//! - `oauth`: the token endpoint, `AuthMetadataService` and `IdentityService`.

pub mod access;
pub mod api_key;
pub mod guard;
pub mod hosts;
pub mod oauth;
pub mod token;

use access::Grant;
use aerie_core::{ActionId, RunId, Timestamp};
use aerie_s3::{Scope, StorageKeys};
use aerie_store::{ApiKeyRecord, Store};
use base64::Engine as _;
use http::HeaderMap;
use std::time::Duration;
use token::{Claims, TokenKey};

/// How long an access token from the token endpoint lives unless configured otherwise.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(15 * 60);
/// How long an attempt's token and storage credential live: longer than any attempt is
/// allowed to run.
const ATTEMPT_TOKEN_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// The role name an attempt's token carries.
const ATTEMPT_ROLE: &str = "attempt";

/// The caller of a request, as the handlers see it (a request extension).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The API key's client id, or `attempt:…` for a running attempt.
    pub subject: String,
    /// Recorded as a run's creator and an abort's author.
    pub name: String,
    pub grant: Grant,
    /// The only run this caller may change: an attempt's own run.
    pub run: Option<RunId>,
}

/// Why a credential is refused (`unauthenticated`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("this aerie requires a credential: an API key or an access token")]
    Missing,
    #[error("the Authorization header is malformed")]
    Malformed,
    #[error("unknown client id or wrong secret")]
    BadKey,
    #[error("the API key {0:?} was revoked")]
    Revoked(String),
    #[error(transparent)]
    Token(#[from] token::TokenError),
    #[error("cannot check the credential right now; retry")]
    Unavailable,
}

/// Checks credentials and issues tokens.
#[derive(Debug, Clone)]
pub struct Auth {
    /// Whether credentials are required at all.
    pub enabled: bool,
    store: Store,
    tokens: TokenKey,
    token_ttl: Duration,
}

fn now_unix() -> i64 {
    Timestamp::now().as_micros() / 1_000_000
}

impl Auth {
    pub fn new(enabled: bool, store: Store, token_key: Vec<u8>, token_ttl: Duration) -> Self {
        Self {
            enabled,
            store,
            tokens: TokenKey::new(token_key),
            token_ttl,
        }
    }

    /// The active key `client_id` names, if `secret` is its secret.
    pub async fn check_key(&self, client_id: &str, secret: &str) -> Result<ApiKeyRecord, Refusal> {
        let key = self.active_key(client_id).await?;
        if api_key::secret_matches(secret, &key.secret_hash) {
            Ok(key)
        } else {
            Err(Refusal::BadKey)
        }
    }

    async fn active_key(&self, client_id: &str) -> Result<ApiKeyRecord, Refusal> {
        let key = self
            .store
            .api_key(client_id)
            .await
            .map_err(|err| {
                tracing::error!(error = %err, "looking up an API key failed");
                Refusal::Unavailable
            })?
            .ok_or(Refusal::BadKey)?;
        if key.revoked_at.is_some() {
            return Err(Refusal::Revoked(key.name));
        }
        Ok(key)
    }

    /// An access token for `key`, and how long it lives.
    pub fn token_for_key(&self, key: &ApiKeyRecord) -> (String, Duration) {
        let now = now_unix();
        let claims = Claims {
            sub: key.client_id.clone(),
            name: key.name.clone(),
            role: key.role.as_str().to_owned(),
            run: None,
            iat: now,
            exp: now + self.token_ttl.as_secs() as i64,
        };
        (self.tokens.mint(&claims), self.token_ttl)
    }

    /// The token a running attempt calls back with.
    pub fn token_for_attempt(&self, action: &ActionId, attempt: u32) -> String {
        let now = now_unix();
        self.tokens.mint(&Claims {
            sub: format!("attempt:{}/{}/{attempt}", action.run, action.name),
            name: format!("task {}/{}", action.run.name, action.name),
            role: ATTEMPT_ROLE.to_owned(),
            run: Some(action.run.to_string()),
            iat: now,
            exp: now + ATTEMPT_TOKEN_TTL.as_secs() as i64,
        })
    }

    /// Who sent a request with `headers` (auth on).
    pub async fn identify(&self, headers: &HeaderMap) -> Result<Identity, Refusal> {
        let value = headers
            .get(http::header::AUTHORIZATION)
            .ok_or(Refusal::Missing)?
            .to_str()
            .map_err(|_| Refusal::Malformed)?;
        let (scheme, credential) = value.split_once(' ').ok_or(Refusal::Malformed)?;
        match scheme.to_ascii_lowercase().as_str() {
            "bearer" => self.identify_token(credential.trim()).await,
            "basic" => {
                let (client_id, secret) = basic_credentials(credential.trim())?;
                let key = self.check_key(&client_id, &secret).await?;
                Ok(key_identity(&key))
            }
            _ => Err(Refusal::Malformed),
        }
    }

    async fn identify_token(&self, token: &str) -> Result<Identity, Refusal> {
        let claims = self.tokens.verify(token, now_unix())?;
        if claims.role == ATTEMPT_ROLE {
            let run = claims
                .run
                .as_deref()
                .and_then(parse_run)
                .ok_or(Refusal::Malformed)?;
            return Ok(Identity {
                subject: claims.sub,
                name: claims.name,
                grant: Grant::Attempt,
                run: Some(run),
            });
        }
        // A token outlives nothing: the key it came from must still be active.
        let key = self.active_key(&claims.sub).await?;
        Ok(key_identity(&key))
    }
}

fn key_identity(key: &ApiKeyRecord) -> Identity {
    Identity {
        subject: key.client_id.clone(),
        name: key.name.clone(),
        grant: Grant::Key(key.role),
        run: None,
    }
}

/// A run written `project/domain/name`.
fn parse_run(raw: &str) -> Option<RunId> {
    let mut parts = raw.split('/');
    let run = RunId {
        project: parts.next()?.parse().ok()?,
        domain: parts.next()?.parse().ok()?,
        name: parts.next()?.parse().ok()?,
    };
    parts.next().is_none().then_some(run)
}

/// Where a task reads and writes its data.
#[derive(Debug)]
pub enum TaskStorage {
    /// aerie's own bucket at `endpoint` (`http(s)://host:port`), with a credential scoped to the
    /// attempt's run.
    Aerie { keys: StorageKeys, endpoint: String },
    /// An S3-compatible store, reached with the node's own credential. A generic S3 server
    /// has no way for aerie to mint a credential scoped to one run (AWS STS could, others
    /// cannot), so every task can read and write everything the node can: the bucket is shared
    /// by all runs, as on a Flyte cluster with one service account. Give nodes a credential
    /// limited to aerie's bucket and prefix.
    External(aerie_blob::S3Config),
}

impl TaskStorage {
    /// The SDK's variables for `action`'s run: endpoint, credential, and addressing.
    fn env(&self, action: &ActionId) -> Vec<(String, String)> {
        match self {
            Self::Aerie { keys, endpoint } => {
                let storage = keys.issue(&Scope::Run(action.run.clone()), ATTEMPT_TOKEN_TTL);
                vec![
                    ("FLYTE_AWS_ENDPOINT".to_owned(), endpoint.clone()),
                    ("FLYTE_AWS_ACCESS_KEY_ID".to_owned(), storage.access_key_id),
                    (
                        "FLYTE_AWS_SECRET_ACCESS_KEY".to_owned(),
                        storage.secret_access_key,
                    ),
                ]
            }
            Self::External(config) => {
                let mut env = vec![
                    (
                        "FLYTE_AWS_ACCESS_KEY_ID".to_owned(),
                        config.access_key_id.clone(),
                    ),
                    (
                        "FLYTE_AWS_SECRET_ACCESS_KEY".to_owned(),
                        config.secret_access_key.clone(),
                    ),
                    ("AWS_REGION".to_owned(), config.region.clone()),
                ];
                if let Some(endpoint) = &config.endpoint {
                    env.push(("FLYTE_AWS_ENDPOINT".to_owned(), endpoint.clone()));
                    // Path-style, as aerie addresses a custom endpoint.
                    env.push((
                        "FLYTE_AWS_S3_ADDRESSING_STYLE".to_owned(),
                        "path".to_owned(),
                    ));
                }
                env
            }
        }
    }
}

/// What a running attempt needs to call back: a storage credential for its run's data (see
/// [`TaskStorage`]); with TLS, the SDK's in-cluster switches for a TLS endpoint (the
/// certificate is taken from the server itself, over loopback); with auth, an attempt token
/// the SDK reads through its `ExternalCommand` auth type.
#[derive(Debug)]
pub struct AttemptCredentials {
    pub auth: Auth,
    pub tls: bool,
    pub storage: TaskStorage,
}

impl AttemptCredentials {
    /// The variables `attempt` of `action` calls back with.
    pub fn env(&self, action: &ActionId, attempt: u32) -> Vec<(String, String)> {
        let mut env = self.storage.env(action);
        if self.tls {
            env.push(("_U_INSECURE".to_owned(), "false".to_owned()));
            env.push(("_U_INSECURE_SKIP_VERIFY".to_owned(), "true".to_owned()));
        }
        if self.auth.enabled {
            let command = r#"["/bin/sh", "-c", "printf %s \"$AERIE_ATTEMPT_TOKEN\""]"#;
            env.push((
                "AERIE_ATTEMPT_TOKEN".to_owned(),
                self.auth.token_for_attempt(action, attempt),
            ));
            env.push(("FLYTE_AUTH_TYPE".to_owned(), "ExternalCommand".to_owned()));
            env.push(("FLYTE_AUTH_COMMAND".to_owned(), command.to_owned()));
        }
        env
    }
}

/// The client id and secret of a Basic credential; the secret may be form-encoded, as the
/// SDK's token client sends it.
pub fn basic_credentials(encoded: &str) -> Result<(String, String), Refusal> {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| Refusal::Malformed)?;
    let decoded = String::from_utf8(decoded).map_err(|_| Refusal::Malformed)?;
    let (client_id, secret) = decoded.split_once(':').ok_or(Refusal::Malformed)?;
    let secret = url::form_urlencoded::parse(format!("s={secret}").as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    Ok((client_id.to_owned(), secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn auth(enabled: bool) -> (Auth, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&aerie_store::Backend::Sqlite {
            path: dir.path().join("aerie.db"),
        })
        .await
        .unwrap();
        let auth = Auth::new(enabled, store, vec![7; 32], DEFAULT_TOKEN_TTL);
        (auth, dir)
    }

    fn bearer(token: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        headers
    }

    #[tokio::test]
    async fn an_attempt_token_is_bound_to_its_run() {
        let (auth, _dir) = auth(true).await;
        let action = ActionId::parse_uri("flyte://v1/p/d/r1/a0").unwrap();
        let token = auth.token_for_attempt(&action, 2);
        let identity = auth.identify(&bearer(&token)).await.unwrap();
        assert_eq!(identity.grant, Grant::Attempt);
        assert_eq!(identity.run, Some(action.run.clone()));
        assert_eq!(identity.subject, "attempt:p/d/r1/a0/2");
    }

    #[tokio::test]
    async fn a_request_without_a_valid_credential_is_refused() {
        let (auth, _dir) = auth(true).await;
        assert_eq!(
            auth.identify(&HeaderMap::new()).await,
            Err(Refusal::Missing)
        );
        assert_eq!(
            auth.identify(&bearer("not.a.token")).await,
            Err(Refusal::Token(token::TokenError::Malformed))
        );
    }

    #[test]
    fn runs_parse_from_their_three_parts_only() {
        assert!(parse_run("p/d/r1").is_some());
        assert!(parse_run("p/d").is_none());
        assert!(parse_run("p/d/r1/x").is_none());
        assert!(parse_run("p/../r1").is_none());
    }
}
