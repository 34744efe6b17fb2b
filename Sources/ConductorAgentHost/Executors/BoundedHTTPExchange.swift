import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization

/// One HTTP request whose response body is kept up to a limit and no further: past it the request is
/// cancelled, so that an endpoint answering without end cannot grow the agent's memory (URLSession's
/// `data(for:)` keeps the whole body). Cancelling the calling task cancels the request.
enum BoundedHTTPExchange {
    /// The body went over the limit; the request was cancelled.
    struct TooLarge: Error {}

    static func perform(_ request: URLRequest, configuration: URLSessionConfiguration, limit: Int) async throws -> (Data, HTTPURLResponse) {
        let receiver = Receiver(limit: limit)
        let session = URLSession(configuration: configuration, delegate: receiver, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        let task = session.dataTask(with: request)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                receiver.start(continuation)
                task.resume()
            }
        } onCancel: {
            task.cancel()
        }
    }

    /// The session's delegate for one request.
    /// `@unchecked Sendable`: URLSessionDataDelegate requires an NSObject, which Swift cannot check; all
    /// mutable state is in `state`, behind its lock, so the delegate queue and the caller never race on it.
    private final class Receiver: NSObject, URLSessionDataDelegate, @unchecked Sendable {
        private struct State {
            var body = Data()
            var response: HTTPURLResponse?
            var tooLarge = false
            var continuation: CheckedContinuation<(Data, HTTPURLResponse), any Error>?
        }

        private let limit: Int
        private let state = Mutex(State())

        init(limit: Int) { self.limit = limit }

        func start(_ continuation: CheckedContinuation<(Data, HTTPURLResponse), any Error>) {
            state.withLock { $0.continuation = continuation }
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
            state.withLock { $0.response = response as? HTTPURLResponse }
            completionHandler(.allow)
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
            let overflow: Bool = state.withLock { state in
                guard !state.tooLarge else { return false }
                guard state.body.count + data.count <= limit else {
                    state.tooLarge = true
                    state.body = Data()
                    return true
                }
                state.body.append(data)
                return false
            }
            if overflow { dataTask.cancel() }
        }

        func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
            let (continuation, outcome): (CheckedContinuation<(Data, HTTPURLResponse), any Error>?, Result<(Data, HTTPURLResponse), any Error>) =
                state.withLock { state in
                    defer { state.continuation = nil }
                    if state.tooLarge { return (state.continuation, .failure(TooLarge())) }
                    if let error { return (state.continuation, .failure(error)) }
                    guard let response = state.response else { return (state.continuation, .failure(URLError(.badServerResponse))) }
                    return (state.continuation, .success((state.body, response)))
                }
            continuation?.resume(with: outcome)
        }
    }
}
