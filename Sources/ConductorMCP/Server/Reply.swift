import KubeJSON

/// A request's answer, in one step or two: known at once, or made when a wait ends (a tool call waiting for its
/// task). The first step goes deep (parsing, checks, creating the task); the second parks for as long as the
/// task runs. A Swift task keeps every stack slab it has used until it ends, so a transport runs the first
/// step in one task and the wait in another (`RequestResponder` routes an HTTP request, then writes its answer
/// from a new task; an SSE stream runs the first step through `Reply.settled`), and the wait parks with a
/// shallow stack: a waiting call then costs less memory (Tests/e2e/measure_mcp_waits.py). A wait that relays
/// nothing meanwhile need not park at all (`whenReady`): an HTTP answer then holds no task while it waits.
enum Reply: Sendable {
    /// Nil: cancelled, no answer is due.
    case now(JSON?)
    /// Waits, then answers (nil: cancelled).
    case later(@Sendable () async -> JSON?)
    /// Answers when a wait ends with nothing parked meanwhile: registers `deliver`, called once with the answer
    /// (nil: cancelled), and returns once registered. Made for waits that end by themselves (a limit, or the
    /// client's cancellation): a reader that stops listening leaves the wait to run out.
    case whenReady(@Sendable (_ deliver: @escaping @Sendable (JSON?) -> Void) async -> Void)

    /// The answer, waiting for it if it is not known yet.
    func value() async -> JSON? {
        switch self {
        case .now(let answer): return answer
        case .later(let rest): return await rest()
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
        case .later(let rest): .later { await rest().map(transform) }
        case .whenReady(let register): .whenReady { deliver in await register { deliver($0.map(transform)) } }
        }
    }

    /// The answer of `first`'s reply: that step in a task of its own, whose stack is given back when it
    /// returns, and the wait (if any) in the caller's.
    static func settled(_ first: @escaping @Sendable () async -> Reply) async -> JSON? {
        await inOwnTask(first).value()
    }
}

/// `work` in a task of its own (cancelled with the caller), for a deep step after which the caller parks long.
func inOwnTask<Value: Sendable>(_ work: @escaping @Sendable () async -> Value) async -> Value {
    let task = Task(operation: work)
    return await withTaskCancellationHandler { await task.value } onCancel: { task.cancel() }
}
