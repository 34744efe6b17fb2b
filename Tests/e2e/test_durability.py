"""The local API server keeps its data on disk so that a restart loses nothing.

Writes objects (a namespace, the CRDs, 200 Tasks with status patches and some deletes, Leases), kills the
server with SIGKILL right after the last write was answered, starts it again on the same data directory
and port, and reads everything back: every answered write is there with the same resourceVersion, uid and
content, deleted objects are gone, new writes get larger resourceVersions, and a watch from the last
resourceVersion seen before the crash works (no 410 Expired) and delivers only the changes after it.
"""
import json
import time

import httpx
import pytest
import yaml

from conftest import ROOT, APIServer

CRDS = ROOT / "deploy" / "crds"
NS = "durable"
TASKS = f"/apis/mcp.io/v1/namespaces/{NS}/tasks"
LEASES = f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases"
CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
MERGE = {"Content-Type": "application/merge-patch+json"}


def rv(obj: dict) -> int:
    value = obj["metadata"]["resourceVersion"]
    assert value.isdigit(), f"resourceVersion {value!r} is not a decimal integer"
    return int(value)


class Ledger:
    """What the server answered: the last state of every object, the deleted ones, the largest resourceVersion."""

    def __init__(self):
        self.objects: dict[str, dict] = {}   # path -> last answered object
        self.deleted: dict[str, str] = {}    # path answered as deleted -> its uid
        self.loose: set[str] = set()         # paths whose status the server writes itself (CRDs)
        self.max_rv = 0

    def record(self, path: str, response: httpx.Response, expect: tuple[int, ...]) -> dict:
        assert response.status_code in expect, (path, response.status_code, response.text[:2000])
        obj = response.json()
        self.record_object(path, obj)
        return obj

    def record_object(self, path: str, obj: dict) -> None:
        value = rv(obj)
        if path in self.objects and obj == self.objects[path]:
            return  # a write that changed nothing keeps its resourceVersion, as on a real server
        assert value > self.max_rv, f"resourceVersion went from {self.max_rv} to {value} at {path}"
        self.max_rv = value
        self.objects[path] = obj
        self.deleted.pop(path, None)

    def record_deleted(self, path: str, response: httpx.Response) -> None:
        assert response.status_code in (200, 202), (path, response.status_code, response.text[:2000])
        body = response.json()
        if body.get("kind") != "Status" and body.get("metadata", {}).get("deletionTimestamp"):
            # deletion pending on a finalizer: the object stays, with its new resourceVersion
            self.record_object(path, body)
            return
        obj = self.objects.pop(path)
        self.deleted[path] = obj["metadata"]["uid"]


