import ConductorTestSupport
import KubeClient
import Testing

extension ResourceClient {
    /// Waits until the stored object satisfies `condition`, read from the server each time; returns it. The
    /// timeout's message names what was awaited and the object as last read.
    @discardableResult
    func waitUntilStored(_ name: String, _ what: String, _ condition: @escaping (Object) -> Bool) async throws -> Object {
        var last: Object?
        do {
            try await waitUntil("\(name): \(what)") {
                last = try await get(name)
                return last.map(condition) ?? false
            }
        } catch let failure as TestFailure {
            throw TestFailure("\(failure); last read: \(last.map { "\($0)" } ?? "none")")
        }
        return try #require(last)
    }
}
