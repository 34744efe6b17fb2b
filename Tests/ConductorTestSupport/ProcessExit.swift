import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension Process {
    /// Waits for the process to exit, at most `limit`; returns whether it did. It sleeps between looks instead of
    /// blocking its thread: the test process runs every test on the cooperative pool, as wide as the machine has
    /// cores, and on a 2-core machine two tests that each held a thread waiting for a child stopped every other
    /// test of the run (their in-process agents and watches among them) until their deadlines passed.
    /// Cancelled, it stops waiting at once and says whether the process has ended by then.
    @discardableResult
    public func exited(within limit: Duration = .seconds(30)) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while !hasEnded {
            if ContinuousClock.now >= deadline { return false }
            do { try await Task.sleep(for: .milliseconds(5)) } catch { return hasEnded }
        }
        return true
    }

    /// Whether the process has ended. See `status`.
    var hasEnded: Bool { status != nil }

    /// How the process ended: its exit status, or minus the signal that ended it; nil while it runs. From the
    /// kernel when Foundation has not heard yet: Foundation may learn of an exit late (when a child that a
    /// parallel test started at the same moment kept one of this one's descriptors), and a killed server must
    /// count as gone once it is, for a restart on its port. `waitid` with WNOWAIT looks without reaping, so
    /// Foundation still reaps the child in its own time.
    public var status: Int32? {
        if let known = statusFoundationKnows { return known }
        var info = siginfo_t()
        if waitid(P_PID, id_t(processIdentifier), &info, WEXITED | WNOHANG | WNOWAIT) == 0 {
            // A pid of 0: it still runs.
            guard info._sifields._sigchld.si_pid == processIdentifier else { return nil }
            let value = info._sifields._sigchld.si_status
            return info.si_code == CLD_EXITED ? value : -value
        }
        // ECHILD: Foundation reaped it since it was asked.
        return statusFoundationKnows
    }

    private var statusFoundationKnows: Int32? {
        isRunning ? nil : (terminationReason == .exit ? terminationStatus : -terminationStatus)
    }
}
