"""A pipeline that fails at its last step until the run's environment says otherwise, so a
recovery run can reuse what succeeded. Every task body and the trace note each execution in a
file the test reads."""

from __future__ import annotations

import asyncio
import os

import flyte

env = flyte.TaskEnvironment("recoverable")


def note(log_path: str, line: str) -> None:
    with open(log_path, "a") as log:
        log.write(line + "\n")


@env.task
async def prep(i: int, log_path: str) -> int:
    note(log_path, f"prep {i}")
    return i * 10


@flyte.trace
async def measure(parts: list[int], log_path: str) -> int:
    note(log_path, "measure")
    return len(parts)


@env.task
async def flaky_join(parts: list[int], log_path: str) -> int:
    note(log_path, "join")
    if os.environ.get("FLAKY_OK") != "1":
        raise ValueError("the join fails until FLAKY_OK=1")
    return sum(parts)


@env.task
async def pipeline(n: int, log_path: str) -> int:
    parts = list(await asyncio.gather(*(prep(i=i, log_path=log_path) for i in range(n))))
    count = await measure(parts, log_path)
    return await flaky_join(parts=parts, log_path=log_path) + count
