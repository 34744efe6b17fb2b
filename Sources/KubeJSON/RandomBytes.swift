extension Array where Element == UInt8 {
    /// `count` bytes from the system's CSPRNG (SystemRandomNumberGenerator reads getrandom(2) on Linux): the one
    /// source of the bytes of tokens, keys, nonces and random names.
    public static func random(count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }
}
