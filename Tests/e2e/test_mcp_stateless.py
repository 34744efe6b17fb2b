"""The stateless revision 2026-07-28 beside 2025-11-25 on the same endpoint, judged by the official Python SDK
2.x (`mcp` 2.3.0, whose default mode probes it with server/discover) with a test-side client extension for the
tasks extension `io.modelcontextprotocol/tasks`, against `conductor dev` as a process with simulated agents;
raw HTTP for the rules the SDK never breaks (header mismatches, unsupported versions, removed methods)."""
import base64
import json
import pathlib
from typing import Any, Literal

import anyio
import httpx
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.extension import ClaimContext, ClientExtension, ResultClaim
from mcp.client.subscriptions import ToolsListChanged

from conftest import DevProcess, running_cleanly, server_ends, wait_for
from mcp_agent import SimAgent
from test_mcp import HEADERS, echo_capability, sent_raw, unique

TASKS = "io.modelcontextprotocol/tasks"
VERSION = "2026-07-28"


class StatelessDev(DevProcess):
    """`conductor dev` with a progress notification every second while a call waits, so that a closed stream
    is noticed (at the next write) within about a second, and short suggested polls."""

    def __init__(self, data_dir: pathlib.Path):
        super().__init__(data_dir, extra_args=["--mcp-progress-interval", "1", "--mcp-task-poll-interval", "0.2"])


@pytest.fixture(scope="module")
def dev(tmp_path_factory):
    yield from running_cleanly(StatelessDev(tmp_path_factory.mktemp("mcp-stateless") / "dev"))


@pytest.fixture
def echo_agent(api, dev):
    tool = unique("echo")
    agent = SimAgent(api, unique("agent").replace("_", "-"), [echo_capability(tool, output_schema=False)]).start()
    agent.tool = tool
    wait_for(lambda: any(t["name"] == tool for t in raw(dev.url, "tools/list").json()["result"]["tools"]), 30, f"{tool} offered")
    yield agent
    agent.stop()


# The tasks extension, client side (the SDK 2.x has its types but not its calls)

class CreatedTask(types.Result):
    result_type: Literal["task"] = "task"
    task_id: str
    status: str
    status_message: str | None = None
    created_at: str
    last_updated_at: str
    ttl_ms: int | None = None
    poll_interval_ms: int | None = None


class DetailedTask(CreatedTask):
    result_type: Literal["complete"] = "complete"
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


class TaskIdParams(types.RequestParams):
    task_id: str


class GetTask(types.Request[TaskIdParams, Literal["tasks/get"]]):
    method: Literal["tasks/get"] = "tasks/get"
    params: TaskIdParams
    name_param = "taskId"


class CancelTask(types.Request[TaskIdParams, Literal["tasks/cancel"]]):
    method: Literal["tasks/cancel"] = "tasks/cancel"
    params: TaskIdParams
    name_param = "taskId"


class Tasks(ClientExtension):
    """Declares the extension; a call answered with a task is polled with tasks/get until it is terminal."""
    identifier = TASKS

    def __init__(self):
        self.created: list[CreatedTask] = []
        self.polled: list[str] = []

    def claims(self):
        return [ResultClaim(result_type="task", model=CreatedTask, resolve=self.resolve)]

    async def resolve(self, created: CreatedTask, context: ClaimContext) -> types.CallToolResult:
        self.created.append(created)
        while True:
            status = await context.session.send_request(GetTask(params=TaskIdParams(task_id=created.task_id)), DetailedTask)
            self.polled.append(status.status)
            if status.status != "working":
                assert status.result is not None, status
                return types.CallToolResult.model_validate(status.result, by_name=False)
            await anyio.sleep((status.poll_interval_ms or 500) / 1000)


# Raw HTTP

def envelope(tasks: bool = False) -> dict:
    capabilities = {"extensions": {TASKS: {}}} if tasks else {}
    return {"io.modelcontextprotocol/protocolVersion": VERSION, "io.modelcontextprotocol/clientCapabilities": capabilities,
            "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"}}


