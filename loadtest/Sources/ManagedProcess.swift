import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A child process of `loadtest chaos`, as a pod's container: always the same program and arguments, its standard
/// output and error appended to one log file over all its runs, killed with SIGKILL (no goodbye) and started again.
/// A process the fault injector took down is `heldDown` until it starts it again; one that exits by itself is not,
/// and `restartIfExited` starts it again (a kubelet's restartPolicy Always) and says how it ended.
final class ManagedProcess: Sendable {
    let name: String
    let executable: String
    let arguments: [String]
    let environment: [String: String]
    let logPath: String

    private struct State {
        var process: Process?
        var starts = 0
        /// Killed on purpose, to be started again by whoever killed it.
        var heldDown = false
        /// SIGSTOP sent, SIGCONT not yet.
        var stopped = false
        /// Set once the cluster stops: nothing starts it again.
        var retired = false
    }

    private let state = Mutex(State())

    init(name: String, executable: String, arguments: [String], environment: [String: String], logPath: String) {
        self.name = name
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.logPath = logPath
    }

    /// Starts it, or again after a kill; a line in the log marks each start. Does nothing while it runs.
    func start() throws {
        try state.withLock { state in
            guard !state.retired else { return }
            if state.process?.isRunning == true {
                state.heldDown = false
                return
            }
            try Self.launch(&state, name: name, executable: executable, arguments: arguments, environment: environment,
                            logPath: logPath)
        }
    }

    private static func launch(_ state: inout State, name: String, executable: String, arguments: [String],
                               environment: [String: String], logPath: String) throws {
        if !FileManager.default.fileExists(atPath: logPath) {
            _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        }
        guard let log = FileHandle(forWritingAtPath: logPath) else {
            throw ChaosSetupError("cannot write the log \(logPath)")
        }
        log.seekToEndOfFile()
        log.write(Data("--- loadtest chaos: \(name) start \(state.starts + 1) at \(Date()) ---\n".utf8))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = log
        process.standardError = log
        try process.run()
        state.process = process
        state.starts += 1
        state.heldDown = false
        state.stopped = false
    }

    var isRunning: Bool { state.withLock { $0.process?.isRunning ?? false } }

    /// The process id while it runs.
    var pid: Int32? {
        state.withLock { state -> Int32? in
            guard let process = state.process, process.isRunning else { return nil }
            return process.processIdentifier
        }
    }

    /// How many times it was started.
    var starts: Int { state.withLock { $0.starts } }

    /// SIGKILL, then waits until it is gone (at most 10 s). `holdDown`: the caller starts it again; until then
    /// `restartIfExited` leaves it down.
    func kill(holdDown: Bool) async {
        let pid = state.withLock { state -> Int32? in
            if holdDown { state.heldDown = true }
            state.stopped = false
            guard let process = state.process, process.isRunning else { return nil }
            return process.processIdentifier
        }
        guard let pid else { return }
        sendSignal(pid, SIGKILL)
        let deadline = ContinuousClock.now + .seconds(10)
        while isRunning, ContinuousClock.now < deadline {
            await uncancellableSleep(.milliseconds(10))
        }
    }

    /// SIGSTOP: it stays alive but does nothing (no heartbeat, no report) until `resume()`.
    @discardableResult
    func suspend() -> Bool {
        let pid = state.withLock { state -> Int32? in
            guard let process = state.process, process.isRunning, !state.stopped else { return nil }
            state.stopped = true
            return process.processIdentifier
        }
        guard let pid else { return false }
        sendSignal(pid, SIGSTOP)
        return true
    }

    /// SIGCONT after `suspend()`.
    func resume() {
        let pid = state.withLock { state -> Int32? in
            guard state.stopped, let process = state.process, process.isRunning else { return nil }
            state.stopped = false
            return process.processIdentifier
        }
        if let pid { sendSignal(pid, SIGCONT) }
    }

    /// If it ended by itself (not killed on purpose), starts it again and returns how it ended.
    func restartIfExited() -> String? {
        state.withLock { state -> String? in
            guard !state.retired, !state.heldDown, let process = state.process, !process.isRunning else { return nil }
            let ended = process.terminationReason == .uncaughtSignal
                ? "killed by signal \(process.terminationStatus)" : "exited with status \(process.terminationStatus)"
            do {
                try Self.launch(&state, name: name, executable: executable, arguments: arguments, environment: environment,
                                logPath: logPath)
                return ended
            } catch {
                return "\(ended); starting it again failed: \(error)"
            }
        }
    }

    /// SIGKILL without waiting, and never again started: for the end of the run and for a signal to the harness.
    func retire() {
        let pid = state.withLock { state -> Int32? in
            state.retired = true
            guard let process = state.process, process.isRunning else { return nil }
            return process.processIdentifier
        }
        if let pid {
            sendSignal(pid, SIGCONT)
            sendSignal(pid, SIGKILL)
        }
    }

    /// The end of its log, for an error message.
    func logTail(_ bytes: Int = 3000) -> String {
        guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else { return "(no log at \(logPath))" }
        return String(text.suffix(bytes))
    }
}

/// Sleeps even in a cancelled task: for the waits that must run to their end when the fault injector is stopped
/// (a cancelled `Task.sleep` returns at once, and a polling loop would spin).
func uncancellableSleep(_ duration: Duration) async {
    await Task.detached { try? await Task.sleep(for: duration) }.value
}

/// `kill(2)`, under a name that does not clash with `ManagedProcess.kill`.
func sendSignal(_ pid: Int32, _ signal: Int32) {
    _ = kill(pid, signal)
}

struct ChaosSetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
