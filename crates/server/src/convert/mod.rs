//! Wire to domain and back: `ids` (request identifiers), `list` (the SDK's list filters and
//! sorting), `spec` (the only decoder of wire task and trace specs), and `details` (the one
//! place records become wire `ActionDetails`, `Run` and `RunDetails`).

pub mod details;
pub mod ids;
pub mod list;
pub mod spec;
