import KubeJSON
import Logging

public struct WatchOptions: Sendable {
    public var labelSelector: String?
    public var fieldSelector: String?
    public var allowBookmarks: Bool
    /// How long the server keeps one watch request open. The resuming watch picks a random time between
    /// 5 and 10 minutes when this is nil, as client-go's reflector does, so replicas do not renew in step.
    public var timeoutSeconds: Int?
    public var sendInitialEvents: Bool

    public init(labelSelector: String? = nil, fieldSelector: String? = nil, allowBookmarks: Bool = true,
                timeoutSeconds: Int? = nil, sendInitialEvents: Bool = false) {
        self.labelSelector = labelSelector
        self.fieldSelector = fieldSelector
        self.allowBookmarks = allowBookmarks
        self.timeoutSeconds = timeoutSeconds
        self.sendInitialEvents = sendInitialEvents
    }

    var listOptions: ListOptions { ListOptions(labelSelector: labelSelector, fieldSelector: fieldSelector) }

    func query(resourceVersion: String?) -> [(name: String, value: String)] {
        var query: [(name: String, value: String)] = [("watch", "true")]
        if let labelSelector { query.append(("labelSelector", labelSelector)) }
        if let fieldSelector { query.append(("fieldSelector", fieldSelector)) }
        if allowBookmarks { query.append(("allowWatchBookmarks", "true")) }
        if let resourceVersion { query.append(("resourceVersion", resourceVersion)) }
        if sendInitialEvents {
            query.append(("sendInitialEvents", "true"))
            query.append(("resourceVersionMatch", "NotOlderThan"))
        }
        query.append(("timeoutSeconds", String(timeoutSeconds ?? Int.random(in: 300...600))))
        return query
    }
}

/// How a resuming watch waits before opening a new stream after a failure: doubling from `initial` up to
/// `maximum`, back to `initial` once a stream delivered something.
public struct WatchBackoff: Sendable {
    public var initial: Duration
    public var maximum: Duration

    public init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(30)) {
        self.initial = initial
        self.maximum = maximum
    }
}

/// What a resuming watch delivers.
public enum WatchUpdate<Object: KubeObject>: Sendable {
    case event(WatchEvent<Object>)
    /// The whole current state, from a list: at the start when no resourceVersion was given, and after the
    /// server expired the resourceVersion (410). Objects the receiver knows that are not in it were deleted.
    case relisted(ObjectList<Object>)
}

/// One watch request's events (`watchOnce`).
public typealias WatchEvents<Object: KubeObject> = BoundedStream<AsyncThrowingStream<WatchEvent<Object>, any Error>>
/// A resuming watch's updates (`watch`).
public typealias WatchUpdates<Object: KubeObject> = BoundedStream<AsyncThrowingStream<WatchUpdate<Object>, any Error>>

/// How many decoded events or updates a watch holds for a consumer that has not read them before it stops
/// reading the response (and the transport then the connection): a slow consumer holds the server back.
let watchBufferLimit = 64

