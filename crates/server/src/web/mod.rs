//! Everything HTTP: `listen` (connections, TLS and their deadlines), `routes` (which path goes
//! to which handler, behind which middleware), `limits` (RPC size and decoding limits),
//! `blobs` (health checks and the signed blob URLs), `bucket` (the S3 API over aerie's blob
//! store), and `console` (the web pages at the URLs
//! the SDK prints).

pub mod blobs;
pub mod bucket;
pub mod console;
pub mod limits;
pub mod listen;
pub mod routes;
