import DequeModule
import Foundation
import KubeJSON
import Logging
import Synchronization

/// An object as stored, with the revision of its last change.
public struct StoredObject: Sendable {
    public var object: JSON
    public var revision: Int64
}

/// A change, as the store tells its watchers.
public struct StoreEvent: Sendable {
    public enum Kind: String, Sendable { case added = "ADDED", modified = "MODIFIED", deleted = "DELETED" }
    public var revision: Int64
    public var kind: Kind
    public var resource: String
    public var namespace: String
    public var name: String
    /// The object after the change; for a deletion, its last state stamped with the deletion's revision.
    public var object: JSON
    /// The object before the change, so that a watcher can tell an object entering or leaving its selection.
    public var previous: JSON?
    /// The event as watchers of the same kind receive it, serialized once and shared among them. Only live
    /// events carry it: the history keeps none, so that it holds no bytes for 100,000 past changes.
    var renderings: EventRenderings? = EventRenderings()
    /// Its record's length in the log: what it costs the history's byte bound.
    var size = 0
}

/// Serialized forms of one store event, by how a watcher renders it (event type and resource version): ten
/// watchers of tasks receive the same bytes, serialized once.
final class EventRenderings: Sendable {
    private let bytes = Mutex<[String: [UInt8]]>([:])

    func rendering(_ key: String, _ render: () -> [UInt8]) -> [UInt8] {
        if let cached = bytes.withLock({ $0[key] }) { return cached }
        // Rendered outside the lock; two watchers racing both render, and either copy is the same.
        let rendered = render()
        bytes.withLock { $0[key] = rendered }
        return rendered
    }
}

/// What a mutation asks the store to do with the object it was shown.
public enum Mutation: Sendable {
    case put(JSON)
    case delete
    case unchanged
}

/// What a mutation did.
public enum MutationOutcome: Sendable {
    case stored(StoredObject, created: Bool)
    case deleted(StoredObject)
    case unchanged(StoredObject?)
}

/// Where a watch starts.
public enum WatchStart: Sendable {
    /// Every change after this revision.
    case after(Int64)
    /// A synthetic ADDED event for each object there now, then every change.
    case currentState
}

/// What a watch's stream carries: changes, and the pacing signals its server-side loop asks for.
public enum WatchSignal: Sendable {
    case change(StoreEvent)
    /// Time for a bookmark; the revision is the store's at the moment the signal was queued, so
    /// every change up to it is already ahead of the signal in the stream.
    case bookmark(Int64)
    /// The watch's time is up.
    case timeout
}

/// A registered watch: its signals, and the revision at which it started.
public struct WatchSubscription: Sendable {
    public var id: Int
    public var signals: AsyncStream<WatchSignal>
    /// Queues a signal behind the changes already queued (used for timeouts).
    public var continuation: AsyncStream<WatchSignal>.Continuation
    public var startRevision: Int64
    /// How many events at the head of the stream describe the state at the start (for `currentState`).
    public var initialEventCount: Int
}

/// The API server's storage: every object of every resource, a global revision counter (the
/// resourceVersion, as etcd's revision), a window of recent changes for watches to resume from,
/// and the watchers themselves. Changes are written to the write-ahead log before they are
/// acknowledged.
///
/// All state sits behind one lock. Each operation holds it for microseconds (no I/O but one
/// append), which keeps the ordering of revisions, log and watch events trivially consistent. Compaction
/// writes its snapshot on a thread of its own, outside the lock, and takes the lock again only to copy the
/// changes appended meanwhile behind it.
public final class ObjectStore: Sendable {
    struct Watcher {
        var resource: String
        var namespace: String?
        var pin: WatcherIndex.Pin?
        var continuation: AsyncStream<WatchSignal>.Continuation
    }

