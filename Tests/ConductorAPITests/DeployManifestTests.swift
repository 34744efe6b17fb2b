import ConductorAPI
import ConductorTestSupport
import Foundation
import KubeJSON
import Testing
import Yams

/// Every manifest under deploy/ parses, and names what the code names (namespace, accounts, lease, ports).
@Suite struct DeployManifests {
    @Test func everyYAMLFileUnderDeployParsesIntoObjectsWithKindAndAPIVersion() throws {
        let files = try Self.manifestFiles()
        #expect(files.count >= 9, "found \(files)")
        for file in files {
            let documents = try Self.documents(file)
            #expect(!documents.isEmpty, "\(file) holds no object")
            for (index, document) in documents.enumerated() {
                let place = "\(file), document \(index + 1)"
                #expect(document["apiVersion"]?.string?.isEmpty == false, "\(place) has no apiVersion")
                #expect(document["kind"]?.string?.isEmpty == false, "\(place) has no kind")
                #expect(document[path: ["metadata", "name"]]?.string?.isEmpty == false, "\(place) has no metadata.name")
            }
        }
    }

    @Test func theControllerDeploymentRunsLeaderElectedReplicasWithProbesAndARestrictedContext() throws {
        let deployment = try #require(try Self.object(kind: "Deployment", in: "deploy/controller/deployment.yaml"))
        #expect(deployment[path: ["metadata", "namespace"]]?.string == Installation.systemNamespace)
        #expect(deployment[path: ["spec", "replicas"]]?.int == 2)
        let pod = try #require(deployment[path: ["spec", "template", "spec"]])
        #expect(pod["serviceAccountName"]?.string == Installation.controllerServiceAccount)
        let container = try #require(pod["containers"]?.array?.first)
        let args = container["args"]?.array?.compactMap(\.string) ?? []
        #expect(args.first == "run")
        for expected in ["--leader-elect", "--leader-election-namespace=\(Installation.systemNamespace)",
                         "--leader-election-lease=\(Installation.leaderElectionLeaseName)",
                         "--health-port=\(Installation.healthPort)"] {
            #expect(args.contains(expected), "args \(args) lack \(expected)")
        }
        let ports = (container["ports"]?.array ?? []).reduce(into: [String: Int64]()) { $0[$1["name"]?.string ?? ""] = $1["containerPort"]?.int }
        #expect(ports == ["mcp": Int64(Installation.mcpPort), "metrics": Int64(Installation.healthPort)])
        #expect(container[path: ["livenessProbe", "httpGet", "path"]]?.string == "/healthz")
        #expect(container[path: ["readinessProbe", "httpGet", "path"]]?.string == "/readyz")
        #expect(container[path: ["livenessProbe", "httpGet", "port"]]?.string == "metrics")
        #expect(container[path: ["resources", "requests", "memory"]] != nil && container[path: ["resources", "limits", "memory"]] != nil)
        #expect(container[path: ["securityContext", "readOnlyRootFilesystem"]]?.bool == true)
        #expect(container[path: ["securityContext", "allowPrivilegeEscalation"]]?.bool == false)
        #expect(pod[path: ["securityContext", "runAsNonRoot"]]?.bool == true)

        let services = try Self.documents("deploy/controller/service.yaml")
        let servicePorts = services.flatMap { $0[path: ["spec", "ports"]]?.array ?? [] }.compactMap { $0["port"]?.int }
        #expect(Set(servicePorts) == [Int64(Installation.mcpPort), Int64(Installation.healthPort)])
        let namespace = try #require(try Self.object(kind: "Namespace", in: "deploy/controller/namespace.yaml"))
        #expect(namespace[path: ["metadata", "name"]]?.string == Installation.systemNamespace)
    }

    @Test func theRolesGrantNamedVerbsOnlyAndTheLeaderLeaseByName() throws {
        let controller = try Self.documents("deploy/rbac/controller.yaml")
        let agent = try Self.documents("deploy/rbac/agent.yaml")
        let accounts = (controller + agent).filter { $0["kind"]?.string == "ServiceAccount" }
        #expect(Set(accounts.compactMap { $0[path: ["metadata", "name"]]?.string })
            == [Installation.controllerServiceAccount, Installation.agentServiceAccount])
        #expect(accounts.allSatisfy { $0[path: ["metadata", "namespace"]]?.string == Installation.systemNamespace })

