import Foundation
import Postgres

/// A message a contact sent to one of the tenant's numbers.
public struct InboundMessage: Sendable, Encodable, KeysetPaged {
    public var id: String
    public var contactId: String?
    public var fromPhone: String
    public var toPhone: String
    public var body: String
    /// opt_out, opt_in or help when the whole message was a keyword; nil otherwise.
    public var keyword: String?
    public var receivedAt: Date

    public var createdAt: Date { receivedAt }

    enum CodingKeys: String, CodingKey {
        case id, contactId, fromPhone, toPhone, body, keyword, receivedAt
    }

    init(row: PostgresRow) throws {
        id = try row.decode("id")
        contactId = try row.decodeIfPresent("contact_id")
        fromPhone = try row.decode("from_phone")
        toPhone = try row.decode("to_phone")
        body = try row.decode("body")
        keyword = try row.decodeIfPresent("keyword")
        receivedAt = try row.decode("received_at")
    }

    /// Oldest first, strictly after `cursor`.
    public static func list(_ postgres: PostgresClient, tenantID: String, cursor: PageCursor?, limit: Int) async throws -> Page<InboundMessage> {
        let rows = try await postgres.query(
            """
            SELECT id::text, contact_id::text, from_phone, to_phone, body, keyword, received_at FROM inbound_messages
            WHERE tenant_id = $1::uuid AND ($2::timestamptz IS NULL OR (received_at, id) > ($2::timestamptz, $3::uuid))
            ORDER BY received_at, id
            LIMIT $4
            """, tenantID, cursor?.createdAt, cursor?.id, limit + 1)
        return try Page(rows: rows, limit: limit, decode: InboundMessage.init)
    }
}
