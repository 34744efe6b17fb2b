"""--mcp-auth kubernetes: callers' bearer tokens are checked with TokenReviews and every action is authorized
with a SubjectAccessReview on tasks.mcp.io (agents.mcp.io to list agents), against `conductor apiserver` with
RBAC: a caller sees and does what Kubernetes RBAC lets it, and a session is bound to the caller that opened it."""
import pytest
import httpx

from conftest import APIServer, apply_project_crds
from test_mcp import HEADERS
from test_mcp_replicas import Replica

ISSUER = "https://issuer.example.com"
ADMIN, ALICE, BOB = "admin-token-0123456789", "alice-token-0123456789", "bob-token-0123456789"


@pytest.fixture
def secured(tmp_path):
    data = tmp_path / "apiserver"
    data.mkdir()
    (data / "tokens.csv").write_text(f'{ADMIN},admin,uid-admin,"system:masters"\n{ALICE},alice,uid-alice,""\n{BOB},bob,uid-bob,""\n')
    server = APIServer(data)
    server.start()
    with server.client() as client:
        apply_project_crds(client)
        client.post("/api/v1/namespaces", json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mcp-system"}})
        role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "mcp-caller", "namespace": "default"},
                "rules": [{"apiGroups": ["mcp.io"], "resources": ["tasks"], "verbs": ["create", "get", "list", "patch"]}]}
        assert client.post("/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles", json=role).status_code == 201
        binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                   "metadata": {"name": "alice-calls", "namespace": "default"},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "mcp-caller"},
                   "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "alice"}]}
        assert client.post("/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings", json=binding).status_code == 201
    key = tmp_path / "key"
    key.write_text("ef" * 32)
    replica = Replica(server, tmp_path, "secured", key)
    replica.args[replica.args.index("--mcp-auth") + 1] = "kubernetes"
    replica.args += ["--mcp-oauth-issuer", ISSUER]
    replica.start()
    yield replica
    replica.stop()
    server.stop()


def initialize(http: httpx.Client, url: str, token: str | None) -> httpx.Response:
    return http.post(url, headers={**HEADERS, **({"Authorization": f"Bearer {token}"} if token else {})},
                     json={"jsonrpc": "2.0", "id": 0, "method": "initialize",
                           "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "a", "version": "1"}}})


def call(http: httpx.Client, url: str, token: str, session: str, tool: str, arguments: dict) -> dict:
    r = http.post(url, headers={**HEADERS, "Authorization": f"Bearer {token}", "MCP-Session-Id": session},
                  json={"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": arguments}})
    assert r.status_code == 200, r.text
    return r.json()["result"]


def test_tokens_are_reviewed_and_actions_authorized_by_rbac(secured):
    url = secured.url
    with httpx.Client(timeout=30) as http:
        r = initialize(http, url, token=None)
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
        r = http.post(url, headers=HEADERS, json={"jsonrpc": "2.0", "id": 0, "method": "ping"})
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
        r = initialize(http, url, token="not-a-token")
        assert r.status_code == 401 and "not accepted" in r.json()["error"]["message"]

        alice = initialize(http, url, ALICE)
        assert alice.status_code == 200
        alice_session = alice.headers["mcp-session-id"]
        submitted = call(http, url, ALICE, alice_session, "conductor_submit", {"capabilities": ["x"], "payload": {"n": 1}})
        assert not submitted["isError"], submitted
        name = submitted["structuredContent"]["name"]
        got = call(http, url, ALICE, alice_session, "conductor_get", {"name": name})
        assert got["structuredContent"]["name"] == name
        with secured_api(secured) as api:
            task = api.get(f"/apis/mcp.io/v1/namespaces/default/tasks/{name}").json()
            assert task["metadata"]["annotations"]["mcp.io/caller"] == "alice"
        agents = call(http, url, ALICE, alice_session, "conductor_list_agents", {})
        assert agents["isError"] and "alice may not list agents.mcp.io" in agents["content"][0]["text"]

        bob = initialize(http, url, BOB)
        assert bob.status_code == 200  # authenticated: authorization is per action
        bob_session = bob.headers["mcp-session-id"]
        refused = call(http, url, BOB, bob_session, "conductor_submit", {"capabilities": ["x"]})
        assert refused["isError"] and "bob may not create tasks.mcp.io in namespace default" in refused["content"][0]["text"]
        refused = call(http, url, BOB, bob_session, "conductor_get", {"name": name})
        assert refused["isError"] and "bob may not get tasks.mcp.io" in refused["content"][0]["text"]

        # A session id is no credential: alice's session with bob's token is unknown.
        r = http.post(url, headers={**HEADERS, "Authorization": f"Bearer {BOB}", "MCP-Session-Id": alice_session},
                      json={"jsonrpc": "2.0", "id": 2, "method": "ping"})
        assert r.status_code == 404
    log = secured.log_path.read_text()
    assert ALICE not in log and BOB not in log and "not-a-token" not in log


def secured_api(replica):
    # The replica's kubeconfig is the admin's.
    import ssl
    kubeconfig = replica.args[replica.args.index("--kubeconfig") + 1]
    import yaml
    config = yaml.safe_load(open(kubeconfig))
    server = config["clusters"][0]["cluster"]["server"]
    data = pathlib_parent(kubeconfig)
    return httpx.Client(base_url=server, verify=ssl.create_default_context(cafile=str(data / "pki" / "ca.crt")),
                        headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30)


def pathlib_parent(path: str):
    import pathlib
    return pathlib.Path(path).parent


def test_oauth_clients_find_the_authorization_server(secured):
    base = secured.url.removesuffix("/mcp")
    with httpx.Client(timeout=30) as http:
        r = initialize(http, secured.url, token=None)
        challenge = r.headers["www-authenticate"]
        assert f'resource_metadata="{base}/.well-known/oauth-protected-resource/mcp"' in challenge, challenge
        for path in ("/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"):
            document = http.get(base + path).json()
            assert document["resource"] == secured.url
            assert document["authorization_servers"] == [ISSUER]
            assert document["bearer_methods_supported"] == ["header"]
