"""kubectl end to end against a real `conductor apiserver` process, as a person would use it.

Every step mirrors one of the recorded `kubectl -v=8` sessions against a real Kubernetes 1.36 API server in
kube-reference/kubectl/ (their output is at the end of each log), and compares what matters: the output
lines, the table columns, the object's fields. The CRDs here are deploy/crds (the reference used the seed's
CRDs, which have fewer fields and columns), so shapes are compared, not every column.
"""
import json
import pathlib
import queue
import re
import subprocess
import threading
import time

import pytest
import yaml

from conftest import REFERENCE, ROOT

CRDS = ROOT / "deploy" / "crds"
EXAMPLES = ROOT / "deploy" / "examples"
NS = "kubectl-e2e"
TASK = "process-dataset-abc123"
AGE = re.compile(r"^\d+[smhdy](\d+[smh])?$")
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
KLOG = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ ")


# --------------------------------------------------------------------------------------------- helpers

def reference_output(log: str) -> list[str]:
    """What kubectl printed in a reference log: the lines that are neither klog lines nor logged bodies."""
    out = []
    for line in (REFERENCE / "kubectl" / log).read_text().splitlines():
        if line.startswith(("$ ", "exit:", "\t")) or line == " >" or KLOG.match(line):
            continue
        out.append(line)
    return out


def reference_task() -> dict:
    return yaml.safe_load((REFERENCE / "kubectl" / "task.yaml").read_text())


def parse_table(text: str) -> tuple[list[str], list[dict[str, str]]]:
    """Splits kubectl's column output by the header's column starts (cells may be empty)."""
    lines = [l for l in text.splitlines() if l.strip()]
    assert lines, f"no table in output: {text!r}"
    header = lines[0]
    names = header.split()
    starts = [m.start() for m in re.finditer(r"\S+", header)]
    rows = []
    for line in lines[1:]:
        row = {}
        for i, name in enumerate(names):
            end = starts[i + 1] if i + 1 < len(names) else None
            row[name] = line[starts[i]:end].strip() if end is not None else line[starts[i]:].strip()
        rows.append(row)
    return names, rows


class Kubectl:
    """Runs kubectl with the server's kubeconfig and a discovery cache of its own."""

    def __init__(self, server, cache_dir: pathlib.Path):
        self.server = server
        self.cache_dir = cache_dir

    def base(self) -> list[str]:
        return ["kubectl", "--kubeconfig", str(self.server.kubeconfig), "--cache-dir", str(self.cache_dir)]

    def __call__(self, *args: str, input: str | None = None, ok: bool | None = True, timeout: float = 60.0):
        """ok=True: must succeed; ok=False: must fail; ok=None: either."""
        r = subprocess.run([*self.base(), *args], input=input, capture_output=True, text=True, timeout=timeout)
        if ok is True and r.returncode != 0:
            raise AssertionError(f"`kubectl {' '.join(args)}` exited {r.returncode}\n"
                                 f"stdout: {r.stdout}\nstderr: {r.stderr}")
        if ok is False and r.returncode == 0:
            raise AssertionError(f"`kubectl {' '.join(args)}` succeeded but should have failed\n"
                                 f"stdout: {r.stdout}\nstderr: {r.stderr}")
        return r

    def popen(self, *args: str) -> "Streaming":
        return Streaming(subprocess.Popen([*self.base(), *args], stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True))


class Streaming:
    """A running kubectl whose stdout and stderr lines can be read with a deadline."""

    def __init__(self, proc: subprocess.Popen):
        self.proc = proc
        self.stdout: queue.Queue = queue.Queue()
        self.stderr: queue.Queue = queue.Queue()
        self.seen_out: list[str] = []
        self.seen_err: list[str] = []
        for stream, q in ((proc.stdout, self.stdout), (proc.stderr, self.stderr)):
            threading.Thread(target=self._pump, args=(stream, q), daemon=True).start()

    @staticmethod
    def _pump(stream, q):
        for line in stream:
            q.put(line.rstrip("\n"))
        q.put(None)

    def wait_for(self, which: str, predicate, timeout: float) -> str:
        q, seen = (self.stdout, self.seen_out) if which == "stdout" else (self.stderr, self.seen_err)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {which} line matched within {timeout}s; {which} so far: {seen}\n"
                                     f"other stream: {self.seen_err if which == 'stdout' else self.seen_out}")
            try:
                line = q.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"kubectl ended (rc={self.proc.wait()}) before a {which} line matched; "
                                     f"{which}: {seen}")
            seen.append(line)
            if predicate(line):
                return line

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def task_manifest(name: str = TASK, namespace: str = NS, labels: dict | None = None, **spec) -> str:
    doc = reference_task()
    doc["metadata"]["name"] = name
    doc["metadata"]["namespace"] = namespace
    if labels:
        doc["metadata"]["labels"] = labels
    doc["spec"].update(spec)
    return yaml.safe_dump(doc, sort_keys=False)