    struct State: ~Copyable {
        var revision: Int64 = 0
        var objects: [String: [String: StoredObject]] = [:]
        var history = Deque<StoreEvent>()
        /// The log bytes of the changes in `history`.
        var historyBytes = 0
        /// Every change with a revision at or above this one is in `history`.
        var historyStart: Int64 = 1
        /// A compaction's snapshot is being written; no other starts until it is in place.
        var compacting = false
        var watchers: [Int: Watcher] = [:]
        /// The open watches by what changes can concern them: a change visits only those.
        var watcherIndex = WatcherIndex()
        var nextWatcherID = 0
        /// Set by `closeWatches` at shutdown: a watch opened after it ends at once.
        var watchesClosed = false
        let log: WriteAheadLog
    }

    /// How many recent changes are kept for watches to resume from.
    public let historyLimit: Int
    /// How many bytes of recent changes (as the log holds them) are kept for watches to resume from: large
    /// objects shorten the history rather than grow the process.
    public let historyByteLimit: Int
    /// How many queued events a slow watcher may fall behind before its watch is closed (it then resumes).
    public let watcherBufferLimit: Int
    private let state: Mutex<State>
    /// Tells of each compaction: what an operator looks for when the log's size or a pause is in question.
    private let logger: Logger

    /// Opens the store in `directory`, replaying its log.
    public init(directory: String, syncEachWrite: Bool = false, historyLimit: Int = 100_000,
                historyByteLimit: Int = 128 << 20, watcherBufferLimit: Int = 100_000,
                logger: Logger = Logger(label: "apiserver.store")) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let log = WriteAheadLog(directory: directory, syncEachWrite: syncEachWrite)
        let recovered = try log.recover()
        try log.open()
        var initial = State(log: log)
        initial.revision = recovered.compactedRevision
        initial.historyStart = recovered.compactedRevision + 1
        for record in recovered.records {
            let key = Self.key(record.namespace, record.name)
            let previous = initial.objects[record.resource]?[key]
            let kind: StoreEvent.Kind
            switch record.operation {
            case .put:
                initial.objects[record.resource, default: [:]][key] = StoredObject(object: record.object, revision: record.revision)
                kind = previous == nil ? .added : .modified
            case .delete:
                initial.objects[record.resource]?[key] = nil
                kind = .deleted
            }
            initial.revision = max(initial.revision, record.revision)
            // Records of a snapshot are not changes; only those after it belong to history.
            if record.revision > recovered.compactedRevision {
                initial.history.append(StoreEvent(
                    revision: record.revision, kind: kind, resource: record.resource, namespace: record.namespace,
                    name: record.name, object: record.object, previous: previous?.object, renderings: nil,
                    size: record.size))
                initial.historyBytes += record.size
            }
        }
        Self.trimHistory(&initial, historyLimit: historyLimit, historyByteLimit: historyByteLimit)
        self.historyLimit = historyLimit
        self.historyByteLimit = historyByteLimit
        self.watcherBufferLimit = watcherBufferLimit
        self.logger = logger
        state = Mutex(initial)
    }

    static func key(_ namespace: String, _ name: String) -> String { namespace + "/" + name }

    /// The revision of the last change.
    public var currentRevision: Int64 { state.withLock { $0.revision } }

    public func get(_ resource: String, namespace: String, name: String) -> StoredObject? {
        state.withLock { $0.objects[resource]?[Self.key(namespace, name)] }
    }

    /// The objects of a resource, in one namespace or all, ordered by namespace and name (unless `sorted` is false), with
    /// the revision the list is consistent with.
    public func list(_ resource: String, namespace: String?, sorted: Bool = true) -> (objects: [(key: String, value: StoredObject)], revision: Int64) {
        let (all, revision) = state.withLock { state in (state.objects[resource] ?? [:], state.revision) }
        var selected: [(key: String, value: StoredObject)]
        if let namespace {
            let prefix = namespace + "/"
            selected = all.filter { $0.key.hasPrefix(prefix) }.map { ($0.key, $0.value) }
        } else {
            selected = all.map { ($0.key, $0.value) }
        }
        if sorted { selected.sort { $0.key < $1.key } }
        return (selected, revision)
    }

    /// Whether any object of the resource exists in the namespace.
    public func isEmpty(_ resource: String, namespace: String) -> Bool {
        let prefix = namespace + "/"
        return state.withLock { state in !(state.objects[resource]?.keys.contains { $0.hasPrefix(prefix) } ?? false) }
    }

    /// The resources that have objects in a namespace.
    public func resources(inNamespace namespace: String) -> [String] {
        let prefix = namespace + "/"
        return state.withLock { state in
            state.objects.compactMap { resource, objects in objects.keys.contains { $0.hasPrefix(prefix) } ? resource : nil }
        }
    }

    /// Reads the object, lets `body` decide what becomes of it, and applies the decision, all
    /// under the lock: the read-decide-write of optimistic concurrency without a window for a race.
    /// `body` must be quick and must not touch the store.
    public func mutate(
        _ resource: String, namespace: String, name: String,
        _ body: (StoredObject?) throws(APIError) -> Mutation
    ) throws(APIError) -> MutationOutcome {
        let key = Self.key(namespace, name)
        var finished: [AsyncStream<WatchSignal>.Continuation] = []
        var compaction: Compaction?
        // The changes the history drops, released once the lock is: freeing an event's objects is a few
        // microseconds of every write once the history is full, and no writer need wait for it.
        var evicted: [StoreEvent] = []
        defer {
            evicted.removeAll()
            for continuation in finished { continuation.finish() }
            if let compaction { start(compaction) }
        }
        return try state.withLock { (state: inout State) throws(APIError) -> MutationOutcome in
            let current = state.objects[resource]?[key]
            let decision = try body(current)
            let revision = state.revision + 1
            var event: StoreEvent
            let outcome: MutationOutcome
            switch decision {
            case .unchanged:
                return .unchanged(current)
            case .put(var object):
                object.set(path: ["metadata", "resourceVersion"], to: .string(String(revision)))
                let stored = StoredObject(object: object, revision: revision)
                event = StoreEvent(
                    revision: revision, kind: current == nil ? .added : .modified, resource: resource,
                    namespace: namespace, name: name, object: object, previous: current?.object)
                outcome = .stored(stored, created: current == nil)
            case .delete:
                guard var last = current?.object else { return .unchanged(nil) }
                last.set(path: ["metadata", "resourceVersion"], to: .string(String(revision)))
                event = StoreEvent(
                    revision: revision, kind: .deleted, resource: resource, namespace: namespace, name: name,
                    object: last, previous: current?.object)
                outcome = .deleted(StoredObject(object: last, revision: revision))
            }
            do {
                event.size = try state.log.append(LogRecord(
                    revision: revision, operation: event.kind == .deleted ? .delete : .put, resource: resource,
                    namespace: namespace, name: name, object: event.object))
            } catch {
                throw APIError.internalError("storage write failed: \(error)")
            }
            state.revision = revision
            if event.kind == .deleted {
                state.objects[resource]?[key] = nil
            } else {
                state.objects[resource, default: [:]][key] = StoredObject(object: event.object, revision: revision)
            }
            evicted = Self.record(event, in: &state, historyLimit: historyLimit, historyByteLimit: historyByteLimit)
            finished = Self.notify(event, in: &state)
            compaction = Self.compactionIfDue(&state)
            return outcome
        }
    }

    /// Returns the changes the history dropped to stay within its bounds.
    private static func record(_ event: StoreEvent, in state: inout State, historyLimit: Int, historyByteLimit: Int) -> [StoreEvent] {
        var kept = event
        kept.renderings = nil
        state.history.append(kept)
        state.historyBytes += kept.size
        return trimHistory(&state, historyLimit: historyLimit, historyByteLimit: historyByteLimit)
    }

    /// Drops the oldest changes until the history is within both bounds. A watch from before what is left expires
    /// (410), and its client lists again.
    @discardableResult
    private static func trimHistory(_ state: inout State, historyLimit: Int, historyByteLimit: Int) -> [StoreEvent] {
        var dropped: [StoreEvent] = []
        while state.history.count > historyLimit || (state.historyBytes > historyByteLimit && !state.history.isEmpty) {
            let oldest = state.history.removeFirst()
            state.historyBytes -= oldest.size
            state.historyStart = oldest.revision + 1
            dropped.append(oldest)
        }
        return dropped
    }

    /// Hands the event to each interested watcher; returns the watchers that fell too far behind,
    /// to be finished once the lock is released (finishing runs their termination handlers).
    private static func notify(_ event: StoreEvent, in state: inout State) -> [AsyncStream<WatchSignal>.Continuation] {
        var overflowed: [Int] = []
        state.watcherIndex.forEachWatcher(of: event) { id in
            guard let watcher = state.watchers[id] else { return }
            if let namespace = watcher.namespace, namespace != event.namespace { return }
            if case .dropped = watcher.continuation.yield(.change(event)) { overflowed.append(id) }
        }
        return overflowed.compactMap { removeWatcher($0, from: &state)?.continuation }
    }

    /// Takes a watch out of the table and the index; nil when it was already gone.
    private static func removeWatcher(_ id: Int, from state: inout State) -> Watcher? {
        guard let watcher = state.watchers.removeValue(forKey: id) else { return nil }
        state.watcherIndex.remove(id, resource: watcher.resource, pin: watcher.pin)
        return watcher
    }

    /// A compaction under way: the live objects as of `revision`, and where the log stood then, so that what is
    /// appended after it can follow the snapshot. The objects are a copy-on-write copy: the store's next change
    /// to a resource copies that resource's table once (its entries, not the objects), which is all the
    /// compaction costs under the lock besides the tail it copies at the end.
    struct Compaction: Sendable {
        var revision: Int64
        var objects: [String: [String: StoredObject]]
        var logOffset: Int
        var recordsAtStart: Int
    }

    /// Begins a compaction once the log holds many more changes than live objects, and none runs.
    private static func compactionIfDue(_ state: inout State) -> Compaction? {
        guard !state.compacting else { return nil }
        let live = state.objects.values.reduce(0) { $0 + $1.count }
        guard state.log.recordsSinceSnapshot > max(50_000, live * 4) else { return nil }
        return beginCompaction(&state)
    }

    private static func beginCompaction(_ state: inout State) -> Compaction {
        state.compacting = true
        return Compaction(
            revision: state.revision, objects: state.objects, logOffset: state.log.size,
            recordsAtStart: state.log.recordsSinceSnapshot)
    }

    /// Begins a compaction now, whatever the log holds; nil while one runs.
    func beginCompaction() -> Compaction? {
        state.withLock { state in state.compacting ? nil : Self.beginCompaction(&state) }
    }

    /// Runs the compaction on a thread of its own: writing the snapshot is file I/O that takes as long as the
    /// store is large, and neither the store's lock nor the cooperative thread pool may wait for it.
    private func start(_ compaction: Compaction) {
        Thread.detachNewThread { self.compact(compaction, writeAtLowPriority: true) }
    }

    /// Writes the snapshot without the lock, then puts it in the log's place under it. A failure leaves the log
    /// as it was (it goes on growing, and the next change tries again).
    ///
    /// With `writeAtLowPriority` the snapshot is rendered and written on a thread at nice 10: it is CPU work, about
    /// 40 µs an object (0.44 s for 10,000 Tasks), that on a busy machine would be taken from the requests, and
    /// nothing waits for it but the log's size. What takes the store's lock stays on this thread, at the default
    /// priority, so that writers never wait for a thread the scheduler holds back.
    func compact(_ compaction: Compaction, writeAtLowPriority: Bool = false) {
        let started = ContinuousClock.now
        let (path, logPath) = state.withLock { ($0.log.snapshotPath, $0.log.path) }
        let write: @Sendable () throws -> Int = { try Self.writeSnapshot(of: compaction, to: path) }
        do {
            let snapshotRecords = try writeAtLowPriority ? Self.onLowPriorityThread(write) : write()
            // The changes appended while the snapshot was written follow it, copied and flushed without the lock;
            // under the lock only those appended during that copy, so that writers wait for a few records at most.
            let appended = state.withLock { $0.log.size }
            try WriteAheadLog.copy(compaction.logOffset..<appended, ofLogAt: logPath, toSnapshotAt: path, sync: true)
            let replaced = try state.withLock { state in
                // History stays in memory; only a restart loses what came before the snapshot.
                try state.log.installSnapshot(
                    snapshotRecords: snapshotRecords, appendedFrom: appended,
                    appendedRecords: state.log.recordsSinceSnapshot - compaction.recordsAtStart)
            }
            close(replaced)
            logger.info("compacted the store's log", metadata: [
                "revision": "\(compaction.revision)", "objects": "\(snapshotRecords)",
                "records": "\(compaction.recordsAtStart)", "took": "\(started.duration(to: .now))",
            ])
        } catch {
            unlink(path)
            logger.error("compacting the store's log failed; it goes on growing until a later change tries again", metadata: [
                "revision": "\(compaction.revision)", "error": "\(error)",
            ])
        }
        state.withLock { $0.compacting = false }
    }

    /// Writes the compaction's objects to `path` as a snapshot, oldest change first; returns how many.
    private static func writeSnapshot(of compaction: Compaction, to path: String) throws -> Int {
        var records: [LogRecord] = []
        for (resource, objects) in compaction.objects {
            for (key, stored) in objects {
                let slash = key.firstIndex(of: "/")!
                records.append(LogRecord(
                    revision: stored.revision, operation: .put, resource: resource,
                    namespace: String(key[..<slash]), name: String(key[key.index(after: slash)...]),
                    object: stored.object))
            }
        }
        records.sort { $0.revision < $1.revision }
        try WriteAheadLog.writeSnapshot(to: path, compactedAt: compaction.revision, records: records)
        return records.count
    }

    /// Runs `body` on a new thread at nice 10 and waits for it; the calling thread keeps its own priority (on Linux
    /// a nice value belongs to a thread, and a thread cannot take back one it has lowered).
    private static func onLowPriorityThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws -> T {
        let outcome = ThreadOutcome<T>()
        Thread.detachNewThread {
            #if canImport(Glibc)
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)  // `who` 0: the calling thread
            #endif
            outcome.deliver(Result { try body() })
        }
        return try outcome.wait().get()
    }

    /// Starts a watch of one resource, in one namespace or all.
    /// Throws 410 Expired when the changes after `start` are no longer all kept.
    /// `origin` is the revision the resource's history begins at (a custom resource's CRD creation):
    /// a watch from before it expires, as on a real server whose watch cache began then.
    /// `pin`: a field the watch's selector pins to a value; only the changes of objects that had or have that value
    /// are handed to it after its start (the backlog is handed whole).
    func watch(_ resource: String, namespace: String?, from start: WatchStart, origin: Int64 = 0,
               pin: WatcherIndex.Pin? = nil) throws(APIError) -> WatchSubscription {
        let (stream, continuation, id, startRevision, initialCount) = try state.withLock {
            (state: inout State) throws(APIError) -> (AsyncStream<WatchSignal>, AsyncStream<WatchSignal>.Continuation, Int, Int64, Int) in
            var backlog: [StoreEvent] = []
            var initialCount = 0
            switch start {
            case .after(let revision):
                let oldest = max(state.historyStart - 1, origin)
                if revision < oldest {
                    throw APIError.expired("too old resource version: \(revision) (\(oldest))")
                }
                // History is ordered by revision: find the first change after `revision` by bisection.
                var low = 0
                var high = state.history.count
                while low < high {
                    let mid = (low + high) / 2
                    if state.history[mid].revision <= revision { low = mid + 1 } else { high = mid }
                }
                for event in state.history[low...] where event.resource == resource {
                    if let namespace, event.namespace != namespace { continue }
                    backlog.append(event)
                }
            case .currentState:
                let prefix = namespace.map { $0 + "/" }
                for (key, stored) in state.objects[resource] ?? [:] {
                    if let prefix, !key.hasPrefix(prefix) { continue }
                    let slash = key.firstIndex(of: "/")!
                    backlog.append(StoreEvent(
                        revision: stored.revision, kind: .added, resource: resource,
                        namespace: String(key[..<slash]), name: String(key[key.index(after: slash)...]),
                        object: stored.object, previous: nil))
                }
                backlog.sort { ($0.namespace, $0.name) < ($1.namespace, $1.name) }
                initialCount = backlog.count
            }
            // The backlog always fits; past it, a watcher may fall `watcherBufferLimit` events behind.
            let (stream, continuation) = AsyncStream<WatchSignal>.makeStream(
                bufferingPolicy: .bufferingOldest(backlog.count + watcherBufferLimit))
            let id = state.nextWatcherID
            state.nextWatcherID += 1
            if state.watchesClosed {
                // Shutting down: the watch ends before it starts, and the client watches again elsewhere.
                continuation.finish()
            } else {
                for event in backlog { continuation.yield(.change(event)) }
                state.watchers[id] = Watcher(resource: resource, namespace: namespace, pin: pin, continuation: continuation)
                state.watcherIndex.insert(id, resource: resource, pin: pin)
            }
            return (stream, continuation, id, state.revision, initialCount)
        }
        continuation.onTermination = { [weak self] _ in
            // Never waits for `state`: a cancelled reader's handler runs with that task's runtime lock held, and a
            // writer holding `state` may be waking the same task (a yield), which needs that lock. Waiting here
            // would leave both waiting forever, and every request behind the store with them.
            guard let self else { return }
            if self.state.withLockIfAvailable({ _ = Self.removeWatcher(id, from: &$0) }) == nil {
                Task { self.state.withLock { _ = Self.removeWatcher(id, from: &$0) } }
            }
        }
        return WatchSubscription(
            id: id, signals: stream, continuation: continuation, startRevision: startRevision,
            initialEventCount: initialCount)
    }

    /// Queues a bookmark for a watcher, under the lock, so that its revision covers every change queued before it.
    public func queueBookmark(for subscription: WatchSubscription) {
        state.withLock { state in
            guard state.watchers[subscription.id] != nil else { return }
            _ = subscription.continuation.yield(.bookmark(state.revision))
        }
    }

    /// Ends every open watch, and every watch opened from now on at once. For shutdown: a watch
    /// never ends by itself, and the HTTP server's graceful shutdown waits for every response.
    public func closeWatches() {
        let open = state.withLock { state in
            state.watchesClosed = true
            let continuations = state.watchers.values.map(\.continuation)
            state.watchers.removeAll()
            state.watcherIndex = WatcherIndex()
            return continuations
        }
        // Outside the lock: finishing runs each stream's termination handler, which takes it.
        for continuation in open { continuation.finish() }
    }

    /// The number of open watches, for metrics and tests.
    public var watcherCount: Int { state.withLock { $0.watchers.count } }
}

/// What a thread returns to the thread that waits for it.
private final class ThreadOutcome<T: Sendable>: Sendable {
    private let result = Mutex<Result<T, any Error>?>(nil)
    private let delivered = DispatchSemaphore(value: 0)

    func deliver(_ outcome: Result<T, any Error>) {
        result.withLock { $0 = outcome }
        delivered.signal()
    }

    /// Blocks the calling thread (never one of the cooperative pool's) until `deliver`.
    func wait() -> Result<T, any Error> {
        delivered.wait()
        return result.withLock { $0! }
    }
}
