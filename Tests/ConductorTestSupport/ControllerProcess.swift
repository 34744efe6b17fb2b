import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// A real `conductor run` process against an `APIServerProcess`, with its operations endpoints on a loopback
/// port: for end-to-end tests of the controller. It can be killed (-9) or stopped gracefully (SIGTERM).
public final class ControllerProcess: @unchecked Sendable {
    // @unchecked Sendable: `process` and `healthPort` change only in start/kill/terminate, which a test calls from one task.
    public let identity: String
    public private(set) var healthPort: Int
    /// Flags added to `conductor run`'s own.
    public let arguments: [String]
    private let server: APIServerProcess
    private let logPath: String
    private var process: Process?

    public init(server: APIServerProcess, identity: String = "controller", arguments: [String] = []) throws {
        self.server = server
        self.identity = identity
        self.arguments = arguments
        healthPort = try LoopbackPort.free()
        logPath = server.dataDirectory + "/\(identity).log"
    }

    /// Starts it and waits until /readyz says its informers have synced.
    public func start() async throws {
        for attempt in 1...5 {
            do {
                try await launch()
                return
            } catch let failure as TestFailure where attempt < 5 && failure.description.contains("Address already in use") {
                healthPort = try LoopbackPort.free()
            }
        }
    }

    private func launch() async throws {
        let process = try launchConductor(
            ["run", "--kubeconfig", server.kubeconfigPath, "--health-bind", "127.0.0.1", "--health-port", String(healthPort),
             "--mcp-port", "0",
             "--log-format", "json"] + arguments,
            appendingOutputTo: logPath)
        self.process = process
        try await waitUntil("\(identity) is ready", timeout: .seconds(30)) {
            guard process.isRunning else { throw TestFailure("\(self.identity) exited: \(self.log)") }
            return try await self.get("/readyz").status == 200
        }
    }

    public var isRunning: Bool { process?.isRunning ?? false }

    /// kill -9: the replica vanishes without giving up its Lease.
    public func kill() async {
        guard let process else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        await process.exited()
        self.process = nil
    }

    /// SIGTERM, and waits for the exit; returns its status.
    @discardableResult
    public func terminate() async -> Int32 {
        guard let process else { return 0 }
        process.terminate()
        if await !process.exited() {
            // A graceful shutdown that hangs is the test's failure to report, not a reason to hold the run.
            Glibc.kill(process.processIdentifier, SIGKILL)
            await process.exited()
            self.process = nil
            return -SIGKILL
        }
        self.process = nil
        return process.status ?? -SIGKILL
    }

    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// GET on the operations port; status 0 when nothing answers.
    public func get(_ path: String) async throws -> (status: Int, body: String) {
        let url = URL(string: "http://127.0.0.1:\(healthPort)\(path)")!
        do {
            let (data, response) = try await URLSession.shared.data(from: url)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
        } catch {
            return (0, "\(error)")
        }
    }

    /// The value of one sample of /metrics (`name{labels}` exactly as exported), nil when absent.
    public func metric(_ sample: String) async throws -> Double? {
        let (status, text) = try await get("/metrics")
        guard status == 200 else { throw TestFailure("/metrics answered \(status): \(text)") }
        for line in text.split(separator: "\n") where line.hasPrefix(sample + " ") {
            return Double(line.dropFirst(sample.count + 1))
        }
        return nil
    }
}
