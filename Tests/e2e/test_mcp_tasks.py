"""2025-11-25 MCP Tasks on Task resources, judged by the official Python SDK 1.x (`mcp==1.30.0`, its
`session.experimental` task calls, run in its own venv by mcp1_tasks.py), against `conductor dev` as a
process with simulated agents; raw HTTP only for what the SDK cannot send (an older revision's session)."""
import json
import pathlib
import subprocess

import httpx
import pytest

from conftest import DevProcess, conductor_binary, mcp1_python, running_cleanly, wait_for
from mcp_agent import SimAgent
from test_mcp import HEADERS, echo_capability, initialize, session_headers, unique

HERE = pathlib.Path(__file__).resolve().parent
POLL_INTERVAL = 0.2
# MCP tasks the (one, anonymous) caller may have working at once.
MAX_TASKS = 3


class TasksDev(DevProcess):
    """`conductor dev` suggesting short polls, so that the SDK's poll loops are short."""

    def __init__(self, data_dir: pathlib.Path):
        super().__init__(data_dir, extra_args=["--mcp-task-poll-interval", str(POLL_INTERVAL),
                                               "--mcp-max-tasks-per-caller", str(MAX_TASKS)])


@pytest.fixture(scope="module")
def dev(tmp_path_factory):
    yield from running_cleanly(TasksDev(tmp_path_factory.mktemp("mcp-tasks") / "dev"))


@pytest.fixture
def echo_agent(api, dev):
    """An agent offering one echo capability; its tool is `agent.tool`, offered once the catalog has it."""
    tool = unique("echo")
    agent = SimAgent(api, unique("agent").replace("_", "-"), [echo_capability(tool)]).start()
    agent.tool = tool
    wait_for(lambda: tool in mcp1(dev.url, [{"op": "tools"}])["steps"][0], 30, f"{tool} offered")
    yield agent
    agent.stop()


def mcp1(url: str | None, steps: list[dict], token: str | None = None, timeout: float = 120, stdio: dict | None = None) -> dict:
    """Runs `steps` in one session of the SDK 1.x (see mcp1_tasks.py), over HTTP at `url` or over `stdio`, and
    returns what they got."""
    spec = {"stdio": stdio} if stdio else {"url": url, "token": token}
    run = subprocess.run([mcp1_python(), str(HERE / "mcp1_tasks.py"), json.dumps({**spec, "steps": steps})],
                         capture_output=True, text=True, timeout=timeout)
    assert run.returncode == 0, run.stderr[-4000:]
    return json.loads(run.stdout)


def task_resource(api: httpx.Client, name: str) -> dict | None:
    r = api.get(f"/apis/mcp.io/v1/namespaces/default/tasks/{name}")
    return r.json() if r.status_code == 200 else None


NO_RETRIES = {"mcp.io/retryPolicy": {"maxRetries": 0}}


def test_the_tasks_capability_and_each_tools_task_support_are_declared(dev, echo_agent):
    out = mcp1(dev.url, [{"op": "tools"}])
    assert out["initialize"]["protocolVersion"] == "2025-11-25"
    tasks = out["initialize"]["capabilities"]["tasks"]
    assert tasks["requests"]["tools"]["call"] == {} and tasks["cancel"] == {}
    # --mcp-auth none: every caller is the same anonymous one, so tasks/list is not offered.
    assert "list" not in tasks
    support = out["steps"][0]
    assert support[echo_agent.tool] == "optional"
    assert {name: value for name, value in support.items() if name.startswith("conductor_")} == {
        name: "forbidden" for name in ("conductor_submit", "conductor_get", "conductor_wait", "conductor_cancel",
                                       "conductor_list_tasks", "conductor_list_agents")}


def test_a_task_is_created_polled_and_its_result_fetched_and_it_is_a_task_resource(dev, api, echo_agent):
    out = mcp1(dev.url, [
        {"op": "call_as_task", "tool": echo_agent.tool, "arguments": {"text": "hello", "steps": 2, "stepSeconds": 0.3}},
        {"op": "poll", "task": {"step": 0}},
        {"op": "result", "task": {"step": 0}},
        {"op": "get", "task": {"step": 0}},
    ])
    created, polled, result, got = out["steps"]
    task = created["task"]
    assert task["taskId"].startswith("mcp-") and len(task["taskId"]) == 36
    assert task["status"] == "working" and task.get("ttl") is None and task["pollInterval"] == int(POLL_INTERVAL * 1000)
    assert task["createdAt"] and task["lastUpdatedAt"]
    assert task["taskId"] in created["_meta"]["io.modelcontextprotocol/model-immediate-response"]
    assert polled[-1]["status"] == "completed"
    assert all(status["status"] == "working" for status in polled[:-1])
    assert result["structuredContent"]["echo"] == "hello" and not result.get("isError")
    assert result["_meta"]["io.modelcontextprotocol/related-task"] == {"taskId": task["taskId"]}
    # Once finished, the handle's ttl is known: from creation to the end, plus the requested 60 s.
    assert got["status"] == "completed" and got["ttl"] >= 60000
    resource = task_resource(api, task["taskId"])
    assert resource["status"]["phase"] == "Completed"
    annotations = resource["metadata"]["annotations"]
    assert annotations["mcp.io/caller"] == "system:anonymous" and annotations["mcp.io/task-ttl-ms"] == "60000"
    assert resource["spec"]["ttlSecondsAfterFinished"] >= 60


