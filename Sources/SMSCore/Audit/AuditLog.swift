import Foundation
import Postgres

/// Who did something, for `audit_log`.
public struct AuditActor: Sendable, Equatable {
    public enum ActorType: String, Sendable { case user, apiKey = "api_key", system, cli }
    public var type: ActorType
    public var id: String?
    public var label: String?

    public init(type: ActorType, id: String?, label: String?) {
        self.type = type
        self.id = id
        self.label = label
    }

    public static let cli = AuditActor(type: .cli, id: nil, label: "smscrm")
    /// A worker's own action (a scheduled launch).
    public static let system = AuditActor(type: .system, id: nil, label: "smscrm-worker")
}

/// One audited state change.
public struct AuditEntry: Sendable {
    public var tenantID: String?
    public var actor: AuditActor
    public var action: String
    public var targetType: String?
    public var targetID: String?
    public var details: [String: String]
    public var ip: String?
    public var requestID: String?

    public init(
        tenantID: String?, actor: AuditActor, action: String, targetType: String? = nil, targetID: String? = nil,
        details: [String: String] = [:], ip: String? = nil, requestID: String? = nil
    ) {
        self.tenantID = tenantID
        self.actor = actor
        self.action = action
        self.targetType = targetType
        self.targetID = targetID
        self.details = details
        self.ip = ip
        self.requestID = requestID
    }
}

/// A row of `audit_log` as the API lists it.
public struct AuditRecord: Sendable, Codable, Equatable {
    public var id: Int
    public var actorType: String
    public var actorId: String?
    public var actorLabel: String?
    public var action: String
    public var targetType: String?
    public var targetId: String?
    public var details: [String: String]
    public var ip: String?
    public var requestId: String?
    public var createdAt: Date
}

/// Writes and reads `audit_log`. Writes take the caller's connection so the
/// entry commits or rolls back with the change it describes.
public enum AuditLog {
    public static func record(_ entry: AuditEntry, on connection: PostgresConnection) throws {
        try connection.query(
            """
            INSERT INTO audit_log (tenant_id, actor_type, actor_id, actor_label, action, target_type, target_id,
                                   details, ip, request_id)
            VALUES ($1::uuid, $2, $3::uuid, $4, $5, $6, $7, $8::jsonb, $9::inet, $10)
            """,
            entry.tenantID, entry.actor.type.rawValue, entry.actor.id, entry.actor.label, entry.action,
            entry.targetType, entry.targetID, try PostgresJSON(encoding: entry.details), entry.ip, entry.requestID)
    }

    /// Newest first, `limit` per page.
    public static func list(tenantID: String, cursor: PageCursor?, limit: Int, postgres: PostgresClient) async throws -> Page<AuditRecord> {
        let rows = try await postgres.query(
            """
            SELECT id, actor_type, actor_id::text, actor_label, action, target_type, target_id, details::text,
                   host(ip) AS ip, request_id, created_at
            FROM audit_log
            WHERE tenant_id = $1::uuid AND ($2::bigint IS NULL OR id < $2::bigint)
            ORDER BY id DESC
            LIMIT $3
            """,
            tenantID, cursor.flatMap { Int($0.id) }, limit + 1)
        var records: [AuditRecord] = []
        for row in rows.prefix(limit) {
            records.append(
                AuditRecord(
                    id: try row.decode("id"), actorType: try row.decode("actor_type"),
                    actorId: try row.decodeIfPresent("actor_id"), actorLabel: try row.decodeIfPresent("actor_label"),
                    action: try row.decode("action"), targetType: try row.decodeIfPresent("target_type"),
                    targetId: try row.decodeIfPresent("target_id"),
                    details: (try? row.decode("details", as: PostgresJSON.self).decode(as: [String: String].self)) ?? [:],
                    ip: try row.decodeIfPresent("ip"), requestId: try row.decodeIfPresent("request_id"),
                    createdAt: try row.decode("created_at")))
        }
        let next = rows.count > limit ? records.last.map { PageCursor(createdAt: $0.createdAt, id: String($0.id)).token } : nil
        return Page(items: records, nextCursor: next)
    }
}
