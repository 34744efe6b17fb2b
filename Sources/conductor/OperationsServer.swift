import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle

/// The replica's operations endpoints on the health port, for Kubernetes probes and Prometheus:
/// `/healthz` (liveness: the process answers), `/readyz` (readiness: `isReady`, the informers have synced),
/// `/metrics` (the registry in Prometheus's text format). No authentication: the port is meant for the pod
/// network only (deploy/controller exposes it to the cluster, not outside).
enum OperationsServer {
    static func make(bind: String, port: Int, registry: PrometheusCollectorRegistry, isReady: @escaping @Sendable () -> Bool,
                     logger: Logger) -> some Service {
        let router = Router()
        router.get("/healthz") { _, _ in "ok\n" }
        router.get("/readyz") { _, _ -> Response in
            isReady()
                ? Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: "ok\n")))
                : Response(status: .serviceUnavailable, body: ResponseBody(byteBuffer: ByteBuffer(string: "informers not synced\n")))
        }
        router.get("/metrics") { _, _ -> Response in
            var text: [UInt8] = []
            registry.emit(into: &text)
            ProcessMetrics.emit(into: &text)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: text)))
        }
        return Application(router: router, configuration: ApplicationConfiguration(address: .hostname(bind, port: port)),
                           onServerRunning: { channel in
                               logger.info("operations endpoints serving", metadata: [
                                   "address": "\(channel.localAddress.map { "\($0)" } ?? "\(bind):\(port)")",
                                   "paths": "/healthz /readyz /metrics",
                               ])
                           },
                           logger: logger)
    }
}
