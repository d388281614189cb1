"""Server-streaming RPCs on the wire: WatchActionDetails and TailLogs end when they should.

The SDK hides some of this (it stops reading at a terminal phase and retries not_found), so these
tests read the raw Connect stream: envelopes, then an end-of-stream message.
"""

from __future__ import annotations

import time

import flyte
import flyte.remote
import pytest
from connectrpc.code import Code
from connectrpc.errors import ConnectError
from flyteidl2.common import phase_pb2
from flyteidl2.dataproxy import dataproxy_service_pb2
from flyteidl2.workflow import run_service_pb2
from helpers import action_id, connect_stream, wait_terminal
from workflows import basic
from workflows.basic import GREETING_LOG_LINE

WATCH = "flyteidl2.workflow.RunService/WatchActionDetails"
TAIL = "flyteidl2.dataproxy.DataProxyService/TailLogs"


def test_watch_of_a_finished_action_sends_one_message_then_closes(aerie, succeeded_run):
    req = run_service_pb2.WatchActionDetailsRequest(action_id=action_id(succeeded_run.name))

    reply = connect_stream(aerie, WATCH, req.SerializeToString(), timeout=30)

    assert reply.status == 200 and reply.end == {}, reply.explain()
    assert len(reply.messages) == 1, reply.explain()
    msg = run_service_pb2.WatchActionDetailsResponse.FromString(reply.messages[0])
    assert msg.details.status.phase == phase_pb2.ACTION_PHASE_SUCCEEDED


def test_watch_of_a_running_action_closes_right_after_the_terminal_update(aerie, sdk):
    run = flyte.run(basic.sleep_then_succeed, seconds=2.0)
    req = run_service_pb2.WatchActionDetailsRequest(action_id=action_id(run.name))

    reply = connect_stream(aerie, WATCH, req.SerializeToString(), timeout=90)

    assert reply.status == 200 and reply.end == {}, reply.explain()
    phases = [run_service_pb2.WatchActionDetailsResponse.FromString(m).details.status.phase for m in reply.messages]
    assert phases[-1] == phase_pb2.ACTION_PHASE_SUCCEEDED, phases
    assert phase_pb2.ACTION_PHASE_SUCCEEDED not in phases[:-1], f"updates after the terminal one: {phases}"


def test_watch_of_an_unknown_action_is_not_found(aerie, sdk):
    req = run_service_pb2.WatchActionDetailsRequest(action_id=action_id("no-such-run"))

    reply = connect_stream(aerie, WATCH, req.SerializeToString(), timeout=30)

    assert reply.error_code == "not_found", reply.explain()
    with pytest.raises(ConnectError) as excinfo:
        list(flyte.remote.ActionDetails.watch(action_id("no-such-run")))
    assert excinfo.value.code == Code.NOT_FOUND


def test_tail_logs_of_a_finished_attempt_sends_everything_then_closes(aerie, succeeded_run):
    req = dataproxy_service_pb2.TailLogsRequest(action_id=action_id(succeeded_run.name), attempt=1)

    reply = connect_stream(aerie, TAIL, req.SerializeToString(), timeout=30)

    assert reply.status == 200 and reply.end == {}, reply.explain()
    lines = [
        line.message
        for m in reply.messages
        for logs in dataproxy_service_pb2.TailLogsResponse.FromString(m).logs
        for line in logs.lines
    ]
    assert any(GREETING_LOG_LINE in line for line in lines), lines


@pytest.mark.parametrize("run, attempt", [("no-such-run", 1), (None, 7)], ids=["unknown-run", "attempt-not-started"])
def test_tail_logs_of_an_unknown_action_or_attempt_is_not_found(aerie, succeeded_run, run, attempt):
    req = dataproxy_service_pb2.TailLogsRequest(action_id=action_id(run or succeeded_run.name), attempt=attempt)

    reply = connect_stream(aerie, TAIL, req.SerializeToString(), timeout=30)

    assert reply.error_code == "not_found", reply.explain()


def test_tail_logs_follows_a_running_task_live_and_ends_when_it_is_over(aerie, sdk):
    from flyte.remote._logs import Logs

    run = flyte.run(basic.sleep_then_succeed, seconds=4.0)
    flyte.remote.Run.get(run.name).wait(quiet=True, wait_for="running")
    arrivals = []
    for line in Logs.tail(action_id=action_id(run.name), attempt=1):
        arrivals.append((time.monotonic(), line.message))
    ended_at = time.time()
    details = wait_terminal(run, timeout=30)

    messages = [m for _, m in arrivals]
    ticks = [t for t, m in arrivals if "sleep_then_succeed: tick" in m]
    assert details.done()
    assert any("sleep_then_succeed: done" in m for m in messages), messages
    assert len(ticks) >= 4, messages
    assert ticks[-1] - ticks[0] > 2.0, "tick lines should arrive as they are printed, not all at the end"
    terminal_at = details.pb2.status.end_time.ToMicroseconds() / 1e6
    assert ended_at - terminal_at < 5.0, f"the tail ended {ended_at - terminal_at:.1f}s after the attempt did"
