import ConductorAPI
import Foundation
import KubeClient
import KubeJSON
import Synchronization

/// The system `loadtest chaos` runs its tasks through, as processes of the built `conductor`: one `conductor
/// apiserver`, two leader-elected `conductor run` replicas and `agents` `conductor agent` processes, each with
/// its log in the work directory. The agents run every task with the command executor and a shell script that
/// records each execution in a ledger file (`ChaosLedger`). A process that exits by itself is started again, as a
/// kubelet would, and counted.
final class ChaosCluster: Sendable {
    struct Settings: Sendable {
        var conductor: String
        var crdFolder: String
        var workDirectory: String
        var namespace: String
        /// The capability the agents offer and the tasks require: this run's own.
        var capability: String
        var agents: Int
        var slots: Int
        var workMilliseconds: Int
        var leaderLeaseSeconds: Int
        var agentLeaseSeconds: Int
        var maxAgentLossRetries: Int
        var childLogLevel: String
        /// The API server's --max-requests-inflight: beyond it requests are answered 429 (overload); nil, its default.
        var apiServerMaxRequestsInflight: Int?
    }

    static let replicas = 2

    let settings: Settings
    let apiPort: Int
    let dataDirectory: String
    let ledgerPath: String
    let apiServer: ManagedProcess
    let controllers: [ManagedProcess]
    let agents: [ManagedProcess]
    private let healthPorts: [Int]
    private let health: CurlTransport
    private let exits = Mutex<[String]>([])
    private let supervisor = Mutex<Task<Void, Never>?>(nil)

    var kubeconfigPath: String { dataDirectory + "/kubeconfig" }
    var everyProcess: [ManagedProcess] { agents + controllers + [apiServer] }

    /// Writes the agents' configurations and the task script into the work directory; starts nothing.
    init(settings: Settings) throws {
        self.settings = settings
        let work = settings.workDirectory
        let dataDirectory = work + "/apiserver-data"
        let ledgerPath = work + "/ledger.txt"
        self.dataDirectory = dataDirectory
        self.ledgerPath = ledgerPath
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: ledgerPath, contents: nil)
        let script = work + "/task.sh"
        try Self.taskScript.write(toFile: script, atomically: true, encoding: .utf8)

        // The harness's own CONDUCTOR_* settings (an agent's name, say) would override the files and flags.
        var environment = ProcessInfo.processInfo.environment.filter {
            !$0.key.hasPrefix("CONDUCTOR_") && !["POD_NAME", "KUBECONFIG"].contains($0.key)
        }
        environment["CONDUCTOR_LOG_LEVEL"] = settings.childLogLevel
        let kubeconfig = dataDirectory + "/kubeconfig"

        let apiPort = try LoopbackPorts.free()
        self.apiPort = apiPort
        apiServer = ManagedProcess(
            name: "apiserver", executable: settings.conductor,
            arguments: ["apiserver", "--data-dir", dataDirectory, "--port", String(apiPort), "--bind", "127.0.0.1"]
                + (settings.apiServerMaxRequestsInflight.map { ["--max-requests-inflight", String($0)] } ?? []),
            environment: environment, logPath: work + "/apiserver.log")

        let lease = Double(settings.leaderLeaseSeconds)
        var ports: [Int] = []
        var controllers: [ManagedProcess] = []
        for index in 0..<Self.replicas {
            let identity = "chaos-controller-\(index)"
            let port = try LoopbackPorts.free()
            ports.append(port)
            controllers.append(ManagedProcess(
                name: identity, executable: settings.conductor,
                arguments: [
                    "run", "--kubeconfig", kubeconfig, "--health-bind", "127.0.0.1", "--health-port", String(port), "--mcp-port", "0",
                    "--leader-elect", "--leader-election-identity", identity,
                    // client-go's proportions (15, 10, 2) scaled down, so that a takeover comes within seconds.
                    "--leader-election-lease-duration", String(format: "%.3f", lease),
                    "--leader-election-renew-deadline", String(format: "%.3f", lease * 2 / 3),
                    "--leader-election-retry-period", String(format: "%.3f", lease / 6),
                    "--task-namespace", settings.namespace, "--retry-backoff-base", "0.2", "--retry-backoff-cap", "2",
                    "--max-agent-loss-retries", String(settings.maxAgentLossRetries), "--task-events", "warnings",
                ],
                environment: environment, logPath: work + "/\(identity).log"))
        }
        self.controllers = controllers
        healthPorts = ports

