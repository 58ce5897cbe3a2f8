import Foundation
import Postgres

/// What kind of number a sending number is; it decides the carrier's default pace.
public enum SendingNumberKind: String, Sendable, CaseIterable, Codable {
    case longCode = "long_code"
    case tollFree = "toll_free"
    case shortCode = "short_code"

    /// Segments per second when the tenant names none (see 0001_init.sql's comment on `throughput_sps`).
    public var defaultThroughput: Double {
        switch self {
        case .longCode: 1
        case .tollFree: 3
        case .shortCode: 100
        }
    }
}

extension SendingNumberKind: PostgresDecodable {
    public init(postgresText: String) throws {
        // The column's CHECK allows only these values; anything else is a schema drift.
        guard let kind = Self(rawValue: postgresText) else { throw PostgresError(code: .decodingFailed, column: "kind") }
        self = kind
    }
}

/// A number a tenant sends from. Its phone is unique across the platform,
/// because inbound routing maps a number to its tenant.
public struct SendingNumber: Sendable, Encodable, Equatable {
    public var id: String
    public var phone: String
    public var kind: SendingNumberKind
    /// Carrier limit in segments per second.
    public var throughputSps: Double
    /// Daily message caps for day 1, 2, 3… since `warmupStartedAt`; past the end, no cap. nil = no warmup.
    public var warmupSchedule: [Int]?
    public var warmupStartedAt: Date?
    public var active: Bool
    public var label: String?
    public var createdAt: Date
    public var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id, phone, kind, throughputSps, warmupSchedule, warmupStartedAt, active, label, createdAt, updatedAt
    }

    /// Every field is written, absent ones as null, so clients see the whole shape.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(phone, forKey: .phone)
        try c.encode(kind, forKey: .kind)
        try c.encode(throughputSps, forKey: .throughputSps)
        try c.encode(warmupSchedule, forKey: .warmupSchedule)
        try c.encode(warmupStartedAt, forKey: .warmupStartedAt)
        try c.encode(active, forKey: .active)
        try c.encode(label, forKey: .label)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(updatedAt, forKey: .updatedAt)
    }

    static let columns = """
        n.id::text, n.phone_e164, n.kind, n.throughput_sps, n.warmup_schedule::text, n.warmup_started_at, n.active, n.label,
        n.created_at, n.updated_at
        """

    init(row: PostgresRow) throws {
        id = try row.decode("id")
        phone = try row.decode("phone_e164")
        kind = try row.decode("kind")
        throughputSps = try row.decode("throughput_sps")
        warmupSchedule = try row.decodeIfPresent("warmup_schedule", as: String.self).map { try StorageJSON.decode([Int].self, from: $0) }
        warmupStartedAt = try row.decodeIfPresent("warmup_started_at")
        active = try row.decode("active")
        label = try row.decodeIfPresent("label")
        createdAt = try row.decode("created_at")
        updatedAt = try row.decode("updated_at")
    }
}

/// Validated fields for creating or changing a number. For updates, nil leaves
/// a field alone and `.some(nil)` clears it.
public struct SendingNumberFields: Sendable {
    /// E.164.
    public var phone: String?
    public var kind: SendingNumberKind?
    public var throughputSps: Double?
    public var warmupSchedule: [Int]??
    /// When set with no schedule in force, it is kept for when one is set.
    public var warmupStartedAt: Date??
    public var active: Bool?
    public var label: String??

    public init() {}
}

/// Why a number could not be deleted, or that it was.
public enum SendingNumberDeletion: Sendable, Equatable {
    case deleted
    case notFound
    /// Send jobs reference it: deactivate it instead, so their history keeps its number.
    case referencedByJobs
}

public struct SendingNumberStore: Sendable {
    let postgres: PostgresClient

    public init(postgres: PostgresClient) { self.postgres = postgres }

    /// Creates a number (`phone` in E.164); `fields.phone` and `fields.kind` are
    /// ignored. The throughput defaults by kind; a schedule without a start time
    /// starts now. A unique violation (SQLSTATE 23505) means some tenant already
    /// has the phone.
    public func create(
        tenantID: String, phone: String, kind: SendingNumberKind, fields: SendingNumberFields, audit: AuditEntry
    ) async throws -> SendingNumber {
        let schedule = fields.warmupSchedule ?? nil
        return try await postgres.withTransaction { connection in
            let rows = try connection.query(
                """
                WITH n AS (
                    INSERT INTO sending_numbers (tenant_id, phone_e164, kind, throughput_sps, warmup_schedule, warmup_started_at,
                                                 active, label)
                    VALUES ($1::uuid, $2, $3, $4::numeric, $5::jsonb,
                            CASE WHEN $5::jsonb IS NULL THEN $6::timestamptz ELSE COALESCE($6::timestamptz, now()) END, $7, $8)
                    RETURNING *
                )
                SELECT \(SendingNumber.columns) FROM n
                """,
                tenantID, phone, kind.rawValue, fields.throughputSps ?? kind.defaultThroughput,
                try schedule.map { PostgresJSON(text: try StorageJSON.encode($0)) }, fields.warmupStartedAt ?? nil,
                fields.active ?? true, fields.label ?? nil)
            let number = try SendingNumber(row: rows[0])
            var audit = audit
            audit.targetID = number.id
            audit.details["phone"] = Redact.phone(number.phone)
            audit.details["kind"] = number.kind.rawValue
            try AuditLog.record(audit, on: connection)
            return number
        }
    }

