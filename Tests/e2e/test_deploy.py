"""The deployment (issue 10, "Deployment" and "Proof"): `kubectl kustomize deploy/` and each example pool rendered and
checked; applied to `conductor apiserver` as kubectl applies them (a server dry run that stores nothing, then for
real); the controller Deployment's arguments run by `conductor run` under the rendered service account and roles;
the Dockerfile and its build step, scripts/build-release.sh, run here with CONFIGURATION=debug.

The local API server stores every kind `deploy/` holds (it serves Deployments, Services, ConfigMaps, Secrets,
PodDisruptionBudgets and admission policies without acting on them), so `kubectl apply -k deploy/` runs as written.
KEDA's ScaledObject, which only a cluster with KEDA serves, is refused as a real server refuses a kind it lacks;
every object is also checked against Kubernetes' own schemas (kubernetes-validate's strict ones)."""
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess

import httpx
import pytest
import yaml

from conftest import ROOT, APIServer, conductor_binary, free_port, run_ready, wait_for

DEPLOY = ROOT / "deploy"
NAMESPACE = "mcp-system"
# Every example pool: each folder of deploy/agents that kustomize can render.
POOLS = sorted(p.parent.name for p in (DEPLOY / "agents").glob("*/kustomization.yaml"))
# The folders that `kubectl apply -k deploy/` installs.
BASE_FOLDERS = ("crds", "rbac", "admission", "controller")

# KEDA's kind: served only where KEDA's CRDs are installed, which a cluster without KEDA refuses the same way.
SCALED_OBJECT = ("keda.sh/v1alpha1", "ScaledObject")


