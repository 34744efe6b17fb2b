import ArgumentParser
import ConductorAPI
import ConductorMCP
import Foundation
import KubeClient
import Logging

/// `conductor mcp`: MCP over stdio for desktop hosts, against any API server through a kubeconfig.
struct MCPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp",
        abstract: "Speak MCP over stdio (newline-delimited JSON-RPC on stdin and stdout, logs on stderr) for desktop MCP hosts: tool calls become Tasks through your kubeconfig.")

    @Option(help: "The kubeconfig to use; else $KUBECONFIG, or ~/.kube/config.")
    var kubeconfig: String?

    @Option(help: "The kubeconfig context to use instead of its current one.")
    var context: String?

    @Option(help: "Where tool calls create their Tasks (the controller must schedule that namespace).")
    var taskNamespace: String = "default"

    @Option(help: "Where the Agents are.")
    var agentNamespace: String = Installation.systemNamespace

    @Option(help: "Seconds a tool call without a progress token waits for its task before answering with the task's name.")
    var maxCallWait: Double = 55

    func validate() throws {
        try validateName(taskNamespace, option: "--task-namespace")
        try validateName(agentNamespace, option: "--agent-namespace")
        guard maxCallWait > 0 else { throw ValidationError("--max-call-wait must be above 0, got \(maxCallWait)") }
    }

    func run() async throws {
        // stdout carries MCP alone: every log goes to stderr.
        bootstrapLogging(.text)
        let logger = Logger(label: "conductor.mcp")
        let client = try KubeClient(config: try .kubeconfig(path: kubeconfig, context: context), logger: Logger(label: "conductor.kube"))
        let configuration = MCPConfiguration(bind: "stdio", port: 0, taskNamespace: taskNamespace,
                                             maxCallWait: .milliseconds(Int64(maxCallWait * 1000)), sessionKey: SessionKey.ephemeral())
        // The API server knows who the kubeconfig is; until TokenReview is wired, tasks say they came over stdio.
        let caller = Caller(username: "stdio:" + (ProcessInfo.processInfo.environment["USER"] ?? "local"))
        try await StdioFrontEnd(configuration: configuration, client: client, agentNamespace: agentNamespace, caller: caller,
                                logger: logger).run()
        await client.shutdown()
    }
}
