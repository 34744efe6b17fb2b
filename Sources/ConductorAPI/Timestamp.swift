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
        self = try RFC3339.parse(text)
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
        // KubeTimestamp writes whole seconds exactly (a whole number of seconds is exact in a Double).
        let whole = KubeTimestamp.time(Date(timeIntervalSince1970: TimeInterval(secondsSinceEpoch)))
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

/// RFC 3339's `date-time`: `full-date "T" full-time`, the offset required.
private enum RFC3339 {
    static func parse(_ text: String) throws(TimestampError) -> Timestamp {
        let bytes = Array(text.utf8)
        var index = 0
        func fail(_ problem: String) -> TimestampError { TimestampError(text: text, problem: problem) }
        func number(_ width: Int, _ field: String) throws(TimestampError) -> Int64 {
            guard index + width <= bytes.count else { throw fail("it ends before the \(field)") }
            var value: Int64 = 0
            for byte in bytes[index..<index + width] {
                guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { throw fail("the \(field) is not \(width) digits") }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            index += width
            return value
        }
        func expect(_ separators: String, _ place: String) throws(TimestampError) {
            guard index < bytes.count, separators.utf8.contains(bytes[index]) else {
                throw fail("expected \(separators.map { "'\($0)'" }.joined(separator: " or ")) \(place)")
            }
            index += 1
        }

        let year = try number(4, "year")
        try expect("-", "after the year")
        let month = try number(2, "month")
        try expect("-", "after the month")
        let day = try number(2, "day")
        try expect("Tt ", "between the date and the time")
        let hour = try number(2, "hour")
        try expect(":", "after the hour")
        let minute = try number(2, "minute")
        try expect(":", "after the minute")
        let second = try number(2, "second")
        var nanoseconds: Int64 = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            var digits = 0
            while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
                // Digits beyond nanoseconds are read and dropped.
                if digits < 9 { nanoseconds = nanoseconds * 10 + Int64(bytes[index] - UInt8(ascii: "0")) }
                digits += 1
                index += 1
            }
            guard digits > 0 else { throw fail("a '.' with no fraction digits after it") }
            for _ in digits..<max(digits, 9) { nanoseconds *= 10 }
        }
        guard index < bytes.count else { throw fail("it has no time zone offset (Z or ±hh:mm)") }
        var offsetSeconds: Int64 = 0
        switch bytes[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            index += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let sign: Int64 = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            index += 1
            let offsetHours = try number(2, "offset hours")
            try expect(":", "in the offset")
            let offsetMinutes = try number(2, "offset minutes")
            guard offsetHours < 24, offsetMinutes < 60 else { throw fail("the offset is out of range") }
            offsetSeconds = sign * (offsetHours * 3_600 + offsetMinutes * 60)
        default:
            throw fail("it has no time zone offset (Z or ±hh:mm)")
        }
        guard index == bytes.count else { throw fail("unexpected text after the offset") }

        guard (1...12).contains(month) else { throw fail("month \(month) is out of range") }
        guard (1...daysInMonth(month, year: year)).contains(day) else { throw fail("day \(day) is out of range for the month") }
        // 60 is a leap second, which RFC 3339 allows; as Go does, it is read as the next second.
        guard hour < 24, minute < 60, second <= 60 else { throw fail("the time of day is out of range") }

        let seconds = daysSinceEpoch(year: year, month: month, day: day) * 86_400 + hour * 3_600 + minute * 60 + second - offsetSeconds
        return Timestamp(secondsSinceEpoch: seconds, nanoseconds: Int32(nanoseconds))
    }

    private static func daysInMonth(_ month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days from 1970-01-01 in the proleptic Gregorian calendar (days-from-civil, after Howard Hinnant).
    private static func daysSinceEpoch(year: Int64, month: Int64, day: Int64) -> Int64 {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
