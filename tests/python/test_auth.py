"""Authentication, roles and TLS, through the unchanged SDK and `flyte` CLI.

One aerie serves with `--auth` and a self-signed certificate on a free port; the SDK reaches it with
an explicit endpoint and an API key's client id and secret. The SDK reads no port out of an API
key (it splits the decoded key at its colons), so `FLYTE_API_KEY` is tested against a second aerie
on 127.0.0.1:443, which needs the right to bind port 443 (root, as in CI, or CAP_NET_BIND_SERVICE).

The SDK's token client (httpx) ignores `ca_cert_file_path` and trusts only SSL_CERT_FILE, so SDK
processes get both, as docs/security.md tells users to do.
"""

from __future__ import annotations

import base64
import datetime
import http.client
import ipaddress
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import AerieServer, start_aerie, stop_aerie_process
from helpers import DOMAIN, PROJECT, TESTS_DIR, process_is_gone, wait_until

#: A variable of aerie's own environment that no task may see.
LEAKABLE = {"AWS_SECRET_ACCESS_KEY": "aerie-must-not-leak-this", "DATABASE_URL": "postgres://secret@db/aerie"}
#: A variable tasks get because the server allow-lists it.
ALLOWED = ("TRUST_TEST_ALLOWED", "yes")
TOKEN_TTL_S = 3


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1, as docs/security.md makes one."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@dataclass
class ApiKey:
    name: str
    client_id: str
    secret: str
    encoded: str


@dataclass
class SecureAerie:
    server: AerieServer
    cert: Path
    admin: ApiKey
    reader: ApiKey

    @property
    def endpoint(self) -> str:
        return f"dns:///localhost:{self.server.port}"


