//! A trigger's wire automation spec as an [`aerie_core::Schedule`]: which ones aerie can
//! run, and the [`NextFire`] the store computes next fires with.

use crate::error::{ApiError, ApiResult};
use aerie_core::{Cron, Schedule, Timestamp};
use aerie_store::NextFire;
use aerie_wire::flyteidl2::task::__buffa::oneof::{schedule, trigger_automation_spec};
use aerie_wire::flyteidl2::task::{
    FixedRateUnit, TriggerAutomationSpec, TriggerAutomationSpecType,
};
use buffa::Message;
use std::sync::Arc;

/// The schedule `spec` fires on, `None` for a trigger fired on demand only. Artifact
/// triggers, unknown types and bad expressions are refused with what to fix.
pub fn schedule_of(spec: &TriggerAutomationSpec) -> ApiResult<Option<Schedule>> {
    let kind = spec.r#type.as_known();
    if kind == Some(TriggerAutomationSpecType::TYPE_ARTIFACT)
        || matches!(
            spec.automation,
            Some(trigger_automation_spec::Automation::Artifact(_))
        )
    {
        return Err(ApiError::Unimplemented(
            "OnArtifact triggers need an artifact service, which aerie does not have; use a \
             Cron or FixedRate trigger, or none"
                .into(),
        ));
    }
    let schedule = match &spec.automation {
        Some(trigger_automation_spec::Automation::Schedule(schedule)) => schedule,
        _ if kind == Some(TriggerAutomationSpecType::TYPE_SCHEDULE) => {
            return Err(ApiError::missing("automation_spec.schedule"));
        }
        _ => return Ok(None),
    };
    let invalid = |err: aerie_core::ScheduleError| ApiError::InvalidArgument(err.to_string());
    Ok(Some(match &schedule.expression {
        Some(schedule::Expression::Cron(cron)) => {
            Schedule::Cron(Cron::parse(&cron.expression, &cron.timezone).map_err(invalid)?)
        }
        Some(schedule::Expression::CronExpression(expression)) => {
            Schedule::Cron(Cron::parse(expression, "").map_err(invalid)?)
        }
        Some(schedule::Expression::Rate(rate)) => {
            let minutes_per_unit = match rate.unit.as_known() {
                Some(FixedRateUnit::FIXED_RATE_UNIT_MINUTE) => 1,
                Some(FixedRateUnit::FIXED_RATE_UNIT_HOUR) => 60,
                Some(FixedRateUnit::FIXED_RATE_UNIT_DAY) => 24 * 60,
                _ => {
                    return Err(ApiError::InvalidArgument(format!(
                        "fixed rate unit {} is not minutes, hours or days",
                        rate.unit.to_i32()
                    )));
                }
            };
            let start = rate
                .start_time
                .as_option()
                .map(|start| Timestamp::from_seconds_and_nanos(start.seconds, start.nanos));
            Schedule::fixed_rate(i64::from(rate.value) * minutes_per_unit, start)
                .map_err(invalid)?
        }
        None => return Err(ApiError::missing("automation_spec.schedule.expression")),
    }))
}

/// The store's way to the next fire of a stored automation spec (which was checked when it was
/// deployed, so one that no longer decodes never fires).
pub fn next_fire() -> NextFire {
    Arc::new(|automation: &[u8], after: Timestamp| {
        let spec = TriggerAutomationSpec::decode_from_slice(automation).ok()?;
        schedule_of(&spec).ok()??.next_after(after)
    })
}
