"""Tasks for the contract's corners: richer types, files, environment, retries, reports."""

from __future__ import annotations

import os
import pathlib
import tempfile

import flyte
import flyte.report
from flyte.io import File

env = flyte.TaskEnvironment(name="aerie_extras", env_vars={"AERIE_TEST_TASK_ENV": "from-task-environment"})


@env.task
def typed_roundtrip(xs: list[int], weights: dict[str, float], flag: bool, note: str | None = None) -> dict[str, float]:
    """Scales every weight by sum(xs) (negated when `flag`), and echoes `note` under "note-length"."""
    total = sum(xs) * (-1 if flag else 1)
    out = {k: v * total for k, v in weights.items()}
    out["note-length"] = float(len(note or ""))
    return out


@env.task
def write_file(text: str) -> File:
    """Returns a File written under the task's raw-data prefix."""
    path = pathlib.Path(tempfile.mkdtemp()) / "greeting.txt"
    path.write_text(text)
    return File.from_local_sync(str(path))


@env.task
def read_env() -> dict[str, str]:
    """What a task sees of its environment (contract section 4.3)."""
    names = [
        "AERIE_TEST_TASK_ENV",
        "AERIE_TEST_RUN_ENV",
        "FLYTE_ATTEMPT_NUMBER",
        "RUN_NAME",
        "ACTION_NAME",
        "FLYTE_INTERNAL_EXECUTION_PROJECT",
        "FLYTE_INTERNAL_EXECUTION_DOMAIN",
        "_U_ORG_NAME",
    ]
    seen = {name: os.environ.get(name, "<unset>") for name in names}
    seen["_U_RUN_BASE set"] = str(bool(os.environ.get("_U_RUN_BASE")))
    seen["cwd entries"] = ",".join(sorted(p.name for p in pathlib.Path.cwd().iterdir()))
    return seen


@env.task(retries=1)
def fail_once_then_succeed(marker: str) -> int:
    """Fails its first attempt (no `marker` file yet), succeeds on the retry; returns the 0-based attempt."""
    attempt = int(os.environ.get("FLYTE_ATTEMPT_NUMBER", "-1"))
    path = pathlib.Path(marker)
    if not path.exists():
        path.write_text("first attempt was here\n")
        print(f"fail_once_then_succeed: attempt {attempt} fails", flush=True)
        raise ValueError("first attempt fails on purpose")
    print(f"fail_once_then_succeed: attempt {attempt} succeeds", flush=True)
    return attempt


@env.task(report=True)
async def with_report(title: str) -> str:
    """Writes an HTML report (report.html under the attempt's output prefix)."""
    await flyte.report.log.aio(f"<h1>{title}</h1><p>written by an aerie test</p>", do_flush=True)
    return title


@env.task
def exit_without_error_document(status: int) -> int:
    """Leaves the process at once, without the error document the SDK writes for exceptions."""
    print(f"exit_without_error_document: exiting with status {status}", flush=True)
    os._exit(status)


@env.task
def kill_itself() -> int:
    """Dies by SIGKILL, as an out-of-memory kill would look."""
    import signal

    print("kill_itself: sending SIGKILL to myself", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    return 0


@env.task(timeout=5)
def overrun_timeout(pid_file: str) -> int:
    """Sleeps far past its 5-second timeout (room for the runtime to start on a busy machine),
    after recording its pid."""
    import time

    pathlib.Path(pid_file).write_text(f"{os.getpid()}\n")
    print("overrun_timeout: sleeping past my timeout", flush=True)
    time.sleep(120)
    return 0
