import Foundation
import Postgres

/// An import a processor has leased: it alone may commit chunks of it until
/// the lease runs out or it gives the import up.
public struct ImportClaim: Sendable {
    public var id: String
    public var tenantID: String
    /// The processor holding the lease (`import_batches.locked_by`).
    public var lockedBy: String
    /// Last committed row (0 = none) and the offset of the next record.
    public var cursorRow: Int
    public var cursorByteOffset: Int
    /// nil until the file has been checked (first claim).
    public var columnMap: ImportColumnMap?
    public var options: ImportBatch.Options
    public var sizeBytes: Int
    /// The tenant's current default country, used when the file is first checked.
    public var defaultCountry: String
}

/// Counts after a committed chunk.
public struct ImportProgress: Sendable, Equatable {
    public var processedRows: Int
    public var imported: Int
    public var updated: Int
    public var rejected: Int
    public var flagged: Int
    public var completed: Bool

    public init(processedRows: Int, imported: Int, updated: Int, rejected: Int, flagged: Int, completed: Bool) {
        self.processedRows = processedRows
        self.imported = imported
        self.updated = updated
        self.rejected = rejected
        self.flagged = flagged
        self.completed = completed
    }
}

/// Another processor took the import over (our lease ran out), or it is no
/// longer processing: the chunk was rolled back and this run must stop.
public struct ImportLeaseLost: Error, CustomStringConvertible {
    public var description: String { "the import's lease is held by another processor or the import is no longer processing" }
}

/// `import_batches` and `import_rejections`: uploads, progress, the lease that
/// makes processing safe with several replicas, and the chunk transaction.
public struct ImportStore: Sendable {
    let postgres: PostgresClient

    public init(postgres: PostgresClient) { self.postgres = postgres }

    // MARK: Uploads and reads

    /// Stores an uploaded file as a pending import and audits the upload in the same transaction.
    public func create(
        tenantID: String, csv: [UInt8], filename: String?, contentType: String, options: ImportBatch.Options, createdBy: String?,
        audit: AuditEntry
    ) async throws -> ImportBatch {
        let data = PostgresBytes(csv)
        let size = csv.count
        return try await postgres.withTransaction { connection in
            let rows = try connection.query(
                """
                INSERT INTO import_batches (tenant_id, filename, content_type, csv_data, size_bytes, options, created_by)
                VALUES ($1::uuid, $2, $3, $4, $5, $6::jsonb, $7::uuid)
                RETURNING \(ImportBatch.columns)
                """, tenantID, filename, contentType, data, size, try PostgresJSON(encoding: options), createdBy)
            let batch = try ImportBatch(row: rows[0])
            var audit = audit
            audit.targetID = batch.id
            audit.details["size_bytes"] = String(size)
            if let filename { audit.details["filename"] = String(filename.prefix(100)) }
            try AuditLog.record(audit, on: connection)
            return batch
        }
    }

    public func find(tenantID: String, id: String) async throws -> ImportBatch? {
        try await postgres.query(
            "SELECT \(ImportBatch.columns) FROM import_batches WHERE tenant_id = $1::uuid AND id = $2::uuid", tenantID, id
        ).first.map(ImportBatch.init)
    }

    /// Newest first, `limit` per page.
    public func list(tenantID: String, cursor: PageCursor?, limit: Int) async throws -> Page<ImportBatch> {
        let rows = try await postgres.query(
            """
            SELECT \(ImportBatch.columns) FROM import_batches
            WHERE tenant_id = $1::uuid AND ($2::timestamptz IS NULL OR (created_at, id) < ($2::timestamptz, $3::uuid))
            ORDER BY created_at DESC, id DESC
            LIMIT $4
            """, tenantID, cursor?.createdAt, cursor?.id, limit + 1)
        return try Page(rows: rows, limit: limit, decode: ImportBatch.init)
    }

