import KubeJSON

extension APIServer {
    /// The namespaces a real cluster always has (kube-apiserver's system-namespaces controller makes them):
    /// clients and manifests expect `default` without creating it.
    public static let systemNamespaces = ["default", "kube-system", "kube-public", "kube-node-lease"]

    /// Creates the system namespaces that do not exist yet, through the ordinary create path.
    public func ensureSystemNamespaces() async {
        for name in Self.systemNamespaces {
            let body: JSON = ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": .string(name)]]
            let request = APIRequest(method: "POST", path: "/api/v1/namespaces", query: [:], accept: "application/json",
                                     contentType: "application/json", userAgent: "conductor-bootstrap", body: body.serialized())
            let response = await handle(request)
            if response.status != 201 && response.status != 409 {
                logger.error("could not create a system namespace", metadata: ["namespace": "\(name)", "status": "\(response.status)"])
            }
        }
    }
}