def wait_served(c: httpx.Client, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = c.get("/apis/mcp.io/v1")
        if last.status_code == 200 and {"tasks", "agents"} <= {r["name"] for r in last.json()["resources"]}:
            return
        time.sleep(0.05)
    raise AssertionError(f"mcp.io/v1 tasks and agents not served: {last.status_code if last else None} "
                         f"{last.text[:500] if last else ''}")


def task_body(name: str, i: int) -> dict:
    return {
        "apiVersion": "mcp.io/v1", "kind": "Task",
        "metadata": {"name": name, "labels": {"batch": str(i % 4), "i": str(i)},
                     "annotations": {"note": f"task number {i} \u2713"}},
        "spec": {"requiredCapabilities": ["echo", f"cap-{i % 3}"], "priority": 1 + i % 10,
                 "payload": {"i": i, "text": "x" * (i % 50), "nested": {"list": [i, str(i), None, True, 1.5]}},
                 "deadline": "2030-06-10T12:00:00Z",
                 "retryPolicy": {} if i % 2 else {"maxRetries": i % 5, "backoffStrategy": "linear"}},
    }


def populate(c: httpx.Client, ledger: Ledger, count: int = 200, prefix: str = "t") -> str:
    """Creates `count` tasks, patches the status of most, the spec of some, deletes some. Returns the
    path of the last write, which is a status patch."""
    names = [f"{prefix}-{i:03d}" for i in range(count)]
    for i, name in enumerate(names):
        ledger.record(f"{TASKS}/{name}", c.post(TASKS, json=task_body(name, i)), (201,))
    for i, name in enumerate(names):
        path = f"{TASKS}/{name}"
        if i % 5 != 4:
            status = {"status": {"phase": "Assigned", "assignedAgent": f"agent-{i % 7}", "attempt": 1,
                                 "conditions": [{"type": "Assigned", "status": "True", "reason": "AgentFound",
                                                 "message": "assigned", "lastTransitionTime": "2026-11-25T10:00:00Z"}]}}
            ledger.record(path, c.patch(f"{path}/status", content=json.dumps(status), headers=MERGE), (200,))
        if i % 3 == 0:
            ledger.record(path, c.patch(path, content=json.dumps({"spec": {"priority": 10}}), headers=MERGE), (200,))
        if i % 10 == 0:
            status = {"status": {"phase": "Completed", "result": {"ok": True, "i": i},
                                 "completionTime": "2026-11-25T10:01:00Z"}}
            ledger.record(path, c.patch(f"{path}/status", content=json.dumps(status), headers=MERGE), (200,))
    # a JSON patch and a full update
    path = f"{TASKS}/{names[1]}"
    ops = [{"op": "add", "path": "/metadata/labels/patched", "value": "json"}]
    ledger.record(path, c.patch(path, content=json.dumps(ops), headers={"Content-Type": "application/json-patch+json"}),
                  (200,))
    obj = dict(ledger.objects[path])
    obj["spec"] = dict(obj["spec"], requiredCapabilities=["updated"])
    ledger.record(path, c.put(path, json=obj), (200,))
    # deletes: plain, and one held by a finalizer (stays with a deletionTimestamp)
    for i in range(7, count, 7):
        path = f"{TASKS}/{names[i]}"
        ledger.record_deleted(path, c.delete(path))
    held = f"{TASKS}/{names[2]}"
    ledger.record(held, c.patch(held, content=json.dumps({"metadata": {"finalizers": ["mcp.io/hold"]}}),
                                headers=MERGE), (200,))
    ledger.record_deleted(held, c.delete(held))
    # the last write: a status patch; the caller kills the server right after it was answered
    last = f"{TASKS}/{names[3]}"
    ledger.record(last, c.patch(f"{last}/status", content=json.dumps({"status": {"phase": "Running"}}),
                                headers=MERGE), (200,))
    return last


def setup_cluster(c: httpx.Client, ledger: Ledger) -> None:
    ledger.record(f"/api/v1/namespaces/{NS}",
                  c.post("/api/v1/namespaces", json={"apiVersion": "v1", "kind": "Namespace",
                                                     "metadata": {"name": NS}}), (201,))
    for path in sorted(CRDS.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        ledger.record(f"{CRD_PATH}/{doc['metadata']['name']}", c.post(CRD_PATH, json=doc), (201,))
    wait_served(c)
    # CRD status (Established) is written by the server itself: take the CRDs as they are now
    for name in ("agents.mcp.io", "tasks.mcp.io"):
        r = c.get(f"{CRD_PATH}/{name}")
        assert r.status_code == 200, r.text
        ledger.objects[f"{CRD_PATH}/{name}"] = r.json()
        ledger.loose.add(f"{CRD_PATH}/{name}")
        ledger.max_rv = max(ledger.max_rv, rv(r.json()))
    for i in range(3):
        name = f"agent-{i}"
        body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": name},
                "spec": {"holderIdentity": name, "leaseDurationSeconds": 15,
                         "renewTime": "2026-11-25T10:00:00.000000Z", "acquireTime": "2026-11-25T10:00:00.000000Z"}}
        lease = ledger.record(f"{LEASES}/{name}", c.post(LEASES, json=body), (201,))
        lease = dict(lease, spec=dict(lease["spec"], renewTime="2026-11-25T10:00:05.000000Z"))
        ledger.record(f"{LEASES}/{name}", c.put(f"{LEASES}/{name}", json=lease), (200,))


def verify(c: httpx.Client, ledger: Ledger) -> None:
    """Everything answered is there, byte for byte as answered (as JSON values); deleted objects are gone."""
    problems = []
    for path, want in sorted(ledger.objects.items()):
        r = c.get(path)
        if r.status_code != 200:
            problems.append(f"GET {path}: {r.status_code} {r.text[:300]}")
            continue
        got = r.json()
        if path in ledger.loose:
            # written by the server itself too (a CRD's status): compare what the client wrote
            keep = ("uid", "name", "generation", "creationTimestamp", "labels", "annotations")
            got = {"metadata": {k: got["metadata"].get(k) for k in keep}, "spec": got.get("spec")}
            want = {"metadata": {k: want["metadata"].get(k) for k in keep}, "spec": want.get("spec")}
        if got != want:
            diff = {k: (want.get(k), got.get(k)) for k in set(want) | set(got) if want.get(k) != got.get(k)}
            if "metadata" in diff:
                wm, gm = want["metadata"], got["metadata"]
                diff["metadata"] = {k: (wm.get(k), gm.get(k)) for k in set(wm) | set(gm) if wm.get(k) != gm.get(k)}
            problems.append(f"GET {path}: differs from the answered write: {json.dumps(diff)[:1500]}")
    for path in sorted(ledger.deleted):
        r = c.get(path)
        if r.status_code != 404:
            problems.append(f"GET {path}: deleted, but got {r.status_code} {r.text[:300]}")
    # the list agrees with the single GETs
    r = c.get(TASKS)
    assert r.status_code == 200, r.text
    listed = {f"{TASKS}/{item['metadata']['name']}": item for item in r.json()["items"]}
    expected = {p for p in ledger.objects if p.startswith(TASKS + "/")}
    if set(listed) != expected:
        problems.append(f"list: missing {sorted(expected - set(listed))[:10]}, extra {sorted(set(listed) - expected)[:10]}")
    for path in expected & set(listed):
        item = dict(listed[path])
        want = ledger.objects[path]
        if item.get("metadata", {}).get("resourceVersion") != want["metadata"]["resourceVersion"] or \
                item.get("spec") != want.get("spec") or item.get("status") != want.get("status"):
            problems.append(f"list item {path} differs from the answered write")
    list_rv = int(r.json()["metadata"]["resourceVersion"])
    if list_rv < ledger.max_rv:
        problems.append(f"list resourceVersion {list_rv} < largest answered {ledger.max_rv}")
    assert not problems, "\n".join(problems[:40]) + (f"\n... {len(problems)} problems" if len(problems) > 40 else "")


def restart(server: APIServer) -> APIServer:
    again = APIServer(server.data_dir, server.port)
    again.start()
    return again


def read_events(c: httpx.Client, path: str, params: dict, want: int, timeout: float = 15.0) -> list[dict]:
    """Reads up to `want` watch events (or until the server ends the watch or the deadline passes)."""
    events = []
    deadline = time.monotonic() + timeout
    with c.stream("GET", path, params=params, timeout=httpx.Timeout(timeout, connect=5.0)) as r:
        assert r.status_code == 200, (r.status_code, r.read()[:500])
        for line in r.iter_lines():
            if line.strip():
                events.append(json.loads(line))
            if len(events) >= want or time.monotonic() > deadline:
                break
    return events


@pytest.fixture
def server(tmp_path):
    s = APIServer(tmp_path / "apiserver")
    s.start()
    holder = {"server": s}
    yield holder
    holder["server"].stop()


def test_kill9_loses_no_answered_write(server):
    s: APIServer = server["server"]
    ledger = Ledger()
    with s.client() as c:
        setup_cluster(c, ledger)
        last_path = populate(c, ledger)
        uids_before = {p: o["metadata"]["uid"] for p, o in ledger.objects.items()}
        s.kill9()  # right after the last write was answered
    assert s.process.returncode == -9
    s = server["server"] = restart(s)

    with s.client() as c:
        wait_served(c)
        verify(c, ledger)
        assert {p: o["metadata"]["uid"] for p, o in ledger.objects.items()} == uids_before
        # the last write is there
        assert c.get(last_path).json()["status"]["phase"] == "Running"
        # the finalizer-held delete is still pending
        held = c.get(f"{TASKS}/t-002").json()
        assert held["metadata"].get("deletionTimestamp") and held["metadata"]["finalizers"] == ["mcp.io/hold"]

        # a watch from the last resourceVersion seen before the crash: no 410, only what comes after
        since = ledger.max_rv
        new = ledger.record(f"{TASKS}/after-restart", c.post(TASKS, json=task_body("after-restart", 1)), (201,))
        assert rv(new) > since
        patched = ledger.record(f"{TASKS}/t-005", c.patch(f"{TASKS}/t-005/status", headers=MERGE,
                                                           content=json.dumps({"status": {"phase": "Failed"}})),
                                (200,))
        ledger.record_deleted(f"{TASKS}/t-006", c.delete(f"{TASKS}/t-006"))
        events = read_events(c, TASKS, {"watch": "true", "resourceVersion": str(since), "timeoutSeconds": "5"}, 3)
        assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "DELETED"], json.dumps(events)[:2000]
        assert [e["object"]["metadata"]["name"] for e in events] == ["after-restart", "t-005", "t-006"]
        assert events[0]["object"] == new and events[1]["object"] == patched
        assert all(rv(e["object"]) > since for e in events)

        # the finalizer still works after the restart: removing it completes the delete
        r = c.patch(f"{TASKS}/t-002", headers=MERGE, content=json.dumps({"metadata": {"finalizers": None}}))
        assert r.status_code == 200, r.text
        ledger.deleted[f"{TASKS}/t-002"] = ledger.objects.pop(f"{TASKS}/t-002")["metadata"]["uid"]
        assert c.get(f"{TASKS}/t-002").status_code == 404

        # optimistic concurrency still holds: a stale resourceVersion from before the crash conflicts
        stale = dict(ledger.objects[f"{TASKS}/t-001"])
        stale["metadata"] = dict(stale["metadata"], resourceVersion=str(since - 1))
        r = c.put(f"{TASKS}/t-001", json=stale)
        assert r.status_code == 409 and r.json()["reason"] == "Conflict", r.text
        # creating an object that exists still conflicts; the deleted name can be reused, with a new uid
        r = c.post(TASKS, json=task_body("t-001", 1))
        assert r.status_code == 409 and r.json()["reason"] == "AlreadyExists", r.text
        old_uid = ledger.deleted[f"{TASKS}/t-007"]
        reborn = ledger.record(f"{TASKS}/t-007", c.post(TASKS, json=task_body("t-007", 7)), (201,))
        assert reborn["metadata"]["uid"] != old_uid and reborn["metadata"]["uid"] not in uids_before.values()
        verify(c, ledger)