def raw(url: str, method: str, params: dict | None = None, headers: dict | None = None, tasks: bool = False,
        meta: dict | None = None) -> httpx.Response:
    params = dict(params or {})
    params["_meta"] = envelope(tasks) if meta is None else meta
    sent = {**HEADERS, "MCP-Protocol-Version": VERSION, "Mcp-Method": method}
    if method == "tools/call":
        sent["Mcp-Name"] = params["name"]
    sent.update(headers or {})
    sent = {name: value for name, value in sent.items() if value is not None}
    return httpx.post(url, headers=sent, json={"jsonrpc": "2.0", "id": 7, "method": method, "params": params}, timeout=60)


def sse_result(response: httpx.Response) -> dict:
    messages = [json.loads(line[len("data: "):]) for line in response.text.splitlines() if line.startswith("data: {")]
    return messages[-1]


# The SDK

def test_the_sdks_default_mode_speaks_the_stateless_revision_without_a_session(dev, echo_agent):
    async def main():
        async with Client(dev.url, read_timeout_seconds=60) as client:
            assert client.protocol_version == VERSION
            assert TASKS in (client.server_capabilities.extensions or {})
            names = {tool.name for tool in (await client.list_tools()).tools}
            assert {"conductor_get", echo_agent.tool} <= names
            result = await client.call_tool(echo_agent.tool, {"text": "stateless"})
            assert not result.is_error and result.structured_content["echo"] == "stateless"

    anyio.run(main)


def test_progress_comes_on_the_calls_own_stream(dev, echo_agent):
    progress: list[tuple[float, str | None]] = []

    async def on_progress(value, total, message):
        progress.append((value, message))

    async def main():
        async with Client(dev.url, read_timeout_seconds=60) as client:
            result = await client.call_tool(echo_agent.tool, {"text": "p", "steps": 3, "stepSeconds": 0.3},
                                            progress_callback=on_progress)
            assert result.structured_content["echo"] == "p"

    anyio.run(main)
    assert any(message == "Running on " + echo_agent.name + ": step 3 of 3" for _, message in progress), progress
    values = [value for value, _ in progress]
    assert values == sorted(values) and len(set(values)) == len(values)


def test_closing_the_stream_cancels_the_call_and_its_task(dev, api, echo_agent):
    text = unique("cancel-me")

    def running_task():
        tasks = api.get("/apis/mcp.io/v1/namespaces/default/tasks").json()["items"]
        return next((t for t in tasks if (t["spec"].get("payload") or {}).get("text") == text
                     and t.get("status", {}).get("phase") == "Running"), None)

    async def on_progress(value, total, message):
        pass

    async def main():
        async with Client(dev.url, read_timeout_seconds=60) as client:
            async with anyio.create_task_group() as group:
                async def call():
                    await client.call_tool(echo_agent.tool, {"text": text, "waitForCancel": True}, progress_callback=on_progress)
                group.start_soon(call)
                await anyio.to_thread.run_sync(lambda: wait_for(running_task, 20, "the call's task running"))
                group.cancel_scope.cancel()

    anyio.run(main)
    task = wait_for(lambda: next((t for t in api.get("/apis/mcp.io/v1/namespaces/default/tasks").json()["items"]
                                  if (t["spec"].get("payload") or {}).get("text") == text and t["spec"].get("cancel")), None),
                    20, "the task asked to cancel")
    name = task["metadata"]["name"]
    wait_for(lambda: name in echo_agent.cancelled, 20, "the agent saw the cancellation")


