"""Cached tasks that note every real execution of their bodies in a file the test reads (one line
per execution), so a cache hit is proven by what did not happen, not by aerie's records.

The note file's path is an input, so each test has its own cache keys."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import flyte
from flyte.io import File

env = flyte.TaskEnvironment("cached")

BY_VERSION = flyte.Cache("override", version_override="v1")


def note(log_path: str, line: str) -> None:
    with open(log_path, "a") as log:
        log.write(line + "\n")


@env.task(cache=BY_VERSION)
async def square(x: int, log_path: str) -> int:
    note(log_path, f"square {x}")
    return x * x


@env.task
async def square_twice(x: int, log_path: str) -> int:
    """Calls the cached `square` twice with the same inputs: the second call is a hit."""
    first = await square(x=x, log_path=log_path)
    second = await square(x=x, log_path=log_path)
    return first + second


@env.task(cache=flyte.Cache("override", version_override="v1", ignored_inputs=("comment",)))
async def stamp(log_path: str, comment: str = "") -> float:
    """When it ran; `comment` is not part of the cache key."""
    note(log_path, f"stamp {comment}")
    return time.time()


@env.task(cache=BY_VERSION)
async def fails_the_first_time(log_path: str) -> int:
    """Fails on its first execution, succeeds after."""
    executions = Path(log_path).read_text().count("\n") if Path(log_path).exists() else 0
    note(log_path, "fails_the_first_time")
    if executions == 0:
        raise ValueError("the first execution fails")
    return executions


@env.task(cache=flyte.Cache("override", version_override="v1", serialize=True))
async def slow_square(x: int, log_path: str) -> int:
    """Holds its key for a few seconds, so a twin started meanwhile has to wait."""
    note(log_path, f"slow_square {x}")
    await asyncio.sleep(4)
    return x * x


@env.task(cache="disable")
async def uncached(x: int, log_path: str) -> int:
    note(log_path, f"uncached {x}")
    return x


@env.task(cache=BY_VERSION)
async def write_file(text: str, log_path: str) -> File:
    """A File made in the task's own run; a hit in another run hands that run this File."""
    note(log_path, f"write_file {text}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "note.txt"
        path.write_text(text)
        return await File.from_local(str(path))


@env.task
async def read_cached_file(text: str, log_path: str) -> str:
    """Reads the File the cached `write_file` returns, wherever it was made."""
    made = await write_file(text=text, log_path=log_path)
    return Path(await made.download()).read_text()
