//! Short-lived access tokens: JWTs signed with HMAC-SHA256 under a key kept in the data
//! directory. A token names who it was issued to and what it grants; it is checked on every
//! request, and a token of a revoked key stops working at once (see `super::Auth`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// What a token says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Claims {
    /// The API key's client id, or `attempt:RUN/ACTION/N` for a running attempt.
    pub sub: String,
    /// Who, for records (`created_by`, `aborted_by`) and `whoami`.
    pub name: String,
    /// `admin`, `read-only` or `attempt`.
    pub role: String,
    /// The one run an attempt's token may change (`project/domain/name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// Issued and expiry times, in Unix seconds.
    pub iat: i64,
    pub exp: i64,
}

/// Why a token is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the access token is malformed")]
    Malformed,
    #[error("the access token's signature does not match")]
    BadSignature,
    #[error("the access token expired; get a new one")]
    Expired,
}

/// Signs and checks tokens.
#[derive(Clone)]
pub struct TokenKey {
    key: Vec<u8>,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey")
    }
}

/// `{"alg":"HS256","typ":"JWT"}`, encoded.
const HEADER: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

impl TokenKey {
    pub fn new(key: Vec<u8>) -> Self {
        Self { key }
    }

    fn mac(&self, signed: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(signed.as_bytes());
        mac
    }

    /// The token carrying `claims`.
    pub fn mint(&self, claims: &Claims) -> String {
        let payload = serde_json::to_vec(claims).expect("claims serialize");
        let signed = format!("{HEADER}.{}", URL_SAFE_NO_PAD.encode(payload));
        let signature = URL_SAFE_NO_PAD.encode(self.mac(&signed).finalize().into_bytes());
        format!("{signed}.{signature}")
    }

    /// The claims of `token` if it is ours and unexpired at `now_unix`.
    pub fn verify(&self, token: &str, now_unix: i64) -> Result<Claims, TokenError> {
        let (signed, signature) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let (header, payload) = signed.split_once('.').ok_or(TokenError::Malformed)?;
        if header != HEADER {
            return Err(TokenError::Malformed);
        }
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Malformed)?;
        self.mac(signed)
            .verify_slice(&signature)
            .map_err(|_| TokenError::BadSignature)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| TokenError::Malformed)?;
        let claims: Claims = serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)?;
        if now_unix >= claims.exp {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: "aerie-1".into(),
            name: "ci".into(),
            role: "admin".into(),
            run: None,
            iat: 0,
            exp,
        }
    }

    #[test]
    fn a_token_verifies_until_it_expires_and_only_under_its_key() {
        let key = TokenKey::new(b"0123456789abcdef0123456789abcdef".to_vec());
        let token = key.mint(&claims(100));
        assert_eq!(key.verify(&token, 99), Ok(claims(100)));
        assert_eq!(key.verify(&token, 100), Err(TokenError::Expired));
        let other = TokenKey::new(b"another key, another key, another".to_vec());
        assert_eq!(other.verify(&token, 99), Err(TokenError::BadSignature));
        assert_eq!(key.verify("garbage", 0), Err(TokenError::Malformed));
    }

    #[test]
    fn a_token_with_changed_claims_is_refused() {
        let key = TokenKey::new(b"0123456789abcdef0123456789abcdef".to_vec());
        let token = key.mint(&claims(100));
        let (_, signature) = token.rsplit_once('.').unwrap();
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(10_000)).unwrap());
        let forged = format!("{HEADER}.{forged_payload}.{signature}");
        assert_eq!(key.verify(&forged, 99), Err(TokenError::BadSignature));
    }
}
