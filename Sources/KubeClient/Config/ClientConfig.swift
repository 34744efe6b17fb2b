import Foundation
import Synchronization
import Yams

/// Where the API server is and how to authenticate to it: from a kubeconfig file or from the pod's
/// service account.
public struct ClientConfig: Sendable {
    /// Base URL, e.g. `https://127.0.0.1:6443`, without a trailing slash.
    public var server: String
    public var tls: TLSSettings
    public var credentials: Credentials
    /// The namespace of the kubeconfig context (or of the pod), for callers that want a default.
    public var namespace: String
    /// Client-side rate limit; nil means none (the default, right for the local server).
    public var rateLimit: RateLimit?
    /// Limit for one non-watch request.
    public var requestTimeout: Duration
    /// How often a request answered 429 (or 5xx with Retry-After) is sent again before the error is thrown.
    public var maxRetries: Int
    public var userAgent: String

    public enum Credentials: Sendable {
        case none
        case bearerToken(String)
        /// A token file, read again when it changes (service-account tokens are rotated by the kubelet).
        case tokenFile(String)
        /// Client certificate and key are in `tls`.
        case clientCertificate
    }

    public init(server: String, tls: TLSSettings = TLSSettings(), credentials: Credentials = .none, namespace: String = "default",
                rateLimit: RateLimit? = nil, requestTimeout: Duration = .seconds(60), maxRetries: Int = 10,
                userAgent: String = "conductor/0.1") {
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
        self.tls = tls
        self.credentials = credentials
        self.namespace = namespace
        self.rateLimit = rateLimit
        self.requestTimeout = requestTimeout
        self.maxRetries = maxRetries
        self.userAgent = userAgent
    }
}

public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public var source: String
    public var message: String
    public var description: String { "\(source): \(message)" }
}

extension ClientConfig {
    /// The kubeconfig at `path`, or `$KUBECONFIG` (first file), or `~/.kube/config`; `context` overrides
    /// the current context.
    public static func kubeconfig(path: String? = nil, context: String? = nil) throws -> ClientConfig {
        let environment = ProcessInfo.processInfo.environment
        let resolved = path
            ?? environment["KUBECONFIG"].flatMap { $0.split(separator: ":").first.map(String.init) }
            ?? (NSHomeDirectory() + "/.kube/config")
        let text: String
        do {
            text = try String(contentsOfFile: resolved, encoding: .utf8)
        } catch {
            throw ConfigError(source: resolved, message: "cannot read the kubeconfig: \(error.localizedDescription)")
        }
        return try parseKubeconfig(text, source: resolved, context: context)
    }

    static func parseKubeconfig(_ text: String, source: String, context contextOverride: String?) throws -> ClientConfig {
        let file: KubeconfigFile
        do {
            file = try YAMLDecoder().decode(KubeconfigFile.self, from: text)
        } catch {
            throw ConfigError(source: source, message: "not a valid kubeconfig: \(error)")
        }
        let directory = (source as NSString).deletingLastPathComponent
        func readFile(_ path: String, what: String) throws -> [UInt8] {
            let full = path.hasPrefix("/") ? path : directory + "/" + path
            guard let data = FileManager.default.contents(atPath: full) else {
                throw ConfigError(source: source, message: "cannot read the \(what) file \(full)")
            }
            return Array(data)
        }
        func decodeBase64(_ text: String, what: String) throws -> [UInt8] {
            guard let data = Data(base64Encoded: text, options: .ignoreUnknownCharacters) else {
                throw ConfigError(source: source, message: "\(what) is not valid base64")
            }
            return Array(data)
        }

        guard let contextName = contextOverride ?? file.currentContext, !contextName.isEmpty else {
            throw ConfigError(source: source, message: "no current-context is set and none was given")
        }
        guard let context = file.contexts?.first(where: { $0.name == contextName })?.context else {
            throw ConfigError(source: source, message: "context \"\(contextName)\" does not exist")
        }
        guard let cluster = file.clusters?.first(where: { $0.name == context.cluster })?.cluster else {
            throw ConfigError(source: source, message: "cluster \"\(context.cluster)\" of context \"\(contextName)\" does not exist")
        }
        let user = context.user.flatMap { name in file.users?.first(where: { $0.name == name })?.user }

        var tls = TLSSettings(insecureSkipVerify: cluster.insecureSkipTLSVerify ?? false)
        if let data = cluster.certificateAuthorityData {
            tls.caPEM = try decodeBase64(data, what: "certificate-authority-data")
        } else if let path = cluster.certificateAuthority {
            tls.caPEM = try readFile(path, what: "certificate-authority")
        }
        var credentials = Credentials.none
        if let user {
            if let data = user.clientCertificateData {
                tls.clientCertificatePEM = try decodeBase64(data, what: "client-certificate-data")
            } else if let path = user.clientCertificate {
                tls.clientCertificatePEM = try readFile(path, what: "client-certificate")
            }
            if let data = user.clientKeyData {
                tls.clientKeyPEM = try decodeBase64(data, what: "client-key-data")
            } else if let path = user.clientKey {
                tls.clientKeyPEM = try readFile(path, what: "client-key")
            }
            if (tls.clientCertificatePEM == nil) != (tls.clientKeyPEM == nil) {
                throw ConfigError(source: source, message: "user \"\(context.user ?? "")\" has a client certificate without a key, or a key without a certificate")
            }
            if let token = user.token {
                credentials = .bearerToken(token)
            } else if let tokenFile = user.tokenFile {
                credentials = .tokenFile(tokenFile.hasPrefix("/") ? tokenFile : directory + "/" + tokenFile)
            } else if tls.clientCertificatePEM != nil {
                credentials = .clientCertificate
            }
        }
        guard cluster.server.hasPrefix("https://") || cluster.server.hasPrefix("http://") else {
            throw ConfigError(source: source, message: "cluster server \"\(cluster.server)\" is not an http(s) URL")
        }
        return ClientConfig(server: cluster.server, tls: tls, credentials: credentials, namespace: context.namespace ?? "default")
    }

