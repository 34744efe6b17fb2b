"""`conductor agent` as a platform team runs it: real agent processes with command and http executors against
`conductor dev` (started as a process), judged with kubectl, which no one here wrote, and with /proc for the
processes the command executor started."""
import datetime
import http.server
import json
import os
import pathlib
import select
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid

import httpx
import pytest
import yaml

from conftest import ROOT, DevProcess, conductor_binary, free_port, wait_for

NAMESPACE = "mcp-system"


class Dev(DevProcess):
    """`conductor dev` whose retries after a failed attempt come after 0.2 s rather than 1 s."""

    def __init__(self, data_dir: pathlib.Path):
        super().__init__(data_dir, extra_args=["--retry-backoff-base", "0.2"])

    def create_task(self, capability: str, payload: dict, namespace: str = NAMESPACE, **spec) -> str:
        name = f"t-{uuid.uuid4().hex[:10]}"
        task = {"apiVersion": "mcp.io/v1", "kind": "Task", "metadata": {"name": name, "namespace": namespace},
                "spec": {"requiredCapabilities": [capability], "payload": payload, **spec}}
        self.kubectl("create", "-f", "-", input=json.dumps(task))
        return name

    def task(self, name: str, namespace: str = NAMESPACE) -> dict:
        return json.loads(self.kubectl("get", "task", name, "-n", namespace, "-o", "json").stdout)

    def wait_phase(self, name: str, phases: set[str], timeout: float = 30.0, namespace: str = NAMESPACE) -> dict:
        def reached():
            task = self.task(name, namespace)
            return task if task.get("status", {}).get("phase") in phases and self.settled(task) else None
        return wait_for(reached, timeout, f"task {name} in {phases}")

    @staticmethod
    def settled(task: dict) -> bool:
        """Completed, or Failed for good (a Failed attempt that the controller will retry is not)."""
        status = task.get("status", {})
        if status.get("phase") == "Failed":
            # Final reasons an agent reports itself are final at once (TaskStatus.isFinal); the controller's
            # own set the Failed condition.
            return status.get("reason") in {"ResultTooLarge", "Rejected"} or \
                any(c["type"] == "Failed" and c["status"] == "True" for c in status.get("conditions", []))
        return True

    def exists(self, kind: str, name: str) -> bool:
        return self.kubectl("get", kind, name, "-n", NAMESPACE, check=False).returncode == 0


def condition_message(task: dict, kind: str) -> str:
    return next((c.get("message", "") for c in task["status"].get("conditions", []) if c["type"] == kind), "")


class Agent:
    """One `conductor agent` process with its configuration file."""

    def __init__(self, dev: Dev, directory: pathlib.Path, config: dict, drain_timeout: float | None = None,
                 kubeconfig: pathlib.Path | None = None):
        self.dev = dev
        self.kubeconfig = kubeconfig or dev.kubeconfig
        self.name = config["name"]
        self.directory = directory
        self.config_path = directory / f"{self.name}.yaml"
        self.log_path = directory / f"{self.name}.log"
        self.health_port = free_port()
        self.drain_timeout = drain_timeout
        directory.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(yaml.safe_dump(config))
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> "Agent":
        args = [conductor_binary(), "agent", "--config", str(self.config_path), "--kubeconfig", str(self.kubeconfig),
                "--health-bind", "127.0.0.1", "--health-port", str(self.health_port), "--log-format", "json",
                "--heartbeat-interval", "1", "--lease-duration", "5"]
        if self.drain_timeout is not None:
            args += ["--drain-timeout", str(self.drain_timeout)]
        self.process = subprocess.Popen(args, cwd=ROOT, stdout=open(self.log_path, "ab"), stderr=subprocess.STDOUT,
                                        start_new_session=True)

        def ready():
            assert self.process.poll() is None, self.log_path.read_text()
            try:
                ok = httpx.get(f"http://127.0.0.1:{self.health_port}/readyz", timeout=1.0).status_code == 200
            except httpx.HTTPError:
                return False
            # Ready for the scheduler too: the controller saw its heartbeat.
            return ok and self.dev.kubectl("get", "agent", self.name, "-n", NAMESPACE, "-o",
                                           "jsonpath={.status.phase}", check=False).stdout == "Ready"
        wait_for(ready, timeout, f"agent {self.name} ready")
        return self

    def signal(self, sig: int) -> None:
        self.process.send_signal(sig)

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def rss_kib(self) -> int:
        for line in pathlib.Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def metrics(self) -> str:
        return httpx.get(f"http://127.0.0.1:{self.health_port}/metrics", timeout=5.0).text


def live_processes_in_group(pgid: int) -> list[int]:
    """The processes of a process group that are alive (zombies, already dead, are not counted)."""
    found = []
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state != "Z":
            found.append(int(entry.name))
    return found


@pytest.fixture(scope="module")
def dev(tmp_path_factory):
    # One `conductor dev` for the module: some thirty tests' agents come and go on it, as on a long-lived install.
    process = Dev(tmp_path_factory.mktemp("agent-dev"))
    process.start()
    yield process
    process.stop()


