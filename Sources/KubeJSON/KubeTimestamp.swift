import Foundation

/// Timestamps in the text forms the Kubernetes API stores, always in UTC.
public enum KubeTimestamp {
    /// metav1.MicroTime, Go layout `2006-01-02T15:04:05.000000Z07:00`: a Lease's acquireTime and renewTime.
    public static func microTime(_ date: Date) -> String {
        let micros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
        let (seconds, fraction) = floorDivision(micros, 1_000_000)
        return microTime(unixSeconds: seconds, nanoseconds: fraction * 1_000)
    }

    /// metav1.MicroTime from a protobuf Timestamp's seconds and nanoseconds, exactly (no floating point on the way):
    /// the nanoseconds cut to whole microseconds, as Go's layout does.
    public static func microTime(unixSeconds: Int64, nanoseconds: Int64) -> String {
        let (carry, nanos) = floorDivision(nanoseconds, 1_000_000_000)
        return dateAndTime(unixSeconds + carry) + "." + padded(nanos / 1_000, 6) + "Z"
    }

    /// metav1.Time, Go layout `2006-01-02T15:04:05Z07:00`: an Event's firstTimestamp and lastTimestamp.
    public static func time(_ date: Date) -> String {
        time(unixSeconds: Int64(date.timeIntervalSince1970.rounded(.down)))
    }

    /// metav1.Time from seconds since the epoch.
    public static func time(unixSeconds: Int64) -> String {
        dateAndTime(unixSeconds) + "Z"
    }

    /// Nanoseconds since the Unix epoch, as Go's `Time.UnixNano`.
    public static func unixNanoseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1e9).rounded(.down))
    }

    /// `YYYY-MM-DDTHH:MM:SS` for seconds since the epoch, by the proleptic Gregorian calendar
    /// (days-to-civil after Howard Hinnant), without the C library's time zone state.
    private static func dateAndTime(_ unixSeconds: Int64) -> String {
        let (days, secondOfDay) = floorDivision(unixSeconds, 86_400)
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return padded(year, 4) + "-" + padded(month, 2) + "-" + padded(day, 2) + "T"
            + padded(secondOfDay / 3_600, 2) + ":" + padded(secondOfDay % 3_600 / 60, 2) + ":" + padded(secondOfDay % 60, 2)
    }

    private static func floorDivision(_ value: Int64, _ divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        let remainder = value % divisor
        return remainder < 0 ? (value / divisor - 1, remainder + divisor) : (value / divisor, remainder)
    }

    /// Zero-padded to `width` digits; a negative value (a year before 1 AD) gets its sign before the padding, as
    /// Go's layouts write year -1 as `-0001`.
    private static func padded(_ value: Int64, _ width: Int) -> String {
        if value < 0 { return "-" + padded(0 - value, width) }
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
