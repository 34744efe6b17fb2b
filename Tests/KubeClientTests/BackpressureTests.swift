import Foundation
@testable import KubeClient
import KubeJSON
import Testing

/// A slow reader of a streamed body pauses its transfer instead of buffering the rest: what waits unread stays
/// near `streamBufferLimit`, the other streams of the one HTTP/2 connection go on meanwhile, and the body
/// arrives whole once read.
// A wait here that cancellation ends cannot hold the run: the suite fails in time instead.
@Suite(.timeLimit(.minutes(2))) struct BackpressureTests {
    @Test func aSlowReaderHoldsTheStreamBackWhileOtherRequestsGoOn() async throws {
        try await withServer { server, client in
            try await applyProjectCRDs(client)
            let tasks = client.resource(ResourceDescriptor(group: "mcp.io", version: "v1", plural: "tasks", kind: "Task", namespaced: true),
                                        namespace: "default")
            let filler = String(repeating: "x", count: 8 * 1024)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<160 {
                    if index >= 16 { try await group.next() }
                    group.addTask {
                        var object = task(String(format: "big-%03d", index))
                        object["spec"]?["payload"] = ["filler": .string(filler)]
                        _ = try await tasks.create(object)
                    }
                }
                try await group.waitForAll()
            }

            let limit = 64 * 1024
            var configuration = CurlTransport.Configuration(tls: client.config.tls)
            configuration.streamBufferLimit = limit
            let transport = try CurlTransport(configuration: configuration)
            let token = try #require(TokenProvider(client.config.credentials).token(forceReload: false))
            let headers = [("Accept", "application/json"), ("Authorization", "Bearer \(token)")]
            func request(_ path: String) -> TransportRequest {
                TransportRequest(method: "GET", url: client.url(path, []), headers: headers.map { (name: $0.0, value: $0.1) })
            }
            let stream = try await transport.stream(request("/apis/mcp.io/v1/namespaces/default/tasks"))
            #expect(stream.head.status == 200)

            // Nothing is read yet: the transfer pauses at the limit, and the connection serves others meanwhile.
            try await waitUntil("the unread stream reached its limit") { stream.body.peakBufferedBytes >= limit }
            for _ in 0..<20 {
                let answer = try await transport.send(request("/apis/mcp.io/v1/namespaces/default/tasks/big-000"))
                #expect(answer.head.status == 200)
            }

            var body: [UInt8] = []
            for try await chunk in stream.body {
                body += chunk
                // A reader slower than the network: it yields between chunks.
                await Task.yield()
            }
            let list = try JSON.parse(body)
            #expect(list["items"]?.array?.count == 160)
            #expect(body.count > 20 * limit, "the body (\(body.count) bytes) is far larger than the limit")
            // At most the limit, plus the one chunk that crossed it.
            #expect(stream.body.peakBufferedBytes <= limit + 64 * 1024, "peak \(stream.body.peakBufferedBytes)")
            await transport.shutdown()
        }
    }
}
