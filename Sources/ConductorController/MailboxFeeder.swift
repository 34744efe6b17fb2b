import KubeClient

/// How a supervisor feeds one of its actors: the actor's inputs one at a time, in order; when handling one
/// throws, it waits the backoff the supervisor names, restarts the actor and goes on with the next input.
/// Shared by the task actors' `Supervisor` and the agent actors' `HealthMonitor`.
enum MailboxFeeder {
    /// Returns when the mailbox closes (the actor was retired), or when the calling task is cancelled during
    /// a backoff (the supervisor is stopping).
    static func feed<Input: Sendable, Failure: Error>(
        _ inputs: AsyncStream<Input>, clock: any KubeClock,
        handle: (Input) async throws(Failure) -> Void,
        backoff: (Failure) async -> Duration,
        restart: () async -> Void,
        afterEach: () async -> Void = {}
    ) async {
        for await input in inputs {
            do throws(Failure) {
                try await handle(input)
            } catch {
                let delay = await backoff(error)
                do {
                    try await clock.sleep(for: delay)
                } catch {
                    return
                }
                await restart()
            }
            await afterEach()
        }
    }
}
