"""Watching an action: every phase in order, ending at a terminal phase (WatchActionDetails).

A watch that starts right after `flyte.run` returns may begin in QUEUED or a later phase; the
attempt's `phase_transitions` hold the whole history, so those are checked too.
"""

from __future__ import annotations

import asyncio
import itertools

import flyte
import flyte.remote
import pytest
from flyte.models import ActionPhase
from flyteidl2.common import phase_pb2
from helpers import TERMINAL, phase_name, phase_rank, wait_terminal
from workflows import basic

EARLY = {
    phase_pb2.ACTION_PHASE_QUEUED,
    phase_pb2.ACTION_PHASE_WAITING_FOR_RESOURCES,
    phase_pb2.ACTION_PHASE_INITIALIZING,
}


def assert_phases_in_order(phases: list[int], final: int = phase_pb2.ACTION_PHASE_SUCCEEDED) -> None:
    names = [phase_name(p) for p in phases]
    assert phases, "the watch yielded nothing"
    assert phase_pb2.ACTION_PHASE_UNSPECIFIED not in phases, f"phase 0 was sent: {names}"
    assert all(phase_rank(a) <= phase_rank(b) for a, b in itertools.pairwise(phases)), f"phases went backwards: {names}"
    assert phases[-1] == final, f"watch ended at {names[-1]}, expected {phase_name(final)}: {names}"
    assert sum(p in TERMINAL for p in phases) == 1, f"exactly one terminal update expected, then the end: {names}"
    assert phases[0] in EARLY | {phase_pb2.ACTION_PHASE_RUNNING}, f"first update {names[0]}"
    assert phase_pb2.ACTION_PHASE_RUNNING in phases, f"a task that sleeps 3s must be seen RUNNING: {names}"


@pytest.fixture
def sleeping_run(sdk):
    """A fresh run of a task that stays RUNNING for 3 seconds."""
    return flyte.run(basic.sleep_then_succeed, seconds=3.0)


def test_watch_sees_phases_in_order_ending_at_succeeded(sleeping_run):
    first = flyte.remote.ActionDetails.get(run_name=sleeping_run.name, name="a0")
    phases = []
    running_updates = []

    for d in flyte.remote.ActionDetails.watch(first.action_id):
        phases.append(d.raw_phase)
        if d.is_running:
            running_updates.append(d)

    assert_phases_in_order(phases)
    assert all(d.logs_available() for d in running_updates), "logs_available must be true once RUNNING"
    assert all(d.attempts >= 1 for d in running_updates)


def test_watch_aio_sees_phases_in_order_ending_at_succeeded(sleeping_run):
    async def watch() -> list[int]:
        first = await flyte.remote.ActionDetails.get.aio(run_name=sleeping_run.name, name="a0")
        return [d.raw_phase async for d in flyte.remote.ActionDetails.watch.aio(first.action_id)]

    assert_phases_in_order(asyncio.run(watch()))


@pytest.mark.xfail(
    strict=True,
    raises=TypeError,
    reason="flyte 2.12.1 bug: ActionDetails.watch_updates calls self.watch.aio(), which binds the instance "
    "as `cls` of the syncified classmethod, so the first update fails with "
    "\"'ActionDetails' object is not callable\" whatever the server sends",
)
def test_watch_updates_ends_at_terminal_and_caches_outputs(sleeping_run):
    async def watch():
        details = await flyte.remote.ActionDetails.get.aio(run_name=sleeping_run.name, name="a0")
        phases = [d.raw_phase async for d in details.watch_updates(cache_data_on_done=True)]
        return details, phases

    details, phases = asyncio.run(watch())

    assert_phases_in_order(phases)
    assert details.done() and details.phase == ActionPhase.SUCCEEDED
    assert tuple(asyncio.run(details.outputs())) == ("slept 3.0s",)


def test_run_watch_ends_at_terminal_and_caches_outputs(sleeping_run):
    """`Run.watch(cache_data_on_done=True)`: the working twin of `watch_updates` in this SDK."""

    async def watch() -> list[int]:
        return [d.raw_phase async for d in sleeping_run.watch(cache_data_on_done=True)]

    phases = asyncio.run(watch())

    assert_phases_in_order(phases)
    assert sleeping_run.done() and sleeping_run.phase == ActionPhase.SUCCEEDED
    cached = sleeping_run.action._details
    assert cached is not None and cached._outputs is not None, "outputs cached when the watch ended"
    assert tuple(cached._outputs) == ("slept 3.0s",)


def test_attempt_phase_transitions_record_the_whole_lifecycle(sleeping_run):
    details = wait_terminal(sleeping_run)

    transitions = details.get_phase_transitions()
    phases = [t.phase for t in transitions]

    assert phases[0] == ActionPhase.QUEUED, phases
    assert ActionPhase.RUNNING in phases, phases
    assert phases[-1] == ActionPhase.SUCCEEDED, phases
    ranks = [phase_rank(phase_pb2.ActionPhase.Value("ACTION_PHASE_" + p.name)) for p in phases]
    assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks), f"transitions repeat or go back: {phases}"
    assert all(t.end_time is not None for t in transitions[:-1]), "every phase but the last has ended"
    starts = [t.start_time for t in transitions]
    assert starts == sorted(starts)
    assert details.running_time is not None and details.running_time.total_seconds() >= 2.5


def test_watch_of_a_finished_action_yields_one_terminal_update_and_ends(succeeded_run):
    phases = [d.raw_phase for d in flyte.remote.ActionDetails.watch(succeeded_run.details.action_id)]

    assert phases == [phase_pb2.ACTION_PHASE_SUCCEEDED]


def test_outputs_are_not_served_before_the_action_is_terminal(sdk):
    """GetActionData leaves `outputs` unset until SUCCEEDED; the SDK then reads no output literals."""
    run = flyte.run(basic.sleep_then_succeed, seconds=4.0)
    try:
        details = flyte.remote.ActionDetails.get(run_name=run.name, name="a0")
        assert not details.done()

        data = asyncio.run(details._fetch_action_data())

        assert not data.HasField("outputs") or not data.outputs.literals, data
        assert data.HasField("inputs") and [n.name for n in data.inputs.literals] == ["seconds"]
        assert asyncio.run(details.output_literals()) == {}
    finally:
        wait_terminal(run)
