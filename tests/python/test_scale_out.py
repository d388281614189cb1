"""Scale-out (issue 10): several aerie nodes share one PostgreSQL database and one S3 store
(SeaweedFS, started by the tests), any node answers any request, and losing a node loses nothing
and runs nothing twice.

Each test starts its own nodes (`cluster` fixture, cluster.py) on a fresh database and a fresh
prefix of the bucket. `flyte.init` is process-global and the session's tests use the session
server, so every SDK call here runs in a child Python (`sdk_script`, or a background one for
watches and log tails) pointed at one node.

Executions are counted from notes the tasks write into a shared directory
(workflows/scale_out.py), never from aerie's records: a note names the node (`AERIE_NODE_ID`, which
aerie exports to every task), the process and the attempt. Tasks that must not finish before the
test has done something wait for a file the test creates.
"""

from __future__ import annotations

import collections
import concurrent.futures
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from cluster import (
    LEASE_TTL_S,
    TAKEOVER_WITHIN_S,
    Cluster,
    known_migration_versions,
    make_secret_key,
    parse_table,
    run_tool,
)
from conftest import aerie_binary, start_aerie, stop_aerie_process
from helpers import DOMAIN, PROJECT, SDK_PRELUDE, process_is_gone, sdk_script, wait_until
from workflows.scale_out import LIVE_LINE

#: Code shared by the SDK scripts: a JSON-able summary of an ActionDetails.
DETAILS = """
import time
from flyteidl2.common import phase_pb2
from workflows import scale_out

def phase_name(raw):
    return phase_pb2.ActionPhase.Name(raw).removeprefix("ACTION_PHASE_")

def summary(d):
    p = d.pb2
    attempts = []
    for a in p.attempts:
        attempts.append({
            "attempt": a.attempt,
            "phase": phase_name(a.phase),
            "transitions": [phase_name(t.phase) for t in a.phase_transitions],
            "start": a.start_time.ToMicroseconds() if a.HasField("start_time") else None,
            "end": a.end_time.ToMicroseconds() if a.HasField("end_time") else None,
            "error": {"kind": a.error_info.kind, "code": a.error_info.code, "message": a.error_info.message}
                     if a.HasField("error_info") else None,
            "outputs": a.outputs.output_uri if a.HasField("outputs") else None,
        })
    return {
        "phase": phase_name(p.status.phase),
        "attempt_count": p.status.attempts,
        "attempts": attempts,
        "error": {"kind": p.error_info.kind, "code": p.error_info.code, "message": p.error_info.message}
                 if p.HasField("error_info") else None,
    }

def wait_for(run_name, timeout):
    run = flyte.remote.Run.get(run_name)
    asyncio.run(asyncio.wait_for(run.wait.aio(quiet=True), timeout))
    return run
"""

#: Waits for a run through one node, then prints the root's summary and outputs, and every
#: other action's summary by name.
WAIT_AND_READ = """
run = wait_for(%(run)r, %(timeout)f)
root = flyte.remote.ActionDetails.get(run_name=%(run)r, name="a0")
actions = {}
for a in flyte.remote.Action.listall(for_run_name=%(run)r):
    name = a.pb2.id.name
    if name != "a0":
        actions[name] = summary(flyte.remote.ActionDetails.get(run_name=%(run)r, name=name))
outputs = list(asyncio.run(root.outputs())) if root.phase.value == "succeeded" else None
print(json.dumps({"root": summary(root), "actions": actions, "outputs": outputs}))
"""

#: Follows a run's actions with RunService.WatchActions: one JSON line per action in each message.
WATCH_ACTIONS = """
from flyte._initialize import get_client
from flyteidl2.workflow import run_service_pb2

run_id = flyte.remote.Run.get(%(run)r).pb2.action.id.run

async def follow():
    stream = get_client().run_service.watch_actions(run_service_pb2.WatchActionsRequest(run_id=run_id))
    async for response in stream:
        now = time.time()
        for enriched in response.enriched_actions:
            action = enriched.action
            print(json.dumps({"action": action.id.name, "phase": phase_name(action.status.phase),
                              "attempts": action.status.attempts, "t": now}), flush=True)

asyncio.run(asyncio.wait_for(follow(), %(timeout)f))
print(json.dumps({"end": time.time()}), flush=True)
"""

