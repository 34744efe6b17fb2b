"""A simulated agent for the MCP tests, written against the API server directly (httpx), so that a test
controls what its capability declares (description, input and output schemas) and what each task does:
its payload asks for progress steps, a failure, or a wait until the task is cancelled. It registers an
Agent, renews its heartbeat Lease, and takes up the tasks assigned to it with the same fenced status
writes the agent runtime makes (a PUT of the status over the resourceVersion read)."""
import datetime
import threading
import time

import httpx

GROUP = "/apis/mcp.io/v1"


def micro_time() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def rfc3339() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class SimAgent:
    def __init__(self, client: httpx.Client, name: str, capabilities: list[dict], task_namespace: str = "default",
                 namespace: str = "mcp-system"):
        self.client = client
        self.name = name
        self.capabilities = capabilities
        self.task_namespace = task_namespace
        self.namespace = namespace
        self.executions: dict[str, int] = {}
        self.cancelled: set[str] = set()
        self._seen: dict[str, int] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    # Registration and heartbeat

    def start(self) -> "SimAgent":
        body = {"apiVersion": "mcp.io/v1", "kind": "Agent",
                "metadata": {"name": self.name, "namespace": self.namespace, "labels": {"mcp.io/agent": self.name}},
                "spec": {"capabilities": [c["name"] for c in self.capabilities], "capabilityDetails": self.capabilities,
                         "maxConcurrentTasks": 8}}
        r = self.client.post(f"{GROUP}/namespaces/{self.namespace}/agents", json=body)
        assert r.status_code == 201, r.text
        self._renew()
        for target in (self._heartbeat, self._follow_tasks):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self, delete: bool = True) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        if delete:
            self.client.delete(f"{GROUP}/namespaces/{self.namespace}/agents/{self.name}")
            self.client.delete(f"/apis/coordination.k8s.io/v1/namespaces/{self.namespace}/leases/{self.name}")

    def _renew(self) -> None:
        path = f"/apis/coordination.k8s.io/v1/namespaces/{self.namespace}/leases"
        r = self.client.get(f"{path}/{self.name}")
        if r.status_code == 404:
            now = micro_time()
            lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                     "metadata": {"name": self.name, "namespace": self.namespace, "labels": {"mcp.io/agent": self.name}},
                     "spec": {"holderIdentity": self.name, "leaseDurationSeconds": 15, "acquireTime": now, "renewTime": now}}
            self.client.post(path, json=lease)
            return
        lease = r.json()
        lease["spec"]["renewTime"] = micro_time()
        self.client.put(f"{path}/{self.name}", json=lease)

    def _heartbeat(self) -> None:
        while not self._stop.wait(2.0):
            try:
                self._renew()
            except httpx.HTTPError:
                pass

    # Tasks

    def _follow_tasks(self) -> None:
        # A test fixture may poll: the product under test (the front end) is what must not.
        while not self._stop.wait(0.05):
            try:
                r = self.client.get(f"{GROUP}/namespaces/{self.task_namespace}/tasks",
                                    params={"fieldSelector": f"status.assignedAgent={self.name}"})
            except httpx.HTTPError:
                continue
            if r.status_code != 200:
                continue
            for task in r.json()["items"]:
                status = task.get("status", {})
                name, attempt = task["metadata"]["name"], status.get("attempt", 0)
                if status.get("phase") == "Assigned" and attempt > self._seen.get(name, 0):
                    self._seen[name] = attempt
                    thread = threading.Thread(target=self._run_quietly, args=(task,), daemon=True)
                    thread.start()

    def _status_path(self, name: str) -> str:
        return f"{GROUP}/namespaces/{self.task_namespace}/tasks/{name}"

    def _write(self, task: dict, change) -> dict | None:
        """Writes change(status) over the task as read, re-reading on a conflict; None when no longer ours."""
        attempt = task["status"]["attempt"]
        for _ in range(10):
            status = task.get("status", {})
            if status.get("assignedAgent") != self.name or status.get("attempt") != attempt or \
                    status.get("phase") not in ("Assigned", "Running"):
                return None
            task["status"] = change(dict(status))
            r = self.client.put(f"{self._status_path(task['metadata']['name'])}/status", json=task)
            if r.status_code == 200:
                return r.json()
            task = self.client.get(self._status_path(task["metadata"]["name"])).json()
        return None

    def _run_quietly(self, task: dict) -> None:
        try:
            self._run(task)
        except httpx.HTTPError:
            pass  # the API server went away (a test stopping it): the attempt is left to the controller

    def _run(self, task: dict) -> None:
        name = task["metadata"]["name"]
        with self._lock:
            self.executions[name] = self.executions.get(name, 0) + 1
        task = self._write(task, lambda s: {**s, "phase": "Running", "reason": "Started", "startTime": rfc3339()})
        if task is None:
            return
        payload = task["spec"].get("payload") or {}
        steps = int(payload.get("steps", 0))
        for step in range(1, steps + 1):
            time.sleep(float(payload.get("stepSeconds", 0.3)))
            task = self._write(task, lambda s, step=step: {**s, "progress": {"current": step, "total": steps,
                                                                              "message": f"step {step} of {steps}"}})
            if task is None:
                return
        if payload.get("waitForCancel"):
            while not self._stop.wait(0.05):
                current = self.client.get(self._status_path(name)).json()
                if current["spec"].get("cancel") or current["status"].get("phase") not in ("Running",):
                    with self._lock:
                        self.cancelled.add(name)
                    return
            return
        if payload.get("fail"):
            self._write(task, lambda s: {**s, "phase": "Failed", "reason": "ExecutionFailed",
                                         "message": str(payload.get("fail")), "completionTime": rfc3339()})
            return
        result = {"echo": payload.get("text", ""), "length": len(payload.get("text", "")), "agent": self.name}
        self._write(task, lambda s: {**s, "phase": "Completed", "reason": "Succeeded", "result": result,
                                     "completionTime": rfc3339()})
