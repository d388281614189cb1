"""Tasks for the trust tests: a parent with a child (so calls back to aerie need a credential), a task
that reports what environment it got, and one that escapes its process group and waits."""

from __future__ import annotations

import asyncio
import os
import subprocess

import flyte

env = flyte.TaskEnvironment(name="aerie_trust")


@env.task
async def plus_one(x: int) -> int:
    return x + 1


@env.task
async def twice_plus_one(x: int) -> int:
    """Calls a child, which goes through aerie's QueueService with the attempt's credential."""
    return await plus_one(x) * 2


@env.task
async def environment_names() -> list[str]:
    """The names of every environment variable the task was started with."""
    return sorted(os.environ)


@env.task
async def escape_and_wait(seconds: int, pid_file: str) -> int:
    """Starts a sleeper in a session of its own (out of the task's process group), writes its pid
    to `pid_file` (the test runs on the same host), then waits."""
    sleeper = subprocess.Popen(["sleep", str(seconds)], start_new_session=True)
    with open(pid_file + ".tmp", "w") as f:
        f.write(str(sleeper.pid))
    os.rename(pid_file + ".tmp", pid_file)
    await asyncio.sleep(seconds)
    return sleeper.pid
