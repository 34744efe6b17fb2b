"""Request options as kube-apiserver checks them, before it touches the object: DeleteOptions, CreateOptions,
PatchOptions and ListOptions (422 Invalid of kind XOptions in group meta.k8s.io, or 400 for a value that does not
convert), strict decoding of repeated fields, methods a resource path does not serve, and the HTTP/1.1 requests
that NIO's codec would answer without a Status (a method it does not know, CONNECT).
"""
import http.client
import json

import pytest

from conftest import apply_project_crds, create_namespace

NS = "options"
TASKS = f"/apis/mcp.io/v1/namespaces/{NS}/tasks"
JSON = {"Content-Type": "application/json"}


def task(name: str, **spec) -> dict:
    return {"apiVersion": "mcp.io/v1", "kind": "Task", "metadata": {"name": name},
            "spec": {"requiredCapabilities": ["echo"], **spec}}


@pytest.fixture(scope="module")
def c(client):
    apply_project_crds(client)
    create_namespace(client, NS)
    return client


@pytest.fixture
def victim(c):
    """A task that a request rejected as it should leaves in place."""
    body = task("")
    body["metadata"] = {"generateName": "victim-"}
    r = c.post(TASKS, json=body)
    assert r.status_code == 201, r.text
    return r.json()["metadata"]["name"]


def invalid_options(r, kind: str) -> list[dict]:
    assert r.status_code == 422, r.text
    status = r.json()
    assert status["reason"] == "Invalid"
    assert status["details"]["group"] == "meta.k8s.io" and status["details"]["kind"] == kind
    assert status["details"]["name"] == ""
    assert status["message"].startswith(f'{kind}.meta.k8s.io "" is invalid: ')
    return status["details"]["causes"]


# -- DeleteOptions

def test_delete_propagation_policy_not_supported(c, victim):
    r = c.request("DELETE", f"{TASKS}/{victim}", content=json.dumps({"propagationPolicy": "Sideways"}), headers=JSON)
    assert invalid_options(r, "DeleteOptions") == [{
        "field": "propagationPolicy", "reason": "FieldValueNotSupported",
        "message": 'Unsupported value: "Sideways": supported values: "Foreground", "Background", "Orphan", "nil"'}]
    assert c.get(f"{TASKS}/{victim}").status_code == 200


def test_delete_options_checked_before_the_object_is_looked_up(c):
    r = c.delete(f"{TASKS}/missing", params={"propagationPolicy": "Sideways"})
    assert r.status_code == 422, r.text


def test_delete_orphan_dependents_with_propagation_policy(c, victim):
    r = c.delete(f"{TASKS}/{victim}", params={"orphanDependents": "true", "propagationPolicy": "Background"})
    [cause] = invalid_options(r, "DeleteOptions")
    assert cause["message"] == 'Invalid value: "Background": orphanDependents and deletionPropagation cannot be both set'


@pytest.mark.parametrize("value, reason", [("abc", "invalid syntax"), ("99999999999999999999", "value out of range")])
def test_delete_grace_period_that_is_not_an_integer(c, victim, value, reason):
    r = c.delete(f"{TASKS}/{victim}", params={"gracePeriodSeconds": value})
    assert r.status_code == 400, r.text
    assert r.json()["reason"] == "BadRequest"
    assert r.json()["message"] == f'strconv.ParseInt: parsing "{value}": {reason}'
    assert c.get(f"{TASKS}/{victim}").status_code == 200


def test_delete_grace_period_of_the_wrong_json_type(c, victim):
    r = c.request("DELETE", f"{TASKS}/{victim}", content=json.dumps({"gracePeriodSeconds": "abc"}), headers=JSON)
    assert r.status_code == 400, r.text
    assert "DeleteOptions.gracePeriodSeconds of type int64" in r.json()["message"]


def test_delete_dry_run_in_the_body_deletes_nothing(c, victim):
    """kubectl delete --dry-run=server sends dryRun in the DeleteOptions body, not the query."""
    r = c.request("DELETE", f"{TASKS}/{victim}", content=json.dumps({"dryRun": ["All"]}), headers=JSON)
    assert r.status_code == 200, r.text
    assert c.get(f"{TASKS}/{victim}").status_code == 200
    r = c.delete(f"{TASKS}/{victim}", params={"dryRun": "Bogus"})
    [cause] = invalid_options(r, "DeleteOptions")
    assert cause["message"] == 'Unsupported value: []string{"Bogus"}: supported values: "All"'


def test_deletecollection_across_namespaces_is_not_allowed(c, victim):
    r = c.delete("/apis/mcp.io/v1/tasks")
    assert r.status_code == 405, r.text
    assert r.json()["reason"] == "MethodNotAllowed"
    assert c.get(f"{TASKS}/{victim}").status_code == 200


