import Synchronization

/// Keeps a cache of one kind of resource in step with the server, and tells each subscriber and handler
/// every change once, in order: client-go's SharedIndexInformer with its Reflector.
///
/// `run()` lists, then watches from the list's resourceVersion; when the watch is lost it resumes from the
/// last resourceVersion it saw, and when the server answers 410 it lists again and tells only the difference
/// (`InformerCache.replace`). So after a lost connection or a 410 the cache neither misses nor repeats a
/// change, and neither do the events.
///
///     let informer = try Informer(client.resource(taskResource), indexes: [.label("team")])
///     informer.addHandler(onAdd: { task in ... }, onUpdate: { old, new in ... }, onDelete: { task in ... })
///     group.addTask { try await informer.run() }
///     try await informer.waitUntilSynced()
///     let mine = try informer.byIndex("label:team", "blue")
public final class Informer<Object: KubeObject>: Sendable {
    public typealias Handler = @Sendable (InformerEvent<Object>) async -> Void
    /// A subscriber's events (`events()`): bounded by `subscriberBufferLimit`.
    public typealias Events = BoundedStream<AsyncStream<InformerEvent<Object>>>

    private struct Subscriber {
        var continuation: AsyncStream<InformerEvent<Object>>.Continuation
        var budget: DeliveryBudget

        /// Counts `events` against the subscriber's budget, then queues them; never waits. Counted first: a
        /// consumer woken by the first yield may take it before a count made afterwards, which then never
        /// comes off (the informer waited for good on events nobody held).
        func deliver(_ events: [InformerEvent<Object>]) {
            budget.delivered(events.count)
            for event in events { continuation.yield(event) }
        }
    }

    private struct State: ~Copyable {
        var cache: InformerCache<Object>
        var subscribers: [Int: Subscriber] = [:]
        var syncWaiters: [Int: CheckedContinuation<Void, any Error>] = [:]
        var synced = false
        var started = false
        var stopped = false
        var lastSyncResourceVersion: String?
        /// Waiting for a slow subscriber (`waitForSubscribers`).
        var heldBack = false
        /// The objects left out because they do not decode, by key, with the version reported: each is told once.
        var undecodable: [String: String?] = [:]
    }

    private struct HandlerRegistration: Sendable {
        var events: Events
        var handler: Handler
    }

    public let resource: ResourceClient<Object>
    public let options: WatchOptions
    public let backoff: WatchBackoff
    /// How many events a subscriber may have waiting unread before the informer stops taking in more: the
    /// watch then waits, and through it the server (see `DeliveryBudget`), until the slowest subscriber has
    /// read half of them. A burst (a relist, a new subscriber's first view of the cache) may exceed it once.
    public let subscriberBufferLimit: Int
    /// Applied to each object before it is cached or told (client-go's SetTransform): a consumer that needs
    /// less than the whole object drops the rest here, once, instead of keeping it in every copy.
    private let transform: (@Sendable (Object) -> Object)?
    /// Told of each object left out because it does not decode, once per version (see `UndecodableObject`).
    private let reportUndecodable: @Sendable (UndecodableObject) -> Void
    private let state: Mutex<State>
    private let nextID = Atomic<Int>(0)
    /// Handlers added before or while `run()` runs; `run()` gives each a task that delivers its events.
    private let registrations: AsyncStream<HandlerRegistration>
    private let registrar: AsyncStream<HandlerRegistration>.Continuation

