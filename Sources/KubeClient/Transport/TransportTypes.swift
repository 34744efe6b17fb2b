import CCurl

/// How the client proves who the server is, and who it is itself.
public struct TLSSettings: Sendable, Equatable {
    /// PEM certificates of the authorities the server's certificate must chain to (kubeconfig
    /// `certificate-authority-data`); `caFile` is read by libcurl instead when only a path is known.
    public var caPEM: [UInt8]?
    public var caFile: String?
    public var insecureSkipVerify: Bool
    public var clientCertificatePEM: [UInt8]?
    public var clientKeyPEM: [UInt8]?

    public init(caPEM: [UInt8]? = nil, caFile: String? = nil, insecureSkipVerify: Bool = false,
                clientCertificatePEM: [UInt8]? = nil, clientKeyPEM: [UInt8]? = nil) {
        self.caPEM = caPEM
        self.caFile = caFile
        self.insecureSkipVerify = insecureSkipVerify
        self.clientCertificatePEM = clientCertificatePEM
        self.clientKeyPEM = clientKeyPEM
    }
}

public struct TransportRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]?
    /// The whole transfer's limit; nil for watches, which last as long as the server keeps them.
    public var timeout: Duration?

    public init(method: String, url: String, headers: [(name: String, value: String)] = [], body: [UInt8]? = nil, timeout: Duration? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

public struct TransportResponseHead: Sendable {
    public var status: Int
    /// Header names in lower case, as HTTP/2 sends them.
    public var headers: [(name: String, value: String)]

    public func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.name == lowered }?.value
    }
}

public struct TransportResponse: Sendable {
    public var head: TransportResponseHead
    public var body: [UInt8]
    public var status: Int { head.status }
}

public struct TransportStream: Sendable {
    public var head: TransportResponseHead
    /// Chunks as they arrive, at most `CurlTransport.Configuration.streamBufferLimit` bytes of them unread;
    /// ends when the server ends the response, throws `TransportError` when the connection fails.
    public var body: TransportBody
}

/// A transfer that failed below HTTP: no connection, TLS refused, connection lost, timed out.
public struct TransportError: Error, CustomStringConvertible, Sendable {
    public enum Code: Sendable, Equatable {
        case initFailed
        case noHTTP2
        /// A libcurl result code (CURLcode).
        case curl(Int)
    }

    public var code: Code
    public var message: String
    public var method: String
    public var url: String

    public var description: String {
        method.isEmpty ? message : "\(method) \(url): \(message)"
    }

    /// Whether the request may never have reached the server, so sending it again is safe for any verb.
    public var connectionFailed: Bool {
        guard case .curl(let raw) = code else { return false }
        return [CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_SSL_CONNECT_ERROR]
            .contains { Int($0.rawValue) == raw }
    }
}