@pytest.fixture
def agents(dev, tmp_path):
    """Makes agents; kills whatever is left of them after the test."""
    made: list[Agent] = []

    def make(capabilities: list[dict], name: str | None = None, drain_timeout: float | None = None,
             kubeconfig: pathlib.Path | None = None, **settings) -> Agent:
        config = {"name": name or f"agent-{uuid.uuid4().hex[:8]}", "namespace": NAMESPACE, "maxConcurrentTasks": 4, **settings}
        if capabilities:
            config["capabilities"] = capabilities
        agent = Agent(dev, tmp_path / "agents", config, drain_timeout=drain_timeout, kubeconfig=kubeconfig)
        made.append(agent)
        return agent.start()
    yield make
    for agent in made:
        agent.stop()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def script(tmp_path: pathlib.Path, name: str, body: str) -> list[str]:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return [sys.executable, str(path)]


# A program that records its process group, starts a child in it, ignores SIGTERM itself (so that only the
# SIGKILL after the grace period ends it), and never finishes on its own.
STUBBORN = """
    import json, os, signal, subprocess, sys, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    child = subprocess.Popen(["sleep", "300"])
    with open(os.environ["PID_FILE"] + ".tmp", "w") as f:
        json.dump({"pid": os.getpid(), "pgid": os.getpgid(0), "child": child.pid}, f)
    os.rename(os.environ["PID_FILE"] + ".tmp", os.environ["PID_FILE"])
    time.sleep(300)
"""


# MARK: command executor

def test_command_executor_returns_the_result_and_relays_progress(dev, agents):
    capability = unique("echo")
    agent = agents([{"name": capability, "description": "Echo the payload back", "inputSchema": {"type": "object"},
                     "command": [sys.executable, str(ROOT / "examples" / "echo.py")]}])
    registered = json.loads(dev.kubectl("get", "agent", agent.name, "-n", NAMESPACE, "-o", "json").stdout)
    assert registered["spec"]["capabilities"] == [capability]
    assert registered["spec"]["capabilityDetails"][0]["description"] == "Echo the payload back"

    name = dev.create_task(capability, {"message": "hello", "steps": 6, "delaySeconds": 0.4})
    # Progress is relayed while it runs: a step short of the last is seen in the Task.
    progress = wait_for(lambda: (p := dev.task(name).get("status", {}).get("progress")) and p.get("current", 0) < 6 and p,
                        20, "progress while running")
    assert progress["total"] == 6 and progress["message"].startswith("step "), progress
    task = dev.wait_phase(name, {"Completed"})
    status = task["status"]
    assert status["result"] == {"echo": "hello", "task": name, "attempt": 1}, status
    assert status["assignedAgent"] == agent.name and status["attempt"] == 1
    assert status["progress"] == {"current": 6, "total": 6, "message": "step 6 of 6"}, status
    metrics = agent.metrics()
    assert f'conductor_agent_tasks_completed_total{{capability="{capability}"}} 1' in metrics, metrics
    assert "conductor_agent_task_duration_seconds_bucket" in metrics


def test_non_json_output_is_wrapped_as_text(dev, agents, tmp_path):
    capability = unique("words")
    agents([{"name": capability, "command": script(tmp_path, "words.py", "print('just words')")}])
    task = dev.wait_phase(dev.create_task(capability, {}), {"Completed"})
    assert task["status"]["result"] == {"text": "just words"}


def test_a_failing_command_fails_with_its_exit_code_and_the_end_of_stderr(dev, agents, tmp_path):
    capability = unique("fail")
    agent = agents([{"name": capability, "command": script(tmp_path, "fail.py", """
        import sys
        print("reading the input", file=sys.stderr)
        print("error: the disk is full", file=sys.stderr)
        sys.exit(3)
    """)}])
    name = dev.create_task(capability, {}, retryPolicy={"maxRetries": 1})
    task = dev.wait_phase(name, {"Failed"})
    status = task["status"]
    # Retried once, then final; the agent's message stays in the Running condition.
    assert status["reason"] == "RetriesExhausted" and status["attempt"] == 2, status
    message = condition_message(task, "Running")
    assert "exited with status 3" in message and "error: the disk is full" in message, message
    assert f'conductor_agent_tasks_failed_total{{capability="{capability}",reason="ExecutionFailed"}} 2' in agent.metrics()


def test_the_deadline_stops_the_whole_process_group(dev, agents, tmp_path):
    capability = unique("slow")
    pid_file = tmp_path / "deadline.json"
    agents([{"name": capability, "command": script(tmp_path, "stubborn.py", STUBBORN), "env": {"PID_FILE": str(pid_file)},
             "terminationGracePeriodSeconds": 1}])
    deadline = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
    name = dev.create_task(capability, {}, deadline=deadline)
    wait_for(pid_file.exists, 20, "the program started")
    group = json.loads(pid_file.read_text())
    assert group["pid"] == group["pgid"], group  # it leads a process group of its own
    assert len(live_processes_in_group(group["pgid"])) >= 2
    task = dev.wait_phase(name, {"Failed"}, timeout=20)
    assert task["status"]["reason"] == "DeadlineExceeded", task["status"]
    # SIGTERM to the group ended the child; the program ignored it and got SIGKILL after the grace period.
    wait_for(lambda: not live_processes_in_group(group["pgid"]), 10, f"process group {group['pgid']} gone")