def test_the_session_that_made_a_task_hears_its_status_on_its_get_stream(dev, echo_agent):
    out = mcp1(dev.url, [
        {"op": "call_as_task", "tool": echo_agent.tool, "arguments": {"text": "x", "steps": 2, "stepSeconds": 0.3}},
        {"op": "notified", "task": {"step": 0}, "status": "completed"},
    ])
    statuses = out["steps"][1]
    assert statuses[-1] == "completed" and set(statuses[:-1]) <= {"working"}, statuses


def test_a_failed_task_is_failed_with_its_reason_and_its_result_is_a_tool_error(dev, echo_agent):
    out = mcp1(dev.url, [
        {"op": "call_as_task", "tool": echo_agent.tool, "arguments": {"text": "x", "fail": "the disk is full"}, "meta": NO_RETRIES},
        {"op": "poll", "task": {"step": 0}},
        {"op": "result", "task": {"step": 0}},
    ])
    _, polled, result = out["steps"]
    # The controller's final word: the agent's attempt failed and no retry was left.
    assert polled[-1]["status"] == "failed" and polled[-1]["statusMessage"].startswith("RetriesExhausted: ")
    assert "ExecutionFailed" in polled[-1]["statusMessage"]
    assert result["isError"] and "RetriesExhausted" in result["content"][0]["text"]
    assert result["_meta"]["io.modelcontextprotocol/related-task"]["taskId"] == out["steps"][0]["task"]["taskId"]


def test_cancelling_a_running_task_stops_its_agent_and_the_task_stays_cancelled(dev, api, echo_agent):
    created = mcp1(dev.url, [{"op": "call_as_task", "tool": echo_agent.tool, "arguments": {"text": "x", "waitForCancel": True}}])
    name = created["steps"][0]["task"]["taskId"]
    wait_for(lambda: (task_resource(api, name) or {}).get("status", {}).get("phase") == "Running", 20, f"{name} running")
    # Another session: a handle belongs to its caller, not to the session that made it.
    out = mcp1(dev.url, [
        {"op": "cancel", "task": name},
        {"op": "get", "task": name},
        {"op": "cancel", "task": name},
        {"op": "result", "task": name},
    ])
    cancelled, got, again, result = out["steps"]
    assert cancelled["status"] == "cancelled" and cancelled["taskId"] == name
    assert got["status"] == "cancelled" and isinstance(got["ttl"], int)
    assert again["error"]["code"] == -32602 and "terminal status 'cancelled'" in again["error"]["message"]
    assert result["isError"] and "cancelled" in result["content"][0]["text"]
    wait_for(lambda: name in echo_agent.cancelled, 20, "the agent saw the cancellation")
    final = wait_for(lambda: (task_resource(api, name) or {}).get("status", {}).get("reason") == "Cancelled" and task_resource(api, name),
                     20, f"{name} failed Cancelled")
    assert final["status"]["phase"] == "Failed"
    assert final["metadata"]["annotations"]["mcp.io/cancel-requested-at"]
    assert mcp1(dev.url, [{"op": "get", "task": name}])["steps"][0]["status"] == "cancelled"


def test_a_caller_has_at_most_its_limit_of_tasks_working(dev, api, echo_agent):
    waiting = {"op": "call_as_task", "tool": echo_agent.tool, "arguments": {"text": "x", "waitForCancel": True}}
    out = mcp1(dev.url, [waiting] * (MAX_TASKS + 1))
    names = [step["task"]["taskId"] for step in out["steps"] if "task" in step]
    try:
        refused = out["steps"][MAX_TASKS].get("error")
        assert refused and refused["code"] == -32600 and "--mcp-max-tasks-per-caller" in refused["message"], out["steps"]
    except AssertionError:
        # Ends what this test started, so that the module's other tests are not refused for its tasks.
        mcp1(dev.url, [{"op": "cancel", "task": name} for name in names])
        raise
    for name in names:
        wait_for(lambda: (task_resource(api, name) or {}).get("status", {}).get("phase") == "Running", 20, f"{name} running")
    cancelled = mcp1(dev.url, [{"op": "cancel", "task": name} for name in names] + [waiting, {"op": "cancel", "task": {"step": MAX_TASKS}}])
    assert [step["status"] for step in cancelled["steps"][:MAX_TASKS]] == ["cancelled"] * MAX_TASKS
    # One ended: a new one is taken.
    assert cancelled["steps"][MAX_TASKS]["task"]["status"] == "working"
    assert cancelled["steps"][MAX_TASKS + 1]["status"] == "cancelled"


