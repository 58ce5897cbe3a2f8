import CCurl
import ConnectionPool
import Foundation

/// An async HTTP client on libcurl. Requests run on the client's own threads,
/// each on an easy handle that keeps its connections alive between requests.
public final class CurlHTTPClient: Sendable {
    public struct Configuration: Sendable {
        /// Requests in flight at most (and easy handles kept). Default 16.
        public var maxConcurrentRequests: Int
        /// Default 5 s.
        public var connectTimeout: Duration
        /// From start to the last byte of the response. Default 30 s.
        public var totalTimeout: Duration
        /// How long a request waits for a free handle. Default 30 s.
        public var acquireTimeout: Duration
        /// Sent as User-Agent.
        public var userAgent: String

        public init(
            maxConcurrentRequests: Int = 16, connectTimeout: Duration = .seconds(5), totalTimeout: Duration = .seconds(30),
            acquireTimeout: Duration = .seconds(30), userAgent: String = "smscrm"
        ) {
            self.maxConcurrentRequests = maxConcurrentRequests
            self.connectTimeout = connectTimeout
            self.totalTimeout = totalTimeout
            self.acquireTimeout = acquireTimeout
            self.userAgent = userAgent
        }
    }

    public let configuration: Configuration
    private let handles: BlockingConnectionPool<CurlEasy>

    public init(configuration: Configuration = .init()) {
        CurlGlobal.initialize()
        self.configuration = configuration
        self.handles = BlockingConnectionPool(
            configuration: .init(
                maxConnections: configuration.maxConcurrentRequests,
                acquireTimeout: configuration.acquireTimeout, name: "curl"),
            connect: { try CurlEasy() })
    }

    /// Performs the request. Throws ``CurlError`` when no HTTP response came
    /// back; any status code, 4xx and 5xx included, is a response.
    public func execute(_ request: HTTPClientRequest) async throws -> HTTPClientResponse {
        let configuration = self.configuration
        return try await handles.withConnection { easy in try easy.perform(request, defaults: configuration) }
    }

    public func shutdown() async { await handles.shutdown() }
}

enum CurlGlobal {
    /// `curl_global_init` is not thread-safe; Swift runs this initializer once.
    private static let done: Bool = {
        curl_global_init(Int(CURL_GLOBAL_ALL)) == CURLE_OK
    }()

    static func initialize() { _ = done }
}

/// Collects a transfer's response while curl runs; reached from the C callbacks
/// through an unmanaged pointer.
final class CurlTransfer {
    var body: [UInt8] = []
    var headers: [(name: String, value: String)] = []
}

/// One easy handle. curl keeps the handle's connections open between requests,
/// which is where the keep-alive reuse comes from.
final class CurlEasy: PooledConnection {
    private let handle: UnsafeMutableRawPointer

    init() throws {
        guard let handle = curl_easy_init() else {
            throw CurlError(delivery: .notSent, curlCode: -1, message: "curl_easy_init failed", isTimeout: false)
        }
        self.handle = handle
    }

    deinit { curl_easy_cleanup(handle) }

    func isAliveWhenIdle() -> Bool { true }
    var mustBeDiscarded: Bool { false }

    func perform(_ request: HTTPClientRequest, defaults: CurlHTTPClient.Configuration) throws -> HTTPClientResponse {
        // reset keeps the connection cache, so the next request can reuse the connection.
        curl_easy_reset(handle)
        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }
        let transfer = CurlTransfer()
        let transferPointer = Unmanaged.passUnretained(transfer).toOpaque()