    /// `resource` decides the namespace (nil: all of them); `options` the selectors and watch timeouts.
    /// The namespace index is always there; `indexes` adds more (their names must differ).
    /// An object the model cannot read is left out of the cache, counted (`informer_undecodable_objects_total`),
    /// logged once per version and passed to `reportUndecodable`; the watch goes on past it.
    public init(_ resource: ResourceClient<Object>, options: WatchOptions = WatchOptions(),
                indexes: [InformerIndex<Object>] = [], backoff: WatchBackoff = WatchBackoff(),
                subscriberBufferLimit: Int = 1024, transform: (@Sendable (Object) -> Object)? = nil,
                reportUndecodable: @escaping @Sendable (UndecodableObject) -> Void = { _ in }) throws(InformerError) {
        guard subscriberBufferLimit > 0 else { throw .invalidBufferLimit(subscriberBufferLimit) }
        self.transform = transform
        self.resource = resource
        self.options = options
        self.backoff = backoff
        self.subscriberBufferLimit = subscriberBufferLimit
        self.reportUndecodable = reportUndecodable
        state = Mutex(State(cache: try InformerCache(indexes: [.namespace] + indexes)))
        (registrations, registrar) = AsyncStream.makeStream(of: HandlerRegistration.self)
    }

    // MARK: Running

    /// Lists, watches and delivers events to the handlers until the calling task is cancelled; then it
    /// returns, after ending every subscriber's stream. An informer runs once.
    /// Errors of the server and the connection are retried with `backoff`, never thrown.
    public func run() async throws(InformerError) {
        try state.withLock { (state: inout State) throws(InformerError) in
            guard !state.started else { throw .alreadyStarted(resource: resource.resource.plural) }
            state.started = true
        }
        await withDiscardingTaskGroup { group in
            group.addTask { await self.reflect() }
            // Ends when the task is cancelled: an AsyncStream's iteration stops then.
            for await registration in registrations {
                group.addTask {
                    for await event in registration.events { await registration.handler(event) }
                }
            }
            group.cancelAll()
        }
        stop()
    }

    /// The Reflector: the resuming watch's updates into the cache.
    private func reflect() async {
        do {
            for try await update in resource.watch(options: options, backoff: backoff) {
                apply(update)
                await waitForSubscribers()
            }
        } catch {
            // The resuming watch retries every failure and only finishes when cancelled; say so if that changes.
            resource.client.logger.error("informer watch ended", metadata: ["resource": "\(resource.resource.plural)", "error": "\(error)"])
        }
    }

