"""Access control end to end (issue 12): identities, service accounts and their tokens, TokenReview,
RBAC with the real server's 403s, the access reviews behind `kubectl auth can-i` and `whoami`, and the
roles of deploy/rbac checked by what each part of the system must and must not be able to do.

Everything goes through kubectl as a person would use it (with the admin kubeconfig, or `--token` with a
service account's token), or through plain HTTPS where kubectl has no command (TokenReview,
SubjectAccessReview, protobuf bodies).
"""
import base64
import re
import json
import subprocess
import time

import httpx
import jwt
import pytest
import yaml

from conftest import APIServer, REFERENCE, ROOT, apply_project_crds, conductor_binary, free_port

NS = "rbac-e2e"
ISSUER = "https://kubernetes.default.svc.cluster.local"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = APIServer(tmp_path_factory.mktemp("rbac"))
    s.start()
    with s.client() as c:
        apply_project_crds(c)
    s.kubectl("create", "namespace", NS)
    yield s
    s.stop()


def kubectl(server: APIServer, *args, token: str | None = None, check: bool = True, input: str | None = None):
    extra = ["--token", token] if token else []
    return server.kubectl(*extra, *args, check=check, input=input)


def make_account(server: APIServer, name: str, namespace: str = NS) -> str:
    """Creates a service account and answers a fresh token for it."""
    kubectl(server, "create", "serviceaccount", name, "-n", namespace)
    return kubectl(server, "create", "token", name, "-n", namespace).stdout.strip()


def post(server: APIServer, path: str, body: dict, token: str | None = None) -> httpx.Response:
    with server.client() as c:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return c.post(path, json=body, headers=headers)


