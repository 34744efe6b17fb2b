import Testing

@testable import ConductorMCP

/// The Date header's IMF-fixdate: two-digit day and time, English names, GMT.
struct HTTPDateTests {
    @Test func theEpochAndADayInDecemberAreWrittenAsRFC9110Asks() {
        #expect(HTTPDate.string(secondsSince1970: 0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.string(secondsSince1970: 1_796_288_707) == "Thu, 03 Dec 2026 09:05:07 GMT")
        #expect(HTTPDate.string(secondsSince1970: 951_782_400) == "Tue, 29 Feb 2000 00:00:00 GMT")
    }
}
