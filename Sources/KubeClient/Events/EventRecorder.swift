import Foundation
import KubeJSON
import Logging
import Synchronization

/// core/v1 Event types.
public enum EventType: String, Sendable {
    case normal = "Normal"
    case warning = "Warning"
}

/// Records core/v1 Events about objects, as client-go's record.EventRecorder with its broadcaster and
/// EventCorrelator: repeats of an event count up on one Event, many similar events combine into one, and a
/// source cannot flood an object.
///
/// `record` never blocks and never throws: it stamps the event and puts it on a bounded queue, dropping
/// (and counting) it when the queue is full. `run()` drains the queue in one task, one write at a time,
/// which keeps the correlation state single-owner and the writes in order.
public final class EventRecorder: Sendable {
    public struct Options: Sendable {
        /// Events waiting to be written; more are dropped (client-go's maxQueuedEvents).
        public var queueCapacity = 1000
        /// Writes of one event before it is given up, and the pause between them (the first pause is a random
        /// part of it, so that recorders do not retry in step after an outage).
        public var maxTries = 12
        public var retryDelay: Duration = .seconds(10)
        /// From this many distinct messages of otherwise identical events within `similarEventsWindow`,
        /// they are combined into one Event (client-go's EventAggregator: 10 in 10 minutes).
        public var maxSimilarEvents = 10
        public var similarEventsWindow: Duration = .seconds(600)
        /// Per source and object: `spamBurst` events, then one every 1/`spamQPS` seconds (25, then one per 5 minutes).
        public var spamBurst = 25
        public var spamQPS = 1.0 / 300
        /// Entries in each of the correlation caches.
        public var cacheSize = 4096

        public init() {}
    }

    /// What became of the events recorded so far.
    public struct Stats: Sendable, Equatable {
        /// Accepted onto the queue.
        public var queued = 0
        /// Not accepted: the queue was full, or the recorder had stopped.
        public var droppedQueueFull = 0
        /// Dropped by the per-object spam filter.
        public var droppedAsSpam = 0
        public var created = 0
        /// Repeats counted on an existing Event.
        public var patched = 0
        /// Refused by the server, without a name to write under, or given up after `maxTries`.
        public var failed = 0

        public init(queued: Int = 0, droppedQueueFull: Int = 0, droppedAsSpam: Int = 0, created: Int = 0, patched: Int = 0, failed: Int = 0) {
            self.queued = queued
            self.droppedQueueFull = droppedQueueFull
            self.droppedAsSpam = droppedAsSpam
            self.created = created
            self.patched = patched
            self.failed = failed
        }
    }

    private enum WriteOutcome {
        case written(Event, created: Bool)
        case rejected
        case retry(any Error)
        case cancelled
    }

    private let client: KubeClient
    private let source: Event.Source
    private let options: Options
    private let clock: any KubeClock
    private let logger: Logger
    private let queue: AsyncStream<EventOccurrence>
    private let input: AsyncStream<EventOccurrence>.Continuation
    private let counters = Mutex(Stats())
    private let draining = Atomic<Bool>(false)

    /// `component` and `host` are the Events' source (and reportingComponent, reportingInstance).
    public init(client: KubeClient, component: String, host: String? = nil, options: Options = Options(),
                clock: any KubeClock = SystemClock(), logger: Logger = Logger(label: "conductor.events")) {
        self.client = client
        self.source = Event.Source(component: component, host: host)
        self.options = options
        self.clock = clock
        self.logger = logger
        (queue, input) = AsyncStream.makeStream(of: EventOccurrence.self, bufferingPolicy: .bufferingOldest(max(1, options.queueCapacity)))
    }

    public var stats: Stats { counters.withLock { $0 } }

    /// Queues an Event about `object`; returns at once. The object needs a name; the Event goes to its
    /// namespace, or to default for a cluster-scoped object.
    public func record(_ object: ObjectReference, type: EventType, reason: String, message: String) {
        guard let name = object.name, !name.isEmpty else {
            counters.withLock { $0.failed += 1 }
            logger.error("cannot record an event about an object without a name", metadata: ["reason": "\(reason)", "object": "\(object)"])
            return
        }
        let occurrence = EventOccurrence(object: object, type: type, reason: reason, message: message,
                                         wallTime: clock.wallTime, instant: clock.now)
        if case .enqueued = input.yield(occurrence) {
            counters.withLock { $0.queued += 1 }
            return
        }
        let dropped = counters.withLock { stats in
            stats.droppedQueueFull += 1
            return stats.droppedQueueFull
        }
        // Logged at 1, 2, 4, 8… drops: a flood of events must not become a flood of logs.
        if dropped & (dropped - 1) == 0 {
            logger.warning("event queue full or stopped: dropping events", metadata: ["dropped": "\(dropped)", "reason": "\(reason)", "object": "\(name)"])
        }
    }

