import Hummingbird
import Synchronization

/// A request on its way from the connection's handler to the task that routes it. The answering task keeps its
/// closure, and what that closure holds, until the answer is written; a waiting call would keep its whole
/// request (headers, body) for as long as it waits. The routing task takes the request out instead, and it is
/// gone when routing ends.
final class RequestHandover: Sendable {
    private let request: Mutex<Request?>

    init(_ request: Request) {
        self.request = Mutex(request)
    }

    /// The request; taken once.
    func take() -> Request {
        request.withLock { request in
            defer { request = nil }
            return request!
        }
    }
}
