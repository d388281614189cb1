"""A task that raises reports the user's error: message, kind USER and code, on the action and attempt."""

from __future__ import annotations

import flyte.remote
import pytest
from flyte.models import ActionPhase
from flyteidl2.common import phase_pb2
from flyteidl2.workflow import run_definition_pb2

MESSAGE = "boom: the answer was 41"


def test_failing_task_gives_error_info_with_message_and_user_kind(failed_run):
    d = flyte.remote.ActionDetails.get(run_name=failed_run.name, name="a0")

    assert d.phase == ActionPhase.FAILED
    assert d.error_info is not None, "a FAILED action must carry error_info"
    assert MESSAGE in d.error_info.message
    assert d.error_info.kind == run_definition_pb2.ErrorInfo.KIND_USER, (
        f"kind {run_definition_pb2.ErrorInfo.Kind.Name(d.error_info.kind)}"
    )
    assert "ValueError" in d.error_info.code
    assert MESSAGE in d.error_message
    assert d.abort_info is None
    assert d.status.HasField("end_time")


def test_failed_attempt_keeps_its_own_error_info(failed_run):
    d = flyte.remote.ActionDetails.get(run_name=failed_run.name, name="a0")

    assert d.attempts == 1 and len(d.pb2.attempts) == 1
    attempt = d.pb2.attempts[0]
    assert attempt.phase == phase_pb2.ACTION_PHASE_FAILED
    assert attempt.HasField("error_info"), "each failed attempt records its error"
    assert MESSAGE in attempt.error_info.message
    assert attempt.error_info.kind == run_definition_pb2.ErrorInfo.KIND_USER
    assert attempt.HasField("end_time")


def test_raise_for_status_rebuilds_the_users_exception(failed_run):
    run = flyte.remote.Run.get(failed_run.name)

    with pytest.raises(Exception) as excinfo:
        run.raise_for_status()

    assert MESSAGE in str(excinfo.value)


def test_failed_run_is_found_by_phase_filter(failed_run, succeeded_run):
    failed = {r.name for r in flyte.remote.Run.listall(in_phase=(ActionPhase.FAILED,))}
    succeeded = {r.name for r in flyte.remote.Run.listall(in_phase=(ActionPhase.SUCCEEDED,))}
    either = {r.name for r in flyte.remote.Run.listall(in_phase=(ActionPhase.FAILED, ActionPhase.SUCCEEDED))}

    assert failed_run.name in failed and succeeded_run.name not in failed
    assert succeeded_run.name in succeeded and failed_run.name not in succeeded
    assert {failed_run.name, succeeded_run.name} <= either


def test_first_failure_points_at_the_failed_root(failed_run):
    run = flyte.remote.Run.get(failed_run.name)

    first = run.first_failure()

    assert first is not None and first.name == "a0"
    assert MESSAGE in first.error_message
