import ConductorAPI
import ConductorAgent
import Foundation
import KubeClient
import KubeJSON
import Logging
import Testing

@testable import ConductorAgentHost

#if canImport(Glibc)
import Glibc
#endif

@Suite struct ProgressLineTests {
    @Test func progressLinesAndOthers() {
        #expect(ProgressLine.parse("progress: 3/10 copying files")! == (3, 10, "copying files"))
        #expect(ProgressLine.parse("progress: 40")! == (40, nil, nil))
        #expect(ProgressLine.parse("progress:\t0.5/1")! == (0.5, 1, nil))
        #expect(ProgressLine.parse("progress: three/10") == nil)
        #expect(ProgressLine.parse("progress: 3/") == nil)
        #expect(ProgressLine.parse("warning: progress: 3/10") == nil)
        #expect(ProgressLine.parse("progress: nan") == nil)
    }
}

/// The command executor on real programs (python3), without an agent or a cluster.
@Suite struct CommandExecutorTests {
    func request(_ payload: JSON = [:], deadline: Duration? = nil) -> ExecutionRequest {
        var task = TaskResource(metadata: ObjectMeta(name: "t1", namespace: "ns"), spec: TaskSpec(payload: payload))
        task.status.attempt = 2
        return ExecutionRequest(task: task, capability: "cap", deadline: deadline.map { ContinuousClock.now + $0 },
                                deadlineOrigin: "the capability's timeout")
    }

    func executor(_ script: String, maxOutputBytes: Int = Limits.maximumResultBytes, grace: Double = 1) -> CommandExecutor {
        var configuration = CommandConfiguration(arguments: ["python3", "-c", script])
        configuration.maxOutputBytes = maxOutputBytes
        configuration.terminationGracePeriodSeconds = grace
        return CommandExecutor(configuration: configuration, agentName: "agent-1", logger: Logger(label: "test"))
    }

    @Test func theJSONObjectOnStdoutIsTheResultAndTheTaskIsInTheEnvironment() async throws {
        let result = try await executor("""
            import json, os, sys
            payload = json.load(sys.stdin)
            json.dump({"got": payload, "name": os.environ["CONDUCTOR_TASK_NAME"], "attempt": os.environ["CONDUCTOR_TASK_ATTEMPT"],
                       "namespace": os.environ["CONDUCTOR_TASK_NAMESPACE"], "agent": os.environ["CONDUCTOR_AGENT_NAME"]}, sys.stdout)
            """).execute(request(["n": 1]), progress: .discarding())
        #expect(result == ["got": ["n": 1], "name": "t1", "attempt": "2", "namespace": "ns", "agent": "agent-1"])
    }

    @Test func otherOutputIsWrappedAsText() async throws {
        #expect(try await executor("print('a'); print('b')").execute(request(), progress: .discarding()) == ["text": "a\nb"])
        #expect(try await executor("print('[1, 2]')").execute(request(), progress: .discarding()) == ["text": "[1, 2]"])
    }

    @Test func aNonZeroExitFailsWithTheStatusAndTheEndOfStderr() async {
        await #expect(throws: ExecutionError.exited(program: "python3", code: 4, stderrTail: "first\nlast words")) {
            _ = try await executor("import sys; print('first', file=sys.stderr); print('last words', file=sys.stderr); sys.exit(4)")
                .execute(request(), progress: .discarding())
        }
    }

    @Test func outputAboveTheCapFailsWithResultTooLargeWhateverTheProgramWrites() async {
        let error = await #expect(throws: ExecutionError.self) {
            _ = try await executor("import sys\nwhile True: sys.stdout.write('y' * 65536)", maxOutputBytes: 100_000)
                .execute(request(), progress: .discarding())
        }
        #expect(error?.failureReason == .resultTooLarge)
    }

    @Test func theDeadlineStopsTheProgram() async {
        let started = ContinuousClock.now
        await #expect(throws: ExecutionError.deadlineExceeded(origin: "the capability's timeout")) {
            _ = try await executor("import time; time.sleep(60)").execute(request(deadline: .milliseconds(300)), progress: .discarding())
        }
        // Stopped, not run to its end: well before its own 60 s (how soon is the machine's business: a loaded
        // run took 10.9 s for the timer to fire and the group to go).
        #expect(ContinuousClock.now - started < .seconds(50))
    }

    @Test func aDaemonHoldingTheOutputOpenDoesNotHoldTheAttempt() async throws {
        // The program starts a process in a session of its own, out of its group, that keeps standard output
        // and error open for a minute; then it prints its result and exits.
        let pidFile = FileManager.default.temporaryDirectory.appendingPathComponent("daemon-\(UUID().uuidString)").path
        let script = """
            import json, subprocess, sys
            daemon = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
            open("\(pidFile)", "w").write(str(daemon.pid))
            print(json.dumps({"done": True}))
            """
        defer {
            if let pid = (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap({ Int32($0) }) { kill(pid, SIGKILL) }
            try? FileManager.default.removeItem(atPath: pidFile)
        }
        let started = ContinuousClock.now
        let result = try await executor(script).execute(request(), progress: .discarding())
        #expect(result == ["done": true])
        #expect(ContinuousClock.now - started < .seconds(50), "held until the daemon's end")
    }

    @Test func cancellationEndsTheWholeProcessGroupEvenWhatIgnoresSIGTERM() async throws {
        let pidFile = FileManager.default.temporaryDirectory.appendingPathComponent("group-\(UUID().uuidString)").path
        let script = """
            import os, signal, subprocess, time
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            child = subprocess.Popen(["sleep", "60"])
            open("\(pidFile).tmp", "w").write(str(os.getpgid(0)))
            os.rename("\(pidFile).tmp", "\(pidFile)")
            time.sleep(60)
            """
        let run = Task { try await executor(script, grace: 0.5).execute(request(), progress: .discarding()) }
        let deadline = ContinuousClock.now + .seconds(20)
        while !FileManager.default.fileExists(atPath: pidFile) {
            try #require(ContinuousClock.now < deadline, "the program did not start")
            try await Task.sleep(for: .milliseconds(20))
        }
        let group = try #require(Int32(try String(contentsOfFile: pidFile, encoding: .utf8)))
        run.cancel()
        await #expect(throws: CancellationError.self) { _ = try await run.value }
        // The executor returns once the program was reaped; the rest of its group got SIGTERM, then SIGKILL.
        while kill(-group, 0) == 0 {
            try #require(ContinuousClock.now < deadline, "process group \(group) is still there")
            try await Task.sleep(for: .milliseconds(20))
        }
        try? FileManager.default.removeItem(atPath: pidFile)
    }

    @Test func aProgramThatCannotStartIsNamed() async {
        let executor = CommandExecutor(configuration: CommandConfiguration(arguments: ["/no/such/program"]), agentName: "a",
                                       logger: Logger(label: "test"))
        let error = await #expect(throws: ExecutionError.self) { _ = try await executor.execute(request(), progress: .discarding()) }
        #expect("\(error.map { "\($0)" } ?? "")".contains("could not start /no/such/program"))
    }
}
