import Foundation
import Postgres

/// Purges processed webhook events and audit entries past their retention,
/// a thousand rows per statement, so no long lock is held and the API keeps
/// writing meanwhile. Unprocessed webhook events are never purged.
public struct Retention: Sendable {
    let postgres: PostgresClient
    public var webhookDays: Int
    public var auditDays: Int
    public var batchSize = 1_000
    /// Batches per table per run; the next run carries on.
    public var maxBatches = 50

    public init(postgres: PostgresClient, webhookDays: Int, auditDays: Int) {
        self.postgres = postgres
        self.webhookDays = webhookDays
        self.auditDays = auditDays
    }

    @discardableResult
    public func purge() async throws -> (webhookEvents: Int, auditEntries: Int) {
        let events = try await purge(
            """
            DELETE FROM webhook_events WHERE id IN (
                SELECT id FROM webhook_events WHERE received_at < now() - make_interval(days => $1) AND processed_at IS NOT NULL
                ORDER BY received_at LIMIT $2)
            """, days: webhookDays)
        let audits = try await purge(
            """
            DELETE FROM audit_log WHERE id IN (
                SELECT id FROM audit_log WHERE created_at < now() - make_interval(days => $1) ORDER BY created_at LIMIT $2)
            """, days: auditDays)
        return (events, audits)
    }

    private func purge(_ sql: String, days: Int) async throws -> Int {
        var total = 0
        for _ in 0..<maxBatches {
            let deleted = try await postgres.query(sql, days, batchSize).affectedRows
            total += deleted
            if deleted < batchSize { break }
        }
        return total
    }
}