def get_json(k: Kubectl, *args: str) -> dict:
    return json.loads(k("get", *args, "-o", "json").stdout)


# --------------------------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def k(apiserver, tmp_path_factory):
    return Kubectl(apiserver, tmp_path_factory.mktemp("kube-cache"))


@pytest.fixture(scope="module")
def crds_applied(k):
    """`kubectl apply -f deploy/crds`, then wait until discovery lists agents and tasks."""
    applied = k("apply", "-f", str(CRDS))
    deadline = time.monotonic() + 30
    last = None
    while time.monotonic() < deadline:
        last = k("api-resources", "--api-group=mcp.io", ok=None)
        names = {line.split()[0] for line in last.stdout.splitlines()[1:] if line.strip()}
        if last.returncode == 0 and {"agents", "tasks"} <= names:
            return applied
        time.sleep(0.1)
    raise AssertionError(f"mcp.io agents and tasks never listed by api-resources: {last.stdout} {last.stderr}")


@pytest.fixture(scope="module")
def ns(k, crds_applied):
    r = k("create", "namespace", NS)
    assert r.stdout.strip() == f"namespace/{NS} created"
    return NS


@pytest.fixture(scope="module")
def task_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("manifests") / "task.yaml"
    path.write_text(task_manifest())
    return path


@pytest.fixture(scope="module")
def applied_task(k, ns, task_file):
    """The reference Task (kubectl/task.yaml, in our namespace) applied once: `created`."""
    r = k("apply", "-f", str(task_file))
    return r


# --------------------------------------------------------------------------------------------- CRDs, discovery

def test_apply_crds_created(crds_applied):
    assert crds_applied.stdout.splitlines() == [
        "customresourcedefinition.apiextensions.k8s.io/agents.mcp.io created",
        "customresourcedefinition.apiextensions.k8s.io/tasks.mcp.io created",
    ], crds_applied.stderr


def test_apply_crds_again_unchanged(k, crds_applied):
    r = k("apply", "-f", str(CRDS))
    assert r.stdout.splitlines() == reference_output("01-apply-crds.log"), r.stderr


def test_crds_established(k, crds_applied):
    for name in ("agents.mcp.io", "tasks.mcp.io"):
        crd = get_json(k, "crd", name)
        conditions = {c["type"]: c["status"] for c in crd.get("status", {}).get("conditions", [])}
        assert conditions.get("Established") == "True", crd.get("status")
        assert conditions.get("NamesAccepted") == "True", crd.get("status")
        assert crd["status"]["acceptedNames"]["kind"] == name.split(".")[0][:-1].capitalize()
    k("wait", "--for=condition=Established", "crd/tasks.mcp.io", "crd/agents.mcp.io", "--timeout=10s")


def test_api_resources_matches_reference(k, crds_applied):
    r = k("api-resources", "--api-group=mcp.io")
    assert [l.rstrip() for l in r.stdout.splitlines()] == reference_output("10-api-resources.log")


