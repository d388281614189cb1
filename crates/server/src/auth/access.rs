//! What each request needs, and what each grant allows. Anything not listed here needs an
//! admin, so a service added later is closed until it is classified.
//!
//! | grant | may |
//! |---|---|
//! | `admin` key | everything |
//! | `read-only` key | get, list and watch runs and actions, read inputs, outputs and logs, download links, get and list deployed tasks, triggers, projects and secrets (never a secret's value), the console's reads (`/console/api/`), `whoami` |
//! | a running attempt | what `read-only` may, plus what a task calls while it runs: enqueue, watch and abort its children and traces, upload inputs and files; changes only to its own run (`crate::caller::may_change`) |

use aerie_core::Role;

/// What a caller has been granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// An API key (or a token issued for one) with its role.
    Key(Role),
    /// The token aerie hands a running attempt.
    Attempt,
}

/// What a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Nothing: health checks, the token endpoint, auth discovery, the console's page and
    /// assets (they hold no data), signed blob URLs, conditions' signed callback URLs and the S3
    /// bucket (the signature is the credential).
    Public,
    /// Any valid credential.
    Read,
    /// What a running task calls back for.
    Attempt,
    /// An admin key.
    Admin,
}

/// RPCs that only read, by `Service/Method` path.
const READS: &[&str] = &[
    "/flyteidl2.workflow.RunService/GetRunDetails",
    "/flyteidl2.workflow.RunService/WatchRunDetails",
    "/flyteidl2.workflow.RunService/GetActionDetails",
    "/flyteidl2.workflow.RunService/WatchActionDetails",
    "/flyteidl2.workflow.RunService/GetActionData",
    "/flyteidl2.workflow.RunService/ListRuns",
    "/flyteidl2.workflow.RunService/WatchRuns",
    "/flyteidl2.workflow.RunService/ListActions",
    "/flyteidl2.workflow.RunService/WatchActions",
    "/flyteidl2.workflow.RunService/WatchClusterEvents",
    "/flyteidl2.workflow.RunService/WatchGroups",
    "/flyteidl2.workflow.RunService/GetActionDataURIs",
    "/flyteidl2.workflow.RunService/GetActionLogContext",
    "/flyteidl2.dataproxy.DataProxyService/CreateDownloadLink",
    "/flyteidl2.dataproxy.DataProxyService/GetActionData",
    "/flyteidl2.dataproxy.DataProxyService/TailLogs",
    "/flyteidl2.cluster.ClusterService/SelectCluster",
    "/flyteidl2.auth.IdentityService/UserInfo",
    "/flyteidl2.task.TaskService/GetTaskDetails",
    "/flyteidl2.task.TaskService/ListTasks",
    "/flyteidl2.task.TaskService/ListVersions",
    "/flyteidl2.trigger.TriggerService/GetTriggerDetails",
    "/flyteidl2.trigger.TriggerService/ListTriggers",
    "/flyteidl2.trigger.TriggerService/GetTriggerRevisionDetails",
    "/flyteidl2.trigger.TriggerService/GetTriggerRevisionHistory",
    "/flyteidl2.secret.SecretService/GetSecret",
    "/flyteidl2.secret.SecretService/ListSecrets",
    "/flyteidl2.project.ProjectService/GetProject",
    "/flyteidl2.project.ProjectService/ListProjects",
];

/// Services a running task calls, whole.
const ATTEMPT_SERVICES: &[&str] = &[
    "/flyteidl2.workflow.QueueService/",
    "/flyteidl2.workflow.StateService/",
    "/flyteidl2.actions.ActionsService/",
];

/// Single RPCs a running task calls.
const ATTEMPT_RPCS: &[&str] = &[
    "/flyteidl2.dataproxy.DataProxyService/CreateUploadLocation",
    "/flyteidl2.dataproxy.DataProxyService/UploadInputs",
];

/// What a request for `path` with `method` needs.
pub fn required(method: &http::Method, path: &str) -> Access {
    let public = matches!(path, "/healthz" | "/readyz" | "/oauth2/token")
        || path.starts_with("/flyteidl2.auth.AuthMetadataService/")
        || path.starts_with("/blobs/")
        || path.starts_with("/conditions/")
        || crate::web::bucket::is_bucket_path(path)
        || (*method == http::Method::GET && crate::web::console::is_console_path(path));
    if public {
        Access::Public
    } else if READS.contains(&path) {
        Access::Read
    } else if ATTEMPT_RPCS.contains(&path)
        || ATTEMPT_SERVICES
            .iter()
            .any(|service| path.starts_with(service))
    {
        Access::Attempt
    } else if *method == http::Method::GET && path.starts_with(crate::web::console_api::PREFIX) {
        Access::Read
    } else {
        Access::Admin
    }
}

impl Grant {
    /// Whether this grant may make a request that needs `access`.
    pub fn allows(self, access: Access) -> bool {
        match (self, access) {
            (_, Access::Public | Access::Read) => true,
            (Self::Key(Role::Admin), _) => true,
            (Self::Attempt, Access::Attempt) => true,
            (Self::Key(Role::ReadOnly) | Self::Attempt, _) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    #[test]
    fn reads_writes_task_calls_and_unknown_rpcs_need_what_the_table_says() {
        let post = |path| required(&Method::POST, path);
        assert_eq!(
            post("/flyteidl2.workflow.RunService/ListRuns"),
            Access::Read
        );
        assert_eq!(
            post("/flyteidl2.workflow.RunService/CreateRun"),
            Access::Admin
        );
        assert_eq!(
            post("/flyteidl2.workflow.RunService/AbortRun"),
            Access::Admin
        );
        assert_eq!(
            post("/flyteidl2.workflow.QueueService/EnqueueAction"),
            Access::Attempt
        );
        assert_eq!(
            post("/flyteidl2.auth.AuthMetadataService/GetOAuth2Metadata"),
            Access::Public
        );
        assert_eq!(
            post("/flyteidl2.task.TaskService/DeployTask"),
            Access::Admin
        );
        assert_eq!(required(&Method::GET, "/healthz"), Access::Public);
        assert_eq!(
            required(&Method::GET, "/v2/domain/d/project/p/runs/r"),
            Access::Public,
            "the console's page holds no data"
        );
        assert_eq!(required(&Method::GET, "/console/api/files"), Access::Read);
        assert_eq!(
            required(&Method::POST, "/v2/domain/d/project/p/runs/r"),
            Access::Admin
        );
        assert_eq!(
            required(&Method::GET, "/flyteidl2.workflow.RunService/CreateRun"),
            Access::Admin,
            "a GET does not turn an RPC into a page"
        );
    }

    #[test]
    fn read_only_keys_and_attempts_are_held_to_their_grants() {
        let read_only = Grant::Key(Role::ReadOnly);
        assert!(read_only.allows(Access::Read));
        assert!(!read_only.allows(Access::Attempt));
        assert!(!read_only.allows(Access::Admin));
        assert!(Grant::Attempt.allows(Access::Attempt));
        assert!(!Grant::Attempt.allows(Access::Admin));
        assert!(Grant::Key(Role::Admin).allows(Access::Admin));
    }
}
