"""The SDK figures of `scripts/bench`: a parent task that fans out trivial children.

    .venv/bin/python benches/workflows/fanout.py --endpoint localhost:PORT [--children 100]
    .venv/bin/python benches/workflows/fanout.py --local [--children 100]

With --endpoint the run goes to aerie (code bundle upload, CreateRun, every child an action of
its own run as a local process); with --local the SDK runs it in this process (`flyte.init()`
without an endpoint). The time from just before `flyte.run` to the run's SUCCEEDED (aerie: after
`run.wait()`; local: `flyte.run` returns when the run is done) is printed last, as
`elapsed_s SECONDS`, for `aerie-bench` to read. Anything else means the run failed.
"""

from __future__ import annotations

import argparse
import asyncio
import pathlib
import sys
import time

import flyte

env = flyte.TaskEnvironment(name="bench_fanout")


@env.task
async def child(i: int) -> int:
    return i


@env.task
async def parent(n: int) -> int:
    """Runs `n` children concurrently and sums their outputs."""
    results = await asyncio.gather(*(child(i) for i in range(n)))
    return sum(results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--endpoint", help="aerie's HOST:PORT")
    target.add_argument("--local", action="store_true", help="run in-process with the SDK's local mode")
    parser.add_argument("--children", type=int, default=100)
    args = parser.parse_args()

    root_dir = pathlib.Path(__file__).resolve().parent
    if args.local:
        flyte.init(root_dir=root_dir)
    else:
        flyte.init(
            endpoint=args.endpoint,
            insecure=True,
            project="flytesnacks",
            domain="development",
            root_dir=root_dir,
        )

    started = time.perf_counter()
    run = flyte.run(parent, n=args.children)
    if not args.local:
        run.wait(quiet=True)
    elapsed = time.perf_counter() - started

    if not args.local and run.phase != flyte.models.ActionPhase.SUCCEEDED:
        print(f"run {run.name} ended {run.phase.value}", file=sys.stderr)
        return 1
    total = run.outputs()[0]
    expected = sum(range(args.children))
    if total != expected:
        print(f"parent returned {total}, expected {expected}", file=sys.stderr)
        return 1
    print(f"elapsed_s {elapsed:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
