"""The Rust client's examples (`crates/client/examples/`) and `aerie run`, against the session's
live aerie, on work the official SDK made: a task deployed with `flyte.deploy` is launched from
Rust with typed inputs, and the SDK reads back what Rust sent; `get`, `watch` and `logs` read runs
the SDK started. `scripts/test` builds the examples before pytest runs."""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import flyte
import flyte.remote
import pytest
from flyte.io import File

from helpers import DOMAIN, PROJECT, REPO_ROOT, aerie_cli, run_tool
from workflows import cached, typed

TASK = "typed.summarize"

#: The inputs as the examples and `aerie run` take them, and the outputs the task makes of them.
TEXT_INPUTS = [
    "n=3",
    "x=1.5",
    "s=rust",
    "b=true",
    "d=1m30s",
    "t=2026-12-01T10:00:00Z",
    "xs=[1, 2]",
    'm={"a": 1.5}',
    "f=s3://aerie/flytesnacks/development/in.csv",
]
EXPECTED_OUTPUTS = [
    "o0 = 6",
    "o1 = 4.5",
    "o2 = RUST",
    "o3 = [10, 20]",
    "o4 = {a: 3.0}",
    "o5 = 180s",
    "o6 = 2026-12-01T10:01:30Z",
    "o7 = false",
    "o8 = s3://aerie/flytesnacks/development/in.csv",
    "o9 = none",
]


def example(name: str) -> Path:
    """The built example binary `name`; `scripts/test` builds them (`cargo build --examples`)."""
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO_ROOT / "target"))
    path = target / "debug" / "examples" / name
    assert path.is_file(), f"{path} is missing: build it with `cargo build -p aerie-client --examples`"
    return path


