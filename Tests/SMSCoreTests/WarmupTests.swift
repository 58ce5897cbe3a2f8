import Foundation
import Postgres
import SMSCore
import Testing
import TestSupport

@Suite("Warmup")
struct WarmupTests {
    @Test("the cap follows the schedule by the number's local age in days, then lifts", arguments: [
        ("2026-07-01T00:00:00Z", 10 as Int?),  // 10:00 in Sydney, day 1
        ("2026-07-01T13:59:59Z", 10),  // 23:59:59, still day 1
        ("2026-07-01T14:00:00Z", 50),  // midnight: day 2
        ("2026-07-02T14:00:00Z", 200),  // day 3
        ("2026-07-03T14:00:00Z", nil),  // past the schedule
    ])
    func capByAge(now: String, expected: Int?) throws {
        let zone = try #require(TimeZone(identifier: "Australia/Sydney"))
        let started = utc("2026-06-30T23:00:00Z")  // 09:00 on 2026-07-01 in Sydney

        #expect(Warmup.cap(schedule: [10, 50, 200], startedAt: started, now: utc(now), zone: zone) == expected)
    }

    @Test("once the day's cap is used, sends defer to the number's next local midnight, and the new day starts a new count")
    func dayBoundary() async throws {
        let client = TestDatabases.client(try await TestDatabases.createMigrated(), maxConnections: 8)
        defer { Task { await client.shutdown() } }
        let tenant = try await TenantStore(postgres: client).create(name: "W", timezone: "Australia/Sydney", defaultCountry: "AU", actor: .cli)
        let number = try await client.query(
            """
            INSERT INTO sending_numbers (tenant_id, phone_e164, kind, throughput_sps, warmup_schedule, warmup_started_at)
            VALUES ($1::uuid, '+61400111222', 'long_code', 1, '[3, 5]', '2026-06-30T23:00:00Z') RETURNING id::text
            """, tenant.id)[0].decode("id", as: String.self)
        let warmup = Warmup(postgres: client)
        let lateOnDayOne = utc("2026-07-01T13:50:00Z")  // 23:50 in Sydney

        let decisions = try await withThrowingTaskGroup(of: WarmupDecision.self) { group in
            for _ in 0..<6 { group.addTask { try await warmup.admit(tenantID: tenant.id, numberID: number, segments: 1, at: lateOnDayOne) } }
            return try await group.reduce(into: [WarmupDecision]()) { $0.append($1) }
        }

        #expect(decisions.filter { $0 == .allowed(day: "2026-07-01") }.count == 3)
        #expect(decisions.filter { $0 == .capReached(cap: 3, retryAt: utc("2026-07-01T14:00:00Z")) }.count == 3)
        #expect(try await warmup.admit(tenantID: tenant.id, numberID: number, segments: 1, at: utc("2026-07-01T14:00:00Z"))
            == .allowed(day: "2026-07-02"))
        #expect(try await warmup.admit(tenantID: tenant.id, numberID: number, segments: 1, at: utc("2026-07-03T14:00:00Z")) == .uncapped)
    }
}
