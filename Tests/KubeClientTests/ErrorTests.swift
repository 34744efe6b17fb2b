import Foundation
import KubeClient
import KubeJSON
import Testing

@Suite struct StatusErrors {
    /// Status bodies as kube-apiserver words them, for answers the local server has no reason to give.
    @Test(arguments: [
        (403, #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"tasks.mcp.io is forbidden: User \"system:serviceaccount:ai:worker\" cannot list resource \"tasks\" in API group \"mcp.io\" in the namespace \"default\"","reason":"Forbidden","details":{"group":"mcp.io","kind":"tasks"},"code":403}"#, KubeAPIError.Reason.forbidden, nil as Int?),
        (500, #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"The list operation against tasks could not be completed at this time, please try again.","reason":"ServerTimeout","details":{"kind":"tasks","retryAfterSeconds":2},"code":500}"#, .serverTimeout, 2),
        (504, #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Timeout: request did not complete within requested timeout - context deadline exceeded","reason":"Timeout","details":{},"code":504}"#, .timeout, nil),
        (410, #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 1 (2)","reason":"Expired","code":410}"#, .expired, nil),
        (503, #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"service unavailable","code":503}"#, .serviceUnavailable, nil),
    ])
    func reasonsFromRecordedStatuses(code: Int, body: String, reason: KubeAPIError.Reason, retryAfter: Int?) throws {
        let status = try JSONDecoder().decode(KubeStatus.self, from: Data(body.utf8))
        let error = KubeAPIError(code: code, status: status, method: "GET", path: "/apis/mcp.io/v1/namespaces/default/tasks")
        #expect(error.reason == reason)
        #expect(error.retryAfter == retryAfter.map { Duration.seconds($0) })
        #expect(error.description.contains(status.message ?? "?"))
        #expect(error.isResourceVersionTooOld == (reason == .expired))
    }

    /// The local server refuses requests beyond `--max-requests-inflight` with 429 and Retry-After: 1, as
    /// kube-apiserver does; the client waits as asked and sends them again.
    @Test func tooManyRequestsAreSentAgainAfterRetryAfter() async throws {
        try await withServer(arguments: ["--max-requests-inflight", "1"]) { server, client in
            let leases = client.resource(Lease.self, namespace: "default")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<40 {
                    group.addTask { _ = try await leases.create(Lease(metadata: ObjectMeta(name: "l\(index)"))) }
                }
                try await group.waitForAll()
            }
            #expect(try await leases.list().items.count == 40)
            let dropped = try await serverMetrics(client)["apiserver_dropped_requests_total"] ?? 0
            #expect(dropped > 0, "the server never refused a request, so nothing was retried")

            // Without retries the caller sees the typed error, with the server's wait.
            var config = try server.clientConfig()
            config.maxRetries = 0
            let impatient = try KubeClient(config: config)
            let errors = await withTaskGroup(of: KubeAPIError?.self) { group in
                for _ in 0..<40 {
                    group.addTask {
                        do { _ = try await impatient.resource(Lease.self, namespace: "default").list(); return nil } catch let error as KubeAPIError { return error } catch { return nil }
                    }
                }
                return await group.reduce(into: [KubeAPIError]()) { if let error = $1 { $0.append(error) } }
            }
            await impatient.shutdown()
            #expect(!errors.isEmpty)
            for error in errors {
                #expect(error.reason == .tooManyRequests && error.code == 429)
                #expect(error.retryAfter == .seconds(1))
            }
        }
    }
}
