import Foundation
import KubeClient
import KubeJSON
import Testing

@Suite struct ManualClockBehaviour {
    @Test func sleepersWakeWhenTimeReachesThemAndNotBefore() async throws {
        let clock = ManualClock()
        let start = clock.now
        let woke = Task {
            try await clock.sleep(for: .seconds(5))
            return clock.now
        }
        try await waitUntil("the task sleeps on the clock") { clock.sleeperCount == 1 }
        #expect(clock.nextWakeUp == start.advanced(by: .seconds(5)))
        clock.advance(by: .seconds(4))
        #expect(clock.sleeperCount == 1, "woke a second early")
        clock.advance(by: .seconds(1))
        #expect(try await woke.value == start.advanced(by: .seconds(5)))
        #expect(clock.sleeperCount == 0)
        #expect(clock.wallTime.timeIntervalSince(ManualClock().wallTime) == 5, "wall time moves with the monotonic time")
    }

    @Test func cancellingASleeperEndsItsSleepWithCancellationError() async throws {
        let clock = ManualClock()
        let sleeper = Task { try await clock.sleep(for: .seconds(60)) }
        try await waitUntil("the task sleeps on the clock") { clock.sleeperCount == 1 }
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        #expect(clock.sleeperCount == 0)
    }

    @Test func deadlinesCutOperationsOffButAreNotSleepers() async throws {
        let clock = ManualClock()
        let deadline = clock.now.advanced(by: .seconds(10))
        let bounded = Task {
            try await clock.withDeadline(deadline) {
                // Stands for a request that never answers: only the deadline ends it.
                try await Task.sleep(for: .seconds(3600))
                return "answered"
            }
        }
        try await waitUntil("the operation runs under its deadline") { clock.deadlineCount == 1 }
        // Not a sleeper: tests that wait for every task to park on the clock do not count it.
        #expect(clock.sleeperCount == 0)
        clock.advance(by: .seconds(10))
        await #expect(throws: DeadlineExceeded(deadline: deadline)) { try await bounded.value }

        let quick = try await clock.withTimeout(.seconds(1)) { 42 }
        #expect(quick == 42)
    }

    @Test func timestampsAreWrittenAsTheAPIWritesThem() {
        // Go's reference time, with microseconds, as metav1.MicroTime and metav1.Time write it.
        let reference = Date(timeIntervalSince1970: 1_136_214_245.123456)
        #expect(KubeTimestamp.microTime(reference) == "2006-01-02T15:04:05.123456Z")
        #expect(KubeTimestamp.time(reference) == "2006-01-02T15:04:05Z")
        #expect(KubeTimestamp.microTime(Date(timeIntervalSince1970: 1_709_164_800)) == "2024-02-29T00:00:00.000000Z")
        #expect(KubeTimestamp.time(Date(timeIntervalSince1970: -1)) == "1969-12-31T23:59:59Z")
    }

    /// From a protobuf Timestamp's integers, exactly: nanoseconds cut to microseconds, a negative count carried into
    /// the seconds, and years before 1 AD written as Go writes them.
    @Test func timestampsFromSecondsAndNanoseconds() {
        #expect(KubeTimestamp.microTime(unixSeconds: 1_136_214_245, nanoseconds: 123_456_789) == "2006-01-02T15:04:05.123456Z")
        #expect(KubeTimestamp.microTime(unixSeconds: 1_136_214_245, nanoseconds: -1_000) == "2006-01-02T15:04:04.999999Z")
        #expect(KubeTimestamp.time(unixSeconds: 1_136_214_245) == "2006-01-02T15:04:05Z")
        #expect(KubeTimestamp.time(unixSeconds: -62_167_219_200) == "0000-01-01T00:00:00Z")
        #expect(KubeTimestamp.time(unixSeconds: -62_198_755_200) == "-0001-01-01T00:00:00Z")
    }

    /// The one reader of RFC 3339, exact, the inverse of the writers above.
    @Test func timestampsAreReadExactly() throws {
        #expect(try KubeTimestamp.parse("2006-01-02T15:04:05.123456789+02:00") == (1_136_207_045, 123_456_789))
        #expect(try KubeTimestamp.parse("2006-01-02T15:04:05Z") == (1_136_214_245, 0))
        #expect(try KubeTimestamp.parse(KubeTimestamp.microTime(unixSeconds: 1_136_214_245, nanoseconds: 5_000)) == (1_136_214_245, 5_000))
        do {
            _ = try KubeTimestamp.parse("2006-01-02T15:04:05")
            Issue.record("a timestamp without an offset was read")
        } catch {
            #expect(error.problem == "it has no time zone offset (Z or ±hh:mm)")
        }
    }
}

// A wait here that cancellation ends cannot hold the run: the suite fails in time instead.
@Suite(.timeLimit(.minutes(2))) struct RateLimiting {
    @Test func tokenBucketAllowsTheBurstThenPacesCallersInOrder() async throws {
        let clock = ManualClock()
        let limiter = RateLimiter(RateLimit(qps: 2, burst: 3), clock: clock)
        let start = clock.now
        for _ in 0..<3 { try await limiter.acquire() }
        #expect(clock.sleeperCount == 0, "the burst passes without waiting")

        // The next two wait half a second each, in turn: at 0.5 s and at 1 s.
        let fourth = Task { try await limiter.acquire(); return clock.now }
        try await waitUntil("the fourth caller waits") { clock.sleeperCount == 1 }
        let fifth = Task { try await limiter.acquire(); return clock.now }
        try await waitUntil("the fifth caller waits") { clock.sleeperCount == 2 }
        #expect(clock.nextWakeUp == start.advanced(by: .milliseconds(500)))

        clock.advance(by: .milliseconds(499))
        #expect(clock.sleeperCount == 2, "a token came early")
        clock.advance(by: .milliseconds(1))
        #expect(try await fourth.value == start.advanced(by: .milliseconds(500)))
        clock.advance(by: .milliseconds(500))
        #expect(try await fifth.value == start.advanced(by: .seconds(1)))

        // Idle time refills the bucket, but never beyond the burst.
        clock.advance(by: .seconds(60))
        for _ in 0..<3 { try await limiter.acquire() }
        #expect(clock.sleeperCount == 0)
        let sixth = Task { try await limiter.acquire() }
        try await waitUntil("the caller after a refilled burst waits") { clock.sleeperCount == 1 }
        clock.advance(by: .milliseconds(500))
        try await sixth.value
    }

    @Test func kubeClientWaitsForItsRateLimitOnTheInjectedClock() async throws {
        try await withServer { server, _ in
            var config = try server.clientConfig()
            config.rateLimit = RateLimit(qps: 1, burst: 1)
            let clock = ManualClock()
            let client = try KubeClient(config: config, clock: clock)
            let leases = client.resource(Lease.self, namespace: "default")
            _ = try await leases.list()
            let second = Task { try await leases.list().items.count }
            try await waitUntil("the second request waits for a token") { clock.sleeperCount == 1 }
            #expect(clock.nextWakeUp == clock.now.advanced(by: .seconds(1)))
            clock.advance(by: .seconds(1))
            #expect(try await second.value == 0)
            await client.shutdown()
        }
    }
}
