"""The `aerie` CLI against the same live server: get, watch, logs, io and abort.

Global flags: `--endpoint HOST:PORT -p PROJECT -d DOMAIN`; `-o json` on the commands that print data.
"""

from __future__ import annotations

import json
import time

import flyte
import flyte.remote
from flyte.models import ActionPhase
from helpers import aerie_cli, run_tool, wait_terminal, wait_until
from workflows import basic
from workflows.basic import GREETING_LOG_LINE


def json_strings(value) -> set[str]:
    """Every string (and stringified number) anywhere in a JSON document."""
    out: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            out.add(str(k))
            out |= json_strings(v)
    elif isinstance(value, list):
        for v in value:
            out |= json_strings(v)
    elif value is not None:
        out.add(str(value))
    return out


def test_aerie_get_run_shows_the_run_and_its_phase(aerie, succeeded_run):
    cli = aerie_cli(aerie, "get", "run", succeeded_run.name)

    assert cli.returncode == 0, cli.explain()
    assert succeeded_run.name in cli.stdout, cli.explain()
    assert "succeeded" in cli.stdout.lower(), cli.explain()


def test_aerie_get_run_lists_runs(aerie, succeeded_run, failed_run):
    cli = aerie_cli(aerie, "get", "run")

    assert cli.returncode == 0, cli.explain()
    assert succeeded_run.name in cli.stdout and failed_run.name in cli.stdout, cli.explain()


def test_aerie_get_run_as_json_is_parseable(aerie, succeeded_run):
    cli = aerie_cli(aerie, "get", "run", succeeded_run.name, "-o", "json")

    assert cli.returncode == 0, cli.explain()
    doc = json.loads(cli.stdout)
    assert succeeded_run.name in json_strings(doc), cli.stdout


def test_aerie_get_action_lists_and_shows_actions(aerie, failed_run):
    listing = aerie_cli(aerie, "get", "action", failed_run.name)
    one = aerie_cli(aerie, "get", "action", failed_run.name, "a0")
    as_json = aerie_cli(aerie, "get", "action", failed_run.name, "a0", "-o", "json")

    assert listing.returncode == 0 and "a0" in listing.stdout, listing.explain()
    assert one.returncode == 0, one.explain()
    assert "failed" in one.stdout.lower() and "boom: the answer was 41" in one.stdout, one.explain()
    assert as_json.returncode == 0, as_json.explain()
    strings = json_strings(json.loads(as_json.stdout))
    assert any("boom: the answer was 41" in s for s in strings), as_json.stdout


