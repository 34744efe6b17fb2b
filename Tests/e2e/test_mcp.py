"""The MCP front end, judged by the official Python MCP SDK (PyPI `mcp`, `Client(url, mode="legacy")`) and by
raw HTTP where the SDK hides what is checked (status codes, SSE framing). Against `conductor dev` as a
process, with simulated agents (mcp_agent.SimAgent) that declare their capabilities' schemas."""
import asyncio
import http.client
import json
import os
import pathlib
import re
import signal
import socket
import subprocess
import time
import uuid

import anyio
import httpx
import pytest
from mcp import Client

from conftest import (ROOT, DevProcess, apply_project_crds, conductor_binary, free_port, run_ready, running_cleanly, server_ends,
                      wait_for)
from mcp_agent import SimAgent

MAX_CALL_WAIT = 4
# Seconds without news after which a waiting call still gets a progress notification (15 by default).
PROGRESS_INTERVAL = 1
# Calls one caller may have waiting on the replica (every test here is the same anonymous caller).
MAX_CALLS_PER_CALLER = 3
# Requests the replica works on at once (64 by default): every test here runs with this few.
MAX_REQUESTS_IN_PROGRESS = 2

INPUT_SCHEMA = {"type": "object", "required": ["text"],
                "properties": {"text": {"type": "string"}, "steps": {"type": "integer", "minimum": 0},
                               "stepSeconds": {"type": "number"}, "fail": {"type": "string"},
                               "waitForCancel": {"type": "boolean"}}}
OUTPUT_SCHEMA = {"type": "object", "required": ["echo"],
                 "properties": {"echo": {"type": "string"}, "length": {"type": "integer"}, "agent": {"type": "string"}}}


class MCPDev(DevProcess):
    """`conductor dev` with short MCP waits and intervals, so that tests of them are short."""

    def __init__(self, data_dir: pathlib.Path):
        super().__init__(data_dir, extra_args=[
            "--mcp-max-call-wait", str(MAX_CALL_WAIT), "--mcp-progress-interval", str(PROGRESS_INTERVAL),
            "--mcp-max-calls-per-caller", str(MAX_CALLS_PER_CALLER),
            "--mcp-max-requests-in-progress", str(MAX_REQUESTS_IN_PROGRESS)])


@pytest.fixture(scope="module")
def dev(tmp_path_factory):
    yield from running_cleanly(MCPDev(tmp_path_factory.mktemp("mcp") / "dev"))


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def echo_capability(name: str, output_schema: bool = True) -> dict:
    capability = {"name": name, "title": "Echo", "description": f"Echoes text ({name}).", "inputSchema": INPUT_SCHEMA}
    if output_schema:
        capability["outputSchema"] = OUTPUT_SCHEMA
    return capability


@pytest.fixture
def echo_agent(api):
    """An agent offering one echo capability with input and output schemas; its name is `agent.tool`."""
    tool = unique("echo")
    agent = SimAgent(api, unique("agent").replace("_", "-"), [echo_capability(tool)]).start()
    agent.tool = tool
    yield agent
    agent.stop()


def wait_until(condition, timeout: float = 20.0, what: str = "condition"):
    return wait_for(condition, timeout, what, interval=0.05)


async def await_until(condition, timeout: float = 20.0, what: str = "condition"):
    with anyio.fail_after(timeout):
        while True:
            value = await condition()
            if value:
                return value
            await anyio.sleep(0.05)


async def tool_names(client: Client) -> set[str]:
    return {tool.name for tool in (await client.list_tools()).tools}


def client(dev: MCPDev, **kwargs) -> Client:
    return Client(dev.url, mode="legacy", read_timeout_seconds=60, **kwargs)


# The SDK as client


def test_tools_appear_and_disappear_with_agents_and_list_changed_is_sent(dev, api):
    tool = unique("weather")
    notices: list[str] = []

    async def on_message(message):
        if getattr(message, "method", None) == "notifications/tools/list_changed":
            notices.append("list_changed")

    async def main():
        async with client(dev, message_handler=on_message) as session:
            assert session.protocol_version == "2025-11-25"
            names = await tool_names(session)
            assert tool not in names
            assert {"conductor_submit", "conductor_get", "conductor_wait", "conductor_cancel", "conductor_list_tasks",
                    "conductor_list_agents"} <= names
            agent = SimAgent(api, unique("agent").replace("_", "-"), [echo_capability(tool)]).start()
            try:
                await await_until(lambda: anyio.to_thread.run_sync(lambda: bool(notices)), what="tools/list_changed")
                listed = await await_until(
                    lambda: _find_tool(session, tool), what=f"{tool} in tools/list")
                assert listed.description == f"Echoes text ({tool})."
                assert listed.input_schema == INPUT_SCHEMA
                assert listed.output_schema == OUTPUT_SCHEMA
                seen = len(notices)
            finally:
                agent.stop()
            await await_until(lambda: anyio.to_thread.run_sync(lambda: len(notices) > seen), what="list_changed on leaving")
            assert tool not in await tool_names(session)

    anyio.run(main)


async def _find_tool(session: Client, name: str):
    for tool in (await session.list_tools()).tools:
        if tool.name == name:
            return tool
    return None


def test_a_call_returns_the_agents_result_structured_and_as_text(dev, echo_agent):
    async def main():
        async with client(dev) as session:
            await await_until(lambda: _find_tool(session, echo_agent.tool), what="the tool")
            result = await session.call_tool(echo_agent.tool, {"text": "hello"})
            assert not result.is_error, result
            assert result.structured_content == {"echo": "hello", "length": 5, "agent": echo_agent.name}
            assert json.loads(result.content[0].text) == result.structured_content

    anyio.run(main)


def test_a_failing_task_is_a_tool_error_with_its_reason_and_message(dev, echo_agent):
    async def main():
        async with client(dev) as session:
            await await_until(lambda: _find_tool(session, echo_agent.tool), what="the tool")
            result = await session.call_tool(echo_agent.tool, {"text": "x", "fail": "disk on fire"},
                                             meta={"mcp.io/retryPolicy": {"maxRetries": 0}})
            assert result.is_error
            assert "failed" in result.content[0].text and "RetriesExhausted" in result.content[0].text, result.content[0].text

    anyio.run(main)


def test_invalid_arguments_are_a_tool_error_naming_the_field(dev, echo_agent):
    async def main():
        async with client(dev) as session:
            await await_until(lambda: _find_tool(session, echo_agent.tool), what="the tool")
            wrong_type = await session.call_tool(echo_agent.tool, {"text": 5})
            assert wrong_type.is_error
            assert "`text`: expected string, got integer" in wrong_type.content[0].text, wrong_type.content[0].text
            missing = await session.call_tool(echo_agent.tool, {"steps": 1})
            assert missing.is_error and "`text` is required" in missing.content[0].text, missing.content[0].text
        assert echo_agent.executions == {}

    anyio.run(main)


