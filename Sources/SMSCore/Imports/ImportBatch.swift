import Foundation
import Postgres

/// A CSV import as the API shows it.
public struct ImportBatch: Sendable, Encodable, Equatable {
    public enum Status: String, Sendable, Codable { case pending, processing, completed, failed, cancelled }

    /// What the uploader asked for besides the file; stored in `import_batches.options`.
    public struct Options: Sendable, Codable, Equatable {
        /// Lists every imported row joins (besides the `lists` column).
        public var listIds: [String]
        /// `consent_source` for rows whose consent column is truthy; "import" when nil.
        public var consentSource: String?

        public init(listIds: [String] = [], consentSource: String? = nil) {
            self.listIds = listIds
            self.consentSource = consentSource
        }

        enum CodingKeys: String, CodingKey { case listIds = "list_ids", consentSource = "consent_source" }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(listIds, forKey: .listIds)
            try c.encode(consentSource, forKey: .consentSource)
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            listIds = try c.decodeIfPresent([String].self, forKey: .listIds) ?? []
            consentSource = try c.decodeIfPresent(String.self, forKey: .consentSource)
        }
    }

    public var id: String
    public var status: Status
    public var filename: String?
    public var contentType: String?
    public var sizeBytes: Int
    public var options: Options
    /// Non-blank data rows; nil until processing has read the file.
    public var totalRows: Int?
    public var processedRows: Int
    /// New contacts.
    public var imported: Int
    /// Existing contacts that were upserted.
    public var updated: Int
    public var rejected: Int
    /// Imported or updated, but the number is on do-not-contact.
    public var flagged: Int
    /// Why the whole import failed.
    public var error: String?
    public var createdAt: Date
    public var startedAt: Date?
    public var completedAt: Date?
    public var updatedAt: Date

    /// Rows that repeated a phone of an earlier row of the file (merged, counted once).
    public var duplicates: Int { max(0, processedRows - imported - updated - rejected) }

    enum CodingKeys: String, CodingKey {
        case id, status, filename, contentType, sizeBytes, options, progress, counts, error, createdAt, startedAt, completedAt,
            updatedAt
    }
    enum ProgressKeys: String, CodingKey { case processedRows, totalRows, percent }
    enum CountKeys: String, CodingKey { case imported, updated, rejected, flagged, duplicates }

    /// Every field is written, absent ones as null.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(status, forKey: .status)
        try c.encode(filename, forKey: .filename)
        try c.encode(contentType, forKey: .contentType)
        try c.encode(sizeBytes, forKey: .sizeBytes)
        try c.encode(options, forKey: .options)
        var progress = c.nestedContainer(keyedBy: ProgressKeys.self, forKey: .progress)
        try progress.encode(processedRows, forKey: .processedRows)
        try progress.encode(totalRows, forKey: .totalRows)
        let percent: Int? =
            status == .completed ? 100 : totalRows.flatMap { $0 > 0 ? min(100, processedRows * 100 / $0) : nil }
        try progress.encode(percent, forKey: .percent)
        var counts = c.nestedContainer(keyedBy: CountKeys.self, forKey: .counts)
        try counts.encode(imported, forKey: .imported)
        try counts.encode(updated, forKey: .updated)
        try counts.encode(rejected, forKey: .rejected)
        try counts.encode(flagged, forKey: .flagged)
        try counts.encode(duplicates, forKey: .duplicates)
        try c.encode(error, forKey: .error)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(startedAt, forKey: .startedAt)
        try c.encode(completedAt, forKey: .completedAt)
        try c.encode(updatedAt, forKey: .updatedAt)
    }

    static let columns = """
        id::text, status, filename, content_type, size_bytes, options::text, total_rows, processed_rows, imported_count,
        updated_count, rejected_count, flagged_count, error, created_at, started_at, completed_at, updated_at
        """

    init(row: PostgresRow) throws {
        id = try row.decode("id")
        status = Status(rawValue: try row.decode("status")) ?? .failed
        filename = try row.decodeIfPresent("filename")
        contentType = try row.decodeIfPresent("content_type")
        sizeBytes = try row.decode("size_bytes")
        options = (try? row.decode("options", as: PostgresJSON.self).decode(as: Options.self)) ?? Options()
        totalRows = try row.decodeIfPresent("total_rows")
        processedRows = try row.decode("processed_rows")
        imported = try row.decode("imported_count")
        updated = try row.decode("updated_count")
        rejected = try row.decode("rejected_count")
        flagged = try row.decode("flagged_count")
        error = try row.decodeIfPresent("error")
        createdAt = try row.decode("created_at")
        startedAt = try row.decodeIfPresent("started_at")
        completedAt = try row.decodeIfPresent("completed_at")
        updatedAt = try row.decode("updated_at")
    }
}

/// A row of an import that was refused, or imported but flagged.
public struct ImportRejection: Sendable, Encodable, Equatable {
    public enum Kind: String, Sendable, Encodable { case rejected, flagged }
    /// 1 = the first data row after the header.
    public var rowNumber: Int
    public var kind: Kind
    public var reason: String
    /// The row as it was in the file (at most 1,000 characters); nil for flagged rows.
    public var raw: String?

    enum CodingKeys: String, CodingKey { case rowNumber, kind, reason, raw }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(rowNumber, forKey: .rowNumber)
        try c.encode(kind, forKey: .kind)
        try c.encode(reason, forKey: .reason)
        try c.encode(raw, forKey: .raw)
    }
}
