//! `flyteidl2.secret.SecretService`: secrets by name in a scope (docs/deploy-contract.md §3).
//! A value is sealed before it is stored ([`crate::secrets`]) and never leaves the server
//! again except into the tasks that ask for it: get and list return metadata only, and
//! nothing here logs a value. The org is not part of a secret's identity (aerie serves one).

use crate::convert::list::PageWindow;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use aerie_convert::wire_timestamp;
use aerie_store::{NewSecret, SecretId, SecretRecord, SecretWrite};
use aerie_wire::flyteidl2::common::ClusterIdentifier;
use aerie_wire::flyteidl2::secret::__buffa::oneof::secret_spec;
use aerie_wire::flyteidl2::secret::*;
use buffa::Enumeration;
use connectrpc::{RequestContext, Response, ServiceRequest, ServiceResult};

/// Largest secret value, in bytes.
pub const MAX_SECRET_BYTES: usize = 64 * 1024;
/// Longest secret name.
const MAX_NAME_LEN: usize = 253;

/// The SecretService handlers.
#[derive(Clone)]
pub struct SecretHandlers {
    pub app: AppState,
}

/// The stored id a wire secret id names: a valid name, and a project and domain that are
/// valid when given.
fn secret_id(wire: Option<&SecretIdentifier>) -> ApiResult<SecretId> {
    let wire = wire.ok_or_else(|| ApiError::missing("id"))?;
    let name = &wire.name;
    if name.is_empty() {
        return Err(ApiError::missing("id.name"));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if name.len() > MAX_NAME_LEN || !name.chars().all(allowed) {
        return Err(ApiError::InvalidArgument(format!(
            "secret name {name:?} must be 1 to {MAX_NAME_LEN} letters, digits, '-', '_' or '.'"
        )));
    }
    if !wire.project.is_empty() {
        wire.project.parse::<aerie_core::Project>()?;
    }
    if !wire.domain.is_empty() {
        wire.domain.parse::<aerie_core::Domain>()?;
    }
    Ok(SecretId {
        project: wire.project.clone(),
        domain: wire.domain.clone(),
        name: name.clone(),
    })
}

/// The value and type of `spec`, checked.
fn value_of(spec: Option<&SecretSpec>) -> ApiResult<(Vec<u8>, i32)> {
    let spec = spec.ok_or_else(|| ApiError::missing("secret_spec"))?;
    let value = match &spec.value {
        Some(secret_spec::Value::StringValue(text)) => text.as_bytes().to_vec(),
        Some(secret_spec::Value::BinaryValue(bytes)) => bytes.clone(),
        None => return Err(ApiError::missing("secret_spec.value")),
    };
    if value.len() > MAX_SECRET_BYTES {
        return Err(ApiError::InvalidArgument(format!(
            "the secret value is {} bytes; a secret holds at most {MAX_SECRET_BYTES}",
            value.len()
        )));
    }
    let kind = spec.r#type.to_i32();
    if SecretType::from_i32(kind).is_none() {
        return Err(ApiError::InvalidArgument(format!(
            "secret type {kind} is neither generic (0) nor an image pull secret (1)"
        )));
    }
    Ok((value, kind))
}

/// A secret as get and list return it: identity and metadata, never the value.
fn wire_secret(record: &SecretRecord, org: &str) -> Secret {
    Secret {
        id: SecretIdentifier {
            name: record.id.name.clone(),
            organization: org.to_owned(),
            domain: record.id.domain.clone(),
            project: record.id.project.clone(),
            ..Default::default()
        }
        .into(),
        secret_metadata: SecretMetadata {
            created_time: wire_timestamp(record.created_at).into(),
            secret_status: SecretStatus {
                overall_status: OverallStatus::FULLY_PRESENT.into(),
                cluster_status: vec![ClusterSecretStatus {
                    cluster: ClusterIdentifier {
                        organization: org.to_owned(),
                        name: "local".into(),
                        ..Default::default()
                    }
                    .into(),
                    presence_status: SecretPresenceStatus::PRESENT.into(),
                    ..Default::default()
                }],
                ..Default::default()
            }
            .into(),
            r#type: SecretType::from_i32(record.kind)
                .unwrap_or(SecretType::SECRET_TYPE_GENERIC)
                .into(),
            ..Default::default()
        }
        .into(),
        ..Default::default()
    }
}

impl SecretHandlers {
    async fn put(
        &self,
        id: Option<&SecretIdentifier>,
        spec: Option<&SecretSpec>,
        write: SecretWrite,
    ) -> ApiResult<()> {
        let id = secret_id(id)?;
        let (value, kind) = value_of(spec)?;
        let sealed = self.app.secrets.seal(&id, &value);
        self.app
            .store
            .put_secret(
                NewSecret {
                    id: id.clone(),
                    kind,
                    sealed,
                },
                write,
            )
            .await?;
        tracing::info!(secret = %id, "secret stored");
        Ok(())
    }
}

#[allow(refining_impl_trait)]
impl SecretService for SecretHandlers {
    async fn create_secret(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, CreateSecretRequest>,
    ) -> ServiceResult<CreateSecretResponse> {
        let request = request.to_owned_message();
        self.put(
            request.id.as_option(),
            request.secret_spec.as_option(),
            SecretWrite::Create,
        )
        .await?;
        Ok(Response::new(CreateSecretResponse::default()))
    }

    async fn update_secret(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, UpdateSecretRequest>,
    ) -> ServiceResult<UpdateSecretResponse> {
        let request = request.to_owned_message();
        self.put(
            request.id.as_option(),
            request.secret_spec.as_option(),
            SecretWrite::Update,
        )
        .await?;
        Ok(Response::new(UpdateSecretResponse::default()))
    }

    async fn get_secret(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, GetSecretRequest>,
    ) -> ServiceResult<GetSecretResponse> {
        let request = request.to_owned_message();
        let id = secret_id(request.id.as_option())?;
        let record = self
            .app
            .store
            .secret(&id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::NotFound(format!("{id} does not exist")))?;
        Ok(Response::new(GetSecretResponse {
            secret: wire_secret(&record, &request.id.organization).into(),
            ..Default::default()
        }))
    }

    async fn delete_secret(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, DeleteSecretRequest>,
    ) -> ServiceResult<DeleteSecretResponse> {
        let id = secret_id(request.to_owned_message().id.as_option())?;
        self.app
            .store
            .delete_secret(id.clone())
            .await
            .map_err(ApiError::from)?;
        tracing::info!(secret = %id, "secret deleted");
        Ok(Response::new(DeleteSecretResponse::default()))
    }

    async fn list_secrets(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, ListSecretsRequest>,
    ) -> ServiceResult<ListSecretsResponse> {
        let request = request.to_owned_message();
        let window = PageWindow::of(&request.token, u32::try_from(request.limit).unwrap_or(0))?;
        let (records, more) = self
            .app
            .store
            .list_secrets(
                &request.project,
                &request.domain,
                window.offset,
                window.limit,
            )
            .await
            .map_err(ApiError::from)?;
        let token = window.next_token(records.len(), more);
        Ok(Response::new(ListSecretsResponse {
            secrets: records
                .iter()
                .map(|record| wire_secret(record, &request.organization))
                .collect(),
            token,
            ..Default::default()
        }))
    }
}
