"""Fuzzing the MCP front end's HTTP and JSON-RPC handling with hypothesis: random bytes, mutated valid
messages and random JSON values, with and without a session. Whatever comes in, the server stays up and
every answer is a well-formed HTTP status with a well-formed JSON-RPC body (or none for 202)."""
import json

import httpx
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from test_mcp import HEADERS, dev, initialize, session_headers  # noqa: F401  (dev is the module fixture)

ALLOWED = {200, 202, 400, 404, 406, 413, 415}

VALID = [
    {"jsonrpc": "2.0", "id": 1, "method": "ping"},
    {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}},
    {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "conductor_get", "arguments": {"name": "x"}}},
    {"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "conductor_list_tasks", "arguments": {"limit": 2}}},
    {"jsonrpc": "2.0", "id": 5, "method": "logging/setLevel", "params": {"level": "info"}},
    {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 9}},
    {"jsonrpc": "2.0", "id": 6, "result": {}},
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20)


def mutate(message: dict, data) -> bytes:
    text = json.dumps(message)
    choice = data.draw(st.integers(0, 4))
    if choice == 0:  # cut it short
        return text[: data.draw(st.integers(0, len(text)))].encode()
    if choice == 1:  # flip a character
        index = data.draw(st.integers(0, len(text) - 1))
        return (text[:index] + data.draw(st.characters(codec="utf-8")) + text[index + 1:]).encode()
    if choice == 2:  # replace a member's value
        key = data.draw(st.sampled_from(sorted(message)))
        return json.dumps({**message, key: data.draw(json_values)}).encode()
    if choice == 3:  # replace the params
        return json.dumps({**message, "params": data.draw(json_values)}).encode()
    return json.dumps(data.draw(json_values)).encode()


def check(response: httpx.Response) -> None:
    assert response.status_code in ALLOWED, (response.status_code, response.text)
    if response.status_code == 202:
        assert response.content == b""
        return
    body = response.json()
    assert body["jsonrpc"] == "2.0" and "id" in body
    assert ("result" in body) != ("error" in body)
    if "error" in body:
        assert isinstance(body["error"]["code"], int) and isinstance(body["error"]["message"], str)


@pytest.fixture(scope="module")
def fuzz_session(dev):  # noqa: F811
    with httpx.Client(timeout=30) as http:
        yield initialize(http, dev.url)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_messages_in_a_session_get_well_formed_answers(dev, fuzz_session, data):  # noqa: F811
    body = mutate(data.draw(st.sampled_from(VALID)), data)
    with httpx.Client(timeout=30) as http:
        check(http.post(dev.url, headers=session_headers(fuzz_session), content=body))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=300), with_session=st.booleans())
def test_random_bytes_get_well_formed_answers(dev, fuzz_session, body, with_session):  # noqa: F811
    headers = session_headers(fuzz_session) if with_session else HEADERS
    with httpx.Client(timeout=30) as http:
        check(http.post(dev.url, headers=headers, content=body))


# 2026-07-28: no session, the envelope in each request's _meta and the routing headers

ENVELOPE = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {"extensions": {"io.modelcontextprotocol/tasks": {}}}}

STATELESS = [
    {"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": ENVELOPE}},
    {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {"_meta": ENVELOPE}},
    {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "conductor_get", "arguments": {"name": "x"}, "_meta": ENVELOPE}},
    {"jsonrpc": "2.0", "id": 4, "method": "tasks/get", "params": {"taskId": "mcp-x", "_meta": ENVELOPE}},
    {"jsonrpc": "2.0", "id": 5, "method": "tasks/cancel", "params": {"taskId": "mcp-x", "_meta": ENVELOPE}},
]


def check_stateless(response: httpx.Response) -> None:
    """As `check`, for answers that may come as SSE (a capability tool call waits on a stream): its last event."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        assert response.status_code == 200
        data = [line[len("data: "):] for line in response.text.splitlines() if line.startswith("data: {")]
        body = json.loads(data[-1])
        assert ("result" in body) != ("error" in body)
        return
    check(response)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_stateless_messages_get_well_formed_answers(dev, data):  # noqa: F811
    message = data.draw(st.sampled_from(STATELESS))
    headers = {**HEADERS, "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": message["method"]}
    if message["method"] == "tools/call":
        headers["Mcp-Name"] = message["params"]["name"]
    body = mutate(message, data)
    with httpx.Client(timeout=30) as http:
        check_stateless(http.post(dev.url, headers=headers, content=body))
