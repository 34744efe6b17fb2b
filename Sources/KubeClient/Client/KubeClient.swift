import Foundation
import KubeJSON
import Logging

/// A client of one API server. Every request and watch of every `ResourceClient` made from it shares one
/// HTTP/2 connection.
public final class KubeClient: Sendable {
    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var query: [(name: String, value: String)]
        public var body: [UInt8]?
        public var contentType: String?
        public var accept: String

        public init(method: String, path: String, query: [(name: String, value: String)] = [], body: [UInt8]? = nil,
                    contentType: String? = nil, accept: String = "application/json") {
            self.method = method
            self.path = path
            self.query = query
            self.body = body
            self.contentType = contentType
            self.accept = accept
        }
    }

    public let config: ClientConfig
    let transport: CurlTransport
    private let tokens: TokenProvider
    private let rateLimiter: RateLimiter?
    /// Paces the rate limit and the waits a server asks for with Retry-After.
    let clock: any KubeClock
    let logger: Logger

    public init(config: ClientConfig, logger: Logger = Logger(label: "conductor.kube"), clock: any KubeClock = SystemClock()) throws {
        self.config = config
        self.logger = logger
        self.clock = clock
        self.transport = try CurlTransport(configuration: .init(tls: config.tls), logger: logger)
        self.tokens = TokenProvider(config.credentials)
        self.rateLimiter = config.rateLimit.map { RateLimiter($0, clock: clock) }
    }

    /// Connections opened to the server so far; 1 while the first connection holds.
    public var connectionsOpened: Int { transport.connectionsOpened }

    /// Ends every request and watch in flight and the transport thread.
    public func shutdown() async {
        await transport.shutdown()
    }

    public func resource<Object: KubeResource>(_ type: Object.Type, namespace: String? = nil) -> ResourceClient<Object> {
        ResourceClient(client: self, resource: Object.resource, namespace: namespace)
    }

    /// The untyped form: any resource, objects as `JSON`.
    public func resource(_ descriptor: ResourceDescriptor, namespace: String? = nil) -> ResourceClient<JSON> {
        ResourceClient(client: self, resource: descriptor, namespace: namespace)
    }

    /// Sends a request and returns the successful answer. An error answer becomes `KubeAPIError`; 429 and
    /// 5xx answers with Retry-After are sent again after the time the server asked for (up to
    /// `config.maxRetries` times); a 401 with a token file reads the token again once; a GET that failed on a
    /// connection that was lost is sent again once on a new connection.
    public func perform(_ request: Request) async throws -> TransportResponse {
        var attempt = 0
        var reloadedToken = false
        var resentAfterConnectionLoss = false
        while true {
            attempt += 1
            let response: TransportResponse
            let sent = ContinuousClock.now
            do {
                response = try await transport.send(try await transportRequest(request, forceTokenReload: reloadedToken && attempt > 1, timeout: config.requestTimeout))
                ClientMetrics.recordRequest(method: request.method, status: response.status, duration: ContinuousClock.now - sent)
            } catch {
                ClientMetrics.recordRequest(method: request.method, status: nil, duration: ContinuousClock.now - sent)
                guard error is TransportError, request.method == "GET", !resentAfterConnectionLoss else { throw error }
                resentAfterConnectionLoss = true
                logger.debug("sending again on a new connection", metadata: ["path": "\(request.path)", "error": "\(error)"])
                continue
            }
            if (200..<300).contains(response.status) {
                return response
            }
            let error = apiError(status: response.status, head: response.head, body: response.body, request: request)
            if error.code == 401, case .tokenFile = config.credentials, !reloadedToken {
                reloadedToken = true
                continue
            }
            if attempt <= config.maxRetries, error.code == 429 || (error.code >= 500 && error.retryAfter != nil) {
                let wait = error.retryAfter ?? .seconds(1)
                logger.debug("server asked to retry", metadata: ["path": "\(request.path)", "code": "\(error.code)", "after": "\(wait)"])
                try await clock.sleep(for: wait)
                continue
            }
            throw error
        }
    }

    /// Opens a streaming request (a watch). An error answer is read whole and thrown as `KubeAPIError`.
    func openStream(_ request: Request) async throws -> TransportStream {
        let stream = try await transport.stream(try await transportRequest(request, forceTokenReload: false, timeout: nil))
        if (200..<300).contains(stream.head.status) {
            return stream
        }
        var body: [UInt8] = []
        for try await chunk in stream.body { body += chunk }
        throw apiError(status: stream.head.status, head: stream.head, body: body, request: request)
    }

    private func transportRequest(_ request: Request, forceTokenReload: Bool, timeout: Duration?) async throws -> TransportRequest {
        if let rateLimiter { try await rateLimiter.acquire() }
        var headers: [(name: String, value: String)] = [("Accept", request.accept), ("User-Agent", config.userAgent)]
        if let contentType = request.contentType { headers.append(("Content-Type", contentType)) }
        if let token = tokens.token(forceReload: forceTokenReload) { headers.append(("Authorization", "Bearer \(token)")) }
        return TransportRequest(method: request.method, url: url(request.path, request.query), headers: headers, body: request.body, timeout: timeout)
    }

    func url(_ path: String, _ query: [(name: String, value: String)]) -> String {
        guard !query.isEmpty else { return config.server + path }
        let encoded = query.map { "\(Self.percentEncoded($0.name))=\(Self.percentEncoded($0.value))" }.joined(separator: "&")
        return config.server + path + "?" + encoded
    }

    private static let unreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")

    static func percentEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    /// The server's Status from an error answer, or one made up from the code and body when the body is
    /// not a Status (a proxy's error page, say), as client-go does.
    func apiError(status code: Int, head: TransportResponseHead, body: [UInt8], request: Request) -> KubeAPIError {
        let retryAfter = head.header("retry-after").flatMap(Int.init).map { Duration.seconds($0) }
        if let status = try? JSONValueDecoder.decode(KubeStatus.self, from: body), status.status == "Failure" || status.reason != nil {
            return KubeAPIError(code: code, status: status, method: request.method, path: request.path, retryAfter: retryAfter)
        }
        let text = String(decoding: body.prefix(1024), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let message = text.isEmpty ? "the server answered HTTP \(code) with no body" : "the server answered HTTP \(code): \(text)"
        return KubeAPIError(code: code, status: KubeStatus(message: message, code: code), method: request.method, path: request.path, retryAfter: retryAfter)
    }
}
