"""Retry backoff through the official SDK: the n-th retry (0-indexed) starts
`min(base * factor**n, cap)` after the attempt before it ended, measured from the task's own
clock; the wait shows as the next attempt's QUEUED time."""

from __future__ import annotations

import flyte
from helpers import wait_terminal
from workflows import paced

# A process start is not instant; the spacing is checked from below and loosely from above.
SLACK_S = 6.0


def test_retries_wait_out_an_exponential_backoff(sdk, tmp_path):
    log_path = tmp_path / "attempts.log"
    run = flyte.run(paced.always_fails, log_path=str(log_path))
    details = wait_terminal(run, timeout=180)
    assert details.phase.value == "failed"
    assert details.attempts == 3

    events = [line.split() for line in log_path.read_text().splitlines()]
    starts = [float(t) for kind, t in events if kind == "start"]
    ends = [float(t) for kind, t in events if kind == "end"]
    assert len(starts) == 3, events
    first_wait, second_wait = starts[1] - ends[0], starts[2] - ends[1]
    assert 2.0 <= first_wait < 2.0 + SLACK_S, f"retry 0 waits base (2 s), waited {first_wait:.2f} s"
    assert 4.0 <= second_wait < 4.0 + SLACK_S, f"retry 1 waits base*factor (4 s), waited {second_wait:.2f} s"

    queued = [
        transition
        for attempt in details.pb2.attempts[1:]
        for transition in attempt.phase_transitions
        if transition.phase == 1
    ]
    assert len(queued) == 2
    waits = [t.end_time.ToDatetime() - t.start_time.ToDatetime() for t in queued]
    assert waits[0].total_seconds() >= 2.0 and waits[1].total_seconds() >= 4.0, waits


def test_a_non_recoverable_error_is_never_retried(sdk):
    run = flyte.run(paced.gives_up)
    details = wait_terminal(run, timeout=120)
    assert details.phase.value == "failed"
    assert details.attempts == 1, "NonRecoverableError ends the action with retries left"
    assert "can never work" in details.error_message
