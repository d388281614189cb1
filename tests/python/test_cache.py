"""The task cache through the official SDK: `flyte.Cache` on roots and children. Each cached task
notes every real execution of its body in a file (workflows/cached.py), so a hit is proven by the
execution that did not happen, and `cache_status` is read from the SDK's own ActionDetails."""

from __future__ import annotations

from pathlib import Path

import flyte
import flyte.remote
from conftest import stop_aerie_process
from helpers import (
    PROJECT,
    aerie_cli,
    connect_unary,
    decode_unary,
    sdk_script,
    wait_terminal,
)
from workflows import cached

DISABLED, MISS, HIT, POPULATED = 0, 1, 2, 3
# ActionPhase numbers on the wire.
QUEUED, WAITING_FOR_RESOURCES, SUCCEEDED = 1, 2, 5


def executions(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def run_to_end(task, **inputs):
    run = flyte.run(task, **inputs)
    details = wait_terminal(run)
    return run, details


def outputs(details) -> list:
    import asyncio

    return list(asyncio.run(details.outputs()))


def cache_status(run_name: str, action: str = "a0") -> int:
    return flyte.remote.ActionDetails.get(run_name=run_name, name=action).pb2.status.cache_status


def test_a_root_hit_in_a_later_run_starts_no_process_and_returns_the_cached_outputs(sdk, tmp_path):
    log = tmp_path / "executions"
    first, first_details = run_to_end(cached.square, x=3, log_path=str(log))
    second, second_details = run_to_end(cached.square, x=3, log_path=str(log))

    assert executions(log) == ["square 3"], "the second run must not execute the task"
    assert first_details.phase.value == "succeeded" and second_details.phase.value == "succeeded"
    assert outputs(first_details) == outputs(second_details) == [9]
    assert cache_status(first.name) == POPULATED
    pb = flyte.remote.ActionDetails.get(run_name=second.name, name="a0").pb2
    assert pb.status.cache_status == HIT
    assert pb.attempts[0].cache_status == HIT and not pb.attempts[0].logs_available
    source = pb.attempts[0].cache_metadata.source_action_attempt
    assert (source.action_id.run.name, source.action_id.name, source.attempt) == (first.name, "a0", 1)
    shown = aerie_cli(sdk, "get", "action", second.name, "a0")
    assert f"hit (outputs of {first.name}/a0, attempt 1)" in shown.stdout, shown.explain()
    logs = aerie_cli(sdk, "logs", second.name)
    assert logs.returncode == 0 and "cache hit" in logs.stdout and "nothing ran" in logs.stdout, logs.explain()


def test_a_child_hits_inside_one_run_and_shares_its_entry_with_a_root_run(sdk, tmp_path):
    log = tmp_path / "executions"
    parent, details = run_to_end(cached.square_twice, x=5, log_path=str(log))
    assert details.phase.value == "succeeded", details.error_message
    assert outputs(details) == [50]
    assert executions(log) == ["square 5"], "the second call of the same inputs is a hit"

    children = sorted(
        (a.pb2.status.start_time.ToNanoseconds(), a.name)
        for a in flyte.remote.Action.listall(for_run_name=parent.name)
        if a.name != "a0"
    )
    statuses = [cache_status(parent.name, name) for _, name in children]
    assert statuses == [POPULATED, HIT], statuses

    # The server computes a root's key with the SDK's formula, so the child's entry serves it.
    root, root_details = run_to_end(cached.square, x=5, log_path=str(log))
    assert outputs(root_details) == [25]
    assert cache_status(root.name) == HIT
    assert executions(log) == ["square 5"]


def test_overwrite_cache_executes_and_replaces_the_entry(sdk, tmp_path):
    log = tmp_path / "executions"
    _, first = run_to_end(cached.stamp, log_path=str(log))
    hit, again = run_to_end(cached.stamp, log_path=str(log), comment="ignored input")
    assert outputs(again) == outputs(first) and cache_status(hit.name) == HIT
    assert len(executions(log)) == 1, "an ignored input does not change the key"

    overwritten = flyte.with_runcontext(overwrite_cache=True).run(cached.stamp, log_path=str(log))
    replaced = wait_terminal(overwritten)
    assert len(executions(log)) == 2, "overwrite executes the task"
    assert outputs(replaced) != outputs(first)
    assert cache_status(overwritten.name) == POPULATED

    later, after = run_to_end(cached.stamp, log_path=str(log))
    assert cache_status(later.name) == HIT
    assert outputs(after) == outputs(replaced), "the overwrite replaced the entry"
    assert len(executions(log)) == 2


def test_a_failure_is_never_cached(sdk, tmp_path):
    log = tmp_path / "executions"
    failed, failed_details = run_to_end(cached.fails_the_first_time, log_path=str(log))
    assert failed_details.phase.value == "failed"
    assert cache_status(failed.name) == MISS

    succeeded, details = run_to_end(cached.fails_the_first_time, log_path=str(log))
    assert details.phase.value == "succeeded", details.error_message
    assert cache_status(succeeded.name) == POPULATED
    assert outputs(details) == [1]

    hit, hit_details = run_to_end(cached.fails_the_first_time, log_path=str(log))
    assert cache_status(hit.name) == HIT and outputs(hit_details) == [1]
    assert len(executions(log)) == 2


def test_a_hit_hands_over_a_file_made_in_another_run_and_the_new_run_can_read_it(sdk, tmp_path):
    log = tmp_path / "executions"
    first, first_details = run_to_end(cached.read_cached_file, text="made once", log_path=str(log))
    second, second_details = run_to_end(cached.read_cached_file, text="made once", log_path=str(log))
    assert first_details.phase.value == "succeeded", first_details.error_message
    assert second_details.phase.value == "succeeded", second_details.error_message
    assert outputs(first_details) == outputs(second_details) == ["made once"]
    assert executions(log) == ["write_file made once"], "the second run reused the File"
    child = next(a.name for a in flyte.remote.Action.listall(for_run_name=second.name) if a.name != "a0")
    assert cache_status(second.name, child) == HIT


def test_a_task_without_cache_says_disabled_and_always_runs(sdk, tmp_path):
    log = tmp_path / "executions"
    first, _ = run_to_end(cached.uncached, x=1, log_path=str(log))
    second, _ = run_to_end(cached.uncached, x=1, log_path=str(log))
    assert executions(log) == ["uncached 1", "uncached 1"]
    assert cache_status(first.name) == DISABLED and cache_status(second.name) == DISABLED


def test_serialized_twins_run_once_and_the_second_waits_for_the_first(sdk, tmp_path):
    log = tmp_path / "executions"
    first = flyte.run(cached.slow_square, x=6, log_path=str(log))
    first.wait(quiet=True, wait_for="running")
    second = flyte.run(cached.slow_square, x=6, log_path=str(log))
    first_details = wait_terminal(first)
    second_details = wait_terminal(second)

    assert executions(log) == ["slow_square 6"], "a serialized twin must not run"
    assert outputs(first_details) == outputs(second_details) == [36]
    assert cache_status(second.name) == HIT
    pb = flyte.remote.ActionDetails.get(run_name=second.name, name="a0").pb2
    phases = [transition.phase for transition in pb.attempts[0].phase_transitions]
    assert phases == [QUEUED, WAITING_FOR_RESOURCES, SUCCEEDED], phases
    reasons = [event.reason for event in pb.attempts[0].cluster_events]
    assert reasons == ["WaitingForCache"], reasons


def test_the_cache_survives_a_restart_and_the_cli_lists_and_clears_it(own_server, tmp_path):
    log = tmp_path / "executions"
    first = own_server()
    script = """
    from workflows import cached
    run = flyte.run(cached.square, x=7, log_path=%r)
    run.wait(quiet=True)
    d = flyte.remote.ActionDetails.get(run_name=run.name, name="a0")
    print(json.dumps({"run": run.name, "status": d.pb2.status.cache_status,
                      "outputs": list(asyncio.run(d.outputs()))}))
    """ % str(log)
    populated = sdk_script(first.port, script)
    assert populated["status"] == POPULATED
    assert stop_aerie_process(first.proc) == 0

    second = own_server(root=first.root, addr=f"127.0.0.1:{first.port}")
    after_restart = sdk_script(second.port, script)
    assert after_restart["status"] == HIT and after_restart["outputs"] == [49]
    assert executions(log) == ["square 7"]

    listed = aerie_cli(second, "cache", "list", "--task", "cached.square", "--data-dir", str(second.data_dir))
    assert listed.returncode == 0, listed.explain()
    assert "cached.square" in listed.stdout and populated["run"] in listed.stdout, listed.stdout

    refused = aerie_cli(second, "cache", "clear", "--data-dir", str(second.data_dir))
    assert refused.returncode != 0 and "--all" in refused.stderr, refused.explain()
    cleared = aerie_cli(second, "cache", "clear", "--task", "cached.square", "--data-dir", str(second.data_dir))
    assert cleared.returncode == 0 and "cleared 1 cache entry" in cleared.stdout, cleared.explain()

    rerun = sdk_script(second.port, script)
    assert rerun["status"] == POPULATED, "a cleared entry is not reused"
    assert executions(log) == ["square 7", "square 7"]
    stop_aerie_process(second.proc)


def test_the_project_domain_lookup_scope_sees_only_its_own_domains_entries(sdk, tmp_path):
    from flyteidl2.common import identifier_pb2
    from flyteidl2.workflow import run_service_pb2

    def staged_status(run) -> int:
        """Waits for a run in the staging domain and returns its root's cache status."""
        run.wait(quiet=True)
        request = run_service_pb2.GetActionDetailsRequest(
            action_id=identifier_pb2.ActionIdentifier(
                run=identifier_pb2.RunIdentifier(project=PROJECT, domain="staging", name=run.name), name="a0"
            )
        )
        reply = connect_unary(sdk, "flyteidl2.workflow.RunService/GetActionDetails", request.SerializeToString())
        return decode_unary(reply, run_service_pb2.GetActionDetailsResponse).details.status.cache_status

    log = tmp_path / "executions"
    _, made = run_to_end(cached.square, x=11, log_path=str(log))
    assert outputs(made) == [121]

    everywhere = flyte.with_runcontext(domain="staging").run(cached.square, x=11, log_path=str(log))
    assert staged_status(everywhere) == HIT
    assert len(executions(log)) == 1, "the default (global) lookup finds another domain's entry"

    scoped = flyte.with_runcontext(domain="staging", cache_lookup_scope="project-domain").run(
        cached.square, x=11, log_path=str(log)
    )
    assert staged_status(scoped) == POPULATED
    assert len(executions(log)) == 2, "an entry of another domain is out of a project-domain lookup"
