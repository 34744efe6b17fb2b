import ConductorAPI
import ConductorAgent
import Foundation
import KubeJSON
import Logging
import Synchronization

/// Runs a program per task (`command:` in the configuration), from an argument list without a shell: the
/// payload as JSON on standard input; the task's name, namespace, attempt and deadline in environment
/// variables (`CONDUCTOR_TASK_*`). A JSON object on standard output is the result; any other output is
/// wrapped as `{"text": ...}`. A non-zero exit fails the attempt with the status and the end of standard
/// error; standard error lines `progress: 3/10 message` report progress.
///
/// The program leads a process group of its own. The deadline and cancellation send SIGTERM to the group,
/// then SIGKILL after the grace period; when the program itself ends, what it left in its group is killed.
/// Standard output is kept up to the cap and no further: past it the group is stopped and the attempt fails
/// with `ResultTooLarge`, so the agent's memory stays bounded whatever the program writes.
public struct CommandExecutor: TaskExecutor {
    public let configuration: CommandConfiguration
    let agentName: String
    let logger: Logger

    /// The bytes of standard error kept for a failure's message.
    static let stderrTailBytes = 2048
    /// A standard error line longer than this is cut (only its start can be a progress line).
    static let maximumLineBytes = 16 * 1024

    public init(configuration: CommandConfiguration, agentName: String, logger: Logger) {
        self.configuration = configuration
        self.agentName = agentName
        self.logger = logger
    }

    public func execute(_ request: ExecutionRequest, progress: ProgressReporter) async throws -> JSON {
        try Task.checkCancellation()
        let program = configuration.arguments[0]
        let child: ChildProcess
        do {
            child = try ChildProcess.spawn(arguments: configuration.arguments, environment: environment(for: request),
                                           workingDirectory: configuration.workingDirectory)
        } catch {
            throw ExecutionError.couldNotStart(program: program, reason: "\(error)")
        }
        var taskLogger = logger
        taskLogger[metadataKey: "task"] = "\(request.task.key)"
        taskLogger[metadataKey: "pid"] = "\(child.pid)"
        let logger = taskLogger
        logger.debug("started", metadata: ["program": "\(program)"])

        let stopper = GroupStopper(child: child, grace: .seconds(configuration.terminationGracePeriodSeconds))
        let output = BoundedOutput(limit: configuration.maxOutputBytes)
        let errors = ErrorStream(tailBytes: Self.stderrTailBytes, maximumLineBytes: Self.maximumLineBytes)

        let payload = request.payload.serialized()
        async let wroteInput: Void = BlockingCall.run("stdin \(child.pid)") { FileDescriptorIO.writeAllAndClose(child.stdin, payload) }
        async let readOutput: Void = BlockingCall.run("stdout \(child.pid)") {
            FileDescriptorIO.readAllAndClose(child.stdout) { chunk in
                if !output.append(chunk) { stopper.stop(.outputTooLarge) }
            }
        }
        async let readErrors: Void = BlockingCall.run("stderr \(child.pid)") {
            FileDescriptorIO.readAllAndClose(child.stderr) { chunk in
                for line in errors.append(chunk) {
                    if let figure = ProgressLine.parse(line) {
                        progress.report(current: figure.current, total: figure.total, message: figure.message)
                    } else {
                        logger.debug("stderr", metadata: ["line": "\(line)"])
                    }
                }
            }
        }
        let deadlineTimer: Task<Void, Never>? = request.deadline.map { deadline in
            Task {
                do {
                    try await Task.sleep(until: deadline, clock: .continuous)
                    stopper.stop(.deadline)
                } catch {}
            }
        }
        let termination = await withTaskCancellationHandler {
            await BlockingCall.run("wait \(child.pid)") { child.waitBlocking() }
        } onCancel: {
            stopper.stop(.cancelled)
        }
        deadlineTimer?.cancel()
        // What the program left in its group would outlive the task and could hold its output open.
        child.signalGroup(SIGKILL)
        await wroteInput
        await readOutput
        await readErrors
        stopper.finish()
        let tail = errors.tail

        switch stopper.cause {
        case .cancelled:
            logger.debug("stopped: cancelled")
            throw CancellationError()
        case .deadline:
            throw ExecutionError.deadlineExceeded(origin: request.deadlineOrigin)
        case .outputTooLarge:
            throw ExecutionError.resultTooLarge(what: "the standard output of \(program)", limit: configuration.maxOutputBytes)
        case nil:
            break
        }
        switch termination {
        case .exited(0):
            return Self.result(from: output.bytes)
        case .exited(let code):
            throw ExecutionError.exited(program: program, code: code, stderrTail: tail)
        case .signalled(let signal):
            throw ExecutionError.killedBySignal(program: program, signal: signal, stderrTail: tail)
        }
    }

