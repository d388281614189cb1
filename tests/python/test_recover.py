"""`flyte.rerun` through the official SDK: a rerun runs everything again and names the run it came
from; a recovery run reuses every action that succeeded in the earlier run (RECOVERED, with its
outputs, its process never started) and runs only what failed, or what `force_rerun_actions`
names. Executions are counted from what the task bodies wrote, not from aerie's records."""

from __future__ import annotations

import collections
from pathlib import Path

import flyte
import flyte.remote
from helpers import aerie_cli, wait_terminal
from workflows import recoverable

RERUN, RECOVER = 1, 2


def executions(log: Path) -> collections.Counter:
    return collections.Counter(log.read_text().splitlines())


def outputs(details) -> list:
    import asyncio

    return list(asyncio.run(details.outputs()))


def children(run_name: str) -> dict[str, flyte.remote.Action]:
    return {a.name: a for a in flyte.remote.Action.listall(for_run_name=run_name) if a.name != "a0"}


def test_a_recovery_reuses_what_succeeded_and_runs_only_what_failed(sdk, tmp_path):
    log = tmp_path / "executions"
    failed_run = flyte.run(recoverable.pipeline, n=3, log_path=str(log))
    failed = wait_terminal(failed_run)
    assert failed.phase.value == "failed"
    assert executions(log) == {"prep 0": 1, "prep 1": 1, "prep 2": 1, "measure": 1, "join": 1}

    recovered_run = flyte.with_runcontext(env_vars={"FLAKY_OK": "1"}).rerun(failed_run.name, recover=True)
    recovered = wait_terminal(recovered_run)
    assert recovered.phase.value == "succeeded", recovered.error_message
    assert outputs(recovered) == [33]
    assert executions(log) == {"prep 0": 1, "prep 1": 1, "prep 2": 1, "measure": 1, "join": 2}, (
        "the preps and the trace were reused; only the join ran again"
    )

    source_children = children(failed_run.name)
    new_children = children(recovered_run.name)
    phases = {name: action.phase.value for name, action in new_children.items()}
    for name, action in source_children.items():
        if action.phase.value == "succeeded":
            assert phases[name] == "recovered", phases
            details = flyte.remote.ActionDetails.get(run_name=recovered_run.name, name=name).pb2
            assert details.metadata.recovered_from.run.name == failed_run.name
            assert details.metadata.recovered_from.name == name
    assert sorted(phases.values()).count("recovered") == 4, phases

    root = flyte.remote.ActionDetails.get(run_name=recovered_run.name, name="a0").pb2
    assert root.metadata.relation.related_to.name == failed_run.name
    assert root.metadata.relation.relation_type == RECOVER
    shown = aerie_cli(sdk, "get", "action", recovered_run.name, "a0")
    assert f"recovery of {failed_run.name}" in shown.stdout, shown.explain()
    reused = next(name for name, phase in phases.items() if phase == "recovered")
    shown = aerie_cli(sdk, "get", "action", recovered_run.name, reused)
    assert f"from {failed_run.name}/{reused}" in shown.stdout, shown.explain()
    logs = aerie_cli(sdk, "logs", recovered_run.name, reused)
    assert logs.returncode == 0 and "nothing ran" in logs.stdout, logs.explain()


def test_force_rerun_actions_runs_the_named_ones_again(sdk, tmp_path):
    log = tmp_path / "executions"
    failed_run = flyte.run(recoverable.pipeline, n=2, log_path=str(log))
    wait_terminal(failed_run)
    first_prep = next(
        name
        for name, action in children(failed_run.name).items()
        if flyte.remote.ActionDetails.get(run_name=failed_run.name, name=name).pb2.metadata.task.short_name
        == "prep"
        and outputs(flyte.remote.ActionDetails.get(run_name=failed_run.name, name=name)) == [0]
    )
    forced_run = flyte.with_runcontext(env_vars={"FLAKY_OK": "1"}).rerun(
        failed_run.name, recover=True, force_rerun_actions=[first_prep]
    )
    assert outputs(wait_terminal(forced_run)) == [12]
    assert executions(log)["prep 0"] == 2, "the forced prep ran again"
    assert executions(log)["prep 1"] == 1, "the other prep was reused"
    assert children(forced_run.name)[first_prep].phase.value == "succeeded"


def test_a_plain_rerun_runs_everything_again_and_names_its_source(sdk, tmp_path):
    log = tmp_path / "executions"
    first = flyte.with_runcontext(env_vars={"FLAKY_OK": "1"}).run(recoverable.pipeline, n=1, log_path=str(log))
    assert outputs(wait_terminal(first)) == [1]
    again = flyte.rerun(first.name)
    details = wait_terminal(again)
    assert outputs(details) == [1]
    assert executions(log) == {"prep 0": 2, "measure": 2, "join": 2}
    root = flyte.remote.ActionDetails.get(run_name=again.name, name="a0").pb2
    assert root.metadata.relation.related_to.name == first.name
    assert root.metadata.relation.relation_type == RERUN


def test_changed_inputs_combine_with_recovery(sdk, tmp_path):
    log = tmp_path / "executions"
    failed_run = flyte.run(recoverable.pipeline, n=2, log_path=str(log))
    wait_terminal(failed_run)
    more = flyte.with_runcontext(env_vars={"FLAKY_OK": "1"}).rerun(failed_run.name, recover=True, n=3)
    assert outputs(wait_terminal(more)) == [33]
    counts = executions(log)
    assert (counts["prep 0"], counts["prep 1"], counts["prep 2"]) == (1, 1, 1), (
        "the preps whose inputs did not change were reused; the new one ran"
    )
    assert counts["measure"] == 2, "the trace's input changed, so it ran again"
