import Curl
import Foundation
import Hummingbird
import Logging
import SMSCore

/// A local stand-in for Twilio's Messages API, for development, tests and
/// benchmarks (issue 4, "Twilio sandbox").
///
/// - Speaks `POST …/Messages.json`, `GET …/Messages/{sid}.json` and the
///   `GET …/Messages.json` list (filters `To`, `From`, `DateSent`, `DateSent<`,
///   `DateSent>`, paging), with Twilio's basic auth, validation and JSON.
/// - Plays each accepted message's life (`sent`, then `delivered`, or the
///   injected `undelivered`/`failed`) and posts signed status callbacks to its
///   `StatusCallback` (``SandboxWebhooks``).
/// - Injects faults (``SandboxFaults``): magic test numbers, 429/500 rates,
///   latency, answers held past the client's timeout.
/// - Admin routes under `/_sandbox/` (no Twilio auth, served on the sandbox's
///   own address only): faults, inbound messages, messages (filtered, paged), stats.
///
/// Tests run it in-process: ``buildApplication(onServerRunning:)`` on port 0,
/// then read ``store``, ``counters`` and ``faults``.
public struct TwilioSandbox: Sendable {
    public struct Configuration: Sendable {
        /// The only account it accepts (`TWILIO_ACCOUNT_SID`).
        public var accountSID: String
        /// Basic-auth password and the key webhooks are signed with (`TWILIO_AUTH_TOKEN`).
        public var authToken: String
        /// `SANDBOX_HOST`. Default 127.0.0.1; the admin routes are served here too.
        public var host: String
        /// `SANDBOX_PORT`. Default 3003; 0 lets the kernel choose (see ``buildApplication(onServerRunning:)``).
        public var port: Int
        /// `SANDBOX_CALLBACK_DELAY_MS`: the wait before each status change (queued → sent → delivered). Default 50 ms.
        public var callbackDelay: Duration
        /// `SANDBOX_CALLBACK_RETRIES`: extra attempts when a callback cannot connect or times out. Default 3.
        public var callbackRetries: Int
        /// How long one callback may take, like Twilio's webhook timeout. Default 15 s.
        public var callbackTimeout: Duration
        /// `SANDBOX_CALLBACK_CONCURRENCY`: callbacks in flight at once, each on a curl thread. Default 16.
        public var callbackConcurrency: Int
        /// `SANDBOX_INBOUND_URL`: where `POST /_sandbox/inbound` posts when its body names no `url`.
        public var inboundURL: String?
        /// The faults in force at start-up, and what `DELETE /_sandbox/faults` restores.
        public var faults: SandboxFaults

        public init(
            accountSID: String, authToken: String, host: String = "127.0.0.1", port: Int = 3003,
            callbackDelay: Duration = .milliseconds(50), callbackRetries: Int = 3, callbackTimeout: Duration = .seconds(15),
            callbackConcurrency: Int = 16, inboundURL: String? = nil, faults: SandboxFaults = SandboxFaults()
        ) {
            self.accountSID = accountSID
            self.authToken = authToken
            self.host = host
            self.port = port
            self.callbackDelay = callbackDelay
            self.callbackRetries = callbackRetries
            self.callbackTimeout = callbackTimeout
            self.callbackConcurrency = callbackConcurrency
            self.inboundURL = inboundURL
            self.faults = faults
        }
    }

    public let configuration: Configuration
    /// Every message accepted or received.
    public let store = SandboxMessageStore()
    /// Requests and callbacks by outcome.
    public let counters = SandboxCounters()
    /// The faults in force; change them here or through `/_sandbox/faults`.
    public let faults: SandboxFaultSettings
    /// Status callbacks and inbound messages; runs as a service of the application.
    public let webhooks: SandboxWebhooks

    let logger: Logger

    public init(configuration: Configuration, logger: Logger = Logger(label: "twilio-sandbox")) {
        self.configuration = configuration
        self.logger = logger
        self.faults = SandboxFaultSettings(configuration.faults)
        self.webhooks = SandboxWebhooks(configuration: configuration, store: store, counters: counters, logger: logger)
    }