def render(path: pathlib.Path) -> list[dict]:
    run = subprocess.run(["kubectl", "kustomize", str(path)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return [d for d in yaml.safe_load_all(run.stdout) if d]


def identity(doc: dict) -> tuple[str, str, str, str]:
    return doc["apiVersion"], doc["kind"], doc["metadata"].get("namespace", ""), doc["metadata"]["name"]


def gvk(doc: dict) -> tuple[str, str]:
    return doc["apiVersion"], doc["kind"]


def file_objects(folder: pathlib.Path) -> list[dict]:
    return [d for path in sorted(folder.glob("*.yaml")) for d in yaml.safe_load_all(path.read_text()) if d]


def served_kinds(server: APIServer) -> set[tuple[str, str]]:
    """(apiVersion, kind) of every resource the server's discovery lists."""
    kinds = set()
    with server.client() as c:
        versions = ["v1"] + [v["groupVersion"] for g in c.get("/apis").json()["groups"] for v in g["versions"]]
        for version in versions:
            listing = c.get("/api/v1" if version == "v1" else f"/apis/{version}").json()
            kinds |= {(version, r["kind"]) for r in listing["resources"] if "/" not in r["name"]}
    return kinds


def kubectl_apply(server: APIServer, docs: list[dict], *flags: str) -> subprocess.CompletedProcess:
    return server.kubectl("apply", *flags, "-f", "-", input=yaml.safe_dump_all(docs), check=False)


def stored(server: APIServer, docs: list[dict]) -> set[tuple[str, str, str, str]]:
    """Which of `docs` the server holds (kubectl get -f)."""
    run = server.kubectl("get", "-f", "-", "--ignore-not-found", "-o", "json", input=yaml.safe_dump_all(docs))
    return {identity(item) for item in json.loads(run.stdout)["items"]} if run.stdout.strip() else set()


def assert_refused_as_unknown_kinds(server: APIServer, docs: list[dict]) -> None:
    """kubectl's answer for kinds the server does not serve: "no matches for kind", one per object, as on a real
    server without them. --validate=false because kubectl, not finding a kind in /openapi/v3, falls back to
    /openapi/v2, which the local server does not serve (404, reported as a validation error instead)."""
    run = kubectl_apply(server, docs, "--dry-run=server", "--validate=false")
    assert run.returncode != 0
    for doc in docs:
        version, kind = gvk(doc)
        assert f'no matches for kind "{kind}" in version "{version}"' in run.stderr, run.stderr
    assert run.stderr.count("no matches for kind") == len(docs), run.stderr


def dry_run_then_apply(server: APIServer, docs: list[dict]) -> None:
    """The server dry run accepts every object and stores none; the apply stores each; applied again, unchanged."""
    before = stored(server, docs)
    run = kubectl_apply(server, docs, "--dry-run=server")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == len(docs) and all(line.endswith("(server dry run)") for line in lines), run.stdout
    assert stored(server, docs) == before, "the dry run stored something"

    run = kubectl_apply(server, docs)
    assert run.returncode == 0, run.stderr
    assert stored(server, docs) == set(map(identity, docs))
    assert_applied_again_unchanged(kubectl_apply(server, docs))


def assert_applied_again_unchanged(again: subprocess.CompletedProcess) -> None:
    """Every object unchanged. kubectl always re-sends a PodDisruptionBudget's selector (its patch strategy is
    "replace"), so a PodDisruptionBudget reads "configured" on a real server too."""
    assert again.returncode == 0, again.stderr
    for line in again.stdout.splitlines():
        assert line.endswith(" unchanged") or line.startswith("poddisruptionbudget.policy/") and line.endswith(" configured"), again.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A local API server with what `kubectl apply -k deploy/` installs there."""
    server = APIServer(tmp_path_factory.mktemp("deploy"))
    server.start()
    run = server.kubectl("apply", "-k", str(DEPLOY), check=False)
    assert run.returncode == 0, run.stderr
    with server.client() as c:
        wait_for(lambda: c.get("/apis/mcp.io/v1/tasks").status_code == 200, 15, "tasks.mcp.io served")
    yield server
    server.stop()


# MARK: what kubectl apply -k deploy/ installs

def test_deploy_renders_the_crds_namespace_rbac_admission_and_controller_unchanged_and_no_pool():
    rendered = render(DEPLOY)
    # Every object of the four folders, as written (no transformer touched them), and nothing else.
    sources = [d for folder in BASE_FOLDERS for d in file_objects(DEPLOY / folder)]
    assert sorted(map(identity, rendered)) == sorted(map(identity, sources))
    by_identity = {identity(d): d for d in sources}
    for doc in rendered:
        assert doc == by_identity[identity(doc)], f"{identity(doc)} changed by kustomize"
    # The namespace first, so that one apply creates it before what lives in it.
    assert gvk(rendered[0]) == ("v1", "Namespace") and rendered[0]["metadata"]["name"] == NAMESPACE

    names = {}
    for doc in rendered:
        names.setdefault(doc["kind"], set()).add(doc["metadata"]["name"])
    assert names["CustomResourceDefinition"] == {"agents.mcp.io", "tasks.mcp.io"}
    assert names["ServiceAccount"] == {"mcp-controller", "mcp-agent"}
    assert names["ValidatingAdmissionPolicy"] == names["ValidatingAdmissionPolicyBinding"] == \
        {"mcp-conductor-agent-tasks", "mcp-conductor-agent-self"}
    assert names["Deployment"] == {"mcp-conductor-controller"}
    assert names["Service"] == {"mcp-conductor", "mcp-conductor-metrics"}
    assert {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "PodDisruptionBudget"} <= set(names)
    assert all(d["metadata"].get("namespace", NAMESPACE) == NAMESPACE for d in rendered)

    # Nothing of any pool: pools are applied one by one.
    pooled = {identity(d) for pool in POOLS for d in render(DEPLOY / "agents" / pool)}
    assert not pooled & {identity(d) for d in rendered}
    assert "ConfigMap" not in names and not any(n.startswith("mcp-agent-") for n in names["ServiceAccount"])

    # The pieces of the controller fit: its account, the Services and the budget select its pods and ports.
    deployment = next(d for d in rendered if d["kind"] == "Deployment")
    pod = deployment["spec"]["template"]
    assert pod["spec"]["serviceAccountName"] in names["ServiceAccount"]
    ports = {p["name"] for p in pod["spec"]["containers"][0]["ports"]}
    for doc in rendered:
        if doc["kind"] in ("Service", "PodDisruptionBudget"):
            selector = doc["spec"]["selector"]
            selector = selector.get("matchLabels", selector)
            assert selector.items() <= pod["metadata"]["labels"].items(), doc["metadata"]["name"]
        if doc["kind"] == "Service":
            assert {p["targetPort"] for p in doc["spec"]["ports"]} <= ports


def test_the_session_key_secret_is_left_to_the_one_documented_command():
    """kustomize cannot make a random key, and a committed one would let anyone forge session ids: the Secret is
    not rendered, the pods need it (not optional: a replica with a key of its own would refuse the others'
    sessions), and deploy/kustomization.yaml names the command that makes it, with the same Secret, key and
    namespace that the Deployment mounts."""
    rendered = render(DEPLOY)
    assert "Secret" not in {d["kind"] for d in rendered}
    deployment = next(d for d in rendered if d["kind"] == "Deployment")
    volume = next(v for v in deployment["spec"]["template"]["spec"]["volumes"] if "secret" in v)
    assert not volume["secret"].get("optional", False)
    command = session_key_command()
    assert f"-n {NAMESPACE} create secret generic {volume['secret']['secretName']}" in command
    key = re.search(r"--from-literal=(\w+)=", command).group(1)
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    mount = next(m for m in container["volumeMounts"] if m["name"] == volume["name"])
    assert f"--mcp-session-key-file={mount['mountPath']}/{key}" in container["args"]
    # The Deployment's own comment gives the same command.
    comments = " ".join(line.strip().lstrip("#").strip() for line in (DEPLOY / "controller" / "deployment.yaml").read_text().splitlines())
    assert command in comments.replace(" \\ ", " ")


def session_key_command() -> str:
    """The command in deploy/kustomization.yaml's comment, its continuation line joined."""
    lines = [line.strip().lstrip("#").strip() for line in (DEPLOY / "kustomization.yaml").read_text().splitlines()]
    start = next(i for i, line in enumerate(lines) if line.startswith("kubectl -n") and "create secret" in line)
    return lines[start].rstrip("\\").strip() + " " + lines[start + 1]


def test_deploy_applies_to_conductor_apiserver_dry_run_then_for_real(fresh_apiserver):
    """`kubectl apply -k deploy/` as the README gives it: a server dry run, then for real, then again."""
    server = fresh_apiserver
    rendered = render(DEPLOY)
    assert {gvk(d) for d in rendered} <= served_kinds(server), "a kind of deploy/ the local server does not serve"

    def apply(*flags: str) -> subprocess.CompletedProcess:
        return server.kubectl("apply", *flags, "-k", str(DEPLOY), check=False)

    # A dry run on a new cluster: the namespace is not created by it, so what lives in it is refused (as a real
    # server refuses it); what is cluster-wide passes; nothing is stored.
    run = apply("--dry-run=server")
    namespaced = [d for d in rendered if d["metadata"].get("namespace")]
    assert run.returncode != 0
    assert run.stderr.count(f'namespaces "{NAMESPACE}" not found') == len(namespaced), run.stderr
    assert len(run.stdout.splitlines()) == len(rendered) - len(namespaced), run.stdout
    assert not stored(server, rendered)

    # With the namespace there, the dry run accepts everything and stores nothing else; then the apply.
    namespace = server.kubectl("apply", "-f", str(DEPLOY / "controller" / "namespace.yaml"))
    assert namespace.stdout.strip() == f"namespace/{NAMESPACE} created"
    before = stored(server, rendered)
    run = apply("--dry-run=server")
    assert run.returncode == 0, run.stderr
    assert len(run.stdout.splitlines()) == len(rendered) and all(l.endswith("(server dry run)") for l in run.stdout.splitlines()), run.stdout
    assert stored(server, rendered) == before, "the dry run stored something"
    run = apply()
    assert run.returncode == 0, run.stderr
    assert stored(server, rendered) == set(map(identity, rendered))
    assert_applied_again_unchanged(apply())

    # The CRDs are served once established, and the roles and the Deployment are those of the files.
    with server.client() as c:
        wait_for(lambda: c.get("/apis/mcp.io/v1/tasks").status_code == 200, 15, "tasks.mcp.io served")
    role = json.loads(server.kubectl("get", "clusterrole", "mcp-conductor-controller", "-o", "json").stdout)
    assert role["rules"] == next(d for d in rendered if d["kind"] == "ClusterRole" and d["metadata"]["name"] == "mcp-conductor-controller")["rules"]
    deployment = json.loads(server.kubectl("get", "deployment", "mcp-conductor-controller", "-n", NAMESPACE, "-o", "json").stdout)
    assert deployment["spec"] == next(d for d in rendered if d["kind"] == "Deployment")["spec"]


# MARK: the example pools

@pytest.mark.parametrize("pool", POOLS)
def test_each_example_pool_applies_after_deploy_dry_run_then_for_real(installed, pool):
    rendered = render(DEPLOY / "agents" / pool)
    served = served_kinds(installed)
    lacking = [d for d in rendered if gvk(d) not in served]
    assert {gvk(d) for d in lacking} == ({SCALED_OBJECT} if pool.endswith("-autoscaled") else set())
    dry_run_then_apply(installed, [d for d in rendered if gvk(d) in served])
    if lacking:
        assert_refused_as_unknown_kinds(installed, lacking)

    # Its account may read the tasks where its configuration watches them, and write no task's spec.
    config = yaml.safe_load(next(d for d in rendered if d["kind"] == "ConfigMap")["data"]["agent.yaml"])
    account = next(d for d in rendered if d["kind"] == "ServiceAccount")["metadata"]["name"]
    as_pool = ["--as", f"system:serviceaccount:{NAMESPACE}:{account}"]

    def can_i(*args):
        return installed.kubectl("auth", "can-i", *args, *as_pool, check=False).stdout.strip()
    assert can_i("watch", "tasks.mcp.io", "-n", config["taskNamespace"]) == "yes"
    assert can_i("update", "tasks.mcp.io", "--subresource=status", "-n", config["taskNamespace"]) == "yes"
    assert can_i("update", "tasks.mcp.io", "-n", config["taskNamespace"]) == "no"
    assert can_i("create", "leases.coordination.k8s.io", "-n", NAMESPACE) == "yes"


# The oldest Kubernetes the manifests support (ValidatingAdmissionPolicy is GA in 1.30) and the newest schema known.
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")


@pytest.mark.parametrize("target", ["deploy"] + [f"deploy/agents/{pool}" for pool in POOLS])
def test_every_rendered_object_has_the_shape_kubernetes_schema_gives(target):
    """Each object against its kind's strict schema (unknown fields refused) of the real API, in the oldest and
    newest release: for the kinds the local server lacks, this is the check of their shape. KEDA's ScaledObject
    has no schema there; the autoscaler test checks it by hand."""
    import kubernetes_validate
    for doc in render(ROOT / target):
        for version in KUBERNETES_VERSIONS:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.SchemaNotFoundError:
                assert gvk(doc) == SCALED_OBJECT, f"{target}: no Kubernetes {version} schema for {identity(doc)}"
            except kubernetes_validate.ValidationError as error:
                pytest.fail(f"{target}: {identity(doc)} in Kubernetes {version}: {error.message} at {list(error.absolute_path)}")


# MARK: the autoscaler

def test_the_autoscaled_pool_is_the_echo_pool_with_a_keda_scaler_on_its_demand():
    echo, scaled = render(DEPLOY / "agents" / "echo"), render(DEPLOY / "agents" / "echo-autoscaled")
    scaler = next(d for d in scaled if gvk(d) == SCALED_OBJECT)
    deployment = next(d for d in scaled if d["kind"] == "Deployment")
    # The same pool, but the replica count is the autoscaler's (an apply would otherwise reset it).
    assert "replicas" not in deployment["spec"]
    deployment_with_replicas = {**deployment, "spec": {**deployment["spec"], "replicas": next(d for d in echo if d["kind"] == "Deployment")["spec"]["replicas"]}}
    canonical = lambda docs: sorted(json.dumps(d, sort_keys=True) for d in docs)  # noqa: E731
    assert canonical([d for d in scaled if d not in (scaler, deployment)] + [deployment_with_replicas]) == canonical(echo)

    spec = scaler["spec"]
    assert scaler["metadata"]["namespace"] == deployment["metadata"]["namespace"]
    assert spec["scaleTargetRef"] == {"name": deployment["metadata"]["name"]}  # apps/v1 Deployment by default
    # Never zero: the MCP front end lists a tool only while a Ready agent offers it.
    assert 1 <= spec["minReplicaCount"] < spec["maxReplicaCount"]
    config = yaml.safe_load(next(d for d in scaled if d["kind"] == "ConfigMap")["data"]["agent.yaml"])
    [trigger] = spec["triggers"]
    assert trigger["type"] == "prometheus" and trigger["metricType"] == "AverageValue"
    metadata = trigger["metadata"]
    # Demand per agent below its task limit, so that a burst finds free slots before the next poll.
    assert 0 < float(metadata["threshold"]) < config["maxConcurrentTasks"]
    assert metadata["ignoreNullValues"] == "false"
    query = metadata["query"]
    capabilities = [c["name"] for c in config["capabilities"]]
    for gauge in ("conductor_capability_tasks_waiting", "conductor_capability_tasks_running"):
        for capability in capabilities:
            # max over the controller replicas, each of which exports the same figures.
            assert f'max({gauge}{{capability="{capability}"}})' in query, query
    assert "sum(" not in query

    # The fields KEDA 2.x documents for a ScaledObject and the Prometheus scaler (KEDA's schema is not installed
    # here), and its HPA behaviour as the autoscaling/v2 HorizontalPodAutoscaler KEDA makes of it.
    assert set(spec) <= {"scaleTargetRef", "pollingInterval", "cooldownPeriod", "initialCooldownPeriod", "idleReplicaCount",
                         "minReplicaCount", "maxReplicaCount", "fallback", "advanced", "triggers"}
    assert set(spec["advanced"]) <= {"horizontalPodAutoscalerConfig", "restoreToOriginalReplicaCount", "scalingModifiers"}
    assert set(spec["advanced"]["horizontalPodAutoscalerConfig"]) <= {"name", "behavior"}
    assert set(trigger) <= {"type", "name", "metadata", "metricType", "useCachedMetrics", "authenticationRef"}
    assert set(metadata) <= {"serverAddress", "query", "threshold", "activationThreshold", "namespace", "customHeaders",
                             "ignoreNullValues", "unsafeSsl", "queryParameters", "timeout"}
    assert all(isinstance(v, str) for v in metadata.values()) and metadata["serverAddress"].startswith("http")
    import kubernetes_validate
    hpa = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
           "metadata": {"name": f"keda-hpa-{scaler['metadata']['name']}", "namespace": scaler["metadata"]["namespace"]},
           "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", **spec["scaleTargetRef"]},
                    "minReplicas": spec["minReplicaCount"], "maxReplicas": spec["maxReplicaCount"],
                    "metrics": [{"type": "External", "external": {
                        "metric": {"name": "s0-prometheus", "selector": {"matchLabels": {"scaledobject.keda.sh/name": scaler["metadata"]["name"]}}},
                        "target": {"type": trigger["metricType"], "averageValue": metadata["threshold"]}}}],
                    "behavior": spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]}}
    for version in KUBERNETES_VERSIONS:
        kubernetes_validate.validate(hpa, version, strict=True)


