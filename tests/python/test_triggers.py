"""Triggers through the official SDK and CLI: deployed with their task, described and listed,
fired on demand with an override, fired on schedule with the instant they stand for,
deactivated, deleted; a restart neither loses nor repeats a fire; bad schedules are refused."""

from __future__ import annotations

import signal
import time
import uuid
from datetime import datetime, timedelta, timezone

import flyte
import flyte.remote
import pytest
from flyteidl2.common import identifier_pb2
from flyteidl2.task import common_pb2
from flyteidl2.trigger import trigger_definition_pb2, trigger_service_pb2
from flyteidl2.workflow import run_service_pb2
from helpers import DOMAIN, PROJECT, connect_unary, decode_unary, flyte_cli, sdk_script, wait_terminal, wait_until
from workflows import scheduled

TASK = "scheduled.stamp"


@pytest.fixture(scope="module")
def version(sdk) -> str:
    """`scheduled` deployed once, with its yearly trigger."""
    version = f"v-{uuid.uuid4().hex[:8]}"
    flyte.deploy(scheduled.env, version=version)
    return version


def runs_of_trigger(server, trigger: str) -> list:
    """Every run of the project the trigger `trigger` started, oldest first."""
    request = run_service_pb2.ListRunsRequest()
    request.project_id.name, request.project_id.domain = PROJECT, DOMAIN
    request.request.limit = 1000
    reply = decode_unary(
        connect_unary(server, "flyteidl2.workflow.RunService/ListRuns", request.SerializeToString()),
        run_service_pb2.ListRunsResponse,
    )
    runs = [run for run in reply.runs if run.action.metadata.trigger_name == trigger]
    return sorted(runs, key=lambda run: run.action.status.start_time.ToDatetime())


def output_of(run_name: str) -> str:
    run = flyte.remote.Run.get(name=run_name)
    run.wait(quiet=True)
    return run.outputs()[0]


def soon(name: str, seconds: float) -> tuple[flyte.Trigger, datetime]:
    """A one-minute fixed-rate trigger whose first fire is `seconds` from now, and that instant."""
    first = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=seconds)
    trigger = flyte.Trigger(
        name, flyte.FixedRate(1, start_time=first - timedelta(minutes=1)), inputs={"when": flyte.TriggerTime}
    )
    return trigger, first


def test_a_trigger_deployed_with_its_task_is_described_and_listed(sdk, version, tmp_path):
    details = flyte.remote.Trigger.get(name="yearly", task_name=TASK)
    assert details.is_active
    assert details.pb2.spec.task_version == version
    assert details.automation_spec.schedule.cron.expression == "0 0 1 1 *"
    assert details.automation_spec.schedule.cron.timezone == "Europe/Paris"
    listed = flyte_cli(sdk, "get", "trigger", "-p", PROJECT, "-d", DOMAIN, TASK, cwd=tmp_path)
    assert listed.returncode == 0 and "yearly" in listed.stdout, listed.explain()


def test_a_trigger_fires_on_demand_with_an_override_and_its_settings(sdk, version, tmp_path):
    run = flyte.run(flyte.remote.Trigger.get(name="yearly", task_name=TASK), note="override")
    details = wait_terminal(run, timeout=180)
    assert details.phase.value == "succeeded", details.error_message
    when, note, greeting = run.outputs()[0].split("|")
    assert (note, greeting) == ("override", "hello"), "the override wins; the trigger's env vars apply"
    assert abs(datetime.fromisoformat(when) - datetime.now(timezone.utc)) < timedelta(minutes=5)
    assert run.name in [r.action.id.run.name for r in runs_of_trigger(sdk, "yearly")], "the run records its trigger"
    labelled = flyte_cli(sdk, "get", "run", "-p", PROJECT, "-d", DOMAIN, "--with-label", "source=trigger", cwd=tmp_path)
    assert labelled.returncode == 0 and run.name in labelled.stdout, labelled.explain()
    keyed = flyte_cli(sdk, "get", "run", "-p", PROJECT, "-d", DOMAIN, "--with-label-key", "source", cwd=tmp_path)
    assert keyed.returncode == 0 and run.name in keyed.stdout, keyed.explain()
    names = lambda **labels: {listed.name for listed in flyte.remote.Run.listall(**labels)}  # noqa: E731
    assert run.name in names(with_labels={"source": "trigger"}, with_label_keys=["source"])
    assert run.name not in names(with_labels={"source": "elsewhere"})
    assert run.name not in names(with_label_keys=["team"])


def test_a_fixed_rate_trigger_fires_for_its_instant_then_deletion_stops_it(sdk, version, tmp_path):
    trigger, first = soon(f"soon-{uuid.uuid4().hex[:6]}", seconds=6)
    flyte.remote.Trigger.create(trigger, task_name=TASK, task_version=version)
    fired = wait_until(lambda: runs_of_trigger(sdk, trigger.name), timeout=60, what="the trigger's first fire")
    assert len(fired) == 1
    when = output_of(fired[0].action.id.run.name).split("|")[0]
    assert datetime.fromisoformat(when) == first, "TriggerTime is the scheduled instant"
    deleted = flyte_cli(sdk, "delete", "trigger", "-p", PROJECT, "-d", DOMAIN, trigger.name, TASK, cwd=tmp_path)
    assert deleted.returncode == 0, deleted.explain()
    with pytest.raises(Exception, match="not found|NOT_FOUND"):
        flyte.remote.Trigger.get(name=trigger.name, task_name=TASK)


