//! A scripted in-process Connect server playing aerie, for the client's and the CLI's tests.
//!
//! It serves RunService and DataProxyService as the contract says aerie does, over real
//! HTTP/1.1 on a port the OS picks, with a few scripted misbehaviours (a watch that closes early,
//! one that breaks) to prove the client's reconnect rules. Run `r1` has the succeeded root `a0`
//! (inputs `x = 3`, outputs `o0 = 6`) and the running child `n1`; attempt 1 of every action
//! logs `hello`, `world`, `done`. Shared by two test crates, each using part of it.

#![allow(refining_impl_trait, dead_code)]

use aerie_client::Client;
use aerie_client::wire::flyteidl2::common::{
    ActionIdentifier, ActionPhase as WirePhase, RunIdentifier,
};
use aerie_client::wire::flyteidl2::core::{Literal, Primitive, Scalar, literal, primitive, scalar};
use aerie_client::wire::flyteidl2::dataproxy::{
    CreateDownloadLinkRequest, CreateDownloadLinkResponse, CreateUploadLocationRequest,
    CreateUploadLocationResponse, DataProxyService, DataProxyServiceExt,
    GetActionDataRequest as DpGetActionDataRequest,
    GetActionDataResponse as DpGetActionDataResponse, TailLogsRequest, TailLogsResponse,
    UploadInputsRequest, UploadInputsResponse, tail_logs_response,
};
use aerie_client::wire::flyteidl2::logs::dataplane::LogLine;
use aerie_client::wire::flyteidl2::task::{Inputs, Labels, NamedLiteral, Outputs, RunSpec};
use aerie_client::wire::flyteidl2::workflow::{self as wf, *};
use connectrpc::{
    ConnectError, RequestContext, Response, ServiceRequest, ServiceResult, ServiceStream,
};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

const PROJECT: &str = "flytesnacks";
const DOMAIN: &str = "development";

/// What the fake has been asked, for assertions.
#[derive(Default)]
pub struct Fake {
    pub watch_connections: AtomicU32,
    pub data_calls: AtomicU32,
    pub aborts: Mutex<Vec<String>>,
    pub list_tokens: Mutex<Vec<String>>,
}

fn action_identifier(run: &str, action: &str) -> ActionIdentifier {
    ActionIdentifier {
        run: RunIdentifier {
            org: "local".into(),
            project: PROJECT.into(),
            domain: DOMAIN.into(),
            name: run.into(),
            ..Default::default()
        }
        .into(),
        name: action.into(),
        ..Default::default()
    }
}

