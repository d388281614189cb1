"""What a web page or a second user cannot do: DNS rebinding and cross-site requests get nothing,
and an uploaded object can be neither replaced nor swapped; odd file names round-trip."""

from __future__ import annotations

import base64
import hashlib
import http.client
import urllib.parse
import uuid

import flyte.remote
import obstore
import pytest
from flyteidl2.dataproxy import dataproxy_service_pb2
from helpers import DOMAIN, PROJECT, bucket, bucket_key, connect_unary, decode_unary, http_request, storage_env

LIST_RUNS = "flyteidl2.workflow.RunService/ListRuns"
RUNS_PAGE = f"/v2/domain/{DOMAIN}/project/{PROJECT}/runs"
LIST_RUNS_BODY = b'{"projectId": {"name": "flytesnacks", "domain": "development"}}'
JSON = {"content-type": "application/json", "connect-protocol-version": "1"}


def test_a_request_naming_a_foreign_host_is_refused(aerie):
    rebound = http_request(aerie, "GET", RUNS_PAGE, headers={"Host": f"attacker.example:{aerie.port}"})
    assert rebound.status == 421, rebound.explain()
    rpc = http_request(
        aerie, "POST", f"/{LIST_RUNS}", LIST_RUNS_BODY, {**JSON, "Host": f"attacker.example:{aerie.port}"}
    )
    assert (rpc.status, rpc.code) == (421, "permission_denied"), rpc.explain()
    for served in (f"localhost:{aerie.port}", f"127.0.0.1:{aerie.port}"):
        page = http_request(aerie, "GET", RUNS_PAGE, headers={"Host": served})
        assert page.status == 200, (served, page.explain())


def test_a_request_from_a_foreign_page_cannot_call_aerie(aerie):
    foreign = http_request(
        aerie, "POST", f"/{LIST_RUNS}", LIST_RUNS_BODY, {**JSON, "Origin": "https://attacker.example"}
    )
    assert (foreign.status, foreign.code) == (403, "permission_denied"), foreign.explain()
    opaque = http_request(aerie, "POST", f"/{LIST_RUNS}", LIST_RUNS_BODY, {**JSON, "Origin": "null"})
    assert opaque.status == 403, opaque.explain()
    own = http_request(
        aerie, "POST", f"/{LIST_RUNS}", LIST_RUNS_BODY, {**JSON, "Origin": f"http://localhost:{aerie.port}"}
    )
    assert own.status == 200, own.explain()


ODD_NAMES = ["with space.txt", "brackets[1](2).txt", "100%.txt", "hash#tag.txt", "what?.txt", "ünïcödé ✓.txt"]


@pytest.mark.parametrize("name", ODD_NAMES)
def test_an_odd_file_name_round_trips_through_upload_file(sdk, tmp_path, name):
    local = tmp_path / name
    content = f"content of {name}\n".encode()
    local.write_bytes(content)
    digest, native_url = flyte.remote.upload_file(local)
    assert native_url.rsplit("/", 1)[1] == name, native_url
    stored = obstore.get(bucket(storage_env(sdk)), bucket_key(native_url))
    assert bytes(stored.bytes()) == content, "read back through the bucket under exactly its name"
    assert digest


def create_upload_location(aerie, root: str, filename: str, content: bytes | None):
    request = dataproxy_service_pb2.CreateUploadLocationRequest(
        project=PROJECT, domain=DOMAIN, filename=filename, filename_root=root
    )
    if content is not None:
        request.content_md5 = hashlib.md5(content).digest()
    return connect_unary(aerie, "flyteidl2.dataproxy.DataProxyService/CreateUploadLocation", request.SerializeToString())


def put(aerie, signed_url: str, content: bytes, content_md5: bool = True):
    url = urllib.parse.urlsplit(signed_url)
    headers = {"content-type": "application/octet-stream"}
    if content_md5:
        headers["content-md5"] = base64.b64encode(hashlib.md5(content).digest()).decode()
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        conn.request("PUT", f"{url.path}?{url.query}", body=content, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_an_uploaded_object_can_be_neither_replaced_nor_swapped(aerie):
    root, name = f"bundle-{uuid.uuid4().hex[:8]}", "code.tgz"
    original, swapped = b"the code the owner ran", b"someone else's code"
    first = decode_unary(
        create_upload_location(aerie, root, name, original), dataproxy_service_pb2.CreateUploadLocationResponse
    )
    assert put(aerie, first.signed_url, swapped)[0] == 400, "a URL is bound to the hash it was issued for"
    assert put(aerie, first.signed_url, swapped, content_md5=False)[0] == 400
    tampered = first.signed_url.replace(hashlib.md5(original).hexdigest(), hashlib.md5(swapped).hexdigest())
    assert tampered != first.signed_url
    assert put(aerie, tampered, swapped)[0] == 403, "the hash is under the signature"
    assert put(aerie, first.signed_url, original)[0] == 201
    assert put(aerie, first.signed_url, original)[0] == 200, "the same content again is fine"

    second = decode_unary(
        create_upload_location(aerie, root, name, swapped), dataproxy_service_pb2.CreateUploadLocationResponse
    )
    assert second.native_url == first.native_url
    status, body = put(aerie, second.signed_url, swapped)
    assert status == 409, body
    stored = obstore.get(bucket(storage_env(aerie)), bucket_key(first.native_url))
    assert bytes(stored.bytes()) == original

    without_hash = create_upload_location(aerie, root, name, None)
    assert (without_hash.status, without_hash.code) == (409, "already_exists"), without_hash.explain()


def test_an_upload_name_too_long_for_the_disk_is_invalid_argument(aerie):
    reply = create_upload_location(aerie, "r", "ü" * 130 + ".txt", b"x")
    assert reply.code == "invalid_argument", reply.explain()
