import Foundation

/// A messaging provider: everything the send path and the webhooks need from
/// one, so a second provider is a new folder beside `Providers/Twilio/`, not a
/// change to the send path (docs/ARCHITECTURE.md, "Who owns what").
///
/// Twilio (`TwilioClient`) is the first implementation; the sandbox signs its
/// callbacks with the same `TwilioSignature` the verification uses.
public protocol MessagingProvider: Sendable {
    /// A short name for logs and metrics (`twilio`).
    var name: String { get }
    /// A send with no answer by then is ambiguous; a pause waits this plus 5 s for sends in flight.
    var timeout: Duration { get }

    /// Hands one message over. Never throws: every failure is an outcome that
    /// says whether the message can have reached the provider.
    func send(_ message: OutboundMessage) async -> SendOutcome
    /// Messages from `from` to `to` since about `since`: how an ambiguous send is settled.
    func findMessages(to: String, from: String, since: Date) async throws -> [ProviderMessage]
    /// One message by its sid; nil when the provider has none.
    func fetchMessage(sid: String) async throws -> ProviderMessage?

    /// The webhook's parameters when its signature is the provider's; nil for anything else.
    func verify(_ webhook: SignedWebhook) -> [String: String]?
    /// A verified status callback as a report on one message.
    func statusReport(_ parameters: [String: String]) -> ProviderReport
    /// A looked-up message as the report its status callback would have made.
    func report(_ message: ProviderMessage) -> ProviderReport
    /// A verified inbound message.
    func inboundText(_ parameters: [String: String]) -> InboundText
    /// What an error code does beyond failing its message.
    func errorEffect(of code: Int) -> ProviderErrorPolicy.Effect
    /// Parameters safe to log: numbers masked, bodies and credentials left out.
    func redacted(_ parameters: [String: String]) -> [String: String]
}

/// One message to hand to the provider.
public struct OutboundMessage: Sendable, Equatable {
    public var to: String
    public var from: String
    public var body: String
    /// Where the provider posts status callbacks; carries the job id.
    public var statusCallback: String?
    /// Seconds the provider may keep trying to deliver (1…36,000); set to the
    /// close of the allowed window so nothing is delivered in quiet hours.
    public var validityPeriod: Int?

    public init(to: String, from: String, body: String, statusCallback: String? = nil, validityPeriod: Int? = nil) {
        self.to = to
        self.from = from
        self.body = body
        self.statusCallback = statusCallback
        self.validityPeriod = validityPeriod
    }
}

/// Why a send did not go through, as typed fields: the HTTP status, the
/// provider's code, and whether the request may have reached the provider
/// (the fact at-most-once turns on).
public struct SendFailure: Sendable, Equatable {
    public var reason: String
    /// The provider's HTTP status; nil when no answer came (refused connection, timeout).
    public var httpStatus: Int?
    /// The provider's own error code, when it gave one.
    public var providerCode: Int?
    /// True when a message may exist at the provider: never re-send blindly.
    public var mayHaveReachedProvider: Bool
    /// The provider's Retry-After, when it gave one.
    public var retryAfter: Duration?

    public init(reason: String, httpStatus: Int? = nil, providerCode: Int? = nil, mayHaveReachedProvider: Bool, retryAfter: Duration? = nil) {
        self.reason = reason
        self.httpStatus = httpStatus
        self.providerCode = providerCode
        self.mayHaveReachedProvider = mayHaveReachedProvider
        self.retryAfter = retryAfter
    }
}

/// What happened to a send, and so what the job's status becomes.
public enum SendOutcome: Sendable, Equatable {
    /// The provider took it: the job is `sent` with this sid.
    case accepted(sid: String, status: String)
    /// Certainly not sent and worth retrying later (429, 503, refused
    /// connection, bad credentials): back to `queued` with backoff.
    case retryable(SendFailure)
    /// The provider refused it for good: the job is `failed` with this code.
    case rejected(code: Int, message: String, httpStatus: Int)
    /// The request may have reached the provider and no usable answer came
    /// back: `unknown`, never re-sent blindly; settled by callback or lookup.
    case ambiguous(SendFailure)
}

/// A message as the provider lists it.
public struct ProviderMessage: Sendable, Equatable {
    public var sid: String
    public var to: String
    public var from: String
    /// The provider's raw status.
    public var status: String
    public var body: String?
    public var errorCode: Int?

    public init(sid: String, to: String, from: String, status: String, body: String? = nil, errorCode: Int? = nil) {
        self.sid = sid
        self.to = to
        self.from = from
        self.status = status
        self.body = body
        self.errorCode = errorCode
    }
}

/// A webhook as it arrived, for signature verification.
public struct SignedWebhook: Sendable {
    /// The public URL it was posted to (`PUBLIC_BASE_URL` + path and query as received).
    public var url: String
    /// The provider's signature header, when there was one.
    public var signature: String?
    public var contentType: String?
    public var body: [UInt8]

    public init(url: String, signature: String?, contentType: String?, body: [UInt8]) {
        self.url = url
        self.signature = signature
        self.contentType = contentType
        self.body = body
    }
}

/// A provider's report on one message: a status callback or a lookup.
public struct ProviderReport: Sendable, Equatable {
    public var sid: String?
    /// The provider's raw status, lowercased, as stored.
    public var rawStatus: String
    /// What it means for a job; nil for statuses that say nothing about an
    /// outbound message (`receiving`) and for unknown ones.
    public var status: JobStatus?
    /// Whether the provider documents `rawStatus` (an undocumented one is stored as `unknown_status`).
    public var isKnownStatus: Bool
    public var errorCode: Int?
    /// The actual price in cents (positive), when the provider gives it.
    public var priceCents: Decimal?
    public var priceUnit: String?

    public init(
        sid: String?, rawStatus: String, status: JobStatus?, isKnownStatus: Bool, errorCode: Int? = nil, priceCents: Decimal? = nil,
        priceUnit: String? = nil
    ) {
        self.sid = sid
        self.rawStatus = rawStatus.lowercased()
        self.status = status
        self.isKnownStatus = isKnownStatus
        self.errorCode = errorCode
        self.priceCents = priceCents
        self.priceUnit = priceUnit
    }
}

/// An inbound text.
public struct InboundText: Sendable, Equatable {
    public var sid: String?
    public var from: String
    public var to: String
    public var body: String

    public init(sid: String?, from: String, to: String, body: String) {
        self.sid = sid
        self.from = from
        self.to = to
        self.body = body
    }
}
