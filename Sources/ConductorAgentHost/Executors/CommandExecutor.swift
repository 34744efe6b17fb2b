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

    /// How long after the program ends its output is still read: enough for what the pipes hold, not for a
    /// process that left its group and keeps them open.
    static let outputGracePeriod: Duration = .seconds(2)
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

        let cutoff = ReadCutoff()
        let payload = request.payload.serialized()
        async let wroteInput: Void = BlockingCall.run("stdin \(child.pid)") { FileDescriptorIO.writeAllAndClose(child.stdin, payload) }
        async let readOutput: Void = BlockingCall.run("stdout \(child.pid)") {
            FileDescriptorIO.readAllAndClose(child.stdout, cutoff: cutoff) { chunk in
                if !output.append(chunk) { stopper.stop(.outputTooLarge) }
            }
        }
        async let readErrors: Void = BlockingCall.run("stderr \(child.pid)") {
            FileDescriptorIO.readAllAndClose(child.stderr, cutoff: cutoff) { chunk in
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
        // What left the group (a daemon) may hold it open still: the output ends a moment after the program.
        cutoff.cut(after: Self.outputGracePeriod)
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