    public func find(tenantID: String, id: String) async throws -> SendingNumber? {
        try await postgres.query(
            "SELECT \(SendingNumber.columns) FROM sending_numbers n WHERE n.tenant_id = $1::uuid AND n.id = $2::uuid", tenantID, id
        ).first.map(SendingNumber.init)
    }

    /// Applies `fields`; nil when there is no such number in the tenant. A
    /// schedule set on a number with no start time starts now; an existing
    /// start time is kept (the number's age does not reset). A unique violation
    /// means some tenant already has the new phone.
    public func update(tenantID: String, id: String, fields: SendingNumberFields, audit: AuditEntry) async throws -> SendingNumber? {
        try await postgres.withTransaction { connection in
            let rows = try connection.query(
                """
                WITH n AS (
                    UPDATE sending_numbers SET
                        phone_e164 = COALESCE($3, phone_e164),
                        kind = COALESCE($4, kind),
                        throughput_sps = COALESCE($5::numeric, throughput_sps),
                        warmup_schedule = CASE WHEN $6::boolean THEN $7::jsonb ELSE warmup_schedule END,
                        warmup_started_at = CASE
                            WHEN (CASE WHEN $6::boolean THEN $7::jsonb ELSE warmup_schedule END) IS NULL
                                THEN CASE WHEN $8::boolean THEN $9::timestamptz ELSE warmup_started_at END
                            ELSE COALESCE(CASE WHEN $8::boolean THEN $9::timestamptz ELSE warmup_started_at END, now())
                            END,
                        active = COALESCE($10, active),
                        label = CASE WHEN $11::boolean THEN $12 ELSE label END,
                        updated_at = now()
                    WHERE tenant_id = $1::uuid AND id = $2::uuid
                    RETURNING *
                )
                SELECT \(SendingNumber.columns) FROM n
                """,
                tenantID, id, fields.phone, fields.kind?.rawValue, fields.throughputSps,
                fields.warmupSchedule != nil, try (fields.warmupSchedule ?? nil).map { PostgresJSON(text: try StorageJSON.encode($0)) },
                fields.warmupStartedAt != nil, fields.warmupStartedAt ?? nil,
                fields.active, fields.label != nil, fields.label ?? nil)
            guard let row = rows.first else { return nil }
            let number = try SendingNumber(row: row)
            var audit = audit
            audit.details["phone"] = Redact.phone(number.phone)
            try AuditLog.record(audit, on: connection)
            return number
        }
    }

    /// Deletes a number only when no send job references it; otherwise the
    /// caller should deactivate it. Jobs keep no foreign key to their number
    /// (see 0001_init.sql), so this check is what keeps their history whole.
    public func delete(tenantID: String, id: String, audit: AuditEntry) async throws -> SendingNumberDeletion {
        try await postgres.withTransaction { connection in
            let locked = try connection.query(
                "SELECT phone_e164 FROM sending_numbers WHERE tenant_id = $1::uuid AND id = $2::uuid FOR UPDATE", tenantID, id)
            guard let phone = try locked.first?.decode("phone_e164", as: String.self) else { return .notFound }
            let referenced = try connection.query(
                "SELECT 1 FROM send_jobs WHERE tenant_id = $1::uuid AND sending_number_id = $2::uuid LIMIT 1", tenantID, id)
            guard referenced.isEmpty else { return .referencedByJobs }
            try connection.query("DELETE FROM sending_numbers WHERE tenant_id = $1::uuid AND id = $2::uuid", tenantID, id)
            var audit = audit
            audit.details["phone"] = Redact.phone(phone)
            try AuditLog.record(audit, on: connection)
            return .deleted
        }
    }

    /// Oldest first, `limit` per page; `active` filters when given.
    public func list(tenantID: String, active: Bool?, cursor: PageCursor?, limit: Int) async throws -> Page<SendingNumber> {
        let rows = try await postgres.query(
            """
            SELECT \(SendingNumber.columns) FROM sending_numbers n
            WHERE n.tenant_id = $1::uuid
              AND ($2::boolean IS NULL OR n.active = $2)
              AND ($3::timestamptz IS NULL OR (n.created_at, n.id) > ($3::timestamptz, $4::uuid))
            ORDER BY n.created_at, n.id
            LIMIT $5
            """, tenantID, active, cursor?.createdAt, cursor?.id, limit + 1)
        return try Page(rows: rows, limit: limit, decode: SendingNumber.init)
    }
}

extension SendingNumber: KeysetPaged {}
