import Foundation
import Synchronization

/// Standard output up to a limit: beyond it nothing more is kept, whatever the program writes.
final class BoundedOutput: Sendable {
    private struct State {
        var bytes: [UInt8] = []
        var overflowed = false
    }

    private let limit: Int
    private let state = Mutex(State())

    init(limit: Int) { self.limit = limit }

    /// Keeps `chunk`; false once the output went over the limit (the chunk is then dropped, as is all that
    /// follows).
    func append(_ chunk: UnsafeRawBufferPointer) -> Bool {
        state.withLock { state in
            guard !state.overflowed else { return false }
            guard state.bytes.count + chunk.count <= limit else {
                state.overflowed = true
                state.bytes = []
                return false
            }
            state.bytes.append(contentsOf: chunk)
            return true
        }
    }

    var bytes: [UInt8] { state.withLock { $0.bytes } }
}

/// Standard error as lines, with its last bytes kept for a failure's message.
final class ErrorStream: Sendable {
    private struct State {
        var partial: [UInt8] = []
        var tail: [UInt8] = []
    }

    private let tailBytes: Int
    private let maximumLineBytes: Int
    private let state = Mutex(State())

    init(tailBytes: Int, maximumLineBytes: Int) {
        self.tailBytes = tailBytes
        self.maximumLineBytes = maximumLineBytes
    }

    /// Takes a chunk in; returns the lines it completed.
    func append(_ chunk: UnsafeRawBufferPointer) -> [String] {
        state.withLock { state in
            state.tail.append(contentsOf: chunk.suffix(tailBytes))
            if state.tail.count > tailBytes { state.tail.removeFirst(state.tail.count - tailBytes) }
            var lines: [String] = []
            for byte in chunk {
                if byte == UInt8(ascii: "\n") {
                    lines.append(String(decoding: state.partial, as: UTF8.self))
                    state.partial.removeAll(keepingCapacity: true)
                } else if state.partial.count < maximumLineBytes {
                    state.partial.append(byte)
                }
            }
            return lines
        }
    }

    /// The last bytes written, trimmed, as text.
    var tail: String {
        let bytes = state.withLock { $0.tail }
        return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
