//! The Connect calls the client makes, one function each, with their error context.
//!
//! Every request is built and every response unpacked here, so the higher-level types
//! ([`crate::ActionDetails`], [`crate::Run`], [`crate::Action`], [`crate::Logs`]) never touch a
//! generated client. Ids the server sent are passed back verbatim (org included); ids the caller
//! typed are built with the client's org.

use crate::client::Client;
use crate::error::{Error, Result};
use crate::filter::ListFilter;
use aerie_core::RunId;
use aerie_wire::flyteidl2::common::OffloadedInputData;
use aerie_wire::flyteidl2::common::filter::Function;
use aerie_wire::flyteidl2::common::sort::Direction;
use aerie_wire::flyteidl2::common::{ActionIdentifier, Filter, ListRequest, Sort, TriggerName};
use aerie_wire::flyteidl2::dataproxy::{
    GetActionDataRequest, GetActionDataResponse, TailLogsRequest, TailLogsResponseView,
    UploadInputsRequest,
};
use aerie_wire::flyteidl2::task::__buffa::oneof::list_tasks_request;
use aerie_wire::flyteidl2::task::{
    GetTaskDetailsRequest, ListTasksRequest, Task, TaskDetails, TaskIdentifier,
};
use aerie_wire::flyteidl2::trigger::__buffa::oneof::list_triggers_request;
use aerie_wire::flyteidl2::trigger::{
    GetTriggerDetailsRequest, ListTriggersRequest, Trigger, TriggerDetails,
};
use aerie_wire::flyteidl2::workflow::__buffa::oneof::list_runs_request::ScopeBy;
use aerie_wire::flyteidl2::workflow::{
    AbortActionRequest, AbortRunRequest, Action, ActionDetails, CreateRunRequest, EventPayload,
    GetActionDetailsRequest, GetRunDetailsRequest, ListActionsRequest, ListRunsRequest, Run,
    RunDetails, SignalEventRequest, WatchActionDetailsRequest, WatchActionDetailsResponseView,
    event_payload,
};
use connectrpc::client::{ClientTransport, HttpClient, ServerStream};
use std::future::Future;

/// How many runs or actions one list call asks for (the contract's maximum).
pub(crate) const PAGE_SIZE: u32 = 100;

type Body = <HttpClient as ClientTransport>::ResponseBody;
/// An open WatchActionDetails stream.
pub(crate) type WatchStream = ServerStream<Body, WatchActionDetailsResponseView<'static>>;
/// An open TailLogs stream.
pub(crate) type TailStream = ServerStream<Body, TailLogsResponseView<'static>>;

/// One page of a list call and the token of the next (empty on the last page).
pub(crate) struct Page<T> {
    pub items: Vec<T>,
    pub token: String,
}

/// `project/domain/run/action` of a wire id, for error messages.
pub(crate) fn describe(action: &ActionIdentifier) -> String {
    format!(
        "{}/{}/{}/{}",
        action.run.project, action.run.domain, action.run.name, action.name
    )
}

/// `project/domain/name/version` of a wire task id, for error messages.
fn describe_task(task: &TaskIdentifier) -> String {
    format!(
        "{}/{}/{}/{}",
        task.project, task.domain, task.name, task.version
    )
}

/// `project/domain/task/trigger` of a wire trigger name, for error messages.
fn describe_trigger(trigger: &TriggerName) -> String {
    format!(
        "{}/{}/{}/{}",
        trigger.project, trigger.domain, trigger.task_name, trigger.name
    )
}

fn list_request(token: String) -> ListRequest {
    ListRequest {
        limit: PAGE_SIZE,
        token,
        ..Default::default()
    }
}

/// Which task versions one ListTasks call asks for, newest deploy first.
pub(crate) struct TaskListing<'a> {
    /// Only the versions of this task; every task when `None`.
    pub name_opt: Option<&'a str>,
    /// At most this many per page.
    pub limit: u32,
}

impl TaskListing<'_> {
    fn request(&self, token: String) -> ListRequest {
        ListRequest {
            limit: self.limit,
            token,
            sort_by: Sort {
                key: "created_at".into(),
                direction: Direction::DESCENDING.into(),
                ..Default::default()
            }
            .into(),
            filters: self
                .name_opt
                .map(|name| Filter {
                    function: Function::EQUAL.into(),
                    field: "name".into(),
                    values: vec![name.to_owned()],
                    ..Default::default()
                })
                .into_iter()
                .collect(),
            ..Default::default()
        }
    }
}

