import KubeClient

/// How a supervisor drains one of its actors' mailbox: the inputs one at a time, in order; when handling one
/// throws, it waits the backoff the supervisor names, restarts the actor and goes on with the next input.
/// Shared by the task actors' `Supervisor` and the agent actors' `HealthMonitor`.
enum MailboxFeeder {
    /// Returns when the mailbox is empty or closed (the actor was retired): the next input starts another
    /// drain. Returns too when the calling task is cancelled during a backoff (the supervisor is stopping).
    static func feed<Input: Sendable, Failure: Error>(
        _ mailbox: Mailbox<Input>, clock: any KubeClock,
        handle: (Input) async throws(Failure) -> Void,
        backoff: (Failure) async -> Duration,
        restart: () async -> Void,
        afterEach: () async -> Void = {}
    ) async {
        while let input = mailbox.next() {
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
