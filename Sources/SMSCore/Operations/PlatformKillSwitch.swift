import Foundation
import Postgres

/// The global kill switch (`smscrm pause --all`, `POST /admin/pause`):
/// PostgreSQL's `platform_settings` holds the truth, the Redis flag is what
/// workers check right before each send, and both are written before the
/// answer. A pause then waits for the sends already on their way to Twilio;
/// a resume puts every parked job (of tenants and campaigns not paused on
/// their own) back in its queue.
public struct PlatformKillSwitch: Sendable {
    let postgres: PostgresClient
    let control: SendControl

    public init(postgres: PostgresClient, control: SendControl) {
        self.postgres = postgres
        self.control = control
    }

    public struct State: Sendable, Encodable, Equatable {
        public var paused: Bool
        public var pausedAt: Date?
        public var pausedBy: String?
        public var reason: String?
        /// Sends still in flight when a pause gave up waiting (0 = drained); jobs woken by a resume.
        public var inFlight: Int?
        public var resumedJobs: Int?
    }

    public func state() async throws -> State {
        let row = try await postgres.query("SELECT paused_at, paused_by, pause_reason FROM platform_settings LIMIT 1")[0]
        let at: Date? = try row.decodeIfPresent("paused_at")
        return State(paused: at != nil, pausedAt: at, pausedBy: try row.decodeIfPresent("paused_by"), reason: try row.decodeIfPresent("pause_reason"))
    }

    /// Pauses every tenant's sending. Idempotent: a second pause keeps the first one's time, author and reason.
    public func pause(by actor: String, reason: String?, audit: AuditEntry) async throws -> State {
        try await postgres.withTransaction { connection in
            try connection.query(
                """
                UPDATE platform_settings SET paused_at = COALESCE(paused_at, now()), paused_by = CASE WHEN paused_at IS NULL THEN $1 ELSE paused_by END,
                    pause_reason = CASE WHEN paused_at IS NULL THEN $2 ELSE pause_reason END, updated_at = now()
                """, actor, reason)
            try AuditLog.record(audit, on: connection)
        }
        try await control.killSwitch.setGlobal(paused: true)
        var state = try await state()
        state.inFlight = try await control.drain(tenantID: nil, campaignID: nil)
        return state
    }

    public func resume(audit: AuditEntry) async throws -> State {
        try await postgres.withTransaction { connection in
            try connection.query("UPDATE platform_settings SET paused_at = NULL, paused_by = NULL, pause_reason = NULL, updated_at = now()")
            try AuditLog.record(audit, on: connection)
        }
        try await control.killSwitch.setGlobal(paused: false)
        var state = try await state()
        state.resumedJobs = try await control.wake(tenantID: nil, campaignID: nil)
        return state
    }
}

extension KillSwitch {
    public func setGlobal(paused: Bool) async throws {
        if paused {
            try await redis.command("SET", Self.globalKey, "1")
        } else {
            try await redis.command("DEL", Self.globalKey)
        }
    }
}
