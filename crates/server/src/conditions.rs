//! Conditions (`flyte.new_condition`), the server's part: a condition a parent enqueues becomes
//! an action that starts PAUSED and runs nothing; `RunService.SignalEvent` and
//! `ActionsService.Signal` end it SUCCEEDED with a value of its declared type, which its parent
//! reads from its watch (docs/execution-contract.md §2). Its timeout is the engine's.
//!
//! # Contract
//! - A condition enqueued without its spec (the SDK's QueueService path sends none) is untyped:
//!   it takes a value of any of the four types, and has no prompt and no timeout.
//! - A signal checks the value against the declared type (`invalid_argument`), and is durable
//!   before the reply. The same value again is accepted (a retried call); another value, or a
//!   signal to a condition that timed out or was aborted, is `failed_precondition`.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use aerie_core::{ActionId, ActionKind, ActionSpec, ActionState, Signal, Timestamp};
use aerie_store::StoreError;
use aerie_wire::flyteidl2::core::{
    Literal, LiteralType, Primitive, Scalar, SimpleType, literal, literal_type, primitive, scalar,
};
use aerie_wire::flyteidl2::workflow::ConditionAction;
use buffa::{Enumeration, Message};

/// Longest prompt, in characters (the proto's limit).
const MAX_PROMPT: usize = 4096;
/// Longest description, in characters (the proto's limit).
const MAX_DESCRIPTION: usize = 2048;

/// The four types a condition may declare.
const SIGNALABLE: [SimpleType; 4] = [
    SimpleType::BOOLEAN,
    SimpleType::INTEGER,
    SimpleType::FLOAT,
    SimpleType::STRING,
];

/// The declared type of `condition`, if it declares one.
fn declared_type(condition: &ConditionAction) -> Option<SimpleType> {
    match &condition.r#type.as_option()?.r#type {
        Some(literal_type::Type::Simple(simple)) => simple.as_known(),
        _ => None,
    }
}

/// The spec and initial state of a condition named `name` (the action's own name for an
/// untyped one), refusing what the proto forbids.
pub fn new_condition(
    condition: Option<&ConditionAction>,
    action: &ActionId,
) -> ApiResult<(ActionSpec, Vec<u8>, ActionState)> {
    let Some(condition) = condition else {
        let untyped = ConditionAction {
            name: action.name.to_string(),
            ..Default::default()
        };
        return Ok((
            ActionSpec::condition(&untyped.name, None, None),
            untyped.encode_to_vec(),
            ActionState::paused(Timestamp::now()),
        ));
    };
    if condition.name.trim().is_empty() {
        return Err(ApiError::missing("condition.name"));
    }
    if condition.prompt.chars().count() > MAX_PROMPT {
        return Err(ApiError::InvalidArgument(format!(
            "a condition's prompt may have at most {MAX_PROMPT} characters"
        )));
    }
    if condition.description.chars().count() > MAX_DESCRIPTION {
        return Err(ApiError::InvalidArgument(format!(
            "a condition's description may have at most {MAX_DESCRIPTION} characters"
        )));
    }
    let declared = match declared_type(condition) {
        Some(simple) if SIGNALABLE.contains(&simple) => simple,
        _ => {
            return Err(ApiError::InvalidArgument(
                "a condition's type must be one of BOOLEAN, INTEGER, FLOAT or STRING".into(),
            ));
        }
    };
    if let Some(hook) = condition.webhook.as_option() {
        crate::webhook::check_url(&hook.url).map_err(ApiError::InvalidArgument)?;
    }
    let timeout = match condition.timeout.as_option() {
        None => None,
        Some(wire) if wire.seconds < 0 || wire.nanos < 0 => {
            return Err(ApiError::InvalidArgument(
                "a condition's timeout may not be negative".into(),
            ));
        }
        Some(wire) => {
            let limit =
                std::time::Duration::new(wire.seconds.unsigned_abs(), wire.nanos.unsigned_abs());
            (!limit.is_zero()).then_some(limit)
        }
    };
    Ok((
        ActionSpec::condition(&condition.name, Some(declared.to_i32()), timeout),
        condition.encode_to_vec(),
        ActionState::paused(Timestamp::now()),
    ))
}

/// A literal holding one primitive.
pub fn primitive_literal(value: primitive::Value) -> Literal {
    Literal {
        value: Some(literal::Value::Scalar(Box::new(Scalar {
            value: Some(scalar::Value::Primitive(Box::new(Primitive {
                value: Some(value),
                ..Default::default()
            }))),
            ..Default::default()
        }))),
        ..Default::default()
    }
}

