import Foundation
import KubeClient
import KubeJSON
import Yams
#if canImport(Glibc)
import Glibc
#endif

/// Starts a server process and a client of it for the length of `body`.
@discardableResult
public func withServer<T>(arguments: [String] = [], _ body: (APIServerProcess, KubeClient) async throws -> T) async throws -> T {
    let server = try APIServerProcess(arguments: arguments)
    do {
        try await server.start()
        let client = try KubeClient(config: try server.clientConfig())
        let result: T
        do {
            result = try await body(server, client)
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
        await server.stop()
        return result
    } catch {
        await server.stop()
        throw error
    }
}

/// A real `conductor apiserver` process on loopback, with its own data directory, for tests that talk to
/// it over HTTPS and HTTP/2. It can be killed (-9) and started again on the same port and data.
public final class APIServerProcess: @unchecked Sendable {
    // @unchecked Sendable: `process`, `port` and `startedOnce` change only in start/kill, which a test calls from one task.
    public let dataDirectory: String
    /// Chosen free at first; a first start that finds it taken after all (another process bound it between
    /// our probe and the server's bind) moves to another one. Restarts keep it.
    public private(set) var port: Int
    private var startedOnce = false
    /// Flags added to `conductor apiserver`'s own.
    public let arguments: [String]
    private var process: Process?

    public init(arguments: [String] = []) throws {
        self.arguments = arguments
        dataDirectory = NSTemporaryDirectory() + "kubeclient-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        port = try LoopbackPort.free()
    }

    public var kubeconfigPath: String { dataDirectory + "/kubeconfig" }

    public static func conductorBinary() throws -> String {
        if let explicit = ProcessInfo.processInfo.environment["CONDUCTOR_BIN"] { return explicit }
        // The test bundle sits beside the package's executables in the build folder.
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("conductor").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        throw TestFailure("conductor binary not found beside \(CommandLine.arguments[0]); run `swift build` or set CONDUCTOR_BIN")
    }

    public func start() async throws {
        for attempt in 1...5 {
            do {
                try await launch()
                startedOnce = true
                return
            } catch let failure as TestFailure where !startedOnce && attempt < 5 && failure.description.contains("Address already in use") {
                port = try LoopbackPort.free()
            }
        }
    }

    private func launch() async throws {
        let process = try launchConductor(
            ["apiserver", "--data-dir", dataDirectory, "--port", String(port), "--bind", "127.0.0.1"] + arguments,
            appendingOutputTo: dataDirectory + "/apiserver.log")
        self.process = process
        try await waitUntil("the API server answers /readyz", timeout: .seconds(30)) {
            guard process.isRunning else { throw TestFailure("apiserver exited: \(self.log)") }
            guard FileManager.default.fileExists(atPath: self.kubeconfigPath) else { return false }
            return LoopbackPort.accepts(self.port)
        }
    }

    /// kill -9: the connection is cut without a goodbye.
    public func kill() async {
        guard let process else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        await process.exited()
        self.process = nil
    }

    public func stop() async {
        await kill()
        try? FileManager.default.removeItem(atPath: dataDirectory)
    }

    public var log: String { (try? String(contentsOfFile: dataDirectory + "/apiserver.log", encoding: .utf8)) ?? "" }

    public func clientConfig() throws -> ClientConfig {
        try ClientConfig.kubeconfig(path: kubeconfigPath)
    }

}

public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Polls `condition` until it holds or `timeout` passes; never a fixed sleep in place of a condition. The
/// deadline only catches a hang, so it is generous: on a loaded CI machine ten seconds was not always enough
/// for a dozen loopback writes.
public func waitUntil(_ what: String, timeout: Duration = .seconds(30), poll: Duration = .milliseconds(20),
               _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: poll)
    }
    throw TestFailure("timed out after \(timeout) waiting until \(what)")
}

/// The Task and Agent CRDs from deploy/crds, applied through the client.
public func applyProjectCRDs(_ client: KubeClient) async throws {
    let root = repositoryRoot
    let crds = client.resource(ResourceDescriptor(group: "apiextensions.k8s.io", version: "v1", plural: "customresourcedefinitions",
                                                  kind: "CustomResourceDefinition", namespaced: false))
    for file in ["agents.mcp.io.yaml", "tasks.mcp.io.yaml"] {
        let yaml = try String(contentsOf: root.appendingPathComponent("deploy/crds/\(file)"), encoding: .utf8)
        let json = try yamlToJSON(yaml)
        _ = try? await crds.create(json)
    }
    // Served once discovery lists them; a create right after the CRD may race the registration otherwise.
    for (kind, plural) in [("Task", "tasks"), ("Agent", "agents")] {
        let served = client.resource(ResourceDescriptor(group: "mcp.io", version: "v1", plural: plural, kind: kind, namespaced: true),
                                     namespace: "default")
        try await waitUntil("the \(kind) CRD is served") {
            (try? await served.list()) != nil
        }
    }
}

/// The package's root folder, to read its manifests (deploy/).
public let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

public let taskResource = ResourceDescriptor(group: "mcp.io", version: "v1", plural: "tasks", kind: "Task", namespaced: true)

/// YAML text as JSON, through Foundation's JSON writer (tests only read our own manifests).
public func yamlToJSON(_ yaml: String) throws -> JSON {
    guard let object = try Yams.load(yaml: yaml) else { throw TestFailure("empty YAML") }
    return try JSON.parse(Array(try JSONSerialization.data(withJSONObject: object)))
}

/// Starts `conductor` with `arguments`, its standard output and error appended to the file at `logPath`.
func launchConductor(_ arguments: [String], appendingOutputTo logPath: String) throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try APIServerProcess.conductorBinary())
    process.arguments = arguments
    if !FileManager.default.fileExists(atPath: logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
    guard let log = FileHandle(forWritingAtPath: logPath) else { throw TestFailure("cannot write the log \(logPath)") }
    log.seekToEndOfFile()
    process.standardOutput = log
    process.standardError = log
    try process.run()
    return process
}
