"""Helpers shared by the end-to-end tests: waiting on runs, phases, CLIs and raw Connect calls."""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime
import gzip
import http.client
import json
import os
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flyteidl2.common import identifier_pb2, phase_pb2

if TYPE_CHECKING:
    from conftest import AerieServer

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parents[1]
PROJECT = "flytesnacks"
DOMAIN = "development"

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07")

TERMINAL = {
    phase_pb2.ACTION_PHASE_SUCCEEDED,
    phase_pb2.ACTION_PHASE_FAILED,
    phase_pb2.ACTION_PHASE_ABORTED,
    phase_pb2.ACTION_PHASE_TIMED_OUT,
    getattr(phase_pb2, "ACTION_PHASE_RECOVERED", 10),
}


def phase_name(raw: int) -> str:
    return phase_pb2.ActionPhase.Name(raw).removeprefix("ACTION_PHASE_")


def phase_rank(raw: int) -> int:
    """Order of phases within one attempt: QUEUED < WAITING < INITIALIZING < RUNNING < terminal."""
    return 100 if raw in TERMINAL else int(raw)


def action_id(run_name: str, action: str = "a0", org: str = "") -> identifier_pb2.ActionIdentifier:
    return identifier_pb2.ActionIdentifier(
        run=identifier_pb2.RunIdentifier(org=org, project=PROJECT, domain=DOMAIN, name=run_name),
        name=action,
    )


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    """Poll `predicate` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - reported if the deadline passes
            last_error = e
        time.sleep(interval)
    raise AssertionError(
        f"timed out after {timeout:.0f}s waiting for {what}" + (f" (last error: {last_error!r})" if last_error else "")
    )


def run_coroutine(make: Callable[[], Any]) -> Any:
    """`asyncio.run(make())`, in a thread of its own when this one already runs an event loop
    (Playwright's sync API keeps one running while a browser test drives the page)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def wait_terminal(run, timeout: float = 120.0):
    """Wait for a `flyte.remote.Run` to reach a terminal phase, with a deadline, and return its a0 details."""
    import flyte.remote

    async def _wait():
        await asyncio.wait_for(run.wait.aio(quiet=True), timeout)

    try:
        run_coroutine(_wait)
    except TimeoutError:
        details = flyte.remote.ActionDetails.get(run_name=run.name, name="a0")
        raise AssertionError(
            f"run {run.name} not terminal after {timeout:.0f}s: phase {details.phase}, attempts {details.attempts}"
        ) from None
    details = flyte.remote.ActionDetails.get(run_name=run.name, name="a0")
    assert details.done(), (
        f"run.wait() returned for {run.name} but GetActionDetails says {details.phase} (not terminal)"
    )
    return details


def process_is_gone(pid: int) -> bool:
    """True once `pid` no longer runs (it does not exist, or is a zombie awaiting its parent)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


# --- command-line tools ------------------------------------------------------------------------


@dataclass
class Cli:
    """A finished CLI invocation with ANSI escapes stripped from its output."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    def explain(self) -> str:
        return (
            f"$ {' '.join(self.args)}\nexit status {self.returncode}\n"
            f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"
        )


def run_tool(args: list[str], timeout: float = 60.0, cwd: Path | None = None, env: dict | None = None) -> Cli:
    """Run a command to its end with a deadline, `env` added to ours; ANSI escapes are stripped
    from its output."""
    env = {**os.environ, **(env or {})}
    # The flyte CLI prints through rich, which wraps lines (JSON included) at the terminal width.
    env.update({"COLUMNS": "100000", "LINES": "200", "NO_COLOR": "1", "TERM": "dumb", "PYTHONUNBUFFERED": "1"})
    try:
        cp = subprocess.run(
            args,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        out = ANSI.sub("", (e.stdout or b"").decode("utf-8", "replace"))
        err = ANSI.sub("", (e.stderr or b"").decode("utf-8", "replace"))
        raise AssertionError(
            f"$ {' '.join(args)} did not finish within {timeout:.0f}s\n--- stdout ---\n{out}\n--- stderr ---\n{err}"
        ) from None
    return Cli(
        args=args,
        returncode=cp.returncode,
        stdout=ANSI.sub("", cp.stdout.decode("utf-8", "replace")),
        stderr=ANSI.sub("", cp.stderr.decode("utf-8", "replace")),
    )


def flyte_cli(server: AerieServer, *args: str, cwd: Path, timeout: float = 90.0) -> Cli:
    """Run the official `flyte` CLI from this venv against `server`.

    Global flags (`--endpoint`, `--insecure`) go before the verb; the verb's own `-p/-d` are added
    by the caller where the command takes them.
    """
    flyte = str(Path(sys.prefix) / "bin" / "flyte")
    return run_tool([flyte, "--endpoint", server.endpoint, "--insecure", *args], timeout, cwd)


def aerie_cli(server: AerieServer, *args: str, timeout: float = 60.0) -> Cli:
    """Run the `aerie` CLI against `server` with the project and domain the tests use."""
    return run_tool(
        [str(server.binary), "--endpoint", server.cli_endpoint, "-p", PROJECT, "-d", DOMAIN, *args],
        timeout,
    )


# --- raw Connect over HTTP/1.1 -----------------------------------------------------------------


@dataclass
class HttpReply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def json(self) -> dict:
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return {}

    @property
    def code(self) -> str | None:
        """The Connect error code of a JSON error reply, if this is one."""
        return self.json().get("code") if "json" in self.content_type else None

    def explain(self) -> str:
        body = self.body[:2000].decode("utf-8", "replace")
        return f"HTTP {self.status} {self.content_type!r}: {body!r}"


def http_request(
    server: AerieServer,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> HttpReply:
    """One HTTP/1.1 request to the server; connection errors propagate."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return HttpReply(
            status=resp.status,
            headers={k.lower(): v for k, v in resp.getheaders()},
            body=resp.read(),
        )
    finally:
        conn.close()


def connect_unary(
    server: AerieServer,
    rpc: str,
    body: bytes,
    *,
    content_type: str = "application/proto",
    gzip_body: bool = False,
    extra_headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> HttpReply:
    """A Connect unary call, e.g. `rpc="flyteidl2.workflow.RunService/GetActionDetails"`."""
    headers = {"content-type": content_type, "connect-protocol-version": "1", "accept-encoding": "identity"}
    if gzip_body:
        body = gzip.compress(body)
        headers["content-encoding"] = "gzip"
    headers.update(extra_headers or {})
    return http_request(server, "POST", f"/{rpc}", body=body, headers=headers, timeout=timeout)


HTTP_STATUS = {"not_found": 404, "invalid_argument": 400, "resource_exhausted": 429, "failed_precondition": 400}


def assert_connect_error(reply: HttpReply, code: str, says: str = "") -> None:
    """The reply is a Connect error with `code` and a message (holding `says`, when given)."""
    assert reply.status == HTTP_STATUS[code], reply.explain()
    assert reply.content_type.startswith("application/json"), reply.explain()
    doc = reply.json()
    assert doc.get("code") == code, reply.explain()
    assert doc.get("message"), f"an error should say what is wrong: {reply.explain()}"
    assert says in doc["message"], reply.explain()


def decode_unary(reply: HttpReply, message_type):
    """Parse a successful unary reply into `message_type`, failing with the reply if it is not one."""
    assert reply.status == 200, reply.explain()
    assert reply.content_type.startswith("application/proto"), reply.explain()
    body = reply.body
    if reply.headers.get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    msg = message_type()
    msg.ParseFromString(body)
    return msg


def files_outside(root: Path, inside: Path) -> set[Path]:
    """Every path under `root` that is not under `inside` (for "nothing written outside" checks)."""
    found = set()
    for dirpath, dirnames, filenames in os.walk(root):
        d = Path(dirpath)
        if d == inside or inside in d.parents:
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            p = d / name
            if p != inside:
                found.add(p)
    return found


@dataclass
class StreamReply:
    """A Connect server-streaming reply: the messages, then the end-of-stream JSON (or an HTTP error)."""

    status: int
    headers: dict[str, str]
    messages: list[bytes]
    end: dict | None
    body: bytes

    @property
    def error_code(self) -> str | None:
        """The Connect code, whether sent as an HTTP error or in the end-of-stream message."""
        if self.status != 200:
            try:
                return json.loads(self.body.decode()).get("code")
            except (UnicodeDecodeError, json.JSONDecodeError):
                return None
        return ((self.end or {}).get("error") or {}).get("code")

    def explain(self) -> str:
        return (
            f"HTTP {self.status} {self.headers.get('content-type')!r}, {len(self.messages)} messages, "
            f"end {self.end!r}, body {self.body[:300]!r}"
        )


def connect_stream(server: AerieServer, rpc: str, message: bytes, timeout: float = 60.0) -> StreamReply:
    """A Connect server-streaming call read to its end (the server must close the stream)."""
    envelope = b"\x00" + len(message).to_bytes(4, "big") + message
    headers = {"content-type": "application/connect+proto", "connect-protocol-version": "1"}
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        conn.request("POST", f"/{rpc}", body=envelope, headers=headers)
        resp = conn.getresponse()
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
        body = resp.read()
    finally:
        conn.close()
    if resp.status != 200:
        return StreamReply(resp.status, hdrs, [], None, body)
    messages, end, i = [], None, 0
    while i + 5 <= len(body):
        flags, size = body[i], int.from_bytes(body[i + 1 : i + 5], "big")
        payload = body[i + 5 : i + 5 + size]
        i += 5 + size
        if flags & 0x01:
            payload = gzip.decompress(payload)
        if flags & 0x02:
            end = json.loads(payload.decode() or "{}")
        else:
            messages.append(payload)
    assert i == len(body), f"trailing bytes after the last envelope: {body[i:]!r}"
    return StreamReply(resp.status, hdrs, messages, end, body)


# --- aerie's bucket ------------------------------------------------------------------------------


def storage_env(server: AerieServer, *extra: str) -> dict[str, str]:
    """What `aerie storage env` exports, for reading the bucket from outside a task."""
    cli = aerie_cli(server, "storage", "env", "--data-dir", str(server.data_dir), *extra)
    assert cli.returncode == 0, cli.explain()
    env = {}
    for line in cli.stdout.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        env[name] = value.strip("'")
    assert env["FLYTE_AWS_ENDPOINT"] == f"http://127.0.0.1:{server.port}"
    return env


def bucket(env: dict[str, str], *, secret: str | None = None):
    """An obstore client for aerie's bucket with the credential in `env` (or another secret)."""
    from obstore.store import S3Store

    return S3Store(
        "aerie",
        config={
            "endpoint": env["FLYTE_AWS_ENDPOINT"],
            "access_key_id": env["FLYTE_AWS_ACCESS_KEY_ID"],
            "secret_access_key": secret or env["FLYTE_AWS_SECRET_ACCESS_KEY"],
        },
        client_options={"allow_http": True},
        retry_config={
            "max_retries": 0,
            "retry_timeout": datetime.timedelta(seconds=10),
            "backoff": {
                "base": 2,
                "init_backoff": datetime.timedelta(milliseconds=100),
                "max_backoff": datetime.timedelta(seconds=1),
            },
        },
    )


def bucket_key(uri: str) -> str:
    """The key of an `s3://aerie/KEY` URI."""
    assert uri.startswith("s3://aerie/"), uri
    return uri.removeprefix("s3://aerie/")


SDK_PRELUDE = f"""
import asyncio, json, os, pathlib, sys
sys.path.insert(0, {str(TESTS_DIR)!r})
import flyte, flyte.remote
from flyte.remote._logs import Logs
from workflows import basic, task_data
flyte.init(endpoint="localhost:%(port)d", insecure=True, project={PROJECT!r}, domain={DOMAIN!r},
           root_dir=pathlib.Path({str(TESTS_DIR)!r}))
"""


def sdk_script(port: int, body: str, timeout: float = 180, env: dict[str, str] | None = None) -> dict:
    """Run `body` in a child Python with the SDK initialised against `localhost:port` (for servers
    other than the session's: `flyte.init` is process-global). `body` prints one JSON line last;
    `env` is added to the child's environment."""
    # Leave without interpreter finalisation: the SDK's native threads have been seen to abort
    # the process (SIGABRT) while shutting down on a busy machine, after the work was done.
    script = SDK_PRELUDE % {"port": port} + textwrap.dedent(body) + "\nsys.stdout.flush(); os._exit(0)\n"
    cp = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )
    assert cp.returncode == 0, f"SDK script failed ({cp.returncode})\n{cp.stdout}\n{cp.stderr}"
    return json.loads(cp.stdout.strip().splitlines()[-1])
