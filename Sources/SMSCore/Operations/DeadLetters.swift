import Foundation
import Postgres

/// A job that failed for good after using every attempt.
public struct DeadLetter: Sendable, Encodable, KeysetPaged {
    public var id: String
    public var campaignId: String
    public var toPhone: String
    public var attempts: Int
    public var errorCode: Int?
    /// The last error.
    public var failureReason: String?
    public var deadAt: Date

    public var createdAt: Date { deadAt }

    enum CodingKeys: String, CodingKey {
        case id, campaignId, toPhone, attempts, errorCode, failureReason, deadAt
    }
}

/// The dead-letter tools (API and `smscrm dead-letters`): list dead jobs with
/// their last error, retry some or all (fresh attempts, back in the queue), or
/// purge them (they stay `failed`, out of the dead list). Always tenant-scoped.
public struct DeadLetters: Sendable {
    let postgres: PostgresClient
    let queue: SendQueue

    public init(postgres: PostgresClient, queue: SendQueue) {
        self.postgres = postgres
        self.queue = queue
    }

    /// Oldest first.
    public func list(tenantID: String, cursor: PageCursor?, limit: Int) async throws -> Page<DeadLetter> {
        let rows = try await postgres.query(
            """
            SELECT id::text, campaign_id::text, to_phone, attempts, error_code, failure_reason, dead_at FROM send_jobs
            WHERE tenant_id = $1::uuid AND dead_at IS NOT NULL
              AND ($2::timestamptz IS NULL OR (dead_at, id) > ($2::timestamptz, $3::uuid))
            ORDER BY dead_at, id LIMIT $4
            """, tenantID, cursor?.createdAt, cursor?.id, limit + 1)
        return try Page(rows: rows, limit: limit) {
            DeadLetter(
                id: try $0.decode(at: 0), campaignId: try $0.decode(at: 1), toPhone: try $0.decode(at: 2), attempts: try $0.decode(at: 3),
                errorCode: try $0.decodeIfPresent(at: 4), failureReason: try $0.decodeIfPresent(at: 5), deadAt: try $0.decode(at: 6))
        }
    }

    /// Queues dead jobs again with fresh attempts (``JobTransition/revive``); nil `jobIDs` = every dead job of the tenant.
    /// - Returns: how many were queued again.
    public func retry(tenantID: String, jobIDs: [String]?, audit: AuditEntry) async throws -> Int {
        try await SendJobs(postgres: postgres, queue: queue).revive(tenantID: tenantID, jobIDs: jobIDs, audit: audit)
    }

    /// Drops dead jobs from the dead list for good (they stay `failed`); nil `jobIDs` = all of the tenant's.
    public func purge(tenantID: String, jobIDs: [String]?, audit: AuditEntry) async throws -> Int {
        try await SendJobs(postgres: postgres, queue: queue).forgetDead(tenantID: tenantID, jobIDs: jobIDs, audit: audit)
    }
}
