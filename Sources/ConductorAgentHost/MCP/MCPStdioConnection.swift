import Foundation
import KubeJSON
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Why a call to a downstream MCP server failed.
public enum MCPCallError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server's process ended (or its output could not be read): calls in flight fail their attempt.
    case serverExited(server: String, detail: String)
    /// The server answered with a JSON-RPC error.
    case rpcError(server: String, method: String, code: Int64, message: String)
    /// The server is being restarted: the attempt fails, and the retry finds it again.
    case notRunning(server: String)
    /// The server's URL did not answer, or answered with an HTTP error: the attempt fails.
    case unreachable(server: String, detail: String)

    public var description: String {
        switch self {
        case .serverExited(let server, let detail): "MCP server \(server) exited: \(detail)"
        case .rpcError(let server, let method, let code, let message): "MCP server \(server) answered \(method) with error \(code): \(message)"
        case .notRunning(let server): "MCP server \(server) is not running (it is being restarted)"
        case .unreachable(let server, let detail): "MCP server \(server) could not be reached: \(detail)"
        }
    }
}

/// JSON-RPC 2.0 over a stdio MCP server's standard input and output: newline-delimited messages, as the MCP
/// specification's stdio transport defines them. Requests wait for their response; the server's progress
/// notifications reach the call's `ProgressReporter` by progress token; a cancelled request sends
/// `notifications/cancelled`. The server's standard error is its log, relayed at debug level.
actor MCPStdioConnection: MCPConnection {
    let server: String
    private let child: ChildProcess
    private let logger: Logger
    private var nextID: Int64 = 1
    private var pending: [Int64: CheckedContinuation<JSON, any Error>] = [:]
    private var progress: [String: MCPProgressSink] = [:]
    private var closedBecause: MCPCallError?
    private var onNotification: @Sendable (String, JSON) -> Void = { _, _ in }
    private var onClose: @Sendable (MCPCallError) -> Void = { _ in }
    private let outgoing: AsyncStream<[UInt8]>.Continuation

    /// A line longer than this from the server is a broken server: it is stopped (memory stays bounded).
    static let maximumMessageBytes = 8 * 1024 * 1024

    private init(server: String, child: ChildProcess, logger: Logger, outgoing: AsyncStream<[UInt8]>.Continuation) {
        self.server = server
        self.child = child
        self.logger = logger
        self.outgoing = outgoing
    }

    /// Starts the server's process and the loops that read and write its messages.
    static func start(server: String, arguments: [String], environment: [String: String], workingDirectory: String?,
                      logger: Logger) throws -> MCPStdioConnection {
        let child: ChildProcess
        do {
            child = try ChildProcess.spawn(arguments: arguments, environment: environment, workingDirectory: workingDirectory)
        } catch {
            throw MCPCallError.serverExited(server: server, detail: "could not start \(arguments[0]): \(error)")
        }
        let (messages, outgoing) = AsyncStream<[UInt8]>.makeStream()
        let connection = MCPStdioConnection(server: server, child: child, logger: logger, outgoing: outgoing)
        // The writer: one message at a time, so that two are never interleaved on the pipe.
        Task {
            for await message in messages {
                let ok = await BlockingCall.run("mcp \(server) stdin") { FileDescriptorIO.writeAll(child.stdin, message) }
                if !ok { break }
            }
            close(child.stdin)
        }
        let (lines, lineSink) = AsyncStream<[UInt8]>.makeStream()
        Thread.detachNewThread {
            var partial: [UInt8] = []
            var overflowed = false
            FileDescriptorIO.readAllAndClose(child.stdout) { chunk in
                for byte in chunk {
                    if byte == UInt8(ascii: "\n") {
                        if !partial.isEmpty { lineSink.yield(partial) }
                        partial.removeAll(keepingCapacity: true)
                    } else if partial.count < maximumMessageBytes {
                        partial.append(byte)
                    } else if !overflowed {
                        overflowed = true
                        child.signalGroup(SIGKILL)
                    }
                }
            }
            lineSink.finish()
        }
        Thread.detachNewThread {
            let errors = ErrorStream(tailBytes: 0, maximumLineBytes: 16 * 1024)
            FileDescriptorIO.readAllAndClose(child.stderr) { chunk in
                for line in errors.append(chunk) { logger.debug("server stderr", metadata: ["server": "\(server)", "line": "\(line)"]) }
            }
        }
        Task {
            for await line in lines { await connection.received(line) }
            let termination = await BlockingCall.run("mcp \(server) wait") { child.waitBlocking() }
            child.signalGroup(SIGKILL)  // what it left in its group
            await connection.closed(MCPCallError.serverExited(server: server, detail: "\(termination)"))
        }
        return connection
    }

    func setHandlers(onNotification: @escaping @Sendable (String, JSON) -> Void, onClose: @escaping @Sendable (MCPCallError) -> Void) {
        self.onNotification = onNotification
        self.onClose = onClose
        if let closedBecause { onClose(closedBecause) }
    }

    var isOpen: Bool { closedBecause == nil }

    /// Sends a request and waits for its result. Cancelled, it sends `notifications/cancelled` and throws
    /// `CancellationError`.
    func request(_ method: String, _ params: JSON, progress sink: MCPProgressSink?, progressToken: String?) async throws -> JSON {
        if let closedBecause { throw closedBecause }
        let id = nextID
        nextID += 1
        if let sink, let progressToken { progress[progressToken] = sink }
        defer { if let progressToken { progress[progressToken] = nil } }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<JSON, any Error>) in
                if Task.isCancelled {
                    continuation.resume(throwing: CancellationError())
                    return
                }
                pending[id] = continuation
                send(["jsonrpc": "2.0", "id": .int(id), "method": .string(method), "params": params])
            }
        } onCancel: {
            Task { await self.cancel(id) }
        }
    }

    func notify(_ method: String, _ params: JSON) {
        send(["jsonrpc": "2.0", "method": .string(method), "params": params])
    }

    /// Stops the server: SIGTERM to its process group, SIGKILL after `grace`.
    nonisolated func terminate(grace: Duration) {
        child.signalGroup(SIGTERM)
        let child = self.child
        Task {
            try? await Task.sleep(for: grace)
            if child.groupExists { child.signalGroup(SIGKILL) }
        }
    }

    private func cancel(_ id: Int64) {
        guard let continuation = pending.removeValue(forKey: id) else { return }
        notify("notifications/cancelled", ["requestId": .int(id), "reason": "the task was cancelled or taken from the agent"])
        continuation.resume(throwing: CancellationError())
    }

    private func send(_ message: JSON) {
        outgoing.yield(message.serialized() + [UInt8(ascii: "\n")])
    }

    private func received(_ line: [UInt8]) {
        guard let message = try? JSON.parse(line), case .object(let object) = message else {
            logger.debug("not a JSON-RPC message from the server", metadata: ["server": "\(server)"])
            return
        }
        let method = object["method"]?.string
        if let method, let id = object["id"] {
            // A request from the server: ping is answered, anything else is not supported by this client.
            send(MCPMessage.answer(toRequest: method, id: id))
            return
        }
        if let method {
            let params = object["params"] ?? .object([:])
            if method == "notifications/progress", let token = MCPMessage.token(params["progressToken"]), let sink = progress[token],
               let (current, total, message) = MCPMessage.progress(params) {
                sink(current, total, message)
            } else {
                onNotification(method, params)
            }
            return
        }
        guard let id = object["id"]?.int, let continuation = pending.removeValue(forKey: id) else { return }
        if let error = object["error"] {
            continuation.resume(throwing: MCPCallError.rpcError(server: server, method: "request \(id)", code: error["code"]?.int ?? 0,
                                                                message: error["message"]?.string ?? "\(error)"))
        } else {
            continuation.resume(returning: object["result"] ?? .object([:]))
        }
    }

    private func closed(_ error: MCPCallError) {
        guard closedBecause == nil else { return }
        closedBecause = error
        outgoing.finish()
        let waiting = pending
        pending = [:]
        for continuation in waiting.values { continuation.resume(throwing: error) }
        onClose(error)
    }
}
