//! Reusing another attempt's outputs: a cache hit and a recovered action end with outputs an
//! earlier attempt made, copied into the action's own first attempt, so every reader (the
//! parent's watch, `GetActionData`) finds them where an attempt leaves them.

use aerie_blob::{ActionLayout, Blobs};
use aerie_core::ActionName;

/// Copies `source` (an `outputs.pb` URI) to attempt 1 of action `name` under `run_output_base`.
/// A task that returns nothing writes no outputs file, so a missing source copies nothing.
pub(crate) async fn adopt(
    blobs: &Blobs,
    source: &str,
    run_output_base: &str,
    name: &ActionName,
) -> Result<(), String> {
    let Some(outputs) = blobs.get(source).await.map_err(|err| err.to_string())? else {
        return Ok(());
    };
    let own = ActionLayout::new(run_output_base, name)
        .attempt(1)
        .outputs();
    blobs
        .put(&own, outputs)
        .await
        .map_err(|err| err.to_string())
}