def test_cancellation_stops_the_whole_process_group(dev, agents, tmp_path):
    capability = unique("cancel")
    pid_file = tmp_path / "cancel.json"
    agent = agents([{"name": capability, "command": script(tmp_path, "stubborn.py", STUBBORN), "env": {"PID_FILE": str(pid_file)},
                     "terminationGracePeriodSeconds": 1}])
    name = dev.create_task(capability, {})
    wait_for(pid_file.exists, 20, "the program started")
    group = json.loads(pid_file.read_text())
    assert len(live_processes_in_group(group["pgid"])) >= 2
    dev.kubectl("patch", "task", name, "-n", NAMESPACE, "--type", "merge", "-p", '{"spec": {"cancel": true}}')
    task = dev.wait_phase(name, {"Failed"})
    assert task["status"]["reason"] == "Cancelled", task["status"]
    wait_for(lambda: not live_processes_in_group(group["pgid"]), 10, f"process group {group['pgid']} gone")
    wait_for(lambda: f'conductor_agent_tasks_cancelled_total{{capability="{capability}"}} 1' in agent.metrics(), 10,
             "the cancellation counted")


def test_output_above_the_result_cap_fails_with_result_too_large(dev, agents, tmp_path):
    capability = unique("big")
    agents([{"name": capability, "command": script(tmp_path, "big.py", """
        import json, sys
        json.dump({"data": "x" * (300 * 1024)}, sys.stdout)
    """)}])
    task = dev.wait_phase(dev.create_task(capability, {}), {"Failed"})
    status = task["status"]
    assert status["reason"] == "ResultTooLarge" and status["attempt"] == 1, status  # final: not retried
    assert "is above 262144 bytes" in status["message"], status


def test_a_program_that_writes_forever_is_stopped_and_memory_stays_bounded(dev, agents, tmp_path):
    capability = unique("forever")
    pid_file = tmp_path / "forever.json"
    agent = agents([{"name": capability, "env": {"PID_FILE": str(pid_file)}, "command": script(tmp_path, "forever.py", """
        import json, os, sys
        with open(os.environ["PID_FILE"], "w") as f:
            json.dump({"pgid": os.getpgid(0)}, f)
        chunk = b"y" * 65536
        while True:
            sys.stdout.buffer.write(chunk)
    """)}])
    before = agent.rss_kib()
    task = dev.wait_phase(dev.create_task(capability, {}), {"Failed"})
    assert task["status"]["reason"] == "ResultTooLarge", task["status"]
    wait_for(lambda: not live_processes_in_group(json.loads(pid_file.read_text())["pgid"]), 10, "the writer stopped")
    # The output past the cap was never kept. The bound leaves room for one-off growth (the threads' malloc
    # arenas, a busy machine's slower frees), not for the output.
    assert agent.rss_kib() - before < 48 * 1024, (before, agent.rss_kib())


# MARK: http executor

