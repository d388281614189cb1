//! Generates Rust for the flyteidl2 files aerie serves, from the committed descriptor set.
//!
//! `proto/flyteidl2.binpb` is written by `tools/extract-proto.py`; only the service files below
//! and the files they import are generated, which keeps this crate's compile time down.

const DESCRIPTOR_SET: &str = "../../proto/flyteidl2.binpb";

/// The services aerie serves plus every non-well-known file they import.
const FILES: &[&str] = &[
    "buf/validate/validate.proto",
    "flyteidl2/actions/actions_service.proto",
    "flyteidl2/app/app_definition.proto",
    "flyteidl2/auth/auth_service.proto",
    "flyteidl2/auth/identity.proto",
    "flyteidl2/cluster/payload.proto",
    "flyteidl2/cluster/service.proto",
    "flyteidl2/common/authorization.proto",
    "flyteidl2/common/cache.proto",
    "flyteidl2/common/identifier.proto",
    "flyteidl2/common/identity.proto",
    "flyteidl2/common/list.proto",
    "flyteidl2/common/phase.proto",
    "flyteidl2/common/policy.proto",
    "flyteidl2/common/role.proto",
    "flyteidl2/common/run.proto",
    "flyteidl2/common/runtime_version.proto",
    "flyteidl2/core/artifact_id.proto",
    "flyteidl2/core/catalog.proto",
    "flyteidl2/core/execution.proto",
    "flyteidl2/core/identifier.proto",
    "flyteidl2/core/interface.proto",
    "flyteidl2/core/literals.proto",
    "flyteidl2/core/security.proto",
    "flyteidl2/core/tasks.proto",
    "flyteidl2/core/types.proto",
    "flyteidl2/dataproxy/dataproxy_service.proto",
    "flyteidl2/logs/dataplane/payload.proto",
    "flyteidl2/notification/definition.proto",
    "flyteidl2/project/project_service.proto",
    "flyteidl2/secret/definition.proto",
    "flyteidl2/secret/payload.proto",
    "flyteidl2/secret/secret.proto",
    "flyteidl2/task/common.proto",
    "flyteidl2/task/environment.proto",
    "flyteidl2/task/run.proto",
    "flyteidl2/task/task_definition.proto",
    "flyteidl2/task/task_service.proto",
    "flyteidl2/trigger/trigger_definition.proto",
    "flyteidl2/trigger/trigger_service.proto",
    "flyteidl2/workflow/queue_service.proto",
    "flyteidl2/workflow/run_definition.proto",
    "flyteidl2/workflow/run_service.proto",
    "flyteidl2/workflow/state_service.proto",
    "google/api/annotations.proto",
    "google/api/http.proto",
    "google/rpc/status.proto",
];

fn main() {
    println!("cargo:rerun-if-changed={DESCRIPTOR_SET}");
    connectrpc_build::Config::new()
        .descriptor_set(DESCRIPTOR_SET)
        .files(FILES)
        .include_file("_connectrpc.rs")
        .compile()
        .expect("generating flyteidl2 code from proto/flyteidl2.binpb");
}