#: Tails attempt 1 of a run's root: one JSON line per log line, with when it arrived.
TAIL_LOGS = """
d = flyte.remote.ActionDetails.get(run_name=%(run)r, name="a0")
print(json.dumps({"opened": time.time()}), flush=True)
for line in Logs.tail(action_id=d.action_id, attempt=1):
    print(json.dumps({"message": line.message, "t": time.time()}), flush=True)
    if %(stop)r in line.message:
        break
"""


# --- helpers ----------------------------------------------------------------------------------------


def sdk(c: Cluster, node, body: str, timeout: float = 180) -> dict:
    """Run `body` (after DETAILS) in a child Python whose SDK talks to `node`; returns its last
    JSON line."""
    return sdk_script(node.port, DETAILS + textwrap.dedent(body), timeout=timeout, env=c.sdk_env())


def submit(c: Cluster, node, call: str) -> str:
    """`flyte.run(CALL)` through `node`; returns the run's name as soon as it is created."""
    return sdk(c, node, f"run = flyte.run({call})\nprint(json.dumps({{'run': run.name}}))\n")["run"]


class Background:
    """A child Python with the SDK on one node, writing JSON lines to a file while the test goes on."""

    def __init__(self, c: Cluster, node, body: str, out: Path):
        script = SDK_PRELUDE % {"port": node.port} + DETAILS + textwrap.dedent(body)
        script += "\nsys.stdout.flush(); os._exit(0)\n"
        self.out = out
        self.err = out.with_suffix(".stderr")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", script],
            stdin=subprocess.DEVNULL,
            stdout=out.open("wb"),
            stderr=self.err.open("wb"),
            env={**os.environ, **c.sdk_env()},
        )

    def lines(self) -> list[dict]:
        found = []
        for raw in self.out.read_text(errors="replace").splitlines():
            try:
                found.append(json.loads(raw))
            except json.JSONDecodeError:
                pass  # a line being written, or the SDK's own output
        return found

    def explain(self) -> str:
        return f"exit status {self.proc.poll()}\n--- stdout ---\n{self.out.read_text(errors='replace')[-4000:]}\n" \
               f"--- stderr ---\n{self.err.read_text(errors='replace')[-4000:]}"

    def finish(self, timeout: float) -> list[dict]:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise AssertionError(f"background SDK script still running after {timeout:.0f}s\n{self.explain()}") from None
        assert self.proc.returncode == 0, self.explain()
        return self.lines()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def notes(marks: Path, kind: str) -> list[dict]:
    """The notes of `kind` the tasks wrote (workflows/scale_out.note)."""
    folder = marks / kind
    if not folder.exists():
        return []
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def micros_to_s(micros: int) -> float:
    return micros / 1_000_000


def node_rows(c: Cluster, *args: str) -> dict[str, dict[str, str]]:
    """`aerie nodes` as {node id: row}."""
    cli = c.nodes_cli(*args)
    assert cli.returncode == 0, cli.explain()
    return {row["NODE"]: row for row in parse_table(cli.stdout)}


# --- a node dies mid-run ----------------------------------------------------------------------------

FAN_OUT = 100


