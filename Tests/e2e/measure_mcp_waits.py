"""Measures what a waiting MCP call costs the front end: N tasks are created first (the controller mirrors them
either way), the replica's RSS is read; then N conductor_wait calls park on them over N connections, and RSS
is read again. (B - A) / N is the memory of one waiting call: its HTTP connection, the wait's registrations
(its limit, its cancellation, the shutdown) and its callback on the task actor. No task is ever assigned (no
agent), so every call waits.
With --idle the N connections are opened and send nothing: what a connection alone costs, the floor under a
waiting call.
With --as-tasks the N calls are made as MCP tasks (2025-11-25): each answers its handle at once and holds no
connection while its Task waits. Each such call creates its Task, so the figure is set beside what N more Tasks
made straight through the API cost the same replica: the difference is what a handle costs beyond its Task.

With --rate R the waiting calls arrive R a second (open loop) rather than all at once: a burst of N requests
routed at once leaves the allocator's high-water mark of their transient memory resident after it is freed,
which calls spread over time do not.

With --stream each waiting call carries a progress token and is answered over SSE (as 2026-07-28 tool calls are).

With --malloc-stats the replica's heap is read as well, through glibc's malloc_stats() (gdb attaches to the replica):
the bytes in use per call are what the calls hold; the bytes the arenas took from the system include what the
allocator keeps free after a burst.

With --limit S each call waits at most S seconds (600 otherwise), and once every call has been answered at its limit
the same calls are made a second time: the allocator keeps freed memory resident, so RSS after the first round
does not fall, but a second round that finds its memory free costs little, where one that leaked costs as much again.

With --settle S the RSS is read again S seconds later: what the allocator gave back by then (jemalloc's decay, the
replica's heap trim every 30 s).

    python3 Tests/e2e/measure_mcp_waits.py --calls 10000 [--idle | --as-tasks | [--rate 200] [--stream] [--limit 90]] [--malloc-stats] [--settle 40]
"""
import argparse
import asyncio
import pathlib
import re
import socket
import subprocess
import sys
import tempfile
import time

import httpx

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from conftest import APIServer, apply_project_crds  # noqa: E402
from mcp_agent import micro_time  # noqa: E402
from test_mcp_replicas import Replica  # noqa: E402

HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def rss_kib(pid: int) -> int:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


CAPABILITY = "measured-tool"


async def create_tasks(server: APIServer, count: int, prefix: str = "wait-",
                       capability: str = "nobody-offers-this") -> list[str]:
    names = [f"{prefix}{n}" for n in range(count)]
    async with httpx.AsyncClient(base_url=server.url, verify=server.tls(), http2=True,
                                 headers={"Authorization": f"Bearer {server.token}"}, timeout=60) as api:
        for start in range(0, count, 200):
            batch = names[start:start + 200]
            answers = await asyncio.gather(*(api.post("/apis/mcp.io/v1/namespaces/default/tasks", json={
                "apiVersion": "mcp.io/v1", "kind": "Task", "metadata": {"name": name},
                "spec": {"requiredCapabilities": [capability], "payload": {}}}) for name in batch))
            assert all(a.status_code == 201 for a in answers), answers[0].text
    return names


async def park_calls(url: str, session: str, names: list[str], rate: float | None, stream: bool,
                     limit: float) -> list[asyncio.Task]:
    """Sends a conductor_wait call per name, each on its own connection: all at once, or `rate` a second (open loop:
    a call is sent at its time whatever the replica has done with the ones before). With `stream` each carries a
    progress token, so that it is answered over SSE with its progress."""
    limits = httpx.Limits(max_connections=len(names) + 10, max_keepalive_connections=0)
    client = httpx.AsyncClient(timeout=None, limits=limits)
    headers = {**HEADERS, "MCP-Session-Id": session, "MCP-Protocol-Version": "2025-11-25"}

    async def call(n, name):
        params = {"name": "conductor_wait", "arguments": {"name": name, "timeoutSeconds": limit}}
        if stream:
            params["_meta"] = {"progressToken": n}
        return await client.post(url, headers=headers, json={"jsonrpc": "2.0", "id": n, "method": "tools/call", "params": params})
    if rate is None:
        return [asyncio.create_task(call(n, name)) for n, name in enumerate(names)]
    calls, started = [], time.monotonic()
    for n, name in enumerate(names):
        await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
        calls.append(asyncio.create_task(call(n, name)))
    return calls


