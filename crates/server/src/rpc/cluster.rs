//! `flyteidl2.cluster.ClusterService`: every data-plane call is served right here, except
//! offloading a trigger's inputs: that answers `unimplemented`, so the SDK keeps them inline in
//! the trigger (and can merge a fire's overrides into them without reading storage itself).

use aerie_wire::flyteidl2::cluster::select_cluster_request::Operation;
use aerie_wire::flyteidl2::cluster::{ClusterService, SelectClusterRequest, SelectClusterResponse};
use connectrpc::{ConnectError, RequestContext, Response, ServiceRequest, ServiceResult};

/// The ClusterService handler.
pub struct ClusterHandlers;

#[allow(refining_impl_trait)]
impl ClusterService for ClusterHandlers {
    async fn select_cluster(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, SelectClusterRequest>,
    ) -> ServiceResult<SelectClusterResponse> {
        if request.operation.as_known() == Some(Operation::OPERATION_UPLOAD_TRIGGER) {
            return Err(ConnectError::unimplemented(
                "aerie keeps a trigger's inputs with the trigger; send them inline",
            ));
        }
        // An empty endpoint tells the client to use the one it already talks to.
        Ok(Response::new(SelectClusterResponse::default()))
    }
}