impl Client {
    /// RunService/GetRunDetails: the run spec and the full details of its root action.
    pub(crate) async fn get_run_details(&self, run: &RunId) -> Result<RunDetails> {
        let request = GetRunDetailsRequest {
            run_id: aerie_convert::wire_run_id(run, self.org()).into(),
            ..Default::default()
        };
        let response = self
            .runs
            .get_run_details(request)
            .await
            .map_err(Error::rpc("get run", run))?
            .into_owned();
        response
            .details
            .into_option()
            .ok_or_else(|| Error::malformed("GetRunDetails response", "no details"))
    }

    /// RunService/GetActionDetails.
    pub(crate) async fn get_action_details(
        &self,
        action: &ActionIdentifier,
    ) -> Result<ActionDetails> {
        let request = GetActionDetailsRequest {
            action_id: action.clone().into(),
            ..Default::default()
        };
        let response = self
            .runs
            .get_action_details(request)
            .await
            .map_err(Error::rpc("get action", describe(action)))?
            .into_owned();
        response
            .details
            .into_option()
            .ok_or_else(|| Error::malformed("GetActionDetails response", "no details"))
    }

    /// RunService/WatchActionDetails, opened; [`crate::watch`] reads and reconnects it.
    pub(crate) async fn watch_action_details(
        &self,
        action: &ActionIdentifier,
    ) -> Result<WatchStream> {
        let request = WatchActionDetailsRequest {
            action_id: action.clone().into(),
            ..Default::default()
        };
        self.runs
            .watch_action_details(request)
            .await
            .map_err(Error::rpc("watch action", describe(action)))
    }

    /// RunService/CreateRun; `target` names the task or trigger for errors.
    pub(crate) async fn create_run(&self, request: CreateRunRequest, target: &str) -> Result<Run> {
        let response = self
            .runs
            .create_run(request)
            .await
            .map_err(Error::rpc("create a run of", target))?
            .into_owned();
        response
            .run
            .into_option()
            .ok_or_else(|| Error::malformed("CreateRun response", "no run"))
    }

    /// RunService/ListRuns in the default project and domain, one page of those `filter`
    /// selects.
    pub(crate) async fn list_runs_page(
        &self,
        filter: &ListFilter,
        token: String,
    ) -> Result<Page<Run>> {
        let request = ListRunsRequest {
            request: filter.request(token, PAGE_SIZE).into(),
            scope_by: Some(ScopeBy::ProjectId(Box::new(aerie_convert::wire_project(
                self.project(),
                self.domain(),
                self.org(),
            )))),
            ..Default::default()
        };
        let response = self
            .runs
            .list_runs(request)
            .await
            .map_err(Error::rpc(
                "list runs of",
                format_args!("{}/{}", self.project(), self.domain()),
            ))?
            .into_owned();
        Ok(Page {
            items: response.runs,
            token: response.token,
        })
    }

    /// RunService/ListActions of `run`, one page of those `filter` selects.
    pub(crate) async fn list_actions_page(
        &self,
        run: &RunId,
        filter: &ListFilter,
        token: String,
    ) -> Result<Page<Action>> {
        let request = ListActionsRequest {
            request: filter.request(token, PAGE_SIZE).into(),
            run_id: aerie_convert::wire_run_id(run, self.org()).into(),
            ..Default::default()
        };
        let response = self
            .runs
            .list_actions(request)
            .await
            .map_err(Error::rpc("list actions of", run))?
            .into_owned();
        Ok(Page {
            items: response.actions,
            token: response.token,
        })
    }

    /// RunService/AbortRun.
    pub(crate) async fn abort_run(&self, run: &RunId, reason: Option<&str>) -> Result<()> {
        let request = AbortRunRequest {
            run_id: aerie_convert::wire_run_id(run, self.org()).into(),
            reason: reason.map(str::to_owned),
            ..Default::default()
        };
        self.runs
            .abort_run(request)
            .await
            .map_err(Error::rpc("abort run", run))?;
        Ok(())
    }

    /// RunService/AbortAction.
    pub(crate) async fn abort_action(
        &self,
        action: &ActionIdentifier,
        reason: Option<&str>,
    ) -> Result<()> {
        let request = AbortActionRequest {
            action_id: action.clone().into(),
            reason: reason.unwrap_or_default().to_owned(),
            ..Default::default()
        };
        self.runs
            .abort_action(request)
            .await
            .map_err(Error::rpc("abort action", describe(action)))?;
        Ok(())
    }

