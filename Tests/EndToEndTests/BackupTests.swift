import Foundation
import Postgres
import SMSCore
import Testing
import TestSupport

/// scripts/backup.sh and scripts/restore.sh against a real database.
@Suite("Backups")
struct BackupTests {
    /// The repository root, from this file's place in it.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    func script(_ name: String, _ arguments: [String], databaseURL: String, stdin: Bool = false) throws -> ProcessRunner.Result {
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = databaseURL
        environment.removeValue(forKey: "CONFIRM")
        return try ProcessRunner.run("/bin/bash", arguments: ["\(Self.root)/scripts/\(name)"] + arguments, environment: environment, timeout: .seconds(120))
    }

    func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "smscrm-backup-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("backup → damage → restore brings every row back; restore refuses without --yes and verifies row counts")
    func roundTrip() async throws {
        let url = try await TestDatabases.createMigrated()
        let postgres = TestDatabases.client(url, maxConnections: 2)
        let tenant = try await TenantStore(postgres: postgres).create(name: "Backup", timezone: "UTC", defaultCountry: "AU", actor: .cli)
        try await postgres.query(
            """
            INSERT INTO contacts (tenant_id, phone_e164, first_name, attributes)
            SELECT $1::uuid, '+614' || lpad(g::text, 8, '0'), 'Tab' || chr(9) || 'and \\ slash', '{"k": "v"}' FROM generate_series(1, 250) g
            """, tenant.id)
        let directory = try temporaryDirectory()

        let backup = try script("backup.sh", [directory], databaseURL: url)
        #expect(backup.status == 0, "\(backup.stderr)")
        let file = backup.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(file.hasPrefix(directory + "/smscrm_") && file.hasSuffix(".sql.gz"))
        #expect(file.range(of: #"smscrm_\d{8}_\d{6}\.sql\.gz$"#, options: .regularExpression) != nil)

        // Damage: rows gone, a table dropped.
        try await postgres.query("DELETE FROM contacts WHERE first_name IS NOT NULL AND phone_e164 > '+61400000100'")
        try await postgres.query("DROP TABLE auto_replies")
        await postgres.shutdown()

        let refused = try script("restore.sh", [file], databaseURL: url)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("--yes"))

        let restored = try script("restore.sh", ["--yes", file], databaseURL: url)
        #expect(restored.status == 0, "\(restored.stderr)")
        #expect(restored.stderr.contains("every row count matches"))
        let after = TestDatabases.client(url, maxConnections: 1)
        let contacts = try await after.query("SELECT count(*) FROM contacts WHERE first_name = 'Tab' || chr(9) || 'and \\ slash'")[0]
        #expect(try contacts.decode(at: 0, as: Int.self) == 250)
        let table = try await after.query("SELECT to_regclass('public.auto_replies') IS NOT NULL")[0]
        #expect(try table.decode(at: 0, as: Bool.self))
        let tenants = try await after.query("SELECT name FROM tenants WHERE id = $1::uuid", tenant.id)
        #expect(try tenants.first?.decode(at: 0, as: String.self) == "Backup")
        await after.shutdown()
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test("retention deletes only backups older than 7 days; a failed dump exits non-zero and leaves no file that looks valid")
    func retentionAndFailure() async throws {
        let url = try await TestDatabases.createMigrated()
        let directory = try temporaryDirectory()
        let old = "\(directory)/smscrm_20200101_000000.sql.gz"
        let recent = "\(directory)/smscrm_20991231_000000.sql.gz"
        let unrelated = "\(directory)/notes.txt"
        for path in [old, recent, unrelated] { _ = FileManager.default.createFile(atPath: path, contents: Data("x".utf8)) }
        let eightDaysAgo = Date().addingTimeInterval(-8 * 86_400)
        let sixDaysAgo = Date().addingTimeInterval(-6 * 86_400)
        try FileManager.default.setAttributes([.modificationDate: eightDaysAgo], ofItemAtPath: old)
        try FileManager.default.setAttributes([.modificationDate: sixDaysAgo], ofItemAtPath: recent)
        try FileManager.default.setAttributes([.modificationDate: eightDaysAgo], ofItemAtPath: unrelated)

        let backup = try script("backup.sh", [directory], databaseURL: url)
        #expect(backup.status == 0, "\(backup.stderr)")
        #expect(!FileManager.default.fileExists(atPath: old))
        #expect(FileManager.default.fileExists(atPath: recent))
        #expect(FileManager.default.fileExists(atPath: unrelated))

        let before = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        var broken = URLComponents(string: url)!
        broken.path = "/no_such_database_\(UUID().uuidString.prefix(6).lowercased())"
        let failed = try script("backup.sh", [directory], databaseURL: broken.string!)
        #expect(failed.status != 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == before, "the failed dump left a file")
        try? FileManager.default.removeItem(atPath: directory)
    }
}
