"""Secrets through the official SDK and CLI: created, injected into tasks as variables and as a
file, never readable back, absent in plain text from the data directory and logs, a deleted
secret failing the task before it starts, and bad input refused."""

from __future__ import annotations

import hashlib
import secrets as random_secrets
from pathlib import Path

import flyte
import flyte.remote
import pytest
from flyteidl2.secret import definition_pb2, payload_pb2
from helpers import DOMAIN, PROJECT, connect_unary, flyte_cli, wait_terminal
from workflows import secretive

TOKEN = "aerie-" + random_secrets.token_hex(16)
FILE_VALUE = ("file-" + random_secrets.token_hex(16)).encode()


def digest(value: str | bytes) -> str:
    return hashlib.sha256(value.encode() if isinstance(value, str) else value).hexdigest()


@pytest.fixture(scope="module")
def stored(sdk, tmp_path_factory):
    """The token made org-wide with the flyte CLI; the file secret made with the Python API (in
    the project and domain)."""
    cwd = tmp_path_factory.mktemp("secrets")
    created = flyte_cli(sdk, "create", "secret", "aerie-test-token", "--value", TOKEN, cwd=cwd)
    assert created.returncode == 0, created.explain()
    flyte.remote.Secret.create("aerie-test-file", FILE_VALUE)
    return cwd


def test_a_task_gets_a_secret_as_the_variables_it_names(sdk, stored):
    run = flyte.run(secretive.from_env)
    details = wait_terminal(run, timeout=180)
    assert details.phase.value == "succeeded", details.error_message
    assert run.outputs()[0] == [digest(TOKEN), digest(TOKEN)]


def test_a_task_gets_a_secret_as_a_file(sdk, stored):
    run = flyte.run(secretive.from_file)
    details = wait_terminal(run, timeout=180)
    assert details.phase.value == "succeeded", details.error_message
    assert run.outputs()[0] == digest(FILE_VALUE)


def test_a_secret_is_listed_and_described_but_never_read_back(sdk, stored):
    shown = flyte_cli(sdk, "get", "secret", "aerie-test-token", cwd=stored)
    assert shown.returncode == 0 and "aerie-test-token" in shown.stdout, shown.explain()
    listed = flyte_cli(sdk, "get", "secret", cwd=stored)
    assert listed.returncode == 0 and "aerie-test-token" in listed.stdout, listed.explain()
    assert "aerie-test-file" in {secret.name for secret in flyte.remote.Secret.listall()}
    for output in (shown.stdout + shown.stderr, listed.stdout + listed.stderr):
        assert TOKEN not in output
    reply = connect_unary(
        sdk,
        "flyteidl2.secret.SecretService/GetSecret",
        payload_pb2.GetSecretRequest(id=definition_pb2.SecretIdentifier(name="aerie-test-token")).SerializeToString(),
    )
    assert reply.status == 200 and TOKEN.encode() not in reply.body, reply.explain()


def test_no_value_is_kept_in_plain_text_in_the_data_directory_or_the_logs(sdk, stored):
    test_a_task_gets_a_secret_as_the_variables_it_names(sdk, stored)
    needles = [TOKEN.encode(), FILE_VALUE]
    found = []
    for path in Path(sdk.data_dir).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path}: {needle!r}" for needle in needles if needle in data]
    log = sdk.log_path.read_bytes()
    found += [f"server log: {needle!r}" for needle in needles if needle in log]
    assert found == []


def test_a_deleted_secret_fails_the_task_before_it_starts(sdk, stored):
    cwd = stored
    created = flyte_cli(sdk, "create", "secret", "aerie-deleted-secret", "--value", "short-lived", cwd=cwd)
    assert created.returncode == 0, created.explain()
    deleted = flyte_cli(sdk, "delete", "secret", "aerie-deleted-secret", cwd=cwd)
    assert deleted.returncode == 0, deleted.explain()
    run = flyte.run(secretive.from_deleted)
    details = wait_terminal(run, timeout=180)
    assert details.phase.value == "failed"
    assert details.error_info.kind == 2, f"a SYSTEM error: {details.error_info}"
    assert details.error_info.code == "SecretNotFound"
    assert "aerie-deleted-secret" in details.error_message and "does not exist" in details.error_message
    assert details.attempts == 1, "a missing secret is not retried"


def create_secret_reply(server, name: str, value: bytes):
    request = payload_pb2.CreateSecretRequest(
        id=definition_pb2.SecretIdentifier(name=name, project=PROJECT, domain=DOMAIN),
        secret_spec=definition_pb2.SecretSpec(binary_value=value),
    )
    return connect_unary(server, "flyteidl2.secret.SecretService/CreateSecret", request.SerializeToString())


def test_bad_secret_requests_get_the_right_codes(sdk, stored):
    too_big = create_secret_reply(sdk, "too-big", b"x" * (64 * 1024 + 1))
    assert too_big.code == "invalid_argument" and "at most" in too_big.json()["message"], too_big.explain()
    bad_name = create_secret_reply(sdk, "no/slashes", b"x")
    assert bad_name.code == "invalid_argument", bad_name.explain()
    assert create_secret_reply(sdk, "twice", b"x").status == 200
    again = create_secret_reply(sdk, "twice", b"y")
    assert again.code == "already_exists", again.explain()
    unknown = connect_unary(
        sdk,
        "flyteidl2.secret.SecretService/GetSecret",
        payload_pb2.GetSecretRequest(id=definition_pb2.SecretIdentifier(name="never-made")).SerializeToString(),
    )
    assert unknown.code == "not_found" and "never-made" in unknown.json()["message"], unknown.explain()
