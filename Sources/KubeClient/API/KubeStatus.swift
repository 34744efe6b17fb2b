/// A Kubernetes `Status`: the body of every error the API server answers.
public struct KubeStatus: Codable, Sendable, Equatable {
    public struct Cause: Codable, Sendable, Equatable {
        public var reason: String?
        public var message: String?
        public var field: String?
    }

    public struct Details: Codable, Sendable, Equatable {
        public var name: String?
        public var group: String?
        public var kind: String?
        public var uid: String?
        public var causes: [Cause]?
        public var retryAfterSeconds: Int?
    }

    public var status: String?
    public var message: String?
    public var reason: String?
    public var details: Details?
    public var code: Int?

    public init(status: String? = "Failure", message: String? = nil, reason: String? = nil, details: Details? = nil, code: Int? = nil) {
        self.status = status
        self.message = message
        self.reason = reason
        self.details = details
        self.code = code
    }
}

/// An error the API server answered, typed by its reason, with the request and the server's Status.
public struct KubeAPIError: Error, CustomStringConvertible, Sendable {
    /// The Status reasons of k8s.io/apimachinery's StatusReason; `other` for one this client does not know.
    public enum Reason: Sendable, Equatable {
        case badRequest, unauthorized, forbidden, notFound, alreadyExists, conflict, gone, expired, invalid
        case methodNotAllowed, notAcceptable, requestEntityTooLarge, unsupportedMediaType
        case tooManyRequests, serverTimeout, timeout, internalError, serviceUnavailable
        case other(String)

        init(reason: String?, code: Int) {
            switch reason ?? "" {
            case "BadRequest": self = .badRequest
            case "Unauthorized": self = .unauthorized
            case "Forbidden": self = .forbidden
            case "NotFound": self = .notFound
            case "AlreadyExists": self = .alreadyExists
            case "Conflict": self = .conflict
            case "Gone": self = .gone
            case "Expired": self = .expired
            case "Invalid": self = .invalid
            case "MethodNotAllowed": self = .methodNotAllowed
            case "NotAcceptable": self = .notAcceptable
            case "RequestEntityTooLarge": self = .requestEntityTooLarge
            case "UnsupportedMediaType": self = .unsupportedMediaType
            case "TooManyRequests": self = .tooManyRequests
            case "ServerTimeout": self = .serverTimeout
            case "Timeout": self = .timeout
            case "InternalError": self = .internalError
            case "ServiceUnavailable": self = .serviceUnavailable
            case "":
                // No reason given: judge by the code, as apimachinery's errors.ReasonForError callers do.
                switch code {
                case 400: self = .badRequest
                case 401: self = .unauthorized
                case 403: self = .forbidden
                case 404: self = .notFound
                case 405: self = .methodNotAllowed
                case 406: self = .notAcceptable
                case 409: self = .conflict
                case 410: self = .gone
                case 413: self = .requestEntityTooLarge
                case 415: self = .unsupportedMediaType
                case 422: self = .invalid
                case 429: self = .tooManyRequests
                case 500: self = .internalError
                case 503: self = .serviceUnavailable
                case 504: self = .timeout
                default: self = .other("HTTP \(code)")
                }
            case let other: self = .other(other)
            }
        }
    }

    public var reason: Reason
    public var status: KubeStatus
    /// The HTTP status code of the answer.
    public var code: Int
    public var method: String
    public var path: String
    /// From the Retry-After header or the Status details.
    public var retryAfter: Duration?

    public init(code: Int, status: KubeStatus, method: String, path: String, retryAfter: Duration? = nil) {
        self.code = code
        self.status = status
        self.reason = Reason(reason: status.reason, code: code)
        self.method = method
        self.path = path
        self.retryAfter = retryAfter ?? status.details?.retryAfterSeconds.map { .seconds($0) }
    }

    public var message: String { status.message ?? "HTTP \(code)" }
    public var causes: [KubeStatus.Cause] { status.details?.causes ?? [] }

    /// An answer that says "not now" rather than "no": 429, a timeout, or a 5xx. The same request may succeed
    /// later (client-go retries these; everything else is the server's decision about the request itself).
    public var isTransient: Bool {
        switch reason {
        case .tooManyRequests, .serverTimeout, .timeout, .internalError, .serviceUnavailable: true
        default: code == 429 || code >= 500
        }
    }

    /// Whether a request that threw `error` may succeed if it is sent again: the server was not reached
    /// (`TransportError`) or answered "not now" (`isTransient`). A write may also have landed, its answer lost.
    public static func isTransient(_ error: any Error) -> Bool {
        switch error {
        case is TransportError: true
        case let error as KubeAPIError: error.isTransient
        default: false
        }
    }

    /// 410 with reason Expired or Gone: the resourceVersion asked for is older than the server keeps.
    public var isResourceVersionTooOld: Bool { reason == .expired || reason == .gone }

    public var description: String { "\(method) \(path): \(code) \(reasonName): \(message)" }

    private var reasonName: String {
        if case .other(let name) = reason { return name }
        return status.reason ?? "\(reason)"
    }
}

/// A response body this client could not read as what it asked for.
public struct KubeDecodingError: Error, CustomStringConvertible, Sendable {
    public var what: String
    public var method: String
    public var path: String
    public var underlying: String
    public var description: String { "\(method) \(path): cannot decode the \(what): \(underlying)" }
}
