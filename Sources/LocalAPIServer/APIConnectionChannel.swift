import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOSSL

/// Hummingbird's HTTP/2-upgrade child channel with the server's own connection handlers right after TLS:
/// `FlushCoalescer`, then `RedundantResetFilter`.
struct APIConnectionChannel<Inner: ServerChildChannel>: ServerChildChannel {
    typealias Value = Inner.Value
    let inner: Inner

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let configured = inner.setup(channel: channel, logger: logger)
        do {
            // The inner setup has just added the TLS handler (synchronously, on the channel's event loop).
            let pipeline = channel.pipeline.syncOperations
            let tls = try pipeline.handler(type: NIOSSLServerHandler.self)
            let coalescer = FlushCoalescer()
            try pipeline.addHandler(coalescer, position: .after(tls))
            try pipeline.addHandler(RedundantResetFilter(), position: .after(coalescer))
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return configured
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}
