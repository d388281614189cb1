"""A task with one input of each type the Rust client encodes, deployed with `flyte.deploy` and
launched from Rust (`crates/client/examples/launch.rs`, `aerie run`): the outputs are computed from
every input, so a wrongly encoded input shows up in them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

import flyte
from flyte.io import File

env = flyte.TaskEnvironment("typed")


@env.task
def summarize(
    n: int,
    x: float,
    s: str,
    b: bool,
    d: timedelta,
    t: datetime,
    xs: list[int],
    m: dict[str, float],
    f: File,
    maybe: Optional[int] = None,
    greeting: str = "hi",
) -> tuple[int, float, str, list[int], dict[str, float], timedelta, datetime, bool, str, str]:
    """Each output is a function of its inputs, e.g. `o0 = 2 * n`."""
    print(f"{greeting}, {s}: n={n}", flush=True)
    return (
        2 * n,
        x + sum(xs),
        s.upper(),
        [v * 10 for v in xs],
        {key: value * 2 for key, value in m.items()},
        d * 2,
        t + d,
        not b,
        f.path,
        "none" if maybe is None else f"some {maybe}",
    )
