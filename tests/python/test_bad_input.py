"""Bad input over raw HTTP gets a clear Connect error, never a crash; stored data stays intact.

Requests are built from flyteidl2's pb2 classes and sent as Connect unary calls (POST
/<package>.<Service>/<Method>, `content-type: application/proto`). Errors must be JSON
`{"code": "...", "message": "..."}` with the matching HTTP status (Connect protocol).
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import http.client
import pathlib
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import flyte.remote
import pytest
from flyte.models import ActionPhase
from flyteidl2.common import identifier_pb2
from flyteidl2.dataproxy import dataproxy_service_pb2
from flyteidl2.workflow import run_service_pb2
from helpers import (
    DOMAIN,
    PROJECT,
    HttpReply,
    action_id,
    assert_connect_error,
    connect_unary,
    decode_unary,
    files_outside,
    http_request,
    wait_terminal,
)

GET_ACTION_DETAILS = "flyteidl2.workflow.RunService/GetActionDetails"
GET_RUN_DETAILS = "flyteidl2.workflow.RunService/GetRunDetails"
CREATE_RUN = "flyteidl2.workflow.RunService/CreateRun"
CREATE_UPLOAD_LOCATION = "flyteidl2.dataproxy.DataProxyService/CreateUploadLocation"


def get_action_details(aerie, run: str, action: str = "a0", project: str = PROJECT, domain: str = DOMAIN):
    req = run_service_pb2.GetActionDetailsRequest(
        action_id=identifier_pb2.ActionIdentifier(
            run=identifier_pb2.RunIdentifier(project=project, domain=domain, name=run), name=action
        )
    )
    return connect_unary(aerie, GET_ACTION_DETAILS, req.SerializeToString())


@pytest.fixture(scope="module")
def sandbox_before(aerie, succeeded_run):
    """What exists outside the data directory before the bad input (the server log, the data dir)."""
    return files_outside(aerie.root, aerie.data_dir)


# --- not found ---------------------------------------------------------------------------------


def test_unknown_run_is_not_found(aerie, sdk):
    assert_connect_error(get_action_details(aerie, "no-such-run"), "not_found")


def test_unknown_action_of_a_known_run_is_not_found(aerie, succeeded_run):
    assert_connect_error(get_action_details(aerie, succeeded_run.name, "no-such-action"), "not_found")


def test_unknown_run_details_is_not_found(aerie, sdk):
    req = run_service_pb2.GetRunDetailsRequest(
        run_id=identifier_pb2.RunIdentifier(project=PROJECT, domain=DOMAIN, name="no-such-run")
    )
    assert_connect_error(connect_unary(aerie, GET_RUN_DETAILS, req.SerializeToString()), "not_found")


def test_a_gzip_request_for_an_unknown_run_is_not_found_too(aerie, sdk):
    req = run_service_pb2.GetActionDetailsRequest(action_id=action_id("no-such-run"))
    reply = connect_unary(aerie, GET_ACTION_DETAILS, req.SerializeToString(), gzip_body=True)
    assert_connect_error(reply, "not_found")


# --- malformed identifiers ---------------------------------------------------------------------

BAD_NAMES = ["../etc", "a/b", "..", ".", "a\\b", "a\x00b", "x" * 300, "", "run name", "-rf", "a\nb"]


@pytest.mark.parametrize("name", BAD_NAMES, ids=repr)
def test_malformed_run_name_is_invalid_argument(aerie, sandbox_before, name):
    assert_connect_error(get_action_details(aerie, name), "invalid_argument")


@pytest.mark.parametrize("name", ["../a0", "a0/../../x", "", "x" * 300], ids=repr)
def test_malformed_action_name_is_invalid_argument(aerie, succeeded_run, sandbox_before, name):
    assert_connect_error(get_action_details(aerie, succeeded_run.name, name), "invalid_argument")


@pytest.mark.parametrize("field", ["project", "domain"])
@pytest.mark.parametrize("value", ["../etc", "a/b", ""], ids=repr)
def test_malformed_project_or_domain_is_invalid_argument(aerie, sandbox_before, field, value):
    kwargs = {field: value}
    assert_connect_error(get_action_details(aerie, "some-run", **kwargs), "invalid_argument")


def test_missing_action_id_is_invalid_argument(aerie, sandbox_before):
    reply = connect_unary(aerie, GET_ACTION_DETAILS, run_service_pb2.GetActionDetailsRequest().SerializeToString())
    assert_connect_error(reply, "invalid_argument")


@pytest.mark.parametrize("name", ["../../escape", "a/b", "..", "x" * 300], ids=repr)
def test_create_run_with_a_path_like_name_is_refused_and_writes_nothing(aerie, succeeded_run, sandbox_before, name):
    """A real CreateRun (spec and inputs of an earlier run) is accepted with a fresh name, refused with a bad one."""
    details = flyte.remote.ActionDetails.get(run_name=succeeded_run.name, name="a0")
    run_details = flyte.remote.RunDetails.get(name=succeeded_run.name)
    inputs = asyncio.run(details.inputs()).pb2

    def create(run_name: str):
        req = run_service_pb2.CreateRunRequest(
            run_id=identifier_pb2.RunIdentifier(project=PROJECT, domain=DOMAIN, name=run_name),
            task_spec=details.pb2.task,
            inputs=inputs,
            run_spec=run_details.pb2.run_spec,
        )
        return connect_unary(aerie, CREATE_RUN, req.SerializeToString(), gzip_body=True)

    assert_connect_error(create(name), "invalid_argument")
    assert files_outside(aerie.root, aerie.data_dir) == sandbox_before


def test_create_run_with_a_valid_name_and_the_same_body_is_accepted(aerie, succeeded_run):
    """The control for the test above: the request it sends is otherwise valid."""
    details = flyte.remote.ActionDetails.get(run_name=succeeded_run.name, name="a0")
    run_details = flyte.remote.RunDetails.get(name=succeeded_run.name)
    inputs = asyncio.run(details.inputs()).pb2
    name = "raw-" + uuid.uuid4().hex[:12]
    req = run_service_pb2.CreateRunRequest(
        run_id=identifier_pb2.RunIdentifier(project=PROJECT, domain=DOMAIN, name=name),
        task_spec=details.pb2.task,
        inputs=inputs,
        run_spec=run_details.pb2.run_spec,
    )

    resp = decode_unary(connect_unary(aerie, CREATE_RUN, req.SerializeToString()), run_service_pb2.CreateRunResponse)

    assert resp.run.action.id.run.name == name and resp.run.action.id.name == "a0"
    assert resp.run.action.status.phase != 0
    again = connect_unary(aerie, CREATE_RUN, req.SerializeToString())
    assert_connect_error_code_in(again, {"already_exists"})
    run = flyte.remote.Run.get(name)
    assert wait_terminal(run).phase == ActionPhase.SUCCEEDED
    assert tuple(run.outputs()) == (42, "hello aerie")


def test_limits_no_task_can_mean_are_invalid_argument(aerie, succeeded_run, sandbox_before):
    """A task spec with a negative timeout, an absurd deadline or retry count, or a backoff factor
    below 1 (which the SDK refuses client-side, but a raw client can send) is refused, naming the
    field, and no run is created."""
    details = flyte.remote.ActionDetails.get(run_name=succeeded_run.name, name="a0")
    run_details = flyte.remote.RunDetails.get(name=succeeded_run.name)
    inputs = asyncio.run(details.inputs()).pb2

    def create(change) -> tuple[str, HttpReply]:
        task = type(details.pb2.task)()
        task.CopyFrom(details.pb2.task)
        change(task.task_template.metadata)
        name = "limits-" + uuid.uuid4().hex[:12]
        req = run_service_pb2.CreateRunRequest(
            run_id=identifier_pb2.RunIdentifier(project=PROJECT, domain=DOMAIN, name=name),
            task_spec=task,
            inputs=inputs,
            run_spec=run_details.pb2.run_spec,
        )
        return name, connect_unary(aerie, CREATE_RUN, req.SerializeToString())

    cases = {
        "metadata.timeout may not be negative": lambda m: setattr(m.timeout, "seconds", -5),
        "deadline is longer than ten years": lambda m: setattr(m.timeouts.deadline, "seconds", 10**12),
        "at most 1000": lambda m: setattr(m.retries, "retries", 10**6),
        "at least 1": lambda m: setattr(m.retries.backoff, "factor", 0.5),
    }
    for says, change in cases.items():
        name, reply = create(change)
        assert_connect_error(reply, "invalid_argument", says)
        assert_connect_error(get_action_details(aerie, name), "not_found")
    assert files_outside(aerie.root, aerie.data_dir) == sandbox_before


def assert_connect_error_code_in(reply, codes: set[str]) -> None:
    assert 400 <= reply.status < 500, reply.explain()
    assert reply.code in codes, reply.explain()


# --- uploads -----------------------------------------------------------------------------------


def create_upload_location(aerie, filename: str, content: bytes, filename_root: str = ""):
    req = dataproxy_service_pb2.CreateUploadLocationRequest(
        project=PROJECT,
        domain=DOMAIN,
        filename=filename,
        filename_root=filename_root,
        content_md5=hashlib.md5(content).digest(),
    )
    return connect_unary(aerie, CREATE_UPLOAD_LOCATION, req.SerializeToString())


def put(url: str, content: bytes, headers: dict[str, str] | None = None):
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        path = urlunsplit(("", "", parts.path, parts.query, ""))
        hdrs = {
            "Content-MD5": base64.b64encode(hashlib.md5(content).digest()).decode(),
            "Content-Length": str(len(content)),
        }
        hdrs.update(headers or {})
        conn.request("PUT", path, body=content, headers=hdrs)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


@pytest.mark.parametrize(
    "filename, root",
    [
        ("../../../escape-{u}.txt", ""),
        ("escape-{u}.txt", "../../.."),
        ("/tmp/escape-{u}.txt", ""),
        ("a/../../escape-{u}", ""),
    ],
)
def test_upload_location_with_a_path_like_name_cannot_escape_the_data_dir(aerie, sandbox_before, filename, root):
    marker = uuid.uuid4().hex
    filename, root = filename.format(u=marker), root.format(u=marker)
    content = b"should never land outside the data directory\n"

    reply = create_upload_location(aerie, filename, content, root)

    if reply.status == 200:
        resp = decode_unary(reply, dataproxy_service_pb2.CreateUploadLocationResponse)
        status, body = put(resp.signed_url, content, dict(resp.headers))
        assert status < 500, f"PUT {resp.signed_url}: {status} {body!r}"
    else:
        assert_connect_error(reply, "invalid_argument")
    assert files_outside(aerie.root, aerie.data_dir) == sandbox_before
    for place in (aerie.root.parent, pathlib.Path("/tmp"), pathlib.Path.cwd()):
        assert not list(place.glob(f"escape-{marker}*")), f"an upload escaped to {place}"


def test_signed_upload_url_refuses_a_missing_or_forged_signature(aerie, sdk):
    content = b"signed upload test\n"
    reply = create_upload_location(aerie, f"fast{hashlib.md5(content).hexdigest()}.tar.gz", content)
    resp = decode_unary(reply, dataproxy_service_pb2.CreateUploadLocationResponse)
    parts = urlsplit(resp.signed_url)
    assert parts.scheme == "http" and parts.port == aerie.port, resp.signed_url
    assert parts.query, f"a signed URL carries its signature and expiry: {resp.signed_url}"

    unsigned = urlunsplit(parts._replace(query=""))
    last = parts.query[-1]
    forged = urlunsplit(parts._replace(query=parts.query[:-1] + ("1" if last == "0" else "0")))
    md5_of_other_content = base64.b64encode(hashlib.md5(content).digest()).decode()

    status_unsigned, _ = put(unsigned, content, dict(resp.headers))
    status_forged, _ = put(forged, content, dict(resp.headers))
    status_wrong_md5, _ = put(
        resp.signed_url, content + b"tampered", {**dict(resp.headers), "Content-MD5": md5_of_other_content}
    )
    status_ok, body = put(resp.signed_url, content, dict(resp.headers))

    assert status_unsigned in (401, 403), f"unsigned PUT answered {status_unsigned}"
    assert status_forged in (401, 403), f"PUT with a tampered query answered {status_forged} ({forged})"
    assert 400 <= status_wrong_md5 < 500, f"a body that does not match Content-MD5 answered {status_wrong_md5}"
    assert status_ok in (200, 201, 204), f"the genuine signed PUT answered {status_ok}: {body!r}"


def test_expired_upload_url_is_refused(aerie, sdk):
    content = b"expiring upload test\n"
    req = dataproxy_service_pb2.CreateUploadLocationRequest(
        project=PROJECT,
        domain=DOMAIN,
        filename=f"fast{hashlib.md5(content).hexdigest()}.tar.gz",
        content_md5=hashlib.md5(content).digest(),
    )
    req.expires_in.FromSeconds(1)
    resp = decode_unary(
        connect_unary(aerie, CREATE_UPLOAD_LOCATION, req.SerializeToString()),
        dataproxy_service_pb2.CreateUploadLocationResponse,
    )
    assert resp.HasField("expires_at")
    time.sleep(2.5)

    status, body = put(resp.signed_url, content, dict(resp.headers))

    assert status in (401, 403), f"a PUT after expires_in=1s answered {status}: {body!r}"


# --- garbage, wrong content type, oversized ----------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", b"\x0a\xff\xff\xff\xff\x0f", b"not a protobuf at all \x00\x01"],
    ids=["bad-varint", "truncated-length", "text"],
)
def test_garbage_body_is_invalid_argument(aerie, sdk, body):
    assert_connect_error(connect_unary(aerie, GET_ACTION_DETAILS, body), "invalid_argument")


def test_garbage_gzip_body_is_a_client_error(aerie, sdk):
    reply = connect_unary(aerie, GET_ACTION_DETAILS, b"this is not gzip", extra_headers={"content-encoding": "gzip"})
    assert 400 <= reply.status < 500, f"a body that is not gzip is the client's fault: {reply.explain()}"


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded"])
def test_wrong_content_type_is_refused(aerie, sdk, content_type):
    body = run_service_pb2.GetActionDetailsRequest(action_id=action_id("no-such-run")).SerializeToString()

    reply = connect_unary(aerie, GET_ACTION_DETAILS, body, content_type=content_type)

    assert reply.status == 415 or reply.code == "invalid_argument", reply.explain()


def test_unknown_method_is_a_client_error(aerie, sdk):
    reply = connect_unary(aerie, "flyteidl2.workflow.RunService/NoSuchMethod", b"")
    assert reply.status in (404, 501), reply.explain()


def send_big(aerie, body, extra_headers: dict[str, str] | None = None, chunked: bool = False):
    """POST a big body; the server may answer before reading it all, which is fine if it answers."""
    headers = {"content-type": "application/proto", "connect-protocol-version": "1", **(extra_headers or {})}
    conn = http.client.HTTPConnection("127.0.0.1", aerie.port, timeout=60)
    try:
        try:
            conn.request("POST", f"/{GET_ACTION_DETAILS}", body=body, headers=headers, encode_chunked=chunked)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading; its answer may still be waiting
        try:
            resp = conn.getresponse()
        except (ConnectionResetError, http.client.RemoteDisconnected) as e:
            raise AssertionError(f"the server dropped the connection without an error reply: {e!r}") from None
        return HttpReply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


MIB = 1024 * 1024


def test_a_20_mib_garbage_body_gets_a_clear_client_error(aerie, sdk):
    reply = send_big(aerie, b"\x00" * (20 * MIB))

    assert reply.status in (400, 413, 429), reply.explain()
    assert reply.code in ("invalid_argument", "resource_exhausted"), reply.explain()


def test_a_body_over_the_size_limit_is_resource_exhausted(aerie, sdk):
    assert_connect_error(send_big(aerie, b"\x00" * (64 * MIB)), "resource_exhausted")


def test_a_chunked_body_over_the_size_limit_is_resource_exhausted(aerie, sdk):
    chunks = (b"\x00" * MIB for _ in range(64))
    assert_connect_error(send_big(aerie, chunks, chunked=True), "resource_exhausted")


def test_a_gzip_bomb_is_resource_exhausted(aerie, sdk):
    bomb = gzip.compress(b"\x00" * (200 * MIB), compresslevel=9)
    assert len(bomb) < MIB

    assert_connect_error(send_big(aerie, bomb, {"content-encoding": "gzip"}), "resource_exhausted")


# --- afterwards: still serving, data intact ----------------------------------------------------


def test_server_still_serves_and_earlier_runs_are_intact(aerie, succeeded_run, failed_run, sandbox_before):
    """Runs last in this module (pytest keeps file order): everything above must have left no mark."""
    assert aerie.is_alive(), f"aerie exited with status {aerie.proc.returncode}"
    health = http_request(aerie, "GET", "/healthz")
    assert health.status == 200, health.explain()

    ok = decode_unary(get_action_details(aerie, succeeded_run.name), run_service_pb2.GetActionDetailsResponse)
    assert ok.details.id.run.name == succeeded_run.name
    assert ok.details.status == succeeded_run.details.pb2.status
    d = flyte.remote.ActionDetails.get(run_name=succeeded_run.name, name="a0")
    assert d.phase == ActionPhase.SUCCEEDED
    assert tuple(flyte.remote.Run.get(succeeded_run.name).outputs()) == (42, "hello aerie")
    f = flyte.remote.ActionDetails.get(run_name=failed_run.name, name="a0")
    assert f.phase == ActionPhase.FAILED and "boom: the answer was 41" in f.error_info.message

    assert files_outside(aerie.root, aerie.data_dir) == sandbox_before
