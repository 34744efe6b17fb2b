import KubeJSON

/// A request as the API logic sees it, free of any HTTP library's types.
public struct APIRequest: Sendable {
    public var method: String
    public var path: String
    /// Query parameters; for a repeated name, the first value.
    public var query: [String: String]
    public var accept: String?
    public var contentType: String?
    public var userAgent: String?
    public var body: [UInt8]
    /// Who sends it, as authentication found; the server's own requests are the loopback user.
    public var user: UserInfo
    /// Whom the sender asks to act as (the Impersonate-* headers), if anyone.
    public var impersonation: Impersonation?

    public init(
        method: String, path: String, query: [String: String] = [:], accept: String? = nil,
        contentType: String? = nil, userAgent: String? = nil, body: [UInt8] = [], user: UserInfo = .loopback,
        impersonation: Impersonation? = nil
    ) {
        self.user = user
        self.impersonation = impersonation
        self.method = method
        self.path = path
        self.query = query
        self.accept = accept
        self.contentType = contentType
        self.userAgent = userAgent
        self.body = body
    }
}

/// An answer: a whole body, or a stream of chunks (a watch).
public struct APIResponse: Sendable {
    public enum Body: Sendable {
        case bytes([UInt8])
        /// Chunks to send as they come; `onClose` runs once the response ends, however it ends.
        case stream(AsyncStream<[UInt8]>, onClose: @Sendable () -> Void)
    }

    public var status: Int
    public var contentType: String
    public var headers: [(String, String)]
    public var body: Body

    public init(status: Int, contentType: String = "application/json", headers: [(String, String)] = [], body: Body) {
        self.status = status
        self.contentType = contentType
        self.headers = headers
        self.body = body
    }

    public static func json(_ value: JSON, status: Int = 200, headers: [(String, String)] = [], contentType: String = "application/json") -> APIResponse {
        APIResponse(status: status, contentType: contentType, headers: headers, body: .bytes(value.serialized()))
    }

    public static func error(_ error: APIError) -> APIResponse {
        .json(error.status, status: error.code, headers: error.headers)
    }

    public static func text(_ text: String, status: Int = 200) -> APIResponse {
        APIResponse(status: status, contentType: "text/plain; charset=utf-8", body: .bytes(Array(text.utf8)))
    }
}
