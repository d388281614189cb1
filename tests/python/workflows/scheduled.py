"""A task deployed with a trigger: a yearly Cron in a named time zone (fired on demand in the
tests, which add fixed-rate triggers of their own)."""

from __future__ import annotations

import os
from datetime import datetime

import flyte

yearly = flyte.Trigger(
    "yearly",
    flyte.Cron("0 0 1 1 *", timezone="Europe/Paris"),
    inputs={"when": flyte.TriggerTime, "note": "from the trigger"},
    env_vars={"GREETING": "hello"},
    labels={"source": "trigger"},
)

env = flyte.TaskEnvironment("scheduled")


@env.task(triggers=yearly)
async def stamp(when: datetime, note: str = "default") -> str:
    """When the run was meant to start, the note, and the greeting the trigger's run sets."""
    return f"{when.isoformat()}|{note}|{os.environ.get('GREETING', '')}"
