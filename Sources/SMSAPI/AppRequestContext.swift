import Foundation
import Hummingbird
import NIOCore
import SMSCore
import SMSWeb

/// Per-request state: the request id, the caller's address and who they are.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Echoed in `X-Request-Id` and in every error body.
    public var requestID: String = ""
    /// Set by ``AuthenticationMiddleware`` when the request carries valid credentials.
    public var principal: Principal?
    /// The principal came from the session cookie (so CSRF rules apply).
    public var authenticatedByCookie = false
    /// A bearer key that was wrong: answered 401 after the rate limiter has
    /// counted the request against its address (so invented keys are limited too).
    var rejectedCredential: APIError?
    /// The peer's IP address, without the port.
    public let remoteIP: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteIP = source.channel.remoteAddress?.ipAddress
    }

    /// JSON bodies are limited to 1 MB (CSV imports set their own limit).
    public var maxUploadSize: Int { 1 << 20 }

    public var responseEncoder: JSONEncoder { APIJSON.encoder }
    public var requestDecoder: JSONDecoder { APIJSON.decoder }
}

/// The UI reads the same request id, principal and session flag the API's middleware sets.
extension AppRequestContext: WebRequestContext {}

/// The API's JSON conventions: snake_case keys, ISO 8601 dates.
enum APIJSON {
    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(rfc3339(date))
        }
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// 1900-01-01T00:00:00Z: nothing a contact consented to or a campaign is scheduled for comes before it.
    static let earliestDate = Date(timeIntervalSince1970: -2_208_988_800)

    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        // RFC 3339, with or without fractional seconds (so the API reads back what it writes).
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            // A real date (2027-02-30 is refused, not moved) in years the product can mean
            // and PostgreSQL stores without overflow (0001-01-01 was a 500; issue 12).
            guard let date = parseRFC3339(text), date >= APIJSON.earliestDate else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "expected an RFC 3339 date-time from 1900 to 9999 such as 2026-11-25T09:00:00Z")
            }
            return date
        }
        return decoder
    }
}
