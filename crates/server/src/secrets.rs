//! Secret values at rest and on their way into a task.
//!
//! A value is sealed with AES-256-GCM under the secret key (`secrets.key` in the data
//! directory, mode 0600, or a file the operator names) before it reaches the store, bound to
//! its name and scope so a sealed value cannot be moved to another secret. The key file is
//! created once and never replaced: a key that is unreadable or the wrong size stops the
//! server rather than orphaning every stored secret.
//!
//! [`SecretBox::for_attempt`] resolves what a task asks for (most specific scope first) into
//! environment variables and files, or the SYSTEM error that names a missing secret.

use aerie_core::{ActionId, ErrorInfo, SecretMount, SecretRequest};
use aerie_store::{SecretId, SecretRecord, Store};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Length of a secret key file.
const KEY_LEN: usize = 32;

/// Why a secret could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the secret key file {path} cannot be used: {problem}")]
    KeyFile { path: PathBuf, problem: String },
    #[error("{0} cannot be opened with this server's secret key (was the key replaced?)")]
    Unopenable(String),
}

/// Seals and opens secret values; cheap to clone.
#[derive(Clone)]
pub struct SecretBox {
    key: Arc<LessSafeKey>,
    /// Derives the keys that every node sharing this secret key must agree on.
    derivation: Arc<ring::hmac::Key>,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox")
    }
}

/// What binds a sealed value to its secret: the scope and the name.
fn binding(id: &SecretId) -> Vec<u8> {
    format!("aerie secret\0{}\0{}\0{}", id.project, id.domain, id.name).into_bytes()
}

impl SecretBox {
    /// The box for the key in `path`, created (mode 0600) if the file does not exist.
    pub fn open_key_file(path: &Path) -> Result<Self, SecretError> {
        let problem = |problem: String| SecretError::KeyFile {
            path: path.to_owned(),
            problem,
        };
        let key = match std::fs::read(path) {
            Ok(key) => key,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                aerie_blob::create_key_file(path).map_err(|err| problem(err.to_string()))?
            }
            Err(err) => return Err(problem(err.to_string())),
        };
        if key.len() != KEY_LEN {
            return Err(problem(format!(
                "it holds {} bytes, a secret key is {KEY_LEN}",
                key.len()
            )));
        }
        let unbound =
            UnboundKey::new(&AES_256_GCM, &key).map_err(|_| problem("not a key".into()))?;
        Ok(Self {
            key: Arc::new(LessSafeKey::new(unbound)),
            derivation: Arc::new(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key)),
        })
    }

    /// A 32-byte key for `purpose`, derived from the secret key (HMAC-SHA256 of the purpose):
    /// nodes that share the secret key derive the same one, and it reveals nothing of it.
    pub fn derived_key(&self, purpose: &str) -> Vec<u8> {
        let message = format!("aerie derived key\0{purpose}");
        ring::hmac::sign(&self.derivation, message.as_bytes())
            .as_ref()
            .to_vec()
    }

    /// `value` sealed for the secret `id`: a random nonce, then the ciphertext and its tag.
    pub fn seal(&self, id: &SecretId, value: &[u8]) -> Vec<u8> {
        let nonce_bytes: [u8; NONCE_LEN] = rand::random();
        let mut sealed = value.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(binding(id)),
                &mut sealed,
            )
            .expect("sealing fits in memory");
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&sealed);
        out
    }

    /// The value of `record`.
    pub fn open(&self, record: &SecretRecord) -> Result<Vec<u8>, SecretError> {
        let unopenable = || SecretError::Unopenable(record.id.to_string());
        if record.sealed.len() < NONCE_LEN {
            return Err(unopenable());
        }
        let (nonce, sealed) = record.sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| unopenable())?;
        let mut buffer = sealed.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(binding(&record.id)), &mut buffer)
            .map_err(|_| unopenable())?;
        Ok(plain.to_vec())
    }

    /// The variables and files (relative to the attempt's secrets directory) that give
    /// `action` the secrets it asks for; a SYSTEM error naming the first one missing.
    pub async fn for_attempt(
        &self,
        store: &Store,
        action: &ActionId,
        requests: &[SecretRequest],
    ) -> Result<SecretsForAttempt, ErrorInfo> {
        let mut given = SecretsForAttempt::default();
        if requests.is_empty() {
            return Ok(given);
        }
        let (project, domain) = (action.run.project.as_str(), action.run.domain.as_str());
        for request in requests {
            let record = store
                .resolve_secret(project, domain, &request.key)
                .await
                .map_err(|err| ErrorInfo::system("SecretStore", err.to_string()))?
                .ok_or_else(|| {
                    ErrorInfo::system(
                        "SecretNotFound",
                        format!(
                            "secret {:?} does not exist for project {project} domain {domain} \
                             (nor for the project, the domain or the organization); create it \
                             with `flyte create secret {}`",
                            request.key, request.key
                        ),
                    )
                })?;
            let value = self
                .open(&record)
                .map_err(|err| ErrorInfo::system("SecretUnreadable", err.to_string()))?;
            match &request.mount {
                SecretMount::EnvVar(name) => {
                    let text = String::from_utf8(value).map_err(|_| {
                        ErrorInfo::system(
                            "SecretNotText",
                            format!(
                                "secret {:?} is binary and cannot be an environment variable; \
                                 mount it as a file",
                                request.key
                            ),
                        )
                    })?;
                    given.env.push((name.clone(), text));
                }
                SecretMount::File => {
                    let mut path = PathBuf::new();
                    if !request.group.is_empty() {
                        path.push(file_name(&request.group)?);
                    }
                    path.push(file_name(&request.key)?);
                    given.files.push((path, value));
                }
            }
        }
        Ok(given)
    }
}

