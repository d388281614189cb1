"""A Flyte 2 parent task that fans out child actions, run on aerie.

    .venv/bin/python examples/squares.py [N]

`sum_of_squares` launches one `square` child action per number below N and adds up their
outputs. Each child is an action of its own: list them with `aerie get action RUN` or
`flyte get action RUN`, and read any one with `flyte.remote.ActionDetails.get(run_name=RUN, name=CHILD)`.
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import sys

import flyte
import flyte.remote

env = flyte.TaskEnvironment(name="squares")


@env.task
async def square(n: int) -> int:
    print(f"{n} squared is {n * n}", flush=True)
    return n * n


@env.task
async def sum_of_squares(n: int) -> int:
    """Runs one `square` child per number below `n`, concurrently, and sums the results."""
    squares = await asyncio.gather(*(square(i) for i in range(n)))
    return sum(squares)


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    flyte.init(
        endpoint=os.environ.get("AERIE_ENDPOINT", "localhost:30080"),
        insecure=True,
        project="flytesnacks",
        domain="development",
        root_dir=pathlib.Path(__file__).resolve().parent,
    )

    run = flyte.run(sum_of_squares, n=n)
    print(f"Run name: {run.name}")
    print(f"Console:  {run.url}")
    run.wait(quiet=True)
    if run.phase != flyte.models.ActionPhase.SUCCEEDED:
        print(f"Run {run.name} ended {run.phase.value}", file=sys.stderr)
        return 1

    print(f"Sum of squares below {n}: {run.outputs()[0]}")
    for action in flyte.remote.Action.listall(for_run_name=run.name):
        role = "root" if action.name == "a0" else f"child of {action.parent_name}"
        print(f"  {action.name:28} {action.task_name:22} {action.phase.value:10} ({role})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