    /// The sandbox as a Hummingbird application (HTTP server plus ``webhooks``);
    /// tests run it in-process. Build and run one application per sandbox.
    ///
    /// - Parameter onServerRunning: called with the port once the server listens;
    ///   with port 0 in the configuration, this is how a test learns the port the kernel chose.
    public func buildApplication(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let router = Router()
        router.get("health") { _, _ in ["status": "healthy"] }
        let accounts = router.group("2010-04-01/Accounts/:accountSid")
        accounts.post("Messages.json") { request, context in
            try await createMessage(request, context: context)
        }
        accounts.get("Messages.json") { request, context in
            try await listMessages(request, context: context)
        }
        accounts.get("Messages/:messageSid") { request, context in
            try await fetchMessage(request, context: context)
        }
        addAdminRoutes(to: router.group("_sandbox"))
        return Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "twilio-sandbox"),
            services: [webhooks],
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
    }

    // MARK: Messages API

    func createMessage(_ request: Request, context: some RequestContext) async throws -> Response {
        if let refusal = authenticate(request, context: context) { return refusal }
        let faults = self.faults.current
        try await addLatency(faults)
        if faults.rateLimitedRate > 0, Double.random(in: 0..<1) < faults.rateLimitedRate {
            counters.increment("create.rate_limited")
            return TwilioErrorBody.response(429, code: 20429, message: "Too Many Requests")
        }
        if faults.serverErrorRate > 0, Double.random(in: 0..<1) < faults.serverErrorRate {
            counters.increment("create.server_error")
            return TwilioErrorBody.response(500, code: 20500, message: "Internal Server Error")
        }
        var request = request
        let buffer = try await request.collectBody(upTo: 64 * 1024)
        let fields = Dictionary(FormEncoding.decode(String(buffer: buffer)), uniquingKeysWith: { first, _ in first })
        let message: SandboxMessage
        switch validate(fields, faults: faults) {
        case .failure(let refusal):
            counters.increment(refusal.counter)
            return refusal.response
        case .success(let accepted):
            message = accepted
        }
        await store.insert(message)
        webhooks.schedule(.init(sid: message.sid, statusCallback: message.statusCallback, outcome: outcome(for: message.to, faults: faults)))
        if faults.hangRate > 0, Double.random(in: 0..<1) < faults.hangRate {
            // Accepted and stored, but the client hears nothing until it gives up.
            counters.increment("create.hung")
            try? await Task.sleep(for: .milliseconds(Int(faults.hangSeconds * 1000)))
        } else {
            counters.increment("create.accepted")
        }
        return jsonResponse(.created, message)
    }

    struct Refusal: Error {
        let response: Response
        let counter: String

        static func invalid(_ code: Int, _ message: String, counter: String = "create.invalid") -> Refusal {
            Refusal(response: TwilioErrorBody.response(400, code: code, message: message), counter: counter)
        }
    }

    /// Twilio's checks on a create request, in Twilio's order of precedence as far as it is visible.
    func validate(_ fields: [String: String], faults: SandboxFaults) -> Result<SandboxMessage, Refusal> {
        guard let to = fields["To"].map(unescapedPlus), !to.isEmpty else {
            return .failure(.invalid(21604, "A 'To' phone number is required."))
        }
        guard isE164(to) else {
            return .failure(.invalid(21211, "The 'To' number \(to) is not a valid phone number."))
        }
        let service = fields["MessagingServiceSid"].flatMap { $0.isEmpty ? nil : $0 }
        let from = fields["From"].flatMap { $0.isEmpty ? nil : unescapedPlus($0) }
        guard from != nil || service != nil else {
            return .failure(.invalid(21603, "A 'From' phone number is required."))
        }
        if let from, !isE164(from) {
            return .failure(.invalid(21212, "The 'From' number \(from) is not a valid phone number, shortcode, or alphanumeric sender ID."))
        }
        if let service, !(service.hasPrefix("MG") && service.count == 34) {
            return .failure(.invalid(21701, "The Messaging Service Sid \(service) is invalid."))
        }
        guard let body = fields["Body"], !body.isEmpty else {
            return .failure(.invalid(21602, "Message body is required."))
        }
        guard body.utf16.count <= MessageSegments.maximumBodyCharacters else {
            return .failure(.invalid(21617, "The concatenated message body exceeds the 1600 character limit."))
        }
        let callback = fields["StatusCallback"].flatMap { $0.isEmpty ? nil : $0 }
        if let callback, !(callback.hasPrefix("http://") || callback.hasPrefix("https://")) {
            return .failure(.invalid(21609, "The StatusCallback URL \(callback) is not a valid URL."))
        }
        if faults.magicNumbers, let magic = MagicRecipient.error(for: to, from: from ?? service ?? "") {
            return .failure(.invalid(magic.code, magic.message, counter: "create.magic_number"))
        }
        let now = Date()
        return .success(
            SandboxMessage(
                sid: SandboxMessage.newSID(), accountSID: configuration.accountSID, to: to, from: from ?? "",
                messagingServiceSID: service, body: body,
                // Twilio answers `accepted` when a Messaging Service will pick the sender, else `queued`.
                status: service != nil && from == nil ? "accepted" : "queued",
                numSegments: MessageSegments.calculate(body).segments, direction: "outbound-api", dateCreated: now,
                dateUpdated: now, dateSent: nil, errorCode: nil, errorMessage: nil, statusCallback: callback))
    }

    func outcome(for to: String, faults: SandboxFaults) -> SandboxWebhooks.Outcome {
        if let suffix = faults.failedSuffix, to.hasSuffix(suffix) { return .failed }
        if let suffix = faults.undeliveredSuffix, to.hasSuffix(suffix) { return .undelivered }
        return .delivered
    }

    func fetchMessage(_ request: Request, context: some RequestContext) async throws -> Response {
        if let refusal = authenticate(request, context: context) { return refusal }
        try await addLatency(faults.current)
        var sid = context.parameters.get("messageSid") ?? ""
        if sid.hasSuffix(".json") { sid.removeLast(5) }
        guard let message = await store.message(sid: sid) else {
            counters.increment("fetch.not_found")
            return TwilioErrorBody.response(404, code: 20404, message: "The requested resource /2010-04-01/Accounts/\(configuration.accountSID)/Messages/\(sid).json was not found")
        }
        counters.increment("fetch.found")
        return jsonResponse(.ok, message)
    }

    /// Twilio's Messages list: newest first, filtered, paged with `PageSize`
    /// (default 50, at most 1000), `Page` and `PageToken`.
    func listMessages(_ request: Request, context: some RequestContext) async throws -> Response {
        if let refusal = authenticate(request, context: context) { return refusal }
        try await addLatency(faults.current)
        let query = Dictionary(FormEncoding.decode(request.uri.query ?? ""), uniquingKeysWith: { first, _ in first })
        var filter = MessageFilter()
        func phone(_ name: String) -> String? {
            guard let value = query[name], !value.isEmpty else { return nil }
            return unescapedPlus(value)
        }
        filter.to = phone("To")
        filter.from = phone("From")
        for name in ["DateSent", "DateSent>", "DateSent<"] {
            guard let text = query[name], !text.isEmpty else { continue }
            guard let value = TwilioDate.parseFilter(text) else {
                counters.increment("list.invalid")
                return TwilioErrorBody.response(400, code: 20001, message: "Invalid value for \(name): \(text)")
            }
            // Inclusive on both sides, as Twilio's `DateSent>=` and `DateSent<=` are.
            if name != "DateSent<" { filter.sentFrom = value.lowerBound }
            if name != "DateSent>" { filter.sentBefore = value.upperBound }
        }
        let pageSize = min(max(Int(query["PageSize"] ?? "") ?? 50, 1), 1000)
        let page = max(Int(query["Page"] ?? "") ?? 0, 0)
        let after = query["PageToken"].flatMap { $0.hasPrefix("PA") ? String($0.dropFirst(2)) : nil }
        let result = await store.page(matching: filter, page: page, pageSize: pageSize, after: after)
        counters.increment("list.ok")

        let path = "/2010-04-01/Accounts/\(configuration.accountSID)/Messages.json"
        var filters: [(String, String)] = []
        for name in ["To", "From", "DateSent", "DateSent<", "DateSent>"] {
            if let value = name == "To" ? filter.to : name == "From" ? filter.from : query[name], !value.isEmpty {
                filters.append((name, value))
            }
        }
        func uri(page: Int, token: String?) -> String {
            path + "?" + FormEncoding.encode(filters + [("PageSize", String(pageSize)), ("Page", String(page))] + (token.map { [("PageToken", $0)] } ?? []))
        }
        let body = MessagePage(
            messages: result.messages, start: result.start,
            end: result.messages.isEmpty ? result.start : result.start + result.messages.count - 1, page: page,
            pageSize: pageSize, uri: uri(page: page, token: query["PageToken"]), firstPageURI: uri(page: 0, token: nil),
            nextPageURI: result.hasMore ? uri(page: page + 1, token: "PA" + (result.messages.last?.sid ?? "")) : nil,
            previousPageURI: page > 0 ? uri(page: page - 1, token: nil) : nil)
        return jsonResponse(.ok, body)
    }

    /// Twilio answers 401 with code 20003 for a wrong or missing basic auth,
    /// and for a path account that is not the authenticated one.
    func authenticate(_ request: Request, context: some RequestContext) -> Response? {
        let expected = "Basic " + Data("\(configuration.accountSID):\(configuration.authToken)".utf8).base64EncodedString()
        let given = Array((request.headers[.authorization] ?? "").utf8)
        guard Secrets.constantTimeEquals(given, Array(expected.utf8)),
            context.parameters.get("accountSid") == configuration.accountSID
        else {
            counters.increment("request.unauthorized")
            return TwilioErrorBody.response(401, code: 20003, message: "Authenticate")
        }
        return nil
    }

    func addLatency(_ faults: SandboxFaults) async throws {
        if faults.latencyMilliseconds > 0 { try await Task.sleep(for: .milliseconds(faults.latencyMilliseconds)) }
    }
}