/// The secrets of one attempt: variables, and files relative to its secrets directory.
#[derive(Default)]
pub struct SecretsForAttempt {
    pub env: Vec<(String, String)>,
    pub files: Vec<(PathBuf, Vec<u8>)>,
}

/// `part` lowercased, as one file name (nothing that leaves the secrets directory).
fn file_name(part: &str) -> Result<String, ErrorInfo> {
    let name = part.to_lowercase();
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
        return Err(ErrorInfo::system(
            "SecretName",
            format!("{part:?} cannot name a secret file"),
        ));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aerie_core::Timestamp;

    fn record(id: SecretId, sealed: Vec<u8>) -> SecretRecord {
        SecretRecord {
            id,
            kind: 0,
            sealed,
            created_at: Timestamp::now(),
            updated_at: Timestamp::now(),
        }
    }

    fn id(name: &str) -> SecretId {
        SecretId {
            project: "flytesnacks".into(),
            domain: String::new(),
            name: name.into(),
        }
    }

    #[test]
    fn a_sealed_value_opens_only_as_its_own_secret_under_its_own_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.key");
        let sealer = SecretBox::open_key_file(&path).unwrap();
        let sealed = sealer.seal(&id("api-key"), b"hunter2");
        assert!(!sealed.windows(7).any(|window| window == b"hunter2"));
        let reopened = SecretBox::open_key_file(&path).unwrap();
        assert_eq!(
            reopened
                .open(&record(id("api-key"), sealed.clone()))
                .unwrap(),
            b"hunter2"
        );
        assert!(reopened.open(&record(id("other"), sealed.clone())).is_err());
        let other_key = SecretBox::open_key_file(&dir.path().join("other.key")).unwrap();
        assert!(other_key.open(&record(id("api-key"), sealed)).is_err());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_key_file_of_the_wrong_size_is_refused_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.key");
        std::fs::write(&path, b"short").unwrap();
        let err = SecretBox::open_key_file(&path).unwrap_err().to_string();
        assert!(err.contains("holds 5 bytes"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"short");
    }
}
