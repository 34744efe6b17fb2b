import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdHTTP2
import KubeJSON
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle

/// Serves the API over HTTPS, HTTP/2 (ALPN h2) and HTTP/1.1, with bearer-token authentication (the
/// static tokens and service-account tokens `APIServer.authenticate` knows).
public struct HTTPServer: Sendable {
    public struct Configuration: Sendable {
        public var bind: String
        public var port: Int
        public var certificates: ServingCertificates
        /// Requests served at once, watches not counted, as kube-apiserver's `--max-requests-inflight`;
        /// beyond it the answer is 429 with Retry-After. Zero means no limit.
        public var maxRequestsInFlight: Int = 400

        public init(bind: String, port: Int, certificates: ServingCertificates) {
            self.bind = bind
            self.port = port
            self.certificates = certificates
        }
    }

    /// Paths anyone may read without a token, as the real server's system:public-info-viewer role allows
    /// anonymous users. Elsewhere a request without a token is 401 (as with --anonymous-auth=false).
    static let publicPaths: Set<String> = ["/healthz", "/livez", "/readyz", "/version"]

    let api: APIServer
    let configuration: Configuration
    let logger: Logger
    let connections = ConnectionCounter()
    let inFlight: InFlightLimit

    public init(api: APIServer, configuration: Configuration, logger: Logger) {
        self.api = api
        self.configuration = configuration
        self.logger = logger
        self.inFlight = InFlightLimit(maximum: configuration.maxRequestsInFlight)
    }

