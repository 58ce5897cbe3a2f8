import Curl
import Foundation

/// One message to hand to Twilio.
public struct OutboundMessage: Sendable, Equatable {
    public var to: String
    public var from: String
    public var body: String
    /// Where Twilio posts status callbacks; carries the job id.
    public var statusCallback: String?
    /// Seconds Twilio may keep trying to deliver (1…36,000); set to the close
    /// of the allowed window so nothing is delivered in quiet hours.
    public var validityPeriod: Int?

    public init(to: String, from: String, body: String, statusCallback: String? = nil, validityPeriod: Int? = nil) {
        self.to = to
        self.from = from
        self.body = body
        self.statusCallback = statusCallback
        self.validityPeriod = validityPeriod
    }
}

/// What happened to a send, and so what the job's status becomes.
public enum SendOutcome: Sendable, Equatable {
    /// Twilio took it: the job is `sent` with this sid.
    case accepted(sid: String, status: String)
    /// Certainly not sent and worth retrying later (429, 503, connection refused…):
    /// back to `queued` with backoff. `retryAfter` is Twilio's hint when it gave one.
    case retryable(reason: String, retryAfter: Duration?)
    /// Twilio refused it for good: the job is `failed` with this code.
    case rejected(code: Int, message: String)
    /// The request may have reached Twilio and no answer came back: `unknown`,
    /// never re-sent blindly; settled by callback or lookup.
    case ambiguous(reason: String)
}

/// A message as Twilio's API lists it (the fields the worker needs).
public struct TwilioMessage: Sendable, Equatable, Decodable {
    public var sid: String
    public var to: String
    public var from: String
    public var status: String
    public var body: String?
    public var dateCreated: String?
    public var errorCode: Int?
}

/// Twilio's Messages API over the project's libcurl client.
public struct TwilioClient: Sendable {
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

    var messagesURL: String { "\(configuration.apiBase)/2010-04-01/Accounts/\(configuration.accountSID)/Messages.json" }
    var auth: (username: String, password: String) { (configuration.accountSID, configuration.authToken) }

    /// `POST …/Messages.json`. Never throws: every failure is an outcome that
    /// says whether the message can have gone out.
    public func send(_ message: OutboundMessage) async -> SendOutcome {
        let clock = ContinuousClock()
        let start = clock.now
        let outcome = await request(message)
        Telemetry.twilioRequest(outcome, duration: clock.now - start)
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
            case .notSent: return .retryable(reason: "not sent: \(error.message)", retryAfter: nil)
            case .mayHaveBeenSent: return .ambiguous(reason: error.isTimeout ? "no answer within \(configuration.timeout)" : error.message)
            }
        } catch {
            return .retryable(reason: "not sent: \(error)", retryAfter: nil)
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
                return .ambiguous(reason: "accepted, but the response could not be read")
            }
            return .accepted(sid: message.sid, status: message.status)
        case 429, 503:
            // Twilio did not act on the request.
            let hint = response.header("Retry-After").flatMap(Int.init).map { Duration.seconds($0) }
            return .retryable(reason: "Twilio answered \(response.status)\(error.map { " (\($0.code))" } ?? "")", retryAfter: hint)
        case 401, 403:
            // Credentials are an operator problem, not the message's: retry later rather than fail every job.
            return .retryable(reason: "Twilio refused the credentials (\(response.status))", retryAfter: .seconds(60))
        case 400..<500:
            return .rejected(code: error?.code ?? response.status, message: error?.message ?? "Twilio refused the message (\(response.status))")
        default:
            // A 5xx other than 503 may come after Twilio created the message.
            return .ambiguous(reason: "Twilio answered \(response.status)")
        }
    }

    /// Messages Twilio has from `from` to `to` sent on or after `since` (UTC
    /// date granularity, as Twilio filters): how an ambiguous send is settled.
    public func findMessages(to: String, from: String, since: Date) async throws -> [TwilioMessage] {
        let day = since.formatted(.iso8601.year().month().day())
        let query = "To=\(FormEncoding.escape(to))&From=\(FormEncoding.escape(from))&\(FormEncoding.escape("DateSent>"))=\(day)&PageSize=50"
        var request = HTTPClientRequest(url: messagesURL + "?" + query, basicAuth: auth)
        request.totalTimeout = configuration.timeout
        let response = try await http.execute(request)
        guard response.status == 200 else { throw TwilioLookupError(status: response.status) }
        return try JSONDecoder().decode(TwilioMessagePage.self, from: Data(response.body)).messages
    }
}

extension TwilioClient {
    /// `GET …/Messages/{sid}.json`: how a `sent` job whose status callback
    /// never came is settled. Nil when the provider has no such message.
    public func fetchMessage(sid: String) async throws -> TwilioMessage? {
        let url = messagesURL.replacingOccurrences(of: "/Messages.json", with: "/Messages/\(FormEncoding.escape(sid)).json")
        var request = HTTPClientRequest(url: url, basicAuth: auth)
        request.totalTimeout = configuration.timeout
        let response = try await http.execute(request)
        if response.status == 404 { return nil }
        guard response.status == 200 else { throw TwilioLookupError(status: response.status) }
        return try JSONDecoder().decode(TwilioMessage.self, from: Data(response.body))
    }
}

public struct TwilioLookupError: Error, Sendable, Equatable {
    public var status: Int
}

struct TwilioMessagePage: Decodable {
    var messages: [TwilioMessage]
}

struct TwilioErrorBody: Decodable {
    var code: Int
    var message: String
}

extension TwilioMessage {
    enum CodingKeys: String, CodingKey {
        case sid, to, from, status, body
        case dateCreated = "date_created"
        case errorCode = "error_code"
    }
}
