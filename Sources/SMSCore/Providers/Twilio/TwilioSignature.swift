import Crypto
import Foundation

/// Twilio's `X-Twilio-Signature`: how Twilio signs the webhooks it sends, and how
/// a receiver checks them. The sandbox signs with this code and the API's webhook
/// verifier checks with it, so the two can never drift apart (issue 5, "Signature").
///
/// Form-encoded requests: base64 of HMAC-SHA1, keyed by the auth token, over the
/// full URL exactly as configured (scheme, host, port, path, query) followed by
/// every POST parameter sorted by name, each written as name then value with no
/// separator.
///
/// JSON requests: Twilio appends `bodySHA256=<hex SHA-256 of the raw body>` to
/// the URL's query and signs the URL alone; the receiver checks the signature
/// over the URL and then the body against that hash.
public enum TwilioSignature {
    /// The header Twilio sends the signature in.
    public static let header = "X-Twilio-Signature"

    /// The signature Twilio would send for a form-encoded POST of `parameters` to `url`.
    ///
    /// Parameters are sorted by name and, for repeated names (`MediaUrl0`… are
    /// distinct, but a client may repeat a key), by value, as Twilio's libraries do.
    public static func sign(url: String, parameters: [(String, String)], authToken: String) -> String {
        var data = Array(url.utf8)
        let sorted = parameters.sorted { lhs, rhs in
            lhs.0 == rhs.0 ? lhs.1.utf8.lexicographicallyPrecedes(rhs.1.utf8) : lhs.0.utf8.lexicographicallyPrecedes(rhs.0.utf8)
        }
        for (name, value) in sorted {
            data.append(contentsOf: name.utf8)
            data.append(contentsOf: value.utf8)
        }
        let key = SymmetricKey(data: Array(authToken.utf8))
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: data, using: key)
        return Data(mac).base64EncodedString()
    }

    /// Whether `signature` is what Twilio would send for `parameters` posted to `url`.
    ///
    /// Like Twilio's own libraries, the URL is also tried with its default port
    /// added or removed (`:443` for https, `:80` for http), because proxies and
    /// frameworks disagree on whether to show it. Comparison is constant-time.
    public static func isValid(signature: String, url: String, parameters: [(String, String)], authToken: String) -> Bool {
        let given = Array(signature.utf8)
        var valid = false
        // Every variant is computed and compared, so timing does not reveal which one matched.
        for candidate in urlVariants(url) {
            let expected = Array(sign(url: candidate, parameters: parameters, authToken: authToken).utf8)
            if Secrets.constantTimeEquals(given, expected) { valid = true }
        }
        return valid
    }

    /// Lowercase hex SHA-256 of a raw request body: the `bodySHA256` query value
    /// Twilio adds when it posts JSON.
    public static func bodySHA256(_ body: [UInt8]) -> String {
        SHA256.hash(data: body).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// Whether a JSON-bodied request is genuine: `url` must carry a `bodySHA256`
    /// query parameter, the signature must match the URL alone (with the same
    /// port variants as ``isValid(signature:url:parameters:authToken:)``), and
    /// the hash must match `body`.
    public static func isValid(signature: String, url: String, body: [UInt8], authToken: String) -> Bool {
        guard let claimed = queryValue(named: "bodySHA256", in: url) else { return false }
        let signatureValid = isValid(signature: signature, url: url, parameters: [], authToken: authToken)
        let bodyValid = Secrets.constantTimeEquals(Array(claimed.lowercased().utf8), Array(bodySHA256(body).utf8))
        return signatureValid && bodyValid
    }

    /// `url` as given, plus the same URL with its default port removed when it has
    /// one, or added when it has none. A non-default port is never touched.
    static func urlVariants(_ url: String) -> [String] {
        guard let parts = URLParts(url) else { return [url] }
        let defaultPort: String
        switch parts.scheme.lowercased() {
        case "https": defaultPort = "443"
        case "http": defaultPort = "80"
        default: return [url]
        }
        switch parts.port {
        case nil: return [url, parts.with(port: defaultPort)]
        case defaultPort?: return [url, parts.with(port: nil)]
        default: return [url]
        }
    }

    /// The first value of query parameter `name`, percent-decoded.
    static func queryValue(named name: String, in url: String) -> String? {
        guard let question = url.firstIndex(of: "?") else { return nil }
        var query = url[url.index(after: question)...]
        if let hash = query.firstIndex(of: "#") { query = query[..<hash] }
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if parts[0].removingPercentEncoding == name {
                return parts.count > 1 ? (parts[1].removingPercentEncoding ?? String(parts[1])) : ""
            }
        }
        return nil
    }
}

extension TwilioSignature {
    /// A URL split just enough to change its port while keeping every other
    /// character, escapes included, exactly as given: the signature is over the text.
    struct URLParts {
        let scheme: String
        /// Everything between `://` and the port: user info and host (IPv6 brackets included).
        let userAndHost: Substring
        let port: String?
        /// Path, query and fragment, untouched.
        let rest: Substring

        init?(_ url: String) {
            guard let separator = url.range(of: "://") else { return nil }
            scheme = String(url[..<separator.lowerBound])
            let authorityStart = separator.upperBound
            let authorityEnd = url[authorityStart...].firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? url.endIndex
            let authority = url[authorityStart..<authorityEnd]
            rest = url[authorityEnd...]
            // The port follows the last colon, unless that colon is inside an IPv6 literal or user info.
            if let colon = authority.lastIndex(of: ":"),
                !authority[colon...].contains("]"), !authority[colon...].contains("@")
            {
                let digits = authority[authority.index(after: colon)...]
                guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
                userAndHost = authority[..<colon]
                port = String(digits)
            } else {
                userAndHost = authority
                port = nil
            }
            guard !userAndHost.isEmpty else { return nil }
        }

        func with(port: String?) -> String {
            scheme + "://" + userAndHost + (port.map { ":" + $0 } ?? "") + rest
        }
    }
}
