import ConductorAPI
import Foundation
import KubeClient
import KubeJSON
import Yams

/// `conductor dev` runs its parts as a cluster runs them: the controller and the MCP front end as the
/// `mcp-controller` service account, the example agents as `mcp-agent`, each bound to the roles of
/// `deploy/rbac` by the local server's RBAC, so that every run proves those roles are enough. The admin
/// (the kubeconfig's user) installs the roles and issues the accounts' tokens into files that the parts read
/// again as they are replaced.
struct DevAccounts: Sendable {
    /// The admin's client, which installs and issues.
    let client: KubeClient
    /// The repository's deploy/rbac.
    let rbacFolder: String
    /// Where the token files and the agents' kubeconfig go: `<data-dir>/accounts`.
    let directory: String

    /// A token lives a day and is issued again every six hours, so a part never holds an expired one.
    static let tokenLifetime: Duration = .seconds(24 * 3600)
    static let reissueInterval: Duration = .seconds(6 * 3600)
    /// The namespace the MCP front end creates tasks in, where dev's agents are allowed to read them.
    static let taskNamespace = "default"

    static func tokenFile(of account: String, in directory: String) -> String { "\(directory)/\(account).token" }

    /// Applies every object of deploy/rbac (server-side apply, so a newer role replaces an older data
    /// directory's), and binds the agents' tasks role in the task namespace, as a pool does.
    func installRoles() async throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: rbacFolder).filter { $0.hasSuffix(".yaml") }.sorted()
        for file in files {
            let text = try String(contentsOfFile: rbacFolder + "/" + file, encoding: .utf8)
            for document in try Yams.load_all(yaml: text) {
                guard let object = document as? [String: Any] else { continue }
                try await apply(object, what: "\(file)")
            }
        }
        try await apply([
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": ["name": "mcp-conductor-agent-tasks", "namespace": Self.taskNamespace],
            "roleRef": ["apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "mcp-conductor-agent-tasks"],
            "subjects": [["kind": "ServiceAccount", "name": Installation.agentServiceAccount, "namespace": Installation.systemNamespace]],
        ], what: "the agents' tasks binding in \(Self.taskNamespace)")
    }

    /// Issues a token for each account (TokenRequest) and writes it to its file, replacing the last one.
    func issueTokens() async throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        for account in [Installation.controllerServiceAccount, Installation.agentServiceAccount] {
            let tokenRequest: JSON = [
                "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                "spec": ["expirationSeconds": .int(Self.tokenLifetime.components.seconds)],
            ]
            let request = KubeClient.Request(
                method: "POST", path: "/api/v1/namespaces/\(Installation.systemNamespace)/serviceaccounts/\(account)/token",
                body: tokenRequest.serialized(), contentType: "application/json")
            guard let token = try JSON.parse(try await client.perform(request).body)[path: ["status", "token"]]?.string else {
                throw DevInstallError(what: "a token for \(account)", message: "the TokenRequest's answer has no status.token")
            }
            let path = Self.tokenFile(of: account, in: directory)
            let temporary = path + ".new"
            guard FileManager.default.createFile(atPath: temporary, contents: Data(token.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw DevInstallError(what: "a token for \(account)", message: "cannot write \(temporary)")
            }
            // Renamed into place, so a reader never sees half a token.
            guard rename(temporary, path) == 0 else {
                throw DevInstallError(what: "a token for \(account)", message: "cannot rename \(temporary): \(String(cString: strerror(errno)))")
            }
        }
    }

    private func apply(_ object: [String: Any], what: String) async throws {
        guard let kind = object["kind"] as? String, let metadata = object["metadata"] as? [String: Any],
              let name = metadata["name"] as? String, let collection = Self.collections[kind]
        else { throw DevInstallError(what: what, message: "not an object dev knows how to install: \(object["kind"] ?? "no kind")") }
        let namespace = metadata["namespace"] as? String
        var path = collection.group.isEmpty ? "/api/v1" : "/apis/\(collection.group)/v1"
        if let namespace { path += "/namespaces/\(namespace)" }
        path += "/\(collection.plural)/\(name)"
        // As the YAML it was read from: the server reads apply patches in YAML (as kubectl apply sends them).
        let body = try Yams.dump(object: object)
        do {
            _ = try await client.perform(KubeClient.Request(
                method: "PATCH", path: path, query: [("fieldManager", "conductor-dev"), ("force", "true")], body: Array(body.utf8),
                contentType: "application/apply-patch+yaml"))
        } catch let error as KubeAPIError {
            throw DevInstallError(what: "\(kind) \(name) of \(what)", message: "\(error)")
        }
    }

    /// The kinds deploy/rbac holds, and where they are served.
    private static let collections: [String: (group: String, plural: String)] = [
        "ServiceAccount": ("", "serviceaccounts"),
        "ClusterRole": ("rbac.authorization.k8s.io", "clusterroles"),
        "ClusterRoleBinding": ("rbac.authorization.k8s.io", "clusterrolebindings"),
        "Role": ("rbac.authorization.k8s.io", "roles"),
        "RoleBinding": ("rbac.authorization.k8s.io", "rolebindings"),
    ]
}