def test_api_resources_wide_shows_verbs_and_category(k, crds_applied):
    names, rows = parse_table(k("api-resources", "--api-group=mcp.io", "-o", "wide").stdout)
    assert names == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND", "VERBS", "CATEGORIES"]
    by_name = {row["NAME"]: row for row in rows}
    assert set(by_name) == {"agents", "tasks"}
    for row in by_name.values():
        assert row["CATEGORIES"] == "mcp", row
        verbs = set(re.split(r"[\s,]+", row["VERBS"].strip("[]")))
        assert {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"} <= verbs, row


# --------------------------------------------------------------------------------------------- apply

def test_apply_task_created(applied_task):
    assert applied_task.stdout.splitlines() == reference_output("02-apply-task.log"), applied_task.stderr


def test_get_tasks_table_matches_reference(k, applied_task):
    ours = k("get", "tasks", "-n", NS).stdout
    ref_names, ref_rows = parse_table("\n".join(reference_output("04-get-tasks.log")))
    names, rows = parse_table(ours)
    assert names == ref_names == ["NAME", "PHASE", "AGENT", "PRIORITY", "AGE"], ours
    row = next(r for r in rows if r["NAME"] == TASK)
    for column in ("NAME", "PHASE", "AGENT", "PRIORITY"):
        assert row[column] == ref_rows[0][column], (column, ours)
    assert AGE.match(row["AGE"]), ours


def test_get_task_yaml_matches_reference(k, applied_task):
    ours = yaml.safe_load(k("get", "task", TASK, "-n", NS, "-o", "yaml").stdout)
    ref = yaml.safe_load("\n".join(reference_output("05-get-task-yaml.log")))
    assert list(ours) == list(ref) == ["apiVersion", "kind", "metadata", "spec"], ours
    assert ours["apiVersion"] == "mcp.io/v1" and ours["kind"] == "Task"
    assert sorted(ours["metadata"]) == sorted(ref["metadata"]), ours["metadata"]
    assert ours["spec"] == ref["spec"]
    meta = ours["metadata"]
    assert meta["name"] == TASK and meta["namespace"] == NS and meta["generation"] == 1
    assert RFC3339.match(meta["creationTimestamp"]), meta
    assert UUID.match(meta["uid"]), meta
    assert isinstance(meta["resourceVersion"], str) and meta["resourceVersion"], meta
    annotation = "kubectl.kubernetes.io/last-applied-configuration"
    applied = json.loads(meta["annotations"][annotation])
    expected = json.loads(ref["metadata"]["annotations"][annotation])
    expected["metadata"]["namespace"] = NS
    assert applied == expected
    # -o json shows what -o yaml hides: managedFields, as the reference server records them
    full = get_json(k, "task", TASK, "-n", NS, "--show-managed-fields")
    managers = [(m.get("manager"), m.get("operation")) for m in full["metadata"].get("managedFields", [])]
    assert ("kubectl-client-side-apply", "Update") in managers, full["metadata"]


def test_apply_again_unchanged_then_configured(k, applied_task, task_file, tmp_path):
    before = get_json(k, "task", TASK, "-n", NS)["metadata"]
    r = k("apply", "-f", str(task_file))
    assert r.stdout.splitlines() == reference_output("03-apply-task-again.log"), r.stderr
    after = get_json(k, "task", TASK, "-n", NS)["metadata"]
    assert after["resourceVersion"] == before["resourceVersion"], "an unchanged apply must not write"
    assert after["generation"] == before["generation"]

    changed = tmp_path / "task.yaml"
    changed.write_text(task_manifest(priority=8))
    r = k("apply", "-f", str(changed))
    assert r.stdout.strip() == f"task.mcp.io/{TASK} configured", r.stderr
    obj = get_json(k, "task", TASK, "-n", NS)
    assert obj["spec"]["priority"] == 8
    assert obj["metadata"]["generation"] == before["generation"] + 1
    assert int(obj["metadata"]["resourceVersion"]) > int(before["resourceVersion"])
    applied = json.loads(obj["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"])
    assert applied["spec"]["priority"] == 8

    # and back: a field removed from the file is removed from the object
    r = k("apply", "-f", str(task_file))
    assert r.stdout.strip() == f"task.mcp.io/{TASK} configured", r.stderr
    assert get_json(k, "task", TASK, "-n", NS)["spec"] == reference_task()["spec"]


def test_apply_removes_field_dropped_from_file(k, ns, tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(task_manifest("apply-remove", retryPolicy={"maxRetries": 5}))
    k("apply", "-f", str(path))
    assert get_json(k, "task", "apply-remove", "-n", NS)["spec"]["retryPolicy"]["maxRetries"] == 5
    path.write_text(task_manifest("apply-remove"))
    assert k("apply", "-f", str(path)).stdout.strip() == "task.mcp.io/apply-remove configured"
    assert "retryPolicy" not in get_json(k, "task", "apply-remove", "-n", NS)["spec"]
    k("delete", "task", "apply-remove", "-n", NS)


def test_get_tasks_wide_has_attempt_column(k, applied_task):
    names, rows = parse_table(k("get", "tasks", "-n", NS, "-o", "wide").stdout)
    assert names == ["NAME", "PHASE", "AGENT", "PRIORITY", "ATTEMPT", "AGE"]
    assert any(r["NAME"] == TASK for r in rows)


def test_get_one_task_table_and_name_output(k, applied_task):
    names, rows = parse_table(k("get", "task", TASK, "-n", NS).stdout)
    assert names == ["NAME", "PHASE", "AGENT", "PRIORITY", "AGE"] and [r["NAME"] for r in rows] == [TASK]
    assert k("get", "tasks", "-n", NS, "-o", "name").stdout.splitlines().count(f"task.mcp.io/{TASK}") == 1
    assert k("get", "task", TASK, "-n", NS, "-o", "jsonpath={.spec.priority}").stdout == "5"


def test_get_missing_task_not_found(k, ns):
    r = k("get", "task", "does-not-exist", "-n", NS, ok=False)
    assert 'Error from server (NotFound): tasks.mcp.io "does-not-exist" not found' in r.stderr


def test_get_empty_namespace(k, crds_applied):
    k("create", "namespace", "kubectl-empty")
    r = k("get", "tasks", "-n", "kubectl-empty")
    assert r.stdout == "" and "No resources found in kubectl-empty namespace." in r.stderr


# --------------------------------------------------------------------------------------------- status, wait, watch

def test_wait_for_running_while_status_is_patched(k, ns, tmp_path):
    name = "wait-running"
    k("apply", "-f", "-", input=task_manifest(name))
    waiter = k.popen("wait", "--for=jsonpath={.status.phase}=Running", f"task/{name}", "-n", NS,
                     "--timeout=60s", "-v=6")
    try:
        # kubectl logs the watch request once the server answered its headers (at -v=6)
        waiter.wait_for("stderr", lambda l: "watch=true" in l, timeout=20)
        r = k("patch", "task", name, "-n", NS, "--subresource=status", "--type=merge",
              "-p", json.dumps({"status": {"phase": "Running", "assignedAgent": "agent-a"}}))
        assert r.stdout.strip() == f"task.mcp.io/{name} patched"
        line = waiter.wait_for("stdout", lambda l: "condition met" in l, timeout=20)
        assert line == f"task.mcp.io/{name} condition met"
        assert waiter.proc.wait(timeout=10) == 0
    finally:
        waiter.stop()
    status = get_json(k, "task", name, "-n", NS)["status"]
    assert status == {"phase": "Running", "assignedAgent": "agent-a"}


def test_wait_already_met_and_timeout(k, ns):
    name = "wait-timeout"
    k("apply", "-f", "-", input=task_manifest(name))
    k("patch", "task", name, "-n", NS, "--subresource=status", "--type=merge", "-p",
      '{"status":{"phase":"Completed"}}')
    r = k("wait", "--for=jsonpath={.status.phase}=Completed", f"task/{name}", "-n", NS, "--timeout=10s")
    assert r.stdout.strip() == f"task.mcp.io/{name} condition met"
    r = k("wait", "--for=jsonpath={.status.phase}=Failed", f"task/{name}", "-n", NS, "--timeout=1s", ok=False)
    assert "timed out waiting for the condition" in r.stderr


def test_patch_status_matches_reference(k, applied_task):
    r = k("patch", "task", TASK, "-n", NS, "--subresource=status", "--type=merge",
          "-p", '{"status":{"phase":"Failed"}}')
    assert r.stdout.splitlines() == reference_output("07-patch-status.log")
    assert k("get", "task", TASK, "-n", NS, "-o", "jsonpath={.status.phase}").stdout == "Failed"
    names, rows = parse_table(k("get", "tasks", "-n", NS).stdout)
    ref_names, ref_rows = parse_table("\n".join(reference_output("08-get-watch.log")))
    row = next(r for r in rows if r["NAME"] == TASK)
    assert names == ref_names
    assert {c: row[c] for c in ("NAME", "PHASE", "AGENT", "PRIORITY")} == \
        {c: ref_rows[0][c] for c in ("NAME", "PHASE", "AGENT", "PRIORITY")}


def test_status_through_main_resource_is_ignored(k, ns):
    name = "status-ignored"
    k("apply", "-f", "-", input=task_manifest(name))
    before = get_json(k, "task", name, "-n", NS)
    r = k("patch", "task", name, "-n", NS, "--type=merge", "-p", '{"status":{"phase":"Completed"}}')
    assert r.stdout.strip() == f"task.mcp.io/{name} patched (no change)", r.stdout
    after = get_json(k, "task", name, "-n", NS)
    assert "status" not in after and after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    # and the status subresource ignores spec
    k("patch", "task", name, "-n", NS, "--subresource=status", "--type=merge",
      "-p", '{"spec":{"priority":9},"status":{"phase":"Pending"}}')
    after = get_json(k, "task", name, "-n", NS)
    assert after["spec"]["priority"] == 5 and after["status"] == {"phase": "Pending"}
    assert after["metadata"]["generation"] == 1


def test_status_validation_error(k, ns):
    name = "status-invalid"
    k("apply", "-f", "-", input=task_manifest(name))
    r = k("patch", "task", name, "-n", NS, "--subresource=status", "--type=merge",
          "-p", '{"status":{"phase":"Exploded"}}', ok=False)
    assert "status.phase" in r.stderr and 'Unsupported value: "Exploded"' in r.stderr, r.stderr


def test_get_watch_prints_changes(k, ns):
    name = "watched"
    k("apply", "-f", "-", input=task_manifest(name))
    watcher = k.popen("get", "tasks", "-n", NS, "-w")
    try:
        header = watcher.wait_for("stdout", lambda l: l.startswith("NAME"), timeout=20)
        assert header.split() == ["NAME", "PHASE", "AGENT", "PRIORITY", "AGE"]
        watcher.wait_for("stdout", lambda l: l.split()[:1] == [name], timeout=20)
        k("patch", "task", name, "-n", NS, "--subresource=status", "--type=merge",
          "-p", '{"status":{"phase":"Assigned","assignedAgent":"agent-w"}}')
        line = watcher.wait_for("stdout", lambda l: l.split()[:1] == [name] and "Assigned" in l.split(), timeout=20)
        assert line.split()[:4] == [name, "Assigned", "agent-w", "5"], line
        k("delete", "task", name, "-n", NS, "--wait=false")
        other = "watched-new"
        k("apply", "-f", "-", input=task_manifest(other, priority=3))
        line = watcher.wait_for("stdout", lambda l: l.split()[:1] == [other], timeout=20)
        assert line.split()[1] == "3", line  # no phase, no agent: priority is the second cell
        assert watcher.proc.poll() is None, "kubectl get -w ended by itself"
    finally:
        watcher.stop()


def test_get_watch_output_events(k, ns):
    name = "watched-events"
    watcher = k.popen("get", "tasks", "-n", NS, "-w", "--output-watch-events", "--watch-only", "-v=6")
    try:
        watcher.wait_for("stderr", lambda l: "watch=true" in l, timeout=20)
        k("apply", "-f", "-", input=task_manifest(name))
        line = watcher.wait_for("stdout", lambda l: name in l.split(), timeout=20)
        assert line.split()[0] == "ADDED", line
        k("delete", "task", name, "-n", NS, "--wait=false")
        line = watcher.wait_for("stdout", lambda l: name in l.split() and l.split()[0] == "DELETED", timeout=20)
    finally:
        watcher.stop()


# --------------------------------------------------------------------------------------------- selectors

@pytest.fixture(scope="module")
def selector_tasks(k, ns):
    manifests = [
        task_manifest("sel-a1", labels={"team": "a"}),
        task_manifest("sel-a2", labels={"team": "a", "tier": "gold"}),
        task_manifest("sel-b1", labels={"team": "b"}),
    ]
    r = k("apply", "-f", "-", input="---\n".join(manifests))
    assert r.stdout.splitlines() == [f"task.mcp.io/sel-{n} created" for n in ("a1", "a2", "b1")]
    k("patch", "task", "sel-a1", "-n", NS, "--subresource=status", "--type=merge",
      "-p", '{"status":{"phase":"Running","assignedAgent":"agent-x"}}')
    k("patch", "task", "sel-b1", "-n", NS, "--subresource=status", "--type=merge",
      "-p", '{"status":{"phase":"Assigned","assignedAgent":"agent-x"}}')
    return ["sel-a1", "sel-a2", "sel-b1"]


def names_of(k, *args, prefix: str = "") -> list[str]:
    names = (l.split("/", 1)[1] for l in k("get", "tasks", "-n", NS, "-o", "name", *args).stdout.split())
    return sorted(n for n in names if n.startswith(prefix))


def test_label_selector(k, selector_tasks):
    assert names_of(k, "-l", "team=a") == ["sel-a1", "sel-a2"]
    assert names_of(k, "-l", "team=a,tier=gold") == ["sel-a2"]
    assert names_of(k, "-l", "team in (a,b),!tier") == ["sel-a1", "sel-b1"]
    assert names_of(k, "-l", "team!=a") == sorted(
        n for n in names_of(k) if n not in ("sel-a1", "sel-a2"))
    names, rows = parse_table(k("get", "tasks", "-n", NS, "-l", "team=a", "-L", "team").stdout)
    assert names == ["NAME", "PHASE", "AGENT", "PRIORITY", "AGE", "TEAM"]
    assert {r["NAME"]: r["TEAM"] for r in rows} == {"sel-a1": "a", "sel-a2": "a"}


def test_field_selector(k, selector_tasks):
    # other tests' tasks may match too: look at this fixture's tasks only (named sel-*)
    assert names_of(k, "--field-selector", "status.phase=Running", prefix="sel-") == ["sel-a1"]
    names, rows = parse_table(k("get", "tasks", "-n", NS, "--field-selector", "status.phase=Running").stdout)
    assert ("sel-a1", "Running", "agent-x") in [(r["NAME"], r["PHASE"], r["AGENT"]) for r in rows]
    assert all(r["PHASE"] == "Running" for r in rows), rows
    assert names_of(k, "--field-selector", "status.assignedAgent=agent-x") == ["sel-a1", "sel-b1"]
    assert names_of(k, "--field-selector", "status.assignedAgent=agent-x,status.phase!=Running") == ["sel-b1"]
    assert names_of(k, "--field-selector", "metadata.name=sel-a2") == ["sel-a2"]
    assert names_of(k, "--field-selector", "status.phase=Running", "-l", "team=b") == []


def test_field_selector_not_selectable(k, selector_tasks):
    r = k("get", "tasks", "-n", NS, "--field-selector", "spec.priority=5", ok=False)
    assert "field label not supported: spec.priority" in r.stderr, r.stderr


def test_get_all_namespaces(k, selector_tasks):
    names, rows = parse_table(k("get", "tasks", "-A").stdout)
    assert names == ["NAMESPACE", "NAME", "PHASE", "AGENT", "PRIORITY", "AGE"]
    assert {("kubectl-e2e", "sel-a1"), ("kubectl-e2e", "sel-b1")} <= {(r["NAMESPACE"], r["NAME"]) for r in rows}


def test_pagination_with_chunk_size(k, selector_tasks):
    everything = names_of(k)
    assert len(everything) >= 3
    assert names_of(k, "--chunk-size=1") == everything


# --------------------------------------------------------------------------------------------- agents, examples, category

@pytest.fixture(scope="module")
def examples(k, crds_applied):
    k("create", "namespace", "mcp-system")
    r = k("apply", "-f", str(EXAMPLES))
    return r


def test_examples_apply(examples):
    assert examples.stdout.splitlines() == [
        "agent.mcp.io/data-processor-7d8f4 created",
        "task.mcp.io/process-dataset-abc123 created",
    ], examples.stderr


def test_get_mcp_category(k, examples):
    out = k("get", "mcp", "-n", "mcp-system").stdout
    assert "agent.mcp.io/data-processor-7d8f4" in out, out
    assert "task.mcp.io/process-dataset-abc123" in out, out
    names = k("get", "mcp", "-n", "mcp-system", "-o", "name").stdout.split()
    assert sorted(names) == ["agent.mcp.io/data-processor-7d8f4", "task.mcp.io/process-dataset-abc123"]


def test_get_agents_columns(k, examples):
    k("patch", "agent", "data-processor-7d8f4", "-n", "mcp-system", "--subresource=status", "--type=merge",
      "-p", '{"status":{"phase":"Ready","currentTasks":2,"lastHeartbeat":"2026-11-25T10:00:00Z"}}')
    names, rows = parse_table(k("get", "agents", "-n", "mcp-system").stdout)
    assert names == ["NAME", "PHASE", "TASKS", "AGE"]
    assert [(r["NAME"], r["PHASE"], r["TASKS"]) for r in rows] == [("data-processor-7d8f4", "Ready", "2")]
    names, rows = parse_table(k("get", "agents", "-n", "mcp-system", "-o", "wide").stdout)
    assert names == ["NAME", "PHASE", "TASKS", "CAPABILITIES", "AGE"]
    assert "data-processing" in rows[0]["CAPABILITIES"] and "model-inference" in rows[0]["CAPABILITIES"], rows
    assert k("get", "agents", "-n", "mcp-system", "--field-selector", "status.phase=Ready", "-o", "name"
             ).stdout.split() == ["agent.mcp.io/data-processor-7d8f4"]
    r = k("get", "agents", "-n", "mcp-system", "--field-selector", "status.phase=NotReady")
    assert r.stdout == "" and "No resources found" in r.stderr


def test_agent_example_round_trips(k, examples):
    want = yaml.safe_load((EXAMPLES / "agent.yaml").read_text())
    got = get_json(k, "agent", "data-processor-7d8f4", "-n", "mcp-system")
    assert got["spec"] == want["spec"]


def test_delete_examples(k, examples):
    k("apply", "-f", str(EXAMPLES))
    r = k("delete", "-f", str(EXAMPLES))
    assert r.stdout.splitlines() == [
        'agent.mcp.io "data-processor-7d8f4" deleted',
        'task.mcp.io "process-dataset-abc123" deleted',
    ]
    r = k("get", "mcp", "-n", "mcp-system")
    assert r.stdout == "" and "No resources found in mcp-system namespace." in r.stderr


# --------------------------------------------------------------------------------------------- validation, defaults, describe

def test_validation_errors_are_shown(k, ns):
    cases = [  # (manifest, verb, what stderr must contain)
        (task_manifest("bad-priority", priority=11), "apply", ["spec.priority", "less than or equal to 10"]),
        (task_manifest("bad-enum", retryPolicy={"backoffStrategy": "random"}), "apply",
         ["spec.retryPolicy.backoffStrategy", 'Unsupported value: "random"']),
        (task_manifest("bad-deadline", deadline="tomorrow"), "apply", ["spec.deadline", "date-time"]),
        # kubectl apply asks for fieldValidation=Strict
        (task_manifest("bad-field", unknownField=1), "apply", ['unknown field "spec.unknownField"']),
        (task_manifest("bad-retries", retryPolicy={"maxRetries": -1}), "apply",
         ["spec.retryPolicy.maxRetries", "greater than or equal to 0"]),
        (task_manifest("Bad_Name"), "create", ["metadata.name", "RFC 1123"]),
    ]
    problems = []
    for manifest, verb, expected in cases:
        r = k(verb, "-f", "-", input=manifest, ok=None)
        name = yaml.safe_load(manifest)["metadata"]["name"]
        if r.returncode == 0:
            problems.append(f"{name}: accepted ({r.stdout.strip()})")
        elif not all(e in r.stderr for e in expected):
            problems.append(f"{name}: error does not say {expected}: {r.stderr.strip()}")
    assert not problems, "\n".join(problems)
    r = k("get", "tasks", "-n", NS, "-o", "name")
    assert not {"bad-priority", "bad-enum", "bad-deadline", "bad-field", "bad-retries"} & {
        l.split("/", 1)[1] for l in r.stdout.split()}


def test_defaults_are_applied(k, ns):
    k("apply", "-f", "-", input=task_manifest("defaults", retryPolicy={}))
    spec = get_json(k, "task", "defaults", "-n", NS)["spec"]
    assert spec["retryPolicy"] == {"maxRetries": 3, "backoffStrategy": "exponential"}
    k("apply", "-f", "-", input=task_manifest("defaults-linear", retryPolicy={"backoffStrategy": "linear"}))
    spec = get_json(k, "task", "defaults-linear", "-n", NS)["spec"]
    assert spec["retryPolicy"] == {"maxRetries": 3, "backoffStrategy": "linear"}


def test_new_fields_accepted(k, ns):
    spec = {
        "resources": {"cpu": "500m", "memory": "1Gi", "gpu": False},
        "affinity": {"required": ["zone-us-west"], "preferred": ["high-memory"], "avoided": ["spot"]},
        "cancel": False,
        "idempotencyKey": "client-request-42",
    }
    k("apply", "-f", "-", input=task_manifest("new-fields", **spec))
    got = get_json(k, "task", "new-fields", "-n", NS)["spec"]
    for key, value in spec.items():
        assert got[key] == value, key
    status = {"phase": "Running", "assignedAgent": "a1", "attempt": 2, "retries": 1, "agentLossRetries": 0,
              "nextAttemptTime": "2026-11-25T10:00:00Z", "progress": {"current": 3, "total": 10, "message": "x"},
              "reason": "Started", "message": "running", "observedGeneration": 1,
              "conditions": [{"type": "Assigned", "status": "True", "reason": "AgentFound", "message": "ok",
                              "lastTransitionTime": "2026-11-25T10:00:00Z"}]}
    k("patch", "task", "new-fields", "-n", NS, "--subresource=status", "--type=merge", "-p", json.dumps({"status": status}))
    assert get_json(k, "task", "new-fields", "-n", NS)["status"] == status
    names, rows = parse_table(k("get", "task", "new-fields", "-n", NS, "-o", "wide").stdout)
    assert rows[0]["ATTEMPT"] == "2"
    problems = []
    for field, spec in (("spec.resources.cpu", {"resources": {"cpu": "lots"}}),
                        ("spec.idempotencyKey", {"idempotencyKey": "k" * 254}),
                        ("spec.resources.gpu", {"resources": {"gpu": "yes"}}),
                        ("spec.affinity.required", {"affinity": {"required": "zone-a"}})):
        r = k("apply", "-f", "-", input=task_manifest("new-fields-bad", **spec), ok=None)
        if r.returncode == 0 or field not in r.stderr:
            problems.append(f"{spec}: rc={r.returncode} {r.stdout.strip()} {r.stderr.strip()}")
            k("delete", "task", "new-fields-bad", "-n", NS, "--ignore-not-found")
    r = k("patch", "task", "new-fields", "-n", NS, "--subresource=status", "--type=merge",
          "-p", '{"status":{"conditions":[{"type":"A","status":"Maybe"}]}}', ok=None)
    if r.returncode == 0 or "status.conditions[0].status" not in r.stderr:
        problems.append(f"condition status Maybe: rc={r.returncode} {r.stdout.strip()} {r.stderr.strip()}")
    assert not problems, "\n".join(problems)


def test_describe_task(k, applied_task):
    out = k("describe", "task", TASK, "-n", NS).stdout
    for expected in (f"Name:         {TASK}", f"Namespace:    {NS}", "API Version:  mcp.io/v1",
                     "Kind:         Task", "Spec:", "Priority:", "Required Capabilities:"):
        assert expected in out, (expected, out)


# --------------------------------------------------------------------------------------------- explain

def explain_fields(text: str) -> dict[str, str]:
    return dict(re.findall(r"^  (\w+)\t<([^>]+)>", text, re.M))


def squash(text: str) -> str:
    return " ".join(text.split())


def test_explain_task_spec(k, crds_applied):
    out = k("explain", "tasks.spec").stdout
    ref = "\n".join(reference_output("11-explain.log"))
    for header in ("GROUP:      mcp.io", "KIND:       Task", "VERSION:    v1", "FIELD: spec <Object>"):
        assert header in out and header in ref, (header, out)
    ours, theirs = explain_fields(out), explain_fields(ref)
    assert theirs and {f: ours.get(f) for f in theirs} == theirs, out
    for field in ("resources", "affinity", "cancel", "idempotencyKey"):
        assert field in ours, (field, out)
    assert "<no description>" not in out and "<empty>" not in out, out
    text = squash(out)
    assert "Task priority (1-10, higher is more urgent)." in text, out
    assert "Capabilities required to execute this task." in text, out


def test_explain_retry_policy(k, crds_applied):
    out = k("explain", "tasks.spec.retryPolicy").stdout
    assert "FIELD: retryPolicy <Object>" in out, out
    assert explain_fields(out) == {"maxRetries": "integer", "backoffStrategy": "string"}, out
    text = squash(out)
    assert "How a failed attempt is retried." in text
    assert "Maximum number of retry attempts" in text and "Retry backoff strategy" in text, out
    assert "<no description>" not in out


def test_explain_status_and_agent(k, crds_applied):
    out = k("explain", "tasks.status").stdout
    fields = explain_fields(out)
    for field, kind in (("phase", "string"), ("assignedAgent", "string"), ("attempt", "integer"),
                        ("conditions", "[]Object"), ("result", "Object"), ("progress", "Object")):
        assert fields.get(field) == kind, (field, out)
    out = k("explain", "agents.spec").stdout
    fields = explain_fields(out)
    for field, kind in (("capabilities", "[]string"), ("maxConcurrentTasks", "integer"),
                        ("capabilityDetails", "[]Object"), ("draining", "boolean"), ("resources", "Object")):
        assert fields.get(field) == kind, (field, out)
    out = k("explain", "agent.spec.capabilityDetails").stdout
    assert {"name", "description", "inputSchema"} <= set(explain_fields(out)), out
    assert "<no description>" not in out


# --------------------------------------------------------------------------------------------- delete (last)

def test_delete_task_matches_reference(k, applied_task):
    r = k("delete", "task", TASK, "-n", NS)
    assert r.stdout.splitlines() == reference_output("09-delete.log")
    r = k("get", "task", TASK, "-n", NS, ok=False)
    assert f'tasks.mcp.io "{TASK}" not found' in r.stderr


def test_delete_by_label(k, selector_tasks):
    r = k("delete", "tasks", "-n", NS, "-l", "team=a")
    assert sorted(r.stdout.splitlines()) == ['task.mcp.io "sel-a1" deleted', 'task.mcp.io "sel-a2" deleted']
    assert names_of(k, "-l", "team") == ["sel-b1"]


def test_delete_with_finalizer_waits(k, ns):
    name = "finalized"
    k("apply", "-f", "-", input=task_manifest(name))
    k("patch", "task", name, "-n", NS, "--type=merge", "-p", '{"metadata":{"finalizers":["mcp.io/test"]}}')
    r = k("delete", "task", name, "-n", NS, "--wait=false")
    assert r.stdout.strip() == f'task.mcp.io "{name}" deleted'
    obj = get_json(k, "task", name, "-n", NS)
    assert RFC3339.match(obj["metadata"]["deletionTimestamp"]), obj["metadata"]
    waiter = k.popen("wait", "--for=delete", f"task/{name}", "-n", NS, "--timeout=60s", "-v=6")
    try:
        waiter.wait_for("stderr", lambda l: "watch=true" in l, timeout=20)
        k("patch", "task", name, "-n", NS, "--type=merge", "-p", '{"metadata":{"finalizers":null}}')
        line = waiter.wait_for("stdout", lambda l: "condition met" in l, timeout=20)
        assert line == f"task.mcp.io/{name} condition met"
    finally:
        waiter.stop()
    k("get", "task", name, "-n", NS, ok=False)


# --------------------------------------------------------------------------------------------- stored built-in kinds

def test_create_secret_and_configmap_as_kubectl_sends_them(k, ns, tmp_path):
    """kubectl create secret and configmap send protobuf: map<string, bytes> values arrive base64, as a real
    server stores them; a Secret's stringData is folded into data and never stored; type defaults to Opaque."""
    k("create", "secret", "generic", "creds", "-n", ns, "--from-literal=token=s3cret")
    secret = get_json(k, "secret", "creds", "-n", ns)
    assert secret["data"] == {"token": "czNjcmV0"} and secret["type"] == "Opaque", secret
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\x00\xff\x10")
    k("create", "configmap", "settings", "-n", ns, "--from-literal=mode=fast", f"--from-file=blob={binary}")
    config = get_json(k, "configmap", "settings", "-n", ns)
    assert config["data"] == {"mode": "fast"} and config["binaryData"] == {"blob": "AP8Q"}, config
    manifest = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "written", "namespace": ns},
                "stringData": {"password": "hunter2"}, "data": {"user": "YWRh"}}
    k("apply", "-f", "-", input=json.dumps(manifest))
    written = get_json(k, "secret", "written", "-n", ns)
    assert written["data"] == {"user": "YWRh", "password": "aHVudGVyMg=="} and "stringData" not in written, written