def run_example(server, name: str, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    """Runs example `name` with `AERIE_ENDPOINT` pointing at `server` unless `env` sets it."""
    return run_tool([str(example(name)), *args], timeout=120, cwd=cwd, env={"AERIE_ENDPOINT": server.endpoint, **(env or {})})


@pytest.fixture(scope="module")
def deployed(sdk) -> str:
    """`typed` deployed once; returns the version."""
    version = f"rust-{uuid.uuid4().hex[:8]}"
    flyte.deploy(typed.env, version=version)
    return version


def run_named(stdout: str, prefix: str) -> str:
    line = next(line for line in stdout.splitlines() if line.startswith(prefix))
    return line[len(prefix) :].split()[0].split("/")[-1].rstrip(":")


def assert_inputs_read_back_by_the_sdk(run_name: str) -> None:
    """The SDK's type engine reads what Rust encoded as the Python values the task declares."""
    inputs = flyte.remote.Run.get(run_name).inputs()
    assert inputs["n"] == 3 and inputs["x"] == 1.5 and inputs["s"] == "rust" and inputs["b"] is True
    assert inputs["d"] == timedelta(seconds=90)
    assert inputs["t"] == datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
    assert inputs["xs"] == [1, 2] and inputs["m"] == {"a": 1.5}
    assert inputs["f"].path == "s3://aerie/flytesnacks/development/in.csv"
    assert inputs["maybe"] is None and inputs["greeting"] == "hi", "defaults filled in"


def test_the_launch_example_runs_a_deployed_task_with_typed_inputs_and_prints_its_outputs(sdk, deployed):
    result = run_example(sdk, "launch", TASK, *TEXT_INPUTS)
    assert result.returncode == 0, result.explain()
    for line in ["phase: SUCCEEDED", *EXPECTED_OUTPUTS]:
        assert line in result.stdout.splitlines(), result.explain()
    assert_inputs_read_back_by_the_sdk(run_named(result.stdout, "run: "))


def test_aerie_run_launches_a_named_version_and_prints_its_outputs(sdk, deployed):
    args = ["run", TASK, "--version", deployed, "--label", "via=aerie-run"]
    for text in TEXT_INPUTS:
        args += ["-i", text]
    result = aerie_cli(sdk, *args, timeout=120)
    assert result.returncode == 0, result.explain()
    for line in EXPECTED_OUTPUTS:
        assert f"  {line}" in result.stdout.splitlines(), result.explain()
    name = run_named(result.stdout, "run ")
    labelled = [run.name for run in flyte.remote.Run.listall(with_labels={"via": "aerie-run"})]
    assert labelled == [name]
    assert_inputs_read_back_by_the_sdk(name)


def test_a_bad_input_is_refused_by_name_and_starts_nothing(sdk, deployed):
    before = len(list(flyte.remote.Run.listall(task_name=TASK)))
    result = aerie_cli(sdk, "run", TASK, "-i", "n=three", *sum((["-i", t] for t in TEXT_INPUTS[1:]), []))
    assert result.returncode != 0
    assert 'input "n": "three" is not INTEGER' in result.stderr, result.explain()
    result = run_example(sdk, "launch", TASK, "nope=1")
    assert result.returncode == 2
    assert 'input "nope": task typed.summarize has no such input' in result.stderr, result.explain()
    assert len(list(flyte.remote.Run.listall(task_name=TASK))) == before


def test_the_get_example_reads_an_action_by_uri_and_by_console_url(sdk, succeeded_run):
    by_uri = run_example(sdk, "get", f"flyte://v1/{PROJECT}/{DOMAIN}/{succeeded_run.name}")
    by_url = run_example(sdk, "get", succeeded_run.run.url)
    for result in (by_uri, by_url):
        assert result.returncode == 0, result.explain()
        lines = result.stdout.splitlines()
        assert f"action:   {PROJECT}/{DOMAIN}/{succeeded_run.name}/a0" in lines, result.explain()
        assert "phase:    SUCCEEDED" in lines
        assert "input:    x = 41" in lines and "output:   o0 = 42" in lines, result.explain()
    def without_runtime(stdout: str) -> list[str]:
        return [line for line in stdout.splitlines() if not line.startswith("runtime:")]

    assert without_runtime(by_uri.stdout) == without_runtime(by_url.stdout)


def test_the_watch_example_follows_a_run_and_exits_by_outcome(sdk, succeeded_run, failed_run):
    ok = run_example(sdk, "watch", succeeded_run.name)
    assert ok.returncode == 0, ok.explain()
    assert ok.stdout.splitlines()[-1].endswith(": SUCCEEDED (attempt 1)"), ok.explain()
    failed = run_example(sdk, "watch", failed_run.name, "a0")
    assert failed.returncode == 1, failed.explain()
    assert "boom: the answer was 41" in failed.stdout, failed.explain()
    unknown = run_example(sdk, "watch", "rnosuchrun")
    assert unknown.returncode == 2 and "not_found" in unknown.stderr, unknown.explain()


def test_a_launched_run_is_watched_live_and_its_log_followed_by_the_examples(sdk, deployed):
    run = flyte.run(
        flyte.remote.Task.get(TASK, version=deployed),
        n=5,
        x=0.5,
        s="logs",
        b=False,
        d=timedelta(seconds=1),
        t=datetime(2026, 1, 1, tzinfo=timezone.utc),
        xs=[],
        m={},
        f=File(path="s3://aerie/flytesnacks/development/x"),
    )
    watched = run_example(sdk, "watch", run.name)
    assert watched.returncode == 0, watched.explain()
    assert any(line.endswith(": RUNNING (attempt 1)") or line.endswith(": QUEUED (attempt 1)")
               for line in watched.stdout.splitlines()[:-1]), watched.explain()
    logs = run_example(sdk, "logs", run.name)
    assert logs.returncode == 0, logs.explain()
    assert "hi, logs: n=5" in logs.stdout.splitlines(), logs.explain()
    assert "[aerie]" not in logs.stdout
    everything = run_example(sdk, "logs", run.name, "a0", "--all")
    assert "[aerie] attempt 1 started" in everything.stdout, everything.explain()


def test_the_examples_find_the_endpoint_in_the_flyte_config_file(sdk, succeeded_run, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(
        f"admin:\n  endpoint: dns:///{sdk.endpoint}\n  insecure: true\n"
        f"task:\n  project: {PROJECT}\n  domain: {DOMAIN}\n"
    )
    # An empty AERIE_ENDPOINT counts as unset, so the config file's endpoint is used.
    env = {"AERIE_ENDPOINT": "", "FLYTE_ADMIN_ENDPOINT": "", "FLYTECTL_CONFIG": str(config)}
    result = run_example(sdk, "watch", succeeded_run.name, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.explain()
    env["AERIE_ENDPOINT"] = "127.0.0.1:1"
    unreachable = run_example(sdk, "watch", succeeded_run.name, env=env, cwd=tmp_path)
    assert unreachable.returncode == 2 and "unavailable" in unreachable.stderr, unreachable.explain()


def test_aerie_run_hits_the_cache_and_overwrite_cache_runs_the_task_again(sdk, tmp_path):
    flyte.deploy(cached.env, version=f"rust-{uuid.uuid4().hex[:8]}")
    note = tmp_path / "executions.txt"
    args = ["run", "cached.square", "-i", "x=4", "-i", f"log_path={note}"]
    for extra in ([], [], ["--overwrite-cache"]):
        result = aerie_cli(sdk, *args, *extra, timeout=120)
        assert result.returncode == 0, result.explain()
        assert "  o0 = 16" in result.stdout.splitlines(), result.explain()
    assert note.read_text().splitlines() == ["square 4", "square 4"], "the second run was a cache hit"


def test_aerie_get_task_lists_the_inputs_aerie_run_takes(sdk, deployed):
    shown = aerie_cli(sdk, "get", "task", TASK, "--version", deployed)
    assert shown.returncode == 0, shown.explain()
    inputs = [line.split(None, 1)[1] for line in shown.stdout.splitlines() if line.startswith("input ")]
    assert len(inputs) == 11, shown.explain()
    for expected in [
        "n: INTEGER (required)",
        "d: DURATION (required)",
        "f: File (required)",
        "xs: list of INTEGER (required)",
        "m: map of FLOAT (required)",
        "maybe: one of (INTEGER, NONE) = None",
        "greeting: STRING = hi",
    ]:
        assert expected in inputs, shown.explain()


def test_an_example_whose_reader_goes_away_ends_quietly(sdk, succeeded_run):
    import subprocess

    proc = subprocess.Popen(
        [str(example("get")), f"flyte://v1/{PROJECT}/{DOMAIN}/{succeeded_run.name}"],
        env={**os.environ, "AERIE_ENDPOINT": sdk.endpoint},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # the reader is gone before the first line, as with `| head -0`
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr.decode()
    assert b"panicked" not in stderr, stderr.decode()
