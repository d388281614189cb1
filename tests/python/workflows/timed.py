"""Tasks bounded by `flyte.Timeout`: a deadline across every attempt, and a max_queued_time."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import flyte

env = flyte.TaskEnvironment("timed")


@env.task(timeout=flyte.Timeout(deadline=timedelta(seconds=3)), retries=3)
async def sleeps_past_its_deadline(seconds: float) -> str:
    """Sleeps `seconds`; the deadline ends it first, retries left or not."""
    await asyncio.sleep(seconds)
    return "finished"


@env.task(
    timeout=flyte.Timeout(deadline=timedelta(seconds=4)),
    retries=flyte.RetryStrategy(count=5, backoff=flyte.Backoff(base=timedelta(seconds=3))),
)
async def fails_until_its_deadline() -> int:
    """Fails every attempt; the deadline passes while a retry waits out its backoff."""
    raise ValueError("not yet")


@env.task(timeout=flyte.Timeout(max_queued_time=timedelta(seconds=2)))
async def must_start_soon() -> str:
    """Returns at once, if it gets to start within two seconds."""
    return "started"


@env.task(timeout=flyte.Timeout(max_queued_time=timedelta(seconds=2)), retries=1)
async def must_start_soon_twice() -> str:
    """Like `must_start_soon`, with one retry for a queue wait that ran too long."""
    return "started"


@env.task
async def hold(seconds: float) -> str:
    """Occupies a slot for `seconds`."""
    await asyncio.sleep(seconds)
    return "held"