# MARK: the controller's arguments

def controller_container() -> dict:
    deployment = next(d for d in render(DEPLOY) if d["kind"] == "Deployment")
    return deployment["spec"]["template"]["spec"]["containers"][0]


def expand(arg: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion of container arguments."""
    return re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), arg)


POD_ENV = {"POD_NAME": "mcp-conductor-controller-7c9d6-x2x4q", "POD_NAMESPACE": NAMESPACE}


def test_the_controller_arguments_pass_conductor_run_which_stops_only_for_want_of_an_api_server(tmp_path):
    container = controller_container()
    assert {e["name"] for e in container["env"]} >= set(POD_ENV)
    args = [expand(a, POD_ENV) for a in container["args"]]
    run = subprocess.run([conductor_binary(), *args, "--kubeconfig", str(tmp_path / "missing")],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "no API server" in run.stderr, run.stderr


def test_the_controller_runs_with_its_deployment_arguments_under_the_rendered_account_and_roles(installed, tmp_path):
    """`conductor run` with the Deployment's arguments (ports moved to free ones on loopback, the Secret's file
    made by the documented command) and a token of the rendered mcp-controller account: it leads under the
    Lease its Role names, serves MCP with Kubernetes authentication, and exports the gauges the autoscaler reads.
    Without the key file it stops at once, naming it."""
    container = controller_container()
    token = installed.kubectl("create", "token", "mcp-controller", "-n", NAMESPACE).stdout.strip()
    kubeconfig = yaml.safe_load(installed.kubeconfig.read_text())
    for user in kubeconfig["users"]:
        user["user"] = {"token": token}
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump(kubeconfig))

    key_file = tmp_path / "session-key"
    literal = re.search(r"--from-literal=\w+=\$\((.+)\)$", session_key_command()).group(1)
    key_file.write_text(subprocess.run(["bash", "-c", literal], capture_output=True, text=True, check=True).stdout)
    assert re.fullmatch(r"[0-9a-f]{64}", key_file.read_text())

    health, mcp = free_port(), free_port()
    moved = {"--health-port": str(health), "--mcp-port": str(mcp), "--mcp-bind": "127.0.0.1", "--mcp-session-key-file": str(key_file)}
    args = []
    for arg in (expand(a, POD_ENV) for a in container["args"]):
        name = arg.split("=", 1)[0]
        args.append(f"{name}={moved.pop(name)}" if name in moved else arg)
    assert not moved, f"the Deployment no longer passes {list(moved)}"
    command = [conductor_binary(), *args, "--health-bind=127.0.0.1", "--kubeconfig", str(tmp_path / "kubeconfig")]

    without_key = subprocess.run([a.replace(str(key_file), str(tmp_path / "no-key")) for a in command],
                                 capture_output=True, text=True, timeout=60)
    assert without_key.returncode != 0 and "session key" in without_key.stderr and "no-key" in without_key.stderr, without_key.stderr

    log = tmp_path / "controller.log"
    process = subprocess.Popen(command, stdout=open(log, "ab"), stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: run_ready(process, health, log), 30, "conductor run ready")
        holder = lambda: installed.kubectl("get", "lease", "mcp-conductor-controller", "-n", NAMESPACE, "-o",  # noqa: E731
                                           "jsonpath={.spec.holderIdentity}", check=False).stdout
        wait_for(lambda: holder() == POD_ENV["POD_NAME"], 30, "the leader-election Lease held by the pod's name")
        # MCP on the front end's port, callers authenticated by Kubernetes.
        r = httpx.post(f"http://127.0.0.1:{mcp}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                       headers={"Accept": "application/json, text/event-stream"}, timeout=10)
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer"), r.text

        # The gauges of the echo pool's scaler, for a waiting echo task.
        task = {"apiVersion": "mcp.io/v1", "kind": "Task", "metadata": {"name": "deploy-echo", "namespace": "default"},
                "spec": {"requiredCapabilities": ["echo"], "payload": {"message": "waits"}}}
        installed.kubectl("create", "-f", "-", input=json.dumps(task))
        metrics = lambda: httpx.get(f"http://127.0.0.1:{health}/metrics", timeout=5).text  # noqa: E731
        wait_for(lambda: re.search(r'^conductor_capability_tasks_waiting\{capability="echo"\} 1(\.0)?$', metrics(), re.M),
                 15, "the echo task counted as waiting")
        assert re.search(r'^conductor_capability_tasks_running\{capability="echo"\} 0(\.0)?$', metrics(), re.M), metrics()
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    assert code == 0, log.read_text()


# MARK: the image

def dockerfile_stages() -> dict[str, list[str]]:
    """The Dockerfile's instructions by stage name (continuation lines joined); "" for what precedes the first."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    stages, current = {"": []}, ""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            current = line.split()[-1] if " AS " in line.upper() else f"stage{len(stages)}"
            stages[current] = []
        stages[current].append(line)
    return stages


