"""Listing runs and actions: `flyte get run`, `flyte get action`, `Run.listall`, `Action.listall`, paging.

Exercised RPCs: ListRuns (filters, sort, page tokens), ListActions, GetRunDetails, GetActionDetails.
"""

from __future__ import annotations

import json
import subprocess
import sys

import flyte.remote
from flyte.models import ActionPhase
from flyteidl2.common import identifier_pb2, list_pb2
from flyteidl2.workflow import run_service_pb2
from helpers import DOMAIN, PROJECT, connect_unary, decode_unary, flyte_cli


def test_flyte_get_run_lists_the_runs(aerie, succeeded_run, failed_run, tmp_path):
    cli = flyte_cli(aerie, "get", "run", "-p", PROJECT, "-d", DOMAIN, cwd=tmp_path)

    assert cli.returncode == 0, cli.explain()
    assert succeeded_run.name in cli.stdout, cli.explain()
    assert failed_run.name in cli.stdout, cli.explain()


def test_flyte_get_run_as_json_lists_the_runs(aerie, succeeded_run, failed_run, tmp_path):
    cli = flyte_cli(aerie, "-of", "json-raw", "get", "run", "-p", PROJECT, "-d", DOMAIN, cwd=tmp_path)

    assert cli.returncode == 0, cli.explain()
    runs = json.loads(cli.stdout)
    by_name = {r["action"]["id"]["run"]["name"]: r for r in runs}
    assert by_name[succeeded_run.name]["action"]["status"]["phase"] == "ACTION_PHASE_SUCCEEDED"
    assert by_name[failed_run.name]["action"]["status"]["phase"] == "ACTION_PHASE_FAILED"


def test_flyte_get_run_by_name_shows_its_details(aerie, succeeded_run, tmp_path):
    cli = flyte_cli(aerie, "get", "run", succeeded_run.name, "-p", PROJECT, "-d", DOMAIN, cwd=tmp_path)

    assert cli.returncode == 0, cli.explain()
    assert succeeded_run.name in cli.stdout and "ACTION_PHASE_SUCCEEDED" in cli.stdout, cli.explain()


def test_flyte_get_action_lists_the_actions_of_a_run(aerie, succeeded_run, tmp_path):
    cli = flyte_cli(aerie, "get", "action", succeeded_run.name, "-p", PROJECT, "-d", DOMAIN, cwd=tmp_path)

    assert cli.returncode == 0, cli.explain()
    assert "a0" in cli.stdout and succeeded_run.name in cli.stdout, cli.explain()


def test_flyte_get_action_by_name_shows_its_details(aerie, failed_run, tmp_path):
    cli = flyte_cli(aerie, "get", "action", failed_run.name, "a0", "-p", PROJECT, "-d", DOMAIN, cwd=tmp_path)

    assert cli.returncode == 0, cli.explain()
    assert "ACTION_PHASE_FAILED" in cli.stdout and "boom: the answer was 41" in cli.stdout, cli.explain()


def test_flyte_get_of_an_unknown_run_fails_cleanly(aerie, sdk, tmp_path):
    cli = flyte_cli(aerie, "get", "run", "no-such-run-exists", "-p", PROJECT, "-d", DOMAIN, cwd=tmp_path)

    assert cli.returncode != 0, cli.explain()
    assert "not" in (cli.stdout + cli.stderr).lower(), cli.explain()


def test_action_listall_returns_the_root_action(succeeded_run):
    actions = list(flyte.remote.Action.listall(for_run_name=succeeded_run.name))

    assert [a.name for a in actions] == ["a0"]
    assert actions[0].phase == ActionPhase.SUCCEEDED
    assert actions[0].task_name == "aerie_tests.add_and_greet"
    assert list(flyte.remote.Action.listall(for_run_name=succeeded_run.name, in_phase=(ActionPhase.FAILED,))) == []


def test_run_listall_sorts_by_creation_time(succeeded_run, failed_run):
    ascending = [r.name for r in flyte.remote.Run.listall(sort_by=("created_at", "asc"))]
    descending = [r.name for r in flyte.remote.Run.listall(sort_by=("created_at", "desc"))]

    assert set(ascending) == set(descending)
    assert ascending == list(reversed(descending))
    assert {succeeded_run.name, failed_run.name} <= set(ascending)


def test_list_runs_pages_with_tokens_and_ends_with_an_empty_token(aerie, succeeded_run, failed_run):
    def page(token: str) -> run_service_pb2.ListRunsResponse:
        req = run_service_pb2.ListRunsRequest(
            request=list_pb2.ListRequest(
                limit=1,
                token=token,
                sort_by=list_pb2.Sort(key="created_at", direction=list_pb2.Sort.ASCENDING),
            ),
            project_id=identifier_pb2.ProjectIdentifier(name=PROJECT, domain=DOMAIN),
        )
        reply = connect_unary(aerie, "flyteidl2.workflow.RunService/ListRuns", req.SerializeToString())
        return decode_unary(reply, run_service_pb2.ListRunsResponse)

    everything = [r.name for r in flyte.remote.Run.listall(sort_by=("created_at", "asc"))]
    paged, token = [], ""
    for _ in range(len(everything) + 5):
        resp = page(token)
        assert len(resp.runs) <= 1, "limit=1 must be honoured"
        paged.extend(r.action.id.run.name for r in resp.runs)
        token = resp.token
        if not token:
            break
    else:
        raise AssertionError(f"ListRuns never returned an empty token; pages so far: {paged}")

    assert paged[: len(everything)] == everything


def test_a_numeric_endpoint_reads_the_same_run(aerie, succeeded_run, tmp_path):
    """`127.0.0.1:PORT` makes the SDK send org "127" (vs "" for localhost); runs are keyed without org."""
    script = f"""
import flyte, flyte.remote
flyte.init(endpoint="127.0.0.1:{aerie.port}", insecure=True, project="{PROJECT}", domain="{DOMAIN}")
d = flyte.remote.ActionDetails.get(run_name="{succeeded_run.name}", name="a0")
print("PHASE", d.phase.value)
print("NAMES", sorted(r.name for r in flyte.remote.Run.listall()))
"""
    cp = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=90, check=False
    )

    assert cp.returncode == 0, cp.stderr
    assert "PHASE succeeded" in cp.stdout, cp.stdout + cp.stderr
    assert succeeded_run.name in cp.stdout
