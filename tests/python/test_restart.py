"""Restart is normal: records and logs survive a clean restart, and a kill -9 strands no run.

These tests start their own server (not the session's), so the SDK calls run in a child Python
process: `flyte.init` is process-global and the session's tests keep using the session server.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from conftest import start_aerie, stop_aerie_process
from helpers import DOMAIN, PROJECT, TESTS_DIR, aerie_cli

SDK_PRELUDE = f"""
import asyncio, json, pathlib, sys
sys.path.insert(0, {str(TESTS_DIR)!r})
import flyte, flyte.remote
from flyte.remote._logs import Logs
from workflows import basic
flyte.init(endpoint="localhost:%(port)d", insecure=True, project={PROJECT!r}, domain={DOMAIN!r},
           root_dir=pathlib.Path({str(TESTS_DIR)!r}))
"""


def sdk(port: int, body: str, timeout: float = 180) -> dict:
    """Run `body` with the SDK initialised against `localhost:port`; it prints one JSON line last."""
    script = SDK_PRELUDE % {"port": port} + textwrap.dedent(body)
    cp = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout, check=False)
    assert cp.returncode == 0, f"SDK script failed ({cp.returncode})\n{cp.stdout}\n{cp.stderr}"
    return json.loads(cp.stdout.strip().splitlines()[-1])


READ_BACK = """
d = flyte.remote.ActionDetails.get(run_name=%(run)r, name="a0")
lines = [l.message for l in Logs.tail(action_id=d.action_id, attempt=1)]
out = asyncio.run(d.outputs()) if d.phase.value == "succeeded" else None
print(json.dumps({"phase": d.phase.value, "attempts": d.attempts, "outputs": list(out) if out else None,
                  "logs": lines, "kind": d.error_info.kind if d.error_info else None,
                  "message": d.error_message}))
"""


@pytest.fixture
def own_server(tmp_path_factory):
    servers = []

    def start(root=None, addr="127.0.0.1:0"):
        root = root or tmp_path_factory.mktemp("aerie-restart")
        server = start_aerie(root, addr=addr)
        servers.append(server)
        return server

    yield start
    for server in servers:
        stop_aerie_process(server.proc)


def test_records_and_logs_survive_a_clean_restart(own_server):
    first = own_server()
    run = sdk(
        first.port,
        """
        run = flyte.run(basic.add_and_greet, x=1, name="restart")
        run.wait(quiet=True)
        print(json.dumps({"run": run.name}))
        """,
    )["run"]
    before = sdk(first.port, READ_BACK % {"run": run})

    status = stop_aerie_process(first.proc, grace_s=15)
    assert status == 0, f"aerie should exit 0 on SIGTERM, got {status}\n{first.log_text()}"

    second = own_server(root=first.root, addr=f"127.0.0.1:{first.port}")
    after = sdk(second.port, READ_BACK % {"run": run})

    assert before["phase"] == "succeeded" and before["outputs"] == [2, "hello restart"]
    assert after == before, "a restart must not change what is recorded"
    assert any("add_and_greet: adding one to 1 for restart" in line for line in after["logs"])
    cli = aerie_cli(second, "logs", run)
    assert cli.returncode == 0 and "adding one to 1 for restart" in cli.stdout, cli.explain()


def test_a_run_in_flight_when_aerie_is_killed_still_ends(own_server):
    first = own_server()
    run = sdk(
        first.port,
        """
        run = flyte.run(basic.sleep_then_succeed, seconds=5.0)
        run.wait(quiet=True, wait_for="running")
        print(json.dumps({"run": run.name}))
        """,
    )["run"]

    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait(timeout=10)
    time.sleep(1)
    second = own_server(root=first.root, addr=f"127.0.0.1:{first.port}")
    wait = f"run = flyte.remote.Run.get({run!r})\nasyncio.run(asyncio.wait_for(run.wait.aio(quiet=True), 120))\n"
    result = sdk(second.port, wait + READ_BACK % {"run": run})

    assert result["phase"] in ("succeeded", "failed"), f"after kill -9 and restart the run ended {result}"
    if result["phase"] == "failed":
        assert result["kind"] == 2, f"a run lost to a crash fails as a SYSTEM error: {result}"
        assert result["message"], "and says what happened"
