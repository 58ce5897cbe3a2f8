import Foundation
import Postgres

/// The outcome of counting one message against a number's warmup cap.
public enum WarmupDecision: Sendable, Equatable {
    /// Counted; `day` is the number's local day (tenant zone) the send belongs to.
    case allowed(day: String)
    /// The number has no cap today (no schedule, or past its end).
    case uncapped
    /// Today's cap is used up: defer to the start of the number's next day.
    case capReached(cap: Int, retryAt: Date)
}

/// New numbers ramp up: day 1 of a number's life may send `schedule[0]`
/// messages, day 2 `schedule[1]`, and so on; after the schedule, no cap.
/// Days are the tenant's local days, counted from `warmup_started_at`.
public struct Warmup: Sendable {
    let postgres: PostgresClient

    public init(postgres: PostgresClient) { self.postgres = postgres }

    /// The cap for a number on the day that contains `now`, or nil for none.
    public static func cap(schedule: [Int]?, startedAt: Date?, now: Date, zone: TimeZone) -> Int? {
        guard let schedule, !schedule.isEmpty, let startedAt else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let age = calendar.dateComponents([.day], from: calendar.startOfDay(for: startedAt), to: calendar.startOfDay(for: now)).day ?? 0
        guard age >= 0 else { return schedule[0] }
        return age < schedule.count ? schedule[age] : nil
    }

    /// Counts one message for the number if today's cap allows it, atomically.
    public func admit(tenantID: String, numberID: String, segments: Int, at now: Date = Date()) async throws -> WarmupDecision {
        try await postgres.withConnection { try Self.admit($0, tenantID: tenantID, numberID: numberID, segments: segments, at: now) }
    }

    /// ``admit(tenantID:numberID:segments:at:)`` on a connection, so a caller
    /// can count the message in the transaction that also reserves its budget.
    static func admit(_ connection: PostgresConnection, tenantID: String, numberID: String, segments: Int, at now: Date) throws -> WarmupDecision {
        let rows = try connection.query(
            """
            SELECT n.warmup_schedule::text AS schedule, n.warmup_started_at, t.timezone,
                   ($3::timestamptz AT TIME ZONE t.timezone)::date::text AS today,
                   (($3::timestamptz AT TIME ZONE t.timezone)::date + 1)::timestamp AT TIME ZONE t.timezone AS next_day
            FROM sending_numbers n JOIN tenants t ON t.id = n.tenant_id
            WHERE n.tenant_id = $1::uuid AND n.id = $2::uuid
            """, tenantID, numberID, now)
        guard let row = rows.first else { return .uncapped }
        let schedule = try row.decodeIfPresent("schedule", as: String.self).map { try StorageJSON.decode([Int].self, from: $0) }
        let zone = TimeZone(identifier: try row.decode("timezone")) ?? .gmt
        let today: String = try row.decode("today")
        guard let cap = Self.cap(schedule: schedule, startedAt: try row.decodeIfPresent("warmup_started_at"), now: now, zone: zone) else {
            return .uncapped
        }
        // The conditional upsert is the check: concurrent workers serialise on the row.
        let counted = try connection.query(
            """
            INSERT INTO sending_number_usage (tenant_id, sending_number_id, day, messages, segments)
            SELECT $1::uuid, $2::uuid, $3::date, 1, $4 WHERE $5::int >= 1
            ON CONFLICT (sending_number_id, day) DO UPDATE
                SET messages = sending_number_usage.messages + 1,
                    segments = sending_number_usage.segments + EXCLUDED.segments,
                    updated_at = now()
                WHERE sending_number_usage.messages < $5::int
            RETURNING messages
            """, tenantID, numberID, today, segments, cap)
        if counted.isEmpty { return .capReached(cap: cap, retryAt: try row.decode("next_day")) }
        return .allowed(day: today)
    }
}