/// The primitive a signal carries, and the type it is.
fn signalled_primitive(value: &Literal) -> ApiResult<(&primitive::Value, SimpleType)> {
    let not_primitive = || {
        ApiError::InvalidArgument(
            "a signal's value must be a boolean, an integer, a float or a string".into(),
        )
    };
    let Some(literal::Value::Scalar(scalar)) = &value.value else {
        return Err(not_primitive());
    };
    let Some(scalar::Value::Primitive(primitive)) = &scalar.value else {
        return Err(not_primitive());
    };
    let simple = match primitive.value.as_ref().ok_or_else(not_primitive)? {
        primitive::Value::Boolean(_) => SimpleType::BOOLEAN,
        primitive::Value::Integer(_) => SimpleType::INTEGER,
        primitive::Value::FloatValue(_) => SimpleType::FLOAT,
        primitive::Value::StringValue(_) => SimpleType::STRING,
        _ => return Err(not_primitive()),
    };
    Ok((primitive.value.as_ref().ok_or_else(not_primitive)?, simple))
}

/// The upper-case name of a simple type, for messages.
fn type_name(simple: SimpleType) -> &'static str {
    match simple {
        SimpleType::BOOLEAN => "BOOLEAN",
        SimpleType::INTEGER => "INTEGER",
        SimpleType::FLOAT => "FLOAT",
        SimpleType::STRING => "STRING",
        _ => "another type",
    }
}

/// Signals the condition `id` with `value` on behalf of `by`.
pub async fn signal(app: &AppState, id: &ActionId, value: Literal, by: &str) -> ApiResult<()> {
    let (record, wire_spec) = app.store.get_action_with_wire_spec(id).await?;
    if record.kind() != ActionKind::Condition {
        return Err(ApiError::FailedPrecondition(format!(
            "action {} of run {} is not a condition; only conditions take signals",
            id.name, id.run.name
        )));
    }
    let condition = ConditionAction::decode_from_slice(&wire_spec).unwrap_or_default();
    let (primitive, sent) = signalled_primitive(&value)?;
    let value = match declared_type(&condition) {
        Some(declared) if declared != sent => {
            return Err(ApiError::InvalidArgument(format!(
                "signal value type {} does not match the condition's declared type {}",
                type_name(sent),
                type_name(declared)
            )));
        }
        _ => primitive_literal(primitive.clone()),
    };
    let encoded = value.encode_to_vec();
    if record.phase().is_terminal() {
        return match &record.state.signal {
            Some(earlier) if earlier.value == encoded => Ok(()),
            _ => Err(already_completed(&record.id, record.phase())),
        };
    }
    let signal = Signal {
        value: encoded.clone(),
        by: by.to_owned(),
        at: Timestamp::now(),
    };
    let signalled = app
        .store
        .update_action(&record, move |state| state.signalled(signal.clone()))
        .await;
    match signalled {
        Ok(_) => {
            tracing::info!(run = %id.run, action = %id.name, by, "condition signalled");
            Ok(())
        }
        Err(StoreError::Transition { .. }) => {
            // Ended meanwhile: accepted only if it was this very signal.
            let now = app.store.get_action(id).await?;
            match &now.state.signal {
                Some(earlier) if earlier.value == encoded => Ok(()),
                _ => Err(already_completed(&now.id, now.phase())),
            }
        }
        Err(err) => Err(err.into()),
    }
}

/// Signals condition `id` with a JSON value (a boolean, a number or a string), read as the
/// type the condition declares: an integral number is an integer, or a float for a FLOAT
/// condition.
pub async fn signal_json(
    app: &AppState,
    id: &ActionId,
    json: &serde_json::Value,
    by: &str,
) -> ApiResult<()> {
    let (_, wire_spec) = app.store.get_action_with_wire_spec(id).await?;
    let declared =
        declared_type(&ConditionAction::decode_from_slice(&wire_spec).unwrap_or_default());
    let value = match json {
        serde_json::Value::Bool(flag) => primitive::Value::Boolean(*flag),
        serde_json::Value::String(text) => primitive::Value::StringValue(text.clone()),
        serde_json::Value::Number(number) => match (declared, number.as_i64()) {
            (Some(SimpleType::FLOAT), _) | (_, None) => {
                primitive::Value::FloatValue(number.as_f64().unwrap_or(f64::NAN))
            }
            (_, Some(integer)) => primitive::Value::Integer(integer),
        },
        _ => {
            return Err(ApiError::InvalidArgument(
                "the value must be a JSON boolean, number or string".into(),
            ));
        }
    };
    signal(app, id, primitive_literal(value), by).await
}

fn already_completed(id: &ActionId, phase: aerie_core::ActionPhase) -> ApiError {
    ApiError::FailedPrecondition(format!(
        "condition {} of run {} already completed ({phase}); it takes no other signal",
        id.name, id.run.name
    ))
}

/// The value a condition was signalled with, decoded.
pub fn signalled_value(state: &ActionState) -> Option<Literal> {
    Literal::decode_from_slice(&state.signal.as_ref()?.value).ok()
}

/// The type a condition takes, as its metadata shows it; `None` for an untyped one.
pub fn literal_type(spec: &ActionSpec) -> Option<LiteralType> {
    Some(LiteralType {
        r#type: Some(literal_type::Type::Simple(spec.condition_type?.into())),
        ..Default::default()
    })
}
