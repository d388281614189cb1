"""Tasks that launch child actions and traces: QueueService/EnqueueAction and StateService/Watch.

Skipped while the server does not serve QueueService (a parent would retry EnqueueAction for ~20
minutes before giving up).
"""

from __future__ import annotations

import asyncio
import time

import flyte
import flyte.remote
import pytest
from flyte.models import ActionPhase
from flyteidl2.workflow import run_definition_pb2
from helpers import DOMAIN, PROJECT, connect_unary, flyte_cli, process_is_gone, wait_terminal, wait_until
from workflows import fanout


@pytest.fixture(scope="module", autouse=True)
def queue_service_is_served(aerie, sdk):
    reply = connect_unary(aerie, "flyteidl2.workflow.QueueService/EnqueueAction", b"")
    if reply.code == "unimplemented" or reply.status == 404:
        pytest.skip(f"aerie does not serve QueueService/EnqueueAction yet ({reply.explain()})")


def children_of(run_name: str) -> list:
    return [a for a in flyte.remote.Action.listall(for_run_name=run_name) if a.name != "a0"]


def test_a_parent_fans_out_children_and_sums_their_outputs(sdk):
    run = flyte.run(fanout.sum_of_squares, n=4)
    details = wait_terminal(run, timeout=180)

    assert details.phase == ActionPhase.SUCCEEDED, details.error_message
    assert run.outputs()[0] == 0 + 1 + 4 + 9
    children = children_of(run.name)
    assert len(children) == 4, [c.name for c in children]
    assert all(c.phase == ActionPhase.SUCCEEDED for c in children)
    assert all(c.parent_name == "a0" for c in children)
    assert {c.task_name for c in children} == {"aerie_fanout.square"}
    outputs = set()
    for child in children:
        d = flyte.remote.ActionDetails.get(run_name=run.name, name=child.name)
        assert d.attempts == 1 and d.pb2.attempts[0].logs_available
        outputs.add(asyncio.run(d.outputs())[0])
    assert outputs == {0, 1, 4, 9}
    direct = list(flyte.remote.Action.listall(for_run_name=run.name, parent_name="a0"))
    assert sorted(a.name for a in direct) == sorted(c.name for c in children)


def test_flyte_get_action_lists_the_children(aerie, sdk, tmp_path):
    run = flyte.run(fanout.sum_of_squares, n=2)
    wait_terminal(run, timeout=180)

    cli = flyte_cli(aerie, "get", "action", run.name, "-p", PROJECT, "-d", DOMAIN, cwd=tmp_path)

    assert cli.returncode == 0, cli.explain()
    for child in children_of(run.name):
        assert child.name in cli.stdout, cli.explain()


def test_a_failing_child_fails_the_parent_with_the_childs_message(sdk):
    run = flyte.run(fanout.parent_of_failing_child)
    details = wait_terminal(run, timeout=180)

    assert details.phase == ActionPhase.FAILED
    assert "child 7 failed on purpose" in details.error_message
    [child] = children_of(run.name)
    child_details = flyte.remote.ActionDetails.get(run_name=run.name, name=child.name)
    assert child_details.phase == ActionPhase.FAILED
    assert child_details.error_info.kind == run_definition_pb2.ErrorInfo.KIND_USER
    assert "child 7 failed on purpose" in child_details.error_message
    assert run.first_failure().name == child.name, "first_failure prefers the failed child"


def test_a_parent_can_catch_a_childs_failure(sdk):
    run = flyte.run(fanout.parent_catches_child_failure)
    details = wait_terminal(run, timeout=180)

    assert details.phase == ActionPhase.SUCCEEDED, details.error_message
    assert "child 8 failed on purpose" in run.outputs()[0]


def test_a_trace_is_recorded_as_a_terminal_trace_action(sdk):
    started = time.monotonic()
    run = flyte.run(fanout.with_trace, x=5)
    details = wait_terminal(run, timeout=180)

    assert details.phase == ActionPhase.SUCCEEDED, details.error_message
    assert run.outputs()[0] == 11
    assert time.monotonic() - started < 45, "a trace must be echoed at once, not after the SDK's 60s timeout"
    [trace] = children_of(run.name)
    d = flyte.remote.ActionDetails.get(run_name=run.name, name=trace.name)
    assert d.phase == ActionPhase.SUCCEEDED
    assert d.metadata.action_type == run_definition_pb2.ACTION_TYPE_TRACE
    assert d.metadata.trace.name.endswith("traced_double")
    assert asyncio.run(d.outputs())[0] == 10


def test_aborting_a_run_aborts_its_children_and_their_processes(aerie, sdk, tmp_path):
    pid_file = tmp_path / "child.pid"
    run = flyte.run(fanout.parent_of_sleeping_child, pid_file=str(pid_file))
    wait_until(pid_file.exists, 120, "the child task to start")
    child_pid = int(pid_file.read_text())

    cli = flyte_cli(
        aerie, "abort", "run", run.name, "--reason", "abort the tree", "-p", PROJECT, "-d", DOMAIN, cwd=tmp_path
    )

    assert cli.returncode == 0, cli.explain()
    details = wait_terminal(run, timeout=60)
    assert details.phase == ActionPhase.ABORTED
    [child] = children_of(run.name)
    child_details = flyte.remote.ActionDetails.get(run_name=run.name, name=child.name)
    assert child_details.phase == ActionPhase.ABORTED, child_details.phase
    wait_until(lambda: process_is_gone(child_pid), 15, f"the child's process {child_pid} to be gone")
