"""Tasks that wait on conditions (`flyte.new_condition`) until a test signals them, or until
their timeouts pass."""

from __future__ import annotations

import flyte
import flyte.errors

env = flyte.TaskEnvironment("gated")


@env.task
async def approval(amount: int) -> str:
    """Waits for a yes or no on `amount`."""
    approve = await flyte.new_condition.aio(
        "approve", prompt=f"Pay {amount}?", data_type=bool, description="payment approval"
    )
    approved = await approve.wait.aio()
    return f"paid {amount}" if approved else f"refused {amount}"


@env.task
async def typed_answers() -> str:
    """Asks for one value of each other type, in turn."""
    count = await (await flyte.new_condition.aio("count", prompt="How many?", data_type=int)).wait.aio()
    ratio = await (await flyte.new_condition.aio("ratio", prompt="Which ratio?", data_type=float)).wait.aio()
    label = await (await flyte.new_condition.aio("label", prompt="Which label?", data_type=str)).wait.aio()
    return f"{count} {ratio} {label}"


@env.task
async def impatient(seconds: float) -> str:
    """Waits `seconds` for a signal, and says so when none came."""
    late = await flyte.new_condition.aio("late", prompt="Anyone?", data_type=bool, timeout=seconds)
    try:
        await late.wait.aio()
    except flyte.errors.ConditionTimedoutError:
        return "timed out"
    return "signalled"


@env.task
async def gives_up(seconds: float) -> bool:
    """Waits `seconds` for a signal and lets the timeout fail the task."""
    late = await flyte.new_condition.aio("late", prompt="Anyone?", data_type=bool, timeout=seconds)
    return await late.wait.aio()


@env.task
async def announced(hook_url: str) -> str:
    """Waits on a condition whose webhook tells `hook_url` how to signal it."""
    ship = await flyte.new_condition.aio(
        "ship",
        prompt="Ship it?",
        data_type=bool,
        webhook=flyte.ConditionWebhook(url=hook_url, payload={"cb": "{callback_uri}", "n": 3}),
    )
    return "shipped" if await ship.wait.aio() else "held"
