extension KubeTimestamp {
    /// Why a text is not RFC 3339's `date-time`.
    public struct ParseFailure: Error, Sendable, Equatable {
        public var problem: String
    }

    /// Reads RFC 3339's `date-time` (`2006-01-02T15:04:05Z`, `…05.123456789+02:00`), the offset required; `t`, `z`
    /// and a space for `T` are accepted, as RFC 3339 allows. Exact: seconds since the epoch and nanoseconds
    /// (0 ..< 1,000,000,000), digits beyond nanoseconds dropped.
    public static func parse(_ text: String) throws(ParseFailure) -> (secondsSinceEpoch: Int64, nanoseconds: Int32) {
        let bytes = Array(text.utf8)
        var index = 0
        func fail(_ problem: String) -> ParseFailure { ParseFailure(problem: problem) }
        func number(_ width: Int, _ field: String) throws(ParseFailure) -> Int64 {
            guard index + width <= bytes.count else { throw fail("it ends before the \(field)") }
            var value: Int64 = 0
            for byte in bytes[index..<index + width] {
                guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { throw fail("the \(field) is not \(width) digits") }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            index += width
            return value
        }
        func expect(_ separators: String, _ place: String) throws(ParseFailure) {
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
        return (seconds, Int32(nanoseconds))
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
