import HTTPTypes
import Hummingbird
import KubeJSON

/// RFC 9728 protected resource metadata, for clients that log in with OAuth: it names the authorization
/// server (`--mcp-oauth-issuer`, typically the cluster's OIDC issuer, whose tokens the TokenReview then
/// accepts). Served at `/.well-known/oauth-protected-resource` and at its form with the MCP path appended,
/// the two places the MCP specification has clients look.
struct ProtectedResourceMetadata: Sendable {
    static let path = "/.well-known/oauth-protected-resource"
    let issuer: String

    func register(on router: Router<ConnectionRequestContext>) {
        for path in [Self.path, Self.path + MCPHTTPEndpoint.path] {
            router.get(RouterPath(path)) { request, _ in
                Response(status: .ok, headers: [.contentType: "application/json"],
                         body: ResponseBody(byteBuffer: ByteBuffer(bytes: document(for: request).serialized())))
            }
        }
    }

    func document(for request: Request) -> JSON {
        [
            "resource": .string(Self.origin(of: request) + MCPHTTPEndpoint.path),
            "authorization_servers": [.string(issuer)],
            "bearer_methods_supported": ["header"],
            "resource_name": "MCP Conductor",
        ]
    }

    /// The URL clients reached: the forwarded scheme and host when a proxy says, else this request's.
    static func origin(of request: Request) -> String {
        let scheme = request.headers[HTTPField.Name("X-Forwarded-Proto")!] ?? request.head.scheme ?? "http"
        let host = request.headers[HTTPField.Name("X-Forwarded-Host")!] ?? request.head.authority ?? "localhost"
        return "\(scheme)://\(host)"
    }
}
