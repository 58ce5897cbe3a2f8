import Foundation
import Synchronization

/// A message as the sandbox remembers it. Encodes to Twilio's Message resource
/// JSON: snake_case names, counts as strings, RFC 2822 dates, explicit nulls.
public struct SandboxMessage: Sendable, Encodable {
    public var sid: String
    public var accountSID: String
    public var to: String
    public var from: String
    public var messagingServiceSID: String?
    public var body: String
    /// queued, accepted, sending, sent, delivered, undelivered, failed (outbound); received (inbound).
    public var status: String
    public var numSegments: Int
    /// `outbound-api` or `inbound`.
    public var direction: String
    public var dateCreated: Date
    public var dateUpdated: Date
    public var dateSent: Date?
    public var errorCode: Int?
    public var errorMessage: String?
    /// Where status callbacks go; not part of Twilio's JSON.
    public var statusCallback: String?

    public var uri: String { "/2010-04-01/Accounts/\(accountSID)/Messages/\(sid).json" }

    /// Filters compare against the send time, or the creation time while the
    /// message has not been sent yet, so a just-accepted message is already found.
    var filterDate: Date { dateSent ?? dateCreated }

    enum CodingKeys: String, CodingKey {
        case accountSid = "account_sid", apiVersion = "api_version", body, dateCreated = "date_created"
        case dateSent = "date_sent", dateUpdated = "date_updated", direction, errorCode = "error_code"
        case errorMessage = "error_message", from, messagingServiceSid = "messaging_service_sid", numMedia = "num_media"
        case numSegments = "num_segments", price, priceUnit = "price_unit", sid, status
        case subresourceURIs = "subresource_uris", to, uri
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(accountSID, forKey: .accountSid)
        try c.encode("2010-04-01", forKey: .apiVersion)
        try c.encode(body, forKey: .body)
        try c.encode(TwilioDate.rfc2822(dateCreated), forKey: .dateCreated)
        try c.encode(dateSent.map(TwilioDate.rfc2822), forKey: .dateSent)
        try c.encode(TwilioDate.rfc2822(dateUpdated), forKey: .dateUpdated)
        try c.encode(direction, forKey: .direction)
        try c.encode(errorCode, forKey: .errorCode)
        try c.encode(errorMessage, forKey: .errorMessage)
        try c.encode(from, forKey: .from)
        try c.encode(messagingServiceSID, forKey: .messagingServiceSid)
        try c.encode("0", forKey: .numMedia)
        try c.encode(String(numSegments), forKey: .numSegments)
        try c.encodeNil(forKey: .price)
        try c.encode("USD", forKey: .priceUnit)
        try c.encode(sid, forKey: .sid)
        try c.encode(status, forKey: .status)
        try c.encode(["media": "/2010-04-01/Accounts/\(accountSID)/Messages/\(sid)/Media.json"], forKey: .subresourceURIs)
        try c.encode(to, forKey: .to)
        try c.encode(uri, forKey: .uri)
    }

    /// A new Twilio-style sid: two letters and 32 lowercase hex digits.
    static func newSID(prefix: String = "SM") -> String {
        prefix + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }
}

/// Which messages a list request wants, as Twilio's filters say it.
struct MessageFilter: Sendable {
    var to: String?
    var from: String?
    /// Inclusive lower bound on the send date (`DateSent>`).
    var sentFrom: Date?
    /// Exclusive upper bound on the send date (`DateSent<`, `DateSent`).
    var sentBefore: Date?

    func matches(_ message: SandboxMessage) -> Bool {
        if let to, message.to != to { return false }
        if let from, message.from != from { return false }
        if let sentFrom, message.filterDate < sentFrom { return false }
        if let sentBefore, message.filterDate >= sentBefore { return false }
        return true
    }
}

/// The sandbox's memory of every message it accepted or received, and its counters.
public actor SandboxMessageStore {
    private var messages: [String: SandboxMessage] = [:]
    /// Sids, oldest first.
    private var order: [String] = []
    /// Sids by recipient, oldest first: list lookups by `To` (the worker's) skip the scan.
    private var byRecipient: [String: [String]] = [:]

    public init() {}

    func insert(_ message: SandboxMessage) {
        messages[message.sid] = message
        order.append(message.sid)
        byRecipient[message.to, default: []].append(message.sid)
    }

    /// Moves a message to `status`; the send date is set when it is first `sent`.
    @discardableResult
    func update(sid: String, status: String, errorCode: Int? = nil, errorMessage: String? = nil, at now: Date = Date())
        -> SandboxMessage?
    {
        guard var message = messages[sid] else { return nil }
        message.status = status
        message.dateUpdated = now
        if status == "sent", message.dateSent == nil { message.dateSent = now }
        if let errorCode {
            message.errorCode = errorCode
            message.errorMessage = errorMessage
        }
        messages[sid] = message
        return message
    }

    /// One message by sid.
    public func message(sid: String) -> SandboxMessage? { messages[sid] }

    /// Every message so far, oldest first.
    public func all() -> [SandboxMessage] { order.compactMap { messages[$0] } }

    /// Messages to one recipient, oldest first.
    public func messages(to recipient: String) -> [SandboxMessage] {
        (byRecipient[recipient] ?? []).compactMap { messages[$0] }
    }

    /// How many messages are in each status.
    public func countsByStatus() -> [String: Int] {
        messages.values.reduce(into: [:]) { $0[$1.status, default: 0] += 1 }
    }

    public var count: Int { order.count }

    /// Forgets every message.
    public func removeAll() {
        messages.removeAll()
        order.removeAll()
        byRecipient.removeAll()
    }

    /// A page of the messages matching `filter`, newest first as Twilio lists them.
    ///
    /// `after` is the sid the previous page ended with (from its PageToken): the
    /// page starts right after it, so messages created meanwhile do not shift
    /// pages. Without it, the page starts at `page × pageSize`.
    func page(matching filter: MessageFilter, page: Int, pageSize: Int, after: String?) -> (messages: [SandboxMessage], start: Int, hasMore: Bool) {
        let candidates = filter.to.map { byRecipient[$0] ?? [] } ?? order
        var matching: [SandboxMessage] = []
        for sid in candidates.reversed() {
            if let message = messages[sid], filter.matches(message) { matching.append(message) }
        }
        var start = page * pageSize
        if let after, let index = matching.firstIndex(where: { $0.sid == after }) { start = index + 1 }
        guard start < matching.count else { return ([], start, false) }
        let end = min(start + pageSize, matching.count)
        return (Array(matching[start..<end]), start, end < matching.count)
    }
}

/// Counts of what the sandbox did, by outcome (`GET /_sandbox/stats`).
public final class SandboxCounters: Sendable {
    private let counts = Mutex<[String: Int]>([:])

    public init() {}

    func increment(_ name: String, by amount: Int = 1) {
        counts.withLock { $0[name, default: 0] += amount }
    }

    /// The current counts, e.g. `create.accepted`, `create.rate_limited`, `callback.delivered`.
    public var snapshot: [String: Int] { counts.withLock { $0 } }

    public func value(_ name: String) -> Int { counts.withLock { $0[name] ?? 0 } }

    func reset() { counts.withLock { $0.removeAll() } }
}
