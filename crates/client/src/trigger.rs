//! [`Trigger`]: a trigger of a deployed task, as `flyte.remote.Trigger` shows it.
//!
//! A trigger is named by project, domain, task name and its own name; it runs one version of
//! its task on a schedule (or on demand only). [`Trigger::get`] fetches the current revision in
//! full; [`Trigger::list`] lists summaries, which lack the task version and description
//! ([`Trigger::details`] fetches them). The wire message comes in two shapes, kept as received
//! in [`TriggerMessage`]. [`describe_automation`] says when a trigger fires, in words.

use crate::client::Client;
use crate::error::{Error, Result};
use crate::rpc::collect_pages;
use aerie_core::Timestamp;
use aerie_wire::flyteidl2::common::{TriggerIdentifier, TriggerName};
use aerie_wire::flyteidl2::task::__buffa::oneof::schedule::Expression;
use aerie_wire::flyteidl2::task::__buffa::oneof::trigger_automation_spec::Automation;
use aerie_wire::flyteidl2::task::{FixedRate, FixedRateUnit, TriggerAutomationSpec};
use aerie_wire::flyteidl2::trigger::{
    Trigger as WireTrigger, TriggerDetails, TriggerSpec, TriggerStatus,
};
use serde::{Serialize, Serializer};

/// The wire message a [`Trigger`] was read from.
#[derive(Debug, Clone)]
pub enum TriggerMessage {
    /// From TriggerService/GetTriggerDetails: id, metadata, spec, status and automation.
    Details(Box<TriggerDetails>),
    /// From TriggerService/ListTriggers: id, metadata, status, active and automation.
    Listed(Box<WireTrigger>),
}

impl Serialize for TriggerMessage {
    /// The proto3 JSON of the message as received.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Details(details) => details.serialize(serializer),
            Self::Listed(trigger) => trigger.serialize(serializer),
        }
    }
}

/// One trigger of a task: which version it runs, whether it is active, and when it fires.
#[derive(Debug, Clone)]
pub struct Trigger {
    message: TriggerMessage,
}

impl Trigger {
    /// Wraps the details GetTriggerDetails returned; an id without task or trigger name is
    /// malformed.
    pub fn from_details(details: TriggerDetails) -> Result<Self> {
        check_id(&details.id)?;
        Ok(Self {
            message: TriggerMessage::Details(Box::new(details)),
        })
    }

    /// Wraps one trigger ListTriggers returned; an id without task or trigger name is malformed.
    pub fn from_listed(trigger: WireTrigger) -> Result<Self> {
        check_id(&trigger.id)?;
        Ok(Self {
            message: TriggerMessage::Listed(Box::new(trigger)),
        })
    }

    /// Fetches trigger `name` of task `task_name` in the client's project and domain
    /// (TriggerService/GetTriggerDetails), in full.
    pub async fn get(client: &Client, task_name: &str, name: &str) -> Result<Self> {
        let trigger = aerie_convert::wire_trigger_name(
            client.project(),
            client.domain(),
            task_name,
            name,
            client.org(),
        );
        Self::from_details(client.get_trigger_details(&trigger).await?)
    }

    /// Every trigger in the client's project and domain, of task `task_name` only when given,
    /// fetched page by page. Listed triggers lack the task version and description.
    pub async fn list(client: &Client, task_name: Option<&str>) -> Result<Vec<Self>> {
        collect_pages(|token| client.list_triggers_page(task_name, token))
            .await?
            .into_iter()
            .map(Self::from_listed)
            .collect()
    }

    /// This trigger's current revision in full (TriggerService/GetTriggerDetails).
    pub async fn details(&self, client: &Client) -> Result<Self> {
        Self::from_details(client.get_trigger_details(self.trigger_name()).await?)
    }

    /// The trigger's id: its name and revision.
    pub fn trigger_id(&self) -> &TriggerIdentifier {
        match &self.message {
            TriggerMessage::Details(details) => &details.id,
            TriggerMessage::Listed(trigger) => &trigger.id,
        }
    }

    /// The trigger's full name: project, domain, task name and name.
    pub fn trigger_name(&self) -> &TriggerName {
        &self.trigger_id().name
    }

    /// The trigger's name, e.g. `nightly`.
    pub fn name(&self) -> &str {
        &self.trigger_name().name
    }

    /// The name of the task it runs.
    pub fn task_name(&self) -> &str {
        &self.trigger_name().task_name
    }

