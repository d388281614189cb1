"""A fan-out whose children note when they start and end in a file the test reads, so their
overlap is measured from the tasks' own clocks."""

from __future__ import annotations

import asyncio
import time

import flyte

env = flyte.TaskEnvironment("limited")


@env.task
async def step(i: int, log_path: str) -> int:
    """Holds a slot for a second and a half, noting when."""
    with open(log_path, "a") as log:
        log.write(f"start {time.time()}\n")
    await asyncio.sleep(1.5)
    with open(log_path, "a") as log:
        log.write(f"end {time.time()}\n")
    return i


@env.task
async def fan_out(n: int, log_path: str) -> list[int]:
    """Starts `n` steps at once and waits for them all."""
    return list(await asyncio.gather(*(step(i=i, log_path=log_path) for i in range(n))))