    /// RunService/SignalEvent.
    pub(crate) async fn signal_event(
        &self,
        action: &ActionIdentifier,
        parent: &str,
        value: event_payload::Value,
    ) -> Result<()> {
        let request = SignalEventRequest {
            action_id: action.clone().into(),
            parent_action_name: parent.to_owned(),
            payload: EventPayload {
                value: Some(value),
                ..Default::default()
            }
            .into(),
            ..Default::default()
        };
        self.runs
            .signal_event(request)
            .await
            .map_err(Error::rpc("signal condition", describe(action)))?;
        Ok(())
    }

    /// DataProxyService/UploadInputs: stores a new run's inputs and says where, for CreateRun.
    pub(crate) async fn upload_inputs(
        &self,
        request: UploadInputsRequest,
        target: &str,
    ) -> Result<OffloadedInputData> {
        let response = self
            .data
            .upload_inputs(request)
            .await
            .map_err(Error::rpc("upload the inputs of a run of", target))?
            .into_owned();
        response
            .offloaded_input_data
            .into_option()
            .ok_or_else(|| Error::malformed("UploadInputs response", "no offloaded input data"))
    }

    /// DataProxyService/GetActionData: inputs always, outputs once the action succeeded.
    pub(crate) async fn get_action_data(
        &self,
        action: &ActionIdentifier,
    ) -> Result<GetActionDataResponse> {
        let request = GetActionDataRequest {
            action_id: action.clone().into(),
            ..Default::default()
        };
        Ok(self
            .data
            .get_action_data(request)
            .await
            .map_err(Error::rpc("get data of action", describe(action)))?
            .into_owned())
    }

    /// DataProxyService/TailLogs of one attempt (1-based), opened.
    pub(crate) async fn tail_logs(
        &self,
        action: &ActionIdentifier,
        attempt: u32,
    ) -> Result<TailStream> {
        let request = TailLogsRequest {
            action_id: action.clone().into(),
            attempt,
            ..Default::default()
        };
        self.data
            .tail_logs(request)
            .await
            .map_err(Error::rpc("tail logs of action", describe(action)))
    }

    /// TaskService/GetTaskDetails: one deployed version, spec included.
    pub(crate) async fn get_task_details(&self, task: &TaskIdentifier) -> Result<TaskDetails> {
        let request = GetTaskDetailsRequest {
            task_id: task.clone().into(),
            ..Default::default()
        };
        let response = self
            .tasks
            .get_task_details(request)
            .await
            .map_err(Error::rpc("get task", describe_task(task)))?
            .into_owned();
        response
            .details
            .into_option()
            .ok_or_else(|| Error::malformed("GetTaskDetails response", "no details"))
    }

    /// TaskService/ListTasks in the default project and domain, one page, newest first.
    pub(crate) async fn list_tasks_page(
        &self,
        listing: &TaskListing<'_>,
        token: String,
    ) -> Result<Page<Task>> {
        let request = ListTasksRequest {
            request: listing.request(token).into(),
            scope_by: Some(list_tasks_request::ScopeBy::ProjectId(Box::new(
                aerie_convert::wire_project(self.project(), self.domain(), self.org()),
            ))),
            ..Default::default()
        };
        let scope = format!("{}/{}", self.project(), self.domain());
        let target = match listing.name_opt {
            Some(name) => format!("{scope}/{name}"),
            None => scope,
        };
        let response = self
            .tasks
            .list_tasks(request)
            .await
            .map_err(Error::rpc("list tasks of", target))?
            .into_owned();
        Ok(Page {
            items: response.tasks,
            token: response.token,
        })
    }

    /// TriggerService/GetTriggerDetails: the current revision of one trigger.
    pub(crate) async fn get_trigger_details(
        &self,
        trigger: &TriggerName,
    ) -> Result<TriggerDetails> {
        let request = GetTriggerDetailsRequest {
            name: trigger.clone().into(),
            ..Default::default()
        };
        let response = self
            .triggers
            .get_trigger_details(request)
            .await
            .map_err(Error::rpc("get trigger", describe_trigger(trigger)))?
            .into_owned();
        response
            .trigger
            .into_option()
            .ok_or_else(|| Error::malformed("GetTriggerDetails response", "no trigger"))
    }