@pytest.mark.timeout(1200)
def test_a_fan_out_survives_the_node_it_was_submitted_through_being_killed(cluster, tmp_path):
    c = cluster(3, extra_args=("--max-running", "8"))
    node1, node2, node3 = c.nodes
    marks = tmp_path / "marks"
    marks.mkdir()

    run = submit(c, node1, f"scale_out.fan_out_held, n={FAN_OUT}, marks={str(marks)!r}")
    watch = Background(c, node2, WATCH_ACTIONS % {"run": run, "timeout": 900.0}, tmp_path / "watch.jsonl")
    try:
        # The parent enqueues its children only once the watch on node 2 is open, so the watch
        # sees each child from its first phase.
        wait_until(lambda: watch.lines() or watch.proc.poll() is not None, 90, "the watch on node 2 to open")
        assert watch.proc.poll() is None, watch.explain()
        (marks / "watching").touch()

        wait_until(
            lambda: sum(n["node"] == node1.node_id for n in notes(marks, "started")) >= 3,
            300,
            "node-1 to run at least three children (each waits for the go-ahead)",
        )
        assert not notes(marks, "done"), "no child may finish before the go-ahead"
        c.kill(node1)
        killed_at = time.time()

        # The tasks node 1 ran died with it (PR_SET_PDEATHSIG): none of them can finish now.
        on_node1 = [n for kind in ("started", "parent") for n in notes(marks, kind) if n["node"] == node1.node_id]
        wait_until(
            lambda: all(process_is_gone(n["pid"]) for n in on_node1),
            10,
            f"the tasks of the killed node-1 to die with it (pids {[n['pid'] for n in on_node1]})",
        )
        (marks / "go").touch()

        result = sdk(c, node3, WAIT_AND_READ % {"run": run, "timeout": 900.0}, timeout=960)
        watched = watch.finish(timeout=60)
    finally:
        watch.stop()

    actions, root = result["actions"], result["root"]
    assert root["phase"] == "SUCCEEDED", root
    assert result["outputs"] == [[i * i for i in range(FAN_OUT)]], "the run's output is every child's square, in order"
    assert len(actions) == FAN_OUT, f"{len(actions)} children recorded"
    not_succeeded = {name: a["phase"] for name, a in actions.items() if a["phase"] != "SUCCEEDED"}
    assert not not_succeeded, not_succeeded

    # Every child ran to completion exactly once, counted from the children's own notes, and
    # never on the dead node.
    done = notes(marks, "done")
    completions = collections.Counter(n["i"] for n in done)
    assert sorted(completions) == list(range(FAN_OUT)), f"children that never completed: {set(range(FAN_OUT)) - set(completions)}"
    twice = {i: count for i, count in completions.items() if count > 1}
    assert not twice, f"children that ran to completion more than once: {twice}"
    assert {n["node"] for n in done} <= {node2.node_id, node3.node_id}, collections.Counter(n["node"] for n in done)

    # The children node 1 was running were taken over: their attempt there failed as a SYSTEM
    # error that names node-1, within 15 s of its death, and a later attempt succeeded elsewhere.
    started_on_node1 = {n["action"]: n for n in notes(marks, "started") if n["node"] == node1.node_id}
    assert started_on_node1, "node-1 ran some children"
    takeovers = []
    for name, started in started_on_node1.items():
        attempts = actions[name]["attempts"]
        lost = attempts[started["attempt"]]
        assert lost["phase"] == "FAILED", (name, attempts)
        assert lost["error"]["kind"] == 2, f"a lost node's attempt fails as a SYSTEM error: {lost}"
        assert node1.node_id in lost["error"]["message"], f"the error names the lost node: {lost['error']}"
        taken_over_after = micros_to_s(lost["end"]) - killed_at
        takeovers.append(taken_over_after)
        assert taken_over_after <= TAKEOVER_WITHIN_S, (
            f"{name}'s attempt on node-1 was taken over {taken_over_after:.1f}s after the kill (at most {TAKEOVER_WITHIN_S}s)"
        )
        assert attempts[-1]["phase"] == "SUCCEEDED" and len(attempts) > started["attempt"] + 1, (name, attempts)
    print(f"takeover after the kill: {min(takeovers):.1f}-{max(takeovers):.1f} s over {len(takeovers)} attempts")
    for name, action in actions.items():
        for attempt in action["attempts"][:-1]:
            assert attempt["error"] and attempt["error"]["kind"] == 2, (
                f"{name}: only node-1's death may fail an attempt, as a SYSTEM error: {action['attempts']}"
            )

    # The watch opened on node 2 saw every phase of every attempt of every child, in order,
    # although most changes were committed by other nodes.
    assert "end" in watched[-1], "the watch ends once every action is done"
    seen: dict[str, list[tuple[int, str]]] = collections.defaultdict(list)
    for line in watched:
        if "action" in line:
            seen[line["action"]].append((line["attempts"], line["phase"]))
    assert seen["a0"][-1][1] == "SUCCEEDED", seen["a0"]
    for name, action in actions.items():
        attempts = action["attempts"]
        expected = []
        for number, attempt in enumerate(attempts, start=1):
            phases = attempt["transitions"]
            if number < len(attempts):
                phases = [p for p in phases if p not in ("FAILED", "SUCCEEDED", "ABORTED", "TIMED_OUT")]
            expected += [(number, phase) for phase in phases]
        observed = [step for i, step in enumerate(seen[name]) if i == 0 or step != seen[name][i - 1]]
        assert observed == expected, f"the watch on node 2 saw {name} go {observed}, its record says {expected}"