def apikey(server_binary: Path, data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(server_binary), "apikey", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def create_key(server_binary: Path, data_dir: Path, name: str, role: str) -> ApiKey:
    made = apikey(server_binary, data_dir, "create", name, "--role", role)
    assert made.returncode == 0, made.stderr
    fields = dict(line.split(":", 1) for line in made.stdout.splitlines() if ":" in line and not line.startswith(" "))
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    return ApiKey(name, fields["client id"], fields["secret"], fields["api key"])


def start_secure(root: Path, addr: str, *extra: str) -> tuple[AerieServer, Path]:
    root.mkdir(parents=True, exist_ok=True)
    cert, key = make_certificate(root)
    server = start_aerie(
        root,
        addr=addr,
        extra_args=("--auth", "--tls-cert", str(cert), "--tls-key", str(key), *extra),
        extra_env={**LEAKABLE, ALLOWED[0]: ALLOWED[1]},
    )
    return server, cert


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("secure-aerie")
    server, cert = start_secure(
        root, "127.0.0.1:0", "--token-ttl", str(TOKEN_TTL_S), "--task-env-allow", ALLOWED[0]
    )
    admin = create_key(server.binary, server.data_dir, "trust-admin", "admin")
    reader = create_key(server.binary, server.data_dir, "trust-reader", "read-only")
    yield SecureAerie(server, cert, admin, reader)
    stop_aerie_process(server.proc)


def sdk_as(secure: SecureAerie, key: ApiKey, *operation: str, timeout: float = 180) -> tuple[int, dict]:
    """Runs `sdk_as.py OPERATION` as `key` against `secure`; returns its exit status and JSON line."""
    env = dict(os.environ)
    env.update(
        {
            "AERIE_TEST_ENDPOINT": secure.endpoint,
            "AERIE_TEST_CLIENT_ID": key.client_id,
            "AERIE_TEST_CLIENT_SECRET": key.secret,
            "SSL_CERT_FILE": str(secure.cert),
        }
    )
    return _python(env, *operation, timeout=timeout)


def _python(env: dict[str, str], *operation: str, timeout: float) -> tuple[int, dict]:
    done = subprocess.run(
        [sys.executable, str(TESTS_DIR / "sdk_as.py"), *operation],
        cwd=TESTS_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"sdk_as.py {operation} printed no result\n{done.stdout}\n{done.stderr[-3000:]}"
    return done.returncode, json.loads(lines[-1])


def flyte_cli_as(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """The `flyte` CLI of this venv with `env` (its credentials), not the session's endpoint."""
    flyte = str(Path(sys.prefix) / "bin" / "flyte")
    return subprocess.run(
        [flyte, *args],
        env={**env, "COLUMNS": "100000", "NO_COLOR": "1"},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def https(secure: SecureAerie, method: str, path: str, body: bytes = b"", headers: dict | None = None):
    context = ssl.create_default_context(cafile=str(secure.cert))
    conn = http.client.HTTPSConnection("localhost", secure.server.port, context=context, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def list_runs(secure: SecureAerie, authorization: str | None) -> tuple[int, dict]:
    """ListRuns over Connect JSON with `authorization` (or none)."""
    headers = {"content-type": "application/json", "connect-protocol-version": "1"}
    if authorization:
        headers["authorization"] = authorization
    body = json.dumps({"projectId": {"name": PROJECT, "domain": DOMAIN}}).encode()
    status, reply = https(secure, "POST", "/flyteidl2.workflow.RunService/ListRuns", body, headers)
    return status, json.loads(reply or b"{}")


def connect_as(secure: SecureAerie, key: ApiKey | None, rpc: str, body: dict) -> tuple[int, dict]:
    """A Connect JSON call as `key` (HTTP Basic with its client id and secret), or with none."""
    headers = {"content-type": "application/json", "connect-protocol-version": "1"}
    if key:
        headers["authorization"] = "Basic " + base64.b64encode(f"{key.client_id}:{key.secret}".encode()).decode()
    status, reply = https(secure, "POST", f"/{rpc}", json.dumps(body).encode(), headers)
    return status, json.loads(reply or b"{}")


def token_for(secure: SecureAerie, key: ApiKey) -> tuple[int, dict]:
    basic = base64.b64encode(f"{key.client_id}:{key.secret}".encode()).decode()
    form = urllib.parse.urlencode({"grant_type": "client_credentials"}).encode()
    status, reply = https(
        secure,
        "POST",
        "/oauth2/token",
        form,
        {"authorization": f"Basic {basic}", "content-type": "application/x-www-form-urlencoded"},
    )
    return status, json.loads(reply)


def test_the_sdk_runs_a_workflow_with_client_credentials_over_tls_and_the_run_records_its_creator(secure):
    status, result = sdk_as(secure, secure.admin, "run", "twice_plus_one", '{"x": 3}')
    assert status == 0, result
    assert result["phase"] == "SUCCEEDED" and result["outputs"] == [8], result
    status, creator = sdk_as(secure, secure.admin, "creator", result["run"])
    assert status == 0, creator
    assert creator["created_by"] == secure.admin.name


def test_a_read_only_key_reads_but_cannot_start_or_abort_runs(secure):
    status, started = sdk_as(secure, secure.admin, "run", "plus_one", '{"x": 1}')
    assert status == 0, started
    status, listed = sdk_as(secure, secure.reader, "runs")
    assert status == 0, listed
    assert started["run"] in listed["runs"]
    status, refused = sdk_as(secure, secure.reader, "run", "plus_one", '{"x": 1}')
    assert status == 1 and refused["code"] == "permission_denied", refused
    status, refused = sdk_as(secure, secure.reader, "abort", started["run"])
    assert status == 1 and refused["code"] == "permission_denied", refused


SCOPE = {"projectId": {"name": PROJECT, "domain": DOMAIN}}


def test_the_deploy_services_check_credentials_and_roles_like_the_rest(secure):
    reads = [
        ("flyteidl2.task.TaskService/ListTasks", SCOPE),
        ("flyteidl2.trigger.TriggerService/ListTriggers", SCOPE),
        ("flyteidl2.secret.SecretService/ListSecrets", {}),
        ("flyteidl2.project.ProjectService/ListProjects", {}),
    ]
    writes = [
        ("flyteidl2.secret.SecretService/CreateSecret", {"id": {"name": "by-reader"}, "secretSpec": {"stringValue": "v"}}),
        ("flyteidl2.secret.SecretService/DeleteSecret", {"id": {"name": "by-reader"}}),
        ("flyteidl2.project.ProjectService/CreateProject", {"project": {"id": "by-reader", "name": "x"}}),
        ("flyteidl2.trigger.TriggerService/UpdateTriggers", {"names": [{"name": "t", "taskName": "a.b"}], "active": False}),
        ("flyteidl2.task.TaskService/DeployTask", {"taskId": {"name": "a.b", "version": "v"}}),
    ]
    for rpc, body in reads + writes:
        status, reply = connect_as(secure, None, rpc, body)
        assert (status, reply.get("code")) == (401, "unauthenticated"), (rpc, reply)
    for rpc, body in reads:
        status, reply = connect_as(secure, secure.reader, rpc, body)
        assert status == 200, (rpc, reply)
    for rpc, body in writes:
        status, reply = connect_as(secure, secure.reader, rpc, body)
        assert (status, reply.get("code")) == (403, "permission_denied"), (rpc, reply)
    status, reply = connect_as(secure, secure.admin, *writes[0])
    assert status == 200, reply
    status, listed = connect_as(secure, secure.reader, *reads[2])
    assert status == 200 and "by-reader" in json.dumps(listed) and '"v"' not in json.dumps(listed), listed


def test_missing_wrong_revoked_and_expired_credentials_are_unauthenticated(secure):
    status, reply = list_runs(secure, None)
    assert (status, reply.get("code")) == (401, "unauthenticated"), reply
    wrong = base64.b64encode(f"{secure.admin.client_id}:not-the-secret".encode()).decode()
    status, reply = list_runs(secure, f"Basic {wrong}")
    assert (status, reply.get("code")) == (401, "unauthenticated"), reply
    status, reply = token_for(secure, ApiKey("x", secure.admin.client_id, "not-the-secret", ""))
    assert (status, reply.get("error")) == (401, "invalid_client"), reply
    status, refused = sdk_as(
        secure, ApiKey("x", secure.admin.client_id, "not-the-secret", ""), "runs", timeout=60
    )
    assert status == 1 and "invalid_client" in refused["message"], refused

    doomed = create_key(secure.server.binary, secure.server.data_dir, "trust-doomed", "admin")
    status, token = token_for(secure, doomed)
    assert status == 200 and token["expires_in"] == TOKEN_TTL_S, token
    bearer = f"Bearer {token['access_token']}"
    assert list_runs(secure, bearer)[0] == 200
    revoked = apikey(secure.server.binary, secure.server.data_dir, "revoke", doomed.name)
    assert revoked.returncode == 0, revoked.stderr
    status, reply = list_runs(secure, bearer)
    assert (status, reply.get("code")) == (401, "unauthenticated") and "revoked" in reply["message"], reply
    assert token_for(secure, doomed)[0] == 401

    status, token = token_for(secure, secure.reader)
    assert status == 200
    bearer = f"Bearer {token['access_token']}"
    assert list_runs(secure, bearer)[0] == 200
    time.sleep(TOKEN_TTL_S + 1)
    status, reply = list_runs(secure, bearer)
    assert (status, reply.get("code")) == (401, "unauthenticated") and "expired" in reply["message"], reply


def test_plain_http_gets_nothing_from_a_tls_aerie(secure):
    conn = http.client.HTTPConnection("127.0.0.1", secure.server.port, timeout=10)
    try:
        with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
            conn.request("GET", "/healthz")
            conn.getresponse().read()
    finally:
        conn.close()
    assert https(secure, "GET", "/healthz") == (200, b"ok\n"), "health checks need no credential"


def test_an_abort_records_the_key_that_aborted_and_ends_a_task_that_left_its_process_group(secure, tmp_path):
    pid_file = tmp_path / "sleeper.pid"
    status, started = sdk_as(
        secure, secure.admin, "start", "escape_and_wait", json.dumps({"seconds": 300, "pid_file": str(pid_file)})
    )
    assert status == 0, started
    wait_until(pid_file.exists, timeout=120, what="the task to start its escaped sleeper")
    sleeper = int(pid_file.read_text())
    assert not process_is_gone(sleeper)
    status, aborted = sdk_as(secure, secure.admin, "abort", started["run"])
    assert status == 0, aborted
    wait_until(lambda: process_is_gone(sleeper), timeout=30, what="the escaped sleeper to be ended")
    status, details = sdk_as(secure, secure.reader, "aborted_by", started["run"])
    assert status == 0, details
    assert details == {"phase": "ABORTED", "aborted_by": secure.admin.name}


def test_tasks_get_none_of_aeries_environment_but_what_is_allow_listed(secure):
    status, result = sdk_as(secure, secure.admin, "run", "environment_names", "{}")
    assert status == 0, result
    names = set(result["outputs"][0])
    assert not names & set(LEAKABLE), names
    assert ALLOWED[0] in names
    assert {"FLYTE_INTERNAL_EXECUTION_PROJECT", "RUN_NAME", "ACTION_NAME"} <= names


def test_the_data_directory_database_and_keys_are_private_to_aeries_user(secure):
    data = secure.server.data_dir
    assert data.stat().st_mode & 0o777 == 0o700
    for name in ("aerie.db", "signing.key", "token.key", "storage.key", "secrets.key"):
        assert (data / name).stat().st_mode & 0o777 == 0o600, name
    for directory in ("blobs", "logs", "work"):
        assert (data / directory).stat().st_mode & 0o077 == 0, directory


@pytest.fixture(scope="module")
def port_443_aerie(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("aerie-443")
    server, cert = start_secure(root, "127.0.0.1:443")
    key = create_key(server.binary, server.data_dir, "trust-api-key", "admin")
    yield server, cert, key
    stop_aerie_process(server.proc)


def test_flyte_api_key_drives_the_sdk_and_the_flyte_cli(port_443_aerie, tmp_path):
    server, cert, key = port_443_aerie
    env = {k: v for k, v in os.environ.items() if not k.startswith("AERIE_TEST_")}
    env.update({"FLYTE_API_KEY": key.encoded, "SSL_CERT_FILE": str(cert)})
    status, result = _python(env, "run", "plus_one", '{"x": 4}', timeout=180)
    assert status == 0, result
    assert result["phase"] == "SUCCEEDED" and result["outputs"] == [5], result

    whoami = flyte_cli_as(env, tmp_path, "whoami")
    assert whoami.returncode == 0, whoami.stderr
    assert key.name in whoami.stdout and key.client_id in whoami.stdout
    runs = flyte_cli_as(env, tmp_path, "get", "run", "-p", PROJECT, "-d", DOMAIN)
    assert runs.returncode == 0, runs.stderr
    assert result["run"] in runs.stdout


def test_the_flyte_cli_reads_client_credentials_from_its_config_file(secure, tmp_path):
    status, started = sdk_as(secure, secure.admin, "run", "plus_one", '{"x": 10}')
    assert status == 0, started
    config = tmp_path / "config.yaml"
    config.write_text(
        "admin:\n"
        f"  endpoint: {secure.endpoint}\n"
        "  authType: ClientSecret\n"
        f"  clientId: {secure.reader.client_id}\n"
        "  clientSecretEnvVar: TRUST_TEST_SECRET\n"
        f"  caCertFilePath: {secure.cert}\n"
        f"task:\n  project: {PROJECT}\n  domain: {DOMAIN}\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "FLYTECTL_CONFIG"}
    env.update({"TRUST_TEST_SECRET": secure.reader.secret, "SSL_CERT_FILE": str(secure.cert)})
    listed = flyte_cli_as(env, tmp_path, "--config", str(config), "get", "run")
    assert listed.returncode == 0, listed.stderr
    assert started["run"] in listed.stdout


def test_the_console_page_opens_without_a_key_but_its_reads_need_one(secure):
    """The page holds no data, so anyone may load it; what it shows comes through RPCs and the
    console API, which need a credential like any other read."""
    status, body = https(secure, "GET", f"/v2/domain/{DOMAIN}/project/{PROJECT}/runs")
    assert status == 200 and b"/console/console.js" in body
    files = f"/console/api/files?project={PROJECT}&domain={DOMAIN}&run=r1&uri=s3%3A%2F%2Faerie%2Fruns"
    status, body = https(secure, "GET", files)
    assert status == 401, body
    basic = base64.b64encode(f"{secure.reader.client_id}:{secure.reader.secret}".encode()).decode()
    status, body = https(secure, "GET", files, headers={"authorization": f"Basic {basic}"})
    assert status == 404 and b"not_found" in body, body

def test_the_console_asks_for_a_key_and_offers_no_changes_to_a_read_only_one(secure, browser):
    admin = "Basic " + base64.b64encode(f"{secure.admin.client_id}:{secure.admin.secret}".encode()).decode()
    task = {
        "taskTemplate": {
            "id": {"project": PROJECT, "domain": DOMAIN, "name": "console-hold", "version": "v1"},
            "type": "python",
            "container": {"args": ["python", "-c", "import time; time.sleep(120)"]},
        },
        "shortName": "console-hold",
    }
    run = {"project": PROJECT, "domain": DOMAIN, "name": "consolekeys"}
    headers = {"content-type": "application/json", "connect-protocol-version": "1", "authorization": admin}
    status, reply = https(
        secure, "POST", "/flyteidl2.workflow.RunService/CreateRun",
        json.dumps({"runId": run, "taskSpec": task}).encode(), headers,
    )
    assert status == 200, reply
    context = browser.new_context(ignore_https_errors=True, base_url=f"https://localhost:{secure.server.port}")
    try:
        page = context.new_page()
        page.goto(f"/v2/domain/{DOMAIN}/project/{PROJECT}/runs/consolekeys")
        page.get_by_placeholder("API key or token").fill(secure.reader.encoded)
        page.get_by_role("button", name="Sign in").click()
        page.locator("h1 .phase[data-phase=RUNNING]").wait_for(timeout=60_000)
        assert "(read-only)" in page.locator(".who").inner_text()
        assert page.get_by_role("button", name="Abort run").count() == 0
        assert page.get_by_role("button", name="Rerun").count() == 0

        page.get_by_role("button", name="sign out").click()
        page.get_by_placeholder("API key or token").fill(secure.admin.encoded)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("button", name="Abort run").click()
        page.get_by_placeholder("reason").fill("done looking")
        page.locator("form.abort-form button[type=submit]").click()
        page.locator("h1 .phase[data-phase=ABORTED]").wait_for(timeout=60_000)
    finally:
        context.close()