def test_watch_from_last_rv_after_crash_without_new_writes(server):
    s: APIServer = server["server"]
    ledger = Ledger()
    with s.client() as c:
        setup_cluster(c, ledger)
        populate(c, ledger, count=20)
        s.kill9()
    s = server["server"] = restart(s)
    with s.client() as c:
        wait_served(c)
        since = ledger.max_rv
        # nothing happened since: a short watch from it delivers nothing (at most a bookmark) and no error
        events = read_events(c, TASKS, {"watch": "true", "resourceVersion": str(since), "timeoutSeconds": "1"}, 1,
                             timeout=10)
        assert [e for e in events if e["type"] != "BOOKMARK"] == [], json.dumps(events)[:2000]
        r = c.get(TASKS)
        list_rv = r.json()["metadata"]["resourceVersion"]
        assert int(list_rv) >= since
        # a list's resourceVersion after the restart can be watched from too
        created = ledger.record(f"{TASKS}/later", c.post(TASKS, json=task_body("later", 2)), (201,))
        events = read_events(c, TASKS, {"watch": "true", "resourceVersion": list_rv, "timeoutSeconds": "5"}, 1)
        assert [(e["type"], e["object"]) for e in events] == [("ADDED", created)]
        # and a resourceVersion far in the past is Expired (410), as a real server does after compaction,
        # or replays: either way never an error status code on the watch request itself
        with c.stream("GET", TASKS, params={"watch": "true", "resourceVersion": "1", "timeoutSeconds": "1"}) as r:
            assert r.status_code in (200, 410), r.status_code


