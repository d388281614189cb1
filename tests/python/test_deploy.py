"""Deployed tasks through the official SDK: `flyte.deploy`, two versions run by reference, the
latest version, a running task calling a deployed one, listing, immutable versions, and clear
errors for unknown tasks."""

from __future__ import annotations

import uuid

import flyte
import flyte.remote
import pytest
from flyteidl2.task import task_service_pb2
from helpers import DOMAIN, PROJECT, connect_unary, decode_unary, flyte_cli, wait_terminal
from workflows import deployed

TASK = "deployed.double"


@pytest.fixture(scope="module")
def versions(sdk) -> tuple[str, str]:
    """`deployed` deployed twice, as two fresh versions (oldest first)."""
    suffix = uuid.uuid4().hex[:8]
    first, second = f"v1-{suffix}", f"v2-{suffix}"
    flyte.deploy(deployed.env, version=first)
    flyte.deploy(deployed.env, version=second)
    return first, second


def get_details(server, name: str, version: str):
    request = task_service_pb2.GetTaskDetailsRequest()
    request.task_id.project, request.task_id.domain = PROJECT, DOMAIN
    request.task_id.name, request.task_id.version = name, version
    return connect_unary(server, "flyteidl2.task.TaskService/GetTaskDetails", request.SerializeToString())


def test_each_deployed_version_runs_by_reference(sdk, versions):
    for version in versions:
        task = flyte.remote.Task.get(TASK, version=version)
        run = flyte.run(task, x=21)
        details = wait_terminal(run, timeout=180)
        assert details.phase.value == "succeeded", details.error_message
        assert run.outputs()[0] == 42


def test_the_flyte_cli_runs_a_deployed_version(sdk, versions, tmp_path):
    cli = flyte_cli(
        sdk, "run", "-p", PROJECT, "-d", DOMAIN, "deployed-task", f"{TASK}:{versions[0]}", "--x", "4",
        cwd=tmp_path, timeout=180,
    )
    assert cli.returncode == 0, cli.explain()
    run = flyte.remote.Run.get(name=_run_name(cli.stdout + cli.stderr))
    run.wait(quiet=True)
    assert run.outputs()[0] == 8


def _run_name(output: str) -> str:
    """The run name the `flyte run` output mentions (in its console URL)."""
    import re

    found = re.search(r"/runs/([a-z0-9]+)", output)
    assert found, output
    return found.group(1)


def test_the_latest_version_is_the_last_deployed(sdk, versions):
    latest = flyte.remote.Task.get(TASK, auto_version="latest").fetch()
    assert latest.version == versions[1]


def test_a_running_task_calls_a_deployed_task_by_reference(sdk, versions):
    run = flyte.run(deployed.call_deployed, x=5)
    details = wait_terminal(run, timeout=240)
    assert details.phase.value == "succeeded", details.error_message
    assert run.outputs()[0] == 11


def test_listing_shows_every_version_newest_first_on_request(sdk, versions):
    listed = [task.version for task in flyte.remote.Task.listall(by_task_name=TASK, sort_by=("created_at", "desc"))]
    assert listed.index(versions[1]) < listed.index(versions[0]), listed


def test_a_deployed_version_never_changes(sdk, versions):
    reply = get_details(sdk, TASK, versions[0])
    assert reply.status == 200, reply.explain()
    details = decode_unary(reply, task_service_pb2.GetTaskDetailsResponse).details

    same = task_service_pb2.DeployTaskRequest(task_id=details.task_id, spec=details.spec)
    again = connect_unary(sdk, "flyteidl2.task.TaskService/DeployTask", same.SerializeToString())
    assert again.status == 200, f"the same spec again is fine: {again.explain()}"

    changed = task_service_pb2.DeployTaskRequest(task_id=details.task_id, spec=details.spec)
    changed.spec.short_name = "something else"
    refused = connect_unary(sdk, "flyteidl2.task.TaskService/DeployTask", changed.SerializeToString())
    assert (refused.status, refused.code) == (409, "already_exists"), refused.explain()
    assert versions[0] in refused.json()["message"]

    still = decode_unary(get_details(sdk, TASK, versions[0]), task_service_pb2.GetTaskDetailsResponse)
    assert still.details.spec == details.spec, "the stored spec is unchanged"


def test_an_unknown_task_or_version_is_not_found_by_name(sdk, versions):
    for name, version in [("deployed.nothing", versions[0]), (TASK, "no-such-version")]:
        reply = get_details(sdk, name, version)
        assert (reply.status, reply.code) == (404, "not_found"), reply.explain()
        message = reply.json()["message"]
        assert name in message and version in message, message
    with pytest.raises(Exception, match="not found|NOT_FOUND|No versions"):
        flyte.remote.Task.get("deployed.nothing", auto_version="latest").fetch()


def test_a_task_calls_a_deployed_task_over_the_actions_service_too(sdk, versions):
    run = flyte.with_runcontext(env_vars={"_U_USE_ACTIONS": "1"}).run(deployed.call_deployed, x=6)
    details = wait_terminal(run, timeout=240)
    assert details.phase.value == "succeeded", details.error_message
    assert run.outputs()[0] == 13


def test_list_versions_gives_a_tasks_versions_newest_first(sdk, versions):
    request = task_service_pb2.ListVersionsRequest()
    request.task_name.project, request.task_name.domain, request.task_name.name = PROJECT, DOMAIN, TASK
    reply = decode_unary(
        connect_unary(sdk, "flyteidl2.task.TaskService/ListVersions", request.SerializeToString()),
        task_service_pb2.ListVersionsResponse,
    )
    listed = [version.version for version in reply.versions]
    assert listed.index(versions[1]) < listed.index(versions[0]), listed


def test_a_deploy_to_an_unknown_project_is_not_found_with_a_hint(sdk, versions):
    reply = get_details(sdk, TASK, versions[0])
    details = decode_unary(reply, task_service_pb2.GetTaskDetailsResponse).details
    request = task_service_pb2.DeployTaskRequest(task_id=details.task_id, spec=details.spec)
    request.task_id.project = "nowhere"
    refused = connect_unary(sdk, "flyteidl2.task.TaskService/DeployTask", request.SerializeToString())
    assert refused.code == "not_found" and "flyte create project" in refused.json()["message"], refused.explain()


def test_malformed_deploys_are_invalid_arguments_that_say_what_is_wrong(sdk, versions):
    details = decode_unary(get_details(sdk, TASK, versions[0]), task_service_pb2.GetTaskDetailsResponse).details
    no_spec = task_service_pb2.DeployTaskRequest(task_id=details.task_id)
    other_name = task_service_pb2.DeployTaskRequest(task_id=details.task_id, spec=details.spec)
    other_name.task_id.name = "deployed.elsewhere"
    nameless_trigger = task_service_pb2.DeployTaskRequest(task_id=details.task_id, spec=details.spec)
    nameless_trigger.triggers.add()
    for request, says in [(no_spec, "spec"), (other_name, "another task"), (nameless_trigger, "triggers.name")]:
        reply = connect_unary(sdk, "flyteidl2.task.TaskService/DeployTask", request.SerializeToString())
        assert reply.code == "invalid_argument" and says in reply.json()["message"], reply.explain()
    garbage = connect_unary(sdk, "flyteidl2.task.TaskService/DeployTask", b"\xff\xfe not a message")
    assert garbage.code == "invalid_argument", garbage.explain()
