"""`loadtest raw` against a real `conductor apiserver`: it runs every lifecycle, reports it, and leaves
each Task Completed (checked with kubectl, which no one here wrote)."""
import json
import pathlib
import subprocess

from conftest import apply_project_crds, conductor_binary


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
