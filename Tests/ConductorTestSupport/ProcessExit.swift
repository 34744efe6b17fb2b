import Foundation

extension Process {
    /// Waits for the process to exit, at most `limit`; returns whether it did. Unlike `waitUntilExit`, which can
    /// wait for good: Foundation may learn of an exit late or never when a child started at the same moment by a
    /// parallel test kept a descriptor of this one, and a test's teardown must not hold the whole run.
    /// It blocks its thread (polling), as `waitUntilExit` does, but for no longer than `limit`.
    @discardableResult
    public func waitForExit(within limit: Duration = .seconds(30)) -> Bool {
        let deadline = ContinuousClock.now + limit
        while isRunning {
            if ContinuousClock.now >= deadline { return false }
            usleep(5_000)
        }
        return true
    }
}