def test_the_dockerfile_builds_with_the_release_script_on_swift_and_runs_as_the_manifests_user():
    stages = dockerfile_stages()
    args = dict(re.match(r"ARG (\w+)=(\S+)", line).groups() for line in stages[""] if line.startswith("ARG"))
    assert list(stages)[1:] == ["build", "runtime", "examples", "conductor"]
    build, runtime = stages["build"], stages["runtime"]
    assert build[0] == "FROM ${SWIFT_IMAGE} AS build" and args["SWIFT_IMAGE"].startswith("swift:6.3")
    # Build and runtime on the same Debian release (glibc, libcurl's soname).
    assert args["SWIFT_IMAGE"].split("-", 1)[1] == args["RUNTIME_IMAGE"].split(":")[1].removesuffix("-slim")
    assert any("libcurl4-openssl-dev" in line and "libnghttp2-dev" in line for line in build)
    # The build step is the script CI runs, for a release build (no CONFIGURATION given).
    assert "RUN scripts/build-release.sh /out" in build
    assert not any("swift build" in line for line in build)

    assert runtime[0] == "FROM ${RUNTIME_IMAGE} AS runtime"
    assert any(re.search(r"\bca-certificates\b", line) and re.search(r"\blibcurl4\b", line) for line in runtime)
    assert "COPY --from=build /out/ /opt/conductor/" in runtime
    assert 'ENTRYPOINT ["/opt/conductor/conductor"]' in runtime
    # The user every manifest runs the image as.
    [user] = [line.split()[1] for line in runtime if line.startswith("USER")]
    for path in [DEPLOY / "controller" / "deployment.yaml", *sorted((DEPLOY / "agents").glob("*/deployment.yaml"))]:
        pod = next(d for d in yaml.safe_load_all(path.read_text()) if d and d["kind"] == "Deployment")["spec"]["template"]["spec"]
        assert user == f"{pod['securityContext']['runAsUser']}:{pod['securityContext']['runAsGroup']}", path
    # The default target (the last stage) is the conductor image alone.
    assert stages["conductor"] == ["FROM runtime AS conductor"]
    assert stages["examples"][0] == "FROM runtime AS examples" and stages["examples"][-1] == f"USER {user}"


