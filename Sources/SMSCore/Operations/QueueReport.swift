import Foundation
import Postgres

/// What is waiting and what happened today, for `GET /admin/queue`,
/// `GET /tenants/{id}/queue` and `smscrm queue`. Counts come from PostgreSQL
/// (the truth); the platform report adds Redis's view of the queue.
public struct QueueReport: Sendable, Encodable, Equatable {
    /// Waiting to be sent: queued, deferred and parked.
    public var pending: Int
    /// Being sent right now (`sending`), or sent without a known answer (`unknown`).
    public var active: Int
    /// Waiting for a time: deferred (quiet hours, budget, warmup) or retrying after backoff.
    public var delayed: Int
    /// Parked by a kill switch.
    public var parked: Int
    /// Failed for good after every attempt, in the dead-letter list.
    public var dead: Int
    /// Sent (or delivered) since midnight (the tenant's zone; UTC for the platform).
    public var completedToday: Int
    /// Failed or undelivered since midnight.
    public var failedToday: Int
    /// Redis: jobs in number lists, leased, delayed and dead (platform report only).
    public var redis: RedisDepth?

    public struct RedisDepth: Sendable, Encodable, Equatable {
        public var queued: Int
        public var active: Int
        public var delayed: Int
        public var dead: Int
    }

    /// A tenant's report, or with nil the whole platform's.
    public static func make(postgres: PostgresClient, queue: SendQueue?, tenantID: String?) async throws -> QueueReport {
        let row = try await postgres.query(
            """
            WITH zone AS (SELECT COALESCE((SELECT timezone FROM tenants WHERE id = $1::uuid), 'UTC') AS name),
                 midnight AS (SELECT date_trunc('day', now() AT TIME ZONE zone.name) AT TIME ZONE zone.name AS at FROM zone)
            SELECT count(*) FILTER (WHERE status IN ('queued', 'deferred', 'parked')) AS pending,
                   count(*) FILTER (WHERE status IN ('sending', 'unknown')) AS active,
                   count(*) FILTER (WHERE status = 'deferred' OR (status = 'queued' AND next_attempt_at > now())) AS delayed,
                   count(*) FILTER (WHERE status = 'parked') AS parked,
                   count(*) FILTER (WHERE dead_at IS NOT NULL) AS dead,
                   count(*) FILTER (WHERE status IN ('sent', 'delivered') AND sent_at >= (SELECT at FROM midnight)) AS completed_today,
                   count(*) FILTER (WHERE status IN ('failed', 'undelivered') AND updated_at >= (SELECT at FROM midnight)) AS failed_today
            FROM send_jobs WHERE $1::uuid IS NULL OR tenant_id = $1::uuid
            """, tenantID)[0]
        var report = QueueReport(
            pending: try row.decode("pending"), active: try row.decode("active"), delayed: try row.decode("delayed"),
            parked: try row.decode("parked"), dead: try row.decode("dead"), completedToday: try row.decode("completed_today"),
            failedToday: try row.decode("failed_today"), redis: nil)
        if let queue {
            let depth = try await queue.depth()
            report.redis = RedisDepth(queued: depth.queued, active: depth.active, delayed: depth.delayed, dead: depth.dead)
        }
        return report
    }
}
