"""`max_action_concurrency` through the official SDK: at most that many of a run's actions run at
once, the waiting parent holding one slot, measured from the tasks' own start and end times; the
others wait in WAITING_FOR_RESOURCES with the reason; a limit of 1 is refused."""

from __future__ import annotations

import flyte
import flyte.remote
from flyteidl2.core import tasks_pb2
from flyteidl2.task import task_definition_pb2
from flyteidl2.workflow import run_service_pb2
from helpers import DOMAIN, PROJECT, connect_unary, wait_terminal, wait_until
from workflows import basic, limited

WAITING_FOR_RESOURCES = 2


def most_at_once(log_path) -> int:
    events = sorted(
        (float(t), 1 if kind == "start" else -1)
        for kind, t in (line.split() for line in log_path.read_text().splitlines())
    )
    running = peak = 0
    for _, change in events:
        running += change
        peak = max(peak, running)
    return peak


def test_a_run_never_runs_more_actions_than_its_limit_and_the_rest_wait_with_a_reason(sdk, tmp_path):
    log_path = tmp_path / "steps.log"
    run = flyte.with_runcontext(max_action_concurrency=3).run(limited.fan_out, n=5, log_path=str(log_path))
    details = wait_terminal(run, timeout=180)
    assert details.phase.value == "succeeded", details.error_message
    assert sorted(run.outputs()[0]) == [0, 1, 2, 3, 4]
    assert most_at_once(log_path) == 2, "3 slots: the waiting parent holds one, two steps run at once"

    waited = []
    for action in flyte.remote.Action.listall(for_run_name=run.name):
        if action.name == "a0":
            continue
        attempt = flyte.remote.ActionDetails.get(run_name=run.name, name=action.name).pb2.attempts[0]
        if any(t.phase == WAITING_FOR_RESOURCES for t in attempt.phase_transitions):
            waited.append(attempt.cluster_events[0])
    assert waited, "some steps waited for a slot"
    assert all(event.reason == "RunConcurrencyLimit" and "max_action_concurrency 3" in event.message for event in waited)


def test_a_limit_of_one_is_refused(sdk):
    request = run_service_pb2.CreateRunRequest()
    request.project_id.name, request.project_id.domain = PROJECT, DOMAIN
    request.task_spec.CopyFrom(task_definition_pb2.TaskSpec(task_template=tasks_pb2.TaskTemplate(type="python")))
    request.run_spec.max_action_concurrency = 1
    reply = connect_unary(sdk, "flyteidl2.workflow.RunService/CreateRun", request.SerializeToString())
    assert reply.code == "invalid_argument" and "deadlock" in reply.json()["message"], reply.explain()


def test_a_run_held_at_its_limit_does_not_hold_up_other_runs(sdk, tmp_path):
    crowded = flyte.with_runcontext(max_action_concurrency=2).run(
        limited.fan_out, n=100, log_path=str(tmp_path / "crowded.log")
    )
    try:
        wait_until(
            lambda: len(list(flyte.remote.Action.listall(for_run_name=crowded.name))) > 90,
            timeout=90,
            what="the crowded run's children to be queued behind its limit",
        )
        other = flyte.run(basic.add_and_greet, x=1, name="other")
        # Held behind the crowded run's waiting children, it would wait for dozens of them.
        details = wait_terminal(other, timeout=20)
        assert details.phase.value == "succeeded", details.error_message
        assert not flyte.remote.Run.get(crowded.name).done(), "the other run ended while the crowded one waits"
    finally:
        crowded.abort()
