import CCurl
import Foundation
import Synchronization

/// One request in flight: its easy handle, what libcurl has delivered so far, and the continuation that
/// waits for it.
///
/// `@unchecked Sendable`: it is created on a Swift task, handed to the transport thread through the
/// transport's locked inbox (which orders the hand-over), and from then on every mutable field is touched
/// only by the transport thread. The one field other threads touch, `cancelRequested`, is atomic.
final class Transfer: @unchecked Sendable {
    enum Sink {
        case none
        case whole(CheckedContinuation<TransportResponse, any Error>)
        case streaming(head: CheckedContinuation<TransportResponseHead, any Error>?,
                       body: AsyncThrowingStream<[UInt8], any Error>.Continuation, backpressure: StreamBackpressure)
    }

    let id: UInt64
    let request: TransportRequest
    var sink: Sink = .none
    let cancelRequested = Atomic<Bool>(false)

    private(set) var easy: UnsafeMutableRawPointer?
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private var errorBuffer: UnsafeMutablePointer<CChar>?
    private var headers: [(name: String, value: String)] = []
    private var head: TransportResponseHead?
    private var body: [UInt8] = []
    private(set) var negotiatedHTTPVersion: Int?

    init(id: UInt64, request: TransportRequest) {
        self.id = id
        self.request = request
    }

    deinit {
        cleanup()
    }

