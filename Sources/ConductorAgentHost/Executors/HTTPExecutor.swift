import ConductorAPI
import ConductorAgent
import Foundation
import KubeClient
import KubeJSON

/// POSTs each task's payload to a URL (`http:` in the configuration), typically a sidecar in the same pod,
/// with the task's identity in `X-Conductor-*` headers. A 2xx JSON object is the result; 4xx fails the task
/// (`Reason.rejected`: the same request would be refused again); 5xx, a connection error or an answer that
/// is not a JSON object fail the attempt, which the task's retry policy retries. The deadline and
/// cancellation abort the request.
///
/// The answer is kept up to `maxResponseBytes` and no further (`EndpointExchange`).
public struct HTTPExecutor: TaskExecutor {
    public let configuration: HTTPConfiguration
    let agentName: String
    /// Kept of an error response's body, for the task's message.
    static let bodyExcerptBytes = 1024

    public init(configuration: HTTPConfiguration, agentName: String) {
        self.configuration = configuration
        self.agentName = agentName
    }

    public func execute(_ request: ExecutionRequest, progress: ProgressReporter) async throws -> JSON {
        let url = configuration.url.absoluteString
        var headers: [(name: String, value: String)] = [("Content-Type", "application/json"), ("Accept", "application/json")]
        headers += configuration.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        headers += [
            ("X-Conductor-Task-Name", request.task.name),
            ("X-Conductor-Task-Namespace", request.task.namespace ?? ""),
            ("X-Conductor-Task-Attempt", "\(request.attempt)"),
            ("X-Conductor-Capability", request.capability),
            ("X-Conductor-Agent", agentName),
        ]
        if let deadline = request.task.spec.deadline { headers.append(("X-Conductor-Task-Deadline", "\(deadline)")) }
        let post = TransportRequest(method: "POST", url: url, headers: headers, body: request.payload.serialized())

        let limit = configuration.maxResponseBytes
        let exchange = Task { try await EndpointExchange.perform(post, limit: limit) }
        let deadlineTimer: Task<Bool, Never>? = request.deadline.map { deadline in
            Task {
                do {
                    try await Task.sleep(until: deadline, clock: .continuous)
                    exchange.cancel()
                    return true
                } catch {
                    return false
                }
            }
        }
        let outcome = await withTaskCancellationHandler { await exchange.result } onCancel: { exchange.cancel() }
        deadlineTimer?.cancel()
        let timedOut = await deadlineTimer?.value ?? false
        try Task.checkCancellation()
        if timedOut { throw ExecutionError.deadlineExceeded(origin: request.deadlineOrigin) }

        let status: Int, data: [UInt8]
        switch outcome {
        case .success(let answer): (status, data) = answer
        case .failure(is EndpointExchange.TooLarge):
            throw ExecutionError.resultTooLarge(what: "the response of \(url)", limit: configuration.maxResponseBytes)
        case .failure(let error): throw ExecutionError.unreachable(url: url, reason: "\(error)")
        }
        switch status {
        case 200..<300:
            if data.isEmpty { return .object([:]) }
            guard let parsed = try? JSON.parse(data), case .object = parsed else {
                throw ExecutionError.endpointFailed(url: url, status: status, body: "the body is not a JSON object: " + Self.excerpt(data))
            }
            return parsed
        case 400..<500:
            throw ExecutionError.rejected(url: url, status: status, body: Self.excerpt(data))
        default:
            throw ExecutionError.endpointFailed(url: url, status: status, body: Self.excerpt(data))
        }
    }

    static func excerpt(_ data: [UInt8]) -> String {
        String(decoding: data.prefix(bodyExcerptBytes), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