extension ResourceClient {
    /// One watch request: events until the server ends it (its timeout) or the connection fails (thrown).
    /// An ERROR event is delivered as `.error`, not thrown. At most `watchBufferLimit` events wait decoded.
    public func watchOnce(resourceVersion: String?, options: WatchOptions = WatchOptions()) async throws -> WatchEvents<Object> {
        let request = KubeClient.Request(method: "GET", path: resource.path(namespace: namespace), query: options.query(resourceVersion: resourceVersion))
        let stream = try await client.openStream(request)
        let (events, continuation) = AsyncThrowingStream.makeStream(of: WatchEvent<Object>.self)
        let budget = DeliveryBudget(limit: watchBufferLimit)
        let reader = Task(executorPreference: ClientTaskExecutor.preferred) {
            var lines = LineSplitter()
            do {
                for try await chunk in stream.body {
                    for line in lines.append(chunk) {
                        let event = try decodeEvent(line)
                        // Counted before it is handed over: the consumer may take it at once (see `DeliveryBudget`).
                        budget.delivered()
                        continuation.yield(event)
                    }
                    await budget.waitForRoom()
                }
                if let last = lines.finish() {
                    continuation.yield(try decodeEvent(last))
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in
            budget.end()
            reader.cancel()
        }
        return BoundedStream(events, budget: budget)
    }

    private func decodeEvent(_ line: [UInt8]) throws -> WatchEvent<Object> {
        do {
            return try Object.decodeWatchEvent(line)
        } catch {
            throw KubeDecodingError(what: "\(resource.kind) watch event", method: "WATCH", path: resource.path(namespace: namespace),
                                    underlying: "\(error): \(String(decoding: line.prefix(200), as: UTF8.self))")
        }
    }

    /// A watch that lasts until the consuming task is cancelled: it opens a new request from the last
    /// resourceVersion it saw when the server ends one (timeouts) or the connection is lost, and lists again
    /// when the server answers 410 Expired. With `resourceVersion` nil it starts with the whole state: a list,
    /// or, with `options.sendInitialEvents`, the initial events of a watch up to their end bookmark (the
    /// watch-list of client-go). Either way the receiver gets it as one `.relisted`.
    public func watch(resourceVersion: String? = nil, options: WatchOptions = WatchOptions(),
                      backoff: WatchBackoff = WatchBackoff()) -> WatchUpdates<Object> {
        let (updates, continuation) = AsyncThrowingStream.makeStream(of: WatchUpdate<Object>.self)
        let budget = DeliveryBudget(limit: watchBufferLimit)
        /// Hands an update over, then waits while the consumer is `watchBufferLimit` behind.
        @Sendable func deliver(_ update: WatchUpdate<Object>) async {
            budget.delivered()
            continuation.yield(update)
            await budget.waitForRoom()
        }
        let worker = Task(executorPreference: ClientTaskExecutor.preferred) {
            var lastVersion = resourceVersion
            var delay = backoff.initial
            let logger = client.logger
            // Initial events are asked for only to start from nothing: a resumed request that asked again
            // would be sent the whole state once more, as ADDED events the receiver already has.
            var resuming = options
            resuming.sendInitialEvents = false
            while !Task.isCancelled {
                do {
                    var initialEvents: InitialEvents<Object>?
                    if lastVersion == nil {
                        if options.sendInitialEvents {
                            initialEvents = InitialEvents()
                        } else {
                            let list = try await listAll(options.listOptions)
                            await deliver(.relisted(list))
                            lastVersion = list.resourceVersion
                        }
                    }
                    let events = try await watchOnce(resourceVersion: lastVersion, options: initialEvents == nil ? resuming : options)
                    var delivered = false
                    for try await event in events {
                        delivered = true
                        delay = backoff.initial
                        if case .error(let status) = event {
                            throw KubeAPIError(code: status.code ?? 500, status: status, method: "WATCH", path: resource.path(namespace: namespace))
                        }
                        if var collecting = initialEvents {
                            if let list = try collecting.take(event) {
                                await deliver(.relisted(list))
                                lastVersion = list.resourceVersion
                                initialEvents = nil
                            } else {
                                initialEvents = collecting
                            }
                            continue
                        }
                        if let version = event.resourceVersion { lastVersion = version }
                        await deliver(.event(event))
                    }
                    if initialEvents != nil {
                        throw WatchProtocolError(message: "the watch of \(resource.plural) ended before its initial events did")
                    }
                    // The server ended the request (its timeout): go on from where it stopped, at once, unless
                    // it ended without a word, which a server that closes every watch at once would do forever.
                    if !delivered {
                        try await Task.sleep(for: delay)
                        delay = min(delay * 2, backoff.maximum)
                    }
                    ClientMetrics.recordWatchRestart(resource: resource.plural, .resumed)
                } catch let error as KubeAPIError where error.isResourceVersionTooOld {
                    logger.info("watch resourceVersion expired; listing again", metadata: ["resource": "\(resource.plural)", "resourceVersion": "\(lastVersion ?? "")"])
                    ClientMetrics.recordWatchRestart(resource: resource.plural, .relisted)
                    lastVersion = nil
                } catch is CancellationError {
                    break
                } catch {
                    if Task.isCancelled { break }
                    logger.warning("watch failed; opening it again", metadata: ["resource": "\(resource.plural)", "error": "\(error)", "after": "\(delay)"])
                    try? await Task.sleep(for: delay)
                    delay = min(delay * 2, backoff.maximum)
                    ClientMetrics.recordWatchRestart(resource: resource.plural, .resumed)
                }
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in
            budget.end()
            worker.cancel()
        }
        return BoundedStream(updates, budget: budget)
    }
}

/// The state a watch with `sendInitialEvents` describes before its initial-events-end bookmark, gathered
/// into what a list would have answered.
struct InitialEvents<Object: KubeObject> {
    private var objects: [String: Object] = [:]

    /// Takes one event; returns the whole state once the end bookmark arrives.
    mutating func take(_ event: WatchEvent<Object>) throws -> ObjectList<Object>? {
        switch event {
        case .added(let object), .modified(let object):
            objects[object.key] = object
        case .deleted(let object):
            objects[object.key] = nil
        case .bookmark(let version, let initialEventsEnd):
            guard initialEventsEnd else { return nil }
            guard !version.isEmpty else {
                throw WatchProtocolError(message: "the initial-events-end bookmark has no resourceVersion")
            }
            let items = objects.values.sorted { $0.key < $1.key }
            return ObjectList(items: items, resourceVersion: version, continueToken: nil, remainingItemCount: nil)
        case .undecodable(let skipped):
            objects[skipped.key] = nil
        case .error:
            break
        }
        return nil
    }
}

/// Splits a byte stream into newline-terminated lines (the watch stream's JSON framing). A carriage return
/// before the newline is dropped, and blank lines (keep-alives some proxies send) are skipped.
struct LineSplitter {
    private var pending: [UInt8] = []

    mutating func append(_ chunk: [UInt8]) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        var start = chunk.startIndex
        for index in chunk.indices where chunk[index] == UInt8(ascii: "\n") {
            pending += chunk[start..<index]
            if let line = Self.content(pending) { lines.append(line) }
            pending.removeAll(keepingCapacity: true)
            start = index + 1
        }
        pending += chunk[start...]
        return lines
    }

    /// What is left after the stream ended: a last line that had no newline, if any.
    mutating func finish() -> [UInt8]? {
        defer { pending.removeAll() }
        return Self.content(pending)
    }

    private static func content(_ line: [UInt8]) -> [UInt8]? {
        var end = line.endIndex
        while end > line.startIndex, [UInt8(ascii: "\r"), UInt8(ascii: " "), UInt8(ascii: "\t")].contains(line[end - 1]) { end -= 1 }
        return end == line.startIndex ? nil : Array(line[..<end])
    }
}
