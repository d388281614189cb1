"""Tasks the browser tests open in the console: typed inputs and outputs (lists, maps, a
dataclass, a file), a task that talks slowly (live logs, live phases, abort), hostile text in a
log and an error, and a fan-out inside a group."""

from __future__ import annotations

import asyncio
import pathlib
import tempfile
from dataclasses import dataclass

import flyte
from flyte.io import File

env = flyte.TaskEnvironment("showcase")

HOSTILE_LOG = '<script>window.__pwned = "log"</script>'
HOSTILE_ERROR = '<img src=x onerror="window.__pwned = \'error\'">'


@dataclass
class Point:
    x: int
    label: str


@env.task
async def describe(values: list[int], weights: dict[str, float], where: Point) -> tuple[list[int], Point, File]:
    """Doubles the values, moves the point, and writes a small report file."""
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "summary.txt"
        path.write_text(f"{len(values)} values, {len(weights)} weights\n")
        summary = await File.from_local(str(path))
    return [2 * v for v in values], Point(x=where.x + 1, label=where.label.upper()), summary


@env.task
async def talk(lines: int, pause: float) -> int:
    """Prints `line 1` … `line N`, one every `pause` seconds."""
    for number in range(1, lines + 1):
        print(f"line {number}", flush=True)
        await asyncio.sleep(pause)
    return lines


@env.task
async def hostile() -> None:
    """Logs markup and fails with markup in the message: the console must show both as text."""
    print(HOSTILE_LOG, flush=True)
    raise ValueError(f"bad input {HOSTILE_ERROR}")


@env.task
async def square(n: int) -> int:
    return n * n


@env.task
async def grouped_squares(n: int) -> int:
    """`n` squares in the group `squares`."""
    with flyte.group("squares"):
        results = await asyncio.gather(*(square(i) for i in range(n)))
    return sum(results)
