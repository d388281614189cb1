//! API keys as the Flyte SDK reads them: `base64("ENDPOINT:CLIENT_ID:SECRET:ORG")`, which the
//! SDK splits into an endpoint and the client id and secret of an OAuth2 client-credentials
//! flow. Only the secret's SHA-256 is stored.

use aerie_core::Role;
use aerie_store::NewApiKey;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// A key just made: what to store, and what to show its owner once.
#[derive(Debug, Clone)]
pub struct IssuedKey {
    pub stored: NewApiKey,
    /// The secret in clear; not kept anywhere by aerie.
    pub secret: String,
    /// The key in the form `FLYTE_API_KEY` and `flyte.init(api_key=...)` take.
    pub encoded: String,
}

/// Makes a key named `name` with `role`, whose encoded form points the SDK at `endpoint`.
pub fn issue(name: &str, role: Role, endpoint: &str) -> IssuedKey {
    let client_id = format!("aerie-{}", hex::encode(rand::random::<[u8; 8]>()));
    let secret = hex::encode(rand::random::<[u8; 32]>());
    let encoded = base64::engine::general_purpose::STANDARD
        .encode(format!("{endpoint}:{client_id}:{secret}:"));
    IssuedKey {
        stored: NewApiKey {
            client_id,
            name: name.to_owned(),
            role,
            secret_hash: hash_secret(&secret),
        },
        secret,
        encoded,
    }
}

/// The hex SHA-256 of `secret`, as stored.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether `secret` hashes to `stored_hash`, compared in constant time.
pub fn secret_matches(secret: &str, stored_hash: &str) -> bool {
    let given = hash_secret(secret);
    given.len() == stored_hash.len()
        && given
            .bytes()
            .zip(stored_hash.bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

/// Whether the SDK can read `endpoint` back out of a key: it splits the decoded key at its
/// first three colons, so an endpoint with a port (or a scheme) cannot be carried.
pub fn endpoint_fits_in_key(endpoint: &str) -> bool {
    !endpoint.contains(':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issued_key_decodes_the_way_the_sdk_splits_it_and_only_its_secret_matches() {
        let issued = issue("ci", Role::ReadOnly, "aerie.example.com");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(&issued.encoded)
            .unwrap();
        let decoded = String::from_utf8(decoded).unwrap();
        let parts: Vec<&str> = decoded.splitn(4, ':').collect();
        assert_eq!(
            parts,
            [
                "aerie.example.com",
                issued.stored.client_id.as_str(),
                issued.secret.as_str(),
                ""
            ]
        );
        assert!(secret_matches(&issued.secret, &issued.stored.secret_hash));
        assert!(!secret_matches("guess", &issued.stored.secret_hash));
        assert_ne!(issued.stored.secret_hash, issued.secret);
    }

    #[test]
    fn endpoints_with_a_port_do_not_fit_in_a_key() {
        assert!(endpoint_fits_in_key("aerie.example.com"));
        assert!(!endpoint_fits_in_key("localhost:30080"));
        assert!(!endpoint_fits_in_key("dns:///aerie.example.com"));
    }
}
