import ConductorAPI
import Foundation
import KubeClient
import Logging
import ServiceLifecycle

/// `conductor dev`'s set-up on its own API server, once it answers: the project's CRDs (applied as YAML, as
/// `kubectl apply -f deploy/crds` would create them; what exists is left as is), the mcp-system namespace, and
/// the parts' service accounts with their roles and tokens (`DevAccounts`). Then it issues the tokens again
/// before they expire, until shutdown.
struct DevInstall: Service {
    let client: KubeClient
    let crdFolder: String
    let accounts: DevAccounts
    let logger: Logger
    /// Opened once installed: what needs the CRDs and the accounts' tokens starts then.
    var installed: StartGate? = nil

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            try await install()
            try await accounts.installRoles()
            try await accounts.issueTokens()
            logger.info("installed the CRDs, the \(Installation.systemNamespace) namespace and the parts' service accounts", metadata: [
                "controller": "\(Installation.controllerServiceAccount)", "agents": "\(Installation.agentServiceAccount)",
            ])
            installed?.open()
            while !Task.isCancelled {
                do { try await Task.sleep(for: DevAccounts.reissueInterval) } catch { break }
                do {
                    try await accounts.issueTokens()
                } catch {
                    logger.warning("issuing the parts' tokens again failed; the current ones last a day", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    private func install() async throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: crdFolder).filter { $0.hasSuffix(".yaml") }.sorted()
        for file in files {
            let yaml = try String(contentsOfFile: crdFolder + "/" + file, encoding: .utf8)
            try await createOnceServing(path: "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", yaml: yaml, what: file)
        }
        try await createOnceServing(path: "/api/v1/namespaces", yaml: "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: \(Installation.systemNamespace)\n",
                                    what: "namespace \(Installation.systemNamespace)")
    }

    /// Creates the object, retrying while the server is still starting; AlreadyExists counts as done.
    private func createOnceServing(path: String, yaml: String, what: String) async throws {
        var delay: Duration = .milliseconds(50)
        while true {
            do {
                _ = try await client.perform(KubeClient.Request(method: "POST", path: path, body: Array(yaml.utf8), contentType: "application/yaml"))
                return
            } catch let error as KubeAPIError where error.reason == .alreadyExists {
                return
            } catch let error as KubeAPIError {
                throw DevInstallError(what: what, message: "\(error)")
            } catch {
                // Not answering yet (the server binds its port as this starts).
                guard delay < .seconds(5) else { throw DevInstallError(what: what, message: "the API server did not answer: \(error)") }
                try await Task.sleep(for: delay)
                delay *= 2
            }
        }
    }
}

struct DevInstallError: Error, CustomStringConvertible {
    var what: String
    var message: String
    var description: String { "installing \(what): \(message)" }
}
