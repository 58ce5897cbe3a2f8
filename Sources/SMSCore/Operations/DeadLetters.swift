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

    /// Queues dead jobs again with fresh attempts; nil `jobIDs` = every dead job of the tenant.
    /// Jobs whose contact opted out or was suppressed meanwhile are still stopped by the gates.
    /// - Returns: how many were queued again.
    public func retry(tenantID: String, jobIDs: [String]?, audit: AuditEntry) async throws -> Int {
        let rows = try await postgres.withTransaction { connection in
            let rows = try connection.query(
                """
                UPDATE send_jobs j SET status = 'queued', attempts = 0, dead_at = NULL, failure_reason = NULL, error_code = NULL,
                    next_attempt_at = NULL, claimed_by = NULL, updated_at = now()
                WHERE tenant_id = $1::uuid AND dead_at IS NOT NULL AND ($2::uuid[] IS NULL OR id = ANY($2::uuid[]))
                RETURNING j.id::text, j.sending_number_id::text, j.segments, j.created_at
                """, tenantID, jobIDs)
            var audit = audit
            audit.details["jobs"] = String(rows.count)
            try AuditLog.record(audit, on: connection)
            return rows
        }
        let jobs = try rows.sorted { (try $0.decode(at: 3, as: Date.self)) < (try $1.decode(at: 3, as: Date.self)) }.map {
            QueuedJob(numberID: try $0.decode(at: 1), jobID: try $0.decode(at: 0), segments: try $0.decode(at: 2))
        }
        try await queue.removeDead(jobs)
        try await queue.push(inOrder: jobs, atFront: false)
        return jobs.count
    }

    /// Drops dead jobs from the dead list for good (they stay `failed`); nil `jobIDs` = all of the tenant's.
    public func purge(tenantID: String, jobIDs: [String]?, audit: AuditEntry) async throws -> Int {
        let rows = try await postgres.withTransaction { connection in
            let rows = try connection.query(
                """
                UPDATE send_jobs SET dead_at = NULL, updated_at = now()
                WHERE tenant_id = $1::uuid AND dead_at IS NOT NULL AND ($2::uuid[] IS NULL OR id = ANY($2::uuid[]))
                RETURNING id::text, sending_number_id::text, segments
                """, tenantID, jobIDs)
            var audit = audit
            audit.details["jobs"] = String(rows.count)
            try AuditLog.record(audit, on: connection)
            return rows
        }
        try await queue.removeDead(rows.map { QueuedJob(numberID: try $0.decode(at: 1), jobID: try $0.decode(at: 0), segments: try $0.decode(at: 2)) })
        return rows.count
    }
}
