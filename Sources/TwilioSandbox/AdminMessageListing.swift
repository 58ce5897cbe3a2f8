import Curl
import Foundation
import SMSCore

/// The query of `GET /_sandbox/messages`: `to`, `from`, `since`, `limit` and
/// `cursor` (or `page_token`). An empty value counts as absent.
///
/// The listing used to answer every message at once — 8.5 MB after 10,000
/// messages — so it is filtered and paged like the API's listings.
struct AdminMessageQuery {
    static let defaultLimit = 100
    static let maximumLimit = 1000

    var filter = MessageFilter()
    var limit = defaultLimit
    /// The sequence the previous page ended with; nil for the first page.
    var afterSequence: Int?

    /// What was wrong with a query, one `{"field", "reason"}` per parameter, all at once.
    struct Invalid: Error {
        var details: [[String: String]]
    }

    /// Parses a raw (form-encoded) query string.
    static func parse(_ rawQuery: String) -> Result<AdminMessageQuery, Invalid> {
        let fields = Dictionary(FormEncoding.decode(rawQuery), uniquingKeysWith: { first, _ in first })
            .filter { !$0.value.isEmpty }
        var query = AdminMessageQuery()
        var problems: [[String: String]] = []
        for name in ["to", "from"] {
            guard let raw = fields[name] else { continue }
            let phone = unescapedPlus(raw)
            guard isE164(phone) else {
                problems.append(["field": name, "reason": "must be an E.164 number such as +61412345678"])
                continue
            }
            if name == "to" { query.filter.to = phone } else { query.filter.from = phone }
        }
        if let raw = fields["since"] {
            if case .instant(let since) = TwilioDate.parseFilter(unescapedOffset(raw)) {
                query.filter.createdSinceMilliseconds = since.millisecondsSince1970
            } else {
                problems.append(["field": "since", "reason": "must be an RFC 3339 date-time such as 2026-11-25T16:31:10.698Z"])
            }
        }
        if let raw = fields["limit"] {
            if let limit = Int(raw), (1...maximumLimit).contains(limit) {
                query.limit = limit
            } else {
                problems.append(["field": "limit", "reason": "must be an integer from 1 to \(maximumLimit)"])
            }
        }
        let cursorName = fields["cursor"] != nil ? "cursor" : "page_token"
        if let raw = fields[cursorName] {
            if let sequence = SandboxMessageStore.sequence(fromCursor: raw) {
                query.afterSequence = sequence
            } else {
                problems.append(["field": cursorName, "reason": "is not a next_cursor this listing returned"])
            }
        }
        return problems.isEmpty ? .success(query) : .failure(Invalid(details: problems))
    }

    /// An offset's `+` sent unescaped (`since=…T10:00:00+10:00`) arrives as a space,
    /// like a phone number's; past the time of day a space can only be that `+`.
    private static func unescapedOffset(_ text: String) -> String {
        guard text.count > 19 else { return text }
        let time = text.prefix(19)
        return time + text.dropFirst(19).replacingOccurrences(of: " ", with: "+")
    }
}

/// One page of `GET /_sandbox/messages`: `{"messages": […], "next_cursor": "…" | null}`.
struct AdminMessagePage: Encodable {
    let messages: [AdminMessage]
    /// Pass back as `cursor` for the next page; null on the last page.
    let nextCursor: String?

    init(_ page: Page<SandboxMessage>) {
        messages = page.items.map(AdminMessage.init)
        nextCursor = page.nextCursor
    }

    enum CodingKeys: String, CodingKey { case messages, nextCursor = "next_cursor" }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(messages, forKey: .messages)
        try c.encode(nextCursor, forKey: .nextCursor)  // explicit null on the last page
    }
}

/// A message as the admin listing shows it: Twilio's JSON, whose RFC 2822 dates
/// stop at the second, plus the same instants in RFC 3339 with milliseconds, so
/// a test or benchmark can order and time messages that arrive within one second.
struct AdminMessage: Encodable {
    let message: SandboxMessage

    enum CodingKeys: String, CodingKey { case createdAt = "created_at", updatedAt = "updated_at", sentAt = "sent_at" }

    func encode(to encoder: any Encoder) throws {
        try message.encode(to: encoder)
        // A second keyed container on the same encoder adds to the object the message wrote.
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(rfc3339(message.dateCreated), forKey: .createdAt)
        try c.encode(rfc3339(message.dateUpdated), forKey: .updatedAt)
        try c.encode(message.dateSent.map(rfc3339), forKey: .sentAt)
    }
}
