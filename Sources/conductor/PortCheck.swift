#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import ServiceLifecycle
import Synchronization

/// `conductor dev` checks its ports before it starts anything, so that a taken one is named with the flag
/// that changes it (a listener's bind error says only "Address already in use", not which port).
enum PortCheck {
    /// Throws when `host:port` (an IPv4 address) cannot be bound now. Other hosts, and port 0, are not checked.
    static func ensureFree(host: String, port: Int, flag: String, what: String) throws {
        guard port != 0 else { return }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host, &address.sin_addr) == 1 else { return }
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        // As the servers bind: a port left in TIME_WAIT by a previous run is free.
        var reuse: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if bound != 0, errno == EADDRINUSE {
            throw ValidationError("\(what) port \(host):\(port) is taken (another conductor dev?): free it, or choose another with \(flag)")
        }
    }
}

/// A one-shot gate a service can wait on: `conductor dev` starts its controller once the CRDs are installed,
/// so that a fresh start logs no failed watches (404 before the CRDs exist). Waiting ends when the gate opens
/// or the waiting task is cancelled.
final class StartGate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [AsyncStream<Void>.Continuation])>((false, []))

    func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.finish() }
    }

    func wait() async {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self)
        let isOpen = state.withLock { state in
            if !state.open { state.waiters.append(continuation) }
            return state.open
        }
        if isOpen { return }
        for await _ in stream {}
    }
}

/// Runs `service` once `gate` opens; returns without running it if shutdown comes first.
struct StartAfter: Service {
    let gate: StartGate
    let service: any Service

    func run() async throws {
        await cancelWhenGracefulShutdown { await gate.wait() }
        guard !Task.isShuttingDownGracefully, !Task.isCancelled else { return }
        try await service.run()
    }
}
