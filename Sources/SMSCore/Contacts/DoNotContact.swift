import Foundation
import Postgres

/// A number the tenant must never text.
public struct DoNotContactEntry: Sendable, Encodable, Equatable {
    public var id: String
    public var phone: String
    public var reason: String
    public var source: String
    public var createdAt: Date

    static let columns = "id::text, phone_e164, reason, source, created_at"

    init(row: PostgresRow) throws {
        id = try row.decode("id")
        phone = try row.decode("phone_e164")
        reason = try row.decode("reason")
        source = try row.decode("source")
        createdAt = try row.decode("created_at")
    }
}

/// Where a do-not-contact entry came from (the database CHECK's values).
public enum DoNotContactSource: String, Sendable {
    case manual, api, `import`, inbound, provider, system
}

/// The outcome of adding numbers.
public struct DoNotContactAddition: Sendable, Encodable, Equatable {
    /// Numbers that were not on the list before.
    public var added: Int
    /// Numbers that were already there (unchanged).
    public var alreadyPresent: Int
    /// Pending send jobs cancelled because of the new entries.
    public var cancelledJobs: Int

    public init(added: Int, alreadyPresent: Int, cancelledJobs: Int) {
        self.added = added
        self.alreadyPresent = alreadyPresent
        self.cancelledJobs = cancelledJobs
    }
}

public struct DoNotContactStore: Sendable {
    let postgres: PostgresClient

    public init(postgres: PostgresClient) { self.postgres = postgres }

    /// Adds numbers (already E.164) in one transaction, cancels their pending
    /// jobs in the tenant and audits the addition. Re-adding is harmless.
    public func add(
        tenantID: String, phones: [String], reason: String, source: DoNotContactSource, createdBy: String?, audit: AuditEntry
    ) async throws -> DoNotContactAddition {
        let unique = Array(Set(phones))
        return try await postgres.withTransaction { connection in
            let inserted = try connection.query(
                """
                INSERT INTO do_not_contact (tenant_id, phone_e164, reason, source, created_by)
                SELECT $1::uuid, phone, $3, $4, $5::uuid FROM unnest($2::text[]) AS phone
                ON CONFLICT (tenant_id, phone_e164) DO NOTHING
                """, tenantID, unique, reason, source.rawValue, createdBy
            ).affectedRows
            // Through the contacts with these numbers, as TwilioWebhooks.cancelPending
            // does and for the same reason; the worker's gate blocks any other job to them.
            let cancelled = try connection.query(
                """
                UPDATE send_jobs SET status = 'cancelled', failure_reason = 'do not contact', updated_at = now()
                WHERE contact_id IN (SELECT id FROM contacts WHERE tenant_id = $1::uuid AND phone_e164 = ANY($2::text[]))
                  AND tenant_id = $1::uuid AND to_phone = ANY($2::text[]) AND status IN ('queued', 'deferred', 'parked')
                """, tenantID, unique
            ).affectedRows
            var audit = audit
            audit.details["added"] = String(inserted)
            audit.details["cancelled_jobs"] = String(cancelled)
            if unique.count == 1 { audit.details["phone"] = Redact.phone(unique[0]) }
            try AuditLog.record(audit, on: connection)
            return DoNotContactAddition(added: inserted, alreadyPresent: unique.count - inserted, cancelledJobs: cancelled)
        }
    }

    /// Removes an entry; nil when there is none in the tenant.
    public func remove(tenantID: String, id: String, audit: AuditEntry) async throws -> DoNotContactEntry? {
        try await postgres.withTransaction { connection in
            let rows = try connection.query(
                "DELETE FROM do_not_contact WHERE tenant_id = $1::uuid AND id = $2::uuid RETURNING \(DoNotContactEntry.columns)",
                tenantID, id)
            guard let row = rows.first else { return nil }
            let entry = try DoNotContactEntry(row: row)
            var audit = audit
            audit.details["phone"] = Redact.phone(entry.phone)
            audit.details["reason"] = entry.reason
            try AuditLog.record(audit, on: connection)
            return entry
        }
    }

    public func find(tenantID: String, phone: String) async throws -> DoNotContactEntry? {
        try await postgres.query(
            "SELECT \(DoNotContactEntry.columns) FROM do_not_contact WHERE tenant_id = $1::uuid AND phone_e164 = $2",
            tenantID, phone
        ).first.map(DoNotContactEntry.init)
    }

    /// Oldest first; `search` matches any part of the number's digits.
    public func list(tenantID: String, search: String?, cursor: PageCursor?, limit: Int) async throws -> Page<DoNotContactEntry> {
        let digits = search.map { String($0.filter(\.isNumber)) }.flatMap { $0.isEmpty ? nil : $0 }
        let rows = try await postgres.query(
            """
            SELECT \(DoNotContactEntry.columns) FROM do_not_contact
            WHERE tenant_id = $1::uuid
              AND ($2::text IS NULL OR phone_e164 LIKE '%' || $2 || '%')
              AND ($3::timestamptz IS NULL OR (created_at, id) > ($3::timestamptz, $4::uuid))
            ORDER BY created_at, id
            LIMIT $5
            """, tenantID, digits, cursor?.createdAt, cursor?.id, limit + 1)
        return try Page(rows: rows, limit: limit, decode: DoNotContactEntry.init)
    }
}

extension DoNotContactEntry: KeysetPaged {}
