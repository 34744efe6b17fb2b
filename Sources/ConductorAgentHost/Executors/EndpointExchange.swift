import KubeClient
import Logging

/// One POST to an HTTP executor's endpoint, its answer kept up to a limit and no further.
///
/// Over libcurl (`CurlTransport`, which every HTTP executor of the process shares): its own thread drives the
/// requests, and an answer is read as it arrives with at most `streamBufferLimit` bytes unread before the
/// transfer is paused, so an endpoint that answers without end costs the agent the limit and that buffer, by
/// construction. (URLSession on Linux hands data to its delegate without waiting for it and cannot pause: a
/// fast endpoint's gigabyte piled up before the cancel landed.)
enum EndpointExchange {
    /// The answer went over the limit; the request was cancelled.
    struct TooLarge: Error {}

    /// The transport, made on first use. Sidecars mostly speak HTTP/1.1, one request per connection at a time:
    /// no limit on connections per host, so concurrent tasks do not queue behind a slow one.
    static let transport: Result<CurlTransport, any Error> = Result {
        var configuration = CurlTransport.Configuration(maxConnectionsPerHost: 0)
        configuration.streamBufferLimit = 256 * 1024
        return try CurlTransport(configuration: configuration, logger: Logger(label: "conductor.http-executor"))
    }

    /// Sends the request and reads the whole answer. Cancelling the calling task cancels the request.
    static func perform(_ request: TransportRequest, limit: Int) async throws -> (status: Int, body: [UInt8]) {
        let response = try await transport.get().stream(request)
        var body: [UInt8] = []
        for try await chunk in response.body {
            // Leaving the body unread cancels the transfer.
            guard body.count + chunk.count <= limit else { throw TooLarge() }
            body += chunk
        }
        return (response.head.status, body)
    }
}
