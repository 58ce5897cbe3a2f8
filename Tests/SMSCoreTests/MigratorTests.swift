import Foundation
import Postgres
import SMSCore
import Testing
import TestSupport

/// A copy of the project's migrations in a temporary directory, so a test can edit them.
func copyOfMigrations() throws -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("migrations-\(UUID().uuidString)").path
    try FileManager.default.copyItem(atPath: TestEnvironment.migrationsDirectory, toPath: directory)
    return directory
}

@Suite("Migrations")
struct MigratorTests {
    @Test("a fresh database migrates and gets every table of the design")
    func freshDatabaseMigrates() async throws {
        let client = TestDatabases.client(try await TestDatabases.createEmpty())
        defer { Task { await client.shutdown() } }
        let migrator = Migrator(client: client, directory: TestEnvironment.migrationsDirectory)

        let applied = try await migrator.migrate()

        #expect(applied.first?.filename == "0001_init.sql")
        let tables = Set(
            try await client.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").map {
                try $0.decode("tablename", as: String.self)
            })
        for table in [
            "tenants", "users", "memberships", "sessions", "api_keys", "contacts", "do_not_contact", "sending_numbers",
            "campaigns", "send_jobs", "budgets", "webhook_events", "inbound_messages", "audit_log", "import_batches",
            "schema_migrations",
        ] {
            #expect(tables.contains(table), "missing table \(table)")
        }
        let recorded = try await client.query("SELECT version, checksum FROM schema_migrations ORDER BY version")
        #expect(recorded.count == applied.count)
        #expect(try recorded[0].decode("checksum", as: String.self) == applied[0].checksum)
    }

    @Test("a second run is a no-op")
    func secondRunIsNoOp() async throws {
        let client = TestDatabases.client(try await TestDatabases.createEmpty())
        defer { Task { await client.shutdown() } }
        let migrator = Migrator(client: client, directory: TestEnvironment.migrationsDirectory)
        try await migrator.migrate()
        let before = try await client.query("SELECT version, applied_at FROM schema_migrations ORDER BY version")

        let applied = try await migrator.migrate()

        #expect(applied.isEmpty)
        let after = try await client.query("SELECT version, applied_at FROM schema_migrations ORDER BY version")
        #expect(try after.map { try $0.decode("applied_at", as: Date.self) } == before.map { try $0.decode("applied_at", as: Date.self) })
        #expect(try await migrator.status().allSatisfy { if case .applied = $0.state { true } else { false } })
    }

    @Test("an applied file that was edited is refused, naming the file, and nothing else is applied")
    func editedFileIsRefused() async throws {
        let client = TestDatabases.client(try await TestDatabases.createEmpty())
        defer { Task { await client.shutdown() } }
        let directory = try copyOfMigrations()
        let migrator = Migrator(client: client, directory: directory)
        try await migrator.migrate()
        let original = try String(contentsOfFile: directory + "/0001_init.sql", encoding: .utf8)
        try (original + "\n-- a sneaky edit\n").write(toFile: directory + "/0001_init.sql", atomically: true, encoding: .utf8)
        try "CREATE TABLE should_not_exist (id int);\n".write(toFile: directory + "/9001_later.sql", atomically: true, encoding: .utf8)

        let error = await #expect(throws: MigrationError.self) { try await migrator.migrate() }

        #expect(error?.description.contains("0001_init.sql was edited after it was applied") == true)
        let leftover = try await client.query("SELECT to_regclass('should_not_exist') IS NULL AS absent")
        #expect(try leftover[0].decode("absent", as: Bool.self))
        let status = try await migrator.status()
        #expect(status.first { $0.version == "0001" }.map { if case .edited = $0.state { true } else { false } } == true)
        #expect(status.first { $0.version == "9001" }?.state == .pending)
    }

    @Test("a failing migration is rolled back whole and not recorded")
    func failingMigrationRollsBack() async throws {
        let client = TestDatabases.client(try await TestDatabases.createEmpty())
        defer { Task { await client.shutdown() } }
        let directory = try copyOfMigrations()
        try "CREATE TABLE half_done (id int);\nSELECT no_such_function();\n"
            .write(toFile: directory + "/9002_broken.sql", atomically: true, encoding: .utf8)

        let error = await #expect(throws: MigrationError.self) {
            try await Migrator(client: client, directory: directory).migrate()
        }

        #expect(error?.description.contains("9002_broken.sql failed") == true)
        let rows = try await client.query(
            "SELECT to_regclass('half_done') IS NULL AS absent, (SELECT count(*) FROM schema_migrations WHERE version = '9002') AS n")
        #expect(try rows[0].decode("absent", as: Bool.self))
        #expect(try rows[0].decode("n", as: Int.self) == 0)
    }

    @Test("migrate new writes the next numbered file with a header", arguments: ["add inbox index", "Add-Inbox-Index"])
    func newMigrationFile(name: String) throws {
        let directory = try copyOfMigrations()
        let highest = try Migration.load(from: directory).last.flatMap { Int($0.version) } ?? 0

        let path = try Migrator.createMigration(named: name, in: directory)

        #expect(path.hasSuffix(String(format: "/%04d_add_inbox_index.sql", highest + 1)))
        #expect(try String(contentsOfFile: path, encoding: .utf8).hasPrefix("-- "))
    }

    @Test("badly named migration files and names are refused", arguments: ["", "drop;table", "../escape"])
    func invalidNames(name: String) throws {
        let directory = try copyOfMigrations()
        #expect(throws: MigrationError.self) { try Migrator.createMigration(named: name, in: directory) }
    }
}
