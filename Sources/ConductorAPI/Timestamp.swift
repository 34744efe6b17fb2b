import Foundation
import KubeJSON

/// A point in time as the API stores it: RFC 3339 text (`2030-06-10T12:00:00Z`), read with any offset and
/// fraction, written in UTC.
///
/// Held as whole seconds and nanoseconds since the Unix epoch, so that a timestamp read from the server is
/// written back exactly as it was (a `Date` is a Double and loses nanoseconds). Whole seconds are written
/// without a fraction, as Kubernetes writes metav1.Time; a fraction is written with its trailing zeros
/// trimmed, as Go's RFC3339Nano.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let secondsSinceEpoch: Int64
    /// 0 ..< 1_000_000_000.
    public let nanoseconds: Int32

    public init(secondsSinceEpoch: Int64, nanoseconds: Int32 = 0) {
        // Normalized (floor division) so that equal instants are equal values.
        let remainder = nanoseconds % 1_000_000_000
        let carry = Int64(nanoseconds / 1_000_000_000) - (remainder < 0 ? 1 : 0)
        self.secondsSinceEpoch = secondsSinceEpoch + carry
        self.nanoseconds = remainder < 0 ? remainder + 1_000_000_000 : remainder
    }

    /// The instant of `date`, to the nearest microsecond (what a Double holds reliably for present-day dates).
    public init(_ date: Date) {
        let micros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
        let seconds = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
        self.init(secondsSinceEpoch: seconds, nanoseconds: Int32((micros - seconds * 1_000_000) * 1_000))
    }

    /// Parses RFC 3339 (`2006-01-02T15:04:05Z`, `…05.123456789+02:00`). `t`, `z` and a space for `T` are
    /// accepted, as RFC 3339 allows.
    public init(rfc3339 text: String) throws(TimestampError) {
        do {
            let (seconds, nanoseconds) = try KubeTimestamp.parse(text)
            self.init(secondsSinceEpoch: seconds, nanoseconds: nanoseconds)
        } catch {
            throw TimestampError(text: text, problem: error.problem)
        }
    }

    /// Whole seconds: the precision Kubernetes keeps for metav1.Time fields (conditions, heartbeats).
    public static func now(_ date: Date = Date()) -> Timestamp {
        Timestamp(secondsSinceEpoch: Int64(date.timeIntervalSince1970.rounded(.down)))
    }

    public var date: Date {
        Date(timeIntervalSince1970: TimeInterval(secondsSinceEpoch) + TimeInterval(nanoseconds) / 1e9)
    }

    /// The RFC 3339 text, in UTC.
    public var rfc3339: String {
        let whole = KubeTimestamp.time(unixSeconds: secondsSinceEpoch)
        guard nanoseconds != 0 else { return whole }
        var fraction = String(nanoseconds)
        fraction = String(repeating: "0", count: 9 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return String(whole.dropLast()) + "." + fraction + "Z"
    }

    public var description: String { rfc3339 }

    /// This instant moved by `duration` (nanosecond precision).
    public func adding(_ duration: Duration) -> Timestamp {
        let (seconds, attoseconds) = duration.components
        return Timestamp(secondsSinceEpoch: secondsSinceEpoch + seconds,
                         nanoseconds: nanoseconds + Int32(attoseconds / 1_000_000_000))
    }

    /// How long from this instant to `later` (negative when `later` is earlier).
    public func duration(to later: Timestamp) -> Duration {
        .seconds(later.secondsSinceEpoch - secondsSinceEpoch) + .nanoseconds(Int64(later.nanoseconds) - Int64(nanoseconds))
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        (lhs.secondsSinceEpoch, lhs.nanoseconds) < (rhs.secondsSinceEpoch, rhs.nanoseconds)
    }
}

extension Timestamp: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            try self.init(rfc3339: text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rfc3339)
    }
}

/// Why a text is not an RFC 3339 timestamp; carries the text so that the message names it.
public struct TimestampError: Error, Sendable, Equatable, CustomStringConvertible {
    public var text: String
    public var problem: String
    public var description: String {
        "\"\(text)\" is not an RFC 3339 timestamp (for example 2030-06-10T12:00:00Z): \(problem)"
    }
}
