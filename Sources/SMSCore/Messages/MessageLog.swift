import Foundation
import Postgres

/// One message as people read it: an outbound text (a campaign's send job or
/// an automatic STOP/START/HELP reply) or an inbound one.
public struct MessageLogEntry: Sendable, Encodable, Equatable, KeysetPaged {
    public enum Direction: String, Sendable, Encodable { case outbound, inbound }
    /// `campaign` (a send job), `auto_reply` (the answer to a keyword), `inbound`.
    public enum Kind: String, Sendable, Encodable { case campaign, autoReply = "auto_reply", inbound }

    public var id: String
    public var direction: Direction
    public var kind: Kind
    public var campaignId: String?
    public var contactId: String?
    public var to: String
    public var from: String
    public var body: String
    /// A send job's status; nil for inbound messages and automatic replies.
    public var status: String?
    public var failureReason: String?
    public var errorCode: Int?
    public var segments: Int?
    public var costCents: Decimal?
    public var providerSid: String?
    /// STOP, START or HELP for inbound keywords and their replies (`opt_out`, `opt_in`, `help`).
    public var keyword: String?
    /// When it was created (a job), received (inbound) or answered (a reply).
    public var createdAt: Date
    public var sentAt: Date?
    public var deliveredAt: Date?

    /// Every field is written (null when empty).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(direction, forKey: .direction)
        try c.encode(kind, forKey: .kind)
        try c.encode(campaignId, forKey: .campaignId)
        try c.encode(contactId, forKey: .contactId)
        try c.encode(to, forKey: .to)
        try c.encode(from, forKey: .from)
        try c.encode(body, forKey: .body)
        try c.encode(status, forKey: .status)
        try c.encode(failureReason, forKey: .failureReason)
        try c.encode(errorCode, forKey: .errorCode)
        try c.encode(segments, forKey: .segments)
        try c.encode(costCents, forKey: .costCents)
        try c.encode(providerSid, forKey: .providerSid)
        try c.encode(keyword, forKey: .keyword)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(sentAt, forKey: .sentAt)
        try c.encode(deliveredAt, forKey: .deliveredAt)
    }

    enum CodingKeys: String, CodingKey {
        case id, direction, kind, campaignId, contactId, to, from, body, status, failureReason, errorCode, segments, costCents,
            providerSid, keyword, createdAt, sentAt, deliveredAt
    }

    init(row: PostgresRow) throws {
        id = try row.decode("id")
        direction = Direction(rawValue: try row.decode("direction")) ?? .outbound
        kind = Kind(rawValue: try row.decode("kind")) ?? .campaign
        campaignId = try row.decodeIfPresent("campaign_id")
        contactId = try row.decodeIfPresent("contact_id")
        to = try row.decode("to_phone")
        from = try row.decode("from_phone")
        body = try row.decode("body")
        status = try row.decodeIfPresent("status")
        failureReason = try row.decodeIfPresent("failure_reason")
        errorCode = try row.decodeIfPresent("error_code")
        segments = try row.decodeIfPresent("segments")
        costCents = try row.decodeIfPresent("cost_cents")
        providerSid = try row.decodeIfPresent("provider_sid")
        keyword = try row.decodeIfPresent("keyword")
        createdAt = try row.decode("created_at")
        sentAt = try row.decodeIfPresent("sent_at")
        deliveredAt = try row.decodeIfPresent("delivered_at")
    }
}

/// Which outbound messages a log page shows; every filter is optional.
public struct MessageFilter: Sendable, Equatable {
    public var campaignID: String?
    public var contactID: String?
    /// E.164.
    public var phone: String?
    public var status: JobStatus?
    /// Created at or after.
    public var since: Date?
    /// Created before.
    public var until: Date?

    public init(
        campaignID: String? = nil, contactID: String? = nil, phone: String? = nil, status: JobStatus? = nil, since: Date? = nil,
        until: Date? = nil
    ) {
        self.campaignID = campaignID
        self.contactID = contactID
        self.phone = phone
        self.status = status
        self.since = since
        self.until = until
    }
}

