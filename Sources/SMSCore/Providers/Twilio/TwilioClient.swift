import Curl
import Foundation

/// Twilio as a ``MessagingProvider``: its Messages API over the project's
/// libcurl client, its webhook signatures (``TwilioSignature``), its statuses
/// and error codes.
public struct TwilioClient: MessagingProvider {
    public struct Configuration: Sendable {
        public var accountSID: String
        public var authToken: String
        /// `https://api.twilio.com`, or the sandbox.
        public var apiBase: String
        /// A send that takes longer is `ambiguous`.
        public var timeout: Duration

        public init(accountSID: String, authToken: String, apiBase: String, timeout: Duration = .seconds(15)) {
            self.accountSID = accountSID
            self.authToken = authToken
            self.apiBase = apiBase
            self.timeout = timeout
        }
    }

    public let configuration: Configuration
    let http: CurlHTTPClient

    public init(configuration: Configuration, http: CurlHTTPClient) {
        self.configuration = configuration
        self.http = http
    }

    public var name: String { "twilio" }
    public var timeout: Duration { configuration.timeout }

    var messagesURL: String { "\(configuration.apiBase)/2010-04-01/Accounts/\(configuration.accountSID)/Messages.json" }
    var auth: (username: String, password: String) { (configuration.accountSID, configuration.authToken) }

    // MARK: Sending

    /// `POST …/Messages.json`. Never throws: every failure is an outcome that
    /// says whether the message can have gone out.
    public func send(_ message: OutboundMessage) async -> SendOutcome {
        let clock = ContinuousClock()
        let start = clock.now
        let outcome = await request(message)
        Telemetry.providerRequest(outcome, duration: clock.now - start)
        return outcome
    }

