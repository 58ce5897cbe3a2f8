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
    let jobs: SendJobs

    public init(postgres: PostgresClient, queue: SendQueue) {
        self.postgres = postgres
        self.jobs = SendJobs(postgres: postgres, queue: queue)
    }

    /// Adds numbers (already E.164) through ``Suppression``: in one
    /// transaction, their pending jobs cancelled and the addition audited.
    /// Re-adding is harmless.
    public func add(
        tenantID: String, phones: [String], reason: String, source: DoNotContactSource, createdBy: String?, audit: AuditEntry
    ) async throws -> DoNotContactAddition {
        try await jobs.transaction { tx in
            try Suppression.add(tx, tenantID: tenantID, phones: phones, reason: reason, source: source, createdBy: createdBy, audit: audit)
        }
    }

    /// Removes an entry through ``Suppression``; nil when there is none in the tenant.
    public func remove(tenantID: String, id: String, audit: AuditEntry) async throws -> DoNotContactEntry? {
        try await jobs.transaction { tx in
            try Suppression.remove(tx, tenantID: tenantID, entryID: id, audit: audit)
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