def test_progress_arrives_while_the_call_waits(dev, echo_agent):
    updates: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress, total, message):
        updates.append((progress, total, message))

    async def main():
        async with client(dev) as session:
            await await_until(lambda: _find_tool(session, echo_agent.tool), what="the tool")
            result = await session.call_tool(echo_agent.tool, {"text": "slow", "steps": 3, "stepSeconds": 0.4},
                                             progress_callback=on_progress)
            assert not result.is_error and result.structured_content["echo"] == "slow"

    anyio.run(main)
    messages = [message for _, _, message in updates]
    assert any(m and m.startswith("Pending") or m and m.startswith("Assigned") or m and m.startswith("Running") for m in messages), messages
    assert any(m and "step 3 of 3" in m for m in messages), messages
    values = [progress for progress, _, _ in updates]
    assert values == sorted(values) and len(set(values)) == len(values), values
    assert (3.0, 3.0) in [(p, t) for p, t, _ in updates], updates


def test_the_same_idempotency_key_twice_runs_the_work_once(dev, api, echo_agent):
    key = unique("key")

    async def main():
        async with client(dev) as session:
            await await_until(lambda: _find_tool(session, echo_agent.tool), what="the tool")
            first = await session.call_tool(echo_agent.tool, {"text": "once"}, meta={"mcp.io/idempotencyKey": key})
        async with client(dev) as again:
            second = await again.call_tool(echo_agent.tool, {"text": "once"}, meta={"mcp.io/idempotencyKey": key})
        assert not first.is_error and first.structured_content == second.structured_content

    anyio.run(main)
    tasks = [t for t in api.get("/apis/mcp.io/v1/namespaces/default/tasks").json()["items"]
             if t["spec"].get("idempotencyKey") == key]
    assert len(tasks) == 1
    assert echo_agent.executions == {tasks[0]["metadata"]["name"]: 1}
    assert tasks[0]["metadata"]["annotations"]["mcp.io/caller"] == "system:anonymous"


def test_a_long_call_without_a_progress_token_answers_with_the_tasks_name_and_the_result_is_fetched_later(dev, api):
    tool = unique("slow")
    agent = SimAgent(api, unique("agent").replace("_", "-"), [echo_capability(tool, output_schema=False)]).start()

    async def main():
        async with client(dev) as session:
            await await_until(lambda: _find_tool(session, tool), what="the tool")
            started = time.monotonic()
            early = await session.call_tool(tool, {"text": "later", "steps": 1, "stepSeconds": MAX_CALL_WAIT + 2})
            assert MAX_CALL_WAIT - 0.5 <= time.monotonic() - started < MAX_CALL_WAIT + 2
            assert not early.is_error
            assert early.structured_content["done"] is False
            name = early.structured_content["task"]
            assert name in early.content[0].text and "conductor_wait" in early.content[0].text
            done = await session.call_tool("conductor_wait", {"name": name, "timeoutSeconds": 30})
            assert done.structured_content["done"] is True
            assert done.structured_content["result"]["echo"] == "later"

    try:
        anyio.run(main)
    finally:
        agent.stop()


def test_management_tools_submit_wait_get_list_and_cancel(dev, echo_agent):
    async def main():
        async with client(dev) as session:
            await await_until(lambda: _find_tool(session, echo_agent.tool), what="the tool")
            submitted = await session.call_tool("conductor_submit", {"capabilities": [echo_agent.tool], "payload": {"text": "m"},
                                                                     "priority": 7})
            assert not submitted.is_error, submitted.content[0].text
            name = submitted.structured_content["name"]
            waited = await session.call_tool("conductor_wait", {"name": name})
            assert waited.structured_content["done"] is True and waited.structured_content["result"]["echo"] == "m"
            got = await session.call_tool("conductor_get", {"name": name})
            assert got.structured_content["phase"] == "Completed" and got.structured_content["agent"] == echo_agent.name
            second = await session.call_tool("conductor_submit", {"capabilities": [echo_agent.tool], "payload": {"text": "n"}})
            await session.call_tool("conductor_wait", {"name": second.structured_content["name"]})

            page = await session.call_tool("conductor_list_tasks", {"capability": echo_agent.tool, "limit": 1})
            assert len(page.structured_content["tasks"]) == 1 and "nextCursor" in page.structured_content
            rest = await session.call_tool("conductor_list_tasks", {"capability": echo_agent.tool, "limit": 10,
                                                                    "cursor": page.structured_content["nextCursor"]})
            listed = page.structured_content["tasks"] + rest.structured_content["tasks"]
            assert {t["name"] for t in listed} == {name, second.structured_content["name"]}
            completed = await session.call_tool("conductor_list_tasks", {"capability": echo_agent.tool, "phase": "Pending"})
            assert completed.structured_content["tasks"] == []

            agents = await session.call_tool("conductor_list_agents", {})
            mine = [a for a in agents.structured_content["agents"] if a["name"] == echo_agent.name]
            assert mine and mine[0]["phase"] == "Ready" and mine[0]["capabilities"] == [echo_agent.tool]

            held = await session.call_tool("conductor_submit", {"capabilities": [echo_agent.tool],
                                                                "payload": {"text": "c", "waitForCancel": True}})
            held_name = held.structured_content["name"]
            await await_until(lambda: _phase(session, held_name, "Running"), what="the held task running")
            cancelled = await session.call_tool("conductor_cancel", {"name": held_name})
            assert cancelled.structured_content["cancelRequested"] is True
            ended = await session.call_tool("conductor_wait", {"name": held_name, "timeoutSeconds": 20})
            assert ended.structured_content["phase"] == "Failed" and ended.structured_content["reason"] == "Cancelled"

            missing = await session.call_tool("conductor_get", {"name": "mcp-none"})
            assert missing.is_error and "No task mcp-none" in missing.content[0].text

    anyio.run(main)
    wait_until(lambda: echo_agent.cancelled, what="the agent saw the cancellation")


async def _phase(session: Client, name: str, phase: str) -> bool:
    got = await session.call_tool("conductor_get", {"name": name})
    return got.structured_content["phase"] == phase


# Raw HTTP: what the SDK does not show

HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def initialize(http: httpx.Client, url: str, version: str = "2025-11-25") -> str:
    r = http.post(url, headers=HEADERS, json={"jsonrpc": "2.0", "id": 0, "method": "initialize",
                                              "params": {"protocolVersion": version, "capabilities": {},
                                                         "clientInfo": {"name": "raw", "version": "1"}}})
    assert r.status_code == 200, r.text
    assert r.json()["result"]["protocolVersion"] == version
    session = r.headers["mcp-session-id"]
    assert all(0x21 <= ord(c) <= 0x7E for c in session)
    r = http.post(url, headers={**HEADERS, "MCP-Session-Id": session, "MCP-Protocol-Version": version},
                  json={"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert r.status_code == 202 and r.content == b""
    return session


def session_headers(session: str) -> dict:
    return {**HEADERS, "MCP-Session-Id": session, "MCP-Protocol-Version": "2025-11-25"}


def sse_events(response: httpx.Response):
    """Yields (id, data) per event of an SSE response as it arrives."""
    event_id, data = None, []
    for line in response.iter_lines():
        if line == "":
            if event_id is not None or data:
                yield event_id, "\n".join(data)
            event_id, data = None, []
        elif line.startswith("id:"):
            event_id = line[3:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())


def test_progress_goes_on_the_calls_own_sse_stream_before_its_answer(dev, echo_agent):
    with httpx.Client(timeout=30) as http:
        session = initialize(http, dev.url)
        wait_until(lambda: echo_agent.tool in _raw_tools(http, dev.url, session), what="the tool")
        body = {"jsonrpc": "2.0", "id": "call-1", "method": "tools/call",
                "params": {"name": echo_agent.tool, "arguments": {"text": "s", "steps": 2, "stepSeconds": 0.2},
                           "_meta": {"progressToken": "p1"}}}
        with http.stream("POST", dev.url, headers=session_headers(session), json=body) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            events = list(sse_events(r))
    first_id, first_data = events[0]
    assert first_data == "" and first_id.endswith("-0"), events[0]
    stream = first_id.rsplit("-", 1)[0]
    assert all(event_id.startswith(stream + "-") for event_id, _ in events)
    messages = [json.loads(data) for _, data in events[1:]]
    progress = [m for m in messages if m.get("method") == "notifications/progress"]
    assert progress and all(m["params"]["progressToken"] == "p1" for m in progress)
    assert messages[-1]["id"] == "call-1" and messages[-1]["result"]["structuredContent"]["echo"] == "s"
    assert all("id" not in m for m in messages[:-1])


def _raw_tools(http: httpx.Client, url: str, session: str) -> set[str]:
    r = http.post(url, headers=session_headers(session), json={"jsonrpc": "2.0", "id": "l", "method": "tools/list"})
    return {t["name"] for t in r.json()["result"]["tools"]}


def test_cancelling_a_call_ends_its_stream_and_cancels_its_task(dev, api, echo_agent):
    with httpx.Client(timeout=30) as http:
        session = initialize(http, dev.url)
        wait_until(lambda: echo_agent.tool in _raw_tools(http, dev.url, session), what="the tool")
        body = {"jsonrpc": "2.0", "id": 77, "method": "tools/call",
                "params": {"name": echo_agent.tool, "arguments": {"text": "c", "waitForCancel": True},
                           "_meta": {"progressToken": 5}}}
        with http.stream("POST", dev.url, headers=session_headers(session), json=body) as r:
            events = sse_events(r)
            next(events)  # priming
            while True:
                _, data = next(events)
                if "Running" in json.loads(data)["params"].get("message", ""):
                    break
            with httpx.Client(timeout=30) as other:
                cancel = other.post(dev.url, headers=session_headers(session),
                                    json={"jsonrpc": "2.0", "method": "notifications/cancelled",
                                          "params": {"requestId": 77, "reason": "user"}})
                assert cancel.status_code == 202
            rest = [json.loads(data) for _, data in events]
        assert all("id" not in m for m in rest), rest  # no answer for a cancelled request
    task = wait_until(lambda: _task_with_request(api, session, 77), what="the call's task")
    assert task["spec"]["cancel"] is True
    wait_until(lambda: _get(api, task)["status"].get("reason") == "Cancelled", what="the task Failed Cancelled")
    wait_until(lambda: task["metadata"]["name"] in echo_agent.cancelled, what="the agent stopped the work")


def _task_with_request(api, session, request_id):
    for task in api.get("/apis/mcp.io/v1/namespaces/default/tasks").json()["items"]:
        annotation = task["metadata"].get("annotations", {}).get("mcp.io/request", "")
        if annotation.endswith(f" {request_id}") and task["spec"].get("cancel"):
            return task
    return None


def _get(api, task):
    return api.get(f"/apis/mcp.io/v1/namespaces/default/tasks/{task['metadata']['name']}").json()


def test_bad_json_rpc_gets_the_specified_errors(dev):
    with httpx.Client(timeout=30) as http:
        r = http.post(dev.url, headers=HEADERS, content=b"{not json")
        assert r.status_code == 400 and r.json()["error"]["code"] == -32700 and r.json()["id"] is None
        r = http.post(dev.url, headers=HEADERS, content=b"[]")
        assert r.status_code == 400 and r.json()["error"]["code"] == -32600
        r = http.post(dev.url, headers=HEADERS, json={"jsonrpc": "1.0", "id": 1, "method": "ping"})
        assert r.status_code == 400 and r.json()["error"]["code"] == -32600
        session = initialize(http, dev.url)
        r = http.post(dev.url, headers=session_headers(session), json={"jsonrpc": "2.0", "id": 2, "method": "nope/nothing"})
        assert r.json()["error"]["code"] == -32601 and r.json()["id"] == 2
        r = http.post(dev.url, headers=session_headers(session), json={"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                                                                       "params": {"arguments": {}}})
        assert r.json()["error"]["code"] == -32602
        r = http.post(dev.url, headers=session_headers(session), json={"jsonrpc": "2.0", "id": 4, "method": "tools/call",
                                                                       "params": {"name": "no_such_tool"}})
        assert r.json()["error"]["code"] == -32602 and "no_such_tool" in r.json()["error"]["message"]
        r = http.post(dev.url, headers=session_headers(session), json={"jsonrpc": "2.0", "id": 5, "method": "ping"})
        assert r.json() == {"jsonrpc": "2.0", "id": 5, "result": {}}


def test_origin_is_validated(dev):
    with httpx.Client(timeout=30) as http:
        r = http.post(dev.url, headers={**HEADERS, "Origin": "http://evil.example"},
                      json={"jsonrpc": "2.0", "id": 0, "method": "ping"})
        assert r.status_code == 403 and r.json()["error"]["code"] == -32600
        r = http.post(dev.url, headers={**HEADERS, "Origin": "http://localhost:3000"},
                      json={"jsonrpc": "2.0", "id": 0, "method": "initialize",
                            "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "x", "version": "1"}}})
        assert r.status_code == 200


def test_a_body_over_the_payload_cap_is_refused_naming_the_cap(dev):
    with httpx.Client(timeout=30) as http:
        session = initialize(http, dev.url)
        big = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
               "params": {"name": "conductor_submit", "arguments": {"capabilities": ["x"], "payload": {"blob": "x" * 300_000}}}}
        r = http.post(dev.url, headers=session_headers(session), json=big)
        assert r.status_code == 413
        assert "256 KiB (262144 bytes)" in r.json()["error"]["message"], r.text
        # Under the body cap but over the payload cap: a tool error naming the limit.
        near = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                "params": {"name": "conductor_submit", "arguments": {"capabilities": ["x"], "payload": {"blob": "x" * 265_000}}}}
        r = http.post(dev.url, headers=session_headers(session), json=near)
        result = r.json()["result"]
        assert result["isError"] and "262144" in result["content"][0]["text"], result


def test_sessions_versions_and_methods_are_checked(dev):
    with httpx.Client(timeout=30) as http:
        old = initialize(http, dev.url, version="2025-03-26")
        assert old
        r = http.post(dev.url, headers=HEADERS, json={"jsonrpc": "2.0", "id": 0, "method": "initialize",
                                                      "params": {"protocolVersion": "2099-01-01", "capabilities": {},
                                                                 "clientInfo": {"name": "x", "version": "1"}}})
        assert r.json()["result"]["protocolVersion"] == "2025-11-25"
        session = initialize(http, dev.url)
        r = http.post(dev.url, headers={**session_headers(session), "MCP-Protocol-Version": "1999-01-01"},
                      json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert r.status_code == 400
        r = http.post(dev.url, headers=HEADERS, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert r.status_code == 400 and "MCP-Session-Id" in r.json()["error"]["message"]
        forged = session[:-4] + ("AAAA" if not session.endswith("AAAA") else "BBBB")
        r = http.post(dev.url, headers=session_headers(forged), json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert r.status_code == 404
        r = http.post(dev.url, headers={**session_headers(session), "Accept": "application/json"},
                      json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert r.status_code == 406
        with http.stream("GET", dev.url, headers={"Accept": "text/event-stream", "MCP-Session-Id": session}) as g:
            assert g.status_code == 200 and g.headers["content-type"].startswith("text/event-stream")
            event_id, data = next(sse_events(g))
            assert event_id.endswith("-0") and data == ""
        r = http.delete(dev.url, headers={"MCP-Session-Id": session})
        assert r.status_code == 200
        r = http.post(dev.url, headers=session_headers(session), json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert r.status_code == 404


def test_dev_prints_the_url_and_a_client_configuration(dev):
    log = dev.log_path.read_text()
    assert f"MCP front end: {dev.url}" in log
    assert json.dumps({"mcpServers": {"conductor": {"type": "http", "url": dev.url}}}).replace(" ", "") in log.replace(" ", "")


@pytest.mark.parametrize("flag", ["--mcp-port", "--port", "--health-port"])
def test_a_taken_port_is_named_with_the_flag_that_changes_it(tmp_path, flag):
    import socket
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    taken = holder.getsockname()[1]
    ports = {"--port": free_port(), "--health-port": free_port(), "--mcp-port": free_port(), flag: taken}
    try:
        run = subprocess.run([conductor_binary(), "dev", "--data-dir", str(tmp_path / "dev"),
                              *[str(part) for item in ports.items() for part in item]],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
    finally:
        holder.close()
    assert run.returncode != 0
    output = run.stderr + run.stdout
    assert f"port 127.0.0.1:{taken} is taken" in output and f"choose another with {flag}" in output, output[-3000:]


def test_a_fresh_dev_logs_no_warnings(tmp_path):
    process = MCPDev(tmp_path / "dev")
    process.start()
    assert process.stop() == 0
    warnings = [line for line in process.log_path.read_text().splitlines() if '"level":"warning"' in line or '"level":"error"' in line]
    assert warnings == [], warnings


def test_shutdown_answers_waiting_calls_with_their_task_and_ends_open_streams(tmp_path):
    process = MCPDev(tmp_path / "dev")
    process.start()
    stopped = False
    try:
        with process.api() as api:
            tool = unique("held")
            agent = SimAgent(api, unique("agent").replace("_", "-"), [echo_capability(tool)]).start()
            try:
                with httpx.Client(timeout=30) as http:
                    session = initialize(http, process.url)
                    wait_until(lambda: tool in _raw_tools(http, process.url, session), what="the tool")
                    with http.stream("GET", process.url, headers={"Accept": "text/event-stream", "MCP-Session-Id": session}) as g:
                        assert g.status_code == 200
                        body = {"jsonrpc": "2.0", "id": 9, "method": "tools/call",
                                "params": {"name": tool, "arguments": {"text": "h", "waitForCancel": True},
                                           "_meta": {"progressToken": "t"}}}
                        with http.stream("POST", process.url, headers=session_headers(session), json=body) as r:
                            events = sse_events(r)
                            next(events)
                            first = json.loads(next(events)[1])
                            assert first["method"] == "notifications/progress"
                            started = time.monotonic()
                            process.process.send_signal(signal.SIGTERM)
                            answer = json.loads([data for _, data in events][-1])
                        list(sse_events(g))  # the GET stream ends too
                    assert time.monotonic() - started < 10
                    assert answer["id"] == 9 and answer["result"]["isError"] is True  # the tool has an outputSchema
                    assert "shutting down" in answer["result"]["content"][0]["text"]
                    assert "conductor_wait" in answer["result"]["content"][0]["text"]
                assert process.process.wait(timeout=15) == 0
                stopped = True
            finally:
                agent.stop(delete=False)
    finally:
        if not stopped:
            process.stop()


def test_stdio_through_the_sdks_stdio_client(dev, echo_agent):
    from mcp import StdioServerParameters
    params = StdioServerParameters(command=conductor_binary(), args=["mcp", "--kubeconfig", str(dev.data_dir / "kubeconfig")])
    updates: list[str] = []

    async def on_progress(progress, total, message):
        updates.append(message)

    async def main():
        async with Client(params, mode="legacy", read_timeout_seconds=60) as session:
            assert session.protocol_version == "2025-11-25"
            await await_until(lambda: _find_tool(session, echo_agent.tool), what="the tool over stdio")
            result = await session.call_tool(echo_agent.tool, {"text": "stdio", "steps": 2, "stepSeconds": 0.2},
                                             progress_callback=on_progress)
            assert not result.is_error and result.structured_content["echo"] == "stdio", result
            bad = await session.call_tool(echo_agent.tool, {})
            assert bad.is_error and "`text` is required" in bad.content[0].text

    anyio.run(main)
    assert any(m and "step 2 of 2" in m for m in updates), updates


def test_a_waiting_call_gets_progress_at_least_every_interval_even_when_nothing_changes(dev, echo_agent):
    with httpx.Client(timeout=30) as http:
        session = initialize(http, dev.url)
        wait_until(lambda: echo_agent.tool in _raw_tools(http, dev.url, session), what="the tool")
        body = {"jsonrpc": "2.0", "id": "quiet", "method": "tools/call",
                "params": {"name": echo_agent.tool, "arguments": {"text": "q", "waitForCancel": True},
                           "_meta": {"progressToken": "q"}}}
        arrivals = []
        with http.stream("POST", dev.url, headers=session_headers(session), json=body) as r:
            events = sse_events(r)
            next(events)
            for _, data in events:
                message = json.loads(data)
                if message["params"]["message"].startswith("Running"):
                    arrivals.append(time.monotonic())
                if len(arrivals) == 3:
                    break
            http.post(dev.url, headers=session_headers(session),
                      json={"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "quiet"}})
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    assert all(PROGRESS_INTERVAL * 0.5 < gap < PROGRESS_INTERVAL * 3 for gap in gaps), gaps


def test_a_caller_with_too_many_calls_waiting_is_told_and_its_task_still_runs(dev, api, echo_agent):
    """The replica's metrics tell the same story: the waiting calls, the refusal, and how the waits ended."""
    before = dev.samples()
    cancelled = 'conductor_mcp_call_waits_total{outcome="cancelled"}'
    over_limit = "conductor_mcp_calls_over_caller_limit_total"

    async def main():
        async with httpx.AsyncClient(timeout=30) as http:
            r = await http.post(dev.url, headers=HEADERS, json={"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "x", "version": "1"}}})
            session = r.headers["mcp-session-id"]
            headers = session_headers(session)

            def call(n, payload):
                return http.post(dev.url, headers=headers, json={"jsonrpc": "2.0", "id": n, "method": "tools/call",
                                                                 "params": {"name": echo_agent.tool, "arguments": payload}})
            held = [asyncio.ensure_future(call(n, {"text": "held", "waitForCancel": True})) for n in range(MAX_CALLS_PER_CALLER)]
            await anyio.to_thread.run_sync(lambda: wait_until(
                lambda: len(_session_tasks(api, session)) == MAX_CALLS_PER_CALLER, what="the held calls' tasks"))
            refused = (await call(99, {"text": "extra"})).json()["result"]
            assert refused["isError"] and "Too many calls waiting" in refused["content"][0]["text"], refused
            name = refused["content"][0]["text"].split("Task ")[1].split(" ")[0]
            held_metrics = dev.samples()
            assert held_metrics["conductor_mcp_waiting_calls"] >= MAX_CALLS_PER_CALLER, held_metrics
            assert held_metrics[over_limit] == before.get(over_limit, 0) + 1, held_metrics
            assert held_metrics["conductor_mcp_open_connections"] >= 1, held_metrics
            assert held_metrics["conductor_mcp_requests_in_progress"] <= MAX_REQUESTS_IN_PROGRESS, held_metrics
            for n in range(MAX_CALLS_PER_CALLER):
                await http.post(dev.url, headers=headers, json={"jsonrpc": "2.0", "method": "notifications/cancelled",
                                                                "params": {"requestId": n}})
            answers = [(await h).json() for h in held]
            assert all(a["error"]["code"] == -32800 for a in answers), answers
            return name

    name = anyio.run(main)
    after = dev.samples()
    assert after[cancelled] == before.get(cancelled, 0) + MAX_CALLS_PER_CALLER, after
    assert after["conductor_mcp_call_wait_seconds_count"] >= before.get("conductor_mcp_call_wait_seconds_count", 0) + 3, after
    wait_until(lambda: dev.samples()["conductor_mcp_waiting_calls"] == 0, what="no call waiting")
    wait_until(lambda: api.get(f"/apis/mcp.io/v1/namespaces/default/tasks/{name}").json()["status"].get("phase") == "Completed",
               what="the refused call's task completed")


def test_a_streamed_call_whose_client_leaves_stops_waiting_and_its_task_goes_on(dev, api, echo_agent):
    """A call with a progress token is answered on its own SSE stream, with no task of the server's parked for it:
    a client that closes the stream ends the call's wait (at once: the connection's end tells), so the call no
    longer counts against the caller's limit, and its task is not cancelled (2025-11-25: a dropped connection is no
    cancellation)."""
    with httpx.Client(timeout=30) as http:
        session = initialize(http, dev.url)
        wait_until(lambda: echo_agent.tool in _raw_tools(http, dev.url, session), what="the tool")

        def call(n, payload, meta=None):
            return _tool_call(echo_agent.tool, n, payload, meta)

        streams, held = [], []
        for n in range(MAX_CALLS_PER_CALLER):
            stream = http.stream("POST", dev.url, headers=session_headers(session),
                                 json=call(f"left-{n}", {"text": "left", "waitForCancel": True}, {"progressToken": n}))
            response = stream.__enter__()
            events = sse_events(response)
            next(events)  # the priming event
            assert json.loads(next(events)[1])["method"] == "notifications/progress"
            streams.append(stream)
            held.append(events)
        refused = http.post(dev.url, headers=session_headers(session), json=call("extra", {"text": "extra"})).json()["result"]
        # Each held stream's next event (a heartbeat comes every second) says how it stands, should this fail.
        assert "Too many calls waiting" in refused["content"][0]["text"], (refused, [next(events, None) for events in held])
        for stream in streams:
            stream.__exit__(None, None, None)
        wait_until(lambda: _answers_a_call(http, dev.url, session, echo_agent.tool),
                   what="a call answered once the left calls stopped waiting")

    tasks = _session_tasks(api, session, "left")
    assert len(tasks) == MAX_CALLS_PER_CALLER
    assert all(not t["spec"].get("cancel") and t["status"].get("phase") == "Running" for t in tasks), tasks
    _cancel_tasks(api, tasks)


def test_a_resumed_stream_numbers_on_from_the_last_event_seen_and_answers_the_call(dev, api, echo_agent):
    """GET with Last-Event-ID resumes a call's stream where its client left it: the priming event and the
    progress go on numbering from the last id seen, and the call's answer comes with the call's own id. Leaving a
    resumed stream ends that wait too: the same call resumed once more than the caller's limit still gets a stream."""
    with httpx.Client(timeout=30) as http:
        session = initialize(http, dev.url)
        wait_until(lambda: echo_agent.tool in _raw_tools(http, dev.url, session), what="the tool")
        request = _tool_call(echo_agent.tool, "resumed", {"text": "resumed", "waitForCancel": True}, {"progressToken": "t"})
        with http.stream("POST", dev.url, headers=session_headers(session), json=request) as response:
            events = sse_events(response)
            primed, _ = next(events)
            stream, first = primed.rsplit("-", 1)
            assert first == "0"
            last, message = next(events)
            assert json.loads(message)["method"] == "notifications/progress" and last == f"{stream}-1"

        for _ in range(MAX_CALLS_PER_CALLER + 1):
            with http.stream("GET", dev.url, headers={**session_headers(session), "Last-Event-ID": last}) as response:
                assert response.status_code == 200
                events = sse_events(response)
                sequence = int(last.rsplit("-", 1)[1])
                primed, data = next(events)
                assert primed == f"{stream}-{sequence + 1}" and data == ""
                last, message = next(events)
                assert last == f"{stream}-{sequence + 2}", last
                assert json.loads(message)["params"]["progressToken"] == "t"

        with http.stream("GET", dev.url, headers={**session_headers(session), "Last-Event-ID": last}) as response:
            events = sse_events(response)
            next(events)
            _cancel_tasks(api, _session_tasks(api, session, "resumed"))
            answer = next(json.loads(data) for _, data in events if "result" in json.loads(data))
            assert answer["id"] == "resumed" and answer["result"]["isError"], answer


def test_a_plain_call_whose_client_leaves_stops_waiting_at_once_and_its_task_goes_on(dev, api, echo_agent):
    """A call answered with plain JSON writes nothing while it waits, so only its connection tells that its client
    left: the client's end of input (a close, or a half-close, taken as nginx takes it) ends the call's wait at once
    and the connection closes with no answer, so the call no longer counts against the caller's limit; its task
    is not cancelled (a dropped connection is no cancellation). Before, such a call held its place until its limit."""
    with httpx.Client(timeout=30) as http:
        session = initialize(http, dev.url)
        wait_until(lambda: echo_agent.tool in _raw_tools(http, dev.url, session), what="the tool")

        def sent(n):
            return sent_raw(dev.mcp_port, _tool_call(echo_agent.tool, n, {"text": "plain-left", "waitForCancel": True}),
                            extra=f"MCP-Session-Id: {session}\r\nMCP-Protocol-Version: 2025-11-25\r\n")

        def left_tasks():
            return _session_tasks(api, session, "plain-left")

        # Quick from here to the half-close: each held call answers at its limit (MAX_CALL_WAIT) otherwise. Their
        # tasks running says the calls registered their waits (right after creating them).
        held = [sent(f"plain-left-{n}") for n in range(MAX_CALLS_PER_CALLER)]
        wait_until(lambda: len(left_tasks()) == MAX_CALLS_PER_CALLER
                   and all(t["status"].get("phase") == "Running" for t in left_tasks()), what="the held calls' tasks running")
        refused = http.post(dev.url, headers=session_headers(session),
                            json=_tool_call(echo_agent.tool, "extra", {"text": "extra"})).json()["result"]
        assert "Too many calls waiting" in refused["content"][0]["text"], refused

        # A client that half-closes gets no answer: its wait ends, and the server closes the connection.
        held[0].shutdown(socket.SHUT_WR)
        held[0].settimeout(20)
        assert held[0].recv(65536) == b""
        for connection in held:
            connection.close()
        wait_until(lambda: _answers_a_call(http, dev.url, session, echo_agent.tool),
                   what="a call answered once the left calls stopped waiting")

    wait_until(lambda: len(left_tasks()) == MAX_CALLS_PER_CALLER
               and all(t["status"].get("phase") == "Running" for t in left_tasks()), what="the left calls' tasks running")
    tasks = left_tasks()
    assert all(not t["spec"].get("cancel") for t in tasks), tasks
    _cancel_tasks(api, tasks)


def test_a_connection_its_client_closed_is_closed_and_a_half_closed_one_is_answered_first(dev):
    """Hummingbird's server allows half-closure, so a client's end of input alone closes nothing: the front end
    closes such a connection itself, at once when nothing is being answered, after the answer otherwise. Read from
    the kernel's table of TCP sockets: the server's end of a connection it left open stays in CLOSE_WAIT for good,
    holding its descriptor (and its memory)."""
    with httpx.Client(timeout=30) as http:
        session = initialize(http, dev.url)
    idle = [socket.create_connection(("127.0.0.1", dev.mcp_port)) for _ in range(40)]
    ports = {connection.getsockname()[1] for connection in idle}
    wait_until(lambda: ports <= set(server_ends(dev.mcp_port)), what="the idle connections accepted")
    for connection in idle:
        connection.close()

    # A client that sends its request and closes its side answers no less.
    half = sent_raw(dev.mcp_port, {"jsonrpc": "2.0", "id": "half", "method": "ping"},
                    extra=f"MCP-Session-Id: {session}\r\nMCP-Protocol-Version: 2025-11-25\r\n")
    ports.add(half.getsockname()[1])
    half.shutdown(socket.SHUT_WR)
    half.settimeout(20)
    answer = b""
    while chunk := half.recv(65536):
        answer += chunk
    half.close()
    assert answer.startswith(b"HTTP/1.1 200") and b'"id":"half"' in answer, answer

    def left_open():
        return {port: state for port, state in server_ends(dev.mcp_port).items() if port in ports}
    wait_until(lambda: not left_open(), what="every closed connection closed by the server too")


def test_waiting_calls_and_open_streams_leave_the_requests_in_progress_to_new_ones(dev, api, echo_agent):
    """The replica works on MAX_REQUESTS_IN_PROGRESS requests at once; a call that waits for its task (plain or over
    SSE) and a GET stream count only until they wait or stream. With more of them open than the limit, a burst of
    requests several times the limit is answered, every one, and the held calls still end as they should."""
    with httpx.Client(timeout=30) as http:
        session = initialize(http, dev.url)
    headers = f"MCP-Session-Id: {session}\r\nMCP-Protocol-Version: 2025-11-25\r\n"
    streams, held = [], []
    try:
        for _ in range(MAX_REQUESTS_IN_PROGRESS + 1):
            stream = socket.create_connection(("127.0.0.1", dev.mcp_port), timeout=20)
            stream.sendall(f"GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n{headers}\r\n".encode())
            _read_until(stream, b"data: \n\n")  # the priming event: streaming
            streams.append(stream)
        for n in range(MAX_CALLS_PER_CALLER):
            # The last one asks for progress: answered over SSE.
            meta = {"progressToken": f"held-{n}"} if n == MAX_CALLS_PER_CALLER - 1 else None
            held.append(sent_raw(dev.mcp_port, _tool_call(echo_agent.tool, n, {"text": "held", "waitForCancel": True}, meta),
                                 extra=headers))
        wait_until(lambda: len(_session_tasks(api, session, "held")) == MAX_CALLS_PER_CALLER, what="the held calls' tasks")
        _read_until(held[-1], b"data: \n\n")

        async def burst():
            async with httpx.AsyncClient(timeout=15, limits=httpx.Limits(max_keepalive_connections=0)) as client:
                return await asyncio.gather(*(client.post(dev.url, headers=session_headers(session), json={
                    "jsonrpc": "2.0", "id": n, "method": "tools/list"}) for n in range(10 * MAX_REQUESTS_IN_PROGRESS)))
        answers = anyio.run(burst)
        assert all(echo_agent.tool in {tool["name"] for tool in a.json()["result"]["tools"]} for a in answers), answers[0].text

        with httpx.Client(timeout=30) as http:
            for n in range(MAX_CALLS_PER_CALLER):
                http.post(dev.url, headers=session_headers(session), json={
                    "jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": n}})
        # Each held call ends: a plain one answers its cancellation (or, past MAX_CALL_WAIT, its task's name), the SSE
        # one ends its stream with no answer, as a cancelled request's should.
        for n, connection in enumerate(held[:-1]):
            connection.settimeout(20)
            assert _read_until(connection, f'"id":{n}'.encode()).startswith(b"HTTP/1.1 200")
        held[-1].settimeout(20)
        assert _read_until(held[-1], b"0\r\n\r\n")  # the last chunk
    finally:
        for connection in streams + held:
            connection.close()


def test_a_get_stream_its_client_closes_ends_at_once(dev):
    """The GET stream writes only a keep-alive every 25 s while nothing happens: its client's close ends it (and
    its tasks) at once, rather than at the next keep-alive that fails."""
    with httpx.Client(timeout=30) as http:
        session = initialize(http, dev.url)
    connection = socket.create_connection(("127.0.0.1", dev.mcp_port))
    port = connection.getsockname()[1]
    connection.sendall((f"GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                        f"MCP-Session-Id: {session}\r\nMCP-Protocol-Version: 2025-11-25\r\n\r\n").encode())
    connection.settimeout(20)
    seen = b""
    while b"data: \n\n" not in seen:  # the priming event
        seen += connection.recv(65536)
    assert seen.startswith(b"HTTP/1.1 200"), seen
    connection.close()
    wait_until(lambda: port not in server_ends(dev.mcp_port), timeout=10, what="the server's end of the GET stream closed")


def _session_tasks(api: httpx.Client, session: str, text: str | None = None) -> list[dict]:
    """The Tasks this session's calls made (their request annotation starts with its nonce); with `text`, only
    those whose payload's text it is."""
    return [t for t in api.get("/apis/mcp.io/v1/namespaces/default/tasks").json()["items"]
            if t["metadata"].get("annotations", {}).get("mcp.io/request", "").startswith(_nonce(session))
            and (text is None or (t["spec"].get("payload") or {}).get("text") == text)]


def _cancel_tasks(api: httpx.Client, tasks: list[dict]) -> None:
    for task in tasks:
        api.patch(f"/apis/mcp.io/v1/namespaces/default/tasks/{task['metadata']['name']}", json={"spec": {"cancel": True}},
                  headers={"Content-Type": "application/merge-patch+json"}).raise_for_status()


def _tool_call(tool: str, n, payload: dict, meta: dict | None = None) -> dict:
    params = {"name": tool, "arguments": payload}
    if meta:
        params["_meta"] = meta
    return {"jsonrpc": "2.0", "id": n, "method": "tools/call", "params": params}


def _answers_a_call(http: httpx.Client, url: str, session: str, tool: str) -> bool:
    """Whether a new call of the echo tool is answered with its echo (not refused for the caller's limit)."""
    result = http.post(url, headers=session_headers(session), json=_tool_call(tool, "after", {"text": "after"})).json()["result"]
    return not result.get("isError") and result["structuredContent"]["echo"] == "after"


def sent_raw(port: int, message: dict, extra: str = "") -> socket.socket:
    """A connection that has sent `message` in a POST written by hand (`raw_post`): its client can then half-close
    or leave as a test needs."""
    connection = socket.create_connection(("127.0.0.1", port))
    connection.sendall(raw_post(message, extra=extra))
    return connection


def _nonce(session: str) -> str:
    import base64
    claims = session.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))["n"]


@pytest.mark.parametrize("flags, expected", [
    (["--mcp-port", "0", "--mcp-auth", "none", "--mcp-bind", "0.0.0.0"], "allowed only with --mcp-bind on loopback"),
    (["--mcp-max-requests-in-progress", "0"], "--mcp-max-requests-in-progress must be above 0, got 0"),
])
def test_run_refuses_a_front_end_that_cannot_work_naming_the_flag(dev, flags, expected):
    run = subprocess.run([conductor_binary(), "run", "--kubeconfig", str(dev.data_dir / "kubeconfig"), "--health-port", "0",
                          *flags], capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert expected in run.stderr, run.stderr[-2000:]


def test_run_without_the_front_end_serves_no_mcp_and_refuses_its_flags(fresh_apiserver, tmp_path):
    """`conductor run --no-mcp`: the controller alone, ready, with no MCP port; an MCP flag beside it is refused."""
    refused = subprocess.run([conductor_binary(), "run", "--kubeconfig", str(fresh_apiserver.kubeconfig), "--no-mcp",
                              "--mcp-port", "9000"], capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0
    assert "--no-mcp runs no MCP front end: --mcp-port would configure it" in refused.stderr, refused.stderr[-2000:]

    with fresh_apiserver.client() as api:
        apply_project_crds(api)
        api.post("/api/v1/namespaces", json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mcp-system"}})
    health = free_port()
    log = tmp_path / "run.log"
    run = subprocess.Popen([conductor_binary(), "run", "--kubeconfig", str(fresh_apiserver.kubeconfig), "--no-mcp",
                            "--health-bind", "127.0.0.1", "--health-port", str(health), "--log-format", "json"],
                           stdout=open(log, "ab"), stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: run_ready(run, health, log), timeout=60, what="the controller ready")
        text = log.read_text()
        assert "no MCP front end (--no-mcp)" in text and "MCP front end serving" not in text, text[-3000:]
    finally:
        run.terminate()
        run.wait(timeout=30)
    assert run.returncode == 0, log.read_text()[-3000:]


class KeptOpen:
    """The connection's one reader, for a response parser that closes its file at the end of each answer."""

    def __init__(self, reader):
        self.reader = reader

    def __getattr__(self, name):
        return getattr(self.reader, name)

    def close(self) -> None:
        pass


class RawConnection:
    """One HTTP/1.1 connection to the front end, read with the standard library's response parser, which stops at
    the end of each answer (Content-Length or chunked), so that pipelined answers are read one by one."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.reader = self.sock.makefile("rb")

    def makefile(self, *args, **kwargs):
        return KeptOpen(self.reader)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def response(self) -> http.client.HTTPResponse:
        answer = http.client.HTTPResponse(self)
        answer.begin()
        answer.body = answer.read()
        return answer

    def closed_by_server(self) -> bool:
        return self.sock.recv(1) == b""

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


def raw_post(message: dict, extra: str = "", path: str = "/mcp") -> bytes:
    body = json.dumps(message).encode()
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json, text/event-stream\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n").encode() + body


INITIALIZE = {"jsonrpc": "2.0", "method": "initialize",
              "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}
HTTP_DATE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$")


def test_a_connection_answers_pipelined_requests_in_order_and_closes_when_asked(dev):
    connection = RawConnection(dev.mcp_port)
    try:
        # Three requests in one write: answered one after another, in order, on the same connection.
        connection.send(b"".join(raw_post({**INITIALIZE, "id": n}) for n in (1, 2, 3)))
        for n in (1, 2, 3):
            answer = connection.response()
            assert answer.status == 200, answer.body
            assert json.loads(answer.body)["id"] == n
            assert answer.getheader("Server") == "mcp-conductor"
            assert HTTP_DATE.match(answer.getheader("Date") or ""), answer.getheader("Date")
            assert int(answer.getheader("Content-Length")) == len(answer.body)
        # A path the front end does not serve, on the same connection.
        connection.send(b"GET /elsewhere HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert connection.response().status == 404
        # Connection: close is honoured after the answer.
        connection.send(raw_post({**INITIALIZE, "id": 4}, extra="Connection: close\r\n"))
        answer = connection.response()
        assert answer.status == 200 and json.loads(answer.body)["id"] == 4
        assert connection.closed_by_server()
    finally:
        connection.close()


def test_a_request_that_does_not_parse_is_answered_400_and_its_connection_closed(dev):
    connection = RawConnection(dev.mcp_port)
    try:
        connection.send(b"NOT HTTP AT ALL\r\n\r\n")
        assert connection.response().status == 400
        assert connection.closed_by_server()
    finally:
        connection.close()
    # The front end goes on serving.
    with httpx.Client(timeout=30) as client:
        assert initialize(client, dev.url)


def test_a_waiting_call_answers_in_one_piece_when_its_wait_ends_and_holds_back_the_next_request(dev, api):
    """A call that waits writes its answer only when the wait ends, in one piece with its length; a request
    pipelined behind it on the same connection is answered after it. Here the wait's own limit ends it (the task
    has no agent). With `Connection: close`, the connection closes after the late answer."""
    name = f"late-{uuid.uuid4().hex[:8]}"
    r = api.post("/apis/mcp.io/v1/namespaces/default/tasks", json={
        "apiVersion": "mcp.io/v1", "kind": "Task", "metadata": {"name": name},
        "spec": {"requiredCapabilities": ["nobody-offers-this"], "payload": {}}})
    assert r.status_code == 201, r.text
    with httpx.Client(timeout=30) as client:
        session = initialize(client, dev.url)
    headers = f"MCP-Session-Id: {session}\r\nMCP-Protocol-Version: 2025-11-25\r\n"
    wait = {"jsonrpc": "2.0", "id": 7, "method": "tools/call",
            "params": {"name": "conductor_wait", "arguments": {"name": name, "timeoutSeconds": 0.5}}}
    connection = RawConnection(dev.mcp_port)
    try:
        connection.send(raw_post(wait, extra=headers) + raw_post({**INITIALIZE, "id": 8}))
        answer = connection.response()
        assert answer.status == 200 and answer.getheader("Transfer-Encoding") is None, answer.headers
        assert int(answer.getheader("Content-Length")) == len(answer.body)
        assert answer.getheader("Content-Type") == "application/json"
        assert HTTP_DATE.match(answer.getheader("Date")), answer.getheader("Date")
        result = json.loads(answer.body)
        assert result["id"] == 7 and result["result"]["structuredContent"]["done"] is False, result
        # The pipelined request was held until the late answer was written, and the connection is kept.
        assert json.loads(connection.response().body)["id"] == 8
    finally:
        connection.close()
    connection = RawConnection(dev.mcp_port)
    try:
        connection.send(raw_post({**wait, "id": 9}, extra=headers + "Connection: close\r\n"))
        answer = connection.response()
        assert answer.status == 200 and json.loads(answer.body)["id"] == 9
        assert connection.closed_by_server()
    finally:
        connection.close()


def _read_until(sock: socket.socket, marker: bytes) -> bytes:
    """What the server sent up to and with `marker`; the socket's timeout (30 s) is the deadline."""
    data = b""
    while marker not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the connection ended before {marker!r}: {data!r}"
        data += chunk
    return data


def _read_to_close(sock: socket.socket) -> bytes:
    """Everything the server sent until it closed the connection; the socket's timeout (30 s) is the deadline."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def _initialize_head(length: int, extra: str = "", version: str = "1.1") -> bytes:
    return (f"POST /mcp HTTP/{version}\r\nHost: 127.0.0.1\r\nAccept: application/json, text/event-stream\r\n"
            f"Content-Type: application/json\r\nContent-Length: {length}\r\n{extra}\r\n").encode()


def test_a_client_that_expects_100_continue_gets_it_before_its_body_and_one_over_the_limit_its_refusal(dev):
    """A client that sends `Expect: 100-continue` waits for the interim answer before it sends its body (curl
    waits a second for it, then sends anyway). A body declared over the limit is refused from its head, without
    waiting for it, and the connection ends (where an unread body would end is unknown)."""
    body = json.dumps({**INITIALIZE, "id": 21}).encode()
    connection = RawConnection(dev.mcp_port)
    try:
        connection.send(_initialize_head(len(body), "Expect: 100-continue\r\n"))
        # Nothing of the body is sent until the server asks for it.
        interim = _read_until(connection.sock, b"\r\n\r\n")
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n"), interim
        connection.send(body)
        answer = connection.response()
        assert answer.status == 200 and json.loads(answer.body)["id"] == 21, answer.body
        # The same connection goes on, and a request that expects nothing gets no interim answer.
        connection.send(raw_post({**INITIALIZE, "id": 22}))
        assert json.loads(connection.response().body)["id"] == 22
    finally:
        connection.close()
    connection = RawConnection(dev.mcp_port)
    try:
        connection.send(_initialize_head(400_000, "Expect: 100-continue\r\n"))
        answer = connection.response()
        assert answer.status == 413 and "256 KiB" in json.loads(answer.body)["error"]["message"], answer.body
        assert connection.closed_by_server()
    finally:
        connection.close()


def test_an_http_1_0_client_is_answered_in_http_1_0_without_chunks_and_its_connection_closed(dev, echo_agent):
    """HTTP/1.0 has no chunked bodies and no interim answers, and without keep-alive its client reads an answer to
    the connection's end: the answer says HTTP/1.0 and `Connection: close`, a stream without a length ends with
    the connection, and `Expect: 100-continue` is ignored (RFC 9110, 10.1.1)."""
    body = json.dumps({**INITIALIZE, "id": 31}).encode()
    with socket.create_connection(("127.0.0.1", dev.mcp_port), timeout=30) as sock:
        sock.sendall(_initialize_head(len(body), "Expect: 100-continue\r\n", version="1.0") + body)
        answer = _read_to_close(sock)
    head, _, content = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 200 OK\r\n"), answer[:300]
    assert b"100 Continue" not in answer and b"connection: close" in head.lower(), head
    assert json.loads(content)["id"] == 31

    # A call answered over SSE (it carries a progress token): no length, so not chunked but ended by the close.
    with httpx.Client(timeout=30) as http:
        session = initialize(http, dev.url)
        wait_until(lambda: echo_agent.tool in _raw_tools(http, dev.url, session), what="the tool")
    call = json.dumps({"jsonrpc": "2.0", "id": "call-10", "method": "tools/call",
                       "params": {"name": echo_agent.tool, "arguments": {"text": "old", "steps": 2, "stepSeconds": 0.2},
                                  "_meta": {"progressToken": "p10"}}}).encode()
    headers = f"MCP-Session-Id: {session}\r\nMCP-Protocol-Version: 2025-11-25\r\n"
    with socket.create_connection(("127.0.0.1", dev.mcp_port), timeout=30) as sock:
        sock.sendall(_initialize_head(len(call), headers, version="1.0") + call)
        answer = _read_to_close(sock)
    head, _, content = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 200 OK\r\n") and b"text/event-stream" in head, head
    assert b"transfer-encoding" not in head.lower(), head
    messages = [json.loads(line[5:]) for line in content.decode().splitlines() if line.startswith("data:") and line[5:].strip()]
    assert any(m.get("method") == "notifications/progress" for m in messages), messages
    assert messages[-1]["id"] == "call-10" and messages[-1]["result"]["structuredContent"]["echo"] == "old", messages
