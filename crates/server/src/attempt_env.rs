//! What the server hands each attempt before its process starts: the secrets its task asks
//! for, then its credentials (last, so nothing can shadow them).

use crate::auth::AttemptCredentials;
use crate::secrets::SecretBox;
use aerie_core::ErrorInfo;
use aerie_engine::{AttemptEnv, AttemptExtras};
use aerie_store::{ActionRecord, Store};
use futures::future::BoxFuture;

/// The server's [`AttemptEnv`].
pub struct AttemptSetup {
    pub credentials: AttemptCredentials,
    pub secrets: SecretBox,
    pub store: Store,
}

impl AttemptEnv for AttemptSetup {
    fn prepare<'a>(
        &'a self,
        action: &'a ActionRecord,
        attempt: u32,
    ) -> BoxFuture<'a, Result<AttemptExtras, ErrorInfo>> {
        Box::pin(async move {
            let secrets = self
                .secrets
                .for_attempt(&self.store, &action.id, &action.spec.secrets)
                .await?;
            let mut env = secrets.env;
            env.extend(self.credentials.env(&action.id, attempt));
            Ok(AttemptExtras {
                env,
                secret_files: secrets.files,
            })
        })
    }
}
