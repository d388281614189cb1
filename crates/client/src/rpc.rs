//! The Connect calls the client makes, one function each, with their error context.
//!
//! Every request is built and every response unpacked here, so the higher-level types
//! ([`crate::ActionDetails`], [`crate::Run`], [`crate::Action`], [`crate::Logs`]) never touch a
//! generated client. Ids the server sent are passed back verbatim (org included); ids the caller
//! typed are built in [`crate::convert`].

use crate::client::Client;
use crate::convert::{project_to_wire, run_id_to_wire};
use crate::error::{Error, Result};
use aerie_core::RunId;
use aerie_wire::flyteidl2::common::{ActionIdentifier, ListRequest};
use aerie_wire::flyteidl2::dataproxy::{
    GetActionDataRequest, GetActionDataResponse, TailLogsRequest, TailLogsResponseView,
};
use aerie_wire::flyteidl2::workflow::__buffa::oneof::list_runs_request::ScopeBy;
use aerie_wire::flyteidl2::workflow::{
    AbortActionRequest, AbortRunRequest, Action, ActionDetails, GetActionDetailsRequest,
    GetRunDetailsRequest, ListActionsRequest, ListRunsRequest, Run, RunDetails,
    WatchActionDetailsRequest, WatchActionDetailsResponseView,
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

fn list_request(token: String) -> ListRequest {
    ListRequest {
        limit: PAGE_SIZE,
        token,
        ..Default::default()
    }
}

impl Client {
    /// RunService/GetRunDetails: the run spec and the full details of its root action.
    pub(crate) async fn get_run_details(&self, run: &RunId) -> Result<RunDetails> {
        let request = GetRunDetailsRequest {
            run_id: run_id_to_wire(run).into(),
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

    /// RunService/ListRuns in the default project and domain, one page.
    pub(crate) async fn list_runs_page(&self, token: String) -> Result<Page<Run>> {
        let request = ListRunsRequest {
            request: list_request(token).into(),
            scope_by: Some(ScopeBy::ProjectId(Box::new(project_to_wire(
                self.project(),
                self.domain(),
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

    /// RunService/ListActions of `run`, one page.
    pub(crate) async fn list_actions_page(
        &self,
        run: &RunId,
        token: String,
    ) -> Result<Page<Action>> {
        let request = ListActionsRequest {
            request: list_request(token).into(),
            run_id: run_id_to_wire(run).into(),
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
            run_id: run_id_to_wire(run).into(),
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
}

/// Calls `fetch_page` with the token of each next page until the server returns an empty one,
/// and concatenates the pages. A server that hands back the token it was given is an error, not
/// an endless loop.
pub(crate) async fn collect_pages<T, F, Fut>(mut fetch_page: F) -> Result<Vec<T>>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Result<Page<T>>>,
{
    let mut items = Vec::new();
    let mut token = String::new();
    loop {
        let page = fetch_page(token.clone()).await?;
        items.extend(page.items);
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