def test_restart_twice_in_a_row(server):
    s: APIServer = server["server"]
    ledger = Ledger()
    with s.client() as c:
        setup_cluster(c, ledger)
        populate(c, ledger, count=60, prefix="first")
        s.kill9()
    # restart, then at once kill again without any write
    s = server["server"] = restart(s)
    with s.client() as c:
        verify(c, ledger)
    s.kill9()
    s = server["server"] = restart(s)
    with s.client() as c:
        wait_served(c)
        verify(c, ledger)
        before = ledger.max_rv
        populate(c, ledger, count=40, prefix="second")
        assert ledger.max_rv > before
    # a graceful stop this time
    s.stop()
    assert s.process.returncode is not None
    s = server["server"] = restart(s)
    with s.client() as c:
        wait_served(c)
        verify(c, ledger)
        ledger.record(f"{TASKS}/third-000", c.post(TASKS, json=task_body("third-000", 0)), (201,))  # checks rv grows
    s.kill9()
    s = server["server"] = restart(s)
    with s.client() as c:
        assert c.get(f"{TASKS}/third-000").status_code == 200
        verify(c, ledger)


def test_kill9_during_concurrent_writes(server):
    """Writes in flight when the process dies may or may not be there; every answered one is."""
    import threading

    s: APIServer = server["server"]
    ledger = Ledger()
    with s.client() as c:
        setup_cluster(c, ledger)
    answered: dict[str, dict] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def writer(w: int) -> None:
        with s.client(http2=False) as c:
            i = 0
            while not stop.is_set():
                name = f"w{w}-{i:04d}"
                try:
                    r = c.post(TASKS, json=task_body(name, i))
                except httpx.HTTPError:
                    return
                if r.status_code == 201:
                    with lock:
                        answered[f"{TASKS}/{name}"] = r.json()
                i += 1

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with lock:
            if len(answered) >= 150:
                break
        time.sleep(0.01)
    s.kill9()
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert len(answered) >= 20, f"only {len(answered)} writes answered in 10s"
    s = server["server"] = restart(s)
    with s.client() as c:
        wait_served(c)
        missing, differing = [], []
        for path, want in answered.items():
            r = c.get(path)
            if r.status_code != 200:
                missing.append(path)
            elif r.json() != want:
                differing.append(path)
        assert not missing and not differing, f"answered but lost: {missing[:10]}; changed: {differing[:10]}"
        # resourceVersions stay unique and ordered: the new write is above every answered one
        top = max(rv(o) for o in answered.values())
        r = c.post(TASKS, json=task_body("after", 0))
        assert r.status_code == 201 and rv(r.json()) > top, r.text
        listed = c.get(TASKS).json()["items"]
        rvs = [rv(item) for item in listed]
        assert len(rvs) == len(set(rvs)), "two objects share a resourceVersion"


