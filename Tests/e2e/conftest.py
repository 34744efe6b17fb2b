"""Fixtures that start a real `conductor apiserver` process on loopback and talk to it over HTTPS.

The binary comes from CONDUCTOR_BIN, or from `swift build`'s debug output.
"""
import os
import pathlib
import signal
import socket
import ssl
import subprocess
import time

import httpx
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHARED = pathlib.Path(os.environ.get("CONDUCTOR_SHARED", ROOT.parent / "shared"))
REFERENCE = SHARED / "kube-reference"
PROJECT_CRDS = ROOT / "deploy" / "crds"


def conductor_binary() -> str:
    explicit = os.environ.get("CONDUCTOR_BIN")
    if explicit:
        return explicit
    for candidate in (ROOT / ".build" / "debug" / "conductor", ROOT / ".build" / "release" / "conductor"):
        if candidate.exists():
            return str(candidate)
    raise RuntimeError("conductor binary not found: run `swift build` or set CONDUCTOR_BIN")


def mcp1_python() -> str:
    """The interpreter of the venv with the MCP SDK 1.x (2025-11-25 Tasks): CONDUCTOR_MCP1_PYTHON, else the one
    scripts/install-deps.sh makes."""
    python = pathlib.Path(os.environ.get("CONDUCTOR_MCP1_PYTHON", ROOT / "Tests" / "e2e" / ".venv-mcp1" / "bin" / "python"))
    if not python.exists():
        raise RuntimeError(f"{python} is missing: run `make deps` (scripts/install-deps.sh makes the mcp 1.x venv)")
    return str(python)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, timeout: float, what: str, interval: float = 0.1):
    """Polls `condition` until it returns something truthy, which it returns; fails naming `what` after
    `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout}s (last: {last!r})")


def run_ready(process: subprocess.Popen, health_port: int, log: pathlib.Path) -> bool:
    """Whether a `conductor run` answers /readyz with 200 on `health_port`; fails with its log once it has exited."""
    assert process.poll() is None, log.read_text()
    try:
        return httpx.get(f"http://127.0.0.1:{health_port}/readyz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


_TCP_STATES = {"01": "ESTABLISHED", "06": "TIME_WAIT", "08": "CLOSE_WAIT", "09": "LAST_ACK", "0A": "LISTEN"}


def server_ends(port: int) -> dict[int, str]:
    """The sockets on this machine whose local port is `port` (a server's ends of its connections), by the peer's
    port, with their TCP state (/proc/net/tcp: addresses as hex ip:port)."""
    ends = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = pathlib.Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            local, remote, state = line.split()[1:4]
            if int(local.rsplit(":", 1)[1], 16) == port and state != "0A":
                ends[int(remote.rsplit(":", 1)[1], 16)] = _TCP_STATES.get(state, state)
    return ends


class APIServer:
    """One `conductor apiserver` process with its data directory."""

    def __init__(self, data_dir: pathlib.Path, port: int | None = None):
        self.data_dir = data_dir
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None
        self.log_path = data_dir / "apiserver.log"

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def kubeconfig(self) -> pathlib.Path:
        return self.data_dir / "kubeconfig"

    @property
    def ca_file(self) -> pathlib.Path:
        return self.data_dir / "pki" / "ca.crt"

    def tls(self) -> ssl.SSLContext:
        """Trusts the server's own CA (httpx takes an SSLContext; a CA file path is deprecated)."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    @property
    def token(self) -> str:
        # The token file is a CSV as kube-apiserver's --token-auth-file: token,user,uid,"groups"
        line = (self.data_dir / "tokens.csv").read_text().splitlines()[0]
        return line.split(",")[0]

    def start(self, timeout: float = 30.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [conductor_binary(), "apiserver", "--data-dir", str(self.data_dir), "--port", str(self.port),
             "--bind", "127.0.0.1"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"apiserver exited with {self.process.returncode}: {self.log_path.read_text()}")
            try:
                if self.ca_file.exists():
                    r = httpx.get(f"{self.url}/readyz", verify=self.tls(), timeout=1.0)
                    if r.status_code == 200:
                        return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"apiserver not ready within {timeout}s: {self.log_path.read_text()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill9(self) -> None:
        self.stop(signal.SIGKILL)

    def client(self, http2: bool = True, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, verify=self.tls(), http2=http2,
                            headers={"Authorization": f"Bearer {self.token}"}, timeout=30.0, **kwargs)

    def kubectl(self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60.0):
        return subprocess.run(["kubectl", "--kubeconfig", str(self.kubeconfig), *args], input=input,
                              capture_output=True, text=True, check=check, timeout=timeout)


@pytest.fixture(scope="module")
def apiserver(tmp_path_factory):
    server = APIServer(tmp_path_factory.mktemp("apiserver"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fresh_apiserver(tmp_path):
    server = APIServer(tmp_path / "apiserver")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def client(apiserver):
    with apiserver.client() as c:
        yield c


def create_namespace(client: httpx.Client, name: str) -> dict:
    """Creates a namespace (it must be new) and answers it."""
    r = client.post("/api/v1/namespaces", json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    assert r.status_code == 201, r.text
    return r.json()


def apply_crds(client: httpx.Client, docs, served: tuple[str, ...] = ("/apis/mcp.io/v1",)) -> None:
    """Creates CRDs (an existing one is fine), and waits until each of `served` answers."""
    for doc in docs:
        if not doc:
            continue
        r = client.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=doc)
        assert r.status_code in (201, 409), r.text
    deadline = time.monotonic() + 15
    while not all(client.get(path).status_code == 200 for path in served):
        assert time.monotonic() < deadline, f"{served} not served after creating the CRDs"
        time.sleep(0.05)


def apply_seed_crds(client: httpx.Client) -> None:
    """Creates the CRDs the reference server was recorded with, and waits until they are served."""
    import yaml
    apply_crds(client, yaml.safe_load_all((REFERENCE / "seed-crds.yaml").read_text()))


def apply_project_crds(client: httpx.Client) -> None:
    """Creates the project's CRDs (deploy/crds), and waits until tasks and agents are served."""
    import yaml
    apply_crds(client, [yaml.safe_load(path.read_text()) for path in sorted(PROJECT_CRDS.glob("*.yaml"))],
               served=("/apis/mcp.io/v1", "/apis/mcp.io/v1/tasks", "/apis/mcp.io/v1/agents"))


class DevProcess:
    """`conductor dev` as a process, from the repository's root as `make dev` runs it (so --crds is deploy/crds),
    on free ports: the API server, the operations endpoints and the MCP front end (never the shared defaults, so
    that tests can run side by side). Ready once /readyz answers, the CRDs and mcp-system are served and the MCP
    front end listens. `extra_args` are more flags of `conductor dev`."""

    def __init__(self, data_dir: pathlib.Path, extra_args: list[str] | tuple[str, ...] = (), env: dict[str, str] | None = None):
        self.data_dir = data_dir
        self.env = env
        self.port = free_port()
        self.health_port = free_port()
        self.mcp_port = free_port()
        self.extra_args = list(extra_args)
        self.log_path = data_dir / "dev.log"
        self.process: subprocess.Popen | None = None

    @property
    def kubeconfig(self) -> pathlib.Path:
        return self.data_dir / "kubeconfig"

    @property
    def url(self) -> str:
        """The MCP front end's URL."""
        return f"http://127.0.0.1:{self.mcp_port}/mcp"

    def start(self, timeout: float = 60.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [conductor_binary(), "dev", "--data-dir", str(self.data_dir), "--port", str(self.port),
             "--health-port", str(self.health_port), "--mcp-port", str(self.mcp_port), "--log-format", "json",
             *self.extra_args],
            cwd=ROOT, stdout=open(self.log_path, "ab"), stderr=subprocess.STDOUT, start_new_session=True, env=self.env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_path.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{self.health_port}/readyz", timeout=1.0).status_code == 200 and \
                        httpx.get(self.url, timeout=1.0).status_code in (400, 406) and \
                        self.kubectl("get", "crd", "tasks.mcp.io", check=False).returncode == 0 and \
                        self.kubectl("get", "namespace", "mcp-system", check=False).returncode == 0:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"conductor dev not ready within {timeout}s: {self.log_path.read_text()}")

    def stop(self) -> int | None:
        """SIGTERM, and its exit status; one that does not exit within 15 s is killed (its status is then not 0)."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                return None
        return self.process.returncode if self.process else 0

    def kubectl(self, *args: str, input: str | None = None, check: bool = True):
        return subprocess.run(["kubectl", "--kubeconfig", str(self.kubeconfig), *args], input=input, capture_output=True,
                              text=True, check=check, timeout=60)

    def metrics(self) -> str:
        return httpx.get(f"http://127.0.0.1:{self.health_port}/metrics", timeout=5.0).text

    def samples(self) -> dict[str, float]:
        """The metrics' samples by series (name and labels as Prometheus prints them)."""
        return {series: float(value) for series, value in
                (line.rsplit(" ", 1) for line in self.metrics().splitlines() if line and not line.startswith("#"))}

    def api(self) -> httpx.Client:
        """An admin client of the API server."""
        token = (self.data_dir / "tokens.csv").read_text().splitlines()[0].split(",")[0]
        tls = ssl.create_default_context(cafile=str(self.data_dir / "pki" / "ca.crt"))
        return httpx.Client(base_url=f"https://127.0.0.1:{self.port}", verify=tls,
                            headers={"Authorization": f"Bearer {token}"}, timeout=30.0)


def running_cleanly(process: DevProcess):
    """The body of a module's `dev` fixture: the `conductor dev` started, handed to the tests, and stopped at the
    end, which must exit 0 (the log's tail otherwise)."""
    process.start()
    yield process
    assert process.stop() == 0, process.log_path.read_text()[-4000:]


@pytest.fixture
def api(dev):
    """An HTTP client of the local API server of the module's `dev` fixture (each module defines its own)."""
    with dev.api() as client:
        yield client
