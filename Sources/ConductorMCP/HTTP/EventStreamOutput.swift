/// Where an SSE answer's text goes (`EventStream`), queued in the order it is written, without waiting: the front
/// end's own connection (`LateStream`), or a stream a writing task drains for any other body writer.
protocol EventStreamOutput: Sendable {
    /// Queues `text`. A `droppable` text (a keep-alive, a progress notification: later ones supersede it) may be
    /// dropped while the reader is behind, so that a slow reader does not make the server buffer without limit.
    func write(_ text: String, droppable: Bool)
    /// Ends the answer after what was written.
    func end()
}

extension AsyncStream<String>.Continuation: EventStreamOutput {
    func write(_ text: String, droppable: Bool) {
        yield(text)
    }

    func end() {
        finish()
    }
}