def test_a_completed_task_cannot_be_cancelled(dev, echo_agent):
    out = mcp1(dev.url, [
        {"op": "call_as_task", "tool": echo_agent.tool, "arguments": {"text": "x"}},
        {"op": "poll", "task": {"step": 0}},
        {"op": "cancel", "task": {"step": 0}},
    ])
    assert out["steps"][2]["error"] == {"code": -32602, "message": "Cannot cancel task: already in terminal status 'completed'"}


def test_unknown_ids_and_forbidden_or_invalid_task_calls_are_the_specifications_errors(dev, echo_agent):
    out = mcp1(dev.url, [
        {"op": "get", "task": "mcp-00000000000000000000000000000000"},
        {"op": "result", "task": "no-such-task"},
        {"op": "cancel", "task": "../../secrets/x"},
        {"op": "call_as_task", "tool": "conductor_list_agents", "arguments": {}},
        {"op": "call_as_task", "tool": echo_agent.tool, "arguments": {"steps": 1}},
    ])
    for step in out["steps"][:3]:
        assert step["error"] == {"code": -32602, "message": "Failed to retrieve task: Task not found"}
    assert out["steps"][3]["error"]["code"] == -32601
    assert out["steps"][4]["error"]["code"] == -32602 and "`text` is required" in out["steps"][4]["error"]["message"]


def test_a_handle_expires_its_ttl_after_the_task_ended_while_the_task_resource_stays(dev, api, echo_agent):
    out = mcp1(dev.url, [
        {"op": "call_as_task", "tool": echo_agent.tool, "arguments": {"text": "x"}, "ttl": 2000},
        {"op": "poll", "task": {"step": 0}},
    ])
    name = out["steps"][0]["task"]["taskId"]
    assert out["steps"][1][-1]["status"] == "completed"

    def expired():
        step = mcp1(dev.url, [{"op": "get", "task": name}])["steps"][0]
        return step.get("error", {}).get("message") == "Failed to retrieve task: Task has expired"
    wait_for(expired, 20, f"{name} expired")
    resource = task_resource(api, name)
    assert resource is not None and resource["spec"]["ttlSecondsAfterFinished"] >= 2


def test_tasks_work_over_stdio_too(dev, api, echo_agent):
    stdio = {"command": conductor_binary(), "args": ["mcp", "--kubeconfig", str(dev.data_dir / "kubeconfig")]}
    wait_for(lambda: echo_agent.tool in mcp1(None, [{"op": "tools"}], stdio=stdio)["steps"][0], 30, "the tool over stdio")
    out = mcp1(None, [
        {"op": "call_as_task", "tool": echo_agent.tool, "arguments": {"text": "stdio"}},
        {"op": "result", "task": {"step": 0}},
        {"op": "get", "task": {"step": 0}},
    ], stdio=stdio)
    created, result, got = out["steps"]
    assert result["structuredContent"]["echo"] == "stdio" and got["status"] == "completed"
    caller = task_resource(api, created["task"]["taskId"])["metadata"]["annotations"]["mcp.io/caller"]
    assert caller.startswith("stdio:")
    # Another identity (the HTTP front end's anonymous caller) does not see it.
    assert mcp1(dev.url, [{"op": "get", "task": created["task"]["taskId"]}])["steps"][0]["error"]["code"] == -32602


