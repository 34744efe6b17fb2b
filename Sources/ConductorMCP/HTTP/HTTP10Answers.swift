import NIOHTTP1

/// How an HTTP/1.0 request is answered, as HTTP/1.0 allows: no chunked body, and the connection closed after the
/// answer. `RequestDispatchHandler` keeps one per connection and asks it at each request's head and answer.
///
/// The answers are written as HTTP/1.1, so an answer without a length (an SSE stream) would go out chunked, which
/// an HTTP/1.0 client cannot read, and the connection would stay open after it, where an HTTP/1.0 client without
/// keep-alive (ApacheBench is one) reads until the server closes it. Here the answer's head says HTTP/1.0 (NIO's
/// encoder then frames it by its length, or by the connection's end when it has none), `Connection: close`, and
/// the connection ends once the answer's end is written. HTTP/1.0 keep-alive is not offered, as the protocol
/// lets a server choose.
///
/// An HTTP/1.0 request's `Expect: 100-continue` is dropped, as RFC 9110 (10.1.1) requires: an HTTP/1.0 client
/// cannot read an interim answer.
///
/// NIO's `HTTPServerPipelineHandler` passes on one request at a time: the answer being written is to the last
/// head read.
struct HTTP10Answers {
    /// The request in hand came as HTTP/1.0.
    private var answeringHTTP10 = false

    /// Notes the request's version, and drops an HTTP/1.0 request's expectation.
    mutating func received(_ head: inout HTTPRequestHead) {
        answeringHTTP10 = head.version.major == 1 && head.version.minor == 0
        if answeringHTTP10 { head.headers.remove(name: "expect") }
    }

    /// The answer's head, as HTTP/1.0 for an HTTP/1.0 request.
    func answer(_ head: inout HTTPResponseHead) {
        guard answeringHTTP10 else { return }
        head.version = .http1_0
        head.headers.replaceOrAdd(name: "connection", value: "close")
    }

    /// The answer's end is written: whether the connection ends with it.
    mutating func answerEnded() -> Bool {
        defer { answeringHTTP10 = false }
        return answeringHTTP10
    }
}
