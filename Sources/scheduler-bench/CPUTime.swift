#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Measures the CPU time of the calling thread, so that a figure leaves out the time the thread spent
/// descheduled: on a shared, busy machine wall-clock samples mostly measure the neighbours.
enum ThreadCPUTime {
    static func microseconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return Double(now.tv_sec) * 1e6 + Double(now.tv_nsec) / 1e3
    }

    /// Runs `body` and returns its wall-clock and thread CPU time, in microseconds.
    static func measure(_ body: () -> Void) -> (wall: Double, cpu: Double) {
        let clock = ContinuousClock()
        let cpuStart = microseconds()
        let wall = clock.measure(body)
        return (wall.microseconds, microseconds() - cpuStart)
    }
}
