import CCurl
import Foundation
import Logging
import Synchronization

/// Every request and watch of a process as HTTP/2 streams on one TLS connection.
///
/// One curl multi handle is driven by a dedicated thread (never the cooperative pool): Swift callers hand
/// transfers over through a locked inbox and `curl_multi_wakeup`, and libcurl's callbacks resume their
/// continuations. With `CURLPIPE_MULTIPLEX` and `CURLOPT_PIPEWAIT`, libcurl puts every transfer on the one
/// connection until it carries as many streams as one may (100, kube-apiserver's limit per connection too); only
/// then does it open another, as client-go's transport does. When a connection is lost, the next transfer opens a
/// new one.
public final class CurlTransport: Sendable {
    public struct Configuration: Sendable {
        public var tls: TLSSettings
        /// How long to wait for a TCP and TLS connection before a transfer fails.
        public var connectTimeout: Duration
        /// Connections per host. Transfers share one HTTP/2 connection while it has room for another stream, so a
        /// second opens only beside a hundred streams (a process with that many watches: a fleet of agents);
        /// with one, the hundred-and-first transfer would wait for a stream to end, which a watch never does. A
        /// server that only speaks HTTP/1.1 lifts the limit (see `connectionWasNegotiated`). Zero: no limit.
        public var maxConnectionsPerHost: Int
        /// libcurl's own trace of every transfer on stderr (CURLOPT_VERBOSE); on when CONDUCTOR_CURL_VERBOSE=1.
        public var verbose = ProcessInfo.processInfo.environment["CONDUCTOR_CURL_VERBOSE"] == "1"
        /// Bytes of a streamed body (a watch) that may wait unread before the transfer is paused; it resumes
        /// once its reader is down to half. A slow reader then costs this much memory, not the whole stream.
        public var streamBufferLimit = 4 * 1024 * 1024

        public init(tls: TLSSettings = TLSSettings(), connectTimeout: Duration = .seconds(10), maxConnectionsPerHost: Int = 8) {
            self.tls = tls
            self.connectTimeout = connectTimeout
            self.maxConnectionsPerHost = maxConnectionsPerHost
        }
    }

    private struct Inbox: ~Copyable {
        var submitted: [Transfer] = []
        var cancelled: [Transfer] = []
        /// Paused streams whose readers caught up.
        var resumed: [Transfer] = []
        var stopping = false
    }

    private let configuration: Configuration
    private let logger: Logger
    private let inbox = Mutex(Inbox())
    private let multiHandle: MultiHandle
    private var multi: UnsafeMutableRawPointer { multiHandle.pointer }
    private let connectionsOpenedCounter = Atomic<Int>(0)
    private let nextTransferID = Atomic<UInt64>(1)
    private let threadEnded = Mutex<CheckedContinuation<Void, Never>?>(nil)
    private let ended = Atomic<Bool>(false)

    /// Connections libcurl opened so far (CURLINFO_NUM_CONNECTS summed over transfers).
    public var connectionsOpened: Int { connectionsOpenedCounter.load(ordering: .relaxed) }