        var agents: [ManagedProcess] = []
        for index in 0..<settings.agents {
            let name = "chaos-agent-\(index)"
            let config = work + "/\(name).yaml"
            try Self.agentConfiguration(name: name, settings: settings, script: script, ledger: ledgerPath)
                .write(toFile: config, atomically: true, encoding: .utf8)
            agents.append(ManagedProcess(
                name: name, executable: settings.conductor,
                arguments: ["agent", "--config", config, "--kubeconfig", kubeconfig, "--health-port", "0"],
                environment: environment, logPath: work + "/\(name).log"))
        }
        self.agents = agents
        health = try CurlTransport()
    }

    // MARK: Starting and stopping

    /// Starts the API server, installs the CRDs and namespaces, starts the replicas and waits for a leader, starts
    /// the agents and waits until they are Ready; returns an admin client of the server.
    func start(timeout: Duration = .seconds(120)) async throws -> KubeClient {
        try apiServer.start()
        try await pollUntil("the API server accepts connections", timeout: timeout) {
            guard apiServer.isRunning else { throw ChaosSetupError("the API server exited:\n\(apiServer.logTail())") }
            return FileManager.default.fileExists(atPath: kubeconfigPath) && LoopbackPorts.accepts(apiPort)
        }
        let client = try KubeClient(config: try ClientConfig.kubeconfig(path: kubeconfigPath))
        do {
            try await install(client, timeout: timeout)
            for controller in controllers { try controller.start() }
            for (controller, port) in zip(controllers, healthPorts) {
                try await pollUntil("\(controller.name) is ready (/readyz)", timeout: timeout) {
                    guard controller.isRunning else { throw ChaosSetupError("\(controller.name) exited:\n\(controller.logTail())") }
                    return await ready(port: port)
                }
            }
            try await pollUntil("a replica leads", timeout: timeout) { await leader(client) != nil }
            for agent in agents { try agent.start() }
            let agentClient = client.resource(Agent.self, namespace: Installation.systemNamespace)
            let names = Set(agents.map(\.name))
            try await pollUntil("the \(agents.count) agents are Ready", timeout: timeout) {
                for agent in agents where !agent.isRunning {
                    throw ChaosSetupError("\(agent.name) exited:\n\(agent.logTail())")
                }
                let ready = try await agentClient.list().items.filter { names.contains($0.name) && $0.status.phase == .ready }
                return ready.count == names.count
            }
        } catch {
            await client.shutdown()
            throw error
        }
        supervise()
        return client
    }

    /// The CRDs (POSTed as YAML, as `conductor dev` does), the agents' namespace and the tasks' namespace.
    private func install(_ client: KubeClient, timeout: Duration) async throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: settings.crdFolder).filter { $0.hasSuffix(".yaml") }.sorted()
        guard !files.isEmpty else { throw ChaosSetupError("no CRD (*.yaml) in \(settings.crdFolder)") }
        for file in files {
            let yaml = try String(contentsOfFile: settings.crdFolder + "/" + file, encoding: .utf8)
            try await createOnceServing(client, timeout: timeout, KubeClient.Request(
                method: "POST", path: "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body: Array(yaml.utf8),
                contentType: "application/yaml"))
        }
        for namespace in Set([Installation.systemNamespace, settings.namespace]) where namespace != "default" {
            let body: JSON = ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": .string(namespace)]]
            try await createOnceServing(client, timeout: timeout, KubeClient.Request(
                method: "POST", path: "/api/v1/namespaces", body: body.serialized(), contentType: "application/json"))
        }
        // Served once listing works: a create right after the CRD may race its registration otherwise.
        try await pollUntil("Tasks and Agents are served", timeout: timeout) {
            let tasks = (try? await client.resource(TaskResource.self, namespace: settings.namespace).list(ListOptions(limit: 1))) != nil
            let agents = (try? await client.resource(Agent.self, namespace: Installation.systemNamespace).list(ListOptions(limit: 1))) != nil
            return tasks && agents
        }
    }

    /// Sends a create, again while the server does not answer yet; AlreadyExists counts as done.
    private func createOnceServing(_ client: KubeClient, timeout: Duration, _ request: KubeClient.Request) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            do {
                _ = try await client.perform(request)
                return
            } catch let error as KubeAPIError where error.reason == .alreadyExists {
                return
            } catch let error as KubeAPIError {
                throw ChaosSetupError("\(request.method) \(request.path): \(error)")
            } catch {
                guard ContinuousClock.now < deadline else { throw ChaosSetupError("\(request.method) \(request.path): \(error)") }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    /// Starts again, every half second, any process that ended by itself (not by the fault injector).
    private func supervise() {
        let task = Task {
            while !Task.isCancelled {
                for process in everyProcess {
                    if let ended = process.restartIfExited() {
                        exits.withLock { $0.append("\(process.name) \(ended)") }
                    }
                }
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
        supervisor.withLock { $0 = task }
    }

    /// The processes that ended by themselves during the run, and how.
    var unexpectedExits: [String] { exits.withLock { $0 } }

    /// Kills everything (agents first, the API server last) and waits until it is gone.
    func stop() async {
        let task = supervisor.withLock { supervisor -> Task<Void, Never>? in
            defer { supervisor = nil }
            return supervisor
        }
        task?.cancel()
        await task?.value
        for process in everyProcess { process.retire() }
        let deadline = ContinuousClock.now + .seconds(10)
        while everyProcess.contains(where: \.isRunning), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        await health.shutdown()
    }

    /// SIGKILL to everything, at once and without waiting: for a signal to the harness.
    func killAllNow() {
        for process in everyProcess { process.retire() }
    }

    // MARK: What runs

    /// The replica named by the leader-election Lease, if it runs, with the Lease's spec as read.
    func leader(_ client: KubeClient) async -> (replica: ManagedProcess, lease: Lease.Spec)? {
        guard let lease = try? await client.resource(Lease.self, namespace: Installation.systemNamespace)
            .get(Installation.leaderElectionLeaseName),
            let spec = lease.spec, let holder = spec.holderIdentity,
            let replica = controllers.first(where: { $0.name == holder }), replica.isRunning
        else { return nil }
        return (replica, spec)
    }

    /// Starts the API server again on its data directory and port; returns when it accepts connections (nil if
    /// not within `timeout`).
    func restartAPIServer(timeout: Duration = .seconds(60)) async -> ContinuousClock.Instant? {
        do { try apiServer.start() } catch { return nil }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if LoopbackPorts.accepts(apiPort) { return .now }
            await uncancellableSleep(.milliseconds(20))
        }
        return nil
    }

    private func ready(port: Int) async -> Bool {
        let request = TransportRequest(method: "GET", url: "http://127.0.0.1:\(port)/readyz", timeout: .seconds(2))
        return (try? await health.send(request))?.status == 200
    }

    // MARK: Files

    /// One task's work: the payload read and dropped, the work time slept, and one ledger line as it starts and
    /// one once its work is done (`ChaosLedger`); the result names the task, attempt and agent, so that the
    /// Task's result says which execution was reported.
    static let taskScript = #"""
        #!/bin/sh
        # loadtest chaos: one task's work, run by conductor agent's command executor (payload on stdin, result on stdout).
        cat >/dev/null
        printf 'S %s %s %s %s\n' "$CONDUCTOR_TASK_NAME" "$CONDUCTOR_TASK_ATTEMPT" "$CONDUCTOR_AGENT_NAME" "$$" >>"$CHAOS_LEDGER"
        if [ "$CHAOS_WORK_SECONDS" != "0" ]; then sleep "$CHAOS_WORK_SECONDS"; fi
        printf 'D %s %s %s %s\n' "$CONDUCTOR_TASK_NAME" "$CONDUCTOR_TASK_ATTEMPT" "$CONDUCTOR_AGENT_NAME" "$$" >>"$CHAOS_LEDGER"
        printf '{"task":"%s","attempt":%s,"agent":"%s","pid":%s}\n' "$CONDUCTOR_TASK_NAME" "$CONDUCTOR_TASK_ATTEMPT" "$CONDUCTOR_AGENT_NAME" "$$"

        """#

    /// `conductor agent`'s configuration file (Sources/ConductorAgentHost/Configuration).
    static func agentConfiguration(name: String, settings: Settings, script: String, ledger: String) -> String {
        func quoted(_ text: String) -> String { JSON.string(text).text }
        let work = settings.workMilliseconds == 0 ? "0" : String(format: "%.3f", Double(settings.workMilliseconds) / 1000)
        return """
            # loadtest chaos: agent \(name)
            name: \(name)
            namespace: \(Installation.systemNamespace)
            taskNamespace: \(settings.namespace)
            maxConcurrentTasks: \(settings.slots)
            heartbeat:
              intervalSeconds: \(String(format: "%.3f", Double(settings.agentLeaseSeconds) / 3))
              leaseDurationSeconds: \(settings.agentLeaseSeconds)
            drainTimeoutSeconds: 5
            capabilities:
              - name: \(settings.capability)
                command: [\(quoted("/bin/sh")), \(quoted(script))]
                timeoutSeconds: 120
                terminationGracePeriodSeconds: 1
                env:
                  CHAOS_LEDGER: \(quoted(ledger))
                  CHAOS_WORK_SECONDS: \(quoted(work))

            """
    }

    // MARK: Finding the parts

    /// `explicit`, else `conductor` beside this executable (the same .build/<configuration>/ folder).
    static func locateConductor(_ explicit: String?) throws -> String {
        if let explicit {
            guard FileManager.default.isExecutableFile(atPath: explicit) else { throw ChaosSetupError("--conductor \(explicit) is not an executable file") }
            return explicit
        }
        let own = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let candidate = URL(fileURLWithPath: own).deletingLastPathComponent().appendingPathComponent("conductor").path
        guard FileManager.default.isExecutableFile(atPath: candidate) else {
            throw ChaosSetupError("no conductor beside \(own): build it (swift build -c release --product conductor) or pass --conductor PATH")
        }
        return candidate
    }

    /// `explicit`, else deploy/crds under the working directory or a folder above the conductor binary (the
    /// repository's root, above .build).
    static func locateCRDs(_ explicit: String?, conductor: String) throws -> String {
        let marker = "tasks.mcp.io.yaml"
        if let explicit {
            guard FileManager.default.fileExists(atPath: explicit + "/" + marker) else { throw ChaosSetupError("--crds \(explicit) holds no \(marker)") }
            return explicit
        }
        var candidates = [FileManager.default.currentDirectoryPath + "/deploy/crds"]
        var directory = URL(fileURLWithPath: conductor).deletingLastPathComponent()
        for _ in 0..<6 {
            candidates.append(directory.appendingPathComponent("deploy/crds").path)
            directory = directory.deletingLastPathComponent()
        }
        guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0 + "/" + marker) }) else {
            throw ChaosSetupError("deploy/crds not found (looked in \(candidates.joined(separator: ", "))): run from the repository's root or pass --crds")
        }
        return found
    }
}

/// Polls `condition` until it holds; throws after `timeout`, naming what it waited for.
func pollUntil(_ what: String, timeout: Duration, every poll: Duration = .milliseconds(100),
               _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: poll)
    }
    throw ChaosSetupError("timed out after \(timeout) waiting until \(what)")
}