def test_an_older_revision_sees_no_tasks_and_its_task_parameter_is_ignored(dev, echo_agent):
    with httpx.Client(timeout=30) as http:
        r = http.post(dev.url, headers=HEADERS, json={"jsonrpc": "2.0", "id": 0, "method": "initialize",
                                                      "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                                                                 "clientInfo": {"name": "raw", "version": "1"}}})
        assert r.status_code == 200 and "tasks" not in r.json()["result"]["capabilities"]
        headers = {**HEADERS, "MCP-Session-Id": r.headers["mcp-session-id"], "MCP-Protocol-Version": "2025-06-18"}
        tools = http.post(dev.url, headers=headers, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).json()["result"]["tools"]
        assert tools and all("execution" not in tool for tool in tools)
        called = http.post(dev.url, headers=headers, json={"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": echo_agent.tool, "arguments": {"text": "plain"}, "task": {"ttl": 1000}}}).json()["result"]
        assert called["structuredContent"]["echo"] == "plain" and "task" not in called
        r = http.post(dev.url, headers=headers, json={"jsonrpc": "2.0", "id": 3, "method": "tasks/list"})
        assert r.json()["error"]["code"] == -32601


def test_tasks_result_answers_as_sse_and_a_bad_ttl_is_invalid_params(dev, echo_agent):
    with httpx.Client(timeout=30) as http:
        session = initialize(http, dev.url)
        headers = session_headers(session)
        r = http.post(dev.url, headers=headers, json={"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
            "name": echo_agent.tool, "arguments": {"text": "x"}, "task": {"ttl": "long"}}})
        assert r.json()["error"]["code"] == -32602
        created = http.post(dev.url, headers=headers, json={"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": echo_agent.tool, "arguments": {"text": "sse", "steps": 1}, "task": {}}}).json()["result"]["task"]
        assert created["status"] == "working"
        with http.stream("POST", dev.url, headers=headers, json={"jsonrpc": "2.0", "id": 3, "method": "tasks/result",
                                                                 "params": {"taskId": created["taskId"]}}) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            messages = [json.loads(line[len("data: "):]) for line in r.iter_lines() if line.startswith("data: {")]
        assert messages[-1]["id"] == 3 and messages[-1]["result"]["structuredContent"]["echo"] == "sse"


# Replicas and identities

from test_mcp_auth import ALICE, BOB, secured, secured_api  # noqa: E402,F401  (fixtures)
from test_mcp_replicas import agent, replicas  # noqa: E402,F401  (fixtures)


def test_a_task_made_through_one_replica_is_read_through_another_and_after_every_replica_restarted(replicas, agent):
    first, second = replicas
    for replica in replicas:
        wait_for(lambda: "echo" in mcp1(replica.url, [{"op": "tools"}])["steps"][0], 30, f"echo offered by {replica.identity}")
    name = mcp1(first.url, [{"op": "call_as_task", "tool": "echo", "arguments": {"text": "durable", "steps": 2}}])["steps"][0]["task"]["taskId"]
    got, result = mcp1(second.url, [{"op": "get", "task": name}, {"op": "result", "task": name}])["steps"]
    assert got["taskId"] == name and got["status"] in ("working", "completed")
    assert result["structuredContent"]["echo"] == "durable"
    for replica in replicas:
        replica.stop()
    for replica in replicas:
        replica.start()
    got, result = mcp1(first.url, [{"op": "get", "task": name}, {"op": "result", "task": name}])["steps"]
    assert got["status"] == "completed" and result["structuredContent"]["echo"] == "durable"
    assert result["_meta"]["io.modelcontextprotocol/related-task"] == {"taskId": name}


def test_a_task_is_visible_only_to_the_identity_that_made_it(secured):
    with secured_api(secured) as admin:
        binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                   "metadata": {"name": "bob-calls", "namespace": "default"},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "mcp-caller"},
                   "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "bob"}]}
        assert admin.post("/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings", json=binding).status_code == 201
        agent = SimAgent(admin, "agent-1", [echo_capability("echo", output_schema=False)]).start()
        try:
            wait_for(lambda: "echo" in mcp1(secured.url, [{"op": "tools"}], token=ALICE)["steps"][0], 30, "echo offered")
            # More than a page (50), so that the list is followed through its cursor.
            steps = [{"op": "call_as_task", "tool": "echo", "arguments": {"text": f"n{n}"}} for n in range(51)]
            alice = mcp1(secured.url, steps + [{"op": "poll", "task": {"step": 0}}, {"op": "list_all"}], token=ALICE)
            assert "list" in alice["initialize"]["capabilities"]["tasks"]
            ids = [step["task"]["taskId"] for step in alice["steps"][:51]]
            listed = alice["steps"][-1]
            assert set(ids) <= set(listed["ids"]) and listed["pages"] >= 2 and listed["ids"] == sorted(listed["ids"])
            name = ids[0]
            bob = mcp1(secured.url, [{"op": "get", "task": name}, {"op": "result", "task": name}, {"op": "cancel", "task": name},
                                     {"op": "list_all"}], token=BOB)
            for step in bob["steps"][:3]:
                assert step["error"] == {"code": -32602, "message": "Failed to retrieve task: Task not found"}
            assert not set(ids) & set(bob["steps"][3]["ids"])
            mine = mcp1(secured.url, [{"op": "get", "task": name}], token=ALICE)["steps"][0]
            assert mine["taskId"] == name and mine["status"] == "completed"
        finally:
            agent.stop()