    /// TriggerService/ListTriggers of task `task_name_opt` in the default project and domain
    /// (of every task there when `None`), one page.
    pub(crate) async fn list_triggers_page(
        &self,
        task_name_opt: Option<&str>,
        token: String,
    ) -> Result<Page<Trigger>> {
        let scope = format!("{}/{}", self.project(), self.domain());
        let (scope_by, target) = match task_name_opt {
            Some(task_name) => (
                list_triggers_request::ScopeBy::TaskName(Box::new(aerie_convert::wire_task_name(
                    self.project(),
                    self.domain(),
                    task_name,
                    self.org(),
                ))),
                format!("{scope}/{task_name}"),
            ),
            None => {
                (
                    list_triggers_request::ScopeBy::ProjectId(Box::new(
                        aerie_convert::wire_project(self.project(), self.domain(), self.org()),
                    )),
                    scope,
                )
            }
        };
        let request = ListTriggersRequest {
            request: list_request(token).into(),
            scope_by: Some(scope_by),
            ..Default::default()
        };
        let response = self
            .triggers
            .list_triggers(request)
            .await
            .map_err(Error::rpc("list triggers of", target))?
            .into_owned();
        Ok(Page {
            items: response.triggers,
            token: response.token,
        })
    }
}

/// Calls `fetch_page` with the token of each next page until the server returns an empty one,
/// and concatenates the pages. A server that hands back the token it was given is an error, not
/// an endless loop.
pub(crate) async fn collect_pages<T, F, Fut>(fetch_page: F) -> Result<Vec<T>>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Result<Page<T>>>,
{
    collect_pages_up_to(None, fetch_page).await
}

/// [`collect_pages`], stopping once `limit` items are in hand (and keeping only those).
pub(crate) async fn collect_pages_up_to<T, F, Fut>(
    limit: Option<usize>,
    mut fetch_page: F,
) -> Result<Vec<T>>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Result<Page<T>>>,
{
    let mut items = Vec::new();
    let mut token = String::new();
    loop {
        let page = fetch_page(token.clone()).await?;
        items.extend(page.items);
        if let Some(limit) = limit.filter(|limit| items.len() >= *limit) {
            items.truncate(limit);
            return Ok(items);
        }
        if page.token.is_empty() {
            return Ok(items);
        }
        if page.token == token {
            return Err(Error::malformed(
                "list page token",
                format_args!("the server returned the token {token:?} it was given"),
            ));
        }
        token = page.token;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pages_are_fetched_until_the_token_is_empty() {
        let mut asked = Vec::new();
        let items = collect_pages(|token| {
            asked.push(token.clone());
            async move {
                Ok(match token.as_str() {
                    "" => Page {
                        items: vec![1, 2],
                        token: "t1".into(),
                    },
                    "t1" => Page {
                        items: vec![3],
                        token: String::new(),
                    },
                    other => panic!("unexpected token {other}"),
                })
            }
        })
        .await
        .unwrap();
        assert_eq!(items, [1, 2, 3]);
        assert_eq!(asked, ["", "t1"]);
    }

    #[test]
    fn a_task_listing_asks_for_the_newest_deploy_first_and_filters_by_exact_name() {
        let listing = TaskListing {
            name_opt: Some("env.t"),
            limit: 1,
        };
        let request = listing.request("t1".into());
        assert_eq!((request.limit, request.token.as_str()), (1, "t1"));
        assert_eq!(request.sort_by.key, "created_at");
        assert_eq!(
            request.sort_by.direction.as_known(),
            Some(Direction::DESCENDING)
        );
        assert_eq!(request.filters.len(), 1);
        let filter = &request.filters[0];
        assert_eq!(filter.function.as_known(), Some(Function::EQUAL));
        assert_eq!(
            (filter.field.as_str(), filter.values.as_slice()),
            ("name", &["env.t".to_owned()][..])
        );
        let every_task = TaskListing {
            name_opt: None,
            limit: PAGE_SIZE,
        };
        assert!(every_task.request(String::new()).filters.is_empty());
    }

    #[tokio::test]
    async fn a_repeated_token_stops_paging_with_an_error() {
        let result = collect_pages(|_| async {
            Ok(Page {
                items: vec![1],
                token: "same".into(),
            })
        })
        .await;
        assert!(matches!(result, Err(Error::Malformed { .. })));
    }
}