class Endpoint:
    """A small HTTP server standing for a sidecar: /ok answers the payload and the task's headers, /refuse 422,
    /flaky 503 on a task's first attempt and 200 on the next."""

    def __init__(self):
        self.requests: list[dict] = []
        self.aborted = threading.Event()
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                headers = {k.lower(): v for k, v in self.headers.items() if k.lower().startswith("x-conductor-")}
                endpoint.requests.append({"path": self.path, "body": body, "headers": headers})
                if self.path == "/ok":
                    self.answer(200, {"got": body, "headers": headers})
                elif self.path == "/refuse":
                    self.answer(422, {"error": "field n must be positive"})
                elif self.path == "/slow":
                    # Holds the request until the client goes away (end of file on the connection), as a
                    # long-running sidecar would; records that the request was aborted.
                    deadline = time.monotonic() + 30
                    while time.monotonic() < deadline:
                        readable, _, _ = select.select([self.connection], [], [], 0.1)
                        if readable and self.connection.recv(1, socket.MSG_PEEK) == b"":
                            endpoint.aborted.set()
                            return
                    self.answer(200, {"late": True})
                elif self.path == "/huge":
                    # A body without end (well, 1 GiB): the agent keeps the cap and no more, and hangs up.
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(1 << 30))
                    self.end_headers()
                    try:
                        for _ in range((1 << 30) // 65536):
                            self.wfile.write(b" " * 65536)
                    except (BrokenPipeError, ConnectionResetError):
                        endpoint.aborted.set()
                elif self.path == "/flaky":
                    attempt = headers.get("x-conductor-task-attempt")
                    self.answer(503, {"error": "warming up"}) if attempt == "1" else self.answer(200, {"attempt": attempt})
                else:
                    self.answer(404, {"error": "no such path"})

            def answer(self, status, document):
                data = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def endpoint():
    server = Endpoint()
    yield server
    server.close()


def test_http_executor_posts_the_payload_and_returns_the_json_answer(dev, agents, endpoint):
    capability = unique("http-ok")
    agent = agents([{"name": capability, "http": {"url": endpoint.url + "/ok"}}])
    name = dev.create_task(capability, {"n": 3})
    task = dev.wait_phase(name, {"Completed"})
    result = task["status"]["result"]
    assert result["got"] == {"n": 3}, result
    assert result["headers"]["x-conductor-task-name"] == name
    assert result["headers"]["x-conductor-task-attempt"] == "1"
    assert result["headers"]["x-conductor-agent"] == agent.name


def test_http_4xx_fails_the_task_without_retrying(dev, agents, endpoint):
    capability = unique("http-refuse")
    agents([{"name": capability, "http": {"url": endpoint.url + "/refuse"}}])
    task = dev.wait_phase(dev.create_task(capability, {"n": -1}, retryPolicy={"maxRetries": 3}), {"Failed"})
    status = task["status"]
    assert status["reason"] == "Rejected" and status["attempt"] == 1, status
    assert "HTTP 422" in status["message"] and "field n must be positive" in status["message"], status
    assert len(endpoint.requests) == 1


def test_http_5xx_fails_the_attempt_and_the_retry_succeeds(dev, agents, endpoint):
    capability = unique("http-flaky")
    agents([{"name": capability, "http": {"url": endpoint.url + "/flaky"}}])
    task = dev.wait_phase(dev.create_task(capability, {}, retryPolicy={"maxRetries": 2, "backoffStrategy": "linear"}),
                          {"Completed"})
    assert task["status"]["attempt"] == 2 and task["status"]["result"] == {"attempt": "2"}, task["status"]
    assert [r["headers"]["x-conductor-task-attempt"] for r in endpoint.requests] == ["1", "2"]


def test_http_cancellation_aborts_the_request(dev, agents, endpoint):
    capability = unique("http-cancel")
    agents([{"name": capability, "http": {"url": endpoint.url + "/slow"}}])
    name = dev.create_task(capability, {})
    wait_for(lambda: endpoint.requests, 20, "the request made")
    dev.kubectl("patch", "task", name, "-n", NAMESPACE, "--type", "merge", "-p", '{"spec": {"cancel": true}}')
    assert dev.wait_phase(name, {"Failed"})["status"]["reason"] == "Cancelled"
    assert endpoint.aborted.wait(10), "the request was not aborted"


def test_http_deadline_aborts_the_request(dev, agents, endpoint):
    capability = unique("http-deadline")
    agents([{"name": capability, "http": {"url": endpoint.url + "/slow"}, "timeoutSeconds": 2}])
    name = dev.create_task(capability, {}, retryPolicy={"maxRetries": 0})
    assert endpoint.aborted.wait(15), "the request was not aborted at the capability's timeout"
    task = dev.wait_phase(name, {"Failed"})
    assert "stopped at the capability's timeout of 2.0s" in condition_message(task, "Running"), task["status"]


def test_an_http_answer_above_the_cap_fails_with_result_too_large_and_is_not_read_to_the_end(dev, agents, endpoint):
    capability = unique("http-huge")
    agent = agents([{"name": capability, "http": {"url": endpoint.url + "/huge"}}])
    before = agent.rss_kib()
    task = dev.wait_phase(dev.create_task(capability, {}), {"Failed"})
    assert task["status"]["reason"] == "ResultTooLarge", task["status"]
    assert endpoint.aborted.wait(10), "the agent read on"
    # Far below the 1 GiB offered: room for URLSession's first use (libcurl, its threads) and what it takes in
    # before the delegate's cancellation lands (up to 80 MiB seen on a busy machine).
    assert agent.rss_kib() - before < 256 * 1024, (before, agent.rss_kib())


def test_http_connection_errors_fail_the_attempt(dev, agents):
    capability = unique("http-down")
    agents([{"name": capability, "http": {"url": f"http://127.0.0.1:{free_port()}/run"}}])
    task = dev.wait_phase(dev.create_task(capability, {}, retryPolicy={"maxRetries": 1}), {"Failed"})
    assert task["status"]["reason"] == "RetriesExhausted" and task["status"]["attempt"] == 2, task["status"]
    assert "could not reach" in condition_message(task, "Running")


# MARK: drain

def echo_capability(name: str) -> dict:
    return {"name": name, "command": [sys.executable, str(ROOT / "examples" / "echo.py")]}


def test_the_controller_exports_each_capabilitys_load_for_autoscalers(dev, agents):
    """Waiting and running tasks and free slots per capability, on the controller's /metrics (what KEDA reads)."""
    capability = unique("scale")

    def gauges() -> dict[str, float]:
        found = {}
        for line in dev.metrics().splitlines():
            for gauge in ("tasks_waiting", "tasks_running", "free_slots"):
                if line.startswith(f'conductor_capability_{gauge}{{capability="{capability}"}} '):
                    found[gauge] = float(line.rsplit(" ", 1)[1])
        return found

    waiting = [dev.create_task(capability, {"message": "wait"}) for _ in range(3)]
    wait_for(lambda: gauges() == {"tasks_waiting": 3, "tasks_running": 0, "free_slots": 0}, 10, "three tasks waiting, no agent")
    agent = agents([echo_capability(capability)], maxConcurrentTasks=2)
    long = dev.create_task(capability, {"message": "hold", "steps": 40, "delaySeconds": 0.5})
    for name in waiting:
        dev.wait_phase(name, {"Completed"})
    dev.wait_phase(long, {"Running"})
    wait_for(lambda: gauges() == {"tasks_waiting": 0, "tasks_running": 1, "free_slots": 1}, 10, "one running, one slot free")
    agent.signal(signal.SIGTERM)  # draining: its slots are no longer free
    wait_for(lambda: gauges().get("free_slots") == 0, 10, "no free slot once the agent drains")


def test_sigterm_drains_the_running_task_then_deregisters_and_exits_0(dev, agents):
    capability = unique("drain")
    agent = agents([echo_capability(capability)], drain_timeout=30)
    name = dev.create_task(capability, {"message": "finish me", "steps": 8, "delaySeconds": 0.4})
    dev.wait_phase(name, {"Running"})
    agent.signal(signal.SIGTERM)
    # Marked draining at once, so that no new task reaches it.
    wait_for(lambda: dev.kubectl("get", "agent", agent.name, "-n", NAMESPACE, "-o", "jsonpath={.spec.draining}",
                                 check=False).stdout == "true", 5, "the Agent marked draining")
    later = dev.create_task(capability, {"message": "not for a draining agent"})
    assert agent.wait(timeout=30) == 0, agent.log_path.read_text()
    task = dev.task(name)
    assert task["status"]["phase"] == "Completed" and task["status"]["attempt"] == 1, task["status"]
    assert task["status"]["result"]["echo"] == "finish me"
    assert dev.task(later)["status"].get("assignedAgent") is None, dev.task(later)["status"]
    # Deregistered: the Agent and its heartbeat Lease are gone.
    assert not dev.exists("agent", agent.name)
    assert not dev.exists("lease", agent.name)


def test_a_task_longer_than_the_drain_timeout_is_handed_back_and_completed_by_another_agent(dev, agents):
    capability = unique("handback")
    first = agents([echo_capability(capability)], drain_timeout=1)
    name = dev.create_task(capability, {"message": "long", "steps": 20, "delaySeconds": 0.5})
    dev.wait_phase(name, {"Running"})
    first.signal(signal.SIGTERM)
    assert first.wait(timeout=20) == 0, first.log_path.read_text()
    assert not dev.exists("agent", first.name)
    # Back to Pending (lost with its agent), not failed: nothing ran it twice at once.
    status = wait_for(lambda: (s := dev.task(name)["status"])["phase"] == "Pending" and s, 10, "the task back to Pending")
    assert status.get("agentLossRetries") == 1 and status["attempt"] == 1 and "result" not in status, status
    second = agents([echo_capability(capability)])
    task = dev.wait_phase(name, {"Completed"}, timeout=40)
    assert task["status"]["assignedAgent"] == second.name and task["status"]["attempt"] == 2, task["status"]
    assert task["status"]["result"]["attempt"] == 2


def test_a_second_sigterm_stops_at_once(dev, agents):
    capability = unique("twice")
    agent = agents([echo_capability(capability)], drain_timeout=60)
    name = dev.create_task(capability, {"message": "x", "steps": 40, "delaySeconds": 0.5})
    dev.wait_phase(name, {"Running"})
    agent.signal(signal.SIGTERM)
    wait_for(lambda: "draining" in agent.log_path.read_text(), 5, "draining")
    started = time.monotonic()
    agent.signal(signal.SIGTERM)
    agent.wait(timeout=10)
    assert time.monotonic() - started < 5


def test_a_bad_configuration_is_refused_before_anything_is_registered(dev, tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("name: bad-agent\ncapabilities:\n  - name: x\n    http: {url: 'ftp://nowhere'}\n")
    run = subprocess.run([conductor_binary(), "agent", "--config", str(config), "--kubeconfig", str(dev.kubeconfig),
                          "--health-port", "0"], capture_output=True, text=True, timeout=30)
    assert run.returncode == 2, run.stderr
    assert "capabilities[0].http.url" in run.stderr and "http:// or https://" in run.stderr, run.stderr
    assert not dev.exists("agent", "bad-agent")


# MARK: deployment

def rendered_pool(example: str) -> list[dict]:
    run = subprocess.run(["kubectl", "kustomize", str(ROOT / "deploy" / "agents" / example)], capture_output=True, text=True,
                         check=True, timeout=60)
    return [d for d in yaml.safe_load_all(run.stdout) if d]


# Each example pool, and the repository file each ConfigMap carries a copy of.
POOLS = {"echo": {"echo.py": "examples/echo.py"}, "time": {}, "http-echo": {"server.py": "examples/http_echo.py"}}


@pytest.mark.parametrize("pool", sorted(POOLS))
def test_each_example_pool_renders_with_a_valid_configuration_and_arguments_conductor_agent_accepts(pool, tmp_path):
    docs = rendered_pool(pool)
    kinds = {d["kind"]: d for d in docs}
    assert {"ServiceAccount", "RoleBinding", "ConfigMap", "Deployment"} <= set(kinds), list(kinds)
    config_map, deployment = kinds["ConfigMap"], kinds["Deployment"]
    # The ConfigMap's programs are the repository's examples, unchanged.
    for key, source in POOLS[pool].items():
        assert config_map["data"][key] == (ROOT / source).read_text(), f"deploy/agents/{pool}/{key} differs from {source}"
    pod = deployment["spec"]["template"]["spec"]
    account = kinds["ServiceAccount"]["metadata"]["name"]
    assert pod["serviceAccountName"] == account and account.startswith("mcp-agent-")  # held by the admission policies
    assert all(s["name"] == account for d in docs if d["kind"] == "RoleBinding" for s in d["subjects"])
    assert pod["volumes"][0]["configMap"]["name"] == config_map["metadata"]["name"]  # the generated, hashed name
    # The pool in mcp-system; its tasks binding where its configuration watches tasks.
    assert {d["metadata"]["namespace"] for d in docs if d["kind"] != "RoleBinding"} == {NAMESPACE}
    tasks_binding = next(d for d in docs if d["kind"] == "RoleBinding" and d["roleRef"]["name"] == "mcp-conductor-agent-tasks")
    assert tasks_binding["metadata"]["namespace"] == yaml.safe_load(config_map["data"]["agent.yaml"])["taskNamespace"]
    container = pod["containers"][0]
    assert {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}} in container["env"]
    config = yaml.safe_load(config_map["data"]["agent.yaml"])
    assert pod["terminationGracePeriodSeconds"] > config["drainTimeoutSeconds"]
    # Its configuration and arguments pass conductor agent's checks: it stops only for want of an API server
    # (or, fronting an MCP server, once that server's tools are listed).
    (tmp_path / "agent.yaml").write_text(config_map["data"]["agent.yaml"])
    args = [arg.replace("/etc/conductor-agent/agent.yaml", str(tmp_path / "agent.yaml")) for arg in container["args"]]
    run = subprocess.run([conductor_binary(), *args, "--kubeconfig", str(tmp_path / "missing"), "--health-port", "0"],
                         capture_output=True, text=True, timeout=60, env={**os.environ, "POD_NAME": f"{pool}-agent-7c9d-x2x4q"})
    assert run.returncode == 1 and "no API server" in run.stderr, run.stderr


def test_the_pools_account_is_held_by_the_admission_policies_and_may_delete_only_itself():
    from test_admission_policy import admit, policies
    pool = {"username": "system:serviceaccount:mcp-system:mcp-agent-echo",
            "extra": {"authentication.kubernetes.io/pod-name": ["echo-agent-1"]}}
    held = {"metadata": {"name": "t1"}, "status": {"phase": "Running", "assignedAgent": "echo-agent-2", "attempt": 1}}
    assert admit(policies()["mcp-conductor-agent-tasks"], pool, "Task", held, held), "the pool may write another's task"
    own_policy = policies()["mcp-conductor-agent-self"]
    # A drained agent deletes its own Agent and Lease (a DELETE has only the old object), and no other.
    assert admit(own_policy, pool, "Agent", None, {"metadata": {"name": "echo-agent-1"}}) == []
    assert admit(own_policy, pool, "Lease", None, {"metadata": {"name": "echo-agent-2"}})


# MARK: mcp executor

def agent_capabilities(dev: Dev, agent: Agent) -> dict:
    spec = json.loads(dev.kubectl("get", "agent", agent.name, "-n", NAMESPACE, "-o", "json").stdout)["spec"]
    return {detail["name"]: detail for detail in spec.get("capabilityDetails", [])} | \
        {name: {} for name in spec["capabilities"] if name not in {d["name"] for d in spec.get("capabilityDetails", [])}}


def test_mcp_executor_fronts_an_official_reference_server(dev, agents):
    """mcp-server-time, from PyPI: its tools become capabilities (through the allow list, under the prefix)."""
    prefix = unique("time") + "."
    agent = agents([], mcpServers=[{"name": "time", "toolPrefix": prefix, "tools": ["get_current_time"],
                                    "command": [sys.executable, "-m", "mcp_server_time", "--local-timezone", "UTC"]}])
    capabilities = agent_capabilities(dev, agent)
    assert list(capabilities) == [prefix + "get_current_time"], capabilities  # convert_time is not allowed
    detail = capabilities[prefix + "get_current_time"]
    assert detail["inputSchema"]["required"] == ["timezone"] and detail["description"], detail

    task = dev.wait_phase(dev.create_task(prefix + "get_current_time", {"timezone": "Europe/Paris"}), {"Completed"})
    assert task["status"]["result"]["timezone"] == "Europe/Paris" and "datetime" in task["status"]["result"], task["status"]
    # isError: the task fails with the tool's message, for good.
    failed = dev.wait_phase(dev.create_task(prefix + "get_current_time", {"timezone": "Nowhere/Atlantis"}), {"Failed"})
    assert failed["status"]["reason"] == "Rejected" and "Invalid timezone" in failed["status"]["message"], failed["status"]


@pytest.fixture
def tools_agent(dev, agents, tmp_path):
    """An agent fronting the SDK-written server of servers/mcp_tools_server.py; its events file."""
    prefix = unique("tools") + "."
    events = tmp_path / "events.jsonl"
    agent = agents([], mcpServers=[{"name": "tools", "toolPrefix": prefix, "env": {"EVENTS_FILE": str(events)},
                                    "command": [sys.executable, str(ROOT / "Tests" / "e2e" / "servers" / "mcp_tools_server.py")]}])
    return agent, prefix, events


def read_events(path: pathlib.Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_mcp_tools_with_schemas_progress_and_structured_results(dev, tools_agent):
    agent, prefix, _ = tools_agent
    capabilities = agent_capabilities(dev, agent)
    assert {prefix + name for name in ("add", "refuse", "wait_forever", "crash", "grow")} <= set(capabilities), capabilities
    add = capabilities[prefix + "add"]
    assert add["description"].startswith("Add the numbers up") and "numbers" in add["inputSchema"]["properties"], add
    assert set(add["outputSchema"]["properties"]) == {"total", "count"}, add

    name = dev.create_task(prefix + "add", {"numbers": [1, 2, 3, 4, 5, 6], "delay_seconds": 0.4})
    progress = wait_for(lambda: (p := dev.task(name).get("status", {}).get("progress")) and p.get("current", 0) < 6 and p,
                        20, "the server's progress relayed")
    assert progress["total"] == 6 and progress["message"].startswith("added "), progress
    task = dev.wait_phase(name, {"Completed"})
    assert task["status"]["result"] == {"total": 21, "count": 6}, task["status"]

    refused = dev.wait_phase(dev.create_task(prefix + "refuse", {"reason": "no thanks"}), {"Failed"})
    assert refused["status"]["reason"] == "Rejected" and "refused: no thanks" in refused["status"]["message"], refused["status"]


def test_mcp_cancellation_reaches_the_downstream_server(dev, tools_agent):
    agent, prefix, events = tools_agent
    name = dev.create_task(prefix + "wait_forever", {"label": "c1"})
    wait_for(lambda: any(e["event"] == "waiting" for e in read_events(events)), 20, "the tool called")
    dev.kubectl("patch", "task", name, "-n", NAMESPACE, "--type", "merge", "-p", '{"spec": {"cancel": true}}')
    assert dev.wait_phase(name, {"Failed"})["status"]["reason"] == "Cancelled"
    # The server got notifications/cancelled and stopped the call.
    wait_for(lambda: any(e["event"] == "cancelled" and e["label"] == "c1" for e in read_events(events)), 10,
             "the server saw the cancellation")


def test_mcp_tools_list_changed_updates_the_agent(dev, tools_agent):
    agent, prefix, _ = tools_agent
    assert prefix + "late" not in agent_capabilities(dev, agent)
    dev.wait_phase(dev.create_task(prefix + "grow", {"name": "late"}), {"Completed"})
    wait_for(lambda: prefix + "late" in agent_capabilities(dev, agent), 10, "the new tool registered")
    task = dev.wait_phase(dev.create_task(prefix + "late", {"text": "hi"}), {"Completed"}, timeout=30)
    assert "late: hi" in json.dumps(task["status"]["result"]), task["status"]


def test_a_crashed_mcp_server_fails_the_attempt_and_is_restarted(dev, tools_agent):
    agent, prefix, events = tools_agent
    first = [e for e in read_events(events) if e["event"] == "started"]
    assert len(first) == 1
    crashed = dev.wait_phase(dev.create_task(prefix + "crash", {}, retryPolicy={"maxRetries": 0}), {"Failed"})
    assert crashed["status"]["reason"] == "RetriesExhausted", crashed["status"]
    assert "MCP server tools exited" in condition_message(crashed, "Running"), crashed["status"]
    # Started again (another process), and serving.
    wait_for(lambda: len([e for e in read_events(events) if e["event"] == "started"]) == 2, 15, "the server restarted")
    task = dev.wait_phase(dev.create_task(prefix + "add", {"numbers": [2, 3], "delay_seconds": 0}), {"Completed"}, timeout=30)
    assert task["status"]["result"] == {"total": 5, "count": 2}
    assert 'conductor_agent_executor_restarts_total{server="tools"} 1' in agent.metrics()


@pytest.fixture
def http_tools_agent(dev, agents, tmp_path):
    """The same server over streamable HTTP, as its own process, and an agent fronting its URL."""
    port = free_port()
    events = tmp_path / "http-events.jsonl"
    process = subprocess.Popen([sys.executable, str(ROOT / "Tests" / "e2e" / "servers" / "mcp_tools_server.py"), "--http", str(port)],
                               env={**os.environ, "EVENTS_FILE": str(events)}, stdout=subprocess.DEVNULL,
                               stderr=open(tmp_path / "http-server.log", "wb"), start_new_session=True)

    def serving():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False
    wait_for(serving, 20, "the HTTP MCP server listening")
    prefix = unique("http-tools") + "."
    agent = agents([], mcpServers=[{"name": "tools", "toolPrefix": prefix, "url": f"http://127.0.0.1:{port}/mcp"}])
    yield agent, prefix, events
    process.terminate()
    process.wait(timeout=10)


def test_mcp_over_streamable_http_calls_relays_progress_cancels_and_follows_list_changed(dev, http_tools_agent):
    agent, prefix, events = http_tools_agent
    capabilities = agent_capabilities(dev, agent)
    assert {prefix + name for name in ("add", "refuse", "wait_forever", "grow")} <= set(capabilities), capabilities
    assert set(capabilities[prefix + "add"]["outputSchema"]["properties"]) == {"total", "count"}

    name = dev.create_task(prefix + "add", {"numbers": [1, 2, 3, 4, 5, 6], "delay_seconds": 0.4})
    progress = wait_for(lambda: (p := dev.task(name).get("status", {}).get("progress")) and p.get("current", 0) < 6 and p,
                        20, "the server's progress relayed")
    assert progress["total"] == 6, progress
    assert dev.wait_phase(name, {"Completed"})["status"]["result"] == {"total": 21, "count": 6}

    refused = dev.wait_phase(dev.create_task(prefix + "refuse", {"reason": "over http"}), {"Failed"})
    assert refused["status"]["reason"] == "Rejected" and "refused: over http" in refused["status"]["message"]

    waiting = dev.create_task(prefix + "wait_forever", {"label": "h1"})
    wait_for(lambda: any(e["event"] == "waiting" for e in read_events(events)), 20, "the tool called")
    dev.kubectl("patch", "task", waiting, "-n", NAMESPACE, "--type", "merge", "-p", '{"spec": {"cancel": true}}')
    assert dev.wait_phase(waiting, {"Failed"})["status"]["reason"] == "Cancelled"
    wait_for(lambda: any(e["event"] == "cancelled" and e["label"] == "h1" for e in read_events(events)), 10,
             "the server saw the cancellation")

    dev.wait_phase(dev.create_task(prefix + "grow", {"name": "later"}), {"Completed"})
    wait_for(lambda: prefix + "later" in agent_capabilities(dev, agent), 10, "the new tool registered")


def test_an_agent_runs_with_the_example_pools_service_account_and_roles_alone(dev, agents, tmp_path):
    """The local API server authorizes with RBAC as kube-apiserver does: with the echo pool's account token and
    the agents' roles (deploy/rbac/agent.yaml), an agent registers, runs a task, drains and deletes its own
    Agent and Lease; it may not touch a task's spec."""
    dev.kubectl("apply", "-f", str(ROOT / "deploy" / "rbac" / "agent.yaml"))
    pool = [d for d in rendered_pool("echo") if d["kind"] in ("ServiceAccount", "RoleBinding")]
    dev.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(pool))
    token = dev.kubectl("create", "token", "mcp-agent-echo", "-n", NAMESPACE).stdout.strip()
    kubeconfig = yaml.safe_load(dev.kubeconfig.read_text())
    for user in kubeconfig["users"]:
        user["user"] = {"token": token}
    pool_kubeconfig = tmp_path / "pool-kubeconfig"
    pool_kubeconfig.write_text(yaml.safe_dump(kubeconfig))
    whoami = subprocess.run(["kubectl", "--kubeconfig", str(pool_kubeconfig), "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"],
                            capture_output=True, text=True, timeout=30)
    assert whoami.stdout == "system:serviceaccount:mcp-system:mcp-agent-echo", whoami.stderr

    capability = unique("rbac")
    # Its tasks where the pool's binding lets it read them (the MCP front end's namespace, default).
    config = yaml.safe_load(next(d for d in rendered_pool("echo") if d["kind"] == "ConfigMap")["data"]["agent.yaml"])
    agent = agents([echo_capability(capability)], kubeconfig=pool_kubeconfig, drain_timeout=10, taskNamespace=config["taskNamespace"])
    name = dev.create_task(capability, {"message": "as the pool", "steps": 2, "delaySeconds": 0.2}, namespace="default")
    task = dev.wait_phase(name, {"Completed"}, namespace="default")
    assert task["status"]["result"]["echo"] == "as the pool" and task["status"]["progress"]["current"] == 2
    # Least privilege: the pool's token writes no task spec.
    denied = subprocess.run(["kubectl", "--kubeconfig", str(pool_kubeconfig), "patch", "task", name, "-n", "default", "--type", "merge",
                             "-p", '{"spec": {"priority": 9}}'], capture_output=True, text=True, timeout=30)
    assert denied.returncode != 0 and "forbidden" in denied.stderr.lower(), denied.stderr
    agent.signal(signal.SIGTERM)
    assert agent.wait(timeout=30) == 0, agent.log_path.read_text()
    assert not dev.exists("agent", agent.name) and not dev.exists("lease", agent.name), agent.log_path.read_text()


def test_an_agent_whose_role_does_not_cover_its_task_watch_says_so_and_stops(dev, tmp_path):
    """The echo pool's account reads tasks in default alone: an agent of it told to watch every namespace stops
    before registering, naming the setting, rather than retrying a forbidden watch for ever."""
    dev.kubectl("apply", "-f", str(ROOT / "deploy" / "rbac" / "agent.yaml"))
    dev.kubectl("apply", "-f", "-", input=yaml.safe_dump_all([d for d in rendered_pool("echo") if d["kind"] in ("ServiceAccount", "RoleBinding")]))
    token = dev.kubectl("create", "token", "mcp-agent-echo", "-n", NAMESPACE).stdout.strip()
    kubeconfig = yaml.safe_load(dev.kubeconfig.read_text())
    for user in kubeconfig["users"]:
        user["user"] = {"token": token}
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump(kubeconfig))
    (tmp_path / "agent.yaml").write_text(yaml.safe_dump({"name": "all-namespaces", "capabilities": [echo_capability("x")]}))
    run = subprocess.run([conductor_binary(), "agent", "--config", str(tmp_path / "agent.yaml"), "--kubeconfig", str(tmp_path / "kubeconfig"),
                          "--health-port", "0"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "may not list tasks in every namespace" in run.stderr, run.stderr
    assert not dev.exists("agent", "all-namespaces")


def test_loadtest_dispatch_runs_tasks_through_a_running_agent_and_reports_its_memory(dev, agents):
    capability = unique("probe")
    agent = agents([{"name": capability, "description": "Echo the payload (cat)", "command": ["cat"]}])
    loadtest = str(pathlib.Path(conductor_binary()).with_name("loadtest"))
    run = subprocess.run([loadtest, "dispatch", "--kubeconfig", str(dev.kubeconfig), "--no-raw", "--capability", capability,
                          "--agent-metrics-url", f"http://127.0.0.1:{agent.health_port}/metrics",
                          "--tasks", "40", "--concurrency", "4", "--timeout", "60"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert f"the running agents of capability {capability}" in run.stdout, run.stdout
    assert "completed   40 in" in run.stdout, run.stdout
    assert "agent resident memory (http://127.0.0.1:" in run.stdout and " samples): start " in run.stdout, run.stdout