    /// Rejected and flagged rows in row order, after `afterRow`. The next
    /// cursor carries the last row number (the `id` of a ``PageCursor``).
    public func rejections(tenantID: String, importID: String, afterRow: Int?, limit: Int) async throws -> Page<ImportRejection> {
        let rows = try await postgres.query(
            """
            SELECT row_number, kind, reason, raw FROM import_rejections
            WHERE tenant_id = $1::uuid AND import_id = $2::uuid AND row_number > $3
            ORDER BY row_number
            LIMIT $4
            """, tenantID, importID, afterRow ?? 0, limit + 1)
        var items: [ImportRejection] = []
        for row in rows.prefix(limit) {
            items.append(
                ImportRejection(
                    rowNumber: try row.decode("row_number"),
                    kind: ImportRejection.Kind(rawValue: try row.decode("kind")) ?? .rejected,
                    reason: try row.decode("reason"), raw: try row.decodeIfPresent("raw")))
        }
        let next = rows.count > limit ? items.last.map { PageCursor(createdAt: Date(timeIntervalSince1970: 0), id: String($0.rowNumber)).token } : nil
        return Page(items: items, nextCursor: next)
    }

    /// The ids in `ids` (lowercase UUIDs) that are not lists of the tenant.
    public func missingLists(tenantID: String, ids: [String]) async throws -> [String] {
        guard !ids.isEmpty else { return [] }
        let found = try await postgres.query(
            "SELECT id::text FROM contact_lists WHERE tenant_id = $1::uuid AND id = ANY($2::uuid[])", tenantID, ids
        ).map { try $0.decode("id", as: String.self) }
        return ids.filter { !found.contains($0) }
    }

    // MARK: Processing

    /// Leases the oldest import that is pending, or processing under an
    /// expired lease (its processor died). `SKIP LOCKED` lets several
    /// processors claim at once without waiting on each other.
    public func claim(lockedBy: String, lease: Duration) async throws -> ImportClaim? {
        let rows = try await postgres.query(
            """
            UPDATE import_batches b
            SET status = 'processing', locked_by = $1, lease_expires_at = now() + make_interval(secs => $2),
                started_at = COALESCE(b.started_at, now()), updated_at = now()
            FROM tenants t
            WHERE t.id = b.tenant_id
              AND b.id = (SELECT id FROM import_batches
                          WHERE status IN ('pending', 'processing') AND (lease_expires_at IS NULL OR lease_expires_at < now())
                          ORDER BY created_at, id
                          LIMIT 1
                          FOR UPDATE SKIP LOCKED)
            RETURNING b.id::text, b.tenant_id::text, b.cursor_row, b.cursor_byte_offset, b.column_map::text, b.options::text,
                      b.size_bytes, t.default_country
            """, lockedBy, lease.intervalSeconds)
        guard let row = rows.first else { return nil }
        return ImportClaim(
            id: try row.decode("id"), tenantID: try row.decode("tenant_id"), lockedBy: lockedBy,
            cursorRow: try row.decode("cursor_row"), cursorByteOffset: try row.decode("cursor_byte_offset"),
            columnMap: try row.decodeIfPresent("column_map", as: PostgresJSON.self).map { try $0.decode(as: ImportColumnMap.self) },
            options: (try? row.decode("options", as: PostgresJSON.self).decode(as: ImportBatch.Options.self)) ?? .init(),
            sizeBytes: try row.decode("size_bytes"), defaultCountry: try row.decode("default_country"))
    }

