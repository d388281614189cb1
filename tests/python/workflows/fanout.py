"""Parents that launch child actions and traces (QueueService / StateService on the server)."""

from __future__ import annotations

import asyncio
import os
import pathlib

import flyte

env = flyte.TaskEnvironment(name="aerie_fanout")


@env.task
async def square(n: int) -> int:
    print(f"square: {n} * {n}", flush=True)
    return n * n


@env.task
async def sum_of_squares(n: int) -> int:
    """Fans out one `square` child per number below `n` and sums their outputs."""
    results = await asyncio.gather(*(square(i) for i in range(n)))
    return sum(results)


@env.task
async def child_fails(n: int) -> int:
    raise ValueError(f"child {n} failed on purpose")


@env.task
async def parent_of_failing_child() -> int:
    return await child_fails(7)


@env.task
async def parent_catches_child_failure() -> str:
    try:
        await child_fails(8)
    except Exception as e:  # noqa: BLE001 - the point is to see the child's error here
        return f"caught: {e}"
    return "not caught"


@flyte.trace
async def traced_double(x: int) -> int:
    return 2 * x


@env.task
async def with_trace(x: int) -> int:
    """Runs a traced function inside the parent process; it becomes a TRACE action."""
    return await traced_double(x) + 1


@env.task
async def sleeping_child(pid_file: str) -> int:
    pathlib.Path(pid_file).write_text(f"{os.getpid()}\n")
    await asyncio.sleep(300)
    return 0


@env.task
async def parent_of_sleeping_child(pid_file: str) -> int:
    return await sleeping_child(pid_file)