def test_a_deactivated_trigger_never_fires(sdk, version, tmp_path):
    trigger, first = soon(f"paused-{uuid.uuid4().hex[:6]}", seconds=8)
    flyte.remote.Trigger.create(trigger, task_name=TASK, task_version=version)
    update = flyte_cli(
        sdk, "update", "trigger", "-p", PROJECT, "-d", DOMAIN, trigger.name, TASK, "--deactivate", cwd=tmp_path
    )
    assert update.returncode == 0, update.explain()
    assert not flyte.remote.Trigger.get(name=trigger.name, task_name=TASK).is_active
    time.sleep(max(0.0, (first - datetime.now(timezone.utc)).total_seconds()) + 4)
    assert runs_of_trigger(sdk, trigger.name) == [], "an inactive trigger fired"


def test_a_trigger_made_without_auto_activate_starts_inactive(sdk, version):
    dormant = flyte.Trigger(
        f"dormant-{uuid.uuid4().hex[:6]}", flyte.Cron("*/5 * * * *"), inputs={"when": flyte.TriggerTime},
        auto_activate=False,
    )
    created = flyte.remote.Trigger.create(dormant, task_name=TASK, task_version=version)
    assert not created.is_active
    assert not flyte.remote.Trigger.get(name=dormant.name, task_name=TASK).is_active


DEPLOY_WITH_SOON_TRIGGER = """
from datetime import datetime, timedelta, timezone
from workflows import scheduled
version = "restart-v1"
flyte.deploy(scheduled.env, version=version)
first = datetime.fromisoformat(%(first)r)
trigger = flyte.Trigger("soon", flyte.FixedRate(1, start_time=first - timedelta(minutes=1)),
                        inputs={"when": flyte.TriggerTime})
flyte.remote.Trigger.create(trigger, task_name="scheduled.stamp", task_version=version)
print(json.dumps({"ok": True}))
"""


def test_a_restart_neither_loses_nor_repeats_a_fire(own_server):
    server = own_server()
    first = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=30)
    sdk_script(server.port, DEPLOY_WITH_SOON_TRIGGER % {"first": first.isoformat()})
    assert datetime.now(timezone.utc) < first, "deploying took too long to kill aerie before the fire"
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait(timeout=10)
    time.sleep(max(0.0, (first - datetime.now(timezone.utc)).total_seconds()) + 2)

    again = own_server(root=server.root, addr=f"127.0.0.1:{server.port}")
    fired = wait_until(lambda: runs_of_trigger(again, "soon"), timeout=60, what="the missed fire after a restart")
    run_name = fired[0].action.id.run.name
    outputs = sdk_script(
        again.port,
        f"run = flyte.remote.Run.get({run_name!r})\nrun.wait(quiet=True)\nprint(json.dumps(run.outputs()[0]))",
    )
    assert datetime.fromisoformat(outputs.split("|")[0]) == first, "the catch-up run stands for the missed instant"

    again.proc.send_signal(signal.SIGKILL)
    again.proc.wait(timeout=10)
    third = own_server(root=server.root, addr=f"127.0.0.1:{server.port}")
    time.sleep(3)
    assert [r.action.id.run.name for r in runs_of_trigger(third, "soon")] == [run_name], "a fire was repeated"


def deploy_trigger_reply(server, automation: common_pb2.TriggerAutomationSpec, version: str):
    request = trigger_service_pb2.DeployTriggerRequest(
        name=identifier_pb2.TriggerName(project=PROJECT, domain=DOMAIN, task_name=TASK, name="bad"),
        spec=trigger_definition_pb2.TriggerSpec(active=True, task_version=version),
        automation_spec=automation,
    )
    return connect_unary(server, "flyteidl2.trigger.TriggerService/DeployTrigger", request.SerializeToString())


def cron(expression: str, zone: str) -> common_pb2.TriggerAutomationSpec:
    spec = common_pb2.TriggerAutomationSpec(type=common_pb2.TriggerAutomationSpecType.TYPE_SCHEDULE)
    spec.schedule.cron.expression, spec.schedule.cron.timezone = expression, zone
    return spec


@pytest.mark.parametrize(
    ("automation", "code", "says"),
    [
        (cron("61 * * * *", "UTC"), "invalid_argument", "minute: 61 is outside 0-59"),
        (cron("0 0 * *", "UTC"), "invalid_argument", "expected 5 fields"),
        (cron("0 0 * * *", "Mars/Olympus"), "invalid_argument", "unknown time zone"),
        (common_pb2.TriggerAutomationSpec(type=common_pb2.TriggerAutomationSpecType.TYPE_ARTIFACT), "unimplemented", "OnArtifact"),
    ],
)
def test_bad_schedules_are_refused_with_what_to_fix(sdk, version, automation, code, says):
    reply = deploy_trigger_reply(sdk, automation, version)
    assert reply.code == code, reply.explain()
    assert says in reply.json()["message"], reply.explain()


def test_unknown_triggers_and_task_versions_are_not_found(sdk, version):
    reply = deploy_trigger_reply(sdk, cron("0 0 * * *", "UTC"), "no-such-version")
    assert reply.code == "not_found" and "no-such-version" in reply.json()["message"], reply.explain()
    request = trigger_service_pb2.GetTriggerDetailsRequest(
        name=identifier_pb2.TriggerName(project=PROJECT, domain=DOMAIN, task_name=TASK, name="nothing")
    )
    reply = connect_unary(sdk, "flyteidl2.trigger.TriggerService/GetTriggerDetails", request.SerializeToString())
    assert reply.code == "not_found" and "nothing" in reply.json()["message"], reply.explain()
