import Foundation
import SMSCore
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
    /// Inclusive lower bound on the creation time, to the millisecond as the
    /// admin listing writes `created_at` (`GET /_sandbox/messages?since=`): a
    /// message's own `created_at` sent back finds that message.
    var createdSinceMilliseconds: Int64?

    func matches(_ message: SandboxMessage) -> Bool {
        if let to, message.to != to { return false }
        if let from, message.from != from { return false }
        if let sentFrom, message.filterDate < sentFrom { return false }
        if let sentBefore, message.filterDate >= sentBefore { return false }
        if let createdSinceMilliseconds, message.dateCreated.millisecondsSince1970 < createdSinceMilliseconds { return false }
        return true
    }
}

/// The sandbox's memory of every message it accepted or received, and its counters.
public actor SandboxMessageStore {
    /// A sid and its place in arrival order.
    struct Entry {
        /// Counts up from 0 and never restarts, not even after ``removeAll()``,
        /// so an admin-listing cursor never points into a different set of messages.
        let sequence: Int
        let sid: String
    }

    private var messages: [String: SandboxMessage] = [:]
    /// Oldest first, so sequences ascend and a cursor is found by binary search.
    private var order: [Entry] = []
    /// Entries by recipient, oldest first: list lookups by `To` (the worker's) skip the scan.
    private var byRecipient: [String: [Entry]] = [:]
    private var nextSequence = 0

    public init() {}

    func insert(_ message: SandboxMessage) {
        let entry = Entry(sequence: nextSequence, sid: message.sid)
        nextSequence += 1
        messages[message.sid] = message
        order.append(entry)
        byRecipient[message.to, default: []].append(entry)
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
    public func all() -> [SandboxMessage] { order.compactMap { messages[$0.sid] } }

    /// Messages to one recipient, oldest first.
    public func messages(to recipient: String) -> [SandboxMessage] {
        (byRecipient[recipient] ?? []).compactMap { messages[$0.sid] }
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
        for entry in candidates.reversed() {
            if let message = messages[entry.sid], filter.matches(message) { matching.append(message) }
        }
        var start = page * pageSize
        if let after, let index = matching.firstIndex(where: { $0.sid == after }) { start = index + 1 }
        guard start < matching.count else { return ([], start, false) }
        let end = min(start + pageSize, matching.count)
        return (Array(matching[start..<end]), start, end < matching.count)
    }

    /// A page of the messages matching `filter`, oldest first, for the admin
    /// listing (`GET /_sandbox/messages`).
    ///
    /// Keyset paging: the page starts right after the message whose sequence
    /// `afterSequence` is (from the previous page's cursor), found by binary search,
    /// and the scan stops at `limit + 1` matches. Nothing but the page is copied,
    /// however many messages the sandbox holds, and messages arriving meanwhile
    /// land after the cursor instead of shifting pages.
    func adminPage(matching filter: MessageFilter, afterSequence: Int?, limit: Int) -> Page<SandboxMessage> {
        precondition(limit > 0, "a page holds at least one message")
        let candidates = filter.to.map { byRecipient[$0] ?? [] } ?? order
        var index = afterSequence.map { after in candidates.partitioningIndex { $0.sequence > after } } ?? candidates.startIndex
        var page: [SandboxMessage] = []
        var lastSequence = -1
        while index < candidates.endIndex {
            let entry = candidates[index]
            index += 1
            guard let message = messages[entry.sid], filter.matches(message) else { continue }
            if page.count == limit {
                // A match beyond the page: only now is there a next page to point to.
                return Page(items: page, nextCursor: Self.cursor(sequence: lastSequence, createdAt: page[page.count - 1].dateCreated))
            }
            page.append(message)
            lastSequence = entry.sequence
        }
        return Page(items: page, nextCursor: nil)
    }

    /// The project's opaque cursor (``PageCursor``), carrying the sequence as its id.
    static func cursor(sequence: Int, createdAt: Date) -> String {
        PageCursor(createdAt: createdAt, id: String(sequence)).token
    }

    /// The sequence inside a cursor from ``cursor(sequence:createdAt:)``; nil when it is not one.
    static func sequence(fromCursor token: String) -> Int? {
        PageCursor(token: token).flatMap { Int($0.id) }.flatMap { $0 >= 0 ? $0 : nil }
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

extension Array {
    /// The first index whose element satisfies `isAfter`, given that every element
    /// that does comes after every one that does not (binary search).
    fileprivate func partitioningIndex(where isAfter: (Element) -> Bool) -> Int {
        var low = startIndex
        var high = endIndex
        while low < high {
            let middle = low + (high - low) / 2
            if isAfter(self[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
