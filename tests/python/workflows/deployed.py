"""Tasks deployed with `flyte.deploy`, run by reference from the client and from a task."""

from __future__ import annotations

import flyte
import flyte.remote

env = flyte.TaskEnvironment("deployed")


@env.task
async def double(x: int) -> int:
    """Twice `x`."""
    return 2 * x


caller_env = flyte.TaskEnvironment("deployed_caller")


@caller_env.task
async def call_deployed(x: int) -> int:
    """Calls the latest deployed `deployed.double` by reference, from inside a running task."""
    ref = flyte.remote.Task.get("deployed.double", auto_version="latest")
    return await ref(x=x) + 1
