import Foundation
import Postgres

/// The outcome of reserving a message's estimated cost.
public enum BudgetDecision: Sendable, Equatable {
    /// Reserved against these periods (tenant-local dates); keep them to settle or release.
    case reserved(dailyPeriod: String, monthlyPeriod: String)
    /// A cap would be exceeded: defer the job to the start of the next period.
    case exceeded(cap: Cap, retryAt: Date)

    public enum Cap: String, Sendable { case daily, monthly }
}

/// Reserves estimated costs against a tenant's daily and monthly caps in
/// `budgets`, in the tenant's own time-zone periods.
///
/// One conditional UPDATE does the check and the reservation together; the
/// row lock it takes serialises concurrent workers, and PostgreSQL re-checks
/// the condition against the row as the previous writer left it, so any
/// number of workers together cannot spend a cent past a cap.
public struct BudgetLedger: Sendable {
    let postgres: PostgresClient

    public init(postgres: PostgresClient) { self.postgres = postgres }

    public func reserve(tenantID: String, cents: Decimal, at now: Date = Date()) async throws -> BudgetDecision {
        try await postgres.withConnection { try Self.reserve($0, tenantID: tenantID, cents: cents, at: now) }
    }

    static func reserve(_ connection: PostgresConnection, tenantID: String, cents: Decimal, at now: Date) throws -> BudgetDecision {
        let rows = try connection.query(
            """
            WITH t AS (
                SELECT id, daily_budget_cents, monthly_budget_cents,
                       ($3::timestamptz AT TIME ZONE timezone)::date AS today,
                       date_trunc('month', $3::timestamptz AT TIME ZONE timezone)::date AS this_month
                FROM tenants WHERE id = $1::uuid
            )
            UPDATE budgets b SET
                daily_spent_cents = CASE WHEN b.daily_period = t.today THEN b.daily_spent_cents ELSE 0 END + $2::numeric,
                monthly_spent_cents = CASE WHEN b.monthly_period = t.this_month THEN b.monthly_spent_cents ELSE 0 END + $2::numeric,
                daily_period = t.today,
                monthly_period = t.this_month,
                updated_at = now()
            FROM t
            WHERE b.tenant_id = t.id
              AND (t.daily_budget_cents IS NULL
                   OR CASE WHEN b.daily_period = t.today THEN b.daily_spent_cents ELSE 0 END + $2::numeric <= t.daily_budget_cents)
              AND (t.monthly_budget_cents IS NULL
                   OR CASE WHEN b.monthly_period = t.this_month THEN b.monthly_spent_cents ELSE 0 END + $2::numeric <= t.monthly_budget_cents)
            RETURNING b.daily_period::text, b.monthly_period::text
            """, tenantID, cents, now)
        if let row = rows.first {
            return .reserved(dailyPeriod: try row.decode(at: 0), monthlyPeriod: try row.decode(at: 1))
        }
        // Refused: say which cap and when its next period starts in the tenant's zone.
        let refusal = try connection.query(
            """
            SELECT CASE WHEN t.daily_budget_cents IS NOT NULL
                         AND CASE WHEN b.daily_period = ($2::timestamptz AT TIME ZONE t.timezone)::date
                                  THEN b.daily_spent_cents ELSE 0 END + $3::numeric > t.daily_budget_cents
                        THEN 'daily' ELSE 'monthly' END AS cap,
                   (($2::timestamptz AT TIME ZONE t.timezone)::date + 1)::timestamp AT TIME ZONE t.timezone AS next_day,
                   (date_trunc('month', $2::timestamptz AT TIME ZONE t.timezone) + interval '1 month') AT TIME ZONE t.timezone AS next_month
            FROM tenants t JOIN budgets b ON b.tenant_id = t.id WHERE t.id = $1::uuid
            """, tenantID, now, cents)
        guard let row = refusal.first else {
            throw PostgresError(code: .queryFailed, table: "budgets", serverMessage: "the tenant has no budgets row")
        }
        let cap = BudgetDecision.Cap(rawValue: try row.decode("cap")) ?? .monthly
        return .exceeded(cap: cap, retryAt: try row.decode(cap == .daily ? "next_day" : "next_month"))
    }

    /// Gives back a reservation (Twilio refused the request) in the periods it
    /// was taken from; a period that has rolled over has nothing to give back.
    public func release(tenantID: String, cents: Decimal, dailyPeriod: String, monthlyPeriod: String) async throws {
        try await postgres.withConnection {
            try Self.release($0, tenantID: tenantID, cents: cents, dailyPeriod: dailyPeriod, monthlyPeriod: monthlyPeriod)
        }
    }

    static func release(_ connection: PostgresConnection, tenantID: String, cents: Decimal, dailyPeriod: String, monthlyPeriod: String) throws {
        try adjust(connection, tenantID: tenantID, cents: -cents, dailyPeriod: dailyPeriod, monthlyPeriod: monthlyPeriod)
    }

    /// Adds `cents` (negative to give back) to what was spent in the periods a
    /// reservation was taken from; a period that has rolled over is left alone.
    static func adjust(_ connection: PostgresConnection, tenantID: String, cents: Decimal, dailyPeriod: String, monthlyPeriod: String) throws {
        try connection.query(
            """
            UPDATE budgets SET
                daily_spent_cents = CASE WHEN daily_period = $3::date THEN greatest(0, daily_spent_cents + $2::numeric) ELSE daily_spent_cents END,
                monthly_spent_cents = CASE WHEN monthly_period = $4::date THEN greatest(0, monthly_spent_cents + $2::numeric) ELSE monthly_spent_cents END,
                updated_at = now()
            WHERE tenant_id = $1::uuid
            """, tenantID, cents, dailyPeriod, monthlyPeriod)
    }
}
