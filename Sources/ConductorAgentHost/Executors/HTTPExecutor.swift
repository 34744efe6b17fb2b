import ConductorAPI
import ConductorAgent
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import KubeJSON
import Logging

/// POSTs each task's payload to a URL (`http:` in the configuration), typically a sidecar in the same pod,
/// with the task's identity in `X-Conductor-*` headers. A 2xx JSON object is the result; 4xx fails the task
/// (`Reason.rejected`: the same request would be refused again); 5xx, a connection error or an answer that
/// is not a JSON object fail the attempt, which the task's retry policy retries. The deadline and
/// cancellation abort the request.
///
/// Foundation's URLSession: asynchronous, so a waiting request holds no thread; the KubeClient's libcurl
/// transport is bound to the API server's connection and credentials. The response body is kept up to
/// `maxResponseBytes` and no further (`BoundedHTTPExchange`).
public struct HTTPExecutor: TaskExecutor {
    public let configuration: HTTPConfiguration
    let agentName: String
    let sessionConfiguration: URLSessionConfiguration
    /// Kept of an error response's body, for the task's message.
    static let bodyExcerptBytes = 1024

    public init(configuration: HTTPConfiguration, agentName: String) {
        self.configuration = configuration
        self.agentName = agentName
        let sessionConfiguration = URLSessionConfiguration.ephemeral
        sessionConfiguration.timeoutIntervalForResource = 7 * 24 * 3600  // the deadline bounds a request, not this
        self.sessionConfiguration = sessionConfiguration
    }

    public func execute(_ request: ExecutionRequest, progress: ProgressReporter) async throws -> JSON {
        let url = configuration.url.absoluteString
        var post = URLRequest(url: configuration.url)
        post.httpMethod = "POST"
        post.httpBody = Data(request.payload.serialized())
        post.setValue("application/json", forHTTPHeaderField: "Content-Type")
        post.setValue("application/json", forHTTPHeaderField: "Accept")
        for (name, value) in configuration.headers { post.setValue(value, forHTTPHeaderField: name) }
        post.setValue(request.task.name, forHTTPHeaderField: "X-Conductor-Task-Name")
        post.setValue(request.task.namespace ?? "", forHTTPHeaderField: "X-Conductor-Task-Namespace")
        post.setValue("\(request.attempt)", forHTTPHeaderField: "X-Conductor-Task-Attempt")
        post.setValue(request.capability, forHTTPHeaderField: "X-Conductor-Capability")
        post.setValue(agentName, forHTTPHeaderField: "X-Conductor-Agent")
        if let deadline = request.task.spec.deadline { post.setValue("\(deadline)", forHTTPHeaderField: "X-Conductor-Task-Deadline") }
        // URLSession's timeout is between bytes; the deadline below bounds the whole request.
        post.timeoutInterval = 24 * 3600

        let sessionConfiguration = self.sessionConfiguration, limit = configuration.maxResponseBytes
        let exchange = Task { try await BoundedHTTPExchange.perform(post, configuration: sessionConfiguration, limit: limit) }
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

        let data: Data, http: HTTPURLResponse
        switch outcome {
        case .success(let answer): (data, http) = answer
        case .failure(is BoundedHTTPExchange.TooLarge):
            throw ExecutionError.resultTooLarge(what: "the response of \(url)", limit: configuration.maxResponseBytes)
        case .failure(let error): throw ExecutionError.unreachable(url: url, reason: "\(error.localizedDescription)")
        }
        let status = http.statusCode
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

    static func excerpt(_ data: Data) -> String {
        String(decoding: data.prefix(bodyExcerptBytes), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
