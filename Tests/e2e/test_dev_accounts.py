"""`conductor dev` runs each part under its own service account, bound to the roles of deploy/rbac by the local
server's RBAC, so that every run proves those roles are enough: the controller and the MCP front end as
mcp-controller, the example agents (make dev) as mcp-agent. Judged with kubectl and the official MCP SDK."""
import asyncio
import json
import subprocess

import httpx
import pytest
from mcp import Client

from conftest import ROOT, DevProcess, conductor_binary, free_port, wait_for


@pytest.fixture
def dev(tmp_path):
    process = DevProcess(tmp_path / "dev")
    process.start()
    yield process
    process.stop()


@pytest.fixture
def echo_agent(dev, tmp_path):
    """examples/agents/echo.yaml, as make dev runs it: with the agents' kubeconfig that conductor dev writes."""
    health = free_port()
    process = subprocess.Popen(
        [conductor_binary(), "agent", "--config", "examples/agents/echo.yaml", "--kubeconfig", str(dev.data_dir / "agent-kubeconfig"),
         "--health-bind", "127.0.0.1", "--health-port", str(health)],
        cwd=ROOT, stdout=open(tmp_path / "agent.log", "ab"), stderr=subprocess.STDOUT, start_new_session=True)

    def ready():
        assert process.poll() is None, (tmp_path / "agent.log").read_text()
        phase = dev.kubectl("get", "agent", "echo-dev", "-n", "mcp-system", "-o", "jsonpath={.status.phase}", check=False).stdout
        return phase == "Ready"
    wait_for(ready, 30, "the echo agent is Ready")
    yield process
    process.terminate()
    process.wait(timeout=30)


def whoami(dev, *args: str) -> str:
    out = dev.kubectl("auth", "whoami", "-o", "json", *args).stdout
    return json.loads(out)["status"]["userInfo"]["username"]


def test_each_part_runs_under_its_own_account(dev, echo_agent):
    token = (dev.data_dir / "accounts" / "mcp-controller.token").read_text().strip()
    assert whoami(dev, "--token", token) == "system:serviceaccount:mcp-system:mcp-controller"
    assert whoami(dev, "--kubeconfig", str(dev.data_dir / "agent-kubeconfig")) == "system:serviceaccount:mcp-system:mcp-agent"
    # The agent's account may not write a task's spec, nor see tasks outside the namespace its binding covers.
    agent = ["--kubeconfig", str(dev.data_dir / "agent-kubeconfig")]
    assert dev.kubectl("auth", "can-i", "update", "tasks.mcp.io", "-n", "default", *agent, check=False).stdout.strip() == "no"
    assert dev.kubectl("auth", "can-i", "list", "tasks.mcp.io", "-n", "kube-system", *agent, check=False).stdout.strip() == "no"

    async def call():
        async with Client(dev.url, mode="legacy") as client:
            return await client.call_tool("echo", {"message": "as accounts"})
    result = asyncio.run(call())
    # A tool call through the front end (as mcp-controller), run by the agent (as mcp-agent).
    assert not result.is_error and result.structured_content["echo"] == "as accounts", result


def test_the_controller_acts_only_through_its_binding(dev, echo_agent):
    binding = dev.kubectl("get", "clusterrolebinding", "mcp-conductor-controller", "-o", "json").stdout
    dev.kubectl("delete", "clusterrolebinding", "mcp-conductor-controller")
    dev.kubectl("create", "-f", "-", input=json.dumps({
        "apiVersion": "mcp.io/v1", "kind": "Task", "metadata": {"name": "needs-binding", "namespace": "default"},
        "spec": {"requiredCapabilities": ["echo"], "payload": {"message": "hi"}}}))

    def refused():
        metrics = httpx.get(f"http://127.0.0.1:{dev.health_port}/metrics", timeout=5.0).text
        return [line for line in metrics.splitlines() if line.startswith("rest_client_requests_total") and 'code="403"' in line]
    wait_for(refused, 30, "the controller's writes are refused without its binding")
    assert dev.kubectl("get", "task", "needs-binding", "-o", "jsonpath={.status.phase}").stdout in ("", "Pending")

    restored = json.loads(binding)
    for field in ("resourceVersion", "uid", "creationTimestamp", "managedFields"):
        restored["metadata"].pop(field, None)
    dev.kubectl("create", "-f", "-", input=json.dumps(restored))
    wait_for(lambda: dev.kubectl("get", "task", "needs-binding", "-o", "jsonpath={.status.phase}").stdout == "Completed",
             60, "the task runs once the binding is back")
