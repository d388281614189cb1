//! Storage credentials: S3 access keys aerie derives instead of storing.
//!
//! An access key id carries what it grants (one run's data, or the whole bucket read-only or
//! read-write) and when it expires, in the clear; its secret is an HMAC of the id under a key
//! kept in the data directory. Anyone can read an id, but only aerie can compute its secret,
//! and every S3 request is signed with the secret (SigV4), so a forged or altered id fails the
//! signature check. Nothing is stored per credential, and every node holding the key can
//! check every credential.

use aerie_core::RunId;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Every access key id aerie issues starts with this.
const ID_PREFIX: &str = "AERIE";

/// Where objects are never written or deleted through the bucket.
const IMMUTABLE: &[&str] = &["uploads/", "inputs/"];

/// What a credential may touch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// One run's data: read and write under its prefix, and read (by exact key, or listed
    /// below a content-named folder) the inputs of its project and domain and the uploads of
    /// its project, which hold its inputs and code bundle.
    Run(RunId),
    /// Every object; `write` allows writes and deletes too (an operator's credential).
    Bucket { write: bool },
}

/// The run whose data `key` is (`runs/PROJECT/DOMAIN/RUN/...`), if it is a run's.
pub fn run_of_key(key: &str) -> Option<RunId> {
    let mut parts = key.strip_prefix("runs/")?.splitn(4, '/');
    let (project, domain, name) = (parts.next()?, parts.next()?, parts.next()?);
    parts.next()?;
    Some(RunId {
        project: project.parse().ok()?,
        domain: domain.parse().ok()?,
        name: name.parse().ok()?,
    })
}

/// What a request does with a key or prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    Read,
    List,
    Write,
}

impl Scope {
    /// Whether this scope allows `use_` of `key` (for [`Use::List`], a prefix). Uploads and
    /// inputs are immutable for every scope: they arrive through signed upload URLs and RPCs.
    pub fn allows(&self, use_: Use, key: &str) -> bool {
        if use_ == Use::Write && IMMUTABLE.iter().any(|base| key.starts_with(base)) {
            return false;
        }
        match self {
            Self::Bucket { write } => *write || use_ != Use::Write,
            Self::Run(run) => {
                let own = format!("runs/{}/{}/{}/", run.project, run.domain, run.name);
                if key.starts_with(&own) {
                    return true;
                }
                let inputs = format!("inputs/{}/{}/", run.project, run.domain);
                // Uploads of the run's project in any domain: the SDK reuses a code bundle it
                // uploaded for another domain earlier in the same session.
                let uploads = format!("uploads/{}/", run.project);
                let Some(rest) = key.strip_prefix(inputs.as_str()).or_else(|| {
                    key.strip_prefix(uploads.as_str())
                        .and_then(|in_domain| in_domain.split_once('/'))
                        .filter(|(domain, _)| !domain.is_empty())
                        .map(|(_, rest)| rest)
                }) else {
                    return false;
                };
                match use_ {
                    Use::Write => false,
                    Use::Read => !rest.is_empty(),
                    // Listing needs the whole content-named folder, so it reveals nothing of
                    // what other runs stored.
                    Use::List => rest
                        .split_once('/')
                        .is_some_and(|(folder, _)| !folder.is_empty()),
                }
            }
        }
    }

    /// What this scope is, for error messages.
    pub fn describe(&self) -> String {
        match self {
            Self::Run(run) => format!(
                "this credential is for run {} (project {}, domain {})",
                run.name, run.project, run.domain
            ),
            Self::Bucket { write: true } => "this credential is for the whole bucket".to_owned(),
            Self::Bucket { write: false } => {
                "this credential reads the whole bucket and writes nothing".to_owned()
            }
        }
    }
}

/// What an access key id says, in the clear.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    p: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    d: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    r: Option<String>,
    /// Whether a bucket-wide credential may write.
    #[serde(default)]
    w: bool,
    /// Expiry, in seconds since the epoch.
    exp: u64,
}

/// An access key id and its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub access_key_id: String,
    pub secret_access_key: String,
}

/// Why an access key id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    #[error("the access key id was not issued by aerie")]
    Unknown,
    #[error("the access key id expired")]
    Expired,
}

/// Issues and checks storage credentials under one key.
#[derive(Clone)]
pub struct StorageKeys {
    key: Vec<u8>,
}

impl std::fmt::Debug for StorageKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StorageKeys(..)")
    }
}

impl StorageKeys {
    /// Credentials derived from `key` (at least 32 random bytes).
    pub fn new(key: Vec<u8>) -> Self {
        Self { key }
    }

    /// A credential for `scope` that expires after `ttl`.
    pub fn issue(&self, scope: &Scope, ttl: Duration) -> Credential {
        let exp = (SystemTime::now() + ttl)
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        let claims = match scope {
            Scope::Run(run) => Claims {
                p: Some(run.project.to_string()),
                d: Some(run.domain.to_string()),
                r: Some(run.name.to_string()),
                w: true,
                exp,
            },
            Scope::Bucket { write } => Claims {
                p: None,
                d: None,
                r: None,
                w: *write,
                exp,
            },
        };
        let json = serde_json::to_vec(&claims).expect("claims serialize");
        let access_key_id = format!("{ID_PREFIX}{}", URL_SAFE_NO_PAD.encode(json));
        let secret_access_key = self.secret_for(&access_key_id);
        Credential {
            access_key_id,
            secret_access_key,
        }
    }

