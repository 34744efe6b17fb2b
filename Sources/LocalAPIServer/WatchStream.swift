import Foundation
import KubeJSON

/// Turns a store subscription into the bytes of a watch response: one JSON event per line, with
/// selector transitions (an object entering the selection is ADDED, one leaving it DELETED),
/// bookmarks, the initial-events-end bookmark and the server-side timeout.
enum WatchStream {
    static func open(server: APIServer, target: APIServer.Target, context: RequestContext) throws(APIError)
        -> (AsyncStream<[UInt8]>, close: @Sendable () -> Void)
    {
        let start: WatchStart
        let version = context.resourceVersion ?? ""
        if context.sendInitialEvents || version.isEmpty || version == "0" {
            start = .currentState
        } else if let revision = Int64(version) {
            start = .after(revision)
        } else {
            throw APIError.badRequest("resourceVersion: Invalid value: \"\(version)\": must be an integer")
        }
        let subscription: WatchSubscription
        do {
            subscription = try server.store.watch(
                target.type.storageKey, namespace: target.namespace, from: start, origin: target.type.historyOrigin,
                pin: pin(target.type, context))
        } catch where error.code == 410 {
            // The real server answers 200 and reports the expiry as the watch's only event.
            let line = event("ERROR", error.status)
            let stream = AsyncStream { continuation in
                continuation.yield(line)
                continuation.finish()
            }
            return (stream, {})
        }
        let timeout = context.timeoutSeconds.map { Duration.seconds($0) } ?? .seconds(Int.random(in: 1800...3600))
        let pacing = Task {
            // Bookmarks at the interval (and one just before the timeout), then the timeout itself.
            let clock = ContinuousClock()
            let deadline = clock.now + timeout
            var nextBookmark = clock.now + server.bookmarkInterval
            while !Task.isCancelled {
                let bookmarkBeforeEnd = deadline - .milliseconds(100)
                if context.allowBookmarks && nextBookmark < bookmarkBeforeEnd {
                    try? await Task.sleep(until: nextBookmark, clock: clock)
                    if Task.isCancelled { return }
                    server.store.queueBookmark(for: subscription)
                    nextBookmark = clock.now + server.bookmarkInterval
                } else {
                    try? await Task.sleep(until: context.allowBookmarks ? bookmarkBeforeEnd : deadline, clock: clock)
                    if Task.isCancelled { return }
                    if context.allowBookmarks {
                        server.store.queueBookmark(for: subscription)
                        try? await Task.sleep(until: deadline, clock: clock)
                    }
                    subscription.continuation.yield(.timeout)
                    return
                }
            }
        }
        let writer = EventWriter(target: target, context: context, subscription: subscription, now: server.clock)
        // AsyncStream(unfolding:) pulls one chunk at a time as the HTTP writer asks: a slow client
        // leaves changes queued in the subscription, whose bound then ends the watch.
        let close: @Sendable () -> Void = {
            pacing.cancel()
            subscription.continuation.finish()
        }
        return (AsyncStream(unfolding: { await writer.next() }, onCancel: close), close)
    }

    /// The field the watch's selector pins, read from the stored object: only where the object is stored in the shape
    /// the request is served (an events.k8s.io watch reads fields a core Event stores under other names).
    private static func pin(_ type: ResourceType, _ context: RequestContext) -> WatcherIndex.Pin? {
        guard type.storedAs == nil, let field = context.fieldSelector.pinnedField else { return nil }
        return WatcherIndex.Pin(path: field.path, value: field.value)
    }

    static func event(_ type: String, _ object: JSON) -> [UInt8] {
        var bytes = JSON.object(["type": .string(type), "object": object]).serialized()
        bytes.append(0x0A)
        return bytes
    }
}

/// The watch loop's state, advanced one event at a time.
///
/// `@unchecked Sendable`: AsyncStream(unfolding:) calls `next()` strictly one call after another,
/// never concurrently, so the mutable state is only ever touched by one task at a time.
private final class EventWriter: @unchecked Sendable {
    let target: APIServer.Target
    let context: RequestContext
    let subscription: WatchSubscription
    let now: @Sendable () -> Date
    var iterator: AsyncStream<WatchSignal>.Iterator
    var initialEventsLeft: Int
    var sentInitialEventsEnd = false
    var sentHeaders = false
    var finished = false
    /// A bookmark at the revision of the last one tells the client nothing new: it is skipped.
    var lastBookmark: Int64 = -1

    init(target: APIServer.Target, context: RequestContext, subscription: WatchSubscription, now: @escaping @Sendable () -> Date) {
        self.target = target
        self.context = context
        self.subscription = subscription
        self.now = now
        iterator = subscription.signals.makeAsyncIterator()
        initialEventsLeft = subscription.initialEventCount
    }

    func next() async -> [UInt8]? {
        if finished { return nil }
        while true {
            if context.sendInitialEvents && initialEventsLeft == 0 && !sentInitialEventsEnd {
                sentInitialEventsEnd = true
                return bookmark(subscription.startRevision, initialEventsEnd: true)
            }
            guard let signal = await iterator.next() else {
                finished = true
                return nil
            }
            switch signal {
            case .timeout:
                finished = true
                subscription.continuation.finish()
                return nil
            case .bookmark(let revision):
                if context.allowBookmarks && (!context.sendInitialEvents || sentInitialEventsEnd) && revision != lastBookmark {
                    return bookmark(revision, initialEventsEnd: false)
                }
            case .change(let change):
                if initialEventsLeft > 0 { initialEventsLeft -= 1 }
                if let line = render(change) { return line }
            }
        }
    }

    private func matches(_ object: JSON) -> Bool {
        Render.selected(object, target.type, context)
    }

    private func render(_ change: StoreEvent) -> [UInt8]? {
        let type: String
        switch change.kind {
        case .added:
            guard matches(change.object) else { return nil }
            type = "ADDED"
        case .modified:
            let was = change.previous.map(matches) ?? false
            let isNow = matches(change.object)
            switch (was, isNow) {
            case (true, true): type = "MODIFIED"
            case (false, true): type = "ADDED"
            case (true, false): type = "DELETED"
            case (false, false): return nil
            }
        case .deleted:
            guard matches(change.previous ?? change.object) else { return nil }
            type = "DELETED"
        }
        switch context.format {
        case .table(let includeObject):
            let table = Table.render([Render.inVersion(change.object, target.type)], type: target.type, revision: String(change.revision),
                                     includeObject: includeObject, includeHeaders: !sentHeaders, now: now())
            sentHeaders = true
            return WatchStream.event(type, table)
        case .metadata:
            return WatchStream.event(type, Render.partialMetadata(Render.inVersion(change.object, target.type)))
        case .json:
            let resourceType = target.type
            let render = { WatchStream.event(type, Render.inVersion(change.object, resourceType)) }
            return change.renderings?.rendering("\(type) \(target.type.apiVersion) \(target.type.kind)", render) ?? render()
        }
    }

    private func bookmark(_ revision: Int64, initialEventsEnd: Bool) -> [UInt8] {
        lastBookmark = revision
        var metadata: JSONObject = ["resourceVersion": .string(String(revision))]
        if initialEventsEnd { metadata["annotations"] = ["k8s.io/initial-events-end": "true"] }
        let apiVersion: JSON = context.format == .json ? .string(target.type.apiVersion) : "meta.k8s.io/v1"
        let kind: JSON = context.format == .json ? .string(target.type.kind) : (context.format == .metadata ? "PartialObjectMetadata" : "Table")
        return WatchStream.event("BOOKMARK", ["kind": kind, "apiVersion": apiVersion, "metadata": .object(metadata)])
    }
}
