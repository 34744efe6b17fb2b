import ConductorAPI
import ConductorAgent
import KubeJSON

/// Runs a task by calling a downstream MCP server's tool with the payload as its arguments: the tool's
/// structured content is the result, or its text content as `{"text": ...}`; `isError` fails the task with
/// the tool's message (`Reason.rejected`: the same arguments would fail again), as do invalid arguments; the
/// server dying or failing otherwise fails the attempt, which is retried.
struct MCPToolExecutor: TaskExecutor {
    let session: MCPServerSession
    let tool: String

    func execute(_ request: ExecutionRequest, progress: ProgressReporter) async throws -> JSON {
        let token = "\(request.task.key)#\(request.attempt)"
        let session = self.session, tool = self.tool
        let call = Task { try await session.call(tool: tool, arguments: request.payload, progressToken: token, progress: progress) }
        let timer: Task<Bool, Never>? = request.deadline.map { deadline in
            Task {
                do {
                    try await Task.sleep(until: deadline, clock: .continuous)
                    call.cancel()
                    return true
                } catch {
                    return false
                }
            }
        }
        let outcome = await withTaskCancellationHandler { await call.result } onCancel: { call.cancel() }
        timer?.cancel()
        let timedOut = await timer?.value ?? false
        try Task.checkCancellation()
        if timedOut { throw ExecutionError.deadlineExceeded(origin: request.deadlineOrigin) }
        let result: JSON
        switch outcome {
        case .success(let answer): result = answer
        case .failure(let error as MCPCallError):
            // -32602: invalid params (arguments the tool refuses, or an unknown tool): final.
            if case .rpcError(let server, _, -32602, let message) = error {
                throw ExecutionError.toolFailed(tool: tool, message: "MCP server \(server) refused the arguments (invalid params): \(message)")
            }
            throw error
        case .failure(let error): throw error
        }
        let text = (result["content"]?.array ?? []).compactMap { $0["type"]?.string == "text" ? $0["text"]?.string : nil }.joined(separator: "\n")
        if result["isError"] == .bool(true) {
            throw ExecutionError.toolFailed(tool: tool, message: text)
        }
        if let structured = result["structuredContent"], case .object = structured { return structured }
        return ["text": .string(text)]
    }
}