def at_once(s: APIServer, writers: list) -> list[httpx.Response]:
    """Runs each writer (connection -> its responses) on an HTTP/1.1 connection of its own, all released at the same
    moment, and returns every response they got."""
    import threading

    answers: list[httpx.Response] = []
    lock = threading.Lock()
    start = threading.Barrier(len(writers))

    def run(writer) -> None:
        with s.client(http2=False) as c:
            start.wait()
            for r in writer(c):
                with lock:
                    answers.append(r)

    threads = [threading.Thread(target=run, args=(writer,)) for writer in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return answers


def test_concurrent_writes_to_one_object_lose_nothing_and_one_precondition_wins(server):
    """Writes to one object are prepared side by side and stored one at a time: of unconditional patches from
    eight connections at once every one is kept; of updates that all name the same resourceVersion exactly one
    succeeds and the others are 409 Conflict, as etcd's compare of the key's revision decides on a real server."""
    s: APIServer = server["server"]
    ledger = Ledger()
    with s.client() as c:
        setup_cluster(c, ledger)
        assert c.post(TASKS, json=task_body("contended", 0)).status_code == 201
    path = f"{TASKS}/contended"

    def patches(w: int):
        return lambda c: (c.patch(path, headers=MERGE, json={"metadata": {"labels": {f"w{w}-{i}": "set"}}}) for i in range(25))

    answers = at_once(s, [patches(w) for w in range(8)])
    assert [r.status_code for r in answers] == [200] * 200, {r.status_code: r.text for r in answers if r.status_code != 200}
    versions = [rv(r.json()) for r in answers]
    assert len(set(versions)) == 200, "two patches were answered with the same resourceVersion"
    with s.client() as c:
        stored = c.get(path).json()
        labels = stored["metadata"]["labels"]
        assert {f"w{w}-{i}" for w in range(8) for i in range(25)} <= set(labels), "an answered patch was lost"
        assert rv(stored) == max(versions)

    def update(w: int):
        body = json.loads(json.dumps(stored))
        body["metadata"]["labels"]["winner"] = f"w{w}"
        return lambda c: [c.put(path, json=body)]

    updates = at_once(s, [update(w) for w in range(8)])
    codes = sorted(r.status_code for r in updates)
    assert codes == [200] + [409] * 7, codes
    assert all(r.json()["reason"] == "Conflict" for r in updates if r.status_code == 409)
    winner = next(r.json() for r in updates if r.status_code == 200)
    with s.client() as c:
        assert c.get(path).json()["metadata"]["labels"]["winner"] == winner["metadata"]["labels"]["winner"]
