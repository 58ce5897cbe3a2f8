import Foundation
import Hummingbird
import NIOCore
import SMSCore

/// Per-request state: the request id, the caller's address and who they are.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Echoed in `X-Request-Id` and in every error body.
    public var requestID: String = ""
    /// Set by ``AuthenticationMiddleware`` when the request carries valid credentials.
    public var principal: Principal?
    /// The principal came from the session cookie (so CSRF rules apply).
    public var authenticatedByCookie = false
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

    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        // RFC 3339, with or without fractional seconds (so the API reads back what it writes).
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected an RFC 3339 date-time such as 2026-11-25T09:00:00Z")
            }
            return date
        }
        return decoder
    }
}

/// RFC 3339 in UTC with milliseconds (2026-11-25T16:31:10.698Z), rounded to the
/// nearest millisecond by integer arithmetic: Foundation's formatter truncates
/// the binary fraction, so .988 could come out as .987 and a timestamp the API
/// wrote would not read back as the same one.
func rfc3339(_ date: Date) -> String {
    let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
    let seconds = Date(timeIntervalSince1970: TimeInterval(milliseconds.floorDivided(by: 1000)))
    let whole = seconds.formatted(Date.ISO8601FormatStyle())  // …T16:31:10Z
    let fraction = milliseconds - milliseconds.floorDivided(by: 1000) * 1000
    return whole.dropLast() + "." + String(format: "%03d", fraction) + "Z"
}

extension Int64 {
    fileprivate func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
