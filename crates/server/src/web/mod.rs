//! Everything HTTP: `listen` (connections, TLS and their deadlines), `routes` (which path goes
//! to which handler, behind which middleware), `limits` (RPC size and decoding limits),
//! `blobs` (health checks and the signed blob URLs), `condition_callback` (the signed URL that
//! signals one condition), `bucket` (the S3 API over aerie's blob store), and `console` (the
//! web pages at the URLs the SDK prints).

pub mod blobs;
pub mod bucket;
pub mod condition_callback;
pub mod console;
pub mod limits;
pub mod listen;
pub mod routes;
