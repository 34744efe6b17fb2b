import ArgumentParser
import ConductorAPI
import ConductorController
import Foundation
import KubeClient
import LocalAPIServer
import Logging
import ServiceLifecycle

@main
struct Conductor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conductor",
        abstract: "MCP Conductor: MCP tool calls as Kubernetes Tasks, dispatched to Agent pods.",
        subcommands: [RunCommand.self, DevCommand.self, APIServerCommand.self, AgentCommand.self, MCPCommand.self])

    static func main() async {
        AllocatorTuning.apply()
        await main(nil)
    }
}

/// Options of the local API server, shared by `apiserver` and `dev`.
struct APIServerOptions: ParsableArguments {
    @Option(help: "Where the server keeps its data, certificates, token file and admin kubeconfig.")
    var dataDir: String = "conductor-data"

    @Option(help: "The HTTPS port.")
    var port: Int = 6443

    @Option(help: "The address to listen on.")
    var bind: String = "127.0.0.1"

    @Flag(help: "fdatasync every write, so that a power cut loses nothing answered (a process crash never does).")
    var fsync = false

    @Option(help: "Requests served at once (watches not counted); beyond it the answer is 429 with Retry-After, as kube-apiserver's flag of the same name. 0: no limit.")
    var maxRequestsInflight: Int = 400

    @Option(help: "Log format: text or json.")
    var logFormat: LogFormat = .text

    @Option(help: "How requests are authorized: RBAC (roles and bindings, as a cluster) or AlwaysAllow (any authenticated request).")
    var authorizationMode: AuthorizationMode = .rbac

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be between 1 and 65535, got \(port)") }
    }
}

enum LogFormat: String, ExpressibleByArgument { case text, json }

extension AuthorizationMode: ExpressibleByArgument {}

/// The local API server as services, and the admin kubeconfig it writes.
func makeAPIServer(_ options: APIServerOptions, logger: Logger) async throws -> (services: [any Service], kubeconfig: String) {
    let dataDir = URL(fileURLWithPath: options.dataDir).standardizedFileURL.path
    let certificates = try ServingCertificates.loadOrCreate(in: dataDir + "/pki")
    let tokens = try TokenFile.loadOrCreate(at: dataDir + "/tokens.csv")
    let host = options.bind == "0.0.0.0" ? "127.0.0.1" : options.bind
    let kubeconfig = dataDir + "/kubeconfig"
    try AdminKubeconfig.write(
        to: kubeconfig, server: "https://\(host):\(options.port)", caPEM: certificates.caPEM, token: tokens.firstToken ?? "")
    let store = try ObjectStore(directory: dataDir + "/store", syncEachWrite: options.fsync, logger: logger)
    let accessControl = AccessControl(
        staticTokens: tokens.users, serviceAccountTokens: try ServiceAccountTokens.loadOrCreate(at: dataDir + "/pki/service-account.key"),
        mode: options.authorizationMode)
    let api = APIServer(store: store, logger: logger, accessControl: accessControl)
    await api.ensureSystemNamespaces()
    await api.ensureDefaultRoles()
    let server = HTTPServer(
        api: api,
        configuration: {
            var configuration = HTTPServer.Configuration(bind: options.bind, port: options.port, certificates: certificates)
            configuration.maxRequestsInFlight = options.maxRequestsInflight
            return configuration
        }(),
        logger: logger)
    let application = try server.application { _ in
        logger.info("serving", metadata: [
            "address": "https://\(host):\(options.port)", "kubeconfig": "\(kubeconfig)",
            "revision": "\(store.currentRevision)",
        ])
    }
    // Services shut down in reverse order: the watches end before the HTTP server drains (see WatchShutdown).
    return ([application, WatchShutdown(store: store)], kubeconfig)
}

struct APIServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apiserver", abstract: "Run the local Kubernetes-compatible API server alone.")

    @OptionGroup var options: APIServerOptions

    func run() async throws {
        bootstrapLogging(options.logFormat)
        let logger = Logger(label: "conductor.apiserver")
        try await runServices(try await makeAPIServer(options, logger: logger).services, logger: logger)
        logger.info("stopped")
    }
}

struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Everything on one machine: the local API server with the CRDs, the mcp-system namespace and the parts' service accounts installed, the controller leading alone and the MCP front end, both as the controller's service account.")

    @OptionGroup var options: APIServerOptions

    @Option(help: "The folder of the CRDs to install (the repository's deploy/crds).")
    var crds: String = "deploy/crds"

    @Option(help: "The folder of the service accounts and roles the parts run under (the repository's deploy/rbac).")
    var rbac: String = "deploy/rbac"

    @OptionGroup var controller: ControllerOptions
    @OptionGroup var mcp: MCPOptions

    func validate() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: crds, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("--crds \(crds) is not a folder: run from the repository's root, or point --crds at deploy/crds")
        }
        guard FileManager.default.fileExists(atPath: rbac, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("--rbac \(rbac) is not a folder: run from the repository's root, or point --rbac at deploy/rbac")
        }
    }

    func run() async throws {
        bootstrapLogging(options.logFormat)
        let logger = Logger(label: "conductor.dev")
        // Before anything starts, so that a taken port is named with its flag.
        try PortCheck.ensureFree(host: options.bind, port: options.port, flag: "--port", what: "the API server's")
        try PortCheck.ensureFree(host: controller.healthBind ?? "127.0.0.1", port: controller.healthPort, flag: "--health-port",
                                 what: "the operations endpoints'")
        try PortCheck.ensureFree(host: mcp.mcpBind ?? "127.0.0.1", port: mcp.mcpPort ?? Installation.mcpPort, flag: "--mcp-port",
                                 what: "the MCP front end's")
        let registry = bootstrapMetrics()
        let (apiServer, kubeconfig) = try await makeAPIServer(options, logger: Logger(label: "conductor.apiserver"))
        let dataDir = URL(fileURLWithPath: options.dataDir).standardizedFileURL.path
        let admin = try ClientConfig.kubeconfig(path: kubeconfig)
        let client = try KubeClient(config: admin, logger: Logger(label: "conductor.kube"))
        // The controller and the front end run as the controller's service account, the example agents (make dev)
        // as the agents': each with the token DevInstall issues into its file, under the roles of deploy/rbac.
        let accounts = DevAccounts(client: client, rbacFolder: rbac, directory: dataDir + "/accounts")
        var controllerConfig = admin
        controllerConfig.credentials = .tokenFile(DevAccounts.tokenFile(of: Installation.controllerServiceAccount, in: accounts.directory))
        let controllerClient = try KubeClient(config: controllerConfig, logger: Logger(label: "conductor.kube"))
        try AdminKubeconfig.write(
            to: dataDir + "/agent-kubeconfig", server: admin.server, caPEM: try ServingCertificates.loadOrCreate(in: dataDir + "/pki").caPEM,
            user: Installation.agentServiceAccount, credential: .tokenFile("accounts/\(Installation.agentServiceAccount).token"))
        let (services, running) = try controllerServices(client: controllerClient, options: controller, healthBind: controller.healthBind ?? "127.0.0.1",
                                                         leaderElection: nil, registry: registry, logger: Logger(label: "conductor.controller"))
        let frontEnd = try mcp.frontEnd(controller: running, client: controllerClient, controllerOptions: controller, defaultAuth: .none,
                                        defaultSessionKeyFile: dataDir + "/mcp-session.key",
                                        logger: Logger(label: "conductor.mcp"), onServing: printMCPClientConfiguration)
        let installed = StartGate()
        let install = DevInstall(client: client, crdFolder: crds, accounts: accounts, logger: logger, installed: installed)
        // The controller starts once the CRDs and its token exist: its first watches would fail with 404 or 401 before.
        let controllerThread = DedicatedThreadExecutor(name: "conductor.controller")
        let gated = services.map { $0 is Controller ? OnOwnExecutor(executor: controllerThread, service: StartAfter(gate: installed, service: $0)) : $0 }
        // Services stop in reverse order: the parts, then their clients, then the API server.
        try await runServices(apiServer + [ClientShutdown(clients: [controllerClient, client])] + [install] + gated + [frontEnd],
                              logger: logger)
    }
}
