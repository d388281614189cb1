"""A Flyte 2 task that fails on purpose, to show how aerie records a user error.

    .venv/bin/python examples/fail.py

The task raises ValueError. aerie reads the error document the task process writes and records it
on the action: `ActionDetails.error_info` carries the message, the kind (USER) and the code
(`ValueError`), and the task's output stays readable through `aerie logs` / `flyte get logs`.
"""

from __future__ import annotations

import os
import pathlib
import sys

import flyte
import flyte.remote

env = flyte.TaskEnvironment(name="fail")


@env.task
def divide(numerator: int, denominator: int) -> float:
    """Divides, and refuses to divide by zero with a ValueError."""
    print(f"dividing {numerator} by {denominator}", flush=True)
    if denominator == 0:
        raise ValueError(f"cannot divide {numerator} by zero")
    return numerator / denominator


def main() -> int:
    flyte.init(
        endpoint=os.environ.get("AERIE_ENDPOINT", "localhost:30080"),
        insecure=True,
        project="flytesnacks",
        domain="development",
        root_dir=pathlib.Path(__file__).resolve().parent,
    )

    run = flyte.run(divide, numerator=1, denominator=0)
    print(f"Run name: {run.name}")
    print(f"Console:  {run.url}")
    run.wait(quiet=True)

    details = flyte.remote.ActionDetails.get(run_name=run.name, name="a0")
    print(f"Phase:    {details.phase.value}")
    if details.error_info is None:
        print("expected the run to fail with error_info, but it has none", file=sys.stderr)
        return 1
    kind = details.error_info.Kind.Name(details.error_info.kind)
    print(f"Error:    [{kind}] {details.error_info.code}: {details.error_info.message}")
    print("This run failed on purpose.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
