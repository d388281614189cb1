//! Writes to the control-plane tables (deployed tasks, triggers, secrets, projects, the task
//! cache's entries): one writer operation for all of them, so each adds a case here rather
//! than a writer variant.
//! None of them changes an action, so none has changes to publish.

use crate::Store;
use crate::error::StoreError;
use crate::projects::{self, ProjectRecord};
use crate::records::FireClaim;
use crate::secrets::{self, NewSecret, SecretId, SecretWrite};
use crate::task_cache::{self, CacheSelection};
use crate::tasks::{self, Deployed, NewTaskVersion};
use crate::triggers::{self, NewTrigger, NextFire, TriggerId, TriggerRecord};
use crate::writer::WriteOp;
use sqlx::AnyConnection;

/// One control-plane write.
pub(crate) enum ControlWrite {
    /// A task version and the triggers deployed with it, in one transaction.
    DeployTask {
        version: NewTaskVersion,
        triggers: Vec<NewTrigger>,
        next_fire: NextFire,
    },
    DeployTriggers {
        triggers: Vec<NewTrigger>,
        next_fire: NextFire,
    },
    SetTriggersActive {
        ids: Vec<TriggerId>,
        active: bool,
        by: String,
        next_fire: NextFire,
    },
    DeleteTriggers {
        ids: Vec<TriggerId>,
        by: String,
    },
    SkipFire {
        id: TriggerId,
        claim: FireClaim,
    },
    PutSecret {
        new: NewSecret,
        write: SecretWrite,
    },
    DeleteSecret {
        id: SecretId,
    },
    CreateProject {
        project: ProjectRecord,
    },
    UpdateProject {
        project: ProjectRecord,
    },
    ClearCache {
        selection: CacheSelection,
    },
    GrantRead {
        reader: aerie_core::RunId,
        source: aerie_core::RunId,
    },
}

/// What a control-plane write returns.
#[derive(Debug)]
pub(crate) enum ControlOutcome {
    Deployed(Deployed, Vec<TriggerRecord>),
    Triggers(Vec<TriggerRecord>),
    Project(ProjectRecord),
    /// How many rows the write changed.
    Count(u64),
    Done,
}

impl ControlOutcome {
    pub fn into_triggers(self) -> Result<Vec<TriggerRecord>, StoreError> {
        match self {
            Self::Triggers(records) | Self::Deployed(_, records) => Ok(records),
            other => Err(unexpected(&other)),
        }
    }

    pub fn into_project(self) -> Result<ProjectRecord, StoreError> {
        match self {
            Self::Project(project) => Ok(project),
            other => Err(unexpected(&other)),
        }
    }

    pub fn into_count(self) -> Result<u64, StoreError> {
        match self {
            Self::Count(count) => Ok(count),
            other => Err(unexpected(&other)),
        }
    }

    pub fn into_deployed(self) -> Result<(Deployed, Vec<TriggerRecord>), StoreError> {
        match self {
            Self::Deployed(deployed, triggers) => Ok((deployed, triggers)),
            other => Err(unexpected(&other)),
        }
    }
}

fn unexpected(outcome: &ControlOutcome) -> StoreError {
    StoreError::corrupt("write outcome", format!("unexpected {outcome:?}"))
}

async fn deploy_triggers(
    connection: &mut AnyConnection,
    new: &[NewTrigger],
    next_fire: &NextFire,
) -> Result<Vec<TriggerRecord>, StoreError> {
    let mut records = Vec::with_capacity(new.len());
    for trigger in new {
        records.push(triggers::apply_deploy(connection, trigger, next_fire).await?);
    }
    Ok(records)
}

/// Applies `write` inside the writer's open transaction.
pub(crate) async fn apply(
    connection: &mut AnyConnection,
    write: &ControlWrite,
) -> Result<ControlOutcome, StoreError> {
    Ok(match write {
        ControlWrite::DeployTask {
            version,
            triggers,
            next_fire,
        } => {
            let deployed = tasks::apply_deploy(connection, version).await?;
            let records = deploy_triggers(connection, triggers, next_fire).await?;
            ControlOutcome::Deployed(deployed, records)
        }
        ControlWrite::DeployTriggers {
            triggers,
            next_fire,
        } => ControlOutcome::Triggers(deploy_triggers(connection, triggers, next_fire).await?),
        ControlWrite::SetTriggersActive {
            ids,
            active,
            by,
            next_fire,
        } => ControlOutcome::Triggers(
            triggers::apply_set_active(connection, ids, *active, by, next_fire).await?,
        ),
        ControlWrite::DeleteTriggers { ids, by } => {
            triggers::apply_delete(connection, ids, by).await?;
            ControlOutcome::Done
        }
        ControlWrite::SkipFire { id, claim } => {
            triggers::apply_skip_fire(connection, id, claim).await?;
            ControlOutcome::Done
        }
        ControlWrite::PutSecret { new, write } => {
            secrets::apply_put(connection, new, *write).await?;
            ControlOutcome::Done
        }
        ControlWrite::DeleteSecret { id } => {
            secrets::apply_delete(connection, id).await?;
            ControlOutcome::Done
        }
        ControlWrite::CreateProject { project } => {
            ControlOutcome::Project(projects::apply_create(connection, project).await?)
        }
        ControlWrite::UpdateProject { project } => {
            projects::apply_update(connection, project).await?;
            ControlOutcome::Done
        }
        ControlWrite::ClearCache { selection } => {
            ControlOutcome::Count(task_cache::apply_clear(connection, selection).await?)
        }
        ControlWrite::GrantRead { reader, source } => {
            task_cache::apply_grant_read(connection, reader, source).await?;
            ControlOutcome::Done
        }
    })
}

impl Store {
    /// Runs `write` on a writer lane and returns its committed outcome.
    pub(crate) async fn control(&self, write: ControlWrite) -> Result<ControlOutcome, StoreError> {
        self.writer
            .submit(|reply| WriteOp::Control {
                write: Box::new(write),
                reply,
            })
            .await
    }
}
