"""Session fixtures for aerie's end-to-end tests: one live `aerie serve`, and the official SDK on it.

The server is the real binary (`target/debug/aerie`, or `$AERIE_BIN`), started once per session on
`127.0.0.1:0` with a temporary data directory and `--python-env` = the virtual environment running
pytest, so tasks run the same `flyte` as the tests. The port is read from the server's
`aerie ready on http://HOST:PORT` line. When a test fails, the server log lines written while it
ran are attached to the report ("aerie server log"); the full log path is printed at the end.

The SDK keeps a one-day cache of uploaded code bundles next to its config file (by default in
~/.flyte). A cache entry pointing into a data directory that no longer exists makes later runs fail,
so the session points the SDK at a throwaway config (FLYTECTL_CONFIG) and its cache dies with it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from helpers import ANSI, DOMAIN, PROJECT, REPO_ROOT, TESTS_DIR

# Several nodes on one PostgreSQL database and an S3 store (SeaweedFS): the `seaweed`,
# `postgres_database` and `cluster` fixtures of the scale-out tests.
pytest_plugins = ["cluster"]

READY_LINE = re.compile(r"aerie ready on https?://(?P<host>\[[^\]]+\]|[^\s:/]+):(?P<port>\d+)")
STARTUP_TIMEOUT_S = float(os.environ.get("AERIE_TEST_STARTUP_TIMEOUT", "60"))

_sdk_home: Path | None = None


def pytest_configure(config: pytest.Config) -> None:
    """Give the SDK a private config file (and with it a private bundle cache) for this session."""
    global _sdk_home
    _sdk_home = Path(tempfile.mkdtemp(prefix="aerie-sdk-"))
    cfg = _sdk_home / "config.yaml"
    cfg.write_text(f"task:\n  project: {PROJECT}\n  domain: {DOMAIN}\n")
    os.environ["FLYTECTL_CONFIG"] = str(cfg)
    # No telemetry from the SDK, its CLI or task processes: tests talk to loopback only.
    os.environ["DO_NOT_TRACK"] = "1"
    os.environ.pop("UCTL_CONFIG", None)
    os.environ.pop("FLYTE_API_KEY", None)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _sdk_home is not None:
        shutil.rmtree(_sdk_home, ignore_errors=True)


def aerie_binary() -> Path:
    if explicit := os.environ.get("AERIE_BIN"):
        return Path(explicit)
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO_ROOT / "target"))
    if not target.is_absolute():
        target = REPO_ROOT / target
    return target / "debug" / "aerie"


@dataclass(repr=False)
class AerieServer:
    """A running `aerie serve` process and where to find its port, data and log."""

    proc: subprocess.Popen
    host: str
    port: int
    root: Path
    data_dir: Path
    log_path: Path
    binary: Path
    _log_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def endpoint(self) -> str:
        """What the SDK is given: `localhost:PORT`, as with a devbox (org normalises to "")."""
        return f"localhost:{self.port}"

    @property
    def cli_endpoint(self) -> str:
        """What the aerie CLI is given."""
        return f"127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def log_text(self, since: int = 0) -> str:
        try:
            with self.log_path.open("rb") as f:
                f.seek(since)
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def is_alive(self) -> bool:
        return self.proc.poll() is None

    def __repr__(self) -> str:
        return f"AerieServer({self.base_url}, data_dir={self.data_dir})"


def server_env() -> dict[str, str]:
    """The environment for `aerie serve`: ours, minus aerie's own knobs and the SDK's test config."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AERIE_") and k not in ("FLYTECTL_CONFIG", "UCTL_CONFIG", "PYTEST_CURRENT_TEST")
    }
    env.setdefault("RUST_BACKTRACE", "1")
    env["NO_COLOR"] = "1"  # plain log lines in server.log
    return env


def _die_with_parent() -> None:
    """In the child: ask Linux to SIGTERM the server if pytest dies without tearing it down."""
    try:
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def start_aerie(
    root: Path,
    *,
    addr: str = "127.0.0.1:0",
    extra_args: tuple[str, ...] = (),
    extra_env: dict[str, str] | None = None,
) -> AerieServer:
    """Start `aerie serve` with its data under `root/data` and wait for its ready line.

    `extra_env` is added to the server's environment (after aerie's own knobs are removed)."""
    binary = aerie_binary()
    if not binary.exists():
        pytest.fail(
            f"aerie binary not found at {binary}; build it with `cargo build -p aerie-cli` (or set AERIE_BIN)",
            pytrace=False,
        )
    data_dir = root / "data"
    log_path = root / "server.log"
    cmd = [
        str(binary),
        "serve",
        "--addr",
        addr,
        "--data-dir",
        str(data_dir),
        "--python-env",
        sys.prefix,
        *extra_args,
    ]
    log = log_path.open("ab", buffering=0)
    log.write(f"$ {' '.join(cmd)}\n".encode())
    proc = subprocess.Popen(
        cmd,
        cwd=root,
        env={**server_env(), **(extra_env or {})},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=log,
        start_new_session=True,
        # Only prctl() runs between fork and exec, before any thread touches the child.
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,  # noqa: PLW1509
    )
    lock = threading.Lock()
    ready: dict[str, str] = {}
    ready_event = threading.Event()

    def pump_stdout() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            with lock:
                log.write(b"[stdout] " + raw)
            if not ready_event.is_set():
                m = READY_LINE.search(raw.decode("utf-8", "replace"))
                if m:
                    ready.update(m.groupdict())
                    ready_event.set()
        ready_event.set()  # stdout closed: the process is gone

    threading.Thread(target=pump_stdout, name="aerie-stdout", daemon=True).start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not ready_event.wait(0.1):
        if time.monotonic() > deadline:
            break
    if not ready:
        stop_aerie_process(proc)
        text = log_path.read_text(errors="replace")
        pytest.fail(
            f"aerie serve did not print its ready line within {STARTUP_TIMEOUT_S:.0f}s "
            f"(exit status {proc.poll()}); command: {' '.join(cmd)}\n--- server log ---\n{text}",
            pytrace=False,
        )
    host = ready["host"].strip("[]")
    return AerieServer(
        proc=proc,
        host=host,
        port=int(ready["port"]),
        root=root,
        data_dir=data_dir,
        log_path=log_path,
        binary=binary,
    )


