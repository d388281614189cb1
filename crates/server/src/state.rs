//! What every handler shares: the store (reads), the engine (changes), blobs, logs and the URL
//! signer. Handlers keep no state of their own.

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