    /// The stored file, read in slices (the column is stored uncompressed, so
    /// each `substring` reads only its part).
    public func file(of claim: ImportClaim) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(claim.sizeBytes)
        let slice = 8 << 20
        while true {
            let rows = try await postgres.query(
                "SELECT substring(csv_data FROM $3 FOR $4) AS part FROM import_batches WHERE tenant_id = $1::uuid AND id = $2::uuid",
                claim.tenantID, claim.id, bytes.count + 1, slice)
            guard let hex = try rows.first?.decodeIfPresent("part", as: String.self) else { break }
            let before = bytes.count
            guard Self.appendHexBytea(hex, to: &bytes) else {
                throw PostgresError(code: .decodingFailed, column: "csv_data", serverMessage: "not bytea hex output")
            }
            if bytes.count - before < slice { break }
        }
        return bytes
    }

    /// Decodes bytea's hex output (`\x0a1b…`) onto `bytes`; false when it is not that.
    /// A table-driven loop: a 50 MB file is 100 MB of hex, which a
    /// per-character decoder takes a noticeable part of a second over.
    static func appendHexBytea(_ hex: String, to bytes: inout [UInt8]) -> Bool {
        var hex = hex
        return hex.withUTF8 { text -> Bool in
            guard text.count >= 2, text[0] == UInt8(ascii: "\\"), text[1] == UInt8(ascii: "x"), text.count % 2 == 0 else { return false }
            let pairs = (text.count - 2) / 2
            let start = bytes.count
            bytes.append(contentsOf: repeatElement(0, count: pairs))
            return bytes.withUnsafeMutableBufferPointer { out -> Bool in
                var valid: UInt8 = 0
                for i in 0..<pairs {
                    let high = hexNibbles[Int(text[2 + 2 * i])]
                    let low = hexNibbles[Int(text[3 + 2 * i])]
                    valid |= high | low
                    out[start + i] = high << 4 | (low & 0x0F)
                }
                return valid & 0xF0 == 0  // 0xFF marks a character that is not a hex digit
            }
        }
    }

    private static let hexNibbles: [UInt8] = (0..<256).map { c in
        switch c {
        case 48...57: UInt8(c - 48)
        case 65...70: UInt8(c - 55)
        case 97...102: UInt8(c - 87)
        default: 0xFF
        }
    }

    /// Records the checked header (and where data starts) and the row count.
    public func begin(_ claim: ImportClaim, summary: ImportFileCheck.Summary, lease: Duration) async throws {
        let updated = try await postgres.query(
            """
            UPDATE import_batches
            SET column_map = $4::jsonb, total_rows = $5, cursor_byte_offset = $6,
                lease_expires_at = now() + make_interval(secs => $7), updated_at = now()
            WHERE tenant_id = $1::uuid AND id = $2::uuid AND locked_by = $3 AND status = 'processing' AND cursor_row = 0
            """,
            claim.tenantID, claim.id, claim.lockedBy, try PostgresJSON(encoding: summary.columnMap), summary.totalRows,
            summary.columnMap.dataOffset, lease.intervalSeconds
        ).affectedRows
        guard updated == 1 else { throw ImportLeaseLost() }
    }

    /// Fails the whole import with `message` (shown to the user) and drops the file.
    public func fail(_ claim: ImportClaim, message: String) async throws {
        try await postgres.withTransaction { connection in
            let updated = try connection.query(
                """
                UPDATE import_batches
                SET status = 'failed', error = $4, locked_by = NULL, lease_expires_at = NULL, csv_data = NULL,
                    completed_at = now(), updated_at = now()
                WHERE tenant_id = $1::uuid AND id = $2::uuid AND locked_by = $3 AND status = 'processing'
                """, claim.tenantID, claim.id, claim.lockedBy, message
            ).affectedRows
            guard updated == 1 else { throw ImportLeaseLost() }
            try AuditLog.record(
                AuditEntry(
                    tenantID: claim.tenantID, actor: ImportProcessor.actor, action: "import.fail", targetType: "import",
                    targetID: claim.id, details: ["error": String(message.prefix(200))]),
                on: connection)
        }
    }

    /// Gives the lease up so any processor may continue at once (graceful
    /// shutdown), or after `retryAfter` (an unexpected error).
    public func release(_ claim: ImportClaim, retryAfter: Duration? = nil) async throws {
        try await postgres.query(
            """
            UPDATE import_batches
            SET locked_by = NULL, updated_at = now(),
                lease_expires_at = CASE WHEN $4::double precision IS NULL THEN NULL
                                        ELSE now() + make_interval(secs => $4::double precision) END
            WHERE tenant_id = $1::uuid AND id = $2::uuid AND locked_by = $3 AND status = 'processing'
            """, claim.tenantID, claim.id, claim.lockedBy, retryAfter?.intervalSeconds)
    }

    static let createStage = """
        CREATE TEMP TABLE IF NOT EXISTS smscrm_import_stage (
            id         uuid NOT NULL,
            row_number integer NOT NULL,
            phone      text NOT NULL,
            number_type text NOT NULL,
            first_name text,
            last_name  text,
            email      text,
            timezone   text,
            consent    boolean NOT NULL,
            attributes jsonb,
            lists      text,
            duplicate  boolean NOT NULL
        ) ON COMMIT DELETE ROWS
        """

    /// Upserts staged rows by phone: a new phone inserts (with the id the
    /// chunker made), an existing one gets the row's non-empty fields and its
    /// attributes merged. `duplicates` picks the rows whose phone an earlier
    /// chunk already imported: they are applied but not counted again.
    static func upsertSQL(duplicates: Bool) -> String {
        """
        WITH u AS (
            INSERT INTO contacts AS c (id, tenant_id, phone_e164, first_name, last_name, email, timezone, consent_at,
                                       consent_source, attributes, number_type)
            SELECT s.id, $1::uuid, s.phone, s.first_name, s.last_name, s.email, s.timezone,
                   CASE WHEN s.consent THEN now() END, CASE WHEN s.consent THEN $2::text END,
                   COALESCE(s.attributes, '{}'::jsonb), s.number_type
            FROM smscrm_import_stage s
            WHERE \(duplicates ? "" : "NOT ")s.duplicate
            ON CONFLICT (tenant_id, phone_e164) DO UPDATE SET
                first_name = COALESCE(EXCLUDED.first_name, c.first_name),
                last_name = COALESCE(EXCLUDED.last_name, c.last_name),
                email = COALESCE(EXCLUDED.email, c.email),
                timezone = COALESCE(EXCLUDED.timezone, c.timezone),
                consent_at = COALESCE(EXCLUDED.consent_at, c.consent_at),
                consent_source = CASE WHEN EXCLUDED.consent_at IS NULL THEN c.consent_source ELSE EXCLUDED.consent_source END,
                attributes = c.attributes || EXCLUDED.attributes,
                number_type = EXCLUDED.number_type,
                updated_at = now()
            RETURNING (c.xmax = 0) AS inserted
        )
        SELECT count(*) FILTER (WHERE inserted) AS imported, count(*) FILTER (WHERE NOT inserted) AS updated FROM u
        """
    }

    /// Memberships from the `lists` column (the lists exist already) and, with
    /// `withListIDs`, in every list of the upload's `list_ids` ($2).
    static func membersSQL(withListNames: Bool, withListIDs: Bool) -> String {
        var parts: [String] = []
        if withListNames {
            parts.append(
                """
                SELECT $1::uuid, l.id, c.id
                FROM smscrm_import_stage s
                JOIN contacts c ON c.tenant_id = $1::uuid AND c.phone_e164 = s.phone
                CROSS JOIN LATERAL unnest(string_to_array(s.lists, '|')) AS n(name)
                JOIN contact_lists l ON l.tenant_id = $1::uuid AND l.name = n.name
                WHERE s.lists IS NOT NULL
                """)
        }
        if withListIDs {
            parts.append(
                """
                SELECT $1::uuid, l.id, c.id
                FROM smscrm_import_stage s
                JOIN contacts c ON c.tenant_id = $1::uuid AND c.phone_e164 = s.phone
                JOIN contact_lists l ON l.tenant_id = $1::uuid AND l.id = ANY($2::uuid[])
                """)
        }
        return "INSERT INTO contact_list_members (tenant_id, list_id, contact_id)\n" + parts.joined(separator: "\nUNION ALL\n")
            + "\nON CONFLICT DO NOTHING"
    }

    /// Commits one chunk: its contacts, list memberships, rejections and
    /// flags, the counts and the cursor, all in one transaction, and only if
    /// this processor still holds the lease and the cursor is where the
    /// previous chunk left it. A crash before COMMIT leaves nothing of the
    /// chunk; after it, the cursor is past the chunk. Either way no row is
    /// lost or counted twice.
    ///
    /// With `after`, this chunk runs while the previous one is still being
    /// committed on another connection (two cores, two backends): it does its
    /// work, then waits for the previous chunk's outcome before it checks the
    /// cursor, and rolls back if that chunk failed. Chunks that overlap share
    /// no phone (the processor only overlaps those), their lists are created
    /// beforehand in their own transaction, and the import row is locked
    /// `FOR NO KEY UPDATE`, which does not conflict with the key-share locks
    /// the other chunk's foreign keys take; so neither waits for the other
    /// inside PostgreSQL.
    public func commit(
        _ chunk: PreparedImportChunk, claim: ImportClaim, expectedRow: Int, lease: Duration, after previous: ImportCommitGate? = nil
    ) async throws -> ImportProgress {
        let consentSource = claim.options.consentSource ?? "import"
        let listIDs = claim.options.listIds
        return try await postgres.withConnection { connection in
            if !chunk.listNames.isEmpty {
                // Its own short transaction: idempotent, and it keeps overlapping chunks from waiting on each other.
                try connection.query(
                    """
                    INSERT INTO contact_lists (tenant_id, name) SELECT $1::uuid, name FROM unnest($2::text[]) AS name
                    ON CONFLICT (tenant_id, name) DO NOTHING
                    """, claim.tenantID, chunk.listNames)
            }
            return try connection.withTransaction { connection in
                // Cheap early exit when another processor has taken the import over.
                let holder = try connection.query(
                    "SELECT 1 FROM import_batches WHERE tenant_id = $1::uuid AND id = $2::uuid AND locked_by = $3 AND status = 'processing'",
                    claim.tenantID, claim.id, claim.lockedBy)
                guard !holder.isEmpty else { throw ImportLeaseLost() }
                // Safe without waiting for the WAL flush: a database crash can only
                // lose whole recent transactions, each with its own cursor, so the
                // import resumes exactly where the surviving cursor says.
                try connection.query("SET LOCAL synchronous_commit = off", [])

                var imported = 0
                var updated = 0
                var flagged = 0
                if chunk.stagedCount > 0 {
                    try connection.query(Self.createStage, [])
                    try connection.copyFrom(
                        """
                        COPY smscrm_import_stage (id, row_number, phone, number_type, first_name, last_name, email, timezone, consent, attributes,
                                                  lists, duplicate) FROM STDIN
                        """
                    ) { send in try send(chunk.stage) }
                    let counts = try connection.query(Self.upsertSQL(duplicates: false), claim.tenantID, consentSource)
                    imported = try counts[0].decode("imported")
                    updated = try counts[0].decode("updated")
                    if chunk.hasDuplicates {
                        try connection.query(Self.upsertSQL(duplicates: true), claim.tenantID, consentSource)
                    }
                    if chunk.usesLists || !listIDs.isEmpty {
                        let sql = Self.membersSQL(withListNames: chunk.usesLists, withListIDs: !listIDs.isEmpty)
                        // $2 appears only with list ids; an unused parameter's type could not be inferred.
                        if listIDs.isEmpty { try connection.query(sql, claim.tenantID) } else { try connection.query(sql, claim.tenantID, listIDs) }
                    }
                    flagged = try connection.query(
                        """
                        INSERT INTO import_rejections (import_id, tenant_id, row_number, kind, reason)
                        SELECT $2::uuid, $1::uuid, s.row_number, 'flagged',
                               CASE WHEN d.phone_e164 IS NOT NULL THEN 'on the do-not-contact list: imported, but it will not be texted'
                                    ELSE 'the number is ' || \(PhoneNumberType.phraseSQL(column: "s.number_type"))
                                         || ' and cannot receive text messages: imported, but it will not be texted'
                               END
                        FROM smscrm_import_stage s
                        JOIN tenants t ON t.id = $1::uuid
                        LEFT JOIN do_not_contact d ON d.tenant_id = $1::uuid AND d.phone_e164 = s.phone
                        WHERE NOT s.duplicate
                          AND (d.phone_e164 IS NOT NULL OR \(PhoneNumberType.cannotReceiveSMSCondition(contact: "s", tenant: "t")))
                        """, claim.tenantID, claim.id
                    ).affectedRows
                }
                if chunk.rejectedRows > 0 {
                    try connection.copyFrom("COPY import_rejections (import_id, tenant_id, row_number, kind, reason, raw) FROM STDIN") { send in
                        try send(chunk.rejections)
                    }
                }

                if let previous, !previous.waitForOutcome(timeout: lease) { throw ImportCommitGate.PreviousChunkFailed() }
                let fence = try connection.query(
                    """
                    SELECT cursor_row FROM import_batches
                    WHERE tenant_id = $1::uuid AND id = $2::uuid AND locked_by = $3 AND status = 'processing'
                    FOR NO KEY UPDATE
                    """, claim.tenantID, claim.id, claim.lockedBy)
                guard let row = fence.first, try row.decode("cursor_row", as: Int.self) == expectedRow else { throw ImportLeaseLost() }
                let rows = try connection.query(
                    """
                    UPDATE import_batches SET
                        processed_rows = processed_rows + $4, imported_count = imported_count + $5,
                        updated_count = updated_count + $6, rejected_count = rejected_count + $7,
                        flagged_count = flagged_count + $8, cursor_row = $9, cursor_byte_offset = $10,
                        status = CASE WHEN $11 THEN 'completed' ELSE status END,
                        completed_at = CASE WHEN $11 THEN now() ELSE completed_at END,
                        locked_by = CASE WHEN $11 THEN NULL ELSE locked_by END,
                        lease_expires_at = CASE WHEN $11 THEN NULL ELSE now() + make_interval(secs => $12) END,
                        csv_data = CASE WHEN $11 THEN NULL ELSE csv_data END,
                        updated_at = now()
                    WHERE tenant_id = $1::uuid AND id = $2::uuid AND locked_by = $3
                    RETURNING processed_rows, imported_count, updated_count, rejected_count, flagged_count
                    """,
                    claim.tenantID, claim.id, claim.lockedBy, chunk.processedRows, imported, updated, chunk.rejectedRows, flagged,
                    chunk.endRow, chunk.endOffset, chunk.isLast, lease.intervalSeconds)
                guard let after = rows.first else { throw ImportLeaseLost() }
                let progress = ImportProgress(
                    processedRows: try after.decode("processed_rows"), imported: try after.decode("imported_count"),
                    updated: try after.decode("updated_count"), rejected: try after.decode("rejected_count"),
                    flagged: try after.decode("flagged_count"), completed: chunk.isLast)
                if chunk.isLast {
                    try AuditLog.record(
                        AuditEntry(
                            tenantID: claim.tenantID, actor: ImportProcessor.actor, action: "import.complete", targetType: "import",
                            targetID: claim.id,
                            details: [
                                "processed": String(progress.processedRows), "imported": String(progress.imported),
                                "updated": String(progress.updated), "rejected": String(progress.rejected),
                                "flagged": String(progress.flagged),
                            ]),
                        on: connection)
                }
                return progress
            }
        }
    }
}

/// The outcome of one chunk's commit, for the chunk that overlaps it: set
/// once, after COMMIT returned (true) or the transaction failed (false).
/// The waiting side blocks a database pool thread, never a Swift
/// concurrency thread.
public final class ImportCommitGate: @unchecked Sendable {
    struct PreviousChunkFailed: Error {}

    private let condition = NSCondition()
    private var outcome: Bool?  // guarded by `condition`

    public init() {}

    public func resolve(committed: Bool) {
        condition.lock()
        if outcome == nil { outcome = committed }
        condition.broadcast()
        condition.unlock()
    }

    /// Blocks until resolved; false when the chunk failed or `timeout` passed.
    func waitForOutcome(timeout: Duration) -> Bool {
        let deadline = Date().addingTimeInterval(timeout.intervalSeconds)
        condition.lock()
        defer { condition.unlock() }
        while outcome == nil {
            if !condition.wait(until: deadline) { return outcome ?? false }
        }
        return outcome ?? false
    }
}

extension Duration {
    /// Whole and fractional seconds, for `make_interval(secs => …)`.
    var intervalSeconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}

extension ImportBatch: KeysetPaged {}
