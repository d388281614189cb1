"""A leaf task run through the official SDK succeeds, and its typed inputs and outputs read back.

Exercised RPCs: SelectCluster, CreateUploadLocation + signed PUT, UploadInputs, CreateRun,
WatchActionDetails, GetRunDetails, GetActionDetails, GetActionData.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import flyte
import flyte.remote
from flyte.models import ActionPhase
from helpers import DOMAIN, PROJECT


def test_leaf_task_succeeds_with_typed_outputs_read_by_run_outputs(succeeded_run):
    assert succeeded_run.details.phase == ActionPhase.SUCCEEDED, succeeded_run.details.error_message

    outputs = succeeded_run.run.outputs()

    assert tuple(outputs) == (42, "hello aerie")
    assert isinstance(outputs[0], int) and isinstance(outputs[1], str)
    assert outputs.named_outputs == {"o0": 42, "o1": "hello aerie"}


def test_action_details_outputs_read_the_same_typed_values(succeeded_run):
    details = flyte.remote.ActionDetails.get(run_name=succeeded_run.name, name="a0")

    outputs = asyncio.run(details.outputs())

    assert tuple(outputs) == (42, "hello aerie")
    raw = asyncio.run(details.output_literals())
    assert sorted(raw) == ["o0", "o1"]
    assert raw["o0"].scalar.primitive.integer == 42
    assert raw["o1"].scalar.primitive.string_value == "hello aerie"


def test_inputs_read_back_typed_through_action_details_and_run(succeeded_run):
    details = flyte.remote.ActionDetails.get(run_name=succeeded_run.name, name="a0")

    inputs = asyncio.run(details.inputs())

    assert dict(inputs) == {"x": 41, "name": "aerie"}
    assert dict(succeeded_run.run.inputs()) == {"x": 41, "name": "aerie"}


def test_action_details_members_describe_the_root_action(succeeded_run):
    d = flyte.remote.ActionDetails.get(run_name=succeeded_run.name, name="a0")

    assert d.name == "a0"
    assert d.run_name == succeeded_run.name
    assert d.action_id.run.project == PROJECT and d.action_id.run.domain == DOMAIN
    assert d.task_name == "aerie_tests.add_and_greet"
    assert d.parent_name is None, "a0 has no parent"
    assert d.phase == ActionPhase.SUCCEEDED and d.done() and not d.is_running
    assert d.error_info is None and d.abort_info is None
    assert d.attempts == 1
    assert len(d.pb2.attempts) == 1 and d.pb2.attempts[0].attempt == 1
    assert d.status.HasField("start_time") and d.status.HasField("end_time")
    assert timedelta(0) < d.runtime < timedelta(minutes=5)
    assert d.pb2.HasField("task"), "ActionDetails.task (the TaskSpec) is needed for typed reads"
    assert d.pb2.task.task_template.interface.inputs.variables, "task interface must be echoed back"
    assert d.metadata.task.id.name == "aerie_tests.add_and_greet"


def test_get_run_details_returns_the_same_root_action(succeeded_run):
    run_details = flyte.remote.RunDetails.get(name=succeeded_run.name)
    action_details = flyte.remote.ActionDetails.get(run_name=succeeded_run.name, name="a0")

    assert run_details.name == succeeded_run.name
    assert run_details.action_details.phase == ActionPhase.SUCCEEDED
    assert run_details.action_details.pb2.status == action_details.pb2.status
    assert run_details.action_details.pb2.attempts == action_details.pb2.attempts
    assert run_details.pb2.HasField("run_spec"), "RunDetails.run_spec should be the spec CreateRun received"

    run = flyte.remote.Run.get(succeeded_run.name)
    assert run.phase == ActionPhase.SUCCEEDED and run.done()


def test_two_runs_of_the_same_task_reuse_the_uploaded_code_bundle(sdk, succeeded_run):
    """The SDK caches the bundle URI it uploaded; a second run must still find that bundle."""
    from helpers import wait_terminal
    from workflows import basic

    run = flyte.run(basic.add_and_greet, x=1, name="again")
    details = wait_terminal(run)

    assert details.phase == ActionPhase.SUCCEEDED, details.error_message
    assert tuple(run.outputs()) == (2, "hello again")
    assert run.name != succeeded_run.name
