"""The short chaos run (`loadtest chaos`, loadtest/README.md): tasks through a `conductor apiserver`, two
leader-elected `conductor run` replicas and `conductor agent` processes while agents, the leader and the API
server are SIGKILLed and agents SIGSTOPped; every invariant must hold, and every kind of fault must have been
injected and recovered from. The soak is the same command with 10,000 tasks."""
import json
import subprocess

from test_loadtest import loadtest_binary

KINDS = {"agent", "leader", "apiserver", "stall"}


def test_the_short_chaos_run_keeps_every_invariant_through_every_kind_of_fault(tmp_path):
    work = tmp_path / "chaos"
    run = subprocess.run([loadtest_binary(), "chaos", "--tasks", "200", "--rate", "10", "--fault-interval", "2.5",
                          "--seed", "11", "--timeout", "300", "--work-dir", str(work), "--json"],
                         capture_output=True, text=True, timeout=600)
    assert run.stdout, f"no report; exit {run.returncode}; stderr tail:\n{run.stderr[-4000:]}"
    report = json.loads(run.stdout)
    failed = [check for check in report["invariants"] if not check["passed"]]
    assert not failed, json.dumps(failed, indent=2) + f"\n(the processes' logs are in {work})"
    assert run.returncode == 0, run.stderr[-4000:]
    assert report["allFinal"] and report["completed"] + sum(report["failed"].values()) == 200, report

    injected = {fault["kind"] for fault in report["faults"]}
    assert injected == KINDS, f"the faults met every kind: {report['faults']}"
    for kind in report["recoveryByKind"]:
        assert kind["recovered"] == kind["measured"], f"every fault with something to recover recovered: {kind}"


def test_an_overloaded_api_server_answering_429_loses_nothing(tmp_path):
    """Overload: the API server serves two requests at a time and answers 429 with Retry-After to the rest, while
    150 tasks arrive at once; the replicas and agents back off and go on, and every task ends once. The heartbeat
    and leader leases are 10 s: renewals wait in the same 429s as everything else (the local server has no priority
    levels), and with 3 s leases an agent now and then looks lost, so that a task runs twice, as allowed."""
    work = tmp_path / "overload"
    run = subprocess.run([loadtest_binary(), "chaos", "--tasks", "150", "--rate", "0", "--max-in-flight", "150",
                          "--faults", "none", "--api-server-max-requests-inflight", "2", "--timeout", "300",
                          "--agent-lease-seconds", "10", "--leader-lease-seconds", "10",
                          "--work-dir", str(work), "--json"],
                         capture_output=True, text=True, timeout=600)
    assert run.stdout, f"no report; exit {run.returncode}; stderr tail:\n{run.stderr[-4000:]}"
    report = json.loads(run.stdout)
    failed = [check for check in report["invariants"] if not check["passed"]]
    assert not failed, json.dumps(failed, indent=2) + f"\n(the processes' logs are in {work})"
    assert report["requestsRefused"] > 0, "the API server was overloaded: it answered 429"
    assert report["completed"] == 150 and report["failed"] == {}, report
    assert report["tasksDoneMoreThanOnce"] == 0, "no fault, so no work done twice"
