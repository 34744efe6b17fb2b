"""`conductor dev` as a user meets it: one process with the API server, the CRDs, the mcp-system namespace and
the controller. Agents are the load test's simulated ones (`loadtest dispatch`); kubectl, which no one here
wrote, checks what they left behind."""
import json
import pathlib
import signal
import subprocess
import time

import httpx
import pytest

from conftest import ROOT, conductor_binary, free_port


class Dev:
    def __init__(self, data_dir: pathlib.Path):
        self.data_dir = data_dir
        self.port = free_port()
        self.health_port = free_port()
        self.log_path = data_dir / "dev.log"
        self.process: subprocess.Popen | None = None

    @property
    def kubeconfig(self) -> pathlib.Path:
        return self.data_dir / "kubeconfig"

    def start(self, timeout: float = 60.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        # From the repository's root, as `make dev` runs it: --crds defaults to deploy/crds.
        self.process = subprocess.Popen(
            [conductor_binary(), "dev", "--data-dir", str(self.data_dir), "--port", str(self.port),
             "--health-port", str(self.health_port), "--log-format", "json",
             # The MCP front end must not take the shared default port (8080): tests may run side by side.
             "--mcp-port", str(free_port())],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_path.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{self.health_port}/readyz", timeout=1.0).status_code == 200 and \
                        self.kubectl("get", "crd", "tasks.mcp.io", check=False).returncode == 0 and \
                        self.kubectl("get", "namespace", "mcp-system", check=False).returncode == 0:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"conductor dev not ready within {timeout}s: {self.log_path.read_text()}")

    def stop(self) -> int:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError("conductor dev did not stop within 15 s of SIGTERM")
        return self.process.returncode if self.process else 0

    def kubectl(self, *args: str, check: bool = True):
        return subprocess.run(["kubectl", "--kubeconfig", str(self.kubeconfig), *args], capture_output=True, text=True,
                              check=check, timeout=60)

    def metrics(self) -> str:
        return httpx.get(f"http://127.0.0.1:{self.health_port}/metrics", timeout=5.0).text


@pytest.fixture
def dev(tmp_path):
    process = Dev(tmp_path / "dev")
    process.start()
    yield process
    process.stop()


def loadtest_binary() -> str:
    return str(pathlib.Path(conductor_binary()).with_name("loadtest"))


def test_dev_dispatches_tasks_to_agents_and_kubectl_sees_them_completed(dev):
    run = subprocess.run([loadtest_binary(), "dispatch", "--kubeconfig", str(dev.kubeconfig), "--tasks", "40",
                          "--concurrency", "8", "--agents", "3", "--no-cleanup", "--json"],
                         capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["tasks"] == 40 and result["errors"] == {}, result
    assert 0 < result["assignedP50Milliseconds"] <= result["completedP99Milliseconds"], result
    assert result["rawLifecyclesPerSecond"] > 0 and result["dispatchOverRaw"] > 0, result

    tasks = json.loads(dev.kubectl("get", "tasks", "-n", "default", "-l", "loadtest.mcp.io/dispatch", "-o", "json").stdout)["items"]
    assert len(tasks) == 40
    agents_used = set()
    for task in tasks:
        status = task["status"]
        assert status["phase"] == "Completed" and status["attempt"] == 1, task["metadata"]["name"]
        assert status["result"] == {"echo": task["spec"]["payload"]}
        agents_used.add(status["assignedAgent"])
    assert len(agents_used) == 3, agents_used  # spread over every agent

    # The printer columns show the agent; the controller told operators with Events.
    table = dev.kubectl("get", "tasks", "-n", "default", "-l", "loadtest.mcp.io/dispatch").stdout
    assert "Completed" in table and any(agent in table for agent in agents_used), table
    events = json.loads(dev.kubectl("get", "events", "-n", "default", "-o", "json").stdout)["items"]
    reasons = {event["reason"] for event in events if event["involvedObject"]["kind"] == "Task"}
    assert {"Assigned", "Completed"} <= reasons, reasons
    agent_events = json.loads(dev.kubectl("get", "events", "-n", "mcp-system", "-o", "json").stdout)["items"]
    assert any(event["reason"] == "AgentReady" for event in agent_events)

    # The raw run's 40 tasks, kept by --no-cleanup, are Completed too (written by loadtest raw itself).
    samples = dict(line.rsplit(" ", 1) for line in dev.metrics().splitlines() if line and not line.startswith("#"))
    assert float(samples["conductor_assignments_total"]) == 40, samples
    assert float(samples['conductor_tasks{phase="Completed"}']) == 80, samples


def test_dev_stops_cleanly_on_sigterm(dev):
    assert dev.stop() == 0, dev.log_path.read_text()


def test_dispatch_says_clearly_when_no_controller_runs(fresh_apiserver):
    from conftest import apply_project_crds
    with fresh_apiserver.client() as client:
        apply_project_crds(client)
        client.post("/api/v1/namespaces", json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mcp-system"}})
    run = subprocess.run([loadtest_binary(), "dispatch", "--kubeconfig", str(fresh_apiserver.kubeconfig), "--tasks", "1",
                          "--no-raw", "--timeout", "2"], capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert "no controller marked the 8 agents Ready" in run.stderr, run.stderr


def test_the_deployments_arguments_are_ones_conductor_run_accepts(tmp_path):
    import yaml
    docs = [d for d in yaml.safe_load_all((ROOT / "deploy" / "controller" / "deployment.yaml").read_text()) if d]
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[0] == "run"
    args = [arg.replace("$(POD_NAME)", "mcp-conductor-controller-0") for arg in args]
    # Every flag parses; it then stops at the missing kubeconfig, not at a usage error.
    run = subprocess.run([conductor_binary(), *args, "--kubeconfig", str(tmp_path / "missing")],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode != 0
    assert "cannot read the kubeconfig" in run.stderr, run.stderr
    assert "Usage" not in run.stderr and "Error: Unknown option" not in run.stderr, run.stderr
