import Foundation
import Postgres
import SMSCore
import Testing
import TestSupport

@Suite("Budget ledger")
struct BudgetLedgerTests {
    /// A tenant in Sydney with the given caps, on its own database.
    static func tenant(daily: Int?, monthly: Int?) async throws -> (PostgresClient, String) {
        let client = TestDatabases.client(try await TestDatabases.createMigrated(), maxConnections: 20)
        let tenant = try await TenantStore(postgres: client).create(name: "B", timezone: "Australia/Sydney", defaultCountry: "AU", actor: .cli)
        try await client.query(
            "UPDATE tenants SET daily_budget_cents = $2, monthly_budget_cents = $3 WHERE id = $1::uuid", tenant.id, daily, monthly)
        return (client, tenant.id)
    }

    static func spent(_ client: PostgresClient, _ tenantID: String) async throws -> (Decimal, Decimal) {
        let row = try await client.query(
            "SELECT daily_spent_cents, monthly_spent_cents FROM budgets WHERE tenant_id = $1::uuid", tenantID)[0]
        return (try row.decode("daily_spent_cents"), try row.decode("monthly_spent_cents"))
    }

    @Test("twenty concurrent workers cannot overspend the daily cap by one cent")
    func concurrencyNeverOverspends() async throws {
        let (client, tenantID) = try await Self.tenant(daily: 100, monthly: nil)
        defer { Task { await client.shutdown() } }
        let ledger = BudgetLedger(postgres: client)
        let now = utc("2026-07-01T02:00:00Z")

        let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    var reserved = 0
                    for _ in 0..<5 {
                        if case .reserved = try await ledger.reserve(tenantID: tenantID, cents: Decimal(string: "5.15")!, at: now) { reserved += 1 }
                    }
                    return reserved > 0
                }
            }
            return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
        }

        let (daily, _) = try await Self.spent(client, tenantID)
        // 19 × 5.15 = 97.85 fits under 100; a 20th would be 103.
        #expect(daily == Decimal(string: "97.85")!)
        #expect(outcomes > 0)
    }

    @Test("a reservation exactly at the cap fits; one cent more is deferred to the tenant's next local midnight")
    func edges() async throws {
        let (client, tenantID) = try await Self.tenant(daily: 10, monthly: 1_000)
        defer { Task { await client.shutdown() } }
        let ledger = BudgetLedger(postgres: client)
        let now = utc("2026-07-01T13:30:00Z")  // 23:30 in Sydney

        #expect(try await ledger.reserve(tenantID: tenantID, cents: 10, at: now) == .reserved(dailyPeriod: "2026-07-01", monthlyPeriod: "2026-07-01"))
        #expect(try await ledger.reserve(tenantID: tenantID, cents: Decimal(string: "0.01")!, at: now)
            == .exceeded(cap: .daily, retryAt: utc("2026-07-01T14:00:00Z")))
        // Thirty minutes later it is a new day in Sydney, so the daily spend starts again.
        #expect(try await ledger.reserve(tenantID: tenantID, cents: 4, at: utc("2026-07-01T14:00:00Z"))
            == .reserved(dailyPeriod: "2026-07-02", monthlyPeriod: "2026-07-01"))
        let (daily, monthly) = try await Self.spent(client, tenantID)
        #expect(daily == 4)
        #expect(monthly == 14)
    }

    @Test("the monthly cap defers to the first of next month, in the tenant's zone")
    func monthlyCap() async throws {
        let (client, tenantID) = try await Self.tenant(daily: nil, monthly: 50)
        defer { Task { await client.shutdown() } }
        let ledger = BudgetLedger(postgres: client)
        let now = utc("2026-07-15T00:00:00Z")

        #expect(try await ledger.reserve(tenantID: tenantID, cents: 50, at: now) == .reserved(dailyPeriod: "2026-07-15", monthlyPeriod: "2026-07-01"))
        // 2026-08-01 00:00 in Sydney (AEST, +10).
        #expect(try await ledger.reserve(tenantID: tenantID, cents: 1, at: now) == .exceeded(cap: .monthly, retryAt: utc("2026-07-31T14:00:00Z")))
    }

    @Test("releasing gives the reservation back to its own periods only")
    func release() async throws {
        let (client, tenantID) = try await Self.tenant(daily: 100, monthly: 100)
        defer { Task { await client.shutdown() } }
        let ledger = BudgetLedger(postgres: client)
        guard case .reserved(let day, let month) = try await ledger.reserve(tenantID: tenantID, cents: 30, at: utc("2026-07-01T02:00:00Z")) else {
            Issue.record("not reserved")
            return
        }

        try await ledger.release(tenantID: tenantID, cents: 30, dailyPeriod: day, monthlyPeriod: month)
        let (daily, monthly) = try await Self.spent(client, tenantID)
        #expect(daily == 0)
        #expect(monthly == 0)

        // A release for a period that already rolled over changes nothing.
        _ = try await ledger.reserve(tenantID: tenantID, cents: 20, at: utc("2026-07-02T02:00:00Z"))
        try await ledger.release(tenantID: tenantID, cents: 20, dailyPeriod: day, monthlyPeriod: month)
        let (dailyAfter, monthlyAfter) = try await Self.spent(client, tenantID)
        #expect(dailyAfter == 20)
        #expect(monthlyAfter == 0)
    }
}
