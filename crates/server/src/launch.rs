//! What every way of starting a run shares (`CreateRun` with a spec, a deployed task or a
//! trigger, and the trigger scheduler): the project must exist, the inputs are stored, the
//! run's labels are kept for list filters, a cacheable root gets its cache key, and the run and
//! its queued root action are written in one transaction.

use crate::cache_key;
use crate::convert::spec;
use crate::data::store_inputs;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use aerie_core::{ActionName, ActionState, Org, Project, RunId, RunName, Timestamp};
use aerie_store::{FireClaim, NewAction, NewRun, ProjectRecord, RunTrigger, RunWithRoot};
use aerie_wire::flyteidl2::task::{Inputs, RunSpec, TaskSpec};
use buffa::Message;

/// Length of the random part of a server-chosen run name.
const RUN_NAME_RANDOM_LEN: usize = 19;

/// A fresh server-chosen run name: `r` and 19 random lowercase letters and digits.
pub fn new_run_name() -> RunName {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let random: String = (0..RUN_NAME_RANDOM_LEN)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("r{random}")
        .parse()
        .expect("generated run names are valid")
}

/// The inputs a run starts with.
pub enum RunInputs {
    /// Already stored (by `UploadInputs`): the URI, which must be aerie's.
    Offloaded(String),
    /// Sent with the request; stored now.
    Inline(Inputs),
}

/// A run to start.
pub struct RunStart {
    pub id: RunId,
    pub org: Org,
    pub created_by: String,
    pub task_spec: TaskSpec,
    pub inputs: RunInputs,
    pub run_spec: RunSpec,
    pub trigger: Option<RunTrigger>,
    /// A scheduled fire, claimed with the run.
    pub fire: Option<FireClaim>,
}

/// Refuses work in a project aerie does not know, unless it was started to create them.
/// Projects are never deleted, so one found once is remembered and costs no read again.
pub async fn known_project(app: &AppState, project: &Project) -> ApiResult<()> {
    let remembered = || {
        app.known_projects
            .lock()
            .expect("known projects lock poisoned")
            .contains(project)
    };
    if remembered() {
        return Ok(());
    }
    let remember = || {
        app.known_projects
            .lock()
            .expect("known projects lock poisoned")
            .insert(project.clone());
    };
    if app.store.project(project).await?.is_some() {
        remember();
        return Ok(());
    }
    if app.create_projects {
        let created = app
            .store
            .create_project(ProjectRecord {
                id: project.clone(),
                name: project.to_string(),
                description: String::new(),
                labels: Vec::new(),
                state: 0,
                created_at: Timestamp::now(),
                updated_at: Timestamp::now(),
            })
            .await;
        return match created {
            Ok(_) | Err(aerie_store::StoreError::AlreadyExists(_)) => {
                remember();
                Ok(())
            }
            Err(err) => Err(err.into()),
        };
    }
    Err(ApiError::NotFound(format!(
        "project {project} does not exist; create it with `flyte create project --id {project} \
         --name {project}` (or start aerie with --create-projects)"
    )))
}

/// Refuses run settings that cannot work: a `max_action_concurrency` of 1 deadlocks any run
/// whose root starts a child, since the root holds the only slot while it waits.
pub fn check_run_spec(spec: &RunSpec) -> ApiResult<()> {
    if spec.max_action_concurrency == 1 {
        return Err(ApiError::InvalidArgument(
            "max_action_concurrency 1 would deadlock the run: a parent action holds a slot while \
             it waits for its children; use 0 (unlimited) or at least 2"
                .into(),
        ));
    }
    Ok(())
}

/// A rerun or recovery must name a run that exists (its project and domain as sent).
async fn check_relation(app: &AppState, spec: &RunSpec) -> ApiResult<()> {
    let Some(related) = spec
        .relation
        .as_option()
        .and_then(|relation| relation.related_to.as_option())
    else {
        return Ok(());
    };
    let related = aerie_convert::run_id(related)
        .map_err(|err| ApiError::InvalidArgument(format!("run_spec.relation.related_to: {err}")))?;
    match app.store.get_run(&related).await {
        Ok(_) => Ok(()),
        Err(aerie_store::StoreError::RunNotFound(_)) => Err(ApiError::NotFound(format!(
            "run {} (the run this one reruns) does not exist in {}/{}",
            related.name, related.project, related.domain
        ))),
        Err(err) => Err(err.into()),
    }
}

/// Stores the run and its queued root action and wakes the engine.
pub async fn start_run(app: &AppState, start: RunStart) -> ApiResult<RunWithRoot> {
    check_run_spec(&start.run_spec)?;
    known_project(app, &start.id.project).await?;
    check_relation(app, &start.run_spec).await?;
    start
        .task_spec
        .task_template
        .as_option()
        .ok_or_else(|| ApiError::missing("task_spec.task_template"))?;
    spec::check_limits(&start.task_spec)
        .map_err(|reason| ApiError::InvalidArgument(format!("task_spec: {reason}")))?;
    let mut root_spec = spec::task(&start.task_spec);
    let inline_inputs = match &start.inputs {
        RunInputs::Inline(inputs) => Some(inputs),
        RunInputs::Offloaded(_) => None,
    };
    let input_uri = match &start.inputs {
        RunInputs::Offloaded(uri) => {
            app.blobs.key_of(uri)?;
            uri.clone()
        }
        RunInputs::Inline(inputs) => {
            let blobs = &app.blobs;
            let run = &start.id;
            store_inputs(app, inputs.encode_to_vec(), |digest| {
                Ok(blobs.inputs_uri(&run.project, &run.domain, digest))
            })
            .await?
            .0
        }
    };
    if let Some(cache) = root_spec.cache.as_mut() {
        let inputs = match inline_inputs {
            Some(inputs) => inputs.clone(),
            None => read_inputs(app, &input_uri).await?,
        };
        let template = &*start.task_spec.task_template;
        cache.key = cache_key::cache_key(
            &inputs,
            &cache.ignored_inputs,
            &template.id.name,
            &template.interface,
            &cache.version,
        );
    }
    let labels = start
        .run_spec
        .labels
        .values
        .iter()
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    let new = NewRun {
        id: start.id.clone(),
        org: start.org,
        created_by: start.created_by,
        run_spec: start.run_spec.encode_to_vec(),
        labels,
        trigger: start.trigger,
        fire: start.fire,
        root: NewAction {
            name: ActionName::root(),
            parent: None,
            spec: root_spec,
            wire_spec: start.task_spec.encode_to_vec(),
            input_uri,
            run_output_base: app.blobs.run_base(&start.id),
            group: String::new(),
            state: ActionState::queued(Timestamp::now()),
        },
    };
    let created = app.engine.create_run(new).await?;
    tracing::info!(run = %start.id, "run created");
    Ok(created)
}

/// The run inputs stored at `uri` (for the root's cache key); missing inputs are refused, as
/// the run could not start without them.
async fn read_inputs(app: &AppState, uri: &str) -> ApiResult<Inputs> {
    let bytes = app.blobs.get(uri).await?.ok_or_else(|| {
        ApiError::InvalidArgument("the run's offloaded inputs were never uploaded".into())
    })?;
    Inputs::decode_from_slice(&bytes).map_err(|err| {
        ApiError::InvalidArgument(format!("the run's offloaded inputs do not decode: {err}"))
    })
}
