"""A task that always fails, retried with an exponential backoff; it notes when each attempt
started in a file the test reads, so the spacing is measured from the task's own clock."""

from __future__ import annotations

import time
from datetime import timedelta

import flyte
import flyte.errors

env = flyte.TaskEnvironment("paced")


@env.task(
    retries=flyte.RetryStrategy(
        count=2, backoff=flyte.Backoff(base=timedelta(seconds=2), factor=2.0, cap=timedelta(seconds=10))
    )
)
async def always_fails(log_path: str) -> int:
    """Appends when this attempt started and when it ended to `log_path`, then fails."""
    with open(log_path, "a") as log:
        log.write(f"start {time.time()}\n")
    with open(log_path, "a") as log:
        log.write(f"end {time.time()}\n")
    raise ValueError("fails on every attempt")


@env.task(retries=flyte.RetryStrategy(count=3, backoff=flyte.Backoff(base=timedelta(seconds=1))))
async def gives_up() -> int:
    """Fails in a way the task says no retry can mend."""
    raise flyte.errors.NonRecoverableError("the input can never work")
