import Foundation

/// Runs blocking system calls (read, write, waitpid) on a thread of their own, so that they never hold a
/// thread of Swift's cooperative pool, which has only as many threads as cores. One thread per call: a
/// command executor needs four per running task (stdin, stdout, stderr, wait), and tasks are few.
enum BlockingCall {
    static func run<T: Sendable>(_ name: String, _ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: body()) }
            thread.name = name
            thread.start()
        }
    }
}