def register_agent(server: APIServer) -> None:
    """An Agent offering CAPABILITY with a Lease that stays fresh for the run: its tool is in the catalog, and
    nothing ever runs its tasks."""
    now = micro_time()
    with server.client() as client:
        r = client.post("/apis/mcp.io/v1/namespaces/mcp-system/agents", json={
            "apiVersion": "mcp.io/v1", "kind": "Agent", "metadata": {"name": "measured", "labels": {"mcp.io/agent": "measured"}},
            "spec": {"capabilities": [CAPABILITY], "maxConcurrentTasks": 1}})
        assert r.status_code == 201, r.text
        r = client.post("/apis/coordination.k8s.io/v1/namespaces/mcp-system/leases", json={
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "measured", "labels": {"mcp.io/agent": "measured"}},
            "spec": {"holderIdentity": "measured", "leaseDurationSeconds": 86400, "acquireTime": now, "renewTime": now}})
        assert r.status_code == 201, r.text


async def call_as_tasks(url: str, session: str, count: int) -> None:
    """N calls of CAPABILITY's tool as MCP tasks, 200 at a time; each must answer its handle, working."""
    headers = {**HEADERS, "MCP-Session-Id": session, "MCP-Protocol-Version": "2025-11-25"}
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=50)) as client:
        for start in range(0, count, 200):
            answers = await asyncio.gather(*(client.post(url, headers=headers, json={
                "jsonrpc": "2.0", "id": n, "method": "tools/call",
                "params": {"name": CAPABILITY, "arguments": {}, "task": {"ttl": 60000}}})
                for n in range(start, min(start + 200, count))))
            for answer in answers:
                assert answer.json()["result"]["task"]["status"] == "working", answer.text


def heap_bytes(pid: int, log: pathlib.Path) -> tuple[int, int]:
    """(taken from the system, in use) over all of the process's arenas: glibc's malloc_stats(), called through gdb,
    prints them to the process's stderr, here its log."""
    subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex", "call (void)malloc_stats()"], capture_output=True, check=True, timeout=120)
    totals = re.findall(r"Total \(incl\. mmap\):\s*system bytes\s*=\s*(\d+)\s*in use bytes\s*=\s*(\d+)", log.read_text())
    assert totals, f"no malloc_stats() in {log}"
    system, in_use = totals[-1]
    return int(system), int(in_use)


async def settled_rss(pid: int) -> int:
    """The process's RSS once it stops growing (under 256 KiB in a second, five seconds running)."""
    previous, steady = 0, 0
    while steady < 5:
        await asyncio.sleep(1)
        now = rss_kib(pid)
        steady = steady + 1 if now - previous < 256 else 0
        previous = now
    return rss_kib(pid)