    public init(configuration: Configuration = Configuration(), logger: Logger = Logger(label: "conductor.curl")) throws {
        try CurlRuntime.check()
        guard let multi = curl_multi_init() else {
            throw TransportError(code: .initFailed, message: "curl_multi_init returned NULL", method: "", url: "")
        }
        self.multiHandle = MultiHandle(pointer: multi)
        self.configuration = configuration
        self.logger = logger
        _ = ccurl_multi_set_long(multi, CURLMOPT_PIPELINING, Int(CURLPIPE_MULTIPLEX))
        _ = ccurl_multi_set_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, configuration.maxConnectionsPerHost)
        let thread = Thread { [self] in self.runLoop() }
        thread.name = "conductor-curl"
        thread.start()
    }

    /// Sends a request and collects the whole response body.
    public func send(_ request: TransportRequest) async throws -> TransportResponse {
        let transfer = Transfer(id: nextTransferID.add(1, ordering: .relaxed).oldValue, request: request)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                transfer.sink = .whole(continuation)
                submit(transfer)
            }
        } onCancel: {
            cancel(transfer)
        }
    }

    /// Sends a request and returns once the response head arrived; the body follows as a stream of chunks.
    /// Ending the iteration of the body (or cancelling the task that iterates it) cancels the transfer.
    public func stream(_ request: TransportRequest) async throws -> TransportStream {
        let transfer = Transfer(id: nextTransferID.add(1, ordering: .relaxed).oldValue, request: request)
        let (chunks, bodyContinuation) = AsyncThrowingStream.makeStream(of: [UInt8].self)
        bodyContinuation.onTermination = { [weak self] termination in
            if case .cancelled = termination { self?.cancel(transfer) }
        }
        let backpressure = StreamBackpressure(limit: configuration.streamBufferLimit) { [weak self] in self?.resume(transfer) }
        let head: TransportResponseHead = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                transfer.sink = .streaming(head: continuation, body: bodyContinuation, backpressure: backpressure)
                submit(transfer)
            }
        } onCancel: {
            cancel(transfer)
        }
        return TransportStream(head: head, body: TransportBody(chunks: chunks, backpressure: backpressure))
    }

    /// Fails every transfer in flight with `CancellationError` and ends the transport thread.
    public func shutdown() async {
        inbox.withLock { $0.stopping = true }
        curl_multi_wakeup(multi)
        await withCheckedContinuation { continuation in
            let resumeNow = threadEnded.withLock { slot -> Bool in
                if ended.load(ordering: .acquiring) { return true }
                slot = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    private func submit(_ transfer: Transfer) {
        let accepted = inbox.withLock { inbox -> Bool in
            guard !inbox.stopping else { return false }
            inbox.submitted.append(transfer)
            return true
        }
        if accepted {
            curl_multi_wakeup(multi)
        } else {
            transfer.fail(CancellationError())
        }
    }

    private func resume(_ transfer: Transfer) {
        inbox.withLock { $0.resumed.append(transfer) }
        curl_multi_wakeup(multi)
    }

    private func cancel(_ transfer: Transfer) {
        transfer.cancelRequested.store(true, ordering: .releasing)
        inbox.withLock { $0.cancelled.append(transfer) }
        curl_multi_wakeup(multi)
    }

    // MARK: The transport thread

    private func runLoop() {
        var active: [UnsafeMutableRawPointer: Transfer] = [:]
        var stillRunning: Int32 = 0
        var httpVersionKnown = false
        while true {
            let (submitted, cancelled, resumed, stopping) = inbox.withLock { inbox in
                defer {
                    inbox.submitted.removeAll(keepingCapacity: true)
                    inbox.cancelled.removeAll(keepingCapacity: true)
                    inbox.resumed.removeAll(keepingCapacity: true)
                }
                return (inbox.submitted, inbox.cancelled, inbox.resumed, inbox.stopping)
            }
            for transfer in resumed {
                // libcurl hands the data it kept over again from inside this call.
                guard let easy = transfer.easy, active[easy] != nil else { continue }
                _ = curl_easy_pause(easy, CURLPAUSE_CONT)
            }
            for transfer in submitted {
                if transfer.cancelRequested.load(ordering: .acquiring) {
                    transfer.fail(CancellationError())
                    continue
                }
                do {
                    let easy = try transfer.makeEasyHandle(configuration: configuration)
                    active[easy] = transfer
                    curl_multi_add_handle(multi, easy)
                } catch {
                    transfer.fail(error)
                }
            }
            for transfer in cancelled {
                guard let easy = transfer.easy, active.removeValue(forKey: easy) != nil else { continue }
                curl_multi_remove_handle(multi, easy)
                transfer.fail(CancellationError())
                transfer.cleanup()
            }
            if stopping {
                for (easy, transfer) in active {
                    curl_multi_remove_handle(multi, easy)
                    transfer.fail(CancellationError())
                    transfer.cleanup()
                }
                active.removeAll()
                break
            }

            curl_multi_perform(multi, &stillRunning)
            var queued: Int32 = 0
            while let message = curl_multi_info_read(multi, &queued) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle,
                      let transfer = active.removeValue(forKey: easy) else { continue }
                let result = ccurl_message_result(message)
                var connects = 0
                _ = ccurl_easy_get_long(easy, CURLINFO_NUM_CONNECTS, &connects)
                if connects > 0 { connectionsOpenedCounter.add(connects, ordering: .relaxed) }
                curl_multi_remove_handle(multi, easy)
                transfer.complete(result)
                transfer.cleanup()
            }
            // A server that would not speak HTTP/2 cannot carry concurrent streams on one connection; allow
            // more so that a long watch does not block every other request. The first negotiated response
            // decides, so the active transfers are looked at only until then.
            if !httpVersionKnown, let negotiated = active.values.lazy.compactMap(\.negotiatedHTTPVersion).first {
                httpVersionKnown = true
                if negotiated < CURL_HTTP_VERSION_2_0 {
                    logger.warning("server did not negotiate HTTP/2; requests will use several HTTP/1.1 connections")
                    _ = ccurl_multi_set_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0)
                }
            }
            var ready: Int32 = 0
            curl_multi_poll(multi, nil, 0, 1000, &ready)
        }
        curl_multi_cleanup(multi)
        let waiter = threadEnded.withLock { slot -> CheckedContinuation<Void, Never>? in
            ended.store(true, ordering: .releasing)
            defer { slot = nil }
            return slot
        }
        waiter?.resume()
    }
}

/// The curl multi handle. `@unchecked Sendable`: only the transport thread calls libcurl with it, except
/// `curl_multi_wakeup`, which libcurl documents as safe to call from any thread.
private struct MultiHandle: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
}

/// Checks once per process that libcurl is initialised and was built with HTTP/2.
enum CurlRuntime {
    private static let status: Result<Void, TransportError> = {
        let code = ccurl_global_init()
        guard code == CURLE_OK else {
            return .failure(TransportError(code: .initFailed, message: "curl_global_init failed: \(String(cString: curl_easy_strerror(code)))", method: "", url: ""))
        }
        guard ccurl_has_http2() != 0 else {
            return .failure(TransportError(
                code: .noHTTP2,
                message: "the loaded libcurl \(String(cString: ccurl_version())) was built without HTTP/2; install libcurl4-openssl-dev with libnghttp2 (Debian: apt-get install -y libcurl4-openssl-dev libnghttp2-dev)",
                method: "", url: ""))
        }
        return .success(())
    }()

    static func check() throws(TransportError) {
        try status.get()
    }

    static var version: String { String(cString: ccurl_version()) }
}
