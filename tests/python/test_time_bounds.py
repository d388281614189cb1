"""`flyte.Timeout` bounds through the official SDK: a deadline ends an action TIMED_OUT whatever
retries remain (killing a running attempt, or during a backoff wait); an attempt that waits to
start longer than its max_queued_time ends TIMED_OUT with its own error code (the codes are the
ones the SDK maps to DeadlineExceededError and MaxQueuedTimeExceededError)."""

from __future__ import annotations

import time

import flyte
from conftest import start_aerie, stop_aerie_process
from helpers import sdk_script, wait_terminal
from workflows import timed


def test_a_deadline_kills_a_running_attempt_and_leaves_no_retry(sdk):
    began = time.monotonic()
    run = flyte.run(timed.sleeps_past_its_deadline, seconds=60.0)
    details = wait_terminal(run, timeout=60)
    assert details.phase.value == "timed_out", details.error_message
    assert details.error_info.code == "DEADLINE_EXCEEDED", details.error_info
    assert details.attempts == 1, "a deadline leaves no retry"
    assert time.monotonic() - began < 30, "the 60 s sleep was cut short"


def test_a_deadline_passes_while_a_retry_waits_out_its_backoff(sdk):
    run = flyte.run(timed.fails_until_its_deadline)
    details = wait_terminal(run, timeout=60)
    assert details.phase.value == "timed_out", details.error_message
    assert details.error_info.code == "DEADLINE_EXCEEDED", details.error_info
    assert details.attempts <= 3, "retries stop at the deadline"


def test_an_attempt_that_waits_past_max_queued_time_times_out(tmp_path):
    server = start_aerie(tmp_path, extra_args=("--max-running", "1"))
    try:
        result = sdk_script(
            server.port,
            """
            from workflows import timed
            holder = flyte.run(timed.hold, seconds=30.0)
            holder.wait(quiet=True, wait_for="running")
            waiting = flyte.run(timed.must_start_soon)
            waiting.wait(quiet=True)
            d = flyte.remote.ActionDetails.get(run_name=waiting.name, name="a0")
            holder.abort()
            print(json.dumps({"phase": d.phase.value, "code": d.error_info.code if d.error_info else None,
                              "attempts": d.attempts}))
            """,
        )
    finally:
        stop_aerie_process(server.proc)
    assert result == {"phase": "timed_out", "code": "QUEUED_TIMEOUT_EXCEEDED", "attempts": 1}, result
