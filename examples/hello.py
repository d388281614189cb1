"""Hello, aerie: a Flyte 2 task run by the official SDK against a local aerie server.

Start aerie first (`scripts/demo` does everything for you), then:

    .venv/bin/python examples/hello.py            # or: python examples/hello.py [NAME]

The script submits `say_hello` with `flyte.run`, prints the run's name and console URL, waits for
the run to finish and prints its outputs. Then it deploys the `hello` environment with
`flyte.deploy`, so `hello.say_hello` can be run by name from elsewhere (`aerie run hello.say_hello
-i name=Rust`, or the Rust client's `launch` example). Set AERIE_ENDPOINT to reach aerie somewhere
other than localhost:30080.
"""

from __future__ import annotations

import os
import pathlib
import sys

import flyte
import flyte.remote

env = flyte.TaskEnvironment(name="hello")


@env.task
def say_hello(name: str, times: int = 3) -> str:
    """Greets `name` a few times on stdout (see `aerie logs`) and returns one greeting."""
    for i in range(1, times + 1):
        print(f"hello, {name}! ({i}/{times})", flush=True)
    return f"Hello, {name}, from a Flyte 2 task on aerie."


def main() -> int:
    endpoint = os.environ.get("AERIE_ENDPOINT", "localhost:30080")
    name = sys.argv[1] if len(sys.argv) > 1 else "world"

    flyte.init(
        endpoint=endpoint,
        insecure=True,
        project="flytesnacks",
        domain="development",
        # Bundle only this directory, whatever the current directory is: the task is imported as
        # `hello` inside the task process.
        root_dir=pathlib.Path(__file__).resolve().parent,
    )

    run = flyte.run(say_hello, name=name)
    print(f"Run name: {run.name}")
    print(f"Console:  {run.url}")

    run.wait()
    if run.phase != flyte.models.ActionPhase.SUCCEEDED:
        details = flyte.remote.ActionDetails.get(run_name=run.name, name="a0")
        print(f"Run {run.name} ended {run.phase.value}: {details.error_message}", file=sys.stderr)
        return 1

    outputs = run.outputs()
    print(f"Outputs:  {dict(outputs.named_outputs)}")

    flyte.deploy(env)
    print("Deployed: hello.say_hello")
    return 0


if __name__ == "__main__":
    sys.exit(main())