    /// What client-go's clientcmd picks for a process that may run in a pod or beside a cluster: the explicit
    /// kubeconfig, else `$KUBECONFIG`, else the pod's service account (`KUBERNETES_SERVICE_HOST` is set in a pod),
    /// else `~/.kube/config`.
    public static func standard(kubeconfig: String?, context: String?) throws -> ClientConfig {
        let environment = ProcessInfo.processInfo.environment
        if kubeconfig != nil || environment["KUBECONFIG"] != nil {
            return try .kubeconfig(path: kubeconfig, context: context)
        }
        if environment["KUBERNETES_SERVICE_HOST"] != nil {
            return try .inCluster()
        }
        return try .kubeconfig(path: nil, context: context)
    }

    /// The pod's service account, as client-go's `rest.InClusterConfig` reads it.
    public static func inCluster(
        serviceAccountDirectory: String = "/var/run/secrets/kubernetes.io/serviceaccount",
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> ClientConfig {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], let port = environment["KUBERNETES_SERVICE_PORT"],
              !host.isEmpty, !port.isEmpty else {
            throw ConfigError(source: "in-cluster", message: "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set (not running in a pod?)")
        }
        let tokenPath = serviceAccountDirectory + "/token"
        guard FileManager.default.isReadableFile(atPath: tokenPath) else {
            throw ConfigError(source: "in-cluster", message: "cannot read the service-account token \(tokenPath)")
        }
        guard let ca = FileManager.default.contents(atPath: serviceAccountDirectory + "/ca.crt") else {
            throw ConfigError(source: "in-cluster", message: "cannot read the service-account CA \(serviceAccountDirectory)/ca.crt")
        }
        let namespace = (try? String(contentsOfFile: serviceAccountDirectory + "/namespace", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let hostPart = host.contains(":") ? "[\(host)]" : host  // IPv6
        return ClientConfig(server: "https://\(hostPart):\(port)", tls: TLSSettings(caPEM: Array(ca)),
                            credentials: .tokenFile(tokenPath), namespace: namespace ?? "default")
    }
}

/// The parts of a kubeconfig we read (client-go's clientcmd/api/v1 names).
private struct KubeconfigFile: Decodable {
    struct NamedCluster: Decodable { var name: String; var cluster: Cluster }
    struct Cluster: Decodable {
        var server: String
        var certificateAuthorityData: String?
        var certificateAuthority: String?
        var insecureSkipTLSVerify: Bool?
        enum CodingKeys: String, CodingKey {
            case server
            case certificateAuthorityData = "certificate-authority-data"
            case certificateAuthority = "certificate-authority"
            case insecureSkipTLSVerify = "insecure-skip-tls-verify"
        }
    }
    struct NamedUser: Decodable { var name: String; var user: User }
    struct User: Decodable {
        var token: String?
        var tokenFile: String?
        var clientCertificateData: String?
        var clientKeyData: String?
        var clientCertificate: String?
        var clientKey: String?
        enum CodingKeys: String, CodingKey {
            case token, tokenFile
            case clientCertificateData = "client-certificate-data"
            case clientKeyData = "client-key-data"
            case clientCertificate = "client-certificate"
            case clientKey = "client-key"
        }
    }
    struct NamedContext: Decodable { var name: String; var context: Context }
    struct Context: Decodable { var cluster: String; var user: String?; var namespace: String? }

    var clusters: [NamedCluster]?
    var users: [NamedUser]?
    var contexts: [NamedContext]?
    var currentContext: String?

    enum CodingKeys: String, CodingKey {
        case clusters, users, contexts
        case currentContext = "current-context"
    }
}

/// The bearer token to send, read again from its file once a minute and whenever the server answered 401,
/// so that a rotated service-account token is picked up (as client-go's cached token source does).
final class TokenProvider: Sendable {
    private struct Cached { var token: String?; var readAt: ContinuousClock.Instant? }
    private let credentials: ClientConfig.Credentials
    private let cache = Mutex(Cached(token: nil, readAt: nil))
    private static let rereadInterval: Duration = .seconds(60)

    init(_ credentials: ClientConfig.Credentials) {
        self.credentials = credentials
    }

    func token(forceReload: Bool = false) -> String? {
        switch credentials {
        case .none, .clientCertificate:
            return nil
        case .bearerToken(let token):
            return token
        case .tokenFile(let path):
            let now = ContinuousClock.now
            return cache.withLock { cached in
                if !forceReload, let token = cached.token, let readAt = cached.readAt, now - readAt < Self.rereadInterval {
                    return token
                }
                if let text = try? String(contentsOfFile: path, encoding: .utf8) {
                    cached.token = text.trimmingCharacters(in: .whitespacesAndNewlines)
                    cached.readAt = now
                }
                return cached.token  // a failed read keeps the last good token
            }
        }
    }
}
