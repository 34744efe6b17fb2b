import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization

/// An HTTP request whose response body arrives as it comes (for server-sent events), through a URLSession
/// delegate. `open` returns once the response's head is in.
enum HTTPStream {
    struct Opened: Sendable {
        let response: HTTPURLResponse
        let body: AsyncThrowingStream<Data, any Error>
        /// Aborts the request.
        let cancel: @Sendable () -> Void
    }

    static func open(_ request: URLRequest, configuration: URLSessionConfiguration) async throws -> Opened {
        let (body, sink) = AsyncThrowingStream<Data, any Error>.makeStream()
        let receiver = Receiver(sink: sink)
        let session = URLSession(configuration: configuration, delegate: receiver, delegateQueue: nil)
        let task = session.dataTask(with: request)
        let cancel: @Sendable () -> Void = { task.cancel() }
        sink.onTermination = { _ in
            task.cancel()
            session.finishTasksAndInvalidate()
        }
        let response = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                receiver.start(continuation)
                task.resume()
            }
        } onCancel: {
            task.cancel()
        }
        return Opened(response: response, body: body, cancel: cancel)
    }

    /// The session's delegate for one request.
    /// `@unchecked Sendable`: URLSessionDataDelegate requires an NSObject, which Swift cannot check; the one
    /// mutable value, the continuation awaiting the response's head, is behind `head`'s lock, and the stream's
    /// continuation is itself thread-safe.
    private final class Receiver: NSObject, URLSessionDataDelegate, @unchecked Sendable {
        private let sink: AsyncThrowingStream<Data, any Error>.Continuation
        private let head = Mutex<CheckedContinuation<HTTPURLResponse, any Error>?>(nil)

        init(sink: AsyncThrowingStream<Data, any Error>.Continuation) { self.sink = sink }

        func start(_ continuation: CheckedContinuation<HTTPURLResponse, any Error>) {
            head.withLock { $0 = continuation }
        }

        private func answerHead(_ result: Result<HTTPURLResponse, any Error>) {
            let continuation = head.withLock { state in
                defer { state = nil }
                return state
            }
            continuation?.resume(with: result)
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
            if let http = response as? HTTPURLResponse {
                answerHead(.success(http))
            } else {
                answerHead(.failure(URLError(.badServerResponse)))
            }
            completionHandler(.allow)
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
            sink.yield(data)
        }

        func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
            answerHead(.failure(error ?? URLError(.badServerResponse)))
            if let error { sink.finish(throwing: error) } else { sink.finish() }
        }
    }
}

/// Server-sent events, as the bytes come: each event's `data` lines, joined.
struct ServerSentEvents {
    private var line: [UInt8] = []
    private var data: [String] = []
    /// A line longer than this is cut (a message is at most `MCPStdioConnection.maximumMessageBytes`).
    let maximumLineBytes: Int

    init(maximumLineBytes: Int) { self.maximumLineBytes = maximumLineBytes }

    /// Takes bytes in; returns the events they completed (their data).
    mutating func feed(_ bytes: Data) -> [String] {
        var events: [String] = []
        for byte in bytes {
            guard byte == UInt8(ascii: "\n") else {
                if line.count < maximumLineBytes { line.append(byte) }
                continue
            }
            if line.last == UInt8(ascii: "\r") { line.removeLast() }
            let text = String(decoding: line, as: UTF8.self)
            line.removeAll(keepingCapacity: true)
            if text.isEmpty {
                if !data.isEmpty { events.append(data.joined(separator: "\n")) }
                data = []
            } else if text.hasPrefix("data:") {
                var value = text.dropFirst(5)
                if value.first == " " { value = value.dropFirst() }
                data.append(String(value))
            }
            // event:, id:, retry: and comments are not needed here.
        }
        return events
    }
}
