import Foundation
import Postgres
import Testing
import TestSupport

/// The operators' runbook SQL must run unchanged against the schema; only the
/// runbook's placeholders ('...', '+61...', X) are filled in with real values.
@Suite("Runbook SQL")
struct RunbookSQLTests {
    static let tenant = "00000000-0000-0000-0000-000000000001"
    static let contact = "00000000-0000-0000-0000-00000000c001"

    static let statements: [String] = [
        "SELECT * FROM sending_numbers;",
        "SELECT * FROM do_not_contact WHERE phone_e164 = '+61412345678';",
        "SELECT * FROM budgets WHERE tenant_id = '\(tenant)';",
        "SELECT daily_budget_cents FROM tenants WHERE id = '\(tenant)';",
        "UPDATE tenants SET daily_budget_cents = 25000 WHERE id = '\(tenant)';",
        "UPDATE budgets SET daily_spent_cents = 0 WHERE tenant_id = '\(tenant)';",
        "SELECT failure_reason, COUNT(*) FROM send_jobs WHERE status='failed' GROUP BY failure_reason;",
        "SELECT timezone FROM tenants WHERE id = '\(tenant)';",
        "SELECT timezone FROM contacts WHERE id = '\(contact)';",
        """
        SELECT
          status,
          COUNT(*) * 100.0 / SUM(COUNT(*)) OVER() as percentage
        FROM send_jobs
        WHERE created_at > NOW() - INTERVAL '1 hour'
        GROUP BY status;
        """,
        """
        SELECT
          t.name,
          b.daily_spent_cents / 100.0 as daily_spent,
          t.daily_budget_cents / 100.0 as daily_budget,
          b.monthly_spent_cents / 100.0 as monthly_spent,
          t.monthly_budget_cents / 100.0 as monthly_budget
        FROM tenants t
        JOIN budgets b ON b.tenant_id = t.id;
        """,
    ]

    /// One tenant with a number, a contact, a campaign, three jobs and a DNC entry.
    static func seed(_ client: PostgresClient) async throws {
        try await client.withTransaction { connection in
            try connection.query(
                "INSERT INTO tenants (id, name, timezone, default_country, daily_budget_cents, monthly_budget_cents) VALUES ($1, 'Acme AU', 'Australia/Sydney', 'AU', 10000, 200000)",
                UUID(uuidString: tenant)!)
            let number = try connection.query(
                "INSERT INTO sending_numbers (tenant_id, phone_e164, kind, throughput_sps) VALUES ($1, '+61400000001', 'long_code', 1) RETURNING id",
                UUID(uuidString: tenant)!)[0].decode("id", as: UUID.self)
            try connection.query(
                "INSERT INTO contacts (id, tenant_id, phone_e164, timezone) VALUES ($1, $2, '+61412345670', 'Australia/Perth')",
                UUID(uuidString: contact)!, UUID(uuidString: tenant)!)
            try connection.query(
                "INSERT INTO do_not_contact (tenant_id, phone_e164, reason, source) VALUES ($1, '+61412345678', 'stop_keyword', 'inbound')",
                UUID(uuidString: tenant)!)
            let campaign = try connection.query(
                "INSERT INTO campaigns (tenant_id, name, body_template) VALUES ($1, 'Spring sale', 'Hi {{first_name}}') RETURNING id",
                UUID(uuidString: tenant)!)[0].decode("id", as: UUID.self)
            for (status, reason) in [("delivered", nil), ("failed", "Invalid phone"), ("failed", "Invalid phone")] as [(String, String?)] {
                try connection.query(
                    """
                    INSERT INTO send_jobs (tenant_id, campaign_id, contact_id, sending_number_id, to_phone, from_phone,
                                           body, encoding, segments, status, failure_reason)
                    VALUES ($1, $2, $3, $4, '+61412345670', '+61400000001', 'Hi', 'gsm7', 1, $5, $6)
                    """,
                    UUID(uuidString: tenant)!, campaign, UUID(), number, status, reason)
            }
        }
    }

    @Test("every runbook statement runs unchanged against the migrated schema", arguments: statements)
    func runbookStatementRuns(sql: String) async throws {
        let client = TestDatabases.client(try await TestDatabases.createMigrated(), maxConnections: 1)
        defer { Task { await client.shutdown() } }
        try await Self.seed(client)

        let rows = try await client.query(sql, [])

        if sql.hasPrefix("UPDATE") {
            #expect(rows.affectedRows == 1)
        } else {
            #expect(rows.count >= 1, "no rows for: \(sql)")
        }
    }

    @Test("the failure-reason and budget-status queries report the seeded figures")
    func runbookFigures() async throws {
        let client = TestDatabases.client(try await TestDatabases.createMigrated(), maxConnections: 1)
        defer { Task { await client.shutdown() } }
        try await Self.seed(client)

        let failures = try await client.query(Self.statements[6], [])
        let budget = try await client.query(Self.statements[10], [])

        #expect(try failures[0].decode("failure_reason", as: String.self) == "Invalid phone")
        #expect(try failures[0].decode("count", as: Int.self) == 2)
        #expect(try budget[0].decode("name", as: String.self) == "Acme AU")
        #expect(try budget[0].decode("daily_budget", as: Decimal.self) == 100)
        #expect(try budget[0].decode("monthly_budget", as: Decimal.self) == 2000)
    }
}