async def main(calls: int, mode: str, rate: float | None, stream: bool, limit: float | None, rounds: int,
               malloc_stats: bool, settle: float | None) -> None:
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
            replica.args += ["--mcp-max-call-wait", "600", "--mcp-max-calls-per-caller", str(calls + 10),
                             "--mcp-max-tasks-per-caller", str(calls + 10)]
            if mode == "tasks":
                register_agent(server)
            replica.start()
            names = await create_tasks(server, calls, capability=CAPABILITY if mode == "tasks" else "nobody-offers-this")
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
            heap_before = heap_bytes(replica.process.pid, replica.log_path) if malloc_stats else None
            started = time.monotonic()
            if mode == "tasks":
                # The N Tasks made first warmed the replica's tables; N more through the API give a Task's own cost.
                await create_tasks(server, calls, prefix="api-", capability=CAPABILITY)
                through_api = await settled_rss(replica.process.pid)
                await call_as_tasks(replica.url, session, calls)
                after = await settled_rss(replica.process.pid)
                mirrored, handled = (through_api - before) / calls, (after - through_api) / calls
                print(f"{calls} calls made as tasks in {time.monotonic() - started:.1f} s")
                print(f"replica RSS: {before / 1024:.1f} MiB with {calls} Tasks mirrored, {through_api / 1024:.1f} MiB with "
                      f"{calls} more made through the API, {after / 1024:.1f} MiB with {calls} more made as MCP tasks")
                print(f"per Task made through the API: {mirrored:.2f} KiB; per call made as a task: {handled:.2f} KiB; "
                      f"the handle beyond its Task: {handled - mirrored:.2f} KiB")
                return
            if mode == "idle":
                connections = [socket.create_connection(("127.0.0.1", replica.mcp_port)) for _ in names]
                pending = []
            else:
                pending = await park_calls(replica.url, session, names, rate, stream, limit or 600)
            # Parked when the replica's connections are open and its memory stops growing.
            after = await settled_rss(replica.process.pid)
            done = sum(task.done() for task in pending)
            idle = mode == "idle"
            unit = "idle connection" if idle else "waiting call"
            what = "idle connections" if idle else "calls waiting over SSE" if stream else "calls waiting"
            arrival = f", sent {rate:g} a second" if rate and not idle else ", sent at once" if not idle else ""
            print(f"{calls} {what} in {time.monotonic() - started:.1f} s{arrival} ({done} answered early: should be 0)")
            print(f"replica RSS: {before / 1024:.1f} MiB with the tasks mirrored, {after / 1024:.1f} MiB with {calls} {what}")
            print(f"per {unit}: {(after - before) * 1024 / calls / 1024:.1f} KiB")
            if settle:
                await asyncio.sleep(settle)
                later = rss_kib(replica.process.pid)
                print(f"{settle:g} s later: {later / 1024:.1f} MiB, {(later - before) / calls:.1f} KiB per {unit}")
            if heap_before:
                system, in_use = heap_bytes(replica.process.pid, replica.log_path)
                print(f"heap per {unit}: {(in_use - heap_before[1]) / calls / 1024:.1f} KiB in use, "
                      f"{(system - heap_before[0]) / calls / 1024:.1f} KiB taken from the system")
            if idle:
                for connection in connections:
                    connection.close()
            if limit and pending:
                answers = await asyncio.gather(*pending)
                assert all(a.status_code == 200 for a in answers), answers[0].text
                for round in range(2, rounds + 1):
                    ended = await settled_rss(replica.process.pid)
                    pending = await park_calls(replica.url, session, names, rate, stream, limit)
                    again = await settled_rss(replica.process.pid)
                    answers = await asyncio.gather(*pending)
                    assert all(a.status_code == 200 for a in answers), answers[0].text
                    print(f"round {round}: replica RSS once every call of the round before was answered at its {limit:g} s "
                          f"limit: {ended / 1024:.1f} MiB; with the same calls waiting again: {again / 1024:.1f} MiB "
                          f"({(again - ended) * 1024 / calls / 1024:.1f} KiB per call more)")
            for task in pending:
                task.cancel()
        finally:
            if replica:
                replica.kill9()
            server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument("--idle", action="store_true", help="open the connections and send nothing")
    modes.add_argument("--as-tasks", action="store_true", help="make the calls as MCP tasks, which hold no connection")
    parser.add_argument("--rate", type=float, help="send the waiting calls this many a second rather than all at once")
    parser.add_argument("--stream", action="store_true", help="give each waiting call a progress token (answered over SSE)")
    parser.add_argument("--limit", type=float, help="each call waits at most this many seconds; then the calls are made again")
    parser.add_argument("--rounds", type=int, default=2, help="with --limit: how many times the calls are made")
    parser.add_argument("--malloc-stats", action="store_true", help="also read the replica's heap through gdb (malloc_stats)")
    parser.add_argument("--settle", type=float, help="read the RSS again this many seconds later (what the allocator "
                                                     "gave back after the burst: its decay, the replica's heap trim)")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.calls, "idle" if arguments.idle else "tasks" if arguments.as_tasks else "calls", arguments.rate,
                     arguments.stream, arguments.limit, arguments.rounds, arguments.malloc_stats, arguments.settle))