fn wire_details(run: &str, action: &str, phase: WirePhase) -> wf::ActionDetails {
    wf::ActionDetails {
        id: action_identifier(run, action).into(),
        status: ActionStatus {
            phase: phase.into(),
            start_time: buffa_types::google::protobuf::Timestamp::from_unix_secs(1_764_216_000)
                .into(),
            attempts: 1,
            ..Default::default()
        }
        .into(),
        attempts: vec![ActionAttempt {
            attempt: 1,
            phase: phase.into(),
            logs_available: true,
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn summary(run: &str, action: &str, phase: WirePhase) -> wf::Action {
    let details = wire_details(run, action, phase);
    wf::Action {
        id: details.id,
        metadata: details.metadata,
        status: details.status,
        ..Default::default()
    }
}

fn integer(name: &str, value: i64) -> NamedLiteral {
    NamedLiteral {
        name: name.into(),
        value: Literal {
            value: Some(literal::Value::Scalar(Box::new(Scalar {
                value: Some(scalar::Value::Primitive(Box::new(Primitive {
                    value: Some(primitive::Value::Integer(value)),
                    ..Default::default()
                }))),
                ..Default::default()
            }))),
            ..Default::default()
        }
        .into(),
        ..Default::default()
    }
}

fn stream_of<T: Send + 'static>(
    items: Vec<Result<T, ConnectError>>,
) -> ServiceResult<ServiceStream<T>> {
    Response::ok(Box::pin(futures::stream::iter(items)))
}

fn unimplemented<T>() -> ServiceResult<T> {
    Err(ConnectError::unimplemented("not in the fake"))
}

impl RunService for Fake {
    async fn create_run(
        &self,
        _: RequestContext,
        _: ServiceRequest<'_, CreateRunRequest>,
    ) -> ServiceResult<CreateRunResponse> {
        unimplemented()
    }

    async fn abort_run(
        &self,
        _: RequestContext,
        request: ServiceRequest<'_, AbortRunRequest>,
    ) -> ServiceResult<AbortRunResponse> {
        let request = request.to_owned_message();
        self.aborts.lock().unwrap().push(format!(
            "run {}: {}",
            request.run_id.name,
            request.reason.unwrap_or_default()
        ));
        Response::ok(AbortRunResponse::default())
    }

    async fn get_run_details(
        &self,
        _: RequestContext,
        request: ServiceRequest<'_, GetRunDetailsRequest>,
    ) -> ServiceResult<GetRunDetailsResponse> {
        let request = request.to_owned_message();
        if request.run_id.name != "r1" {
            return Err(ConnectError::not_found(format!(
                "run {} not found",
                request.run_id.name
            )));
        }
        Response::ok(GetRunDetailsResponse {
            details: RunDetails {
                run_spec: RunSpec {
                    labels: Labels {
                        values: [("team".to_owned(), "ml".to_owned())].into_iter().collect(),
                        ..Default::default()
                    }
                    .into(),
                    ..Default::default()
                }
                .into(),
                action: wire_details("r1", "a0", WirePhase::ACTION_PHASE_SUCCEEDED).into(),
                ..Default::default()
            }
            .into(),
            ..Default::default()
        })
    }

    async fn watch_run_details(
        &self,
        _: RequestContext,
        _: ServiceRequest<'_, WatchRunDetailsRequest>,
    ) -> ServiceResult<ServiceStream<WatchRunDetailsResponse>> {
        unimplemented()
    }

    async fn get_action_details(
        &self,
        _: RequestContext,
        request: ServiceRequest<'_, GetActionDetailsRequest>,
    ) -> ServiceResult<GetActionDetailsResponse> {
        let id = request
            .to_owned_message()
            .action_id
            .into_option()
            .unwrap_or_default();
        let phase = match (id.run.name.as_str(), id.name.as_str()) {
            ("r1", "a0") => WirePhase::ACTION_PHASE_SUCCEEDED,
            ("r1", "n1") => WirePhase::ACTION_PHASE_RUNNING,
            _ => {
                return Err(ConnectError::not_found(format!(
                    "action {} not found",
                    id.name
                )));
            }
        };
        Response::ok(GetActionDetailsResponse {
            details: wire_details(&id.run.name, &id.name, phase).into(),
            ..Default::default()
        })
    }

    /// Connection 1 closes cleanly while RUNNING, connection 2 breaks with `unavailable`,
    /// connection 3 delivers the terminal update.
    async fn watch_action_details(
        &self,
        _: RequestContext,
        request: ServiceRequest<'_, WatchActionDetailsRequest>,
    ) -> ServiceResult<ServiceStream<WatchActionDetailsResponse>> {
        let id = request
            .to_owned_message()
            .action_id
            .into_option()
            .unwrap_or_default();
        let update = |phase| {
            Ok(WatchActionDetailsResponse {
                details: wire_details(&id.run.name, &id.name, phase).into(),
                ..Default::default()
            })
        };
        let connection = self.watch_connections.fetch_add(1, Ordering::SeqCst) + 1;
        stream_of(match connection {
            1 => vec![
                update(WirePhase::ACTION_PHASE_QUEUED),
                update(WirePhase::ACTION_PHASE_RUNNING),
            ],
            2 => vec![
                update(WirePhase::ACTION_PHASE_RUNNING),
                Err(ConnectError::unavailable("restarting")),
            ],
            _ => vec![update(WirePhase::ACTION_PHASE_SUCCEEDED)],
        })
    }

    async fn get_action_data(
        &self,
        _: RequestContext,
        _: ServiceRequest<'_, GetActionDataRequest>,
    ) -> ServiceResult<GetActionDataResponse> {
        unimplemented()
    }

    async fn list_runs(
        &self,
        _: RequestContext,
        request: ServiceRequest<'_, ListRunsRequest>,
    ) -> ServiceResult<ListRunsResponse> {
        let token = request.to_owned_message().request.token.clone();
        self.list_tokens.lock().unwrap().push(token.clone());
        let run = |name: &str| wf::Run {
            action: summary(name, "a0", WirePhase::ACTION_PHASE_RUNNING).into(),
            ..Default::default()
        };
        Response::ok(match token.as_str() {
            "" => ListRunsResponse {
                runs: vec![run("r1"), run("r2")],
                token: "page2".into(),
                ..Default::default()
            },
            _ => ListRunsResponse {
                runs: vec![run("r3")],
                ..Default::default()
            },
        })
    }

    async fn watch_runs(
        &self,
        _: RequestContext,
        _: ServiceRequest<'_, WatchRunsRequest>,
    ) -> ServiceResult<ServiceStream<WatchRunsResponse>> {
        unimplemented()
    }

    async fn list_actions(
        &self,
        _: RequestContext,
        _: ServiceRequest<'_, ListActionsRequest>,
    ) -> ServiceResult<ListActionsResponse> {
        Response::ok(ListActionsResponse {
            actions: vec![
                summary("r1", "a0", WirePhase::ACTION_PHASE_SUCCEEDED),
                summary("r1", "n1", WirePhase::ACTION_PHASE_RUNNING),
            ],
            ..Default::default()
        })
    }

    async fn watch_actions(
        &self,
        _: RequestContext,
        _: ServiceRequest<'_, WatchActionsRequest>,
    ) -> ServiceResult<ServiceStream<WatchActionsResponse>> {
        unimplemented()
    }

    async fn watch_cluster_events(
        &self,
        _: RequestContext,
        _: ServiceRequest<'_, WatchClusterEventsRequest>,
    ) -> ServiceResult<ServiceStream<WatchClusterEventsResponse>> {
        unimplemented()
    }

    async fn abort_action(
        &self,
        _: RequestContext,
        request: ServiceRequest<'_, AbortActionRequest>,
    ) -> ServiceResult<AbortActionResponse> {
        let request = request.to_owned_message();
        self.aborts.lock().unwrap().push(format!(
            "action {}: {}",
            request.action_id.name, request.reason
        ));
        Response::ok(AbortActionResponse::default())
    }

    async fn signal_event(
        &self,
        _: RequestContext,
        _: ServiceRequest<'_, SignalEventRequest>,
    ) -> ServiceResult<SignalEventResponse> {
        unimplemented()
    }

    async fn watch_groups(
        &self,
        _: RequestContext,
        _: ServiceRequest<'_, WatchGroupsRequest>,
    ) -> ServiceResult<ServiceStream<WatchGroupsResponse>> {
        unimplemented()
    }

    async fn get_action_data_ur_is(
        &self,
        _: RequestContext,
        _: ServiceRequest<'_, GetActionDataURIsRequest>,
    ) -> ServiceResult<GetActionDataURIsResponse> {
        unimplemented()
    }

    async fn get_action_log_context(
        &self,
        _: RequestContext,
        _: ServiceRequest<'_, GetActionLogContextRequest>,
    ) -> ServiceResult<GetActionLogContextResponse> {
        unimplemented()
    }
}

impl DataProxyService for Fake {
    async fn create_upload_location(
        &self,
        _: RequestContext,
        _: ServiceRequest<'_, CreateUploadLocationRequest>,
    ) -> ServiceResult<CreateUploadLocationResponse> {
        unimplemented()
    }

    async fn upload_inputs(
        &self,
        _: RequestContext,
        _: ServiceRequest<'_, UploadInputsRequest>,
    ) -> ServiceResult<UploadInputsResponse> {
        unimplemented()
    }

    async fn create_download_link(
        &self,
        _: RequestContext,
        _: ServiceRequest<'_, CreateDownloadLinkRequest>,
    ) -> ServiceResult<CreateDownloadLinkResponse> {
        unimplemented()
    }

    /// Inputs `x = 3`; outputs `o0 = 6` for the succeeded root action only.
    async fn get_action_data(
        &self,
        _: RequestContext,
        request: ServiceRequest<'_, DpGetActionDataRequest>,
    ) -> ServiceResult<DpGetActionDataResponse> {
        self.data_calls.fetch_add(1, Ordering::SeqCst);
        let id = request
            .to_owned_message()
            .action_id
            .into_option()
            .unwrap_or_default();
        let outputs = (id.name == "a0").then(|| Outputs {
            literals: vec![integer("o0", 6)],
            ..Default::default()
        });
        Response::ok(DpGetActionDataResponse {
            inputs: Inputs {
                literals: vec![integer("x", 3)],
                ..Default::default()
            }
            .into(),
            outputs: outputs.into(),
            ..Default::default()
        })
    }

    async fn tail_logs(
        &self,
        _: RequestContext,
        request: ServiceRequest<'_, TailLogsRequest>,
    ) -> ServiceResult<ServiceStream<TailLogsResponse>> {
        let request = request.to_owned_message();
        if request.attempt != 1 {
            return Err(ConnectError::not_found(format!(
                "attempt {} not started",
                request.attempt
            )));
        }
        let batch = |messages: &[&str]| {
            Ok(TailLogsResponse {
                logs: vec![tail_logs_response::Logs {
                    lines: messages
                        .iter()
                        .map(|message| LogLine {
                            message: (*message).into(),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                }],
                ..Default::default()
            })
        };
        stream_of(vec![batch(&["hello\n", "world\n"]), batch(&["done\n"])])
    }
}

/// Starts the fake on its own thread and runtime; returns its address.
pub fn start(fake: Arc<Fake>) -> SocketAddr {
    let (address_tx, address_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let server = connectrpc::Server::bind("127.0.0.1:0").await.unwrap();
            address_tx.send(server.local_addr().unwrap()).unwrap();
            let router = RunServiceExt::register(Arc::clone(&fake), connectrpc::Router::new());
            let router = DataProxyServiceExt::register(fake, router);
            server.serve(router).await.unwrap();
        });
    });
    address_rx.recv().unwrap()
}

pub fn client_for(fake: &Arc<Fake>) -> Client {
    Client::connect(&start(Arc::clone(fake)).to_string()).unwrap()
}
