//! What every handler shares: the store (reads), the engine (changes), blobs, logs, the URL
//! signer, the secret box and the scheduler's wake-up. Handlers keep no state of their own.

use aerie_blob::{Blobs, LogStore, UrlSigner};
use aerie_engine::Engine;
use aerie_store::Store;
use std::sync::Arc;

use crate::convert::ids::required_action_id;
use crate::error::ApiResult;
use aerie_store::ActionRecord;
use aerie_wire::flyteidl2::common::ActionIdentifier;

/// Shared handles, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub engine: Engine,
    pub blobs: Blobs,
    pub logs: Arc<LogStore>,
    pub signer: UrlSigner,
    /// Cancelled when the server shuts down; open streams end cleanly.
    pub shutdown: tokio_util::sync::CancellationToken,
    /// Wakes the trigger scheduler after a trigger changed.
    pub scheduler_wake: Arc<tokio::sync::Notify>,
    /// Whether work in an unknown project creates it (otherwise it is `not_found`).
    pub create_projects: bool,
    /// Projects found to exist (`crate::launch::known_project`); never deleted, so never stale.
    pub known_projects: Arc<std::sync::Mutex<std::collections::HashSet<aerie_core::Project>>>,
    /// Seals and opens secret values.
    pub secrets: crate::secrets::SecretBox,
    /// Sends conditions' webhooks (`crate::webhook`).
    pub webhooks: reqwest::Client,
}

impl AppState {
    /// The action a request names in `field`: parsed, then loaded (`not_found` if unknown).
    pub async fn requested_action(
        &self,
        wire: Option<&ActionIdentifier>,
        field: &str,
    ) -> ApiResult<ActionRecord> {
        let id = required_action_id(wire, field)?;
        Ok(self.store.get_action(&id).await?)
    }
}
