import KubeJSON

/// A request's answer, in one step or two: known at once, or made when a wait ends (a tool call waiting for its
/// task). The first step goes deep (parsing, checks, creating the task); the second is a callback registered for
/// as long as the task runs, with nothing parked meanwhile: a transport runs the first step in a task that ends
/// with it (a Swift task keeps every stack slab it has used until it ends), and writes the answer from the callback
/// (`MCPHTTPEndpoint.json(whenReady:)`, `EventStream`), so that a waiting call holds no task at all
/// (Tests/e2e/measure_mcp_waits.py).
enum Reply: Sendable {
    /// Nil: cancelled, no answer is due.
    case now(JSON?)
    /// Answers when a wait ends: registers `deliver`, called once with the answer (nil: cancelled, or the client
    /// left), and returns once registered. Made for waits that end by themselves (the task's end, a limit, the
    /// client's cancellation or leaving).
    case whenReady(@Sendable (_ deliver: @escaping @Sendable (JSON?) -> Void) async -> Void)

    /// The answer, waiting for it if it is not known yet.
    func value() async -> JSON? {
        switch self {
        case .now(let answer): return answer
        case .whenReady(let register):
            let (answers, feed) = AsyncStream.makeStream(of: JSON?.self)
            await register { answer in
                feed.yield(answer)
                feed.finish()
            }
            for await answer in answers { return answer }
            // Cancelled while waiting.
            return nil
        }
    }

    /// The same reply with its answer transformed.
    func map(_ transform: @escaping @Sendable (JSON) -> JSON) -> Reply {
        switch self {
        case .now(let answer): .now(answer.map(transform))
        case .whenReady(let register): .whenReady { deliver in await register { deliver($0.map(transform)) } }
        }
    }
}

/// `work` in a task of its own (cancelled with the caller), for a deep step whose stack should not stay with the caller.
func inOwnTask<Value: Sendable>(_ work: @escaping @Sendable () async -> Value) async -> Value {
    let task = Task(operation: work)
    return await withTaskCancellationHandler { await task.value } onCancel: { task.cancel() }
}
