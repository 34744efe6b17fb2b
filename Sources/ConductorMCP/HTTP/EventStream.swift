import ConductorController
import KubeJSON
import Synchronization

/// One SSE answer written from callbacks, with no task of its own: the priming event, the request's notifications
/// in the order they are sent, a keep-alive comment every `keepAlive` (until the request says it sends often enough
/// itself, `stopKeepAlives`), then its answer and the end. Nothing is written after the end, so a notification that
/// races the answer is dropped, not sent after it.
final class EventStream: Sendable {
    private struct State {
        var sequence = 0
        var ended = false
        var keepAlives: RepeatingTimer?
    }

    private let id: String
    private let output: any EventStreamOutput
    private let state = Mutex(State())

    /// Writes the priming event, numbered `primedAt` (a resumed stream goes on from where its client left it), and
    /// keeps the stream alive on `timers` until it ends.
    init(id: String, output: any EventStreamOutput, keepAlive: Duration, timers: TimerQueue, primedAt first: Int = 0) {
        self.id = id
        self.output = output
        output.write(ServerSentEvent.priming(stream: id, sequence: first), droppable: false)
        let keepAlives = RepeatingTimer(on: timers, every: keepAlive) { [self] in
            state.withLock { state in
                guard !state.ended else { return }
                output.write(ServerSentEvent.keepAlive, droppable: true)
            }
        }
        state.withLock { state in
            state.sequence = first
            state.keepAlives = keepAlives
        }
    }

    /// A notification: progress, which a later one supersedes, so a reader that is behind may miss it.
    func send(_ notification: JSON) {
        state.withLock { state in
            guard !state.ended else { return }
            state.sequence += 1
            output.write(ServerSentEvent.message(notification, stream: id, sequence: state.sequence), droppable: true)
        }
    }

    /// Stops the keep-alives: something else writes at least as often (a waiting call's progress heartbeat), and
    /// the timer would cost each such call its memory for nothing.
    func stopKeepAlives() {
        state.withLock { $0.keepAlives.take() }?.stop()
    }

    /// Writes `answer` (nil: none is due, the request was cancelled) and ends the stream.
    func finish(_ answer: JSON?) {
        let ended = state.withLock { state -> Bool in
            guard !state.ended else { return false }
            if let answer {
                state.sequence += 1
                output.write(ServerSentEvent.message(answer, stream: id, sequence: state.sequence), droppable: false)
            }
            output.end()
            state.ended = true
            return true
        }
        // The timer's action holds this stream: dropping the timer ends the cycle.
        if ended { stopKeepAlives() }
    }
}
