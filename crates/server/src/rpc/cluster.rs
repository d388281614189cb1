//! `flyteidl2.cluster.ClusterService`: every data-plane call is served right here.

use aerie_wire::flyteidl2::cluster::{ClusterService, SelectClusterRequest, SelectClusterResponse};
use connectrpc::{RequestContext, Response, ServiceRequest, ServiceResult};

/// The ClusterService handler.
pub struct ClusterHandlers;

#[allow(refining_impl_trait)]
impl ClusterService for ClusterHandlers {
    async fn select_cluster(
        &self,
        _ctx: RequestContext,
        _request: ServiceRequest<'_, SelectClusterRequest>,
    ) -> ServiceResult<SelectClusterResponse> {
        // An empty endpoint tells the client to use the one it already talks to.
        Ok(Response::new(SelectClusterResponse::default()))
    }
}
