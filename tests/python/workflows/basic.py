"""Leaf tasks with typed inputs and outputs, a failing task, and sleepers for watch and abort tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import flyte

env = flyte.TaskEnvironment(name="aerie_tests")

#: A line `add_and_greet` prints, so log tests can look for it.
GREETING_LOG_LINE = "add_and_greet: adding one to"


@env.task
def add_and_greet(x: int, name: str) -> tuple[int, str]:
    """Succeeds with two typed outputs (o0: int, o1: str) and prints to stdout and stderr."""
    print(f"{GREETING_LOG_LINE} {x} for {name}", flush=True)
    print(f"add_and_greet: a line on stderr for {name}", file=sys.stderr, flush=True)
    return x + 1, f"hello {name}"


@env.task
def fail_with_value_error(answer: int) -> int:
    """Fails the way user code fails: an ordinary exception with a message."""
    print(f"fail_with_value_error: about to fail with {answer}", flush=True)
    raise ValueError(f"boom: the answer was {answer}")


@env.task
def sleep_then_succeed(seconds: float) -> str:
    """Stays RUNNING for `seconds`, printing as it goes, so a watcher can see every phase."""
    print(f"sleep_then_succeed: sleeping {seconds}s", flush=True)
    deadline = time.monotonic() + seconds
    tick = 0
    while time.monotonic() < deadline:
        tick += 1
        print(f"sleep_then_succeed: tick {tick}", flush=True)
        time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
    print("sleep_then_succeed: done", flush=True)
    return f"slept {seconds}s"


@env.task
def sleep_and_record_pids(pid_file: str, seconds: int) -> int:
    """Writes its own pid and a child's pid to `pid_file`, then sleeps: the abort tests' target.

    The child (`sleep`) proves that an abort kills the whole process tree, not only `a0`.
    """
    child = subprocess.Popen(["sleep", str(seconds)])
    path = Path(pid_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"{os.getpid()} {child.pid}\n")
    tmp.rename(path)
    print(f"sleep_and_record_pids: pid {os.getpid()} child {child.pid}, sleeping {seconds}s", flush=True)
    time.sleep(seconds)
    child.wait()
    return seconds
