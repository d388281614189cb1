//! Generated flyteidl2 messages and Connect service traits, untouched.
//!
//! Everything here comes from `build.rs`; hand-written conversions live in the crates that use
//! them (`aerie-core` for identifiers and phases, `aerie-server` for request parsing).
#![allow(
    clippy::all,
    missing_docs,
    refining_impl_trait,
    unused_imports,
    dead_code
)]

connectrpc::include_generated!("_connectrpc.rs");
