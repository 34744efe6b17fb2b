"""`loadtest raw` against a real `conductor apiserver`: it runs every lifecycle, reports it, and leaves
each Task Completed (checked with kubectl, which no one here wrote)."""
import json
import pathlib
import subprocess

from conftest import DevProcess, apply_project_crds, conductor_binary, free_port


def loadtest_binary() -> str:
    return str(pathlib.Path(conductor_binary()).with_name("loadtest"))


def test_raw_runs_every_lifecycle_and_leaves_tasks_completed(fresh_apiserver):
    with fresh_apiserver.client() as client:
        apply_project_crds(client)
    run = subprocess.run([loadtest_binary(), "raw", "--kubeconfig", str(fresh_apiserver.kubeconfig), "--tasks", "40",
                          "--concurrency", "8", "--no-cleanup", "--json"],
                         capture_output=True, text=True, timeout=120, check=True)
    result = json.loads(run.stdout)
    assert result["lifecycles"] == 40, result
    assert result["errors"] == {}, result
    assert result["p50Milliseconds"] <= result["p99Milliseconds"]
    assert result["baselineRequestsPerSecond"] > 0

    listed = fresh_apiserver.kubectl("get", "tasks", "-n", "default", "-o", "json").stdout
    tasks = json.loads(listed)["items"]
    assert len(tasks) == 40
    for task in tasks:
        status = task["status"]
        assert status["phase"] == "Completed", task["metadata"]["name"]
        assert status["assignedAgent"] == "loadtest-agent" and status["attempt"] == 1
        assert status["startTime"] <= status["completionTime"]


def test_raw_says_clearly_when_the_crd_is_missing(fresh_apiserver):
    run = subprocess.run([loadtest_binary(), "raw", "--kubeconfig", str(fresh_apiserver.kubeconfig), "--tasks", "1"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert "apply deploy/crds first" in run.stderr, run.stderr


def test_raw_refuses_bad_arguments():
    run = subprocess.run([loadtest_binary(), "raw", "--tasks", "0"], capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert "--tasks must be at least 1" in run.stderr, run.stderr


def test_mcp_calls_a_tool_through_the_front_end_beside_dispatch_and_cleans_up(tmp_path):
    dev = DevProcess(tmp_path / "dev")
    dev.start()
    try:
        run = subprocess.run([loadtest_binary(), "mcp", "--kubeconfig", str(dev.kubeconfig), "--mcp-url", dev.url,
                              "--tasks", "30", "--concurrency", "4", "--agents", "2", "--json"],
                             capture_output=True, text=True, timeout=180)
        assert run.returncode == 0, run.stderr
        result = json.loads(run.stdout)
        assert result["calls"] == 30 and result["errors"] == {}, result
        assert result["callP50Milliseconds"] <= result["callP99Milliseconds"]
        assert result["dispatchTasksPerSecond"] > 0 and result["mcpOverDispatch"] > 0, result
        assert "overheadP50Milliseconds" in result and "overheadP99Milliseconds" in result
        # Both halves' Tasks and the simulated agents are gone.
        assert json.loads(dev.kubectl("get", "tasks", "-A", "-o", "json").stdout)["items"] == []
        assert json.loads(dev.kubectl("get", "agents", "-A", "-o", "json").stdout)["items"] == []
    finally:
        dev.stop()


def test_mcp_refuses_a_url_that_is_not_http():
    run = subprocess.run([loadtest_binary(), "mcp", "--mcp-url", "ftp://127.0.0.1/mcp"], capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert "--mcp-url must be an http:// or https:// URL" in run.stderr, run.stderr


def test_memory_reports_the_controllers_resident_memory_per_cached_object_and_cleans_up(tmp_path):
    dev = DevProcess(tmp_path / "dev")
    dev.start()
    try:
        run = subprocess.run([loadtest_binary(), "memory", "--kubeconfig", str(dev.kubeconfig),
                              "--metrics-url", f"http://127.0.0.1:{dev.health_port}/metrics",
                              "--tasks", "300", "--agents", "30", "--settle", "1", "--json"], capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        result = json.loads(run.stdout)
        assert result["tasks"] == 300 and result["agents"] == 30, result
        assert result["startResidentBytes"] > 0 and result["withTasksResidentBytes"] > 0, result
        assert "bytesPerTask" in result and "afterCleanupResidentBytes" in result, result
        assert json.loads(dev.kubectl("get", "tasks", "-A", "-o", "json").stdout)["items"] == []
        assert json.loads(dev.kubectl("get", "agents", "-A", "-o", "json").stdout)["items"] == []
    finally:
        dev.stop()


def test_memory_says_clearly_when_no_controller_answers_at_the_metrics_url(fresh_apiserver):
    with fresh_apiserver.client() as client:
        apply_project_crds(client)
    url = f"http://127.0.0.1:{free_port()}/metrics"
    run = subprocess.run([loadtest_binary(), "memory", "--kubeconfig", str(fresh_apiserver.kubeconfig),
                          "--metrics-url", url, "--tasks", "1"], capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert f"cannot read the controller's metrics at {url}" in run.stderr, run.stderr


def test_memory_refuses_a_negative_settle_time():
    run = subprocess.run([loadtest_binary(), "memory", "--settle=-1"], capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert "--settle must be 0 to 3600 seconds" in run.stderr, run.stderr


def test_dispatch_refuses_an_agent_metrics_url_without_the_agents_capability():
    run = subprocess.run([loadtest_binary(), "dispatch", "--agent-metrics-url", "http://127.0.0.1:1/metrics"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert "give that agent's --capability too" in run.stderr, run.stderr
