"""`ActionDetails.to_json()` / `to_dict()`: proto3 JSON of the whole action, as the SDK renders it."""

from __future__ import annotations

import json

import flyte.remote
from helpers import DOMAIN, PROJECT


def test_to_json_carries_the_action_id_phase_and_attempts(succeeded_run):
    d = flyte.remote.ActionDetails.get(run_name=succeeded_run.name, name="a0")

    doc = json.loads(d.to_json())

    assert doc["id"]["name"] == "a0"
    assert doc["id"]["run"]["name"] == succeeded_run.name
    assert doc["id"]["run"]["project"] == PROJECT and doc["id"]["run"]["domain"] == DOMAIN
    assert doc["status"]["phase"] == "ACTION_PHASE_SUCCEEDED"
    assert doc["status"]["attempts"] == 1
    assert "startTime" in doc["status"] and "endTime" in doc["status"]
    [attempt] = doc["attempts"]
    assert attempt["attempt"] == 1
    assert attempt["phase"] == "ACTION_PHASE_SUCCEEDED"
    assert attempt["logsAvailable"] is True
    assert [t["phase"] for t in attempt["phaseTransitions"]][-1] == "ACTION_PHASE_SUCCEEDED"
    assert doc["metadata"]["task"]["id"]["name"] == "aerie_tests.add_and_greet"
    assert "task" in doc and "taskTemplate" in doc["task"]


def test_to_dict_is_the_same_document(succeeded_run):
    d = flyte.remote.ActionDetails.get(run_name=succeeded_run.name, name="a0")

    assert d.to_dict() == json.loads(d.to_json())


def test_to_json_of_a_failed_action_carries_error_info(failed_run):
    d = flyte.remote.ActionDetails.get(run_name=failed_run.name, name="a0")

    doc = json.loads(d.to_json())

    assert doc["status"]["phase"] == "ACTION_PHASE_FAILED"
    assert doc["errorInfo"]["kind"] == "KIND_USER"
    assert "boom: the answer was 41" in doc["errorInfo"]["message"]
