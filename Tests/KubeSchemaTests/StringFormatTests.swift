import KubeJSON
import Testing
@testable import KubeSchema

@Suite struct StringFormatTests {
    @Test(arguments: [
        ("date-time", "2030-06-10T12:00:00Z", true), ("date-time", "2030-06-10t12:00:00z", true),
        ("date-time", "2030-06-10T12:00:00.5-07:00", true), ("date-time", "2030-06-10T24:00:00Z", false),
        ("date-time", "2030-06-10T12:00:00", false), ("date-time", "tomorrow", false),
        ("date", "2024-02-29", true), ("date", "2023-02-29", false), ("date", "2024-2-9", false),
        ("byte", "aGVsbG8=", true), ("byte", "aGVsbA==", true), ("byte", "", false), ("byte", "a===", false),
        ("uuid", "123E4567-E89B-12D3-A456-426614174000", true), ("uuid", "123e4567e89b12d3a456426614174000", true),
        ("uuid", "123e4567-e89b-12d3-a456-42661417400", false), ("uuid4", "123e4567-e89b-42d3-a456-426614174000", true),
        ("uuid4", "123e4567-e89b-12d3-a456-426614174000", false),
        ("email", "ops@example.com", true), ("email", "Ops <ops@example.com>", true), ("email", "ops@", false),
        ("hostname", "example.com", true), ("hostname", "localhost", true), ("hostname", "a.b", false),
        ("hostname", "-x.com", false), ("hostname", "ex ample.com", false), ("hostname", "a-bc", true), ("hostname", "ab-c", false),
        ("hostname", "my-host.example-1.com", true), ("hostname", "a.b--c", false),
        ("ipv4", "10.0.0.1", true), ("ipv4", "10.0.0.256", false), ("ipv4", "010.0.0.1", false),
        ("ipv6", "::1", true), ("ipv6", "2001:db8::8a2e:370:7334", true), ("ipv6", "::ffff:1.2.3.4", true),
        ("ipv6", "1::2::3", false), ("ipv6", "10.0.0.1", false),
        ("cidr", "10.0.0.0/8", true), ("cidr", "10.0.0.0/33", false), ("cidr", "fd00::/64", true),
        ("mac", "00:1a:2b:3c:4d:5e", true), ("mac", "00-1a-2b-3c-4d-5e", true), ("mac", "001a.2b3c.4d5e", true), ("mac", "00:1a", false),
        ("uri", "https://example.com/x", true), ("uri", "/path", true), ("uri", "not a uri", false),
        ("hexcolor", "#fff", true), ("hexcolor", "ff00ff", true), ("hexcolor", "#ffff", false),
        ("rgbcolor", "rgb(255, 0, 10)", true), ("rgbcolor", "rgb(256,0,0)", false),
        ("ssn", "123-45-6789", true), ("ssn", "123456789", false),
        ("isbn10", "0-306-40615-2", true), ("isbn13", "978-0-306-40615-7", true), ("isbn", "0306406153", false),
        ("creditcard", "4111 1111 1111 1111", true), ("creditcard", "4111 1111 1111 1112", false),
        ("bsonobjectid", "507f1f77bcf86cd799439011", true), ("bsonobjectid", "507f1f77", false),
        ("duration", "1h30m", true), ("duration", "3 days", true), ("duration", "soon", false),
        ("quantity", "500m", true), ("quantity", "1.5Gi", true), ("quantity", "1e3", true), ("quantity", "lots", false),
        ("k8s-short-name", "my-name", true), ("k8s-short-name", "My-Name", false),
        ("k8s-long-name", "a.b-c.d", true), ("k8s-long-name", "a..b", false),
        ("password", "anything at all", true),
    ])
    func format(name: String, value: String, valid: Bool) {
        #expect(StringFormats.isSupported(name))
        #expect(StringFormats.validates(name, value) == valid)
    }

    @Test func unknownFormatsAreNotSupported() {
        #expect(!StringFormats.isSupported("my-format"))
        #expect(!StringFormats.isSupported("int32"))
    }
}
