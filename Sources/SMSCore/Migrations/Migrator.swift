import Foundation
import Logging
import Postgres

/// Applies `migrations/` to PostgreSQL: each pending file in its own
/// transaction, recorded with its checksum in `schema_migrations`.
///
/// A session advisory lock serialises concurrent runs, so replicas that all
/// migrate at start-up apply each file exactly once: the ones that wait find
/// nothing left to do.
public struct Migrator: Sendable {
    /// The state of one migration, for `smscrm migrate status`.
    public struct Entry: Sendable, Equatable {
        public enum State: Sendable, Equatable {
            case applied(at: Date)
            case pending
            /// Applied, but the file changed since.
            case edited(appliedAt: Date)
            /// Recorded as applied, but no file has that version any more.
            case missingFile(appliedAt: Date)
        }
        public var version: String
        public var name: String
        public var state: State
    }

    /// Arbitrary, fixed: the key every smscrm process locks before migrating.
    static let advisoryLockKey = 0x736D_7363_726D  // "smscrm"

    let client: PostgresClient
    let directory: String
    let logger: Logger

    public init(client: PostgresClient, directory: String, logger: Logger = Logger(label: "smscrm.migrate")) {
        self.client = client
        self.directory = directory
        self.logger = logger
    }

    /// Applies every pending migration and returns the ones it applied.
    @discardableResult
    public func migrate() async throws -> [Migration] {
        let migrations = try Migration.load(from: directory)
        let logger = self.logger
        return try await client.withConnection { connection in
            try connection.query("SELECT pg_advisory_lock($1)", Self.advisoryLockKey)
            defer { _ = try? connection.query("SELECT pg_advisory_unlock($1)", Self.advisoryLockKey) }
            try Self.ensureTable(connection)
            // Read what is applied only now, under the lock: another replica may
            // have just finished.
            let applied = try Self.applied(connection)
            let edited = Self.edited(migrations, applied: applied)
            guard edited.isEmpty else { throw MigrationError.editedAfterApplying(edited) }

            var done: [Migration] = []
            for migration in migrations where applied[migration.version] == nil {
                let started = ContinuousClock.now
                do {
                    try connection.withTransaction { connection in
                        try connection.executeScript(migration.sql)
                        try connection.query(
                            "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                            migration.version, migration.name, migration.checksum)
                    }
                } catch let error as PostgresError {
                    throw MigrationError.failed(
                        file: migration.filename,
                        reason: [error.sqlState.map { "SQLSTATE \($0)" }, error.serverMessage].compactMap { $0 }.joined(separator: ": "))
                }
                logger.info(
                    "applied migration",
                    metadata: ["migration": "\(migration.filename)", "ms": "\((ContinuousClock.now - started).milliseconds)"])
                done.append(migration)
            }
            return done
        }
    }

    /// Every migration on disk or in the database, in version order.
    public func status() async throws -> [Entry] {
        let migrations = try Migration.load(from: directory)
        let applied = try await client.withConnection { connection in
            try Self.ensureTable(connection)
            return try Self.applied(connection)
        }
        var entries: [Entry] = migrations.map { migration in
            guard let record = applied[migration.version] else {
                return Entry(version: migration.version, name: migration.name, state: .pending)
            }
            return Entry(
                version: migration.version, name: migration.name,
                state: record.checksum == migration.checksum ? .applied(at: record.appliedAt) : .edited(appliedAt: record.appliedAt))
        }
        for (version, record) in applied where !migrations.contains(where: { $0.version == version }) {
            entries.append(Entry(version: version, name: record.name, state: .missingFile(appliedAt: record.appliedAt)))
        }
        return entries.sorted { $0.version < $1.version }
    }

    /// Writes the next numbered, empty migration file and returns its path.
    public static func createMigration(named rawName: String, in directory: String) throws -> String {
        let name = rawName.lowercased().replacingOccurrences(of: "-", with: "_").replacingOccurrences(of: " ", with: "_")
        guard Migration.parse(filename: "0000_\(name).sql") != nil else { throw MigrationError.invalidName(rawName) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let existing = try Migration.load(from: directory)
        let next = (existing.last.flatMap { Int($0.version) } ?? 0) + 1
        let filename = String(format: "%04d_%@.sql", next, name)
        let path = (directory as NSString).appendingPathComponent(filename)
        let header = """
            -- \(filename): say what this migration changes and why.
            -- Forward-only; it runs inside one transaction (no CREATE INDEX CONCURRENTLY, no BEGIN/COMMIT).

            """
        guard FileManager.default.createFile(atPath: path, contents: Data(header.utf8)) else {
            throw MigrationError.fileUnreadable(filename)
        }
        return path
    }

    // MARK: SQL

    struct AppliedRecord {
        var name: String
        var checksum: String
        var appliedAt: Date
    }

    static func ensureTable(_ connection: PostgresConnection) throws {
        try connection.query(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    text PRIMARY KEY,
                name       text NOT NULL,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """)
    }

    static func applied(_ connection: PostgresConnection) throws -> [String: AppliedRecord] {
        var records: [String: AppliedRecord] = [:]
        for row in try connection.query("SELECT version, name, checksum, applied_at FROM schema_migrations") {
            records[try row.decode("version")] = AppliedRecord(
                name: try row.decode("name"), checksum: try row.decode("checksum"), appliedAt: try row.decode("applied_at"))
        }
        return records
    }

    static func edited(_ migrations: [Migration], applied: [String: AppliedRecord]) -> [MigrationError.EditedMigration] {
        migrations.compactMap { migration in
            guard let record = applied[migration.version], record.checksum != migration.checksum else { return nil }
            return .init(filename: migration.filename, appliedChecksum: record.checksum, currentChecksum: migration.checksum)
        }
    }
}
