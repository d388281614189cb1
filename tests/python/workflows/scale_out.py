"""Tasks for the scale-out tests (test_scale_out.py): they leave notes in a shared directory (the
`marks` input) saying which node ran them and how far they got, so a test counts executions from
the tasks' own side effects, not from aerie's records, and can hold tasks at a point of its
choosing by creating a file.

aerie exports `AERIE_NODE_ID` to every task it launches when nodes share a database; the notes
record it. A note is a small JSON file, written under a temporary name and renamed, so a reader
never sees half of one.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from pathlib import Path

import flyte

env = flyte.TaskEnvironment(name="aerie_scale_out")

#: How long a held task waits for the test's go-ahead before it fails (a test forgot it).
HOLD_LIMIT_S = 600.0


def node_id() -> str:
    return os.environ.get("AERIE_NODE_ID", "")


def attempt_number() -> int:
    """0 for an action's first attempt, 1 for its second, ... (the SDK's FLYTE_ATTEMPT_NUMBER)."""
    return int(os.environ.get("FLYTE_ATTEMPT_NUMBER", "0"))


def note(marks: str, kind: str, **fields) -> None:
    """Writes `marks/kind/<unique>.json` holding `fields`, this process's pid, node, action name
    and attempt number."""
    folder = Path(marks) / kind
    folder.mkdir(parents=True, exist_ok=True)
    ctx = flyte.ctx()
    body = {
        "pid": os.getpid(),
        "node": node_id(),
        "action": ctx.action.name if ctx else "",
        "attempt": attempt_number(),
        "at": time.time(),
        **fields,
    }
    name = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp = folder / f".{name}.tmp"
    tmp.write_text(json.dumps(body))
    tmp.rename(folder / f"{name}.json")


async def hold_until(path: Path, what: str) -> None:
    """Waits until `path` exists, failing after HOLD_LIMIT_S."""
    deadline = time.monotonic() + HOLD_LIMIT_S
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: {path} did not appear within {HOLD_LIMIT_S:.0f}s")
        await asyncio.sleep(0.2)


@env.task
async def held_square(i: int, marks: str) -> int:
    """Notes that it started, waits for `marks/go`, notes that it finished, returns i*i.

    A child killed before `go` exists never finishes, so each `done` note is one execution that
    ran to completion."""
    note(marks, "started", i=i)
    await hold_until(Path(marks) / "go", f"held_square({i})")
    note(marks, "done", i=i)
    return i * i


@env.task
async def fan_out_held(n: int, marks: str) -> list[int]:
    """Waits for `marks/watching` (the test's watch is open), then runs `held_square(i)` for every
    i below `n` at once and returns their results in order."""
    note(marks, "parent")
    await hold_until(Path(marks) / "watching", "fan_out_held")
    return list(await asyncio.gather(*(held_square(i, marks) for i in range(n))))


@env.task
def first_attempt_lingers(marks: str, seconds: float) -> str:
    """The first attempt sleeps `seconds` (long enough to be taken over, and to outlive a paused
    node), then says so; any later attempt answers at once. Notes when each attempt starts and
    ends."""
    note(marks, "started")
    if attempt_number() == 0:
        time.sleep(seconds)
    note(marks, "done")
    return f"attempt {attempt_number()} on {node_id()}"


#: The line `speak_when_told` prints when told to, followed by the time it printed it.
LIVE_LINE = "speak_when_told: live line printed at"


@env.task
def speak_when_told(marks: str, linger: float) -> str:
    """Prints a first line, waits for `marks/speak`, prints LIVE_LINE with the time (time.time()),
    then stays RUNNING for `linger` seconds."""
    print(f"speak_when_told: waiting on {node_id()}", flush=True)
    note(marks, "started")
    deadline = time.monotonic() + HOLD_LIMIT_S
    while not (Path(marks) / "speak").exists():
        if time.monotonic() > deadline:
            raise TimeoutError("speak_when_told: never told to speak")
        time.sleep(0.05)
    print(f"{LIVE_LINE} {time.time():.6f}", flush=True)
    time.sleep(linger)
    print("speak_when_told: done", flush=True)
    return node_id()
