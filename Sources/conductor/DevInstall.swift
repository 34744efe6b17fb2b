import ConductorAPI
import Foundation
import KubeClient
import Logging
import ServiceLifecycle
import Yams

/// `conductor dev`'s set-up on its own API server, once it answers: the project's CRDs (created, or brought up to
/// date with a server-side apply when a data directory of an older version holds them, so that new fields are
/// not pruned), the mcp-system namespace, and
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
            let collection = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
            guard try await createOnceServing(path: collection, yaml: yaml, what: file) == .existed else { continue }
            guard let name = (try? Yams.load(yaml: yaml) as? [String: Any])?["metadata"].flatMap({ ($0 as? [String: Any])?["name"] as? String }) else {
                throw DevInstallError(what: file, message: "the CRD has no metadata.name")
            }
            do {
                _ = try await client.perform(KubeClient.Request(
                    method: "PATCH", path: "\(collection)/\(name)",
                    query: [("fieldManager", "conductor-dev"), ("force", "true")], body: Array(yaml.utf8),
                    contentType: "application/apply-patch+yaml"))
            } catch {
                throw DevInstallError(what: file, message: "bringing the existing CRD up to date: \(error)")
            }
        }
        try await createOnceServing(path: "/api/v1/namespaces", yaml: "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: \(Installation.systemNamespace)\n",
                                    what: "namespace \(Installation.systemNamespace)")
    }

    enum Creation { case created, existed }

    /// Creates the object, retrying while the server is still starting; AlreadyExists counts as done.
    @discardableResult
    private func createOnceServing(path: String, yaml: String, what: String) async throws -> Creation {
        var delay: Duration = .milliseconds(50)
        while true {
            do {
                _ = try await client.perform(KubeClient.Request(method: "POST", path: path, body: Array(yaml.utf8), contentType: "application/yaml"))
                return .created
            } catch let error as KubeAPIError where error.reason == .alreadyExists {
                return .existed
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
