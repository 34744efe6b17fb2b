import ArgumentParser
import Foundation
import LocalAPIServer
import Logging
import ServiceLifecycle

@main
struct Conductor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conductor",
        abstract: "MCP Conductor: MCP tool calls as Kubernetes Tasks, dispatched to Agent pods.",
        subcommands: [APIServerCommand.self, DevCommand.self])
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

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be between 1 and 65535, got \(port)") }
    }
}

enum LogFormat: String, ExpressibleByArgument { case text, json }

/// Starts the local API server and runs it until SIGTERM or SIGINT.
func runAPIServer(_ options: APIServerOptions) async throws {
    LoggingSystem.bootstrap { label in
        var handler = options.logFormat == .json ? JSONLogHandler(label: label) as any LogHandler : StreamLogHandler.standardError(label: label)
        handler.logLevel = .info
        return handler
    }
    let logger = Logger(label: "conductor.apiserver")
    let dataDir = URL(fileURLWithPath: options.dataDir).standardizedFileURL.path
    let certificates = try ServingCertificates.loadOrCreate(in: dataDir + "/pki")
    let tokens = try TokenFile.loadOrCreate(at: dataDir + "/tokens.csv")
    let host = options.bind == "0.0.0.0" ? "127.0.0.1" : options.bind
    let kubeconfig = dataDir + "/kubeconfig"
    try AdminKubeconfig.write(
        to: kubeconfig, server: "https://\(host):\(options.port)", caPEM: certificates.caPEM, token: tokens.firstToken ?? "")
    let store = try ObjectStore(directory: dataDir + "/store", syncEachWrite: options.fsync)
    let api = APIServer(store: store, logger: logger)
    await api.ensureSystemNamespaces()
    let server = HTTPServer(
        api: api,
        configuration: {
            var configuration = HTTPServer.Configuration(bind: options.bind, port: options.port, certificates: certificates, tokens: tokens.tokens)
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
    let services: [any Service] = [application, WatchShutdown(store: store)]
    var configuration = ServiceGroupConfiguration(
        services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    // A backstop, should a response still not end: the services are cancelled rather than awaited forever.
    configuration.maximumGracefulShutdownDuration = .seconds(10)
    let group = ServiceGroup(configuration: configuration)
    try await group.run()
    logger.info("stopped")
}

struct APIServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apiserver", abstract: "Run the local Kubernetes-compatible API server alone.")

    @OptionGroup var options: APIServerOptions

    func run() async throws { try await runAPIServer(options) }
}

struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Everything on one machine: the local API server with the CRDs installed (the controller and MCP front end join as they land).")

    @OptionGroup var options: APIServerOptions

    func run() async throws { try await runAPIServer(options) }
}
