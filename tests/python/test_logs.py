"""A task's stdout and stderr are captured per attempt and served by TailLogs, live and afterwards."""

from __future__ import annotations

import flyte.remote
from flyte.remote._logs import Logs
from flyteidl2.logs.dataplane import payload_pb2
from helpers import DOMAIN, PROJECT, action_id, flyte_cli
from workflows.basic import GREETING_LOG_LINE


def test_logs_available_once_the_task_ran(succeeded_run):
    d = flyte.remote.ActionDetails.get(run_name=succeeded_run.name, name="a0")

    assert d.logs_available() is True
    assert d.logs_available(1) is True
    assert d.pb2.attempts[0].logs_available is True


def test_flyte_get_logs_shows_the_tasks_printed_lines(aerie, succeeded_run, tmp_path):
    cli = flyte_cli(aerie, "get", "logs", succeeded_run.name, "-p", PROJECT, "-d", DOMAIN, cwd=tmp_path)

    assert cli.returncode == 0, cli.explain()
    assert f"{GREETING_LOG_LINE} 41 for aerie" in cli.stdout, cli.explain()
    assert "a line on stderr for aerie" in cli.stdout, cli.explain()


def test_flyte_get_logs_of_an_action_by_name(aerie, succeeded_run, tmp_path):
    cli = flyte_cli(aerie, "get", "logs", succeeded_run.name, "a0", "-p", PROJECT, "-d", DOMAIN, cwd=tmp_path)

    assert cli.returncode == 0, cli.explain()
    assert f"{GREETING_LOG_LINE} 41 for aerie" in cli.stdout, cli.explain()


def test_run_get_logs_streams_every_line_and_ends(succeeded_run):
    run = flyte.remote.Run.get(succeeded_run.name)

    lines = list(run.get_logs())

    assert any(f"{GREETING_LOG_LINE} 41 for aerie" in line for line in lines), lines


def test_tail_logs_lines_keep_newlines_and_mark_task_output_as_user(succeeded_run):
    lines = list(Logs.tail(action_id=action_id(succeeded_run.name), attempt=1))

    ours = [line for line in lines if GREETING_LOG_LINE in line.message]
    assert len(ours) == 1, [line.message for line in lines]
    line = ours[0]
    assert line.message.endswith("\n"), "LogLine.message keeps its trailing newline (the CLI adds none)"
    assert line.originator == payload_pb2.LogLineOriginator.USER
    assert line.HasField("timestamp") and line.timestamp.seconds > 0


def test_logs_of_a_failed_task_are_kept(aerie, failed_run, tmp_path):
    cli = flyte_cli(aerie, "get", "logs", failed_run.name, "-p", PROJECT, "-d", DOMAIN, cwd=tmp_path)

    assert cli.returncode == 0, cli.explain()
    assert "fail_with_value_error: about to fail with 41" in cli.stdout, cli.explain()
