"""How aerie runs a task (contract section 4): types, files, environment, retries, reports, code.

Exercised: argument templates and environment of `a0`, the raw-data prefix for offloaded values,
per-attempt prefixes and retries, report.html and the code bundle through CreateDownloadLink.
"""

from __future__ import annotations

import asyncio
import pathlib
import time
import uuid

import flyte
import flyte.errors
import flyte.remote
import pytest
from flyte.models import ActionPhase
from flyte.remote._logs import Logs
from flyteidl2.common import phase_pb2
from flyteidl2.workflow import run_definition_pb2
from helpers import DOMAIN, PROJECT, action_id, process_is_gone, storage_env, wait_terminal, wait_until
from workflows import basic, extras


def test_richer_typed_inputs_and_outputs_round_trip(sdk):
    run = flyte.run(extras.typed_roundtrip, xs=[1, 2, 3], weights={"a": 0.5, "b": 2.0}, flag=True, note="hi")
    details = wait_terminal(run)

    assert details.phase == ActionPhase.SUCCEEDED, details.error_message
    assert run.outputs()[0] == {"a": -3.0, "b": -12.0, "note-length": 2.0}
    assert dict(run.inputs()) == {"xs": [1, 2, 3], "weights": {"a": 0.5, "b": 2.0}, "flag": True, "note": "hi"}


def test_a_file_output_is_readable_by_the_client(sdk, tmp_path, monkeypatch):
    for name, value in storage_env(sdk).items():
        monkeypatch.setenv(name, value)
    text = f"hello from a task file {uuid.uuid4().hex}\n"
    run = flyte.run(extras.write_file, text=text)
    details = wait_terminal(run)

    assert details.phase == ActionPhase.SUCCEEDED, details.error_message
    [file] = run.outputs()
    local = file.download_sync(str(tmp_path / "downloaded.txt"))
    assert pathlib.Path(local).read_text() == text


def test_the_task_process_gets_the_documented_environment(sdk):
    run = flyte.with_runcontext(env_vars={"AERIE_TEST_RUN_ENV": "from-run-spec"}).run(extras.read_env)
    details = wait_terminal(run)

    assert details.phase == ActionPhase.SUCCEEDED, details.error_message
    [seen] = run.outputs()
    assert seen["AERIE_TEST_TASK_ENV"] == "from-task-environment", seen
    assert seen["AERIE_TEST_RUN_ENV"] == "from-run-spec", seen
    assert seen["FLYTE_ATTEMPT_NUMBER"] == "0", seen
    assert seen["RUN_NAME"] == run.name and seen["ACTION_NAME"] == "a0", seen
    assert seen["FLYTE_INTERNAL_EXECUTION_PROJECT"] == PROJECT, seen
    assert seen["FLYTE_INTERNAL_EXECUTION_DOMAIN"] == DOMAIN, seen
    assert seen["_U_ORG_NAME"] not in ("", "<unset>"), seen
    assert seen["_U_RUN_BASE set"] == "True", seen
    assert "workflows" in seen["cwd entries"].split(","), f"the code bundle is unpacked in the cwd: {seen}"


def test_a_retried_task_keeps_one_record_per_attempt(sdk, tmp_path):
    marker = tmp_path / "first-attempt-ran"
    run = flyte.run(extras.fail_once_then_succeed, marker=str(marker))
    first = flyte.remote.ActionDetails.get(run_name=run.name, name="a0")
    phases = [d.raw_phase for d in flyte.remote.ActionDetails.watch(first.action_id)]
    details = wait_terminal(run)

    assert details.phase == ActionPhase.SUCCEEDED, details.error_message
    assert phase_pb2.ACTION_PHASE_FAILED not in phases, "a non-final failed attempt must never be published as FAILED"
    assert run.outputs()[0] == 1, "FLYTE_ATTEMPT_NUMBER is 0-based: the retry is attempt 1"
    assert details.attempts == 2 and [a.attempt for a in details.pb2.attempts] == [1, 2]
    failed, succeeded = details.pb2.attempts
    assert failed.phase == phase_pb2.ACTION_PHASE_FAILED
    assert failed.error_info.kind == run_definition_pb2.ErrorInfo.KIND_USER
    assert "first attempt fails on purpose" in failed.error_info.message
    assert failed.logs_available and succeeded.logs_available
    assert succeeded.phase == phase_pb2.ACTION_PHASE_SUCCEEDED
    assert details.error_info is None, "the action succeeded; only the first attempt failed"

    first_log = [line.message for line in Logs.tail(action_id=action_id(run.name), attempt=1)]
    second_log = [line.message for line in Logs.tail(action_id=action_id(run.name), attempt=2)]
    assert any("attempt 0 fails" in m for m in first_log), first_log
    assert any("attempt 1 succeeds" in m for m in second_log), second_log
    assert not any("attempt 1 succeeds" in m for m in first_log), "each attempt has its own log"