        let rules = { (documents: [JSON]) in
            documents.filter { ["Role", "ClusterRole"].contains($0["kind"]?.string) }.flatMap { $0["rules"]?.array ?? [] }
        }
        for rule in rules(controller) + rules(agent) {
            let verbs = rule["verbs"]?.array?.compactMap(\.string) ?? []
            let resources = rule["resources"]?.array?.compactMap(\.string) ?? []
            #expect(!verbs.contains("*") && !resources.contains("*"), "a wildcard in \(rule)")
            // Only a drained agent deletes: its own Agent and heartbeat Lease (the admission policy holds it to
            // its own); and the controller, finished tasks past their retention.
            let agentMayDelete = agent.contains { $0["rules"]?.array?.contains(rule) == true } && Set(resources).isSubset(of: ["agents", "leases"])
            let controllerMayDelete = controller.contains { $0["rules"]?.array?.contains(rule) == true } && resources == ["tasks"]
            #expect(!verbs.contains("delete") || agentMayDelete || controllerMayDelete, "nothing else deletes: \(rule)")
        }
        let leaderRule = rules(controller).first { $0["resourceNames"] != nil }
        #expect(leaderRule?["resourceNames"]?.array?.compactMap(\.string) == [Installation.leaderElectionLeaseName])
        // An agent writes task status, never a task's spec.
        let agentTaskVerbs = rules(agent).filter { $0["resources"]?.array?.contains("tasks") == true }.flatMap { $0["verbs"]?.array ?? [] }
        #expect(Set(agentTaskVerbs.compactMap(\.string)) == ["get", "list", "watch"])
    }

    @Test func theAdmissionPolicyAppliesToTheAgentsServiceAccount() throws {
        let policies = try Self.documents("deploy/admission/agent-fencing.yaml").filter { $0["kind"]?.string == "ValidatingAdmissionPolicy" }
        #expect(policies.count == 2)
        let account = "system:serviceaccount:\(Installation.systemNamespace):\(Installation.agentServiceAccount)"
        for policy in policies {
            let conditions = policy[path: ["spec", "matchConditions"]]?.array?.compactMap { $0["expression"]?.string } ?? []
            #expect(conditions.contains { $0.contains(account) }, "\(conditions)")
        }
    }

    static func manifestFiles() throws -> [String] {
        let deploy = repositoryRoot.appendingPathComponent("deploy")
        guard let enumerator = FileManager.default.enumerator(atPath: deploy.path) else { throw TestFailure("no deploy folder") }
        return enumerator.compactMap { $0 as? String }.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
            .filter { !isKustomizeInput($0) }
            .map { "deploy/" + $0 }.sorted()
    }

    /// kustomize's own files and what its generators read, which are not objects: a kustomization, and an
    /// agent pool's configuration (agents/<pool>/agent.yaml, checked by conductor agent in Tests/e2e/test_agent.py).
    static func isKustomizeInput(_ path: String) -> Bool {
        let parts = path.split(separator: "/")
        return parts.last == "kustomization.yaml" || (parts.count == 3 && parts[0] == "agents" && parts[2] == "agent.yaml")
    }

    /// Each document of a (multi-document) YAML file, as JSON.
    static func documents(_ file: String) throws -> [JSON] {
        var sequence = try Yams.load_all(yaml: try Fixtures.manifest(file))
        var documents: [JSON] = []
        while let document = sequence.next() {
            documents.append(try JSON.parse(Array(try JSONSerialization.data(withJSONObject: document))))
        }
        // The sequence ends at a parse error and keeps it, rather than throwing.
        if let error = sequence.error { throw TestFailure("\(file) does not parse: \(error)") }
        return documents
    }

    static func object(kind: String, in file: String) throws -> JSON? {
        try documents(file).first { $0["kind"]?.string == kind }
    }
}
