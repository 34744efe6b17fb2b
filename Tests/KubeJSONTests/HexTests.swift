import Foundation
import KubeJSON
import Testing

@Suite struct Hex {
    @Test func everyByteIsTwoLowercaseDigitsAsFoundationFormatsThem() {
        let all = (0...255).map(UInt8.init)
        #expect(all.lowercaseHex == all.map { String(format: "%02x", $0) }.joined())
        #expect([UInt8]().lowercaseHex == "")
        #expect([0x00, 0x0F, 0xA0, 0xFF].lowercaseHex == "000fa0ff")
        // Any sequence of bytes, not only arrays: a digest's prefix.
        #expect(all.prefix(3).lazy.map { $0 }.lowercaseHex == "000102")
    }

    @Test func randomBytesComeInTheCountAskedAndDiffer() {
        #expect([UInt8].random(count: 0).isEmpty)
        let first = [UInt8].random(count: 32)
        #expect(first.count == 32)
        // 2^-256 of failing.
        #expect(first != [UInt8].random(count: 32))
        // Not a narrow source: 4,096 bytes show all 256 values but for a chance of about 2^-15; 200 is far below.
        #expect(Set([UInt8].random(count: 4096)).count > 200)
    }
}
