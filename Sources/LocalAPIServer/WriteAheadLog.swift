#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import KubeJSON

/// One change to the store as it is kept on disk: a line of JSON.
struct LogRecord: Sendable {
    enum Operation: String, Sendable { case put, delete = "del" }
    var revision: Int64
    var operation: Operation
    var resource: String
    var namespace: String
    var name: String
    var object: JSON

    var json: JSON {
        [
            "rev": .int(revision), "op": .string(operation.rawValue), "r": .string(resource),
            "ns": .string(namespace), "n": .string(name), "o": object,
        ]
    }

    init(revision: Int64, operation: Operation, resource: String, namespace: String, name: String, object: JSON) {
        self.revision = revision
        self.operation = operation
        self.resource = resource
        self.namespace = namespace
        self.name = name
        self.object = object
    }

    init?(_ json: JSON) {
        guard let revision = json["rev"]?.int, let op = json["op"]?.string.flatMap(Operation.init(rawValue:)),
            let resource = json["r"]?.string, let namespace = json["ns"]?.string, let name = json["n"]?.string,
            let object = json["o"]
        else { return nil }
        self.init(revision: revision, operation: op, resource: resource, namespace: namespace, name: name, object: object)
    }
}

/// What a log held when it was opened.
struct RecoveredLog {
    /// The revision the log was last compacted at: history before it is gone.
    var compactedRevision: Int64 = 0
    var records: [LogRecord] = []
}

/// The store's durable memory: an append-only file of changes, one JSON line each, rewritten as a
/// snapshot now and then so that it does not grow without end.
///
/// A change is written with write(2) before the request that made it is answered, so a process
/// that is killed loses nothing it answered. Surviving a power cut as well needs `syncEachWrite`
/// (fdatasync after every change), which costs a disk flush per write.
final class WriteAheadLog {
    let path: String
    let syncEachWrite: Bool
    private var fd: Int32 = -1
    private(set) var recordsSinceSnapshot = 0

    init(directory: String, syncEachWrite: Bool) {
        path = directory + "/store.log"
        self.syncEachWrite = syncEachWrite
    }

    /// Reads the log. A last line cut short by a crash mid-write is dropped: its request was never answered.
    func recover() throws -> RecoveredLog {
        var recovered = RecoveredLog()
        guard let data = FileManager.default.contents(atPath: path) else { return recovered }
        var lineStart = data.startIndex
        var validEnd = data.startIndex
        while let newline = data[lineStart...].firstIndex(of: 0x0A) {
            let line = data[lineStart..<newline]
            lineStart = data.index(after: newline)
            guard let json = try? JSON.parse(line) else { break }
            if let compacted = json["compacted"]?.int {
                recovered.compactedRevision = compacted
            } else if let record = LogRecord(json) {
                recovered.records.append(record)
            } else {
                break
            }
            validEnd = lineStart
        }
        if validEnd != data.endIndex {
            // Cut the torn tail so that new records follow a whole line.
            truncate(path, off_t(data.distance(from: data.startIndex, to: validEnd)))
        }
        recordsSinceSnapshot = recovered.records.count
        return recovered
    }

    func open() throws {
        fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        if fd < 0 { throw StoreFailure.io("open \(path)", errno) }
    }

    func append(_ record: LogRecord) throws {
        var bytes = record.json.serialized()
        bytes.append(0x0A)
        try writeAll(fd, bytes)
        if syncEachWrite { fdatasync(fd) }
        recordsSinceSnapshot += 1
    }

    /// Replaces the log with a snapshot of the live objects, atomically (write a new file, then rename).
    func rewrite(compactedAt revision: Int64, records: [LogRecord]) throws {
        let temporary = path + ".tmp"
        let out = Glibc.open(temporary, O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, 0o600)
        if out < 0 { throw StoreFailure.io("open \(temporary)", errno) }
        defer { close(out) }
        var buffer = (JSON.object(["compacted": .int(revision)])).serialized()
        buffer.append(0x0A)
        for record in records {
            record.json.write(into: &buffer)
            buffer.append(0x0A)
            if buffer.count > 1 << 20 {
                try writeAll(out, buffer)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        try writeAll(out, buffer)
        fsync(out)
        if rename(temporary, path) != 0 { throw StoreFailure.io("rename \(temporary)", errno) }
        close(fd)
        try open()
        recordsSinceSnapshot = records.count
    }

    private func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw StoreFailure.io("write \(path)", errno)
                }
                offset += n
            }
        }
    }

    deinit { if fd >= 0 { close(fd) } }
}

enum StoreFailure: Error, CustomStringConvertible {
    case io(String, Int32)

    var description: String {
        switch self {
        case .io(let what, let code): return "\(what): \(String(cString: strerror(code)))"
        }
    }
}