    /// The task version it runs; `None` for triggers from [`list`](Self::list).
    pub fn task_version(&self) -> Option<&str> {
        self.spec()
            .map(|spec| spec.task_version.as_str())
            .filter(|version| !version.is_empty())
    }

    /// Whether the trigger fires on its schedule.
    pub fn active(&self) -> bool {
        match &self.message {
            TriggerMessage::Details(details) => details.spec.active,
            TriggerMessage::Listed(trigger) => trigger.active,
        }
    }

    /// The revision: 1 when first deployed, one more for each change.
    pub fn revision(&self) -> u64 {
        self.trigger_id().revision
    }

    /// The description given at deploy; `None` for triggers from [`list`](Self::list) and
    /// when empty.
    pub fn description(&self) -> Option<&str> {
        self.spec()
            .map(|spec| spec.description.as_str())
            .filter(|description| !description.is_empty())
    }

    /// When it fires, as the wire says it.
    pub fn automation_spec(&self) -> &TriggerAutomationSpec {
        match &self.message {
            TriggerMessage::Details(details) => &details.automation_spec,
            TriggerMessage::Listed(trigger) => &trigger.automation_spec,
        }
    }

    /// When it fires, in words (see [`describe_automation`]).
    pub fn automation_description(&self) -> String {
        describe_automation(self.automation_spec())
    }

    /// Deploy, update, last fire and deletion times: the wire `TriggerStatus`.
    pub fn status(&self) -> &TriggerStatus {
        match &self.message {
            TriggerMessage::Details(details) => &details.status,
            TriggerMessage::Listed(trigger) => &trigger.status,
        }
    }

    /// When it last fired; `None` if it never has.
    pub fn triggered_at(&self) -> Option<Timestamp> {
        self.status()
            .triggered_at
            .as_option()
            .map(aerie_convert::timestamp)
    }

    /// When it was last changed (deployed, activated or deactivated).
    pub fn updated_at(&self) -> Option<Timestamp> {
        self.status()
            .updated_at
            .as_option()
            .map(aerie_convert::timestamp)
    }

    /// The spec: task version, run settings, inputs; `None` for triggers from
    /// [`list`](Self::list).
    pub fn spec(&self) -> Option<&TriggerSpec> {
        match &self.message {
            TriggerMessage::Details(details) => details.spec.as_option(),
            TriggerMessage::Listed(_) => None,
        }
    }

    /// The wire message as received.
    pub fn wire(&self) -> &TriggerMessage {
        &self.message
    }
}

/// A trigger id the server sent must name the task and the trigger.
fn check_id(id: &TriggerIdentifier) -> Result<()> {
    let name = &id.name;
    if name.task_name.is_empty() || name.name.is_empty() {
        return Err(Error::malformed(
            "trigger id",
            format_args!(
                "task name {:?} and name {:?} must both be set",
                name.task_name, name.name
            ),
        ));
    }
    Ok(())
}

/// When a trigger fires, in words: `cron "0 0 * * *" (UTC)`, `every 5 minute(s)`,
/// `every 1 day(s) from 2026-01-01T00:00:00Z`, or `on demand` for a trigger with no schedule
/// (it fires only when asked). A cron without a time zone runs in UTC, as aerie's scheduler
/// reads it.
pub fn describe_automation(spec: &TriggerAutomationSpec) -> String {
    match &spec.automation {
        None => "on demand".to_owned(),
        Some(Automation::Artifact(artifact)) => {
            format!("on artifact {:?}", artifact.artifact_name)
        }
        Some(Automation::Schedule(schedule)) => match &schedule.expression {
            Some(Expression::Cron(cron)) => describe_cron(&cron.expression, &cron.timezone),
            Some(Expression::CronExpression(expression)) => describe_cron(expression, ""),
            Some(Expression::Rate(rate)) => describe_rate(rate),
            None => "a schedule without an expression".to_owned(),
        },
    }
}

fn describe_cron(expression: &str, timezone: &str) -> String {
    let timezone = if timezone.is_empty() { "UTC" } else { timezone };
    format!("cron {expression:?} ({timezone})")
}