def test_the_example_pools_that_run_python_use_the_examples_image_which_has_it():
    examples = " ".join(dockerfile_stages()["examples"])
    assert "python3" in examples and "mcp-server-time" in examples
    for pool in POOLS:
        rendered = render(DEPLOY / "agents" / pool)
        config = yaml.safe_load(next(d for d in rendered if d["kind"] == "ConfigMap")["data"]["agent.yaml"])
        commands = [c.get("command", []) for c in config.get("capabilities", [])] + [s.get("command", []) for s in config.get("mcpServers", [])]
        image = next(c for c in next(d for d in rendered if d["kind"] == "Deployment")["spec"]["template"]["spec"]["containers"]
                     if c["name"] == "agent")["image"]
        needs_python = any(command[:1] == ["python3"] for command in commands)
        assert image.split(":")[0].endswith("/conductor-examples" if needs_python else "/conductor"), (pool, image)


def test_the_dockerignore_keeps_what_the_build_reads():
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert {".git", ".build", "Package.resolved"} <= set(patterns)
    # SwiftPM checks every target's folder, tests' included, even to build one product.
    needed = ["Package.swift", "Sources", "scripts/build-release.sh", "loadtest/Sources"] + \
        [f"Tests/{p.name}" for p in (ROOT / "Tests").iterdir() if p.is_dir() and p.name != "e2e"]
    for path in needed:
        for pattern in patterns:
            assert not (path == pattern or path.startswith(pattern.rstrip("/") + "/")), (path, pattern)