/// One page of Twilio's Messages list.
struct MessagePage: Encodable {
    let messages: [SandboxMessage]
    let start: Int
    let end: Int
    let page: Int
    let pageSize: Int
    let uri: String
    let firstPageURI: String
    let nextPageURI: String?
    let previousPageURI: String?

    enum CodingKeys: String, CodingKey {
        case messages, start, end, page, pageSize = "page_size", uri, firstPageURI = "first_page_uri"
        case nextPageURI = "next_page_uri", previousPageURI = "previous_page_uri"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(messages, forKey: .messages)
        try c.encode(start, forKey: .start)
        try c.encode(end, forKey: .end)
        try c.encode(page, forKey: .page)
        try c.encode(pageSize, forKey: .pageSize)
        try c.encode(uri, forKey: .uri)
        try c.encode(firstPageURI, forKey: .firstPageURI)
        try c.encode(nextPageURI, forKey: .nextPageURI)  // explicit null on the last page, as Twilio writes it
        try c.encode(previousPageURI, forKey: .previousPageURI)
    }
}

/// Twilio's error body: `{"code": 21211, "message": "…", "more_info": "…", "status": 400}`.
struct TwilioErrorBody: Encodable {
    let code: Int
    let message: String
    let moreInfo: String
    let status: Int

    enum CodingKeys: String, CodingKey { case code, message, moreInfo = "more_info", status }

    static func response(_ status: Int, code: Int, message: String) -> Response {
        let body = TwilioErrorBody(code: code, message: message, moreInfo: "https://www.twilio.com/docs/errors/\(code)", status: status)
        return jsonResponse(.init(code: status), body)
    }
}

/// JSON with slashes left alone (URIs read as Twilio writes them).
func jsonResponse(_ status: HTTPResponse.Status, _ value: some Encodable) -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.withoutEscapingSlashes]
    // Encoding these plain value types cannot fail; an empty object beats a crash if it ever did.
    let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
    return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

/// A phone number whose leading `+` was sent unescaped (`curl -d To=+614…`) arrives
/// as a space; Twilio reads it as the number that was meant, and so does the sandbox.
func unescapedPlus(_ phone: String) -> String {
    phone.first == " " && phone.dropFirst().first?.isNumber == true ? "+" + phone.dropFirst() : phone
}

func isE164(_ text: String) -> Bool {
    let digits = text.utf8.dropFirst()
    return text.utf8.first == UInt8(ascii: "+") && (8...15).contains(digits.count) && digits.first != UInt8(ascii: "0")
        && digits.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
}
