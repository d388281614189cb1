"""Restart is normal: records and logs survive a clean restart, and a kill -9 strands no run.

These tests start their own server (not the session's), so the SDK calls run in a child Python
process (`sdk_script`): `flyte.init` is process-global and the session's tests keep using the
session server.
"""

from __future__ import annotations

import signal
import time

from conftest import stop_aerie_process
from helpers import aerie_cli, sdk_script

READ_BACK = """
d = flyte.remote.ActionDetails.get(run_name=%(run)r, name="a0")
lines = [l.message for l in Logs.tail(action_id=d.action_id, attempt=1)]
out = asyncio.run(d.outputs()) if d.phase.value == "succeeded" else None
print(json.dumps({"phase": d.phase.value, "attempts": d.attempts, "outputs": list(out) if out else None,
                  "logs": lines, "kind": d.error_info.kind if d.error_info else None,
                  "message": d.error_message}))
"""


def test_records_and_logs_survive_a_clean_restart(own_server):
    first = own_server()
    run = sdk_script(
        first.port,
        """
        run = flyte.run(basic.add_and_greet, x=1, name="restart")
        run.wait(quiet=True)
        print(json.dumps({"run": run.name}))
        """,
    )["run"]
    before = sdk_script(first.port, READ_BACK % {"run": run})

    status = stop_aerie_process(first.proc, grace_s=15)
    assert status == 0, f"aerie should exit 0 on SIGTERM, got {status}\n{first.log_text()}"

    second = own_server(root=first.root, addr=f"127.0.0.1:{first.port}")
    after = sdk_script(second.port, READ_BACK % {"run": run})

    assert before["phase"] == "succeeded" and before["outputs"] == [2, "hello restart"]
    assert after == before, "a restart must not change what is recorded"
    assert any("add_and_greet: adding one to 1 for restart" in line for line in after["logs"])
    cli = aerie_cli(second, "logs", run)
    assert cli.returncode == 0 and "adding one to 1 for restart" in cli.stdout, cli.explain()


def test_a_run_in_flight_when_aerie_is_killed_still_ends(own_server):
    first = own_server()
    run = sdk_script(
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
    result = sdk_script(second.port, wait + READ_BACK % {"run": run})

    assert result["phase"] in ("succeeded", "failed"), f"after kill -9 and restart the run ended {result}"
    if result["phase"] == "failed":
        assert result["kind"] == 2, f"a run lost to a crash fails as a SYSTEM error: {result}"
        assert result["message"], "and says what happened"
