import Foundation
import KubeJSON

/// One call of `EventRecorder.record`, with the time it was made.
struct EventOccurrence: Sendable {
    var object: ObjectReference
    var type: EventType
    var reason: String
    var message: String
    var wallTime: Date
    var instant: MonotonicInstant
}

/// Turns occurrences into the writes to make, as client-go's EventCorrelator does: similar events (the
/// same but for the message) are combined once there are many within a window; an event seen before is
/// counted on the Event written for it; and each source and object gets a token bucket, beyond which
/// events are dropped. Owned by the recorder's one writing task, so it needs no lock.
struct EventCorrelator {
    /// A write to make: create `event`, or (`isRepeat`) patch its count, lastTimestamp and message.
    struct Correlation {
        var event: Event
        /// Where the correlator remembers the Event; the server's answer is stored under it.
        var key: String
        var isRepeat: Bool
    }

    /// client-go's aggregateRecord: the distinct messages of a group of similar events.
    private struct SimilarEvents {
        var messages: Set<String> = []
        var lastSeen: MonotonicInstant
    }

    /// client-go's eventLog: what was written for an event.
    private struct Written {
        var count: Int
        var firstTimestamp: String?
        var name: String
        var resourceVersion: String?
    }

    static let combinedMessagePrefix = "(combined from similar events): "

    private let options: EventRecorder.Options
    private let source: Event.Source
    private var similar: LRUCache<String, SimilarEvents>
    private var written: LRUCache<String, Written>
    private var spam: LRUCache<String, TokenBucket>
    /// The last name suffix handed out: names stay unique when two events share a nanosecond.
    private var lastNameNanoseconds: Int64 = 0

    init(options: EventRecorder.Options, source: Event.Source) {
        self.options = options
        self.source = source
        similar = LRUCache(capacity: options.cacheSize)
        written = LRUCache(capacity: options.cacheSize)
        spam = LRUCache(capacity: options.cacheSize)
    }

    /// The write for `occurrence`, or nil when the spam filter drops it.
    mutating func correlate(_ occurrence: EventOccurrence) -> Correlation? {
        let (event, key) = aggregate(makeEvent(occurrence), occurrence)
        let correlation = countRepeat(event, key: key)
        return isSpam(correlation.event, at: occurrence.instant) ? nil : correlation
    }

    /// Remembers the Event as the server returned it, so that the next repeat patches it.
    mutating func recordWritten(_ event: Event, key: String) {
        written.set(Written(count: event.count ?? 1, firstTimestamp: event.firstTimestamp, name: event.name,
                            resourceVersion: event.resourceVersion), for: key)
    }

    // MARK: The steps of client-go's EventCorrelate

    /// client-go's EventAggregator: the similar events of the window, by distinct message; from the
    /// `maxSimilarEvents`th on, a combined event replaces the event, remembered under the group's key.
    private mutating func aggregate(_ event: Event, _ occurrence: EventOccurrence) -> (Event, String) {
        let groupKey = Self.key(event.source?.component, event.source?.host, event.involvedObject.kind, event.involvedObject.namespace,
                                event.involvedObject.name, event.involvedObject.uid, event.involvedObject.apiVersion, event.type,
                                event.reason, event.reportingComponent, event.reportingInstance)
        var group = similar.value(for: groupKey) ?? SimilarEvents(lastSeen: occurrence.instant)
        if group.lastSeen.duration(to: occurrence.instant) > options.similarEventsWindow {
            group = SimilarEvents(lastSeen: occurrence.instant)
        }
        group.messages.insert(occurrence.message)
        group.lastSeen = occurrence.instant
        guard group.messages.count >= options.maxSimilarEvents else {
            similar.set(group, for: groupKey)
            return (event, Self.eventKey(event))
        }
        // Keep the set below the threshold, so that the next new message combines again.
        group.messages.remove(group.messages.first!)
        similar.set(group, for: groupKey)

        var combined = Event(metadata: ObjectMeta(name: uniqueName(for: occurrence), namespace: event.namespace),
                             involvedObject: event.involvedObject)
        combined.count = 1
        combined.firstTimestamp = event.firstTimestamp
        combined.lastTimestamp = event.lastTimestamp
        combined.message = Self.combinedMessagePrefix + occurrence.message
        combined.type = event.type
        combined.reason = event.reason
        combined.source = event.source
        return (combined, groupKey)
    }

    /// client-go's eventLogger: an event written before takes that Event's name and first timestamp and
    /// one more on its count.
    private mutating func countRepeat(_ event: Event, key: String) -> Correlation {
        var event = event
        var isRepeat = false
        if let previous = written.value(for: key), previous.count > 0 {
            event.metadata.name = previous.name
            event.metadata.resourceVersion = previous.resourceVersion
            event.firstTimestamp = previous.firstTimestamp
            event.count = previous.count + 1
            isRepeat = true
        }
        // Counted before it is written, and even if the spam filter drops it, as client-go does.
        written.set(Written(count: event.count ?? 1, firstTimestamp: event.firstTimestamp, name: event.name,
                            resourceVersion: event.resourceVersion), for: key)
        return Correlation(event: event, key: key, isRepeat: isRepeat)
    }

    /// client-go's EventSourceObjectSpamFilter: a token bucket per source and object.
    private mutating func isSpam(_ event: Event, at instant: MonotonicInstant) -> Bool {
        let key = Self.key(event.source?.component, event.source?.host, event.involvedObject.kind, event.involvedObject.namespace,
                           event.involvedObject.name, event.involvedObject.uid, event.involvedObject.apiVersion)
        var bucket = spam.value(for: key) ?? TokenBucket(rate: options.spamQPS, burst: options.spamBurst, now: instant)
        let allowed = bucket.tryTake(at: instant)
        spam.set(bucket, for: key)
        return !allowed
    }

    // MARK: Making events

    /// client-go's makeEvent: named `<object>.<nanoseconds in hex>`, in the object's namespace (or default).
    private mutating func makeEvent(_ occurrence: EventOccurrence) -> Event {
        let namespace = occurrence.object.namespace.flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        var event = Event(metadata: ObjectMeta(name: uniqueName(for: occurrence), namespace: namespace), involvedObject: occurrence.object)
        let timestamp = KubeTimestamp.time(occurrence.wallTime)
        event.reason = occurrence.reason
        event.message = occurrence.message
        event.firstTimestamp = timestamp
        event.lastTimestamp = timestamp
        event.count = 1
        event.type = occurrence.type.rawValue
        event.source = source
        event.reportingComponent = source.component
        event.reportingInstance = source.host
        return event
    }

    private mutating func uniqueName(for occurrence: EventOccurrence) -> String {
        lastNameNanoseconds = max(KubeTimestamp.unixNanoseconds(occurrence.wallTime), lastNameNanoseconds + 1)
        return "\(occurrence.object.name ?? "").\(String(lastNameNanoseconds, radix: 16))"
    }

    /// client-go's getEventKey: everything that makes two events the same one.
    private static func eventKey(_ event: Event) -> String {
        key(event.source?.component, event.source?.host, event.involvedObject.kind, event.involvedObject.namespace,
            event.involvedObject.name, event.involvedObject.fieldPath, event.involvedObject.uid, event.involvedObject.apiVersion,
            event.type, event.reason, event.message)
    }

    /// The parts joined with a separator no part contains (client-go joins them with nothing, which lets
    /// different parts run together into one key).
    private static func key(_ parts: String?...) -> String {
        parts.map { $0 ?? "" }.joined(separator: "\u{1F}")
    }
}