def test_an_html_report_is_served_through_a_download_link(sdk):
    title = f"report {uuid.uuid4().hex[:8]}"
    run = flyte.run(extras.with_report, title=title)
    details = wait_terminal(run)

    assert details.phase == ActionPhase.SUCCEEDED, details.error_message
    html = run.get_report()
    assert f"<h1>{title}</h1>" in html


def test_a_run_without_a_report_says_so(succeeded_run):
    with pytest.raises(RuntimeError, match="No report is available"):
        flyte.remote.Run.get(succeeded_run.name).get_report()


def test_the_code_bundle_of_a_run_can_be_downloaded(succeeded_run, tmp_path):
    run = flyte.remote.Run.get(succeeded_run.name)

    assert run.code_bundle() is not None and run.code_bundle().tgz, "the run records its bundle URI"
    src = run.download_code(dest=tmp_path / "code")

    assert (src / "workflows" / "basic.py").read_text() == pathlib.Path(basic.__file__).read_text()


def test_a_user_named_run_keeps_its_name_and_a_duplicate_name_is_refused(sdk):
    name = "named-" + uuid.uuid4().hex[:10]
    run = flyte.with_runcontext(name=name).run(basic.add_and_greet, x=5, name="named")
    assert run.name == name
    assert wait_terminal(run).phase == ActionPhase.SUCCEEDED

    with pytest.raises(Exception) as excinfo:
        flyte.with_runcontext(name=name).run(basic.add_and_greet, x=6, name="again")

    assert "exist" in str(excinfo.value).lower(), repr(excinfo.value)
    assert tuple(flyte.remote.Run.get(name).outputs()) == (6, "hello named"), "the first run is untouched"


def test_a_process_that_exits_non_zero_without_an_error_document_is_a_system_failure(sdk):
    run = flyte.run(extras.exit_without_error_document, status=3)
    details = wait_terminal(run)

    assert details.phase == ActionPhase.FAILED
    assert details.error_info is not None
    assert details.error_info.kind == run_definition_pb2.ErrorInfo.KIND_SYSTEM, details.error_info
    assert "3" in details.error_info.message, f"the message should give the exit status: {details.error_info}"


def test_a_process_killed_by_a_signal_is_a_system_failure_that_names_the_signal(sdk):
    run = flyte.run(extras.kill_itself)
    details = wait_terminal(run)

    assert details.phase == ActionPhase.FAILED
    assert details.error_info.kind == run_definition_pb2.ErrorInfo.KIND_SYSTEM, details.error_info
    message = details.error_info.message.lower()
    assert "signal" in message or "kill" in message, details.error_info


def test_many_runs_at_once_all_finish(sdk):
    async def submit_and_wait(i: int):
        run = await flyte.run.aio(basic.add_and_greet, x=i, name=f"crowd{i}")
        await asyncio.wait_for(run.wait.aio(quiet=True), 240)
        return run.name, tuple(await run.outputs.aio())

    async def crowd():
        return await asyncio.gather(*(submit_and_wait(i) for i in range(12)))

    results = asyncio.run(crowd())

    assert sorted(out for _, out in results) == sorted((i + 1, f"hello crowd{i}") for i in range(12))
    assert len({name for name, _ in results}) == 12


def test_aborting_right_after_submission_means_the_task_never_runs(sdk, tmp_path):
    pid_file = tmp_path / "pids.txt"
    run = flyte.run(basic.sleep_and_record_pids, pid_file=str(pid_file), seconds=300)
    run.abort(reason="changed my mind")
    details = wait_terminal(run, timeout=30)

    assert details.phase == ActionPhase.ABORTED
    assert details.abort_info.reason == "changed my mind"
    time.sleep(5)
    if pid_file.exists():
        pids = [int(p) for p in pid_file.read_text().split()]
        assert all(process_is_gone(pid) for pid in pids), f"an aborted run left processes behind: {pids}"


def test_a_task_past_its_timeout_ends_timed_out_and_is_killed(sdk, tmp_path):
    pid_file = tmp_path / "pid"
    started = time.monotonic()
    run = flyte.run(extras.overrun_timeout, pid_file=str(pid_file))
    details = wait_terminal(run, timeout=90)

    assert details.phase == ActionPhase.TIMED_OUT, f"{details.phase}: {details.error_message}"
    assert time.monotonic() - started < 60
    assert details.error_info is not None and details.error_info.code == "MAX_RUNTIME_EXCEEDED", details.error_info
    with pytest.raises(flyte.errors.MaxRuntimeExceededError):
        flyte.remote.Run.get(run.name).raise_for_status()
    pid = int(pid_file.read_text())
    wait_until(lambda: process_is_gone(pid), 10, f"the timed-out process {pid} to be gone")
