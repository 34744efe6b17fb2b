"""The admission policy of deploy/admission (DESIGN.md, "Task lifecycle and fencing"), evaluated with a CEL
interpreter on the requests an agent could make: an agent writes only the tasks it holds, never changes
their attempt or hands them on, moves them forward only, and writes only its own Agent and Lease. The local
API server does not evaluate admission policies, so the expressions are checked here, as a cluster would
run them (cel-python; Kubernetes runs cel-go, with the same semantics for what these expressions use).
"""
from pathlib import Path

import celpy
import pytest
import yaml

POLICY_FILE = Path(__file__).resolve().parents[2] / "deploy/admission/agent-fencing.yaml"
AGENT_ACCOUNT = "system:serviceaccount:mcp-system:mcp-agent"
ENVIRONMENT = celpy.Environment()


def policies() -> dict:
    documents = list(yaml.safe_load_all(POLICY_FILE.read_text()))
    return {d["metadata"]["name"]: d for d in documents if d["kind"] == "ValidatingAdmissionPolicy"}


def evaluate(expression: str, activation: dict):
    return ENVIRONMENT.program(ENVIRONMENT.compile(expression)).evaluate(activation)


def admit(policy: dict, user: dict, kind: str, new: dict, old: dict | None) -> list[str] | None:
    """The messages of the failed validations ([] when admitted), or None when the policy does not apply."""
    spec = policy["spec"]
    activation = {"request": celpy.json_to_cel({"userInfo": user, "kind": {"kind": kind}}),
                  "object": celpy.json_to_cel(new), "oldObject": celpy.json_to_cel(old)}
    if not all(evaluate(c["expression"], activation) for c in spec.get("matchConditions", [])):
        return None
    variables = celpy.celtypes.MapType({})
    for variable in spec.get("variables", []):
        value = evaluate(variable["expression"], {**activation, "variables": variables})
        variables[celpy.celtypes.StringType(variable["name"])] = value
    activation["variables"] = variables
    failures = []
    for validation in spec["validations"]:
        if not evaluate(validation["expression"], activation):
            failures.append(str(validation.get("message") or evaluate(validation["messageExpression"], activation)))
    return failures


def agent(pod: str | None) -> dict:
    extra = {"authentication.kubernetes.io/pod-name": [pod]} if pod else {}
    return {"username": AGENT_ACCOUNT, "extra": extra}


def task(phase: str, assigned: str, attempt: int) -> dict:
    return {"metadata": {"name": "t1"}, "spec": {}, "status": {"phase": phase, "assignedAgent": assigned, "attempt": attempt}}


@pytest.mark.parametrize("old,new,refusal", [
    (task("Assigned", "agent-a", 2), task("Running", "agent-a", 2), None),
    (task("Running", "agent-a", 2), task("Running", "agent-a", 2), None),
    (task("Running", "agent-a", 2), task("Completed", "agent-a", 2), None),
    (task("Assigned", "agent-a", 2), task("Failed", "agent-a", 2), None),
    (task("Running", "agent-b", 2), task("Completed", "agent-b", 2), "it is assigned to agent-b"),
    (task("Pending", "", 2), task("Running", "agent-a", 2), "it is assigned to no agent"),
    (task("Running", "agent-a", 2), task("Running", "agent-a", 3), "may not change the attempt"),
    (task("Running", "agent-a", 2), task("Running", "agent-b", 2), "may not hand task t1 to another agent"),
    (task("Running", "agent-a", 2), task("Pending", "agent-a", 2), "from Running to Pending"),
    (task("Pending", "agent-a", 2), task("Running", "agent-a", 2), "from Pending to Running"),
    (task("Completed", "agent-a", 2), task("Failed", "agent-a", 2), "from Completed to Failed"),
])
def test_an_agent_writes_only_the_tasks_it_holds_and_moves_them_forward(old, new, refusal):
    failures = admit(policies()["mcp-conductor-agent-tasks"], agent("agent-a"), "Task", new, old)
    if refusal is None:
        assert failures == []
    else:
        assert any(refusal in failure for failure in failures), failures


def test_a_token_not_bound_to_a_pod_names_no_agent_and_writes_nothing():
    failures = admit(policies()["mcp-conductor-agent-tasks"], agent(None), "Task",
                     task("Running", "agent-a", 2), task("Assigned", "agent-a", 2))
    assert any("must be bound to its pod" in failure for failure in failures), failures


def test_the_policies_do_not_apply_to_the_controller_or_people():
    controller = {"username": "system:serviceaccount:mcp-system:mcp-controller", "extra": {}}
    for policy in policies().values():
        assert admit(policy, controller, "Task", task("Pending", "", 3), task("Running", "agent-a", 2)) is None


@pytest.mark.parametrize("kind,name,admitted", [
    ("Lease", "agent-a", True),
    ("Agent", "agent-a", True),
    ("Lease", "mcp-conductor-controller", False),
    ("Agent", "agent-b", False),
])
def test_an_agent_writes_only_its_own_agent_and_heartbeat_lease(kind, name, admitted):
    failures = admit(policies()["mcp-conductor-agent-self"], agent("agent-a"), kind, {"metadata": {"name": name}}, None)
    assert (failures == []) == admitted, failures
