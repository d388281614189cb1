//! Signed, expiring URLs: aerie serves uploads and downloads itself, and only for a request
//! that carries a valid signature over the method, the blob key, the expiry time and, for an
//! upload, the content hash it was issued for (empty when none was given).

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
/// A key that is too short or unreadable is replaced: what it signed simply stops verifying.
pub fn load_or_create_key(path: &Path) -> io::Result<Vec<u8>> {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::read(path) {
        Ok(key) if key.len() >= 32 => {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
            Ok(key)
        }
        Ok(_) | Err(_) => {
            let _ = std::fs::remove_file(path);
            create_key_file(path)
        }
    }
}

/// Writes 32 random bytes to the new file `path` (mode 0600, synced) and returns them; an
/// existing file is an error, never overwritten.
pub fn create_key_file(path: &Path) -> io::Result<Vec<u8>> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let key: [u8; 32] = rand::random();
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(&key)?;
    file.sync_all()?;
    Ok(key.to_vec())
}

/// What a signed URL allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedGrant<'a> {
    /// `PUT` or `GET`.
    pub method: &'a str,
    /// The blob key.
    pub key: &'a str,
    /// Unix seconds after which the URL stops working.
    pub expires_unix: i64,
    /// Hex MD5 the uploaded content must have, or empty.
    pub content_md5: &'a str,
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

    fn mac(&self, grant: &SignedGrant<'_>) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        for part in [grant.method, grant.key, &grant.expires_unix.to_string()] {
            mac.update(part.as_bytes());
            mac.update(b"\n");
        }
        mac.update(grant.content_md5.as_bytes());
        mac
    }

    /// The signature (hex) for `grant`.
    pub fn sign(&self, grant: &SignedGrant<'_>) -> String {
        hex::encode(self.mac(grant).finalize().into_bytes())
    }

    /// Checks `signature` over `grant` at time `now_unix`.
    pub fn verify(
        &self,
        grant: &SignedGrant<'_>,
        signature: &str,
        now_unix: i64,
    ) -> Result<(), SignatureError> {
        let given = hex::decode(signature).map_err(|_| SignatureError::Mismatch)?;
        self.mac(grant)
            .verify_slice(&given)
            .map_err(|_| SignatureError::Mismatch)?;
        if now_unix > grant.expires_unix {
            return Err(SignatureError::Expired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_is_valid_for_its_method_key_time_and_hash_only() {
        let signer = UrlSigner::new(b"0123456789abcdef0123456789abcdef".to_vec());
        let grant = SignedGrant {
            method: "PUT",
            key: "uploads/p/d/x/f.tgz",
            expires_unix: 100,
            content_md5: "00ff",
        };
        let signature = signer.sign(&grant);
        assert_eq!(signer.verify(&grant, &signature, 99), Ok(()));
        assert_eq!(
            signer.verify(&grant, &signature, 101),
            Err(SignatureError::Expired)
        );
        for changed in [
            SignedGrant {
                method: "GET",
                ..grant
            },
            SignedGrant {
                key: "uploads/p/d/x/other",
                ..grant
            },
            SignedGrant {
                expires_unix: 200,
                ..grant
            },
            SignedGrant {
                content_md5: "",
                ..grant
            },
        ] {
            assert_eq!(
                signer.verify(&changed, &signature, 99),
                Err(SignatureError::Mismatch),
                "{changed:?}"
            );
        }
        assert_eq!(
            signer.verify(&grant, "not hex", 99),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn the_key_persists_across_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing.key");
        let first = UrlSigner::new(load_or_create_key(&path).unwrap());
        let second = UrlSigner::new(load_or_create_key(&path).unwrap());
        let grant = SignedGrant {
            method: "GET",
            key: "k",
            expires_unix: 1,
            content_md5: "",
        };
        assert_eq!(first.sign(&grant), second.sign(&grant));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "only aerie's user may read the key");
    }
}
