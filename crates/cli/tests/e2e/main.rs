//! End-to-end tests: each starts the real `aerie` binary on a free port and talks to it over the
//! network with the Rust client. Python tests with the official SDK live in `tests/python/`.
//!
//! Modules by topic; keep each test named for the behaviour it proves.

mod harness;

/// Aborting running and queued work.
mod abort;
/// Bad input gets a clear error and leaves stored data intact.
mod bad_input;
/// Children and traces a running parent enqueues, and the parent's watch of them.
mod children;
/// Several nodes on one PostgreSQL database: takeover, pausing, watches across nodes.
mod cluster;
/// The read-only web console.
mod console;
/// Deployed tasks and triggers as `aerie get task` and `aerie get trigger` show them.
mod deployed;
/// Durability: replies only after durable writes; a full disk fails cleanly.
mod durability;
/// Phases, attempts, verdicts and logs of leaf tasks.
mod lifecycle;
/// Limits that hold against abusive clients: bodies, connections, slow senders.
mod limits;
/// Crashes and restarts: nothing accepted is lost.
mod restart;
/// The Rust client as an SDK: launch with typed I/O, watch, abort, signal, list filters,
/// logs, triggers, reruns, and API keys over TLS.
mod sdk;
/// Run- and action-level watch streams.
mod watches;
