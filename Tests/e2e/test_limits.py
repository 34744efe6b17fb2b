"""The project's own limits (shared/DESIGN.md, Limits): a Task's spec.payload and status.result are each capped
at 256 KiB serialized. Over the cap a write is 422 Invalid, with a cause that names the field, its size and the
cap, and nothing is stored; at or under it the write goes through. Other kinds keep only the server's limits.
"""
import json

import pytest

from conftest import apply_project_crds, create_namespace

NS = "limits"
TASKS = f"/apis/mcp.io/v1/namespaces/{NS}/tasks"
AGENTS = f"/apis/mcp.io/v1/namespaces/{NS}/agents"
CAP = 256 * 1024
MERGE = {"Content-Type": "application/merge-patch+json"}


def task(name: str, payload: dict) -> dict:
    return {"apiVersion": "mcp.io/v1", "kind": "Task", "metadata": {"name": name},
            "spec": {"requiredCapabilities": ["echo"], "payload": payload}}


def blob_of(serialized_size: int) -> dict:
    """An object whose compact JSON serialization is exactly `serialized_size` bytes."""
    overhead = len(json.dumps({"blob": ""}, separators=(",", ":")))
    return {"blob": "x" * (serialized_size - overhead)}


@pytest.fixture(scope="module")
def c(client):
    apply_project_crds(client)
    create_namespace(client, NS)
    return client


def assert_capped(r, field: str, size: int, name: str) -> None:
    assert r.status_code == 422, r.text
    status = r.json()
    assert status["kind"] == "Status" and status["reason"] == "Invalid" and status["code"] == 422
    assert status["details"]["kind"] == "Task" and status["details"]["group"] == "mcp.io"
    assert status["details"]["name"] == name
    [cause] = status["details"]["causes"]
    assert cause["field"] == field
    assert cause["reason"] == "FieldValueTooLong"
    assert str(CAP) in cause["message"] and "256 KiB" in cause["message"] and str(size) in cause["message"]
    assert status["message"] == f'Task.mcp.io "{name}" is invalid: {field}: {cause["message"]}'


def test_create_with_payload_over_the_cap_is_invalid_and_stores_nothing(c):
    size = CAP + 1
    r = c.post(TASKS, json=task("too-big", blob_of(size)))
    assert_capped(r, "spec.payload", size, "too-big")
    assert c.get(f"{TASKS}/too-big").status_code == 404


def test_create_with_payload_at_the_cap_is_stored(c):
    r = c.post(TASKS, json=task("at-cap", blob_of(CAP)))
    assert r.status_code == 201, r.text[:300]
    assert len(json.dumps(r.json()["spec"]["payload"], separators=(",", ":"))) == CAP


def test_update_and_patch_of_payload_over_the_cap_are_invalid(c):
    r = c.post(TASKS, json=task("grows", {"n": 1}))
    assert r.status_code == 201, r.text
    size = CAP + 100
    r = c.patch(f"{TASKS}/grows", content=json.dumps([{"op": "replace", "path": "/spec/payload", "value": blob_of(size)}]),
                headers={"Content-Type": "application/json-patch+json"})
    assert_capped(r, "spec.payload", size, "grows")
    current = c.get(f"{TASKS}/grows").json()
    replaced = dict(current, spec=dict(current["spec"], payload=blob_of(size)))
    assert_capped(c.put(f"{TASKS}/grows", json=replaced), "spec.payload", size, "grows")
    after = c.get(f"{TASKS}/grows").json()
    assert after["metadata"]["resourceVersion"] == current["metadata"]["resourceVersion"]
    assert after["spec"]["payload"] == {"n": 1}


def test_status_patch_with_result_over_the_cap_is_invalid_and_stores_nothing(c):
    r = c.post(TASKS, json=task("result", {"n": 1}))
    assert r.status_code == 201, r.text
    before = r.json()["metadata"]["resourceVersion"]
    size = CAP + 7
    r = c.patch(f"{TASKS}/result/status", content=json.dumps({"status": {"phase": "Completed", "result": blob_of(size)}}),
                headers=MERGE)
    assert_capped(r, "status.result", size, "result")
    after = c.get(f"{TASKS}/result").json()
    assert after["metadata"]["resourceVersion"] == before
    assert "result" not in after.get("status", {})


def test_status_patch_with_result_at_the_cap_is_stored(c):
    r = c.post(TASKS, json=task("result-ok", {"n": 1}))
    assert r.status_code == 201, r.text
    r = c.patch(f"{TASKS}/result-ok/status", content=json.dumps({"status": {"result": blob_of(CAP)}}), headers=MERGE)
    assert r.status_code == 200, r.text[:300]
    assert c.get(f"{TASKS}/result-ok").json()["status"]["result"] == blob_of(CAP)


def test_both_fields_over_the_cap_give_one_cause_each(c):
    r = c.post(TASKS, json=task("both", {"n": 1}))
    assert r.status_code == 201, r.text
    r = c.patch(f"{TASKS}/both/status", content=json.dumps({"status": {"result": blob_of(CAP)}}), headers=MERGE)
    assert r.status_code == 200, r.text[:300]
    # the main resource's update cannot change status; only the payload is judged there
    r = c.patch(f"{TASKS}/both", content=json.dumps({"spec": {"payload": blob_of(CAP + 1)}}), headers=MERGE)
    assert [cause["field"] for cause in r.json()["details"]["causes"]] == ["spec.payload"]


def test_other_kinds_are_not_capped(c):
    """The cap is the Task's own: an Agent may carry a larger preserved field (up to the 3 MiB request limit)."""
    agent = {"apiVersion": "mcp.io/v1", "kind": "Agent", "metadata": {"name": "roomy"},
             "spec": {"capabilities": ["echo"],
                      "capabilityDetails": [{"name": "echo", "inputSchema": {"type": "object",
                                                                             "description": "d" * (CAP + 1)}}]}}
    r = c.post(AGENTS, json=agent)
    assert r.status_code == 201, r.text[:300]