# --- a node is paused past its lease --------------------------------------------------------------


@pytest.mark.timeout(600)
def test_a_paused_node_does_not_report_over_the_node_that_took_its_attempt(cluster, tmp_path):
    c = cluster(3)
    marks = tmp_path / "marks"
    marks.mkdir()
    run = submit(c, c.nodes[0], f"scale_out.first_attempt_lingers, marks={str(marks)!r}, seconds=240.0")

    first = wait_until(lambda: notes(marks, "started"), 120, "the first attempt to start")[0]
    assert first["attempt"] == 0, first
    holder = c.node(first["node"])
    c.pause(holder)
    paused_at = time.time()
    reader = c.others(holder)[0]

    final = sdk(c, reader, WAIT_AND_READ % {"run": run, "timeout": 180.0}, timeout=240)
    root = final["root"]
    assert root["phase"] == "SUCCEEDED", root
    lost, retried = root["attempts"][0], root["attempts"][-1]
    assert len(root["attempts"]) == 2, root["attempts"]
    assert lost["phase"] == "FAILED" and lost["error"]["kind"] == 2, f"the paused node's attempt fails as SYSTEM: {lost}"
    assert holder.node_id in lost["error"]["message"], f"the error names the paused node: {lost['error']}"
    assert micros_to_s(lost["end"]) - paused_at <= TAKEOVER_WITHIN_S, (
        f"taken over {micros_to_s(lost['end']) - paused_at:.1f}s after the pause"
    )
    assert retried["phase"] == "SUCCEEDED", retried
    second = [n for n in notes(marks, "started") if n["attempt"] == 1]
    assert len(second) == 1 and second[0]["node"] != holder.node_id, notes(marks, "started")
    assert final["outputs"] == [f"attempt 1 on {second[0]['node']}"]

    # The paused node's process ran on while aerie was stopped (nothing could end it) ...
    assert not process_is_gone(first["pid"]), "the first attempt's process outlives its paused node's lease"
    rows = node_rows(c)
    assert rows[holder.node_id]["STATE"] != "alive", f"a paused node stops looking alive: {rows}"

    # ... and once resumed, the node finds its lease taken and kills it, reporting nothing.
    c.resume(holder)
    wait_until(lambda: process_is_gone(first["pid"]), 15, "the resumed node to kill the attempt it lost")
    time.sleep(LEASE_TTL_S / 2)  # a few more renewals of the resumed node
    for node in c.nodes:
        again = sdk(c, node, WAIT_AND_READ % {"run": run, "timeout": 30.0})
        assert again == final, f"{node.node_id} reads a record that changed after {holder.node_id} resumed"
    assert [n["attempt"] for n in notes(marks, "done")] == [1], "the first attempt never completed"
    wait_until(lambda: c.readyz(holder) == 200, 30, "the resumed node to be ready again")
    wait_until(lambda: node_rows(c)[holder.node_id]["STATE"] == "alive", 30, "the resumed node to be listed alive")


# --- logs across nodes ----------------------------------------------------------------------------