    func makeEasyHandle(configuration: CurlTransport.Configuration) throws -> UnsafeMutableRawPointer {
        guard let easy = curl_easy_init() else {
            throw TransportError(code: .initFailed, message: "curl_easy_init returned NULL", method: request.method, url: request.url)
        }
        self.easy = easy
        let context = Unmanaged.passUnretained(self).toOpaque()
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(to: 0)
        self.errorBuffer = errorBuffer

        var failed: CURLcode = CURLE_OK
        func set(_ code: CURLcode) { if code != CURLE_OK && failed == CURLE_OK { failed = code } }

        set(ccurl_easy_set_string(easy, CURLOPT_URL, request.url))
        set(ccurl_easy_set_long(easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS))
        // Wait for the shared connection's HTTP/2 settings instead of opening a second connection.
        set(ccurl_easy_set_long(easy, CURLOPT_PIPEWAIT, 1))
        set(ccurl_easy_set_long(easy, CURLOPT_NOSIGNAL, 1))
        set(ccurl_easy_set_long(easy, CURLOPT_TCP_KEEPALIVE, 1))
        set(ccurl_easy_set_long(easy, CURLOPT_TCP_KEEPIDLE, 30))
        set(ccurl_easy_set_long(easy, CURLOPT_TCP_KEEPINTVL, 10))
        set(ccurl_easy_set_long(easy, CURLOPT_CONNECTTIMEOUT_MS, Int(configuration.connectTimeout.milliseconds)))
        if let timeout = request.timeout {
            set(ccurl_easy_set_long(easy, CURLOPT_TIMEOUT_MS, Int(timeout.milliseconds)))
        }
        set(ccurl_easy_set_pointer(easy, CURLOPT_ERRORBUFFER, errorBuffer))
        if configuration.verbose { set(ccurl_easy_set_long(easy, CURLOPT_VERBOSE, 1)) }

        let tls = configuration.tls
        if let ca = tls.caPEM {
            set(ca.withUnsafeBytes { ccurl_easy_set_blob(easy, CURLOPT_CAINFO_BLOB, $0.baseAddress, $0.count) })
        } else if let caFile = tls.caFile {
            set(ccurl_easy_set_string(easy, CURLOPT_CAINFO, caFile))
        }
        if tls.insecureSkipVerify {
            set(ccurl_easy_set_long(easy, CURLOPT_SSL_VERIFYPEER, 0))
            set(ccurl_easy_set_long(easy, CURLOPT_SSL_VERIFYHOST, 0))
        }
        if let certificate = tls.clientCertificatePEM, let key = tls.clientKeyPEM {
            set(ccurl_easy_set_string(easy, CURLOPT_SSLCERTTYPE, "PEM"))
            set(certificate.withUnsafeBytes { ccurl_easy_set_blob(easy, CURLOPT_SSLCERT_BLOB, $0.baseAddress, $0.count) })
            set(ccurl_easy_set_string(easy, CURLOPT_SSLKEYTYPE, "PEM"))
            set(key.withUnsafeBytes { ccurl_easy_set_blob(easy, CURLOPT_SSLKEY_BLOB, $0.baseAddress, $0.count) })
        }

        switch request.method {
        case "GET":
            set(ccurl_easy_set_long(easy, CURLOPT_HTTPGET, 1))
        case "HEAD":
            set(ccurl_easy_set_long(easy, CURLOPT_NOBODY, 1))
        default:
            set(ccurl_easy_set_string(easy, CURLOPT_CUSTOMREQUEST, request.method))
        }
        if let body = request.body {
            set(ccurl_easy_set_offset(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)))
            set(body.withUnsafeBytes { bytes in
                // COPYPOSTFIELDS copies, so the array need not outlive this call; an empty body still needs a
                // valid pointer.
                ccurl_easy_set_pointer(easy, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: bytes.baseAddress ?? UnsafeRawPointer(errorBuffer)))
            })
        }

        // "Expect:" with no value stops libcurl from waiting for 100-continue on large HTTP/1.1 bodies.
        var list: UnsafeMutablePointer<curl_slist>? = curl_slist_append(nil, "Expect:")
        for header in request.headers {
            list = curl_slist_append(list, "\(header.name): \(header.value)")
        }
        headerList = list
        set(ccurl_easy_set_list(easy, CURLOPT_HTTPHEADER, list))

        set(ccurl_easy_set_callback(easy, CURLOPT_WRITEFUNCTION) { data, size, count, context in
            let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
            return transfer.received(UnsafeRawBufferPointer(start: data, count: size * count))
        })
        set(ccurl_easy_set_pointer(easy, CURLOPT_WRITEDATA, context))
        set(ccurl_easy_set_callback(easy, CURLOPT_HEADERFUNCTION) { data, size, count, context in
            let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
            transfer.receivedHeaderLine(UnsafeRawBufferPointer(start: data, count: size * count))
            return size * count
        })
        set(ccurl_easy_set_pointer(easy, CURLOPT_HEADERDATA, context))

        if failed != CURLE_OK {
            throw error(for: failed)
        }
        return easy
    }

    private func receivedHeaderLine(_ bytes: UnsafeRawBufferPointer) {
        // CR and LF are cut as bytes: in a String "\r\n" is one Character, equal to neither "\r" nor "\n", so
        // trimming Characters left the blank line that ends the head non-empty (a stream's head then waited
        // for the end of its body) and every header value ending in "\r\n".
        var end = bytes.count
        while end > 0, bytes[end - 1] == UInt8(ascii: "\n") || bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        let line = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[..<end]), as: UTF8.self)
        if line.isEmpty {
            headersEnded()
        } else if line.hasPrefix("HTTP/") {
            headers.removeAll()  // a new response head (after 1xx): start over
        } else if let colon = line.firstIndex(of: ":") {
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers.append((name: name, value: value))
        }
    }

    private func headersEnded() {
        guard let easy else { return }
        var status = 0
        _ = ccurl_easy_get_long(easy, CURLINFO_RESPONSE_CODE, &status)
        if status < 200 { return }  // an interim response; the real head follows
        var version = 0
        _ = ccurl_easy_get_long(easy, CURLINFO_HTTP_VERSION, &version)
        negotiatedHTTPVersion = version
        let head = TransportResponseHead(status: status, headers: headers)
        self.head = head
        if case .streaming(let headContinuation?, let bodyContinuation, let backpressure) = sink {
            headContinuation.resume(returning: head)
            sink = .streaming(head: nil, body: bodyContinuation, backpressure: backpressure)
        }
    }

    /// libcurl's CURL_WRITEFUNC_PAUSE (a macro in C): the bytes are not taken; libcurl keeps them and pauses the
    /// transfer until `curl_easy_pause(CURLPAUSE_CONT)`.
    private static let pauseWriting = 0x1000_0001

    /// Takes a chunk of the body; returns how many bytes were taken, or `pauseWriting` when a streamed body's
    /// reader is too far behind (`StreamBackpressure`).
    private func received(_ bytes: UnsafeRawBufferPointer) -> Int {
        switch sink {
        case .streaming(_, let body, let backpressure):
            guard backpressure.admit(bytes.count) else { return Self.pauseWriting }
            body.yield(Array(bytes))
        default:
            body.append(contentsOf: bytes)
        }
        return bytes.count
    }

    /// libcurl finished the transfer with `result`.
    func complete(_ result: CURLcode) {
        if result != CURLE_OK {
            fail(error(for: result))
            return
        }
        if head == nil, let easy {
            // A response without a blank line after its headers (should not happen): take what we have.
            var status = 0
            _ = ccurl_easy_get_long(easy, CURLINFO_RESPONSE_CODE, &status)
            head = TransportResponseHead(status: status, headers: headers)
        }
        switch sink {
        case .none:
            break
        case .whole(let continuation):
            continuation.resume(returning: TransportResponse(head: head!, body: body))
        case .streaming(let headContinuation, let bodyContinuation, _):
            headContinuation?.resume(returning: head!)
            bodyContinuation.finish()
        }
        sink = .none
    }

    func fail(_ error: any Error) {
        switch sink {
        case .none:
            break
        case .whole(let continuation):
            continuation.resume(throwing: error)
        case .streaming(let headContinuation?, let bodyContinuation, _):
            headContinuation.resume(throwing: error)
            bodyContinuation.finish(throwing: error)
        case .streaming(nil, let bodyContinuation, _):
            bodyContinuation.finish(throwing: error)
        }
        sink = .none
    }

    func cleanup() {
        if let easy {
            curl_easy_cleanup(easy)
            self.easy = nil
        }
        if let headerList {
            curl_slist_free_all(headerList)
            self.headerList = nil
        }
        if let errorBuffer {
            errorBuffer.deallocate()
            self.errorBuffer = nil
        }
    }

    private func error(for code: CURLcode) -> TransportError {
        var message = String(cString: curl_easy_strerror(code))
        if let errorBuffer, errorBuffer.pointee != 0 {
            message += ": " + String(cString: errorBuffer)
        }
        return TransportError(code: .curl(Int(code.rawValue)), message: message, method: request.method, url: request.url)
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
