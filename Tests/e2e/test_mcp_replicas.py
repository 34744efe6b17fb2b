"""The MCP front end on two `conductor run` replicas of one `conductor apiserver`, sharing a session key: any
replica serves any session (a round-robin proxy alternates them request by request under the official SDK),
and a replica killed with -9 while a call waits loses nothing: the client's retry with the same idempotency
key, through the other replica, gets the result of the one run."""
import itertools
import pathlib
import signal
import subprocess
import threading
import time

import anyio
import httpx
import pytest
import uvicorn
from mcp import Client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from conftest import ROOT, apply_project_crds, conductor_binary, free_port
from mcp_agent import SimAgent
from test_mcp import INPUT_SCHEMA, echo_capability, unique, wait_until


class Replica:
    def __init__(self, apiserver, data_dir: pathlib.Path, identity: str, key_file: pathlib.Path):
        self.identity = identity
        self.health_port = free_port()
        self.mcp_port = free_port()
        self.log_path = data_dir / f"{identity}.log"
        self.args = [conductor_binary(), "run", "--kubeconfig", str(apiserver.kubeconfig), "--health-bind", "127.0.0.1",
                     "--health-port", str(self.health_port), "--log-format", "json",
                     "--leader-elect", "--leader-election-identity", identity,
                     "--leader-election-lease-duration", "3", "--leader-election-renew-deadline", "2",
                     "--leader-election-retry-period", "0.5",
                     "--mcp-port", str(self.mcp_port), "--mcp-bind", "127.0.0.1", "--mcp-auth", "none",
                     "--mcp-session-key-file", str(key_file), "--task-namespace", "default"]
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.mcp_port}/mcp"

    def start(self) -> "Replica":
        self.process = subprocess.Popen(self.args, cwd=ROOT, stdout=open(self.log_path, "ab"), stderr=subprocess.STDOUT,
                                        start_new_session=True)

        def ready():
            assert self.process.poll() is None, self.log_path.read_text()
            try:
                return httpx.get(f"http://127.0.0.1:{self.health_port}/readyz", timeout=1.0).status_code == 200 and \
                    httpx.get(self.url, timeout=1.0).status_code in (400, 401, 406)
            except httpx.HTTPError:
                return False
        wait_until(ready, timeout=60, what=f"{self.identity} ready")
        return self

    def kill9(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError(f"{self.identity} did not stop within 15 s of SIGTERM")


class RoundRobinProxy:
    """One address in front of the replicas, taking them in turn for each request (no stickiness)."""

    def __init__(self, backends: list[str]):
        self.port = free_port()
        self.served: list[str] = []
        self.calls: list[str] = []
        turn = itertools.cycle(backends)

        async def forward(request: Request):
            client = httpx.AsyncClient(timeout=None)
            headers = [(k, v) for k, v in request.headers.items() if k.lower() not in ("host", "content-length")]
            body = await request.body()
            # As a load balancer whose health checks caught up: a backend that refuses connections is skipped.
            for _ in range(len(backends)):
                backend = next(turn)
                try:
                    upstream = await client.send(client.build_request(request.method, backend, headers=headers, content=body),
                                                 stream=True)
                    break
                except httpx.ConnectError:
                    continue
            else:
                await client.aclose()
                return StreamingResponse(iter([b"no backend"]), status_code=502)
            self.served.append(backend)
            if b'"tools/call"' in body:
                self.calls.append(backend)

            async def body():
                try:
                    async for chunk in upstream.aiter_raw():
                        yield chunk
                finally:
                    await upstream.aclose()
                    await client.aclose()
            kept = {k: v for k, v in upstream.headers.items() if k.lower() not in ("content-length", "transfer-encoding", "connection")}
            return StreamingResponse(body(), status_code=upstream.status_code, headers=kept)

        app = Starlette(routes=[Route("/mcp", forward, methods=["GET", "POST", "DELETE"])])
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    timeout_graceful_shutdown=1))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def __enter__(self):
        self.thread.start()
        wait_until(lambda: self.server.started, what="the proxy listening")
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def replicas(fresh_apiserver, tmp_path):
    with fresh_apiserver.client() as client:
        apply_project_crds(client)
        client.post("/api/v1/namespaces", json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mcp-system"}})
    key = tmp_path / "session.key"
    key.write_text("ab" * 32 + "\n")
    started = [Replica(fresh_apiserver, tmp_path, name, key).start() for name in ("replica-a", "replica-b")]
    yield started
    for replica in started:
        replica.stop()


@pytest.fixture
def agent(fresh_apiserver, replicas):
    with fresh_apiserver.client() as client:
        simulated = SimAgent(client, "agent-1", [echo_capability("echo", output_schema=False)]).start()
        yield simulated
        simulated.stop()


async def _has_tool(session: Client, name: str) -> bool:
    return name in {tool.name for tool in (await session.list_tools()).tools}


def test_two_replicas_behind_one_address_take_turns_on_one_session(replicas, agent):
    async def main():
        with RoundRobinProxy([r.url for r in replicas]) as proxy:
            async with Client(proxy.url, mode="legacy", read_timeout_seconds=60) as session:
                with anyio.fail_after(30):
                    while not await _has_tool(session, "echo"):
                        await anyio.sleep(0.1)
                for n in range(6):
                    result = await session.call_tool("echo", {"text": f"turn {n}"})
                    assert not result.is_error and result.structured_content.get("echo") == f"turn {n}", \
                        (result, [r.log_path.read_text()[-3000:] for r in replicas])
            # Every replica served requests of the one session, initialize excepted.
            assert {r.url for r in replicas} <= set(proxy.served[1:]), proxy.served

    anyio.run(main)


def test_a_replica_killed_while_a_call_waits_loses_nothing_the_retry_gets_the_one_result(replicas, agent):
    first, second = replicas
    key = unique("retry")
    outcome: dict = {}

    async def doomed_call():
        try:
            async with Client(first.url, mode="legacy", read_timeout_seconds=60) as session:
                with anyio.fail_after(30):
                    while not await _has_tool(session, "echo"):
                        await anyio.sleep(0.1)
                outcome["result"] = await session.call_tool("echo", {"text": "survives", "steps": 1, "stepSeconds": 3},
                                                            meta={"mcp.io/idempotencyKey": key})
        except BaseException as error:  # the connection dies with the replica
            outcome["error"] = error

    thread = threading.Thread(target=lambda: anyio.run(doomed_call), daemon=True)
    thread.start()
    wait_until(lambda: any(agent.executions.values()), what="the call's task running on the agent")
    first.kill9()
    thread.join(timeout=60)
    assert "result" not in outcome, "the killed replica answered"

    async def retry():
        async with Client(second.url, mode="legacy", read_timeout_seconds=60) as session:
            with anyio.fail_after(30):
                while not await _has_tool(session, "echo"):
                    await anyio.sleep(0.1)
            return await session.call_tool("echo", {"text": "survives", "steps": 1, "stepSeconds": 3},
                                           meta={"mcp.io/idempotencyKey": key})

    result = anyio.run(retry)
    assert not result.is_error and result.structured_content.get("echo") == "survives", (result, second.log_path.read_text()[-3000:])
    assert list(agent.executions.values()) == [1], agent.executions


def test_a_call_whose_replica_dies_resumes_on_the_other_through_the_sdks_reconnection(replicas, agent):
    """The SDK reconnects a broken call stream with GET and Last-Event-ID; the stream id names the call's task,
    so the other replica waits for it and answers the call: no retry, the work run once."""
    by_url = {replica.url: replica for replica in replicas}
    killed: list[Replica] = []
    updates: list[str] = []

    async def main():
        with RoundRobinProxy(list(by_url)) as proxy:
            async with Client(proxy.url, mode="legacy", read_timeout_seconds=60) as session:
                with anyio.fail_after(30):
                    while not await _has_tool(session, "echo"):
                        await anyio.sleep(0.1)

                async def on_progress(progress, total, message):
                    updates.append(message or "")
                    if not killed and (message or "").startswith("Running"):
                        victim = by_url[proxy.calls[-1]]
                        victim.kill9()
                        killed.append(victim)

                return await session.call_tool("echo", {"text": "resumed", "steps": 2, "stepSeconds": 1.5},
                                               progress_callback=on_progress)

    result = anyio.run(main)
    assert killed, updates
    assert not result.is_error and result.structured_content["echo"] == "resumed", result
    assert list(agent.executions.values()) == [1], agent.executions
    survivor = next(r for r in replicas if r is not killed[0])
    assert "call resumed" in survivor.log_path.read_text()
