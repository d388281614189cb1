"""Projects and identity through the official CLI: `flytesnacks` from the start, a project
created, shown, updated and archived; work in an unknown project refused with a hint; `flyte
whoami` and `--only-mine` naming the local user without auth."""

from __future__ import annotations

import json
import uuid

import flyte
from conftest import start_aerie, stop_aerie_process
from flyteidl2.core import tasks_pb2
from flyteidl2.project import project_service_pb2
from flyteidl2.task import task_definition_pb2
from flyteidl2.workflow import run_service_pb2
from helpers import connect_unary, flyte_cli, wait_terminal
from workflows import basic


def test_flytesnacks_exists_and_a_project_is_created_shown_and_archived(sdk, tmp_path):
    listed = flyte_cli(sdk, "get", "project", cwd=tmp_path)
    assert listed.returncode == 0 and "flytesnacks" in listed.stdout, listed.explain()

    project = f"team-{uuid.uuid4().hex[:6]}"
    created = flyte_cli(
        sdk, "create", "project", "--id", project, "--name", "The team", "--description", "ours", "-l", "team=ml",
        cwd=tmp_path,
    )
    assert created.returncode == 0, created.explain()
    again = flyte_cli(sdk, "create", "project", "--id", project, "--name", "Twice", cwd=tmp_path)
    assert again.returncode != 0 and "already exists" in again.stdout + again.stderr, again.explain()

    shown = flyte_cli(sdk, "get", "project", project, cwd=tmp_path)
    assert shown.returncode == 0, shown.explain()
    assert "The team" in shown.stdout and "ours" in shown.stdout and "ml" in shown.stdout, shown.explain()

    archived = flyte_cli(sdk, "update", "project", project, "--archive", cwd=tmp_path)
    assert archived.returncode == 0, archived.explain()
    active = flyte_cli(sdk, "get", "project", cwd=tmp_path)
    assert project not in active.stdout, active.explain()
    only_archived = flyte_cli(sdk, "get", "project", "--archived", cwd=tmp_path)
    assert project in only_archived.stdout and "flytesnacks" not in only_archived.stdout, only_archived.explain()

    missing = flyte_cli(sdk, "get", "project", "no-such-project", cwd=tmp_path)
    said = missing.stdout + missing.stderr
    assert missing.returncode != 0 and "project no-such-project does not exist" in said, missing.explain()


def test_work_in_an_unknown_project_is_not_found_with_a_hint(sdk):
    request = run_service_pb2.CreateRunRequest()
    request.project_id.name, request.project_id.domain = "nowhere", "development"
    request.task_spec.CopyFrom(task_definition_pb2.TaskSpec(task_template=tasks_pb2.TaskTemplate(type="python")))
    reply = connect_unary(sdk, "flyteidl2.workflow.RunService/CreateRun", request.SerializeToString())
    assert reply.code == "not_found", reply.explain()
    message = reply.json()["message"]
    assert "nowhere" in message and "flyte create project" in message, message


def test_create_projects_makes_an_unknown_project_on_first_use(tmp_path):
    server = start_aerie(tmp_path, extra_args=("--create-projects",))
    try:
        request = run_service_pb2.CreateRunRequest()
        request.project_id.name, request.project_id.domain = "made-on-use", "development"
        request.task_spec.CopyFrom(task_definition_pb2.TaskSpec(task_template=tasks_pb2.TaskTemplate(type="python")))
        reply = connect_unary(server, "flyteidl2.workflow.RunService/CreateRun", request.SerializeToString())
        assert reply.status == 200, reply.explain()
        listed = connect_unary(
            server, "flyteidl2.project.ProjectService/GetProject", project_service_pb2.GetProjectRequest(id="made-on-use").SerializeToString()
        )
        assert listed.status == 200, listed.explain()
    finally:
        stop_aerie_process(server.proc)


def test_whoami_names_the_local_user_and_only_mine_finds_its_runs(sdk, tmp_path):
    whoami = flyte_cli(sdk, "whoami", cwd=tmp_path)
    assert whoami.returncode == 0, whoami.explain()
    subject = json.loads(whoami.stdout[whoami.stdout.index("{") :])["subject"]
    assert subject, whoami.stdout

    run = flyte.run(basic.add_and_greet, x=2, name=f"mine-{uuid.uuid4().hex[:6]}")
    wait_terminal(run, timeout=120)
    mine = flyte_cli(sdk, "get", "run", "--only-mine", "--limit", "1000", cwd=tmp_path)
    assert mine.returncode == 0 and run.name in mine.stdout, mine.explain()