def stop_aerie_process(proc: subprocess.Popen, grace_s: float = 15.0) -> int | None:
    """SIGTERM, then SIGKILL after `grace_s`. Returns the exit status (negative: killed by a signal)."""
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    return proc.returncode


@pytest.fixture(scope="session")
def aerie(tmp_path_factory: pytest.TempPathFactory):
    """The session's live aerie server."""
    root = tmp_path_factory.mktemp("aerie")
    server = start_aerie(root)
    yield server
    status = stop_aerie_process(server.proc)
    sys.stderr.write(f"\naerie server log: {server.log_path} (exit status {status})\n")


@pytest.fixture
def own_server(tmp_path_factory: pytest.TempPathFactory):
    """Starts servers of the test's own (`start(root=None, addr=...)`); all stop when it ends.
    Pass an earlier server's root and address to restart it on the same data."""
    servers = []

    def start(root: Path | None = None, addr: str = "127.0.0.1:0") -> AerieServer:
        server = start_aerie(root or tmp_path_factory.mktemp("aerie-own"), addr=addr)
        servers.append(server)
        return server

    yield start
    for server in servers:
        stop_aerie_process(server.proc)


@pytest.fixture(scope="session")
def sdk(aerie: AerieServer) -> AerieServer:
    """The official SDK, initialised against the session's server (project flytesnacks/development)."""
    import flyte

    flyte.init(
        endpoint=aerie.endpoint,
        insecure=True,
        project=PROJECT,
        domain=DOMAIN,
        root_dir=TESTS_DIR,
    )
    return aerie


@pytest.fixture(autouse=True)
def _attach_server_log(request: pytest.FixtureRequest):
    """Remember where the server log was when the test started, so a failure can show its lines."""
    server = None
    if "aerie" in request.fixturenames or "sdk" in request.fixturenames:
        server = request.getfixturevalue("aerie")
    request.node._aerie_log = (server, server.log_size() if server else 0)
    yield


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.failed:
        server, since = getattr(item, "_aerie_log", (None, 0))
        if server is not None:
            text = ANSI.sub("", server.log_text(since))
            lines = text.splitlines()
            if len(lines) > 400:
                lines = [f"... ({len(lines) - 400} earlier lines in {server.log_path})"] + lines[-400:]
            alive = "running" if server.is_alive() else f"EXITED with status {server.proc.returncode}"
            report.sections.append(
                (f"aerie server log during this test (server {alive})", "\n".join(lines) or "(no output)")
            )
    return report


@dataclass
class FinishedRun:
    """A run submitted with `flyte.run` and waited on, with the details of its root action `a0`."""

    run: object  # flyte.remote.Run
    details: object  # flyte.remote.ActionDetails of a0, read after the run became terminal

    @property
    def name(self) -> str:
        return self.run.name


@pytest.fixture(scope="session")
def succeeded_run(sdk: AerieServer) -> FinishedRun:
    """`add_and_greet(x=41, name="aerie")`, which returns (42, "hello aerie")."""
    import flyte
    from helpers import wait_terminal
    from workflows import basic

    run = flyte.run(basic.add_and_greet, x=41, name="aerie")
    return FinishedRun(run, wait_terminal(run))


@pytest.fixture(scope="session")
def failed_run(sdk: AerieServer) -> FinishedRun:
    """`fail_with_value_error(answer=41)`, which raises ValueError("boom: the answer was 41")."""
    import flyte
    from helpers import wait_terminal
    from workflows import basic

    run = flyte.run(basic.fail_with_value_error, answer=41)
    return FinishedRun(run, wait_terminal(run))


#: Console page timings the browser tests measured, printed in the test report: (what, ms).
CONSOLE_TIMINGS: list[tuple[str, float]] = []


def chromium_path() -> str:
    """Debian's chromium (scripts/setup-browser installs it), or `$AERIE_CHROMIUM`."""
    found = os.environ.get("AERIE_CHROMIUM") or shutil.which("chromium")
    if not found:
        pytest.fail("no chromium on PATH: run scripts/setup-browser (or set AERIE_CHROMIUM)", pytrace=False)
    return found


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium driven by Playwright, for one test module. Playwright's sync API keeps an
    event loop running in this thread while it lives, so it lives no longer than the module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path())
        yield launched
        launched.close()


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """The console's page timings, measured in the browser (navigation start to content shown)."""
    if not CONSOLE_TIMINGS:
        return
    terminalreporter.section("console page timings (headless Chromium, this machine)")
    for what, ms in CONSOLE_TIMINGS:
        terminalreporter.write_line(f"{ms:8.0f} ms  {what}")