def test_a_call_with_an_idempotency_key_detaches_when_its_stream_closes_and_its_retry_gets_the_one_result(dev, api, echo_agent):
    text, key = unique("detach"), unique("key")
    meta = {"mcp.io/idempotencyKey": key}

    def running_task():
        tasks = api.get("/apis/mcp.io/v1/namespaces/default/tasks").json()["items"]
        return next((t for t in tasks if (t["spec"].get("payload") or {}).get("text") == text
                     and t.get("status", {}).get("phase") == "Running"), None)

    async def on_progress(value, total, message):
        pass

    async def main():
        async with Client(dev.url, read_timeout_seconds=60) as client:
            async with anyio.create_task_group() as group:
                async def call():
                    await client.call_tool(echo_agent.tool, {"text": text, "steps": 8, "stepSeconds": 0.5}, meta=meta,
                                           progress_callback=on_progress)
                group.start_soon(call)
                await anyio.to_thread.run_sync(lambda: wait_for(running_task, 20, "the call's task running"))
                group.cancel_scope.cancel()
            retried = await client.call_tool(echo_agent.tool, {"text": text, "steps": 8, "stepSeconds": 0.5}, meta=meta,
                                             progress_callback=on_progress)
            assert retried.structured_content["echo"] == text

    anyio.run(main)
    tasks = [t for t in api.get("/apis/mcp.io/v1/namespaces/default/tasks").json()["items"]
             if (t["spec"].get("payload") or {}).get("text") == text]
    assert len(tasks) == 1 and not tasks[0]["spec"].get("cancel") and tasks[0]["status"]["phase"] == "Completed"
    assert echo_agent.executions[tasks[0]["metadata"]["name"]] == 1


def test_with_the_tasks_extension_a_call_is_a_task_followed_with_tasks_get_and_cancelled(dev, api, echo_agent):
    extension = Tasks()

    async def main():
        async with Client(dev.url, read_timeout_seconds=60, extensions=[extension]) as client:
            result = await client.call_tool(echo_agent.tool, {"text": "as a task", "steps": 2, "stepSeconds": 0.3})
            assert result.structured_content["echo"] == "as a task"
            created = extension.created[0]
            assert created.status == "working" and created.task_id.startswith("mcp-") and created.poll_interval_ms == 200
            assert extension.polled[-1] == "completed"
            # The Task resource under the task's id.
            resource = api.get(f"/apis/mcp.io/v1/namespaces/default/tasks/{created.task_id}").json()
            assert resource["status"]["phase"] == "Completed"

            waiting = await client.session.call_tool(echo_agent.tool, {"text": "x", "waitForCancel": True}, allow_claimed=True)
            assert isinstance(waiting, CreatedTask) and waiting.status == "working"
            await anyio.to_thread.run_sync(lambda: wait_for(
                lambda: api.get(f"/apis/mcp.io/v1/namespaces/default/tasks/{waiting.task_id}").json()
                .get("status", {}).get("phase") == "Running", 20, "running"))
            acknowledged = await client.session.send_request(CancelTask(params=TaskIdParams(task_id=waiting.task_id)), types.Result)
            assert acknowledged is not None
            status = await client.session.send_request(GetTask(params=TaskIdParams(task_id=waiting.task_id)), DetailedTask)
            assert status.status == "cancelled" and status.result["isError"]
            # Cancelling a terminal task is acknowledged too (cooperative, no error in this revision).
            await client.session.send_request(CancelTask(params=TaskIdParams(task_id=waiting.task_id)), types.Result)
            return waiting.task_id

    name = anyio.run(main)
    wait_for(lambda: name in echo_agent.cancelled, 20, "the agent saw the cancellation")


def test_a_subscription_hears_that_the_tools_changed(dev, api):
    async def main():
        async with Client(dev.url, read_timeout_seconds=60) as client:
            async with client.listen(tools_list_changed=True) as subscription:
                assert subscription.honored.tools_list_changed
                tool = unique("weather")
                agent = await anyio.to_thread.run_sync(
                    lambda: SimAgent(api, unique("agent").replace("_", "-"), [echo_capability(tool)]).start())
                try:
                    with anyio.fail_after(20):
                        event = await subscription.__anext__()
                    assert isinstance(event, ToolsListChanged)
                    with anyio.fail_after(20):
                        while tool not in {t.name for t in (await client.list_tools()).tools}:
                            await anyio.sleep(0.1)
                finally:
                    await anyio.to_thread.run_sync(agent.stop)

    anyio.run(main)