@pytest.mark.timeout(400)
def test_a_line_printed_on_one_node_is_tailed_through_another_within_two_seconds(cluster, tmp_path):
    c = cluster(3)
    marks = tmp_path / "marks"
    marks.mkdir()
    run = submit(c, c.nodes[0], f"scale_out.speak_when_told, marks={str(marks)!r}, linger=3.0")

    started = wait_until(lambda: notes(marks, "started"), 120, "the task to start")[0]
    runner = c.node(started["node"])
    reader = c.others(runner)[0]
    tail = Background(c, reader, TAIL_LOGS % {"run": run, "stop": LIVE_LINE}, tmp_path / "tail.jsonl")
    try:
        wait_until(
            lambda: any("waiting on" in line.get("message", "") for line in tail.lines()) or tail.proc.poll() is not None,
            60,
            f"the task's first line through {reader.node_id} (it runs on {runner.node_id})",
        )
        assert tail.proc.poll() is None, tail.explain()
        (marks / "speak").touch()
        lines = tail.finish(timeout=60)
    finally:
        tail.stop()

    live = [line for line in lines if LIVE_LINE in line.get("message", "")]
    assert len(live) == 1, lines
    printed_at = float(live[0]["message"].split()[-1])
    latency = live[0]["t"] - printed_at
    assert latency < 2.0, f"a line printed on {runner.node_id} reached TailLogs on {reader.node_id} after {latency:.2f}s"

    # After the end, any node serves the whole log.
    sdk(c, reader, f"wait_for({run!r}, 120.0)\nprint(json.dumps({{}}))\n")
    for node in c.nodes:
        cli = c.aerie_cli(node, "logs", run)
        assert cli.returncode == 0, cli.explain()
        assert f"waiting on {runner.node_id}" in cli.stdout and LIVE_LINE in cli.stdout, cli.explain()
        assert "speak_when_told: done" in cli.stdout, cli.explain()


# --- data in the bucket ---------------------------------------------------------------------------


@pytest.mark.timeout(400)
def test_uploads_outputs_and_logs_are_in_the_bucket_and_nothing_is_on_a_nodes_disk(cluster):
    c = cluster(2)
    result = sdk(
        c,
        c.nodes[0],
        """
        run = flyte.run(task_data.make_file_and_dir, text="kept in the bucket")
        run.wait(quiet=True)
        d = flyte.remote.ActionDetails.get(run_name=run.name, name="a0")
        made_file, made_dir = asyncio.run(d.outputs())
        print(json.dumps({"run": run.name, "phase": d.phase.value, "file": made_file.path, "dir": made_dir.path}))
        """,
    )
    assert result["phase"] == "succeeded", result
    run, prefix = result["run"], c.prefix
    keys = c.seaweed.keys(prefix)

    def under(path: str) -> list[str]:
        return [key for key in keys if key.startswith(f"{prefix}/{path}")]

    assert under(f"uploads/{PROJECT}/{DOMAIN}/"), f"the code bundle the SDK uploaded is in the bucket: {keys}"
    assert under(f"inputs/{PROJECT}/{DOMAIN}/"), f"the run's inputs are in the bucket: {keys}"
    assert f"{prefix}/runs/{PROJECT}/{DOMAIN}/{run}/a0/1/outputs.pb" in keys, keys
    assert under(f"logs/{PROJECT}/{DOMAIN}/{run}/a0/"), f"the attempt's log is in the bucket: {keys}"

    bucket_uri = f"s3://{c.seaweed.bucket}/{prefix}/"
    assert result["file"].startswith(bucket_uri) and result["dir"].startswith(bucket_uri), result
    import obstore

    file_key = result["file"].removeprefix(f"s3://{c.seaweed.bucket}/")
    assert bytes(obstore.get(c.seaweed.store(), file_key).bytes()) == b"kept in the bucket"
    dir_key = result["dir"].removeprefix(f"s3://{c.seaweed.bucket}/").rstrip("/")
    assert any(key.startswith(dir_key + "/") for key in keys), f"the Dir's files are in the bucket: {keys}"

    for node in c.nodes:
        files = [p for p in node.data_dir.rglob("*") if p.is_file()]
        task_related = [
            p
            for p in files
            if run in str(p) or p.relative_to(node.data_dir).parts[0] in ("blobs", "logs", "work")
        ]
        assert not task_related, f"{node.node_id} keeps task data on its disk: {task_related}"


# --- operations -----------------------------------------------------------------------------------