    private func request(_ message: OutboundMessage) async -> SendOutcome {
        var fields = [("To", message.to), ("From", message.from), ("Body", message.body)]
        if let callback = message.statusCallback { fields.append(("StatusCallback", callback)) }
        if let validity = message.validityPeriod { fields.append(("ValidityPeriod", String(min(max(validity, 1), 36_000)))) }
        var request = HTTPClientRequest.form(url: messagesURL, fields: fields, basicAuth: auth)
        request.totalTimeout = configuration.timeout
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request)
        } catch let error as CurlError {
            switch error.delivery {
            case .notSent: return .retryable(SendFailure(reason: "not sent: \(error.message)", mayHaveReachedProvider: false))
            case .mayHaveBeenSent:
                return .ambiguous(
                    SendFailure(reason: error.isTimeout ? "no answer within \(configuration.timeout)" : error.message, mayHaveReachedProvider: true))
            }
        } catch {
            return .retryable(SendFailure(reason: "not sent: \(error)", mayHaveReachedProvider: false))
        }
        return Self.outcome(of: response)
    }

    /// Classifies Twilio's answer.
    static func outcome(of response: HTTPClientResponse) -> SendOutcome {
        let error = try? JSONDecoder().decode(TwilioErrorBody.self, from: Data(response.body))
        switch response.status {
        case 200, 201:
            guard let message = try? JSONDecoder().decode(TwilioMessage.self, from: Data(response.body)) else {
                // Twilio said yes but we cannot read the sid: only a lookup can tell which message it was.
                return .ambiguous(
                    SendFailure(reason: "accepted, but the response could not be read", httpStatus: response.status, mayHaveReachedProvider: true))
            }
            return .accepted(sid: message.sid, status: message.status)
        case 429, 503:
            // Twilio did not act on the request.
            let hint = response.header("Retry-After").flatMap(Int.init).map { Duration.seconds($0) }
            return .retryable(
                SendFailure(
                    reason: "Twilio answered \(response.status)\(error.map { " (\($0.code))" } ?? "")", httpStatus: response.status,
                    providerCode: error?.code, mayHaveReachedProvider: false, retryAfter: hint))
        case 401, 403:
            // Credentials are an operator problem, not the message's: retry later rather than fail every job.
            return .retryable(
                SendFailure(
                    reason: "Twilio refused the credentials (\(response.status))", httpStatus: response.status, providerCode: error?.code,
                    mayHaveReachedProvider: false, retryAfter: .seconds(60)))
        case 400..<500:
            return .rejected(
                code: error?.code ?? response.status, message: error?.message ?? "Twilio refused the message (\(response.status))",
                httpStatus: response.status)
        default:
            // A 5xx other than 503 may come after Twilio created the message.
            return .ambiguous(
                SendFailure(
                    reason: "Twilio answered \(response.status)", httpStatus: response.status, providerCode: error?.code,
                    mayHaveReachedProvider: true))
        }
    }

    // MARK: Looking messages up

    /// Messages Twilio has from `from` to `to` sent on or after `since` (UTC
    /// date granularity, as Twilio filters): how an ambiguous send is settled.
    public func findMessages(to: String, from: String, since: Date) async throws -> [ProviderMessage] {
        let day = since.formatted(.iso8601.year().month().day())
        let query = "To=\(FormEncoding.escape(to))&From=\(FormEncoding.escape(from))&\(FormEncoding.escape("DateSent>"))=\(day)&PageSize=50"
        var request = HTTPClientRequest(url: messagesURL + "?" + query, basicAuth: auth)
        request.totalTimeout = configuration.timeout
        let response = try await http.execute(request)
        guard response.status == 200 else { throw TwilioLookupError(status: response.status) }
        return try JSONDecoder().decode(TwilioMessagePage.self, from: Data(response.body)).messages.map(\.message)
    }

    /// `GET …/Messages/{sid}.json`: how a `sent` job whose status callback
    /// never came is settled. Nil when Twilio has no such message.
    public func fetchMessage(sid: String) async throws -> ProviderMessage? {
        let url = messagesURL.replacingOccurrences(of: "/Messages.json", with: "/Messages/\(FormEncoding.escape(sid)).json")
        var request = HTTPClientRequest(url: url, basicAuth: auth)
        request.totalTimeout = configuration.timeout
        let response = try await http.execute(request)
        if response.status == 404 { return nil }
        guard response.status == 200 else { throw TwilioLookupError(status: response.status) }
        return try JSONDecoder().decode(TwilioMessage.self, from: Data(response.body)).message
    }

    // MARK: Webhooks

    /// Checks `X-Twilio-Signature` against the auth token: form bodies by their
    /// sorted parameters, JSON bodies by `bodySHA256` (``TwilioSignature``).
    public func verify(_ webhook: SignedWebhook) -> [String: String]? {
        guard let signature = webhook.signature, !signature.isEmpty else { return nil }
        var pairs: [(String, String)] = []
        if (webhook.contentType ?? "").lowercased().hasPrefix("application/json") {
            guard TwilioSignature.isValid(signature: signature, url: webhook.url, body: webhook.body, authToken: configuration.authToken),
                let object = try? JSONSerialization.jsonObject(with: Data(webhook.body)) as? [String: Any]
            else { return nil }
            pairs = object.map { key, value in (key, (value as? String) ?? "\(value)") }
        } else {
            pairs = FormEncoding.decode(String(decoding: webhook.body, as: UTF8.self))
            guard TwilioSignature.isValid(signature: signature, url: webhook.url, parameters: pairs, authToken: configuration.authToken) else {
                return nil
            }
        }
        var parameters: [String: String] = [:]
        for (name, value) in pairs { parameters[name] = value }
        return parameters
    }

    public func statusReport(_ parameters: [String: String]) -> ProviderReport { Self.statusReport(parameters) }

    /// A status callback's fields as a report. Twilio gives the price as a
    /// negative amount in `PriceUnit`.
    public static func statusReport(_ parameters: [String: String]) -> ProviderReport {
        let raw = (parameters["MessageStatus"] ?? parameters["SmsStatus"] ?? "").lowercased()
        let price = parameters["Price"].flatMap { Decimal(string: $0) }.map { ($0 < 0 ? -$0 : $0) * 100 }
        return ProviderReport(
            sid: parameters["MessageSid"] ?? parameters["SmsSid"], rawStatus: raw, status: jobStatus(forTwilio: raw),
            isKnownStatus: knownStatuses.contains(raw), errorCode: parameters["ErrorCode"].flatMap { Int($0) }, priceCents: price,
            priceUnit: parameters["PriceUnit"])
    }

    /// A looked-up message as a report, as its status callback would have said it.
    public func report(_ message: ProviderMessage) -> ProviderReport {
        let raw = message.status.lowercased()
        return ProviderReport(
            sid: message.sid, rawStatus: raw, status: Self.jobStatus(forTwilio: raw), isKnownStatus: Self.knownStatuses.contains(raw),
            errorCode: message.errorCode)
    }

    public func inboundText(_ parameters: [String: String]) -> InboundText { Self.inboundText(parameters) }

    public static func inboundText(_ parameters: [String: String]) -> InboundText {
        InboundText(
            sid: parameters["MessageSid"] ?? parameters["SmsMessageSid"] ?? parameters["SmsSid"], from: parameters["From"] ?? "",
            to: parameters["To"] ?? "", body: parameters["Body"] ?? "")
    }

    public func errorEffect(of code: Int) -> ProviderErrorPolicy.Effect { ProviderErrorPolicy.twilioEffects[code] ?? .failJobOnly }

    /// Numbers masked; the body, media URLs and the account's credentials left out.
    public func redacted(_ parameters: [String: String]) -> [String: String] {
        var kept: [String: String] = [:]
        for (name, value) in parameters {
            switch name {
            case "To", "From", "Called", "Caller": kept[name] = Redact.phone(value)
            case "Body", "AccountSid", "MessagingServiceSid", "ApiVersion": continue
            default: if !name.hasPrefix("MediaUrl") { kept[name] = value }
            }
        }
        return kept
    }

    // MARK: Statuses

    /// The one mapping from Twilio's `MessageStatus` values to a job status;
    /// nil for statuses that say nothing about an outbound message
    /// (`receiving`, `received`) and for values Twilio does not document.
    public static func jobStatus(forTwilio status: String) -> JobStatus? {
        switch status.lowercased() {
        case "accepted", "scheduled", "queued", "sending", "sent": .sent
        case "undelivered": .undelivered
        case "failed", "canceled": .failed
        // partially_delivered: the handset has the message, some segments were lost on the way.
        case "delivered", "read", "partially_delivered": .delivered
        default: nil
        }
    }

    /// Every message status Twilio documents; others are stored as `unknown_status`.
    public static let knownStatuses: Set<String> = [
        "accepted", "scheduled", "queued", "sending", "sent", "delivered", "undelivered", "failed", "read",
        "partially_delivered", "canceled", "receiving", "received",
    ]
}

public struct TwilioLookupError: Error, Sendable, Equatable {
    public var status: Int
}

/// A message as Twilio's API lists it.
struct TwilioMessage: Decodable {
    var sid: String
    var to: String
    var from: String
    var status: String
    var body: String?
    var errorCode: Int?

    enum CodingKeys: String, CodingKey {
        case sid, to, from, status, body
        case errorCode = "error_code"
    }

    var message: ProviderMessage { ProviderMessage(sid: sid, to: to, from: from, status: status, body: body, errorCode: errorCode) }
}

struct TwilioMessagePage: Decodable {
    var messages: [TwilioMessage]
}

struct TwilioErrorBody: Decodable {
    var code: Int
    var message: String
}