    /// The secret of `access_key_id`; the caller proves it knows it by signing.
    pub fn secret_for(&self, access_key_id: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(b"aerie storage secret:");
        mac.update(access_key_id.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// The scope `access_key_id` grants, if aerie issued it and it has not expired.
    pub fn scope_of(&self, access_key_id: &str) -> Result<Scope, CredentialError> {
        let encoded = access_key_id
            .strip_prefix(ID_PREFIX)
            .ok_or(CredentialError::Unknown)?;
        let json = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| CredentialError::Unknown)?;
        let claims: Claims = serde_json::from_slice(&json).map_err(|_| CredentialError::Unknown)?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        if claims.exp <= now {
            return Err(CredentialError::Expired);
        }
        match (claims.p, claims.d, claims.r) {
            (None, None, None) => Ok(Scope::Bucket { write: claims.w }),
            (Some(project), Some(domain), Some(name)) => Ok(Scope::Run(RunId {
                project: project.parse().map_err(|_| CredentialError::Unknown)?,
                domain: domain.parse().map_err(|_| CredentialError::Unknown)?,
                name: name.parse().map_err(|_| CredentialError::Unknown)?,
            })),
            _ => Err(CredentialError::Unknown),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(name: &str) -> RunId {
        RunId {
            project: "p".parse().unwrap(),
            domain: "d".parse().unwrap(),
            name: name.parse().unwrap(),
        }
    }

    #[test]
    fn an_issued_credential_reads_back_its_scope_and_its_secret_depends_on_the_key() {
        let keys = StorageKeys::new(vec![1; 32]);
        let credential = keys.issue(&Scope::Run(run("r1")), Duration::from_secs(60));
        assert_eq!(
            keys.scope_of(&credential.access_key_id),
            Ok(Scope::Run(run("r1")))
        );
        assert!(
            !credential.access_key_id.contains('/'),
            "ids go in SigV4's Credential="
        );
        assert_eq!(
            keys.secret_for(&credential.access_key_id),
            credential.secret_access_key
        );
        let other = StorageKeys::new(vec![2; 32]);
        assert_ne!(
            other.secret_for(&credential.access_key_id),
            credential.secret_access_key
        );
    }

    #[test]
    fn expired_and_foreign_ids_are_refused() {
        let keys = StorageKeys::new(vec![1; 32]);
        let expired = keys.issue(&Scope::Bucket { write: false }, Duration::ZERO);
        assert_eq!(
            keys.scope_of(&expired.access_key_id),
            Err(CredentialError::Expired)
        );
        for id in ["AKIAIOSFODNN7EXAMPLE", "AERIE!!", "AERIEe30", ""] {
            assert_eq!(keys.scope_of(id), Err(CredentialError::Unknown), "{id}");
        }
    }

    #[test]
    fn a_key_under_a_run_names_that_run_and_nothing_else_does() {
        assert_eq!(run_of_key("runs/p/d/r1/a0/raw/x.txt"), Some(run("r1")));
        assert_eq!(run_of_key("runs/p/d/r1/"), Some(run("r1")));
        for key in [
            "runs/p/d/r1",
            "runs/p/d/",
            "inputs/p/d/r1/x",
            "runs/P!/d/r1/x",
        ] {
            assert_eq!(run_of_key(key), None, "{key}");
        }
    }

    #[test]
    fn a_run_credential_reaches_its_run_and_its_inputs_and_code_only() {
        let scope = Scope::Run(run("r1"));
        assert!(scope.allows(Use::Write, "runs/p/d/r1/a0/1/outputs.pb"));
        assert!(scope.allows(Use::List, "runs/p/d/r1/a0/raw/x/"));
        assert!(scope.allows(Use::Read, "inputs/p/d/abc/inputs.pb"));
        assert!(scope.allows(Use::Read, "uploads/p/d/f00/code.tgz"));
        assert!(scope.allows(Use::List, "uploads/p/d/f00/dir/"));
        assert!(scope.allows(Use::Read, "uploads/p/staging/f00/code.tgz"));
        for (use_, key) in [
            (Use::Read, "runs/p/d/r2/a0/1/outputs.pb"),
            (Use::Read, "runs/p/d/r10/a0/1/outputs.pb"),
            (Use::List, "runs/p/d/"),
            (Use::List, "runs/p/d/r1"),
            (Use::List, "inputs/p/d/"),
            (Use::List, "uploads/p/d/f"),
            (Use::Write, "inputs/p/d/abc/inputs.pb"),
            (Use::Read, "inputs/p/other/abc/inputs.pb"),
            (Use::Read, "runs/q/d/r1/a0/1/outputs.pb"),
            (Use::Read, "uploads/q/d/f00/code.tgz"),
            (Use::Read, "uploads/p//f00/code.tgz"),
            (Use::List, "uploads/p/staging/"),
        ] {
            assert!(!scope.allows(use_, key), "{use_:?} {key}");
        }
    }

    #[test]
    fn a_read_only_bucket_credential_writes_nothing_and_none_rewrites_uploads() {
        let scope = Scope::Bucket { write: false };
        assert!(scope.allows(Use::Read, "runs/p/d/r/x"));
        assert!(scope.allows(Use::List, ""));
        assert!(!scope.allows(Use::Write, "runs/p/d/r/x"));
        let admin = Scope::Bucket { write: true };
        assert!(admin.allows(Use::Write, "runs/p/d/r/x"));
        assert!(
            !admin.allows(Use::Write, "uploads/p/d/f/code.tgz"),
            "uploads stay immutable"
        );
        assert!(
            !admin.allows(Use::Write, "inputs/p/d/abc/inputs.pb"),
            "inputs too"
        );
    }
}
