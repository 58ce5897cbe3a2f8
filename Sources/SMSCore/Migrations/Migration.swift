import Crypto
import Foundation

/// One file of `migrations/`: `NNNN_name.sql`, applied once, in version order.
public struct Migration: Sendable, Equatable {
    /// The number prefix, e.g. `0001`.
    public var version: String
    /// The rest of the file name, e.g. `init`.
    public var name: String
    public var filename: String { "\(version)_\(name).sql" }
    public var sql: String
    /// SHA-256 of the file's bytes, hex; an applied file must never change.
    public var checksum: String

    public init(version: String, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
        self.checksum = SHA256.hash(data: Array(sql.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Reads every `NNNN_name.sql` in `directory`, sorted by version.
    public static func load(from directory: String) throws(MigrationError) -> [Migration] {
        let files: [String]
        do {
            files = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw MigrationError.directoryUnreadable(directory)
        }
        var migrations: [Migration] = []
        for file in files where file.hasSuffix(".sql") {
            guard let (version, name) = parse(filename: file) else { throw MigrationError.badFilename(file) }
            let path = (directory as NSString).appendingPathComponent(file)
            guard let data = FileManager.default.contents(atPath: path), let sql = String(data: data, encoding: .utf8) else {
                throw MigrationError.fileUnreadable(file)
            }
            if let clash = migrations.first(where: { $0.version == version }) {
                throw MigrationError.duplicateVersion(version, clash.filename, file)
            }
            migrations.append(Migration(version: version, name: name, sql: sql))
        }
        return migrations.sorted { $0.version < $1.version }
    }

    /// `0003_add_inbox.sql` → ("0003", "add_inbox").
    static func parse(filename: String) -> (String, String)? {
        guard filename.hasSuffix(".sql") else { return nil }
        let stem = filename.dropLast(4)
        guard let underscore = stem.firstIndex(of: "_") else { return nil }
        let version = stem[..<underscore]
        let name = stem[stem.index(after: underscore)...]
        guard version.count == 4, version.allSatisfy(\.isASCIIDigit), !name.isEmpty,
            name.allSatisfy({ $0.isASCIIDigit || ("a"..."z").contains($0) || $0 == "_" })
        else { return nil }
        return (String(version), String(name))
    }
}

/// Why migrating stopped. Each case says what the operator should do.
public enum MigrationError: Error, Sendable, Equatable, CustomStringConvertible {
    case directoryUnreadable(String)
    case fileUnreadable(String)
    case badFilename(String)
    case duplicateVersion(String, String, String)
    /// Applied files whose contents changed since: (file, applied checksum, current checksum).
    case editedAfterApplying([EditedMigration])
    case invalidName(String)
    /// A migration's SQL failed; nothing of it was applied.
    case failed(file: String, reason: String)

    public struct EditedMigration: Sendable, Equatable {
        public var filename: String
        public var appliedChecksum: String
        public var currentChecksum: String
    }

    public var description: String {
        switch self {
        case .directoryUnreadable(let dir):
            "cannot read the migrations directory \(dir) (set MIGRATIONS_DIR or run from the repository root)"
        case .fileUnreadable(let file):
            "cannot read \(file) as UTF-8 text"
        case .badFilename(let file):
            "\(file) is not named NNNN_name.sql (four digits, an underscore, lowercase letters, digits and underscores)"
        case .duplicateVersion(let version, let a, let b):
            "\(a) and \(b) share version \(version); renumber one of them"
        case .editedAfterApplying(let edited):
            "refusing to migrate: "
                + edited.map {
                    "\($0.filename) was edited after it was applied (applied checksum \($0.appliedChecksum.prefix(12)), file now \($0.currentChecksum.prefix(12)))"
                }.joined(separator: "; ")
                + ". Applied migrations are immutable: restore the file and put the change in a new migration (smscrm migrate new NAME)."
        case .invalidName(let name):
            "\"\(name)\" is not a valid migration name: use lowercase letters, digits and underscores"
        case .failed(let file, let reason):
            "\(file) failed and was rolled back: \(reason)"
        }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
