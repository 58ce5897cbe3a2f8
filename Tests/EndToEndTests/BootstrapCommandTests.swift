import Foundation
import Postgres
import Testing
import TestSupport

/// `smscrm tenant|user|apikey create`, run as the real executable against a database of its own.
@Suite("smscrm create commands")
struct BootstrapCommandTests {
    /// Runs `smscrm` with `DATABASE_URL` set and logs kept off stdout's way.
    static func smscrm(_ arguments: [String], databaseURL: String, environment extra: [String: String] = [:]) throws -> ProcessRunner.Result {
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = databaseURL
        environment["LOG_LEVEL"] = "warning"
        environment.merge(extra) { _, new in new }
        return try ProcessRunner.run(try TestEnvironment.binary("smscrm"), arguments: arguments, environment: environment, timeout: .seconds(60))
    }

    /// A tenant made through the CLI; its id.
    static func createTenant(databaseURL: String) throws -> String {
        let result = try smscrm(["tenant", "create", "--name", "Acme AU", "--quiet"], databaseURL: databaseURL)
        guard result.status == 0 else { throw ProcessRunner.Failure(description: "tenant create exited \(result.status): \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .newlines)
    }

    @Test("smscrm tenant create --quiet prints exactly one line: the new tenant's id")
    func tenantCreateQuietPrintsTheID() async throws {
        let url = try await TestDatabases.createMigrated()

        let result = try Self.smscrm(
            ["tenant", "create", "--name", "Acme AU", "--timezone", "Australia/Sydney", "--country", "AU", "--quiet"], databaseURL: url)

        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 2 && lines[1].isEmpty, "not one line: \(result.stdout)")
        let id = try #require(UUID(uuidString: String(lines[0])), "not a UUID: \(result.stdout)")
        let postgres = TestDatabases.client(url, maxConnections: 1)
        let names = try await postgres.query("SELECT name FROM tenants WHERE id = $1::uuid", id.uuidString).map { try $0.decode(at: 0, as: String.self) }
        await postgres.shutdown()
        #expect(names == ["Acme AU"])
    }

    @Test("smscrm tenant create --json prints one JSON object with id, name, timezone and default_country")
    func tenantCreateJSON() async throws {
        let url = try await TestDatabases.createMigrated()

        let result = try Self.smscrm(
            ["tenant", "create", "--name", "Acme AU", "--timezone", "Australia/Sydney", "--country", "au", "--json"], databaseURL: url)

        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.filter { $0 == "\n" }.count == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["id", "name", "timezone", "default_country"])
        #expect((object["id"] as? String).flatMap(UUID.init(uuidString:)) != nil)
        #expect(object["name"] as? String == "Acme AU")
        #expect(object["timezone"] as? String == "Australia/Sydney")
        #expect(object["default_country"] as? String == "AU")
    }

    @Test("smscrm tenant create with both --json and --quiet is refused and creates nothing")
    func jsonAndQuietAreExclusive() async throws {
        let url = try await TestDatabases.createMigrated()

        let result = try Self.smscrm(["tenant", "create", "--name", "Acme AU", "--json", "--quiet"], databaseURL: url)

        #expect(result.status != 0)
        #expect(result.stderr.contains("--json and --quiet"), "\(result.stderr)")
        let postgres = TestDatabases.client(url, maxConnections: 1)
        let count = try await postgres.query("SELECT count(*) FROM tenants")[0].decode(at: 0, as: Int.self)
        await postgres.shutdown()
        #expect(count == 0)
    }

    @Test("smscrm user create -q prints only the new user's id")
    func userCreateQuietPrintsTheID() async throws {
        let url = try await TestDatabases.createMigrated()
        let tenant = try Self.createTenant(databaseURL: url)

        let result = try Self.smscrm(
            ["user", "create", "--email", "ops@acme.example", "--tenant", tenant, "--role", "owner", "-q"], databaseURL: url,
            environment: ["SMSCRM_PASSWORD": "a long passphrase"])

        #expect(result.status == 0, "\(result.stderr)")
        let id = try #require(UUID(uuidString: result.stdout.trimmingCharacters(in: .newlines)), "not a UUID: \(result.stdout)")
        let postgres = TestDatabases.client(url, maxConnections: 1)
        let emails = try await postgres.query("SELECT email FROM users WHERE id = $1::uuid", id.uuidString).map { try $0.decode(at: 0, as: String.self) }
        await postgres.shutdown()
        #expect(emails == ["ops@acme.example"])
    }

    @Test("smscrm apikey create --quiet prints only the secret, the one thing that cannot be looked up later")
    func apiKeyCreateQuietPrintsTheSecret() async throws {
        let url = try await TestDatabases.createMigrated()
        let tenant = try Self.createTenant(databaseURL: url)

        let result = try Self.smscrm(["apikey", "create", "--tenant", tenant, "--name", "CRM sync", "--quiet"], databaseURL: url)

        #expect(result.status == 0, "\(result.stderr)")
        let secret = result.stdout.trimmingCharacters(in: .newlines)
        #expect(!secret.contains("\n") && secret.hasPrefix("sk_"), "\(result.stdout)")
        let postgres = TestDatabases.client(url, maxConnections: 1)
        let prefixes = try await postgres.query("SELECT prefix FROM api_keys WHERE tenant_id = $1::uuid", tenant).map { try $0.decode(at: 0, as: String.self) }
        await postgres.shutdown()
        #expect(prefixes == [String(secret.prefix(10))])
    }
}
