import ConductorAgent
import ConductorAPI
import ConductorTestSupport
import Foundation
import KubeClient
import KubeJSON
import Testing

/// Objects that the CRDs admit but the controller's models refuse, written with kubectl into a running system:
/// each is left out (a metric, a Warning Event on it), and everything else keeps flowing. Before, the first such
/// Task stopped the controller's Task watch for good: any user who could create Tasks could stop the system.
@Suite(.serialized) struct BadObjectEndToEndTests {
    /// An exponent the CRD's quantity pattern admits (digits) that no quantity parser takes (past 32 bits).
    static let unreadableCPU = "1e9999999999"

    @Test func aTaskAndAnAgentTheModelsCannotReadAreLeftOutAndTheRestFlows() async throws {
        try await ControlPlane.run { plane in
            try await plane.startAgent("worker")
            try await plane.kubectl(["apply", "-f", "-"], input: """
                apiVersion: mcp.io/v1
                kind: Task
                metadata: {name: unreadable, namespace: \(ControlPlane.namespace)}
                spec: {requiredCapabilities: [echo], resources: {cpu: "\(Self.unreadableCPU)"}}
                ---
                apiVersion: mcp.io/v1
                kind: Agent
                metadata: {name: unreadable-agent, namespace: \(Installation.systemNamespace)}
                spec: {capabilities: [echo], resources: {cpu: "\(Self.unreadableCPU)"}}
                """)
            // A fractional exponent, which a quantity parser refuses, the CRD refuses too now.
            let refused = try await plane.kubectl(["apply", "-f", "-"], input: """
                apiVersion: mcp.io/v1
                kind: Task
                metadata: {name: fractional, namespace: \(ControlPlane.namespace)}
                spec: {requiredCapabilities: [echo], resources: {cpu: "1e1.5"}}
                """, expectFailure: true)
            #expect(refused.contains("spec.resources.cpu"), "\(refused)")

            // Everything else flows past them.
            for index in 1...3 { try await plane.createTask("after-\(index)") }
            for index in 1...3 { #expect(try await plane.waitForFinal("after-\(index)").status.phase == .completed) }
            try await plane.waitForEvent("Undecodable", about: "unreadable")
            try await plane.waitForEvent("Undecodable", about: "unreadable-agent", namespace: Installation.systemNamespace)
            let message = try await plane.events(about: "unreadable").first { $0.reason == "Undecodable" }?.message ?? ""
            #expect(message.contains("spec.resources.cpu"), "\(message)")
            let replica = plane.controllers[0]
            #expect(try await replica.metric("informer_undecodable_objects_total{resource=\"tasks\"}") == 1)
            #expect(try await replica.metric("informer_undecodable_objects_total{resource=\"agents\"}") == 1)

            // Once fixed, the task is read and runs.
            try await plane.kubectl(["patch", "task", "unreadable", "-n", ControlPlane.namespace, "--type=merge",
                               "-p", #"{"spec":{"resources":{"cpu":"100m"}}}"#])
            #expect(try await plane.waitForFinal("unreadable").status.phase == .completed)
            // A restarted replica lists past the agent that still cannot be read, becomes ready and schedules.
            #expect(await replica.terminate() == 0)
            try await replica.start()
            try await plane.createTask("after-restart")
            #expect(try await plane.waitForFinal("after-restart").status.phase == .completed)
            #expect(try await replica.metric("informer_undecodable_objects_total{resource=\"agents\"}") == 1)
        }
    }
}

extension ControlPlane {
    /// Runs kubectl against the plane's API server; returns what it printed (standard output and error).
    @discardableResult
    func kubectl(_ arguments: [String], input: String? = nil, expectFailure: Bool = false) async throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["kubectl", "--kubeconfig", server.kubeconfigPath, "--request-timeout=30s"] + arguments
        // Output to a file, not a pipe: a child that a parallel test started at the same moment may hold a pipe's
        // write end, and reading to its end would then wait for that child.
        let outputPath = NSTemporaryDirectory() + "kubectl-" + UUID().uuidString
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        let stdin = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = stdin
        try process.run()
        try output.close()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
        guard await process.exited(within: .seconds(60)) else {
            process.terminate()
            throw TestFailure("kubectl \(arguments.joined(separator: " ")) did not exit within 60 s")
        }
        let printed = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let status = process.status ?? 0
        if expectFailure != (status != 0) {
            throw TestFailure("kubectl \(arguments.joined(separator: " ")) exited \(status): \(printed)")
        }
        return printed
    }
}
