import ConductorAPI
import ConductorAgent
import Foundation
import KubeJSON
import Logging
import Metrics

/// A tool a downstream MCP server offers, as the agent offers it: a capability named prefix + tool name.
public struct MCPTool: Sendable, Equatable {
    /// The tool's name at the server.
    public var name: String
    /// The capability's name: `toolPrefix` + `name`.
    public var capability: String
    public var title: String?
    public var description: String?
    public var inputSchema: JSON?
    public var outputSchema: JSON?

    var detail: CapabilityDetail {
        CapabilityDetail(name: capability, title: title, description: description, inputSchema: inputSchema, outputSchema: outputSchema)
    }
}

/// One downstream MCP server, over stdio or streamable HTTP, kept running (or connected): started and initialized, its tools listed (through the
/// allow list, under the prefix); restarted with backoff when it dies (the calls in flight fail their attempt,
/// so the retry policy applies); `notifications/tools/list_changed` lists the tools again and tells the host.
actor MCPServerSession {
    let configuration: MCPServerConfiguration
    private let logger: Logger
    private var connection: (any MCPConnection)?
    private(set) var tools: [MCPTool] = []
    private var onToolsChanged: @Sendable ([MCPTool]) async -> Void = { _ in }
    private var stopped = false
    private var consecutiveFailures = 0
    static let protocolVersion = "2025-06-18"

    init(configuration: MCPServerConfiguration, logger: Logger) {
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "mcpServer"] = "\(configuration.name)"
        self.logger = logger
    }

    /// Starts the server and lists its tools; throws when it cannot be started or initialized.
    func start(onToolsChanged: @escaping @Sendable ([MCPTool]) async -> Void) async throws {
        self.onToolsChanged = onToolsChanged
        try await connect()
    }

    func stop() {
        stopped = true
        connection?.terminate(grace: .seconds(configuration.terminationGracePeriodSeconds))
    }

    private func connect() async throws {
        let connection: any MCPConnection
        if let url = configuration.url {
            connection = MCPHTTPConnection(server: configuration.name, url: url, headers: configuration.headers, logger: logger)
        } else {
            var environment = ProcessInfo.processInfo.environment.merging(configuration.environment) { $1 }
            environment["CONDUCTOR_MCP_SERVER"] = configuration.name
            connection = try MCPStdioConnection.start(server: configuration.name, arguments: configuration.command,
                                                      environment: environment, workingDirectory: configuration.workingDirectory,
                                                      logger: logger)
        }
        do {
            let initialized = try await withTimeout(.seconds(configuration.startTimeoutSeconds), what: "initialize") {
                try await connection.request("initialize", [
                    "protocolVersion": .string(Self.protocolVersion),
                    "capabilities": .object([:]),
                    "clientInfo": ["name": "conductor-agent", "version": "1"],
                ])
            }
            await connection.notify("notifications/initialized")
            let listed = try await listTools(connection)
            self.connection = connection
            tools = listed
            consecutiveFailures = 0
            await connection.setHandlers(
                onNotification: { [weak self] method, _ in
                    guard method == "notifications/tools/list_changed", let self else { return }
                    Task { await self.toolsChanged() }
                },
                onClose: { [weak self] error in
                    guard let self else { return }
                    Task { await self.lost(connection, error) }
                })
            logger.info("MCP server started", metadata: [
                "protocolVersion": "\(initialized["protocolVersion"]?.string ?? "?")",
                "tools": "\(listed.map(\.capability).joined(separator: ","))",
            ])
        } catch {
            connection.terminate(grace: .seconds(1))
            throw error
        }
    }

    private func listTools(_ connection: any MCPConnection) async throws -> [MCPTool] {
        var tools: [MCPTool] = []
        var cursor: JSON?
        repeat {
            let params: JSON = cursor.map { ["cursor": $0] } ?? .object([:])
            let page = try await withTimeout(.seconds(configuration.startTimeoutSeconds), what: "tools/list") {
                try await connection.request("tools/list", params)
            }
            for tool in page["tools"]?.array ?? [] {
                guard let name = tool["name"]?.string else { continue }
                if let allowed = configuration.tools, !allowed.contains(name) { continue }
                let capability = configuration.toolPrefix + name
                guard CapabilityConfiguration.isValidName(capability) else {
                    logger.warning("tool skipped: its name is not a valid capability name", metadata: ["tool": "\(capability)"])
                    continue
                }
                tools.append(MCPTool(name: name, capability: capability, title: tool["title"]?.string, description: tool["description"]?.string,
                                     inputSchema: tool["inputSchema"], outputSchema: tool["outputSchema"]))
            }
            cursor = page["nextCursor"].flatMap { $0 == .null ? nil : $0 }
        } while cursor != nil
        return tools
    }

    private func toolsChanged() async {
        guard let connection else { return }
        do {
            let listed = try await listTools(connection)
            guard listed != tools else { return }
            tools = listed
            logger.info("MCP server's tools changed", metadata: ["tools": "\(listed.map(\.capability).joined(separator: ","))"])
            await onToolsChanged(listed)
        } catch {
            logger.warning("could not list the MCP server's tools again", metadata: ["error": "\(error)"])
        }
    }

    /// The server died: restart it with backoff (1 s doubling to 30 s) until it answers again.
    private func lost(_ lostConnection: any MCPConnection, _ error: MCPCallError) async {
        guard connection === lostConnection else { return }
        connection = nil
        guard !stopped else { return }
        logger.warning("MCP server exited; restarting it", metadata: ["error": "\(error)"])
        while !stopped {
            let delay = Duration.seconds(min(30, 1 << min(consecutiveFailures, 5)))
            consecutiveFailures += 1
            try? await Task.sleep(for: delay)
            if stopped { return }
            Counter(label: AgentMetrics.executorRestarts, dimensions: [("server", configuration.name)]).increment()
            do {
                let before = tools
                try await connect()
                if tools != before { await onToolsChanged(tools) }
                return
            } catch {
                logger.warning("MCP server did not start again", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Calls a tool with the task's payload as its arguments. The server's progress notifications go to
    /// `progress`; cancellation sends `notifications/cancelled`.
    func call(tool: String, arguments: JSON, progressToken: String, progress: ProgressReporter) async throws -> JSON {
        guard let connection else { throw MCPCallError.notRunning(server: configuration.name) }
        return try await connection.request(
            "tools/call",
            ["name": .string(tool), "arguments": arguments, "_meta": ["progressToken": .string(progressToken)]],
            progress: { current, total, message in progress.report(current: current, total: total, message: message) },
            progressToken: progressToken)
    }
}

/// A request that did not answer in time: the server is not usable.
struct MCPTimeoutError: Error, CustomStringConvertible {
    var what: String
    var after: Duration
    var description: String { "\(what) did not answer within \(after)" }
}

/// Runs `body`, cancelling it after `timeout`.
func withTimeout<T: Sendable>(_ timeout: Duration, what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw MCPTimeoutError(what: what, after: timeout) }
        return value
    }
}
