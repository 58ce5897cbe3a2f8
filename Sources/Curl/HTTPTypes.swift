import Foundation

/// An outgoing HTTP request.
public struct HTTPClientRequest: Sendable {
    public var method: String
    public var url: String
    /// Header names and values, sent in order.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]?
    /// HTTP basic authentication.
    public var basicAuth: (username: String, password: String)?
    /// Overrides the client's connect timeout for this request.
    public var connectTimeout: Duration?
    /// Overrides the client's total timeout for this request.
    public var totalTimeout: Duration?

    public init(
        method: String = "GET", url: String, headers: [(name: String, value: String)] = [], body: [UInt8]? = nil,
        basicAuth: (username: String, password: String)? = nil, connectTimeout: Duration? = nil, totalTimeout: Duration? = nil
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.basicAuth = basicAuth
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
    }

    /// A POST of `application/x-www-form-urlencoded` fields, in the given order.
    public static func form(
        url: String, fields: [(String, String)], headers: [(name: String, value: String)] = [],
        basicAuth: (username: String, password: String)? = nil
    ) -> HTTPClientRequest {
        HTTPClientRequest(
            method: "POST", url: url,
            headers: [("Content-Type", "application/x-www-form-urlencoded")] + headers,
            body: Array(FormEncoding.encode(fields).utf8), basicAuth: basicAuth)
    }
}

/// A response: status, headers (names as received) and body.
public struct HTTPClientResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// Connections curl had to open for this request: 0 when it reused a kept-alive one.
    public var newConnections: Int

    /// The first header with this name, compared case-insensitively.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// `application/x-www-form-urlencoded`, as browsers and Twilio write it.
public enum FormEncoding {
    public static func encode(_ fields: [(String, String)]) -> String {
        fields.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
    }

    public static func escape(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "*"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: " "):
                out += "+"
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (byte < 16 ? "0" + hex : hex)
            }
        }
        return out
    }

    /// Decodes a form body into its fields, in order; `+` is a space.
    public static func decode(_ text: String) -> [(String, String)] {
        text.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func unescape(_ s: Substring) -> String {
                let spaced = s.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            return (unescape(parts[0]), parts.count > 1 ? unescape(parts[1]) : "")
        }
    }
}

/// Why a request failed, and — what the at-most-once send protocol needs —
/// whether it can have reached the server.
public struct CurlError: Error, Sendable, CustomStringConvertible {
    public enum Delivery: Sendable, Equatable {
        /// Certainly not sent: DNS failed, connection refused, TLS handshake
        /// failed, the connect timed out, or the request was malformed.
        case notSent
        /// The request (or part of it) went out and no complete answer came
        /// back: the server may have acted on it.
        case mayHaveBeenSent
    }

    public var delivery: Delivery
    /// libcurl's `CURLcode`.
    public var curlCode: Int
    /// libcurl's message; never contains the request body or credentials.
    public var message: String
    /// The failure was a timeout (connect or total).
    public var isTimeout: Bool

    public var description: String {
        "CurlError(\(delivery == .notSent ? "not sent" : "may have been sent"), code \(curlCode): \(message))"
    }
}