# Raw HTTP: what the SDK never sends

def test_every_result_has_a_result_type_and_discover_describes_the_server(dev, echo_agent):
    discovered = raw(dev.url, "server/discover").json()["result"]
    assert discovered["resultType"] == "complete" and VERSION in discovered["supportedVersions"]
    assert "2025-11-25" in discovered["supportedVersions"]
    assert discovered["capabilities"]["extensions"] == {TASKS: {}} and discovered["capabilities"]["tools"]["listChanged"]
    assert discovered["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "mcp-conductor"
    listed = raw(dev.url, "tools/list").json()["result"]
    assert listed["resultType"] == "complete" and listed["ttlMs"] == 0
    assert all("execution" not in tool for tool in listed["tools"])
    r = raw(dev.url, "tools/call", {"name": echo_agent.tool, "arguments": {"text": "sse"}})
    assert r.headers["content-type"].startswith("text/event-stream")
    assert sse_result(r)["result"]["resultType"] == "complete" and sse_result(r)["result"]["structuredContent"]["echo"] == "sse"
    r = raw(dev.url, "tools/call", {"name": echo_agent.tool, "arguments": {"text": "t"}}, tasks=True)
    created = r.json()["result"]
    assert created["resultType"] == "task" and created["status"] == "working" and "ttlMs" in created and created["pollIntervalMs"] == 200
    # A name that is not plain ASCII travels base64-encoded in the header.
    r = raw(dev.url, "tasks/get", {"taskId": created["taskId"]}, tasks=True,
            headers={"Mcp-Name": "=?base64?" + base64.b64encode(created["taskId"].encode()).decode() + "?="})
    assert r.status_code == 200 and r.json()["result"]["taskId"] == created["taskId"]


def test_a_subscription_follows_the_callers_tasks_with_the_tasks_extension(dev, echo_agent):
    # The SDK's listen() has no taskIds (the extension's field), so this is raw HTTP.
    r = raw(dev.url, "subscriptions/listen", {"notifications": {"taskIds": ["mcp-x"]}})
    assert r.status_code == 400 and r.json()["error"]["code"] == -32021
    created = raw(dev.url, "tools/call", {"name": echo_agent.tool, "arguments": {"text": "followed", "steps": 2, "stepSeconds": 0.3}},
                  tasks=True).json()["result"]
    params = {"notifications": {"taskIds": [created["taskId"], "mcp-00000000000000000000000000000000"], "toolsListChanged": True},
              "_meta": envelope(tasks=True)}
    headers = {**HEADERS, "MCP-Protocol-Version": VERSION, "Mcp-Method": "subscriptions/listen"}
    statuses = []
    with httpx.stream("POST", dev.url, headers=headers, json={"jsonrpc": "2.0", "id": 9, "method": "subscriptions/listen", "params": params},
                      timeout=30) as stream:
        lines = stream.iter_lines()
        messages = (json.loads(line[len("data: "):]) for line in lines if line.startswith("data: {"))
        acknowledged = next(messages)
        assert acknowledged["method"] == "notifications/subscriptions/acknowledged"
        assert acknowledged["params"]["notifications"] == {"toolsListChanged": True, "taskIds": [created["taskId"]]}
        assert acknowledged["params"]["_meta"] == {"io.modelcontextprotocol/subscriptionId": 9}
        for message in messages:
            if message["method"] == "notifications/tasks":
                assert message["params"]["taskId"] == created["taskId"]
                assert message["params"]["_meta"] == {"io.modelcontextprotocol/subscriptionId": 9}
                statuses.append(message["params"]["status"])
                if message["params"]["status"] == "completed":
                    assert message["params"]["result"]["structuredContent"]["echo"] == "followed"
                    break
    assert statuses[-1] == "completed" and set(statuses[:-1]) <= {"working"}, statuses


def test_a_subscription_its_client_closes_ends_at_once(dev):
    """A subscription with nothing to say writes only a keep-alive every 25 s: its client's close ends it (and its
    tasks) at once, rather than at the next keep-alive that fails."""
    connection = sent_raw(dev.mcp_port, {"jsonrpc": "2.0", "id": 9, "method": "subscriptions/listen",
                                         "params": {"notifications": {"toolsListChanged": True}, "_meta": envelope()}},
                          extra=f"MCP-Protocol-Version: {VERSION}\r\nMcp-Method: subscriptions/listen\r\n")
    port = connection.getsockname()[1]
    connection.settimeout(20)
    seen = b""
    while b"notifications/subscriptions/acknowledged" not in seen:
        seen += connection.recv(65536)
    assert seen.startswith(b"HTTP/1.1 200"), seen
    connection.close()
    wait_for(lambda: port not in server_ends(dev.mcp_port), 10, "the server's end of the subscription closed", interval=0.05)


def test_header_annotations_of_an_agents_schema_are_not_published_to_the_stateless_revision(dev, api):
    tool = unique("region")
    schema = {"type": "object", "properties": {"region": {"type": "string", "x-mcp-header": "Region"}}}
    agent = SimAgent(api, unique("agent").replace("_", "-"), [{"name": tool, "inputSchema": schema}]).start()
    try:
        listed = wait_for(lambda: next((t for t in raw(dev.url, "tools/list").json()["result"]["tools"] if t["name"] == tool), None),
                          30, f"{tool} offered")
        assert listed["inputSchema"] == {"type": "object", "properties": {"region": {"type": "string"}}}
    finally:
        agent.stop()


@pytest.mark.parametrize("headers, params, meta, code, status", [
    ({"Mcp-Method": "tools/list"}, {"name": "x"}, None, -32020, 400),            # Mcp-Method is not the body's method
    ({"Mcp-Name": "other"}, {"name": "x", "arguments": {}}, None, -32020, 400),  # Mcp-Name is not params.name
    ({"Mcp-Name": None}, {"name": "x", "arguments": {}}, None, -32020, 400),     # Mcp-Name missing
    ({"MCP-Protocol-Version": None}, {"name": "x"}, None, -32020, 400),          # the body says 2026-07-28, no header
    ({}, {"name": "x"}, {"io.modelcontextprotocol/protocolVersion": VERSION}, -32602, 400),  # no clientCapabilities
])
def test_requests_that_disagree_with_their_headers_are_refused(dev, headers, params, meta, code, status):
    r = raw(dev.url, "tools/call", params, headers=headers, meta=meta)
    assert r.status_code == status and r.json()["error"]["code"] == code, r.text


def test_an_unsupported_version_names_what_is_served(dev):
    r = raw(dev.url, "server/discover", headers={"MCP-Protocol-Version": "2099-01-01"},
            meta={**envelope(), "io.modelcontextprotocol/protocolVersion": "2099-01-01"})
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == -32022 and error["data"]["requested"] == "2099-01-01" and VERSION in error["data"]["supported"]


def test_removed_methods_are_not_found_and_tasks_need_the_extension(dev):
    for method in ("ping", "logging/setLevel", "tasks/result", "tasks/list", "initialize/nothing"):
        r = raw(dev.url, method, {"taskId": "mcp-x"} if method.startswith("tasks") else {})
        assert r.status_code == 404 and r.json()["error"]["code"] == -32601, (method, r.text)
    r = raw(dev.url, "tasks/get", {"taskId": "mcp-x"})
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == -32021 and error["data"]["requiredCapabilities"] == {"extensions": {TASKS: {}}}
    r = raw(dev.url, "tasks/get", {"taskId": "mcp-x"}, tasks=True)
    assert r.status_code == 400 and r.json()["error"] == {"code": -32602, "message": "Failed to retrieve task: Task not found"}
