#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// When readers of a program's output stop waiting for its end. The end of a pipe comes when every process
/// holding its write end is gone; one that left the program's process group (a daemon started with setsid)
/// can hold it for good, after the program itself was reaped and its group killed. Readers then give up at
/// the cutoff instead of holding the attempt open.
final class ReadCutoff: Sendable {
    private let deadline = Mutex<ContinuousClock.Instant?>(nil)

    /// Readers stop `after` from now, with what they read so far.
    func cut(after delay: Duration) {
        deadline.withLock { $0 = ContinuousClock.now + delay }
    }

    var isPassed: Bool {
        guard let deadline = deadline.withLock({ $0 }) else { return false }
        return ContinuousClock.now >= deadline
    }

    /// How often a reader of a quiet pipe looks at the cutoff, in milliseconds (poll(2)'s unit).
    static let checkInterval: Int32 = 100

    /// Waits until `fd` can be read (or is at its end) and returns true, or returns false once the cutoff
    /// passed, even while input goes on arriving.
    func waitForInput(on fd: Int32) -> Bool {
        while !isPassed {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Self.checkInterval)
            if ready > 0 { return true }
            if ready < 0, errno != EINTR { return true }  // let read(2) report it
        }
        return false
    }
}