/// The message log (`GET /tenants/{id}/messages`) and a contact's
/// conversation (`GET /tenants/{id}/contacts/{cid}/messages`), newest first,
/// keyset-paged; read-only, always tenant-scoped.
public struct MessageLog: Sendable {
    let postgres: PostgresClient

    public init(postgres: PostgresClient) { self.postgres = postgres }

    static let jobColumns = """
        j.id::text, 'outbound' AS direction, 'campaign' AS kind, j.campaign_id::text, j.contact_id::text, j.to_phone, j.from_phone,
        j.body, j.status, j.failure_reason, j.error_code, j.segments::int AS segments, j.cost_cents, j.provider_sid,
        NULL::text AS keyword, j.created_at, j.sent_at, j.delivered_at
        """

    /// The tenant's outbound messages, newest first. A phone filter goes
    /// through the contact index (as cancels do), not a scan of `to_phone`.
    public func list(tenantID: String, filter: MessageFilter, cursor: PageCursor?, limit: Int) async throws -> Page<MessageLogEntry> {
        let rows = try await postgres.query(
            """
            SELECT \(Self.jobColumns) FROM send_jobs j
            WHERE j.tenant_id = $1::uuid
              AND ($2::uuid IS NULL OR j.campaign_id = $2::uuid)
              AND ($3::uuid IS NULL OR j.contact_id = $3::uuid)
              AND ($4::text IS NULL OR (j.contact_id IN (SELECT id FROM contacts WHERE tenant_id = $1::uuid AND phone_e164 = $4)
                                        AND j.to_phone = $4))
              AND ($5::text IS NULL OR j.status = $5)
              AND ($6::timestamptz IS NULL OR j.created_at >= $6)
              AND ($7::timestamptz IS NULL OR j.created_at < $7)
              AND ($8::timestamptz IS NULL OR (j.created_at, j.id) < ($8::timestamptz, $9::uuid))
            ORDER BY j.created_at DESC, j.id DESC
            LIMIT $10
            """, tenantID, filter.campaignID, filter.contactID, filter.phone, filter.status?.rawValue, filter.since, filter.until,
            cursor?.createdAt, cursor?.id, limit + 1)
        return try Page(rows: rows, limit: limit, decode: MessageLogEntry.init)
    }

    /// One contact's conversation, newest first: the texts sent to them, what
    /// they sent, and the automatic replies to their keywords.
    public func conversation(tenantID: String, contactID: String, cursor: PageCursor?, limit: Int) async throws -> Page<MessageLogEntry> {
        let rows = try await postgres.query(
            """
            SELECT * FROM (
                SELECT \(Self.jobColumns) FROM send_jobs j WHERE j.tenant_id = $1::uuid AND j.contact_id = $2::uuid
                UNION ALL
                SELECT m.id::text, 'inbound', 'inbound', NULL, m.contact_id::text, m.to_phone, m.from_phone, m.body, NULL, NULL, NULL,
                       NULL, NULL, m.provider_sid, m.keyword, m.received_at, NULL, NULL
                FROM inbound_messages m WHERE m.tenant_id = $1::uuid AND m.contact_id = $2::uuid
                UNION ALL
                SELECT r.id::text, 'outbound', 'auto_reply', NULL, r.contact_id::text, r.to_phone, r.from_phone, r.body, NULL, NULL, NULL,
                       NULL, NULL, NULL, r.keyword, r.created_at, r.created_at, NULL
                FROM auto_replies r WHERE r.tenant_id = $1::uuid AND r.contact_id = $2::uuid
            ) messages
            WHERE $3::timestamptz IS NULL OR (created_at, id::uuid) < ($3::timestamptz, $4::uuid)
            ORDER BY created_at DESC, id DESC
            LIMIT $5
            """, tenantID, contactID, cursor?.createdAt, cursor?.id, limit + 1)
        return try Page(rows: rows, limit: limit, decode: MessageLogEntry.init)
    }
}
