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
    /// The length of its line in the log, once written or read: what the watch history's byte bound counts.
    var size = 0

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
///
/// Compaction writes the snapshot beside the log while changes go on being appended to it
/// (`writeSnapshot`, without the store's lock), copies the changes appended meanwhile behind it (`copy`, also
/// without the lock), then puts it in the log's place (`installSnapshot`, under the lock, copying only the
/// changes appended during that copy).
final class WriteAheadLog {
    let path: String
    let syncEachWrite: Bool
    private var fd: Int32 = -1
    /// Records in the file: the last snapshot's and the changes appended since.
    private(set) var recordsSinceSnapshot = 0
    /// Bytes in the file: where the next record goes.
    private(set) var size = 0

    init(directory: String, syncEachWrite: Bool) {
        path = directory + "/store.log"
        self.syncEachWrite = syncEachWrite
    }

    /// Where a snapshot is written before it replaces the log; a crash leaves it behind unread.
    var snapshotPath: String { path + ".snapshot" }

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
            } else if var record = LogRecord(json) {
                record.size = line.count + 1
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
        size = Int(lseek(fd, 0, SEEK_END))
    }

    /// Appends the record; returns its line's length.
    @discardableResult
    func append(_ record: LogRecord) throws -> Int {
        var bytes = record.json.serialized()
        bytes.append(0x0A)
        do {
            try Self.writeAll(fd, bytes, path: path)
        } catch {
            // Part of the line may be written (a full disk): cut the log back to where it began, or every later
            // record would follow a torn line that recovery stops at. The file is opened O_APPEND, so the next
            // append starts there.
            _ = ftruncate(fd, off_t(size))
            throw error
        }
        if syncEachWrite { fdatasync(fd) }
        recordsSinceSnapshot += 1
        size += bytes.count
        return bytes.count
    }

    /// Writes a snapshot of the live objects to `path` and flushes it to disk. Touches nothing of a log, so it
    /// runs without the store's lock while changes are appended.
    static func writeSnapshot(to path: String, compactedAt revision: Int64, records: [LogRecord]) throws {
        let out = Glibc.open(path, O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, 0o600)
        if out < 0 { throw StoreFailure.io("open \(path)", errno) }
        defer { close(out) }
        var buffer = (JSON.object(["compacted": .int(revision)])).serialized()
        buffer.append(0x0A)
        for record in records {
            record.json.write(into: &buffer)
            buffer.append(0x0A)
            if buffer.count > 1 << 20 {
                try writeAll(out, buffer, path: path)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        try writeAll(out, buffer, path: path)
        if fsync(out) != 0 { throw StoreFailure.io("fsync \(path)", errno) }
    }

    /// Appends the bytes `range` of the log at `path` to the snapshot at `snapshotPath`, flushed with `sync`. Touches
    /// nothing of a log object: it runs without the store's lock on bytes already appended, which never change.
    static func copy(_ range: Range<Int>, ofLogAt path: String, toSnapshotAt snapshotPath: String, sync: Bool) throws {
        let out = Glibc.open(snapshotPath, O_WRONLY | O_APPEND | O_CLOEXEC)
        if out < 0 { throw StoreFailure.io("open \(snapshotPath)", errno) }
        defer { close(out) }
        let input = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        if input < 0 { throw StoreFailure.io("open \(path)", errno) }
        defer { close(input) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var position = range.lowerBound
        while position < range.upperBound {
            let count = buffer.withUnsafeMutableBytes { pread(input, $0.baseAddress!, min($0.count, range.upperBound - position), off_t(position)) }
            if count < 0 {
                if errno == EINTR { continue }
                throw StoreFailure.io("read \(path)", errno)
            }
            // The range was written before it was asked for: a short file is a failure, not an end.
            if count == 0 { throw StoreFailure.io("read \(path): ended at byte \(position) of \(range.upperBound)", EIO) }
            try writeAll(out, Array(buffer[..<count]), path: snapshotPath)
            position += count
        }
        if sync, fsync(out) != 0 { throw StoreFailure.io("fsync \(snapshotPath)", errno) }
    }

    /// Puts the snapshot at `snapshotPath`, holding `snapshotRecords` records, in the log's place, followed by
    /// the log's records from byte `offset` on: the changes appended since the compaction last copied them.
    /// Atomic: the log is replaced by a rename, so a crash leaves either the old log or the new one, never a part.
    /// The copy is flushed before the rename only with `syncEachWrite`: without it the log's own records are not
    /// flushed either, and a process crash loses nothing written.
    ///
    /// Returns the replaced log's descriptor for the caller to close once it has released the store's lock:
    /// closing the last reference to a renamed-over file frees its blocks, which takes as long as the log was
    /// large (milliseconds for tens of megabytes), and writers must not wait for it.
    ///
    /// The snapshot is opened for appending before the rename, so that nothing can fail after it: a failure before
    /// leaves this log as it was, still open and written to.
    func installSnapshot(snapshotRecords: Int, appendedFrom offset: Int, appendedRecords: Int) throws -> Int32 {
        try Self.copy(offset..<size, ofLogAt: path, toSnapshotAt: snapshotPath, sync: syncEachWrite)
        let installed = Glibc.open(snapshotPath, O_WRONLY | O_APPEND | O_CLOEXEC)
        if installed < 0 { throw StoreFailure.io("open \(snapshotPath)", errno) }
        if rename(snapshotPath, path) != 0 {
            let code = errno
            close(installed)
            throw StoreFailure.io("rename \(snapshotPath)", code)
        }
        let replaced = fd
        fd = installed
        size = Int(lseek(installed, 0, SEEK_END))
        recordsSinceSnapshot = snapshotRecords + appendedRecords
        return replaced
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
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