    /// The Hummingbird application, to run as a service.
    public func application(onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }) throws -> some Service {
        let tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(configuration.certificates.certificatePath).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: configuration.certificates.keyPath, format: .pem)))
        let api = self.api
        let connections = self.connections
        let inFlight = self.inFlight
        let responder = CallbackResponder<ConnectionRequestContext> { request, context in
            connections.observe(context.connection)
            // Watches are long-running and exempt, as on the real server.
            let isWatch = request.uri.query?.contains("watch=true") == true || request.uri.query?.contains("watch=1") == true
            if isWatch {
                return await Self.respond(to: request, api: api, connections: connections, inFlight: inFlight)
            }
            guard inFlight.enter() else { return Self.response(.error(.tooManyRequests)) }
            defer { inFlight.leave() }
            return await Self.respond(to: request, api: api, connections: connections, inFlight: inFlight)
        }
        var http2 = HTTP2UpgradeChannel.Configuration()
        // Watches idle for long stretches; the connection must outlive them.
        http2.idleTimeout = nil
        http2.streamConfiguration = .init(additionalChannelHandlers: [HTTP1EdgeHandler()])
        return Application(
            responder: responder,
            server: HTTPServerBuilder { [http2] responder in
                APIConnectionChannel(inner: try HTTP2UpgradeChannel(tlsConfiguration: tls, configuration: http2, responder: responder))
            },
            configuration: .init(address: .hostname(configuration.bind, port: configuration.port), serverName: nil),
            onServerRunning: onServerRunning,
            logger: logger)
    }

    /// The token of an `Authorization` header as kube-apiserver's bearer-token authenticator reads it: the header
    /// trimmed of white space (Unicode's, as Go's `strings.TrimSpace`), split at its first two spaces, a `Bearer`
    /// scheme in any case, and the second part, which must not be empty (`Bearer  abc`, with two spaces, carries
    /// none). Nil: no bearer token.
    static func bearerToken(_ header: String) -> String? {
        let scalars = header.unicodeScalars
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let end = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return nil }
        let parts = scalars[start...end].split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, String(parts[0]).lowercased() == "bearer", !parts[1].isEmpty else { return nil }
        return String(parts[1])
    }

    static func respond(to request: Request, api: APIServer, connections: ConnectionCounter, inFlight: InFlightLimit) async -> Response {
        let rawPath = request.uri.path
        // Decoded only when there is something to decode: Foundation's decoding of every path (and its trimming of
        // every Authorization header, before `bearerToken`) took some 3 % of the server's CPU.
        let path = rawPath.utf8.contains(UInt8(ascii: "%")) ? rawPath.removingPercentEncoding ?? rawPath : rawPath
        let user: UserInfo
        let token = bearerToken(request.headers[.authorization] ?? "")
        if token == nil, publicPaths.contains(path) {
            // No bearer token (no header, or another scheme): the anonymous user, as the real server's union of
            // authenticators ends in the anonymous one.
            user = anonymous
        } else {
            guard let token, case .authenticated(let found, _) = api.authenticate(token: token) else {
                return response(.error(.unauthorized))
            }
            user = found
        }
        let impersonation = Self.impersonation(request.headers)
        if path == "/metrics" {
            // Served here rather than by the API, but authorized as the real server's /metrics is.
            var acting = user
            if let impersonation {
                do { acting = try api.impersonate(impersonation, by: user) } catch { return response(.error(error)) }
            }
            let attributes = RequestAttributes(method: request.method.rawValue, path: path, query: [:], user: acting)
            let decision = api.authorize(attributes)
            guard decision.allowed else { return response(.error(.forbidden(attributes, reason: decision.reason))) }
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: connections.metricsText + inFlight.metricsText)))
        }
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: APIServer.maxRequestBodyBytes)
        } catch {
            return response(.error(.tooLarge(limit: APIServer.maxRequestBodyBytes)))
        }
        let query = Self.queryParameters(request.uri.query ?? "")
        let apiRequest = APIRequest(
            method: request.method.rawValue, path: path, query: query, accept: request.headers[.accept],
            contentType: request.headers[.contentType], userAgent: request.headers[.userAgent],
            body: Array(buffer: body), user: user, impersonation: impersonation)
        return response(await api.handle(apiRequest))
    }

    /// The user of requests without a token to the public paths.
    static let anonymous = UserInfo(username: "system:anonymous", groups: ["system:unauthenticated"])

    /// The Impersonate-* headers, or nil when there are none.
    static func impersonation(_ headers: HTTPFields) -> Impersonation? {
        var impersonation = Impersonation(user: nil)
        for field in headers {
            let name = field.name.canonicalName
            if name == "impersonate-user" {
                impersonation.user = field.value
            } else if name == "impersonate-group" {
                impersonation.groups.append(field.value)
            } else if name == "impersonate-uid" {
                impersonation.uid = field.value
            } else if name.hasPrefix("impersonate-extra-") {
                // The key is percent-encoded in the header name (RFC 7230 allows few characters there).
                let key = String(name.dropFirst("impersonate-extra-".count))
                impersonation.extra[key.removingPercentEncoding ?? key, default: []].append(field.value)
            }
        }
        return impersonation.isEmpty ? nil : impersonation
    }

    /// Query parameters as Go's url.ParseQuery reads them: `+` is a space, `%XX` a byte; the first
    /// value of a repeated name wins.
    static func queryParameters(_ query: String) -> [String: String] {
        var parameters: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                let spaced = String(text).replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            let key = decode(parts[0])
            if parameters[key] == nil { parameters[key] = parts.count > 1 ? decode(parts[1]) : "" }
        }
        return parameters
    }

    static func response(_ answer: APIResponse) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = answer.contentType
        headers[.cacheControl] = "no-cache, private"
        for (name, value) in answer.headers {
            if let field = HTTPField.Name(name) { headers.append(HTTPField(name: field, value: value)) }
        }
        let status = HTTPResponse.Status(code: answer.status)
        switch answer.body {
        case .bytes(let bytes):
            return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
        case .stream(let chunks, let onClose):
            return Response(status: status, headers: headers, body: ResponseBody { writer in
                defer { onClose() }
                for await chunk in chunks {
                    try await writer.write(ByteBuffer(bytes: chunk))
                }
                try await writer.finish(nil)
            })
        }
    }
}