@pytest.mark.timeout(400)
def test_nodes_lists_live_nodes_with_their_leases_and_load_and_readyz_answers(cluster, tmp_path):
    c = cluster(3)
    for node in c.nodes:
        assert c.readyz(node) == 200, node
    rows = node_rows(c)
    assert set(rows) == {n.node_id for n in c.nodes}, rows
    for node in c.nodes:
        row = rows[node.node_id]
        assert row["STATE"] == "alive", row
        assert row["RUNNING"].startswith("0/") and row["LEASES"] == "0", row

    marks = tmp_path / "marks"
    marks.mkdir()
    run = submit(c, c.nodes[0], f"scale_out.first_attempt_lingers, marks={str(marks)!r}, seconds=120.0")
    holder = c.node(wait_until(lambda: notes(marks, "started"), 120, "the task to start")[0]["node"])
    wait_until(
        lambda: node_rows(c)[holder.node_id]["LEASES"] == "1" and node_rows(c)[holder.node_id]["RUNNING"].startswith("1/"),
        15,
        f"aerie nodes to show the running attempt's lease and load on {holder.node_id}",
    )
    cli = c.nodes_cli("--leases")
    assert cli.returncode == 0, cli.explain()
    leases_table = cli.stdout.split("\n\n", 1)[1] if "\n\n" in cli.stdout else ""
    leases = parse_table(leases_table)
    assert [(row["RUN"].rsplit("/", 1)[-1], row["ACTION"], row["ATTEMPT"], row["NODE"]) for row in leases] == [
        (run, "a0", "1", holder.node_id)
    ], cli.explain()
    abort = c.aerie_cli(c.others(holder)[0], "abort", "run", run, "--reason", "the nodes test is done")
    assert abort.returncode == 0, abort.explain()

    victim = c.others(holder)[0]
    c.kill(victim)
    wait_until(
        lambda: node_rows(c)[victim.node_id]["STATE"] != "alive",
        LEASE_TTL_S + 10,
        "a killed node to stop being listed alive",
    )
    rows = node_rows(c)
    assert all(rows[n.node_id]["STATE"] == "alive" for n in c.others(victim)), rows


def test_nodes_started_together_on_an_empty_database_migrate_it_once(postgres_database, tmp_path):
    secret_key = make_secret_key(tmp_path / "secret.key")

    def start(i: int):
        root = tmp_path / f"node-{i}"
        root.mkdir()
        return start_aerie(
            root,
            extra_args=(
                "--database", postgres_database.url, "--node-id", f"node-{i}", "--secret-key-file", str(secret_key),
            ),
        )

    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        starts = [pool.submit(start, i) for i in range(1, 4)]
        concurrent.futures.wait(starts)
    servers = [f.result() for f in starts if f.exception() is None]
    try:
        for f in starts:
            f.result()  # a node that did not come up fails the test here
        versions = postgres_database.query("SELECT version, success FROM _sqlx_migrations ORDER BY version")
        assert versions == [[str(v), "t"] for v in known_migration_versions()], versions
    finally:
        for server in servers:
            stop_aerie_process(server.proc)


FUTURE_MIGRATION = 9999


def test_a_node_refuses_a_database_whose_schema_is_newer_than_it_knows(postgres_database, tmp_path):
    # What sqlx keeps, as a newer aerie would have left it: one migration this build lacks.
    postgres_database.query(
        """
        CREATE TABLE _sqlx_migrations (
            version BIGINT PRIMARY KEY,
            description TEXT NOT NULL,
            installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
            success BOOLEAN NOT NULL,
            checksum BYTEA NOT NULL,
            execution_time BIGINT NOT NULL
        );
        """
        + f"INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) "
        f"VALUES ({FUTURE_MIGRATION}, 'from a newer aerie', true, '\\x00'::bytea, 1);"
    )
    cli = run_tool(
        [
            str(aerie_binary()),
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--data-dir",
            str(tmp_path / "data"),
            "--database",
            postgres_database.url,
            "--node-id",
            "node-old",
        ],
        timeout=60,
        cwd=tmp_path,
    )
    said = cli.stdout + cli.stderr
    assert cli.returncode != 0 and "aerie ready" not in said, cli.explain()
    assert "newer" in said, cli.explain()
    assert str(FUTURE_MIGRATION) in said and str(max(known_migration_versions())) in said, (
        f"the refusal names the database's version and the newest this aerie knows\n{cli.explain()}"
    )
    assert postgres_database.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'") == [
        ["_sqlx_migrations"]
    ], "a refused database is left untouched"
    assert postgres_database.query("SELECT version FROM _sqlx_migrations") == [[str(FUTURE_MIGRATION)]]
