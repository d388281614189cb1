//! Everything HTTP: `listen` (connections, TLS and their deadlines), `routes` (which path goes
//! to which handler, behind which middleware), `limits` (RPC size and decoding limits),
//! `blobs` (health checks and the signed blob URLs), `condition_callback` (the signed URL that
//! signals one condition), `bucket` (the S3 API over aerie's blob store), `console` (the web
//! console, embedded, at the URLs the SDK prints) and `console_api` (the console's two reads
//! that have no RPC).

pub mod blobs;
pub mod bucket;
pub mod condition_callback;
pub mod console;
pub mod console_api;
pub mod limits;
pub mod listen;
pub mod routes;