    /// Accepts no more events; `run()` returns once it has written those queued.
    public func finish() {
        input.finish()
    }

    /// Writes the queued events until `finish()` (after the last one) or until the task is cancelled (the
    /// rest are dropped, and recording ends). One run at a time: a second concurrent call returns at once.
    public func run() async {
        guard draining.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else {
            logger.error("the event recorder is already running in another task")
            return
        }
        defer { draining.store(false, ordering: .releasing) }
        var correlator = EventCorrelator(options: options, source: source)
        for await occurrence in queue {
            guard let correlation = correlator.correlate(occurrence) else {
                counters.withLock { $0.droppedAsSpam += 1 }
                logger.debug("event dropped by the spam filter", metadata: ["reason": "\(occurrence.reason)", "object": "\(occurrence.object.name ?? "")"])
                continue
            }
            guard await write(correlation, into: &correlator) else { return }
        }
    }

    // MARK: Writing

    /// Writes with retries (client-go's recordToSink); false if the task was cancelled.
    private func write(_ correlation: EventCorrelator.Correlation, into correlator: inout EventCorrelator) async -> Bool {
        for attempt in 1...max(1, options.maxTries) {
            switch await writeOnce(correlation) {
            case .written(let event, let created):
                correlator.recordWritten(event, key: correlation.key)
                counters.withLock { created ? ($0.created += 1) : ($0.patched += 1) }
                return true
            case .rejected:
                counters.withLock { $0.failed += 1 }
                return true
            case .cancelled:
                return false
            case .retry(let error):
                guard attempt < options.maxTries else {
                    counters.withLock { $0.failed += 1 }
                    logger.error("unable to write event: retry limit exceeded", metadata: ["event": "\(correlation.event.name)", "error": "\(error)"])
                    return true
                }
                logger.warning("unable to write event; will retry", metadata: ["event": "\(correlation.event.name)", "error": "\(error)"])
                let pause = attempt == 1 ? options.retryDelay * Double.random(in: 0..<1) : options.retryDelay
                do { try await clock.sleep(for: pause) } catch { return false }
            }
        }
        return true
    }

    /// One write (client-go's recordEvent): a repeat patches the Event, and creates it again if the server
    /// has deleted it meanwhile (Events expire); a new event is created. The server refusing the event is
    /// final; the server not being reached is worth another try.
    private func writeOnce(_ correlation: EventCorrelator.Correlation) async -> WriteOutcome {
        var event = correlation.event
        let events = client.resource(Event.self, namespace: event.namespace)
        do {
            if correlation.isRepeat {
                let changes: JSON = ["count": .int(Int64(event.count ?? 1)), "lastTimestamp": .string(event.lastTimestamp ?? ""),
                                     "message": .string(event.message ?? "")]
                do {
                    return .written(try await events.patch(event.name, .merge(changes)), created: false)
                } catch let error as KubeAPIError where error.reason == .notFound {
                    logger.debug("the event to count on is gone; creating it again", metadata: ["event": "\(event.name)"])
                }
            }
            event.metadata.resourceVersion = nil
            return .written(try await events.create(event), created: true)
        } catch is CancellationError {
            return .cancelled
        } catch let error as KubeAPIError {
            if error.reason == .alreadyExists {
                logger.debug("server rejected event (will not retry)", metadata: ["event": "\(event.name)", "error": "\(error)"])
            } else {
                logger.error("server rejected event (will not retry)", metadata: ["event": "\(event.name)", "error": "\(error)"])
            }
            return .rejected
        } catch {
            return Task.isCancelled ? .cancelled : .retry(error)
        }
    }
}

extension ObjectReference {
    /// A reference to a typed object, as client-go's reference.GetReference makes one.
    public init<Object: KubeResource>(_ object: Object, fieldPath: String? = nil) {
        self.init(apiVersion: Object.resource.apiVersion, kind: Object.resource.kind, namespace: object.namespace, name: object.name,
                  uid: object.uid, resourceVersion: object.resourceVersion, fieldPath: fieldPath)
    }

    /// A reference to an untyped object, from its apiVersion, kind and metadata.
    public init(_ object: JSON, fieldPath: String? = nil) {
        self.init(apiVersion: object["apiVersion"]?.string, kind: object["kind"]?.string, namespace: object.namespace, name: object.name,
                  uid: object.uid, resourceVersion: object.resourceVersion, fieldPath: fieldPath)
    }
}