def token_review(server: APIServer, token: str, audiences: list[str] | None = None) -> dict:
    spec = {"token": token}
    if audiences:
        spec["audiences"] = audiences
    r = post(server, "/apis/authentication.k8s.io/v1/tokenreviews",
             {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": spec})
    assert r.status_code == 201, r.text
    return r.json()


def can_i(server: APIServer, *args, token: str | None = None) -> bool:
    r = kubectl(server, "auth", "can-i", *args, token=token, check=False)
    assert r.stdout.strip() in ("yes", "no"), (args, r.stdout, r.stderr)
    return r.stdout.strip() == "yes"


# ----------------------------------------------------------------------------------------- identities

def test_admin_token_is_admin_in_system_masters(server):
    who = json.loads(kubectl(server, "auth", "whoami", "-o", "json").stdout)
    assert who["kind"] == "SelfSubjectReview"
    assert who["status"]["userInfo"]["username"] == "admin"
    assert who["status"]["userInfo"]["groups"] == ["system:masters", "system:authenticated"]


def test_unknown_token_is_401(server):
    r = kubectl(server, "get", "namespaces", token="not-a-token", check=False)
    assert r.returncode != 0
    assert "Unauthorized" in r.stderr or "must be logged in" in r.stderr, r.stderr


def test_default_roles_and_bindings_exist(server):
    roles = kubectl(server, "get", "clusterroles", "-o", "name").stdout.split()
    for name in ("cluster-admin", "system:discovery", "system:basic-user", "admin", "edit", "view", "system:auth-delegator"):
        assert f"clusterrole.rbac.authorization.k8s.io/{name}" in roles
    binding = json.loads(kubectl(server, "get", "clusterrolebinding", "cluster-admin", "-o", "json").stdout)
    assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:masters"}]
    # view, edit and admin are aggregated: their rules come from the aggregate-to-* roles.
    view = json.loads(kubectl(server, "get", "clusterrole", "view", "-o", "json").stdout)
    assert any("serviceaccounts" in rule.get("resources", []) for rule in view["rules"])
    admin = json.loads(kubectl(server, "get", "clusterrole", "admin", "-o", "json").stdout)
    assert any("roles" in rule.get("resources", []) for rule in admin["rules"])
    assert any("serviceaccounts/token" in rule.get("resources", []) for rule in admin["rules"])


# ------------------------------------------------------------------------------- service account tokens

def test_create_token_and_whoami_as_the_service_account(server):
    token = make_account(server, "robot")
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    claims = jwt.decode(token, options={"verify_signature": False})
    assert header["alg"] == "ES256" and header["kid"]
    uid = json.loads(kubectl(server, "get", "sa", "robot", "-n", NS, "-o", "json").stdout)["metadata"]["uid"]
    assert claims["iss"] == ISSUER and claims["aud"] == [ISSUER]
    assert claims["sub"] == f"system:serviceaccount:{NS}:robot"
    assert claims["kubernetes.io"] == {"namespace": NS, "serviceaccount": {"name": "robot", "uid": uid}}
    assert claims["exp"] - claims["iat"] == 3600 and claims["nbf"] == claims["iat"]
    who = json.loads(kubectl(server, "auth", "whoami", "-o", "json", token=token).stdout)["status"]["userInfo"]
    assert who["username"] == f"system:serviceaccount:{NS}:robot"
    assert who["uid"] == uid
    assert who["groups"] == ["system:serviceaccounts", f"system:serviceaccounts:{NS}", "system:authenticated"]


def test_token_request_expiry_and_audiences(server):
    kubectl(server, "create", "serviceaccount", "timed", "-n", NS)
    r = kubectl(server, "create", "token", "timed", "-n", NS, "--duration=2h", "--audience=mcp-conductor", "-o", "json")
    answer = json.loads(r.stdout)
    assert answer["kind"] == "TokenRequest"
    assert answer["spec"]["expirationSeconds"] == 7200 and answer["spec"]["audiences"] == ["mcp-conductor"]
    claims = jwt.decode(answer["status"]["token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 7200 and claims["aud"] == ["mcp-conductor"]
    # A token for another audience is not good for the API server itself.
    r = kubectl(server, "get", "serviceaccounts", "-n", NS, token=answer["status"]["token"], check=False)
    assert r.returncode != 0 and "Unauthorized" in r.stderr
    short = kubectl(server, "create", "token", "timed", "-n", NS, "--duration=5m", check=False)
    assert short.returncode != 0
    assert 'TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 300: ' \
           "may not specify a duration less than 10 minutes" in short.stderr, short.stderr
    missing = kubectl(server, "create", "token", "nobody", "-n", NS, check=False)
    assert 'serviceaccounts "nobody" not found' in missing.stderr


def test_token_of_a_deleted_or_replaced_account_stops_working(server):
    token = make_account(server, "short-lived")
    assert kubectl(server, "auth", "whoami", token=token).returncode == 0
    kubectl(server, "delete", "serviceaccount", "short-lived", "-n", NS)
    r = kubectl(server, "auth", "whoami", token=token, check=False)
    assert r.returncode != 0 and "Unauthorized" in r.stderr
    # The same name again is another account (another uid): the old token stays refused.
    kubectl(server, "create", "serviceaccount", "short-lived", "-n", NS)
    assert kubectl(server, "auth", "whoami", token=token, check=False).returncode != 0
    review = token_review(server, token)
    assert review["status"].get("authenticated") is None
    assert review["status"]["error"].startswith("[invalid bearer token, service account UID (")


# ------------------------------------------------------------------------------------------ TokenReview

def test_token_review_of_good_expired_deleted_and_garbage_tokens(server):
    token = make_account(server, "reviewed")
    good = token_review(server, token)
    assert good["kind"] == "TokenReview" and good["spec"]["token"] == token
    assert good["status"]["authenticated"] is True
    assert good["status"]["audiences"] == [ISSUER]
    user = good["status"]["user"]
    assert user["username"] == f"system:serviceaccount:{NS}:reviewed"
    assert user["groups"] == ["system:serviceaccounts", f"system:serviceaccounts:{NS}", "system:authenticated"]
    assert user["extra"]["authentication.kubernetes.io/credential-id"][0].startswith("JTI=")

    # Audiences: a token made for the front end is reviewed for the front end's audience.
    front = kubectl(server, "create", "token", "reviewed", "-n", NS, "--audience=mcp-conductor").stdout.strip()
    assert token_review(server, front, ["mcp-conductor"])["status"]["audiences"] == ["mcp-conductor"]
    wrong = token_review(server, front, ["someone-else"])["status"]
    assert wrong["error"] == \
        '[invalid bearer token, token audiences ["mcp-conductor"] is invalid for the target audiences ["someone-else"]]'

    # Expired: a token signed with the server's own key, whose time is past.
    key = (server.data_dir / "pki" / "service-account.key").read_text()
    uid = good["status"]["user"]["uid"]
    now = int(time.time())
    expired = jwt.encode({"iss": ISSUER, "sub": f"system:serviceaccount:{NS}:reviewed", "aud": [ISSUER],
                          "iat": now - 7200, "nbf": now - 7200, "exp": now - 3600, "jti": "x",
                          "kubernetes.io": {"namespace": NS, "serviceaccount": {"name": "reviewed", "uid": uid}}},
                         key, algorithm="ES256")
    # The error is kube-apiserver's aggregate of its bearer-token authenticators, as real servers log it.
    assert token_review(server, expired)["status"] == \
        {"user": {}, "error": "[invalid bearer token, service account token has expired]"}
    # The same claims unexpired are good: only the time differs.
    fresh = jwt.encode({"iss": ISSUER, "sub": f"system:serviceaccount:{NS}:reviewed", "aud": [ISSUER],
                        "iat": now, "nbf": now, "exp": now + 600, "jti": "y",
                        "kubernetes.io": {"namespace": NS, "serviceaccount": {"name": "reviewed", "uid": uid}}},
                       key, algorithm="ES256")
    assert token_review(server, fresh)["status"]["authenticated"] is True

    kubectl(server, "delete", "serviceaccount", "reviewed", "-n", NS)
    assert token_review(server, token)["status"] == \
        {"user": {}, "error": '[invalid bearer token, serviceaccounts "reviewed" not found]'}
    assert token_review(server, "garbage")["status"] == {"user": {}, "error": "invalid bearer token"}
    # The admin's static token is good for the API server's audience only.
    assert token_review(server, server.token)["status"]["user"]["username"] == "admin"
    assert token_review(server, server.token, ["mcp-conductor"])["status"] == {"user": {}, "error": "invalid bearer token"}
    empty = post(server, "/apis/authentication.k8s.io/v1/tokenreviews",
                 {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {}})
    assert empty.status_code == 400


# ------------------------------------------------------------------------------------------------ RBAC

def test_can_i_allowed_and_refused(server):
    token = make_account(server, "asker")
    assert can_i(server, "create", "selfsubjectaccessreviews", token=token)
    assert not can_i(server, "list", "tasks.mcp.io", "-n", NS, token=token)
    assert not can_i(server, "create", "serviceaccounts", "-n", NS, token=token)
    assert can_i(server, "create", "serviceaccounts", "-n", NS)
    assert can_i(server, "*", "*")
    assert can_i(server, "get", "/version", token=token)
    assert not can_i(server, "get", "/metrics", token=token)


def test_refused_write_is_the_real_servers_403(server):
    token = make_account(server, "writer")
    r = kubectl(server, "create", "serviceaccount", "other", "-n", NS, token=token, check=False)
    assert r.returncode != 0
    # kubectl create serviceaccount words it "error: failed to create serviceaccount: <the server's message>".
    assert (f'serviceaccounts is forbidden: User "system:serviceaccount:{NS}:writer" '
            f'cannot create resource "serviceaccounts" in API group "" in the namespace "{NS}"') in r.stderr, r.stderr
    r = kubectl(server, "delete", "serviceaccount", "writer", "-n", NS, token=token, check=False)
    assert (f'serviceaccounts "writer" is forbidden: User "system:serviceaccount:{NS}:writer" '
            f'cannot delete resource "serviceaccounts" in API group "" in the namespace "{NS}"') in r.stderr, r.stderr
    r = kubectl(server, "get", "clusterroles", token=token, check=False)
    assert (f'clusterroles.rbac.authorization.k8s.io is forbidden: User "system:serviceaccount:{NS}:writer" '
            f'cannot list resource "clusterroles" in API group "rbac.authorization.k8s.io" at the cluster scope') in r.stderr
    with server.client() as c:
        status = c.patch(f"/apis/mcp.io/v1/namespaces/{NS}/tasks/t1/status", content=b"{}",
                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/merge-patch+json"})
        assert status.status_code == 403
        assert status.json() == {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": f'tasks.mcp.io "t1" is forbidden: User "system:serviceaccount:{NS}:writer" cannot patch '
                       f'resource "tasks/status" in API group "mcp.io" in the namespace "{NS}"',
            "reason": "Forbidden", "details": {"name": "t1", "group": "mcp.io", "kind": "tasks"}, "code": 403}
        metrics = c.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert metrics.status_code == 403
        assert metrics.json()["message"] == f'forbidden: User "system:serviceaccount:{NS}:writer" cannot get path "/metrics"'


def test_binding_added_then_removed_takes_effect_at_once(server):
    token = make_account(server, "reader")
    assert kubectl(server, "get", "tasks", "-n", NS, token=token, check=False).returncode != 0
    kubectl(server, "create", "role", "task-reader", "-n", NS, "--verb=get,list,watch", "--resource=tasks.mcp.io")
    kubectl(server, "create", "rolebinding", "task-reader", "-n", NS, "--role=task-reader",
            f"--serviceaccount={NS}:reader")
    assert kubectl(server, "get", "tasks", "-n", NS, token=token).returncode == 0
    assert can_i(server, "list", "tasks.mcp.io", "-n", NS, token=token)
    assert not can_i(server, "list", "tasks.mcp.io", "-n", "default", token=token)
    assert not can_i(server, "delete", "tasks.mcp.io", "-n", NS, token=token)
    kubectl(server, "delete", "rolebinding", "task-reader", "-n", NS)
    r = kubectl(server, "get", "tasks", "-n", NS, token=token, check=False)
    assert r.returncode != 0 and "forbidden" in r.stderr
    # A RoleBinding may grant a ClusterRole in its namespace only.
    kubectl(server, "create", "rolebinding", "viewer", "-n", NS, "--clusterrole=view", f"--serviceaccount={NS}:reader")
    assert can_i(server, "list", "serviceaccounts", "-n", NS, token=token)
    assert not can_i(server, "list", "serviceaccounts", "-n", "default", token=token)
    # A binding to a role that does not exist says so in the refusal.
    kubectl(server, "create", "rolebinding", "dangling", "-n", NS, "--role=missing", f"--serviceaccount={NS}:reader")
    r = kubectl(server, "delete", "serviceaccount", "reader", "-n", NS, token=token, check=False)
    assert r.stderr.rstrip().endswith(': RBAC: role.rbac.authorization.k8s.io "missing" not found'), r.stderr


def test_no_escalation_through_roles_and_bindings(server):
    """A namespace admin may write roles and bindings, but grant only what it holds (or what the
    escalate and bind verbs let it), as RBAC's storage refuses escalation."""
    token = make_account(server, "delegate")
    kubectl(server, "create", "rolebinding", "delegate-admin", "-n", NS, "--clusterrole=admin",
            f"--serviceaccount={NS}:delegate")
    groups = f'["system:serviceaccounts" "system:serviceaccounts:{NS}" "system:authenticated"]'
    assert kubectl(server, "create", "role", "fair", "-n", NS, "--verb=get,list", "--resource=serviceaccounts",
                   token=token).returncode == 0
    r = kubectl(server, "create", "role", "grab", "-n", NS, "--verb=delete,get", "--resource=tasks.mcp.io",
                token=token, check=False)
    assert (f'roles.rbac.authorization.k8s.io "grab" is forbidden: user "system:serviceaccount:{NS}:delegate" '
            f'(groups={groups}) is attempting to grant RBAC permissions not currently held:\n'
            '{APIGroups:["mcp.io"], Resources:["tasks"], Verbs:["delete" "get"]}') in r.stderr, r.stderr
    assert kubectl(server, "create", "rolebinding", "fair-view", "-n", NS, "--clusterrole=view",
                   "--serviceaccount=default:someone", token=token).returncode == 0
    r = kubectl(server, "create", "rolebinding", "grab-all", "-n", NS, "--clusterrole=cluster-admin",
                "--serviceaccount=default:someone", token=token, check=False)
    assert f'rolebindings.rbac.authorization.k8s.io "grab-all" is forbidden: user "system:serviceaccount:{NS}:delegate"' \
        in r.stderr, r.stderr
    assert '{APIGroups:["*"], Resources:["*"], Verbs:["*"]}' in r.stderr
    # The bind verb on a role lets one bind it without holding it.
    kubectl(server, "create", "clusterrole", "binder", "--verb=bind", "--resource=clusterroles.rbac.authorization.k8s.io",
            "--resource-name=cluster-admin")
    kubectl(server, "create", "rolebinding", "delegate-binder", "-n", NS, "--clusterrole=binder",
            f"--serviceaccount={NS}:delegate")
    assert kubectl(server, "create", "rolebinding", "grab-all", "-n", NS, "--clusterrole=cluster-admin",
                   "--serviceaccount=default:someone", token=token).returncode == 0
    # A binding's roleRef cannot change.
    r = kubectl(server, "patch", "rolebinding", "fair-view", "-n", NS, "--type=merge",
                "-p", '{"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"}}',
                check=False)
    # (kubectl words the start of an Invalid Status itself.)
    assert ('The RoleBinding "fair-view" is invalid: roleRef: Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", '
            'Kind:"ClusterRole", Name:"edit"}: cannot change roleRef') in r.stderr, r.stderr


def test_impersonation_needs_the_impersonate_verb(server):
    token = make_account(server, "pretender")
    r = kubectl(server, "get", "serviceaccounts", "-n", NS, "--as=admin", token=token, check=False)
    assert (f'users "admin" is forbidden: User "system:serviceaccount:{NS}:pretender" cannot impersonate resource '
            f'"users" in API group "" at the cluster scope') in r.stderr, r.stderr
    who = json.loads(kubectl(server, "auth", "whoami", "-o", "json", "--as=jane", "--as-group=dev").stdout)
    assert who["status"]["userInfo"] == {"username": "jane", "groups": ["dev", "system:authenticated"]}
    account = json.loads(kubectl(server, "auth", "whoami", "-o", "json", f"--as=system:serviceaccount:{NS}:pretender").stdout)
    assert account["status"]["userInfo"]["groups"] == \
        ["system:serviceaccounts", f"system:serviceaccounts:{NS}", "system:authenticated"]
    with server.client() as c:
        alone = c.get("/api/v1/namespaces", headers={"Impersonate-Group": "system:masters"})
        assert alone.status_code == 500 and "without impersonating a user" in alone.json()["message"]


# --------------------------------------------------------------------------------- access reviews

def test_subject_access_review_allowed_and_denied(server):
    kubectl(server, "create", "clusterrole", "task-creator", "--verb=create", "--resource=tasks.mcp.io")
    kubectl(server, "create", "rolebinding", "task-creators", "-n", NS, "--clusterrole=task-creator", "--group=tenants")

    def review(**spec) -> dict:
        doc = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec}
        return json.loads(kubectl(server, "create", "-f", "-", "-o", "json", input=json.dumps(doc)).stdout)

    attributes = {"namespace": NS, "verb": "create", "group": "mcp.io", "resource": "tasks"}
    allowed = review(user="carol", groups=["tenants"], resourceAttributes=attributes)
    assert allowed["status"] == {
        "allowed": True,
        "reason": f'RBAC: allowed by RoleBinding "task-creators/{NS}" of ClusterRole "task-creator" to Group "tenants"'}
    assert review(user="carol", groups=["others"], resourceAttributes=attributes)["status"] == {"allowed": False}
    elsewhere = dict(attributes, namespace="default")
    assert review(user="carol", groups=["tenants"], resourceAttributes=elsewhere)["status"] == {"allowed": False}
    masters = review(user="root", groups=["system:masters"], nonResourceAttributes={"path": "/metrics", "verb": "get"})
    assert masters["status"] == {"allowed": True}
    bad = kubectl(server, "create", "-f", "-", check=False, input=json.dumps(
        {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": {"user": "x"}}))
    assert "exactly one of nonResourceAttributes or resourceAttributes must be specified" in bad.stderr


def test_rules_review_lists_what_can_i_list_shows(server):
    token = make_account(server, "lister")
    kubectl(server, "create", "rolebinding", "lister", "-n", NS, "--clusterrole=view", f"--serviceaccount={NS}:lister")
    out = kubectl(server, "auth", "can-i", "--list", "-n", NS, token=token).stdout
    assert "selfsubjectaccessreviews.authorization.k8s.io" in out
    assert "serviceaccounts" in out


# ------------------------------------------------------------------------------------ deploy/rbac

def test_deploy_rbac_gives_each_part_what_it_does_and_no_more(server):
    kubectl(server, "create", "namespace", "mcp-system")
    kubectl(server, "create", "namespace", "tenant-a")
    kubectl(server, "apply", "-f", str(ROOT / "deploy" / "rbac"))
    controller = "--as=system:serviceaccount:mcp-system:mcp-controller"
    agent = "--as=system:serviceaccount:mcp-system:mcp-agent"
    expectations = [
        # The controller (and front end): tasks everywhere, agents, status writes, events, its Lease.
        (controller, ["list", "tasks.mcp.io", "--all-namespaces"], True),
        (controller, ["watch", "tasks.mcp.io", "-n", "tenant-a"], True),
        (controller, ["create", "tasks.mcp.io", "-n", "tenant-a"], True),
        (controller, ["patch", "tasks.mcp.io", "-n", "tenant-a"], True),
        (controller, ["update", "tasks.mcp.io", "--subresource=status", "-n", "tenant-a"], True),
        (controller, ["update", "agents.mcp.io", "--subresource=status", "-n", "mcp-system"], True),
        (controller, ["list", "agents.mcp.io", "--all-namespaces"], True),
        (controller, ["create", "events", "-n", "tenant-a"], True),
        (controller, ["patch", "events.events.k8s.io", "-n", "tenant-a"], True),
        (controller, ["create", "leases.coordination.k8s.io", "-n", "mcp-system"], True),
        (controller, ["update", "leases.coordination.k8s.io/mcp-conductor-controller", "-n", "mcp-system"], True),
        (controller, ["update", "leases.coordination.k8s.io/agent-a", "-n", "mcp-system"], False),
        (controller, ["create", "leases.coordination.k8s.io", "-n", "tenant-a"], False),
        (controller, ["create", "tokenreviews.authentication.k8s.io"], True),
        (controller, ["create", "subjectaccessreviews.authorization.k8s.io"], True),
        # Finished tasks past their retention; a whole collection never.
        (controller, ["delete", "tasks.mcp.io", "-n", "tenant-a"], True),
        (controller, ["deletecollection", "tasks.mcp.io", "-n", "tenant-a"], False),
        (controller, ["delete", "agents.mcp.io", "-n", "mcp-system"], False),
        (controller, ["create", "agents.mcp.io", "-n", "mcp-system"], False),
        (controller, ["list", "serviceaccounts", "-n", "mcp-system"], False),
        (controller, ["create", "rolebindings.rbac.authorization.k8s.io", "-n", "mcp-system"], False),
        # An agent: its tasks in mcp-system (read, status only), its own Agent and Lease, events.
        (agent, ["watch", "tasks.mcp.io", "-n", "mcp-system"], True),
        (agent, ["get", "tasks.mcp.io", "-n", "mcp-system"], True),
        (agent, ["update", "tasks.mcp.io", "--subresource=status", "-n", "mcp-system"], True),
        (agent, ["patch", "tasks.mcp.io", "--subresource=status", "-n", "mcp-system"], True),
        (agent, ["update", "tasks.mcp.io", "-n", "mcp-system"], False),
        (agent, ["create", "tasks.mcp.io", "-n", "mcp-system"], False),
        (agent, ["delete", "tasks.mcp.io", "-n", "mcp-system"], False),
        (agent, ["list", "tasks.mcp.io", "-n", "tenant-a"], False),
        (agent, ["list", "tasks.mcp.io", "--all-namespaces"], False),
        (agent, ["create", "agents.mcp.io", "-n", "mcp-system"], True),
        (agent, ["delete", "agents.mcp.io", "-n", "mcp-system"], True),
        (agent, ["update", "agents.mcp.io", "--subresource=status", "-n", "mcp-system"], True),
        (agent, ["create", "agents.mcp.io", "-n", "tenant-a"], False),
        (agent, ["create", "leases.coordination.k8s.io", "-n", "mcp-system"], True),
        (agent, ["update", "leases.coordination.k8s.io", "-n", "mcp-system"], True),
        (agent, ["list", "leases.coordination.k8s.io", "-n", "mcp-system"], False),
        (agent, ["create", "events", "-n", "mcp-system"], True),
        (agent, ["create", "tokenreviews.authentication.k8s.io"], False),
        (agent, ["list", "serviceaccounts", "-n", "mcp-system"], False),
        (agent, ["create", "serviceaccounts/token", "-n", "mcp-system"], False),
    ]
    wrong = [(who, args, expected) for who, args, expected in expectations if can_i(server, *args, who) != expected]
    assert not wrong, wrong


# ------------------------------------------------------------------------------------------ protobuf

def contains(actual, expected) -> bool:
    """Whether `actual` holds everything `expected` does (objects may have more members: server defaults)."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and contains(actual[k], v) for k, v in expected.items())
    return actual == expected


def test_protobuf_bodies_of_client_go_are_stored_as_their_json(fresh_apiserver):
    """Each create of kube-reference/protobuf, posted as client-go posts it, is answered with its JSON's
    fields (plus what the server sets)."""
    s = fresh_apiserver
    s.kubectl("create", "namespace", "mcp-system")
    with s.client() as c:
        for path in sorted((REFERENCE / "protobuf").glob("*-create.json")):
            fixture = json.loads(path.read_text())
            r = c.request(fixture["method"], fixture["path"], content=base64.b64decode(fixture["bodyBase64"]),
                          headers={"Content-Type": fixture["contentType"]})
            assert r.status_code == 201, (path.name, r.text)
            answer, expected = r.json(), fixture["json"]
            if expected["kind"].endswith("Review") or expected["kind"] == "TokenRequest":
                # Answered at once, not stored: the answer carries the request's spec.
                assert contains(answer["spec"], expected.get("spec", {})), (path.name, answer)
                continue
            for key, value in expected.items():
                if key == "metadata":
                    for field, member in value.items():
                        if field == "labels":  # a Namespace gets kubernetes.io/metadata.name besides
                            assert answer["metadata"][field].items() >= member.items(), path.name
                        else:
                            assert answer["metadata"][field] == member, (path.name, field)
                elif key not in ("kind", "apiVersion"):
                    assert contains(answer[key], value), (path.name, key, answer[key])
        # Read back, the Role and the binding are what the JSON says.
        role = c.get("/apis/rbac.authorization.k8s.io/v1/namespaces/mcp-system/roles/agent").json()
        assert role["rules"] == json.loads((REFERENCE / "protobuf" / "role-create.json").read_text())["json"]["rules"]


# ------------------------------------------------------------------------------------ AlwaysAllow

def test_always_allow_mode_lets_any_authenticated_caller_do_anything(tmp_path):
    s = APIServer(tmp_path / "allow")
    s.data_dir.mkdir(parents=True)
    log = open(s.log_path, "ab")
    s.process = subprocess.Popen(
        [conductor_binary(), "apiserver", "--data-dir", str(s.data_dir), "--port", str(s.port), "--bind", "127.0.0.1",
         "--authorization-mode", "AlwaysAllow"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not s.kubeconfig.exists() or s.kubectl("get", "--raw", "/readyz", check=False).returncode != 0:
            assert time.monotonic() < deadline, s.log_path.read_text()
            time.sleep(0.1)
        token = make_account(s, "anyone", "default")
        assert kubectl(s, "create", "serviceaccount", "made-by-anyone", "-n", "default", token=token).returncode == 0
        assert can_i(s, "delete", "clusterroles", token=token)
    finally:
        s.stop()


def test_protobuf_update_and_delete_options_are_read(fresh_apiserver):
    """A Lease PUT and a DeleteOptions body as client-go sends them (leader election, deletes with
    preconditions): both are read, so the server judges their preconditions, which name another object."""
    s = fresh_apiserver
    s.kubectl("create", "namespace", "mcp-system")
    fixtures = {name: json.loads((REFERENCE / "protobuf" / f"{name}.json").read_text())
                for name in ("lease-create", "lease-update", "deleteoptions")}
    with s.client() as c:
        def send(fixture):
            return c.request(fixture["method"], fixture["path"], content=base64.b64decode(fixture["bodyBase64"]),
                             headers={"Content-Type": fixture["contentType"]})
        created = send(fixtures["lease-create"])
        assert created.status_code == 201, created.text
        assert created.json()["spec"]["renewTime"] == "2026-11-24T10:00:00.123456Z"
        update = send(fixtures["lease-update"])
        assert update.status_code == 409, update.text
        assert "the object has been modified" in update.json()["message"]
        delete = send(fixtures["deleteoptions"])
        assert delete.status_code == 409, delete.text
        assert "6f271d0c-0a59-4786-83b4-60455b33061f" in delete.json()["message"], delete.text
        assert c.get("/apis/coordination.k8s.io/v1/namespaces/mcp-system/leases/agent-a").status_code == 200


def test_restart_keeps_the_signing_key_accounts_and_bindings(fresh_apiserver):
    s = fresh_apiserver
    s.kubectl("create", "namespace", "kept")
    token = make_account(s, "survivor", "kept")
    kubectl(s, "create", "rolebinding", "survivor", "-n", "kept", "--clusterrole=view", "--serviceaccount=kept:survivor")
    key = (s.data_dir / "pki" / "service-account.key").read_bytes()
    # A default role that lost a rule gets it back at the next start, as kube-apiserver reconciles its
    # bootstrap roles; one whose autoupdate annotation is off is left as the administrator made it.
    kubectl(s, "patch", "clusterrole", "system:basic-user", "--type=json",
            "-p", '[{"op": "remove", "path": "/rules/1"}]')
    assert kubectl(s, "auth", "whoami", token=token, check=False).returncode != 0
    kubectl(s, "annotate", "clusterrole", "system:auth-delegator", "--overwrite",
            "rbac.authorization.kubernetes.io/autoupdate=false")
    kubectl(s, "patch", "clusterrole", "system:auth-delegator", "--type=json", "-p", '[{"op": "remove", "path": "/rules/0"}]')
    s.stop()
    s.start()
    kept = json.loads(kubectl(s, "get", "clusterrole", "system:auth-delegator", "-o", "json").stdout)["rules"]
    assert kept == [{"verbs": ["create"], "apiGroups": ["authorization.k8s.io"], "resources": ["subjectaccessreviews"]}]
    assert (s.data_dir / "pki" / "service-account.key").read_bytes() == key
    who = json.loads(kubectl(s, "auth", "whoami", "-o", "json", token=token).stdout)
    assert who["status"]["userInfo"]["username"] == "system:serviceaccount:kept:survivor"
    assert can_i(s, "list", "serviceaccounts", "-n", "kept", token=token)
    assert not can_i(s, "list", "serviceaccounts", "-n", "default", token=token)
    roles = kubectl(s, "get", "clusterroles", "-o", "name").stdout.split()
    assert len([r for r in roles if r.endswith(("/admin", "/edit", "/view", "/cluster-admin"))]) == 4


def test_kubectl_get_prints_the_real_columns(server):
    kubectl(server, "create", "serviceaccount", "printed", "-n", NS)
    kubectl(server, "create", "rolebinding", "printed", "-n", NS, "--clusterrole=view", f"--serviceaccount={NS}:printed",
            "--user=jane", "--group=dev")
    accounts = kubectl(server, "get", "serviceaccount", "printed", "-n", NS).stdout.splitlines()
    assert accounts[0].split() == ["NAME", "SECRETS", "AGE"] and accounts[1].split()[:2] == ["printed", "0"]
    bindings = kubectl(server, "get", "rolebinding", "printed", "-n", NS, "-o", "wide").stdout.splitlines()
    assert bindings[0].split() == ["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"]
    row = bindings[1].split()
    assert row[:2] == ["printed", "ClusterRole/view"] and row[3:] == ["jane", "dev", f"{NS}/printed"]
    roles = kubectl(server, "get", "clusterrole", "view").stdout.splitlines()
    assert roles[0].split() == ["NAME", "CREATED", "AT"] and re.match(r"^view +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", roles[1])