def key_shape(value):
    """The keys of a JSON document, recursively, without the values."""
    if isinstance(value, dict):
        return {k: key_shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [key_shape(v) for v in value]
    return None


def test_aerie_get_action_json_has_the_keys_the_sdks_to_json_gives(aerie, succeeded_run):
    cli = aerie_cli(aerie, "get", "action", succeeded_run.name, "a0", "-o", "json")
    sdk_doc = flyte.remote.ActionDetails.get(run_name=succeeded_run.name, name="a0").to_dict()

    assert cli.returncode == 0, cli.explain()
    doc = json.loads(cli.stdout)
    assert doc["id"] == sdk_doc["id"]
    assert doc["status"]["phase"] == sdk_doc["status"]["phase"] == "ACTION_PHASE_SUCCEEDED"
    assert key_shape(doc) == key_shape(sdk_doc)


def test_aerie_watch_json_prints_one_json_update_per_line(aerie, succeeded_run):
    cli = aerie_cli(aerie, "watch", succeeded_run.name, "-o", "json")

    assert cli.returncode == 0, cli.explain()
    updates = [json.loads(line) for line in cli.stdout.splitlines() if line.strip()]
    assert updates, cli.explain()
    assert updates[-1]["status"]["phase"] == "ACTION_PHASE_SUCCEEDED", cli.explain()


def test_aerie_watch_exits_zero_for_a_succeeded_run(aerie, succeeded_run):
    cli = aerie_cli(aerie, "watch", succeeded_run.name)

    assert cli.returncode == 0, cli.explain()


def test_aerie_watch_exits_one_for_a_failed_run(aerie, failed_run):
    cli = aerie_cli(aerie, "watch", failed_run.name)

    assert cli.returncode == 1, cli.explain()


def test_aerie_watch_follows_a_running_task_to_success(aerie, sdk):
    run = flyte.run(basic.sleep_then_succeed, seconds=2.0)

    cli = aerie_cli(aerie, "watch", run.name, "a0", timeout=90)

    assert cli.returncode == 0, cli.explain()
    assert "succeeded" in (cli.stdout + cli.stderr).lower(), cli.explain()


def test_aerie_logs_prints_the_tasks_lines(aerie, succeeded_run):
    cli = aerie_cli(aerie, "logs", succeeded_run.name)
    with_attempt = aerie_cli(aerie, "logs", succeeded_run.name, "a0", "--attempt", "1")

    assert cli.returncode == 0, cli.explain()
    assert f"{GREETING_LOG_LINE} 41 for aerie" in cli.stdout, cli.explain()
    assert with_attempt.returncode == 0 and GREETING_LOG_LINE in with_attempt.stdout, with_attempt.explain()


def test_aerie_io_shows_inputs_and_outputs(aerie, succeeded_run):
    cli = aerie_cli(aerie, "io", succeeded_run.name)

    assert cli.returncode == 0, cli.explain()
    for value in ("41", "aerie", "42", "hello aerie"):
        assert value in cli.stdout, f"{value!r} missing\n{cli.explain()}"


def test_aerie_io_as_json_is_parseable(aerie, succeeded_run):
    cli = aerie_cli(aerie, "io", succeeded_run.name, "-o", "json")

    assert cli.returncode == 0, cli.explain()
    strings = json_strings(json.loads(cli.stdout))
    assert "hello aerie" in strings and "aerie" in strings, cli.stdout


def test_aerie_abort_run_aborts_a_sleeping_task_with_the_reason(aerie, sdk, tmp_path):
    pid_file = tmp_path / "pids.txt"
    run = flyte.run(basic.sleep_and_record_pids, pid_file=str(pid_file), seconds=300)
    wait_until(pid_file.exists, 90, f"run {run.name} to start its task")

    started = time.monotonic()
    cli = aerie_cli(aerie, "abort", "run", run.name, "--reason", "aborted by the aerie CLI")

    assert cli.returncode == 0, cli.explain()
    details = wait_terminal(run, timeout=60)
    assert time.monotonic() - started < 15
    assert details.phase == ActionPhase.ABORTED
    assert details.abort_info is not None and details.abort_info.reason == "aborted by the aerie CLI"
    watch = aerie_cli(aerie, "watch", run.name)
    assert watch.returncode == 1, f"watch of an aborted run exits 1\n{watch.explain()}"


def test_aerie_abort_action_aborts_the_root_action(aerie, sdk, tmp_path):
    pid_file = tmp_path / "pids.txt"
    run = flyte.run(basic.sleep_and_record_pids, pid_file=str(pid_file), seconds=300)
    wait_until(pid_file.exists, 90, f"run {run.name} to start its task")

    cli = aerie_cli(aerie, "abort", "action", run.name, "a0", "--reason", "action abort by the aerie CLI")

    assert cli.returncode == 0, cli.explain()
    details = wait_terminal(run, timeout=60)
    assert details.phase == ActionPhase.ABORTED
    assert details.abort_info.reason == "action abort by the aerie CLI"


def test_aerie_get_of_an_unknown_run_fails_with_one_clear_line(aerie, sdk):
    cli = aerie_cli(aerie, "get", "run", "no-such-run-here")

    assert cli.returncode != 0, cli.explain()
    assert cli.stderr.strip(), "the error goes to stderr"
    assert len(cli.stderr.strip().splitlines()) == 1, cli.explain()
    assert "not found" in cli.stderr.lower() or "no-such-run-here" in cli.stderr, cli.explain()


def test_aerie_cli_reports_an_unreachable_endpoint(aerie):
    cli = run_tool([str(aerie.binary), "--endpoint", "127.0.0.1:1", "get", "run"], timeout=60)

    assert cli.returncode != 0, cli.explain()
    assert cli.stderr.strip(), cli.explain()
