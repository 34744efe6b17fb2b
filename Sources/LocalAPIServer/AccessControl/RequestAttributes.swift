/// What authorization decides on, as kube-apiserver's authorizer.Attributes: a resource request
/// (verb, API group, resource, subresource, namespace, name) or a non-resource one (verb, path).
public struct RequestAttributes: Sendable, Equatable {
    public var user: UserInfo
    public var verb: String
    public var isResourceRequest: Bool
    public var path: String = ""
    public var apiGroup: String = ""
    public var apiVersion: String = ""
    public var resource: String = ""
    public var subresource: String = ""
    public var namespace: String = ""
    public var name: String = ""

    public init(user: UserInfo, verb: String, isResourceRequest: Bool, path: String = "", apiGroup: String = "",
                apiVersion: String = "", resource: String = "", subresource: String = "", namespace: String = "",
                name: String = "")
    {
        self.user = user
        self.verb = verb
        self.isResourceRequest = isResourceRequest
        self.path = path
        self.apiGroup = apiGroup
        self.apiVersion = apiVersion
        self.resource = resource
        self.subresource = subresource
        self.namespace = namespace
        self.name = name
    }

    /// Namespace subresources that keep the request on the namespace itself (`/api/v1/namespaces/NS/status`).
    static let namespaceSubresources: Set<String> = ["status", "finalize"]

    /// Reads a request as kube-apiserver's RequestInfoFactory does: `/api/v1/...` and `/apis/GROUP/VERSION/...`
    /// below the version are resource requests; everything else (discovery, /version, /metrics) is not.
    /// The verb comes from the method, and a GET or DELETE without a name is a list, watch or deletecollection.
    public init(method: String, path: String, query: [String: String], user: UserInfo) {
        self.user = user
        self.path = path
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        let methodVerb: String
        switch method {
        case "POST": methodVerb = "create"
        case "GET", "HEAD": methodVerb = "get"
        case "PUT": methodVerb = "update"
        case "PATCH": methodVerb = "patch"
        case "DELETE": methodVerb = "delete"
        default: methodVerb = ""
        }
        var rest: ArraySlice<String>
        if parts.first == "api", parts.count >= 3 {
            apiVersion = parts[1]
            rest = parts[2...]
        } else if parts.first == "apis", parts.count >= 4 {
            apiGroup = parts[1]
            apiVersion = parts[2]
            rest = parts[3...]
        } else {
            isResourceRequest = false
            verb = method.lowercased()
            return
        }
        isResourceRequest = true
        verb = methodVerb
        if rest.first == "namespaces" {
            if rest.count > 1 {
                namespace = rest[rest.startIndex + 1]
                if rest.count > 2, !Self.namespaceSubresources.contains(rest[rest.startIndex + 2]) {
                    rest = rest.dropFirst(2)
                }
            }
        }
        let items = Array(rest)
        resource = items.first ?? ""
        if items.count >= 2 { name = items[1] }
        if items.count >= 3 { subresource = items[2] }
        if name.isEmpty, verb == "get" {
            let watch = query["watch"].map { $0 == "true" || $0 == "1" } ?? false
            verb = watch ? "watch" : "list"
            // A list or watch of one name by field selector is authorized as that name, as the real server does.
            if let selector = query["fieldSelector"] {
                for term in selector.split(separator: ",") where term.hasPrefix("metadata.name=") {
                    var value = term.dropFirst("metadata.name=".count)
                    if value.hasPrefix("=") { value = value.dropFirst() }
                    if !value.isEmpty, !value.contains("/"), value != ".", value != ".." { name = String(value) }
                }
            }
        }
        if name.isEmpty, verb == "delete" { verb = "deletecollection" }
    }
}
