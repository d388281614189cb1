"""Task data lives in aerie's bucket, through the SDK's own object-store client: File and Dir
outputs made in temporary directories outlive them, outlive the attempt's work directory and a
restart, stay inside their run, and a 1 GiB file streams through with flat server memory."""

from __future__ import annotations

import shutil

import flyte
import pytest
from conftest import stop_aerie_process
from helpers import DOMAIN, PROJECT, aerie_cli, bucket, http_request, sdk_script, storage_env, wait_terminal
from workflows import task_data


def high_water_mark_kib(pid: int) -> int:
    """The process's peak resident memory so far (VmHWM), in KiB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc status")


def test_a_dir_made_in_a_temporary_directory_is_consumed_by_a_child_task(sdk):
    run = flyte.run(task_data.dir_through_a_child)
    details = wait_terminal(run, timeout=180)
    assert details.phase.value == "succeeded", details.error_message
    assert run.outputs()[0] == "a.txt=alpha,sub/b c.txt=beta"


def test_a_task_cannot_read_another_runs_data(sdk):
    producer = flyte.run(task_data.make_file_and_dir, text="private")
    assert wait_terminal(producer, timeout=180).phase.value == "succeeded"
    made_file, _ = producer.outputs()
    own_prefix = f"s3://aerie/runs/{PROJECT}/{DOMAIN}/{producer.name}/"
    assert made_file.path.startswith(own_prefix), made_file.path

    intruder = flyte.run(task_data.read_foreign, uri=made_file.path)
    assert wait_terminal(intruder, timeout=180).phase.value == "succeeded"
    answer = intruder.outputs()[0]
    assert answer.startswith("refused"), answer
    assert "AccessDenied" in answer or "403" in answer, answer
    assert "private" not in answer


def test_a_run_credential_ends_with_its_run(sdk):
    import obstore

    run = flyte.run(task_data.own_credential)
    assert wait_terminal(run, timeout=180).phase.value == "succeeded"
    credential = run.outputs()[0]
    assert credential["FLYTE_AWS_ACCESS_KEY_ID"].startswith("AERIE")
    own_outputs = f"runs/{PROJECT}/{DOMAIN}/{run.name}/a0/1/outputs.pb"
    assert obstore.head(bucket(storage_env(sdk)), own_outputs)["size"] > 0, "the task wrote its outputs"
    with pytest.raises(Exception, match="is over|AccessDenied|403"):
        obstore.get(bucket(credential), own_outputs)


def test_file_and_dir_outputs_outlive_the_work_directory_and_a_restart(own_server):
    first = own_server()
    run = sdk_script(
        first.port,
        """
        run = flyte.run(task_data.make_file_and_dir, text="kept")
        run.wait(quiet=True)
        print(json.dumps({"run": run.name}))
        """,
    )["run"]
    work = first.data_dir / "work"
    assert not (work / PROJECT / DOMAIN / run / "a0" / "1").exists(), "the attempt's work dir is removed"
    shutil.rmtree(work)
    assert stop_aerie_process(first.proc) == 0, first.log_text()

    second = own_server(root=first.root, addr=f"127.0.0.1:{first.port}")
    read = sdk_script(
        second.port,
        f"""
        d = flyte.remote.ActionDetails.get(run_name={run!r}, name="a0")
        made_file, made_dir = asyncio.run(d.outputs())
        file_text = pathlib.Path(asyncio.run(made_file.download())).read_text()
        local_dir = pathlib.Path(asyncio.run(made_dir.download()))
        dir_text = (local_dir / "one.txt").read_text()
        print(json.dumps({{"file": made_file.path, "dir": made_dir.path, "file_text": file_text,
                          "dir_text": dir_text}}))
        """,
        env=storage_env(second),
    )
    assert read["file_text"] == "kept"
    assert read["dir_text"] == "kept one"
    assert read["file"].startswith("s3://aerie/runs/") and read["dir"].startswith("s3://aerie/runs/")

    io = aerie_cli(second, "io", run)
    assert io.returncode == 0 and read["file"] in io.stdout, io.explain()


@pytest.mark.timeout(600)
def test_a_1_gib_file_output_round_trips_with_flat_server_memory(own_server):
    server = own_server()
    before = high_water_mark_kib(server.proc.pid)
    result = sdk_script(
        server.port,
        """
        run = flyte.run(task_data.big_round_trip, mib=1024)
        run.wait(quiet=True)
        d = flyte.remote.ActionDetails.get(run_name=run.name, name="a0")
        print(json.dumps({"phase": d.phase.value, "error": d.error_message,
                          "outputs": list(asyncio.run(d.outputs())) if d.phase.value == "succeeded" else None}))
        """,
        timeout=540,
    )
    after = high_water_mark_kib(server.proc.pid)
    assert result["phase"] == "succeeded", result["error"]
    written, read_back = result["outputs"]
    assert written.startswith(f"{1024 * 1024 * 1024}:")
    assert read_back == written, "the file read back is the file written"
    grown_mib = (after - before) / 1024
    print(f"server peak memory: {before / 1024:.0f} MiB before, {after / 1024:.0f} MiB after 1 GiB through")
    assert grown_mib < 128, f"the server's peak memory grew by {grown_mib:.0f} MiB moving 1 GiB"


def test_the_bucket_refuses_unsigned_forged_expired_and_out_of_scope_requests(sdk):
    import obstore

    unsigned = http_request(sdk, "GET", f"/aerie/runs/{PROJECT}/{DOMAIN}/x/a0/1/outputs.pb")
    assert unsigned.status == 403 and b"AccessDenied" in unsigned.body, unsigned.explain()

    writer = storage_env(sdk, "--write")
    store = bucket(writer)
    key = f"runs/{PROJECT}/{DOMAIN}/bucket-test/a0/1/note.txt"
    obstore.put(store, key, b"by an operator")
    assert bytes(obstore.get(store, key).bytes()) == b"by an operator"

    with pytest.raises(Exception, match="SignatureDoesNotMatch|403"):
        obstore.get(bucket(writer, secret="not-the-secret"), key)
    with pytest.raises(Exception, match="AccessDenied|403"):
        obstore.put(bucket(storage_env(sdk)), key, b"read-only")
    with pytest.raises(Exception, match="AccessDenied|403"):
        obstore.put(store, f"uploads/{PROJECT}/{DOMAIN}/f00/code.tgz", b"swapped")
    with pytest.raises(Exception, match="InvalidAccessKeyId|expired|403"):
        obstore.get(bucket(storage_env(sdk, "--hours", "0")), key)
    assert bytes(obstore.get(store, key).bytes()) == b"by an operator", "nothing refused changed it"
