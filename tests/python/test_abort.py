"""Aborting a running task: it ends ABORTED with the reason, quickly, and its process tree is gone."""

from __future__ import annotations

import time
from pathlib import Path

import flyte
import flyte.remote
from connectrpc.code import Code
from connectrpc.errors import ConnectError
from flyte.models import ActionPhase
from helpers import DOMAIN, PROJECT, flyte_cli, process_is_gone, wait_terminal, wait_until
from workflows import basic

ABORT_DEADLINE_S = 15.0


def start_sleeper(tmp_path: Path):
    """Submit a task that sleeps 300 s and wait until its process (and child) has started."""
    pid_file = tmp_path / "pids.txt"
    run = flyte.run(basic.sleep_and_record_pids, pid_file=str(pid_file), seconds=300)
    wait_until(pid_file.exists, 90, f"run {run.name} to start its task process (pid file {pid_file})")
    task_pid, child_pid = (int(p) for p in pid_file.read_text().split())
    assert not process_is_gone(task_pid) and not process_is_gone(child_pid)
    return run, task_pid, child_pid


def assert_aborted(run, reason: str, started: float, pids: tuple[int, ...]) -> None:
    details = wait_terminal(run, timeout=60)
    elapsed = time.monotonic() - started
    assert details.phase == ActionPhase.ABORTED, f"{details.phase}: {details.error_message}"
    assert elapsed < ABORT_DEADLINE_S, f"abort took {elapsed:.1f}s"
    assert details.abort_info is not None, "an ABORTED action carries abort_info"
    assert details.abort_info.reason == reason
    assert details.error_info is None
    assert details.status.HasField("end_time")
    for pid in pids:
        wait_until(lambda pid=pid: process_is_gone(pid), 10, f"process {pid} of the aborted task to be gone")


def test_flyte_abort_run_ends_a_sleeping_task_aborted_with_the_reason(aerie, sdk, tmp_path):
    run, task_pid, child_pid = start_sleeper(tmp_path)
    reason = "aborted by test_flyte_abort_run"

    started = time.monotonic()
    cli = flyte_cli(aerie, "abort", "run", run.name, "--reason", reason, "-p", PROJECT, "-d", DOMAIN, cwd=tmp_path)

    assert cli.returncode == 0, cli.explain()
    assert_aborted(run, reason, started, (task_pid, child_pid))


def test_flyte_abort_action_ends_the_root_action_aborted(aerie, sdk, tmp_path):
    run, task_pid, child_pid = start_sleeper(tmp_path)
    reason = "aborted by test_flyte_abort_action"

    started = time.monotonic()
    cli = flyte_cli(
        aerie, "abort", "action", run.name, "a0", "--reason", reason, "-p", PROJECT, "-d", DOMAIN, cwd=tmp_path
    )

    assert cli.returncode == 0, cli.explain()
    assert_aborted(run, reason, started, (task_pid, child_pid))


def test_run_abort_from_the_sdk_is_seen_by_a_watcher(sdk, tmp_path):
    run, task_pid, child_pid = start_sleeper(tmp_path)
    first = flyte.remote.ActionDetails.get(run_name=run.name, name="a0")
    assert first.is_running

    started = time.monotonic()
    run.abort(reason="aborted from the SDK")
    phases = [d.phase for d in flyte.remote.ActionDetails.watch(first.action_id)]

    assert phases[-1] == ActionPhase.ABORTED, phases
    assert_aborted(run, "aborted from the SDK", started, (task_pid, child_pid))


def test_aborting_a_finished_run_changes_nothing(sdk, succeeded_run):
    run = flyte.remote.Run.get(succeeded_run.name)

    try:
        run.abort(reason="too late")  # the SDK swallows not_found itself
    except ConnectError as e:
        assert e.code == Code.FAILED_PRECONDITION, f"abort of a finished run: {e.code} {e}"

    d = flyte.remote.ActionDetails.get(run_name=succeeded_run.name, name="a0")
    assert d.phase == ActionPhase.SUCCEEDED and d.abort_info is None
