"""A task that returns a dataframe (pandas, written by the SDK as Parquet), for the console's
preview of its first rows."""

from __future__ import annotations

import pandas as pd

import flyte

env = flyte.TaskEnvironment("frames")


@env.task
async def scores() -> pd.DataFrame:
    """Three rows, one with markup in it (the preview must show it as text)."""
    return pd.DataFrame({"name": ["ada", "<b>bob</b>", "cy"], "score": [3, 5, 8]})
