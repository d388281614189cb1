"""Tasks that ask for secrets: as the SDK's default environment variable, as a variable of
their own naming, and as a file. They return a digest of what they got, never the value, so no
value reaches outputs or logs."""

from __future__ import annotations

import hashlib
import os
import pathlib

import flyte

by_env = flyte.TaskEnvironment(
    "secretive_env", secrets=["aerie-test-token", flyte.Secret(key="aerie-test-token", as_env_var="MY_TOKEN")]
)
by_file = flyte.TaskEnvironment(
    "secretive_file", secrets=flyte.Secret(key="aerie-test-file", mount=pathlib.Path("/etc/flyte/secrets"))
)
deleted = flyte.TaskEnvironment("secretive_deleted", secrets="aerie-deleted-secret")


def digest(value: str | bytes) -> str:
    data = value.encode() if isinstance(value, str) else value
    return hashlib.sha256(data).hexdigest()


@by_env.task
async def from_env() -> list[str]:
    """Digests of the secret under the SDK's default name and under the task's own."""
    return [digest(os.environ["AERIE_TEST_TOKEN"]), digest(os.environ["MY_TOKEN"])]


@by_file.task
async def from_file() -> str:
    """Digest of the secret file aerie wrote for this attempt."""
    path = pathlib.Path(os.environ["FLYTE_SECRETS_DEFAULT_DIR"]) / "aerie-test-file"
    return digest(path.read_bytes())


@deleted.task
async def from_deleted() -> str:
    """Asks for a secret the test deletes first."""
    return digest(os.environ["AERIE_DELETED_SECRET"])
