//! Proto3 JSON of wire messages, as the Python SDK's `to_dict` and `to_json` produce it.
//!
//! Python calls `MessageToDict` / `MessageToJson` on the protobuf message: camelCase keys, enums
//! by name, 64-bit integers as strings, unset fields left out, two-space indentation. buffa's
//! serde implementation of the generated types writes the same proto3 JSON.

use crate::error::{Error, Result};
use serde::Serialize;

/// The proto3 JSON value of `message`. Fails only on values proto3 JSON cannot express, such as
/// a timestamp outside the years 1 to 9999.
pub(crate) fn to_dict(message: &impl Serialize) -> Result<serde_json::Value> {
    serde_json::to_value(message).map_err(|err| Error::malformed("message for JSON", err))
}

/// The proto3 JSON text of `message`, indented by two spaces.
pub(crate) fn to_json(message: &impl Serialize) -> Result<String> {
    serde_json::to_string_pretty(message).map_err(|err| Error::malformed("message for JSON", err))
}