fn describe_rate(rate: &FixedRate) -> String {
    let unit = match rate.unit.as_known() {
        Some(FixedRateUnit::FIXED_RATE_UNIT_MINUTE) => "minute(s)".to_owned(),
        Some(FixedRateUnit::FIXED_RATE_UNIT_HOUR) => "hour(s)".to_owned(),
        Some(FixedRateUnit::FIXED_RATE_UNIT_DAY) => "day(s)".to_owned(),
        _ => format!("of unknown unit {}", rate.unit.to_i32()),
    };
    let every = format!("every {} {unit}", rate.value);
    match rate.start_time.as_option() {
        Some(start) => format!("{every} from {}", aerie_convert::timestamp(start)),
        None => every,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aerie_wire::flyteidl2::task::{ArtifactTrigger, Cron, Schedule};

    fn scheduled(expression: Expression) -> TriggerAutomationSpec {
        TriggerAutomationSpec {
            automation: Some(Automation::Schedule(Box::new(Schedule {
                expression: Some(expression),
                ..Default::default()
            }))),
            ..Default::default()
        }
    }

    fn rate(value: u32, unit: FixedRateUnit, start_seconds: Option<i64>) -> TriggerAutomationSpec {
        scheduled(Expression::Rate(Box::new(FixedRate {
            value,
            unit: unit.into(),
            start_time: start_seconds
                .map(|seconds| buffa_types::google::protobuf::Timestamp {
                    seconds,
                    ..Default::default()
                })
                .into(),
            ..Default::default()
        })))
    }

    #[test]
    fn a_cron_shows_its_expression_and_time_zone_utc_when_unset() {
        let in_zone = scheduled(Expression::Cron(Box::new(Cron {
            expression: "0 0 * * *".into(),
            timezone: "Europe/Paris".into(),
            ..Default::default()
        })));
        assert_eq!(
            describe_automation(&in_zone),
            r#"cron "0 0 * * *" (Europe/Paris)"#
        );
        let no_zone = scheduled(Expression::Cron(Box::new(Cron {
            expression: "0 3 * * *".into(),
            ..Default::default()
        })));
        assert_eq!(describe_automation(&no_zone), r#"cron "0 3 * * *" (UTC)"#);
        let legacy = scheduled(Expression::CronExpression("@hourly".into()));
        assert_eq!(describe_automation(&legacy), r#"cron "@hourly" (UTC)"#);
    }

    #[test]
    fn a_fixed_rate_shows_its_period_and_start_when_set() {
        assert_eq!(
            describe_automation(&rate(1, FixedRateUnit::FIXED_RATE_UNIT_MINUTE, None)),
            "every 1 minute(s)"
        );
        assert_eq!(
            describe_automation(&rate(2, FixedRateUnit::FIXED_RATE_UNIT_HOUR, None)),
            "every 2 hour(s)"
        );
        assert_eq!(
            describe_automation(&rate(
                3,
                FixedRateUnit::FIXED_RATE_UNIT_DAY,
                Some(1_767_225_600)
            )),
            "every 3 day(s) from 2026-01-01T00:00:00Z"
        );
        assert_eq!(
            describe_automation(&rate(4, FixedRateUnit::FIXED_RATE_UNIT_UNSPECIFIED, None)),
            "every 4 of unknown unit 0"
        );
    }

    #[test]
    fn no_automation_means_on_demand() {
        assert_eq!(
            describe_automation(&TriggerAutomationSpec::default()),
            "on demand"
        );
        let artifact = TriggerAutomationSpec {
            automation: Some(Automation::Artifact(Box::new(ArtifactTrigger {
                artifact_name: "model".into(),
                ..Default::default()
            }))),
            ..Default::default()
        };
        assert_eq!(describe_automation(&artifact), r#"on artifact "model""#);
    }

    #[test]
    fn a_listed_trigger_has_no_version_and_reads_the_list_fields() {
        let trigger = Trigger::from_listed(WireTrigger {
            id: TriggerIdentifier {
                name: TriggerName {
                    task_name: "env.t".into(),
                    name: "nightly".into(),
                    ..Default::default()
                }
                .into(),
                revision: 2,
                ..Default::default()
            }
            .into(),
            active: true,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(trigger.task_name(), "env.t");
        assert_eq!(trigger.name(), "nightly");
        assert_eq!(trigger.revision(), 2);
        assert!(trigger.active());
        assert_eq!(trigger.task_version(), None);
        assert_eq!(trigger.triggered_at(), None);
        assert_eq!(trigger.automation_description(), "on demand");
    }

    #[test]
    fn a_trigger_id_without_a_task_name_is_malformed() {
        assert!(matches!(
            Trigger::from_listed(WireTrigger::default()),
            Err(Error::Malformed {
                what: "trigger id",
                ..
            })
        ));
    }
}