    private func apply(_ update: WatchUpdate<Object>) {
        let update = transform.map { update.map($0) } ?? update
        var newlyUndecodable: [UndecodableObject] = []
        let waiters = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            let events: [InformerEvent<Object>]
            switch update {
            case .relisted(let list):
                events = state.cache.replace(with: list.items)
                state.lastSyncResourceVersion = list.resourceVersion
                let bad = Dictionary(list.undecodable.map { ($0.key, $0) }, uniquingKeysWith: { $1 })
                state.undecodable = state.undecodable.filter { bad[$0.key] != nil }
                for skipped in list.undecodable where state.undecodable[skipped.key] != .some(skipped.resourceVersion) {
                    state.undecodable[skipped.key] = .some(skipped.resourceVersion)
                    newlyUndecodable.append(skipped)
                }
            case .event(let event):
                events = state.cache.apply(event)
                if let version = event.resourceVersion { state.lastSyncResourceVersion = version }
                switch event {
                case .undecodable(let skipped) where state.undecodable[skipped.key] != .some(skipped.resourceVersion):
                    state.undecodable[skipped.key] = .some(skipped.resourceVersion)
                    newlyUndecodable.append(skipped)
                case .added(let object), .modified(let object), .deleted(let object):
                    state.undecodable[object.key] = nil
                default:
                    break
                }
            }
            // Under the lock, so that a subscriber that joins now gets the cache and then exactly the changes
            // after it. Yielding never runs the consumer here; it only queues.
            for subscriber in state.subscribers.values {
                subscriber.deliver(events)
            }
            guard case .relisted = update, !state.synced else { return [] }
            state.synced = true
            defer { state.syncWaiters.removeAll() }
            return Array(state.syncWaiters.values)
        }
        for waiter in waiters { waiter.resume() }
        for skipped in newlyUndecodable {
            ClientMetrics.recordUndecodable(resource: resource.resource.plural)
            resource.client.logger.warning("left out an object the model cannot read; the watch goes on", metadata: [
                "resource": "\(resource.resource.plural)", "object": "\(skipped.key)",
                "resourceVersion": "\(skipped.resourceVersion ?? "")", "reason": "\(skipped.reason)",
            ])
            reportUndecodable(skipped)
        }
    }

    /// Holds the watch back while a subscriber is over its buffer limit, until it has read half of it.
    private func waitForSubscribers() async {
        // Closures, not key paths: a key path into a generic type is built anew at each use (the runtime demangles
        // its type), and this runs after every event.
        let behind = state.withLock { state in
            var behind: [DeliveryBudget] = []
            for subscriber in state.subscribers.values where subscriber.budget.outstanding > subscriberBufferLimit {
                behind.append(subscriber.budget)
            }
            state.heldBack = !behind.isEmpty
            return behind
        }
        guard !behind.isEmpty else { return }
        ClientMetrics.recordHeldBack(resource: resource.resource.plural)
        for budget in behind { await budget.waitForRoom() }
        state.withLock { $0.heldBack = false }
    }

    /// The most events any subscriber has been handed and not yet read.
    var largestSubscriberBacklog: Int {
        state.withLock { state in state.subscribers.values.map { $0.budget.outstanding }.max() ?? 0 }
    }

    /// Whether the informer is waiting for a subscriber over `subscriberBufferLimit` to catch up: its cache and
    /// the other subscribers do not move on meanwhile.
    public var isHeldBack: Bool { state.withLock { $0.heldBack } }

    /// Keys of the objects left out now because they do not decode.
    public var undecodableKeys: [String] { state.withLock { $0.undecodable.keys.sorted() } }

    private func stop() {
        let (subscribers, waiters) = state.withLock { state in
            state.stopped = true
            defer {
                state.subscribers.removeAll()
                state.syncWaiters.removeAll()
            }
            return (Array(state.subscribers.values), Array(state.syncWaiters.values))
        }
        // Outside the lock: finishing runs each stream's termination handler, which takes the lock.
        registrar.finish()
        for subscriber in subscribers { subscriber.continuation.finish() }
        for waiter in waiters { waiter.resume(throwing: InformerError.stopped(resource: resource.resource.plural)) }
    }

    // MARK: Sync

    /// Whether the cache holds the first complete list.
    public var hasSynced: Bool { state.withLock { $0.synced } }

    /// The resourceVersion of the last list or event the cache took in.
    public var lastSyncResourceVersion: String? { state.withLock { $0.lastSyncResourceVersion } }

    /// Returns once the cache holds the first complete list. Throws `CancellationError` when the waiting task
    /// is cancelled, `InformerError.stopped` when the informer stopped first.
    public func waitUntilSynced() async throws {
        let id = nextID.add(1, ordering: .relaxed).oldValue
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome = state.withLock { state -> Result<Void, any Error>? in
                    if state.synced { return .success(()) }
                    if state.stopped { return .failure(InformerError.stopped(resource: resource.resource.plural)) }
                    // Checked under the lock: a cancellation handler that ran before this found nothing to resume.
                    if Task.isCancelled { return .failure(CancellationError()) }
                    state.syncWaiters[id] = continuation
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let waiter = state.withLock { $0.syncWaiters.removeValue(forKey: id) }
            waiter?.resume(throwing: CancellationError())
        }
    }

    // MARK: Events

    /// Every change from now on, in order, after an `.added` for each object cached now (by key), as client-go
    /// tells a handler added late. The stream ends when the informer stops; ending its iteration unsubscribes.
    /// A consumer that falls `subscriberBufferLimit` events behind holds the informer back (every subscriber
    /// then waits for it): it costs time, never events, and memory stays bounded.
    public func events() -> Events {
        let (stream, continuation) = AsyncStream.makeStream(of: InformerEvent<Object>.self)
        let budget = DeliveryBudget(limit: subscriberBufferLimit)
        let subscriber = Subscriber(continuation: continuation, budget: budget)
        let id = nextID.add(1, ordering: .relaxed).oldValue
        continuation.onTermination = { [weak self] _ in
            // Nothing will be read any more: the informer must not wait for this subscriber.
            budget.end()
            // Never waits for `state`: a cancelled subscriber's handler runs with that task's runtime lock held,
            // and `apply` holding `state` may be waking the same task (a yield), which needs that lock. The
            // removed continuation is released outside the lock.
            guard let self else { return }
            let removed = self.state.withLockIfAvailable { $0.subscribers.removeValue(forKey: id) }
            if removed == nil {
                Task { _ = self.state.withLock { $0.subscribers.removeValue(forKey: id) } }
            }
        }
        let stopped = state.withLock { state in
            subscriber.deliver(state.cache.objects.sorted { $0.key < $1.key }.map { InformerEvent.added($0.value) })
            if !state.stopped { state.subscribers[id] = subscriber }
            return state.stopped
        }
        if stopped { continuation.finish() }
        return BoundedStream(stream, budget: budget)
    }

    /// Calls `handler` with every event of `events()`, one at a time and in order, on a task of `run()`.
    public func addHandler(_ handler: @escaping Handler) {
        registrar.yield(HandlerRegistration(events: events(), handler: handler))
    }

    /// The three handlers of client-go's ResourceEventHandlerFuncs; a deletion found by a list passes the
    /// last state the cache saw.
    public func addHandler(onAdd: @escaping @Sendable (Object) async -> Void = { _ in },
                           onUpdate: @escaping @Sendable (_ old: Object, _ new: Object) async -> Void = { _, _ in },
                           onDelete: @escaping @Sendable (Object) async -> Void = { _ in }) {
        addHandler { event in
            switch event {
            case .added(let object): await onAdd(object)
            case .updated(let old, let new): await onUpdate(old, new)
            case .deleted(let object, _): await onDelete(object)
            }
        }
    }

    // MARK: The cache

    public func get(_ key: String) -> Object? { state.withLock { $0.cache.objects[key] } }

    /// Every cached object, by key.
    public func list() -> [Object] {
        // Sorted by the cache's stored keys: an object's `key` is built anew at each call.
        state.withLock { state in state.cache.objects.sorted { $0.key < $1.key }.map { $0.value } }
    }

    public var keys: [String] { state.withLock { $0.cache.objects.keys.sorted() } }

    /// The objects an index files under `value`, by key.
    public func byIndex(_ name: String, _ value: String) throws(InformerError) -> [Object] {
        try state.withLock { (state: inout State) throws(InformerError) in try state.cache.byIndex(name, value) }
    }

    public func byIndex(_ index: InformerIndex<Object>, _ value: String) throws(InformerError) -> [Object] {
        try byIndex(index.name, value)
    }

    /// The values an index files objects under now.
    public func indexValues(_ name: String) throws(InformerError) -> [String] {
        try state.withLock { (state: inout State) throws(InformerError) in try state.cache.indexValues(name) }
    }

    /// Adds an index, filing what is cached already.
    public func addIndex(_ index: InformerIndex<Object>) throws(InformerError) {
        try state.withLock { (state: inout State) throws(InformerError) in try state.cache.addIndex(index) }
    }
}

extension WatchUpdate {
    /// The same update with `transform` applied to each object.
    func map(_ transform: (Object) -> Object) -> Self {
        switch self {
        case .relisted(var list):
            list.items = list.items.map(transform)
            return .relisted(list)
        case .event(.added(let object)): return .event(.added(transform(object)))
        case .event(.modified(let object)): return .event(.modified(transform(object)))
        case .event(.deleted(let object)): return .event(.deleted(transform(object)))
        case .event: return self
        }
    }
}

extension WatchEvent {
    /// The resourceVersion the event brings the receiver to; nil for an error or an empty bookmark.
    var resourceVersion: String? {
        switch self {
        case .added(let object), .modified(let object), .deleted(let object): object.resourceVersion
        case .bookmark(let version, _): version.isEmpty ? nil : version
        case .undecodable(let skipped): skipped.resourceVersion
        case .error: nil
        }
    }
}