def test_the_release_script_refuses_an_unknown_configuration(tmp_path):
    run = subprocess.run([str(ROOT / "scripts" / "build-release.sh"), str(tmp_path)], env={**os.environ, "CONFIGURATION": "fast"},
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 2 and "CONFIGURATION must be release or debug" in run.stderr


def test_the_release_script_lays_out_a_conductor_that_runs_without_the_swift_toolchain(tmp_path):
    """CONFIGURATION=debug: the script CI and the Dockerfile run, on the existing debug build. Its output runs with
    the toolchain's runtime folder hidden (a mount namespace with an empty folder over it), as in the image."""
    out = tmp_path / "out"
    try:
        run = subprocess.run([str(ROOT / "scripts" / "build-release.sh"), str(out)], cwd=ROOT, env={**os.environ, "CONFIGURATION": "debug"},
                             capture_output=True, text=True, timeout=1800)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "libcurl with HTTP/2" in run.stdout
        built = ROOT / ".build" / "debug" / "conductor"
        assert (out / "conductor").read_bytes() == built.read_bytes()
        libraries = {p.name for p in out.glob("lib*.so")}
        assert {"libswiftCore.so", "libFoundation.so", "libFoundationNetworking.so", "libdispatch.so", "lib_FoundationICU.so"} <= libraries
        assert (out / "swift-backtrace-static").exists()

        links = subprocess.run(["ldd", str(built)], capture_output=True, text=True, check=True).stdout
        toolchain = pathlib.Path(re.search(r"libswiftCore\.so => (\S+)", links).group(1)).resolve().parent
        hidden = subprocess.run(["unshare", "--mount", "sh", "-c", 'mount -t tmpfs tmpfs "$1" && ldd "$2" && "$2" --help',
                                 "sh", str(toolchain), str(out / "conductor")], capture_output=True, text=True, timeout=60)
        assert hidden.returncode == 0, hidden.stdout + hidden.stderr
        assert "not found" not in hidden.stdout and f"libswiftCore.so => {out}/libswiftCore.so" in hidden.stdout
        assert "libnghttp2" in hidden.stdout and "SUBCOMMANDS:" in hidden.stdout
        # The same executable, without the toolchain, does not start: the libraries beside it are what it needs.
        bare = subprocess.run(["unshare", "--mount", "sh", "-c", 'mount -t tmpfs tmpfs "$1" && "$2" --help', "sh", str(toolchain), str(built)],
                              capture_output=True, text=True, timeout=60)
        assert bare.returncode != 0 and "error while loading shared libraries" in bare.stderr
    finally:
        shutil.rmtree(out, ignore_errors=True)
