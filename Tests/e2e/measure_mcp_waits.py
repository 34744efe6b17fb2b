"""Measures what a waiting MCP call costs the front end: N tasks are created first (the controller mirrors them
either way), the replica's RSS is read; then N conductor_wait calls park on them over N connections, and RSS
is read again. (B - A) / N is the memory of one waiting call: its HTTP connection and request, the wait's
task group, its continuation on the task actor. No task is ever assigned (no agent), so every call waits.
With --idle the N connections are opened and send nothing: what a connection alone costs, the floor under a
waiting call.

    python3 Tests/e2e/measure_mcp_waits.py --calls 10000 [--idle]
"""
import argparse
import asyncio
import pathlib
import socket
import sys
import tempfile
import time

import httpx

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from conftest import APIServer, apply_project_crds  # noqa: E402
from test_mcp_replicas import Replica  # noqa: E402

HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def rss_kib(pid: int) -> int:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def create_tasks(server: APIServer, count: int) -> list[str]:
    names = [f"wait-{n}" for n in range(count)]
    async with httpx.AsyncClient(base_url=server.url, verify=server.tls(), http2=True,
                                 headers={"Authorization": f"Bearer {server.token}"}, timeout=60) as api:
        for start in range(0, count, 200):
            batch = names[start:start + 200]
            answers = await asyncio.gather(*(api.post("/apis/mcp.io/v1/namespaces/default/tasks", json={
                "apiVersion": "mcp.io/v1", "kind": "Task", "metadata": {"name": name},
                "spec": {"requiredCapabilities": ["nobody-offers-this"], "payload": {}}}) for name in batch))
            assert all(a.status_code == 201 for a in answers), answers[0].text
    return names


async def park_calls(url: str, session: str, names: list[str]) -> list[asyncio.Task]:
    limits = httpx.Limits(max_connections=len(names) + 10, max_keepalive_connections=0)
    client = httpx.AsyncClient(timeout=None, limits=limits)
    headers = {**HEADERS, "MCP-Session-Id": session, "MCP-Protocol-Version": "2025-11-25"}

    async def call(n, name):
        return await client.post(url, headers=headers, json={
            "jsonrpc": "2.0", "id": n, "method": "tools/call",
            "params": {"name": "conductor_wait", "arguments": {"name": name, "timeoutSeconds": 600}}})
    return [asyncio.create_task(call(n, name)) for n, name in enumerate(names)]


async def main(calls: int, idle: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = pathlib.Path(folder)
        server = APIServer(root / "apiserver")
        server.start()
        replica = None
        try:
            with server.client() as client:
                apply_project_crds(client)
                client.post("/api/v1/namespaces", json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mcp-system"}})
            key = root / "key"
            key.write_text("cd" * 32)
            replica = Replica(server, root, "measured", key)
            replica.args += ["--mcp-max-call-wait", "600", "--mcp-max-calls-per-caller", str(calls + 10)]
            replica.start()
            names = await create_tasks(server, calls)
            with httpx.Client(timeout=30) as http:
                r = http.post(replica.url, headers=HEADERS, json={"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "measure", "version": "1"}}})
                session = r.headers["mcp-session-id"]
                # Settle: the informer has every task, one call warmed the code paths.
                deadline = time.monotonic() + 120
                while True:
                    listed = http.post(replica.url, headers={**HEADERS, "MCP-Session-Id": session}, json={
                        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
                        "params": {"name": "conductor_list_tasks", "arguments": {"limit": 500, "cursor": f"wait-{calls - 2}"}}})
                    if listed.json()["result"]["structuredContent"]["tasks"]:
                        break
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.2)
            await asyncio.sleep(2)
            before = rss_kib(replica.process.pid)
            started = time.monotonic()
            if idle:
                connections = [socket.create_connection(("127.0.0.1", replica.mcp_port)) for _ in names]
                pending = []
            else:
                pending = await park_calls(replica.url, session, names)
            # Parked when the replica's connections are open and its memory stops growing.
            previous, steady = 0, 0
            while steady < 5:
                await asyncio.sleep(1)
                now = rss_kib(replica.process.pid)
                steady = steady + 1 if now - previous < 256 else 0
                previous = now
            after = rss_kib(replica.process.pid)
            done = sum(task.done() for task in pending)
            what = "idle connections" if idle else "calls waiting"
            print(f"{calls} {what} in {time.monotonic() - started:.1f} s ({done} answered early: should be 0)")
            print(f"replica RSS: {before / 1024:.1f} MiB with the tasks mirrored, {after / 1024:.1f} MiB with {calls} {what}")
            print(f"per {'idle connection' if idle else 'waiting call'}: {(after - before) * 1024 / calls / 1024:.1f} KiB")
            if idle:
                for connection in connections:
                    connection.close()
            for task in pending:
                task.cancel()
        finally:
            if replica:
                replica.kill9()
            server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--idle", action="store_true", help="open the connections and send nothing")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.calls, arguments.idle))