    /// The agent's environment, the capability's, and the task's identity.
    func environment(for request: ExecutionRequest) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.merging(configuration.environment) { $1 }
        environment["CONDUCTOR_TASK_NAME"] = request.task.name
        environment["CONDUCTOR_TASK_NAMESPACE"] = request.task.namespace ?? ""
        environment["CONDUCTOR_TASK_ATTEMPT"] = "\(request.attempt)"
        environment["CONDUCTOR_CAPABILITY"] = request.capability
        environment["CONDUCTOR_AGENT_NAME"] = agentName
        if let deadline = request.task.spec.deadline {
            environment["CONDUCTOR_TASK_DEADLINE"] = "\(deadline)"
        } else {
            environment["CONDUCTOR_TASK_DEADLINE"] = nil
        }
        return environment
    }

    /// A JSON object is the result as it is; anything else is wrapped as text.
    static func result(from bytes: [UInt8]) -> JSON {
        if let parsed = try? JSON.parse(bytes), case .object = parsed { return parsed }
        var text = String(decoding: bytes, as: UTF8.self)
        while text.last?.isWhitespace == true { text.removeLast() }
        return ["text": .string(text)]
    }
}

/// Stops a program's process group once, for the first cause: SIGTERM, then SIGKILL after the grace period
/// if anything of the group is left.
final class GroupStopper: Sendable {
    enum Cause: Sendable { case cancelled, deadline, outputTooLarge }

    private struct State {
        var cause: Cause?
        var killer: Task<Void, Never>?
        var finished = false
    }

    private let child: ChildProcess
    private let grace: Duration
    private let state = Mutex(State())

    init(child: ChildProcess, grace: Duration) {
        self.child = child
        self.grace = grace
    }

    var cause: Cause? { state.withLock { $0.cause } }

    func stop(_ cause: Cause) {
        let first: Bool = state.withLock { state in
            guard state.cause == nil, !state.finished else { return false }
            state.cause = cause
            return true
        }
        guard first else { return }
        child.signalGroup(SIGTERM)
        let child = self.child, grace = self.grace
        let killer = Task {
            try? await Task.sleep(for: grace)
            if !Task.isCancelled, child.groupExists { child.signalGroup(SIGKILL) }
        }
        state.withLock { $0.killer = killer }
    }

    /// The program and its group are gone: no SIGKILL is due any more.
    func finish() {
        let killer: Task<Void, Never>? = state.withLock { state in
            state.finished = true
            return state.killer
        }
        killer?.cancel()
    }
}

/// Standard output up to a limit: beyond it nothing more is kept, whatever the program writes.
final class BoundedOutput: Sendable {
    private struct State {
        var bytes: [UInt8] = []
        var overflowed = false
    }

    private let limit: Int
    private let state = Mutex(State())

    init(limit: Int) { self.limit = limit }

    /// Keeps `chunk`; false once the output went over the limit (the chunk is then dropped, as is all that
    /// follows).
    func append(_ chunk: UnsafeRawBufferPointer) -> Bool {
        state.withLock { state in
            guard !state.overflowed else { return false }
            guard state.bytes.count + chunk.count <= limit else {
                state.overflowed = true
                state.bytes = []
                return false
            }
            state.bytes.append(contentsOf: chunk)
            return true
        }
    }

    var bytes: [UInt8] { state.withLock { $0.bytes } }
}

/// Standard error as lines, with its last bytes kept for a failure's message.
final class ErrorStream: Sendable {
    private struct State {
        var partial: [UInt8] = []
        var tail: [UInt8] = []
    }

    private let tailBytes: Int
    private let maximumLineBytes: Int
    private let state = Mutex(State())

    init(tailBytes: Int, maximumLineBytes: Int) {
        self.tailBytes = tailBytes
        self.maximumLineBytes = maximumLineBytes
    }

    /// Takes a chunk in; returns the lines it completed.
    func append(_ chunk: UnsafeRawBufferPointer) -> [String] {
        state.withLock { state in
            state.tail.append(contentsOf: chunk.suffix(tailBytes))
            if state.tail.count > tailBytes { state.tail.removeFirst(state.tail.count - tailBytes) }
            var lines: [String] = []
            for byte in chunk {
                if byte == UInt8(ascii: "\n") {
                    lines.append(String(decoding: state.partial, as: UTF8.self))
                    state.partial.removeAll(keepingCapacity: true)
                } else if state.partial.count < maximumLineBytes {
                    state.partial.append(byte)
                }
            }
            return lines
        }
    }

    /// The last bytes written, trimmed, as text.
    var tail: String {
        let bytes = state.withLock { $0.tail }
        return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
