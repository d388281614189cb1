//! Signed, expiring URLs: aerie serves uploads and downloads itself, and only for a request
//! that carries a valid signature over the method, the blob key and the expiry time.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::io;
use std::path::Path;

type HmacSha256 = Hmac<Sha256>;

/// Why a signed request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the URL is not signed")]
    Missing,
    #[error("the URL's signature does not match")]
    Mismatch,
    #[error("the URL expired")]
    Expired,
}

/// The secret key stored at `path` (readable by its owner only), made at random on first use.
pub fn load_or_create_key(path: &Path) -> io::Result<Vec<u8>> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    match std::fs::read(path) {
        Ok(key) if key.len() >= 32 => {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
            Ok(key)
        }
        Ok(_) | Err(_) => {
            let key: [u8; 32] = rand::random();
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let _ = std::fs::remove_file(path);
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)?;
            file.write_all(&key)?;
            file.sync_all()?;
            Ok(key.to_vec())
        }
    }
}

/// Signs and checks URLs with a secret key kept in the data directory.
#[derive(Clone)]
pub struct UrlSigner {
    key: Vec<u8>,
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UrlSigner")
    }
}

impl UrlSigner {
    /// A signer with `key` (see [`load_or_create_key`]).
    pub fn new(key: Vec<u8>) -> Self {
        Self { key }
    }

    fn mac(&self, method: &str, key: &str, expires_unix: i64) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(method.as_bytes());
        mac.update(b"\n");
        mac.update(key.as_bytes());
        mac.update(b"\n");
        mac.update(expires_unix.to_string().as_bytes());
        mac
    }

    /// The signature (hex) allowing `method` on blob `key` until `expires_unix` seconds.
    pub fn sign(&self, method: &str, key: &str, expires_unix: i64) -> String {
        hex::encode(self.mac(method, key, expires_unix).finalize().into_bytes())
    }

    /// Checks a signature at time `now_unix`.
    pub fn verify(
        &self,
        method: &str,
        key: &str,
        expires_unix: Option<i64>,
        signature: Option<&str>,
        now_unix: i64,
    ) -> Result<(), SignatureError> {
        let (Some(expires_unix), Some(signature)) = (expires_unix, signature) else {
            return Err(SignatureError::Missing);
        };
        let given = hex::decode(signature).map_err(|_| SignatureError::Mismatch)?;
        self.mac(method, key, expires_unix)
            .verify_slice(&given)
            .map_err(|_| SignatureError::Mismatch)?;
        if now_unix > expires_unix {
            return Err(SignatureError::Expired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_is_valid_for_its_method_key_and_time_only() {
        let signer = UrlSigner::new(b"0123456789abcdef0123456789abcdef".to_vec());
        let signature = signer.sign("PUT", "uploads/p/d/x/f.tgz", 100);
        assert_eq!(
            signer.verify(
                "PUT",
                "uploads/p/d/x/f.tgz",
                Some(100),
                Some(&signature),
                99
            ),
            Ok(())
        );
        assert_eq!(
            signer.verify(
                "PUT",
                "uploads/p/d/x/f.tgz",
                Some(100),
                Some(&signature),
                101
            ),
            Err(SignatureError::Expired)
        );
        assert_eq!(
            signer.verify(
                "GET",
                "uploads/p/d/x/f.tgz",
                Some(100),
                Some(&signature),
                99
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            signer.verify(
                "PUT",
                "uploads/p/d/x/other",
                Some(100),
                Some(&signature),
                99
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            signer.verify(
                "PUT",
                "uploads/p/d/x/f.tgz",
                Some(200),
                Some(&signature),
                99
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            signer.verify("PUT", "k", None, None, 0),
            Err(SignatureError::Missing)
        );
    }

    #[test]
    fn the_key_persists_across_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing.key");
        let first = UrlSigner::new(load_or_create_key(&path).unwrap());
        let second = UrlSigner::new(load_or_create_key(&path).unwrap());
        assert_eq!(first.sign("GET", "k", 1), second.sign("GET", "k", 1));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "only aerie's user may read the key");
    }
}
