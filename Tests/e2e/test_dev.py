"""`conductor dev` as a user meets it: one process with the API server, the CRDs, the mcp-system namespace and
the controller. Agents are the load test's simulated ones (`loadtest dispatch`); kubectl, which no one here
wrote, checks what they left behind."""
import json
import re
import os
import pathlib
import subprocess

import pytest

from conftest import ROOT, DevProcess, conductor_binary


class Dev(DevProcess):
    """`conductor dev` with its defaults."""


@pytest.fixture
def dev(tmp_path):
    process = Dev(tmp_path / "dev")
    process.start()
    yield process
    process.stop()


def loadtest_binary() -> str:
    return str(pathlib.Path(conductor_binary()).with_name("loadtest"))


def test_dev_dispatches_tasks_to_agents_and_kubectl_sees_them_completed(dev):
    run = subprocess.run([loadtest_binary(), "dispatch", "--kubeconfig", str(dev.kubeconfig), "--tasks", "40",
                          "--concurrency", "8", "--agents", "3", "--no-cleanup", "--json"],
                         capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["tasks"] == 40 and result["errors"] == {}, result
    assert 0 < result["assignedP50Milliseconds"] <= result["completedP99Milliseconds"], result
    assert result["rawLifecyclesPerSecond"] > 0 and result["dispatchOverRaw"] > 0, result

    tasks = json.loads(dev.kubectl("get", "tasks", "-n", "default", "-l", "loadtest.mcp.io/dispatch", "-o", "json").stdout)["items"]
    assert len(tasks) == 40
    agents_used = set()
    for task in tasks:
        status = task["status"]
        assert status["phase"] == "Completed" and status["attempt"] == 1, task["metadata"]["name"]
        assert status["result"] == {"echo": task["spec"]["payload"]}
        agents_used.add(status["assignedAgent"])
    assert len(agents_used) == 3, agents_used  # spread over every agent

    # The printer columns show the agent; the controller told operators with Events.
    table = dev.kubectl("get", "tasks", "-n", "default", "-l", "loadtest.mcp.io/dispatch").stdout
    assert "Completed" in table and any(agent in table for agent in agents_used), table
    events = json.loads(dev.kubectl("get", "events", "-n", "default", "-o", "json").stdout)["items"]
    reasons = {event["reason"] for event in events if event["involvedObject"]["kind"] == "Task"}
    assert {"Assigned", "Completed"} <= reasons, reasons
    agent_events = json.loads(dev.kubectl("get", "events", "-n", "mcp-system", "-o", "json").stdout)["items"]
    assert any(event["reason"] == "AgentReady" for event in agent_events)

    # The raw run's 40 tasks, kept by --no-cleanup, are Completed too (written by loadtest raw itself).
    samples = dev.samples()
    # The controller assigned the 40 and the warm-up task, which loadtest deleted before the measured run.
    assert samples["conductor_assignments_total"] == 41, samples
    assert samples['conductor_tasks{phase="Completed"}'] == 80, samples


def test_dispatch_in_an_open_loop_offers_tasks_at_a_share_of_the_raw_ceiling(dev):
    """--rate-share: tasks arrive at a fixed rate (half of loadtest raw's lifecycles/s in the same run) whatever
    the system's state; each one completes, and the tail percentiles are reported."""
    run = subprocess.run([loadtest_binary(), "dispatch", "--kubeconfig", str(dev.kubeconfig), "--tasks", "30",
                          "--concurrency", "8", "--agents", "2", "--rate-share", "0.5", "--raw-after", "--json"],
                         capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["tasks"] == 30 and result["errors"] == {}, result
    assert result["offeredTasksPerSecond"] == result["rawLifecyclesPerSecond"] * 0.5, result
    # --raw-after: the ceiling measured again once the tasks are through, and its Tasks cleaned up like the first's.
    assert result["rawAfterLifecyclesPerSecond"] > 0, result
    listed = json.loads(subprocess.run(["kubectl", "--kubeconfig", str(dev.kubeconfig), "get", "tasks", "-A", "-o", "json"],
                                       capture_output=True, text=True, timeout=60, check=True).stdout)["items"]
    assert not [task for task in listed if "loadtest.mcp.io/run" in task["metadata"].get("labels", {})], listed
    assert result["assignedP50Milliseconds"] <= result["assignedP99Milliseconds"] <= result["assignedP999Milliseconds"], result


@pytest.mark.parametrize("args, message", [
    (["--rate", "0"], "--rate must be above 0"),
    (["--rate-share", "0.5", "--no-raw"], "--rate-share needs the raw run"),
    (["--rate", "5", "--rate-share", "0.5"], "give --rate or --rate-share, not both"),
    (["--raw-after", "--no-raw"], "--raw-after compares with the raw run before the tasks"),
])
def test_dispatch_refuses_a_bad_open_loop(args, message):
    run = subprocess.run([loadtest_binary(), "dispatch", *args], capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and message in run.stderr, run.stderr


def test_dev_logs_one_json_object_a_line_with_its_time_level_logger_and_message(dev):
    """--log-format json, read by a JSON parser no one here wrote: every line an object, keys sorted, the time RFC 3339
    in UTC to the microsecond."""
    # The file holds standard output too (the client configuration dev prints): the log lines are those with a level.
    lines = [line for line in dev.log_path.read_text().splitlines() if line.startswith("{") and '"level":' in line]
    assert len(lines) > 5, lines
    for line in lines:
        entry = json.loads(line)
        assert {"time", "level", "logger", "msg"} <= set(entry), entry
        assert list(entry) == sorted(entry), entry
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", entry["time"]), entry
    assert any(entry["msg"] == "MCP front end serving" for entry in map(json.loads, lines)), lines[:20]


def test_dev_stops_cleanly_on_sigterm(dev):
    assert dev.stop() == 0, dev.log_path.read_text()


def test_dispatch_says_clearly_when_no_controller_runs(fresh_apiserver):
    from conftest import apply_project_crds
    with fresh_apiserver.client() as client:
        apply_project_crds(client)
        client.post("/api/v1/namespaces", json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mcp-system"}})
    run = subprocess.run([loadtest_binary(), "dispatch", "--kubeconfig", str(fresh_apiserver.kubeconfig), "--tasks", "1",
                          "--no-raw", "--timeout", "2"], capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert "no controller marked the 8 agents Ready" in run.stderr, run.stderr


def test_the_deployments_arguments_are_ones_conductor_run_accepts(tmp_path):
    import yaml
    docs = [d for d in yaml.safe_load_all((ROOT / "deploy" / "controller" / "deployment.yaml").read_text()) if d]
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[0] == "run"
    args = [arg.replace("$(POD_NAME)", "mcp-conductor-controller-0") for arg in args]
    # Every flag parses; it then stops at the missing kubeconfig, not at a usage error.
    run = subprocess.run([conductor_binary(), *args, "--kubeconfig", str(tmp_path / "missing")],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode != 0
    assert "cannot read the kubeconfig" in run.stderr, run.stderr
    assert "Usage" not in run.stderr and "Error: Unknown option" not in run.stderr, run.stderr


def test_dev_brings_the_crds_of_an_older_data_directory_up_to_date(tmp_path):
    """A data directory made by an older conductor holds older CRDs: the next start applies the current ones,
    so that new fields are kept rather than pruned."""
    first = DevProcess(tmp_path / "data")
    first.start()
    removed = '[{"op": "remove", "path": "/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties/ttlSecondsAfterFinished"}]'
    first.kubectl("patch", "crd", "tasks.mcp.io", "--type", "json", "-p", removed)
    schema = lambda dev: json.loads(dev.kubectl("get", "crd", "tasks.mcp.io", "-o", "json").stdout)[  # noqa: E731
        "spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    assert "ttlSecondsAfterFinished" not in schema(first)
    assert first.stop() == 0

    second = DevProcess(tmp_path / "data")
    second.start()
    try:
        assert "ttlSecondsAfterFinished" in schema(second)
        task = {"apiVersion": "mcp.io/v1", "kind": "Task", "metadata": {"name": "kept", "namespace": "default"},
                "spec": {"requiredCapabilities": ["nobody"], "ttlSecondsAfterFinished": 60}}
        second.kubectl("create", "-f", "-", input=json.dumps(task))
        stored = json.loads(second.kubectl("get", "task", "kept", "-n", "default", "-o", "json").stdout)
        assert stored["spec"]["ttlSecondsAfterFinished"] == 60, stored
    finally:
        second.stop()


def test_dev_stops_without_waiting_out_the_graceful_shutdown_limit(tmp_path):
    """The parts' clients close before the API server's graceful shutdown, which waits for open connections: an
    idle one left open used to hold the exit until the 10 s limit cancelled everything."""
    dev = DevProcess(tmp_path / "data", env={**os.environ, "CONDUCTOR_LOG_LEVEL": "debug"})
    dev.start()
    assert dev.stop() == 0, dev.log_path.read_text()
    log = dev.log_path.read_text()
    assert "Graceful shutdown caught" in log, "no debug log: the check below would prove nothing"
    assert "took longer than allowed" not in log, log[-3000:]