def test_create_across_namespaces_is_not_allowed(c):
    r = c.post("/apis/mcp.io/v1/tasks", json=task("nowhere"))
    assert r.status_code == 405, r.text


# -- CreateOptions, PatchOptions

def test_field_manager_too_long(c):
    r = c.post(TASKS, params={"fieldManager": "m" * 129}, json=task("long-manager"))
    assert invalid_options(r, "CreateOptions") == [{
        "field": "fieldManager", "reason": "FieldValueTooLong", "message": "Too long: may not be more than 128 bytes"}]
    assert c.post(TASKS, params={"fieldManager": "m" * 128}, json=task("long-manager")).status_code == 201


def test_field_manager_with_a_control_character(c):
    r = c.post(TASKS, params={"fieldManager": "ab\x01"}, json=task("odd-manager"))
    [cause] = invalid_options(r, "CreateOptions")
    assert cause["message"] == 'Invalid value: "ab\\x01": invalid character U+0001 (at position 2)'
    assert c.get(f"{TASKS}/odd-manager").status_code == 404


def test_create_options_are_checked_before_the_body(c):
    r = c.post(TASKS, params={"dryRun": "Bogus", "fieldValidation": "Loose"}, content=b"{not json", headers=JSON)
    causes = invalid_options(r, "CreateOptions")
    assert [cause["message"] for cause in causes] == [
        'Unsupported value: []string{"Bogus"}: supported values: "All"',
        'Unsupported value: "Loose": supported values: "", "Ignore", "Strict", "Warn"']


def test_force_on_a_merge_patch(c, victim):
    r = c.patch(f"{TASKS}/{victim}", params={"force": "true"}, content=b"{}",
                headers={"Content-Type": "application/merge-patch+json"})
    [cause] = invalid_options(r, "PatchOptions")
    assert cause == {"field": "force", "reason": "FieldValueForbidden",
                     "message": "Forbidden: may not be specified for non-apply patch"}


# -- ListOptions

def test_resource_version_match_without_resource_version(c):
    r = c.get(TASKS, params={"resourceVersionMatch": "NotOlderThan"})
    assert invalid_options(r, "ListOptions") == [{
        "field": "resourceVersionMatch", "reason": "FieldValueForbidden",
        "message": "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"}]
    assert c.get(TASKS, params={"resourceVersionMatch": "NotOlderThan", "resourceVersion": "0"}).status_code == 200


def test_send_initial_events_on_a_list(c):
    [cause] = invalid_options(c.get(TASKS, params={"sendInitialEvents": "true"}), "ListOptions")
    assert cause["message"] == "Forbidden: sendInitialEvents is forbidden for list"


# -- strict decoding

def test_duplicate_fields_under_strict_validation(c):
    body = (b'{"apiVersion":"mcp.io/v1","kind":"Task","metadata":{"name":"dup"},'
            b'"spec":{"requiredCapabilities":["echo"],"priority":1,"priority":2,"bogus":true}}')
    r = c.post(TASKS, params={"fieldValidation": "Strict"}, content=body, headers=JSON)
    assert r.status_code == 400, r.text
    assert r.json()["message"] == ('Task in version "v1" cannot be handled as a Task: strict decoding error: '
                                   'duplicate field "spec.priority", unknown field "spec.bogus"')
    r = c.post(TASKS, params={"fieldValidation": "Warn"}, content=body, headers=JSON)
    assert r.status_code == 201, r.text
    assert r.json()["spec"]["priority"] == 2  # the last one wins, as in Go
    assert 'duplicate field \\"spec.priority\\"' in r.headers.get_list("warning")[0]


# -- HTTP/1.1: methods the parser does not know, CONNECT

def raw_request(server, method: str, path: str) -> tuple[int, dict, bytes]:
    tls = server.tls()
    tls.set_alpn_protocols(["http/1.1"])
    conn = http.client.HTTPSConnection("127.0.0.1", server.port, context=tls, timeout=10)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        conn.putheader("Authorization", f"Bearer {server.token}")
        conn.endheaders()
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


@pytest.mark.parametrize("method", ["FOO", "get", "CONNECT"])
def test_unserved_methods_get_a_status(apiserver, c, method):
    status, headers, body = raw_request(apiserver, method, TASKS)
    assert status == 405
    assert headers["Content-Type"] == "application/json"
    assert int(headers["Content-Length"]) == len(body)
    answer = json.loads(body)
    assert answer["kind"] == "Status" and answer["reason"] == "MethodNotAllowed" and answer["code"] == 405
    assert c.get("/readyz").status_code == 200
