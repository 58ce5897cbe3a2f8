import Foundation
import Postgres

/// The global kill switch's stored state (`platform_settings`, the truth).
/// Pausing and resuming go through ``SendControl/set(_:paused:actor:reason:audit:)``,
/// which stores it here, sets the flag the workers check and drains or wakes.
public struct PlatformKillSwitch: Sendable {
    let postgres: PostgresClient

    public init(postgres: PostgresClient) {
        self.postgres = postgres
    }

    public struct State: Sendable, Encodable, Equatable {
        public var paused: Bool
        public var pausedAt: Date?
        public var pausedBy: String?
        public var reason: String?
        /// A pause: sends of live workers already on their way when it began, and
        /// how many still had no answer when it answered (0 = drained).
        public var inFlight: Int?
        public var stillInFlight: Int?
        /// A resume: parked jobs queued again.
        public var resumedJobs: Int?
    }

    public func state() async throws -> State {
        let row = try await postgres.query("SELECT paused_at, paused_by, pause_reason FROM platform_settings LIMIT 1")[0]
        let at: Date? = try row.decodeIfPresent("paused_at")
        return State(paused: at != nil, pausedAt: at, pausedBy: try row.decodeIfPresent("paused_by"), reason: try row.decodeIfPresent("pause_reason"))
    }

    /// Stores a pause (idempotent: a second pause keeps the first one's time,
    /// author and reason) or a resume, with its audit entry.
    func store(paused: Bool, by actor: String, reason: String?, audit: AuditEntry) async throws -> State {
        try await postgres.withTransaction { connection in
            if paused {
                try connection.query(
                    """
                    UPDATE platform_settings SET paused_at = COALESCE(paused_at, now()),
                        paused_by = CASE WHEN paused_at IS NULL THEN $1 ELSE paused_by END,
                        pause_reason = CASE WHEN paused_at IS NULL THEN $2 ELSE pause_reason END, updated_at = now()
                    """, actor, reason)
            } else {
                try connection.query("UPDATE platform_settings SET paused_at = NULL, paused_by = NULL, pause_reason = NULL, updated_at = now()")
            }
            try AuditLog.record(audit, on: connection)
        }
        return try await state()
    }
}