        try check(smscrm_curl_setopt_string(handle, CURLOPT_URL, request.url))
        try check(smscrm_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
        try check(smscrm_curl_setopt_long(handle, CURLOPT_TCP_KEEPALIVE, 1))
        try check(smscrm_curl_setopt_long(handle, CURLOPT_TCP_NODELAY, 1))
        try check(smscrm_curl_setopt_string(handle, CURLOPT_USERAGENT, defaults.userAgent))
        try check(smscrm_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, milliseconds(request.connectTimeout ?? defaults.connectTimeout)))
        try check(smscrm_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, milliseconds(request.totalTimeout ?? defaults.totalTimeout)))
        // Only http(s): a URL from configuration must not reach file:// or others.
        try check(smscrm_curl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https"))

        switch request.method {
        case "GET":
            try check(smscrm_curl_setopt_long(handle, CURLOPT_HTTPGET, 1))
        case "HEAD":
            try check(smscrm_curl_setopt_long(handle, CURLOPT_NOBODY, 1))
        case "POST":
            try check(smscrm_curl_setopt_long(handle, CURLOPT_POST, 1))
        default:
            try check(smscrm_curl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, request.method))
        }
        if let body = request.body {
            try check(smscrm_curl_setopt_off_t(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)))
            // COPYPOSTFIELDS copies now; a pointer into `body` would not outlive this scope.
            try body.withUnsafeBytes { raw in
                let pointer = raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
                try check(smscrm_curl_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: pointer)))
            }
        }
        // No "Expect: 100-continue" round trip for bodies over 1 KiB.
        for line in request.headers.map({ "\($0.name): \($0.value)" }) + ["Expect:"] {
            headerList = curl_slist_append(headerList, line)
        }
        try check(smscrm_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList))
        if let auth = request.basicAuth {
            try check(smscrm_curl_setopt_long(handle, CURLOPT_HTTPAUTH, 1 /* CURLAUTH_BASIC, a macro Swift cannot import */))
            try check(smscrm_curl_setopt_string(handle, CURLOPT_USERNAME, auth.username))
            try check(smscrm_curl_setopt_string(handle, CURLOPT_PASSWORD, auth.password))
        }
        try check(smscrm_curl_setopt_write_function(handle, CURLOPT_WRITEFUNCTION) { data, size, count, context in
            let transfer = Unmanaged<CurlTransfer>.fromOpaque(context!).takeUnretainedValue()
            let length = size * count
            if let data { transfer.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: length)) }
            return length
        })
        try check(smscrm_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, transferPointer))
        try check(smscrm_curl_setopt_write_function(handle, CURLOPT_HEADERFUNCTION) { data, size, count, context in
            let transfer = Unmanaged<CurlTransfer>.fromOpaque(context!).takeUnretainedValue()
            let length = size * count
            guard let data else { return length }
            let line = String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
            if line.hasPrefix("HTTP/") {
                transfer.headers.removeAll()  // a new response (after 100 Continue or a redirect)
            } else if let colon = line.firstIndex(of: ":") {
                let name = String(line[..<colon])
                let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
                transfer.headers.append((name, value))
            }
            return length
        })
        try check(smscrm_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, transferPointer))

        let code = curl_easy_perform(handle)
        guard code == CURLE_OK else { throw classify(code) }
        var status = 0
        _ = smscrm_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        var connects = 0
        _ = smscrm_curl_getinfo_long(handle, CURLINFO_NUM_CONNECTS, &connects)
        return HTTPClientResponse(status: status, headers: transfer.headers, body: transfer.body, newConnections: connects)
    }

    /// Decides whether a failed transfer can have reached the server.
    private func classify(_ code: CURLcode) -> CurlError {
        let message = String(cString: curl_easy_strerror(code))
        var requestBytes = 0
        _ = smscrm_curl_getinfo_long(handle, CURLINFO_REQUEST_SIZE, &requestBytes)
        let delivery: CurlError.Delivery
        switch code {
        case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT, CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_RESOLVE_HOST,
            CURLE_COULDNT_CONNECT, CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM,
            CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE, CURLE_BAD_FUNCTION_ARGUMENT, CURLE_OUT_OF_MEMORY:
            delivery = .notSent
        default:
            // A timeout or broken connection: if any request bytes left, the
            // server may have acted on them.
            delivery = requestBytes > 0 ? .mayHaveBeenSent : .notSent
        }
        return CurlError(
            delivery: delivery, curlCode: Int(code.rawValue), message: message,
            isTimeout: code == CURLE_OPERATION_TIMEDOUT)
    }

    private func check(_ code: CURLcode) throws {
        guard code == CURLE_OK else {
            throw CurlError(
                delivery: .notSent, curlCode: Int(code.rawValue), message: String(cString: curl_easy_strerror(code)),
                isTimeout: false)
        }
    }
}

private func milliseconds(_ duration: Duration) -> Int {
    let (seconds, attoseconds) = duration.components
    return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
}
