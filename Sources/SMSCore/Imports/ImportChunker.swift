import Foundation

/// One chunk of an import, checked and encoded, ready to be written in one
/// transaction together with the cursor that says where it ends.
public struct PreparedImportChunk: Sendable {
    /// COPY text rows for the stage table (see ``ImportStore``).
    var stage: [UInt8] = []
    /// COPY text rows for `import_rejections`.
    var rejections: [UInt8] = []
    var stagedCount = 0
    var usesLists = false
    /// Distinct names in the `lists` column, created before the chunk's transaction.
    var listNames: [String] = []
    /// Some staged rows repeat a phone an earlier chunk imported.
    var hasDuplicates = false
    /// Some of those phones are in the chunk just before this one, so the two
    /// must not be committed at the same time.
    public var dependsOnPrevious = false
    /// Non-blank rows read (accepted, merged into an earlier row of the chunk, or rejected).
    public var processedRows = 0
    public var rejectedRows = 0
    /// Cursor after this chunk: the last record's number and the offset of the next record.
    public var endRow: Int
    public var endOffset: Int
    /// The file ends with this chunk.
    public var isLast = false
}

/// Cuts a file into chunks from a cursor on. Rows are numbered from 1 after
/// the header, blank records included, so a row number matches the
/// spreadsheet row minus one.
///
/// Duplicate phones: the later row wins. A phone that repeats within a chunk
/// is merged into one upsert (later non-empty fields win); one that repeats a
/// phone of an earlier chunk is upserted again, merging the same way in SQL,
/// but not counted again. Either way the phone counts once (as imported or
/// updated) and `processed - imported - updated - rejected` is the number of
/// repeats. The set of phones already seen is rebuilt from the file when an
/// interrupted import resumes (``skip(toRow:offset:)``), so the rule holds
/// across a restart.
struct ImportChunker {
    let file: [UInt8]
    let map: ImportColumnMap
    let importID: String
    let tenantID: String
    let chunkRows: Int
    private(set) var row: Int
    private(set) var offset: Int
    private var rows: ImportRowReader
    private var seen: Set<UInt64> = []
    private var previousChunkPhones: Set<UInt64> = []
    private var ids = TimeOrderedID()

    init(file: [UInt8], map: ImportColumnMap, importID: String, tenantID: String, chunkRows: Int) {
        self.file = file
        self.map = map
        self.importID = importID
        self.tenantID = tenantID
        self.chunkRows = max(1, chunkRows)
        self.row = 0
        self.offset = map.dataOffset
        self.rows = ImportRowReader(map: map)
    }

    struct ResumeMismatch: Error, CustomStringConvertible {
        let description: String
    }

    /// Re-reads the rows an earlier run committed, without writing anything,
    /// to learn which phones they held; then continues after them.
    mutating func skip(toRow targetRow: Int, offset targetOffset: Int) throws {
        guard targetRow > 0 else { return }
        let file = self.file
        var rows = self.rows
        var seen = self.seen
        var row = 0
        let start = map.dataOffset
        let reached: Int = try file.withUnsafeBufferPointer { buffer in
            var reader = CSVReader(bytes: buffer, position: start)
            var fields: [CSVField] = []
            while row < targetRow, let bounds = try reader.next(into: &fields) {
                row += 1
                if case .accepted(let contact) = rows.read(fields, bounds: bounds, rowNumber: row, reader: reader) {
                    seen.insert(contact.phoneKey)
                }
            }
            return reader.position
        }
        guard row == targetRow, reached == targetOffset else {
            throw ResumeMismatch(description: "the cursor (row \(targetRow), byte \(targetOffset)) does not match the file (row \(row), byte \(reached))")
        }
        self.rows = rows
        self.seen = seen
        self.row = row
        self.offset = reached
    }

    /// Reads up to `chunkRows` non-blank rows from the cursor.
    mutating func next() throws -> PreparedImportChunk {
        var chunk = PreparedImportChunk(endRow: row, endOffset: offset)
        var staged: [StagedContact] = []
        staged.reserveCapacity(min(chunkRows, 65_536))
        var indexByPhone: [UInt64: Int] = [:]
        indexByPhone.reserveCapacity(min(chunkRows, 65_536))
        var rejections = CopyTextWriter()
        let prefix = Array("\(importID)\t\(tenantID)\t".utf8)

        let file = self.file
        try file.withUnsafeBufferPointer { buffer in
            var reader = CSVReader(bytes: buffer, position: offset)
            var fields: [CSVField] = []
            while chunk.processedRows < chunkRows, let bounds = try reader.next(into: &fields) {
                row += 1
                offset = bounds.end
                switch rows.read(fields, bounds: bounds, rowNumber: row, reader: reader) {
                case .blank:
                    continue
                case .rejected(let reason):
                    chunk.processedRows += 1
                    chunk.rejectedRows += 1
                    rejections.raw(prefix)
                    rejections.ascii(String(row))
                    rejections.raw(Array("\trejected\t".utf8))
                    rejections.text(reason)
                    rejections.tab()
                    rejections.text(Self.excerpt(buffer, bounds))
                    rejections.newline()
                case .accepted(var contact):
                    chunk.processedRows += 1
                    if let index = indexByPhone[contact.phoneKey] {
                        staged[index].merge(contact)
                    } else {
                        contact.duplicate = !seen.insert(contact.phoneKey).inserted
                        indexByPhone[contact.phoneKey] = staged.count
                        staged.append(contact)
                    }
                }
            }
            chunk.isLast = reader.isAtEnd
            chunk.stage = encode(staged, buffer)
        }
        chunk.rejections = rejections.bytes
        chunk.stagedCount = staged.count
        var listNames: Set<String> = []
        for contact in staged {
            listNames.formUnion(contact.lists)
            if contact.duplicate {
                chunk.hasDuplicates = true
                if previousChunkPhones.contains(contact.phoneKey) { chunk.dependsOnPrevious = true }
            }
        }
        chunk.listNames = listNames.sorted()
        chunk.usesLists = !listNames.isEmpty
        previousChunkPhones = Set(indexByPhone.keys)
        chunk.endRow = row
        chunk.endOffset = offset
        return chunk
    }

    /// The record as text for `import_rejections.raw` (at most 1,000 characters).
    static func excerpt(_ buffer: UnsafeBufferPointer<UInt8>, _ bounds: CSVRecordBounds) -> String {
        let end = min(bounds.contentEnd, bounds.start + 4_000)
        let text = String(decoding: UnsafeBufferPointer(rebasing: buffer[bounds.start..<end]), as: UTF8.self)
        let scalars = text.unicodeScalars
        guard scalars.count > 1_000 else { return text }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars.prefix(999))
        return String(view) + "…"
    }

    /// Stage columns: id (for a new contact), row_number, phone, first_name,
    /// last_name, email, timezone, consent, attributes (jsonb), lists
    /// ('|'-separated), duplicate.
    private mutating func encode(_ staged: [StagedContact], _ buffer: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var out = CopyTextWriter()
        out.bytes.reserveCapacity(staged.count * 128)
        let names = map.attributes.map { Array($0.name.utf8) }
        let now = Date()
        for contact in staged {
            ids.append(to: &out.bytes, now: now)
            out.tab()
            out.ascii(String(contact.rowNumber))
            out.tab()
            out.ascii(contact.phone)
            out.tab()
            out.ascii(contact.numberType.rawValue)
            out.tab()
            out.optionalField(contact.firstName, buffer)
            out.tab()
            out.optionalField(contact.lastName, buffer)
            out.tab()
            out.optionalField(contact.email, buffer)
            out.tab()
            if let zone = contact.timezone { out.text(zone) } else { out.null() }
            out.tab()
            out.byte(contact.consent ? UInt8(ascii: "t") : UInt8(ascii: "f"))
            out.tab()
            if contact.attributes.isEmpty {
                out.null()
            } else {
                out.byte(UInt8(ascii: "{"))
                for (i, attribute) in contact.attributes.enumerated() {
                    if i > 0 { out.byte(UInt8(ascii: ",")) }
                    out.jsonString(names[attribute.attribute])
                    out.byte(UInt8(ascii: ":"))
                    out.jsonString(field: attribute.value, buffer)
                }
                out.byte(UInt8(ascii: "}"))
            }
            out.tab()
            if contact.lists.isEmpty { out.null() } else { out.text(contact.lists.joined(separator: "|")) }
            out.tab()
            out.byte(contact.duplicate ? UInt8(ascii: "t") : UInt8(ascii: "f"))
            out.newline()
        }
        return out.bytes
    }
}

/// Builds PostgreSQL COPY text: tab-separated, `\N` for NULL, and backslash,
/// tab, newline and carriage return escaped.
struct CopyTextWriter {
    var bytes: [UInt8] = []

    mutating func byte(_ b: UInt8) { bytes.append(b) }
    mutating func tab() { bytes.append(9) }
    mutating func newline() { bytes.append(10) }
    mutating func null() { bytes.append(contentsOf: [92, 78]) }
    mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }
    /// Text known to need no escaping (digits, E.164 numbers).
    mutating func ascii(_ s: String) { bytes.append(contentsOf: s.utf8) }

    mutating func escaped(_ b: UInt8) {
        switch b {
        case 92: bytes.append(contentsOf: [92, 92])
        case 9: bytes.append(contentsOf: [92, 116])
        case 10: bytes.append(contentsOf: [92, 110])
        case 13: bytes.append(contentsOf: [92, 114])
        default: bytes.append(b)
        }
    }

    mutating func text(_ s: String) { for b in s.utf8 { escaped(b) } }

    /// A CSV field's value (doubled quotes undoubled), escaped.
    mutating func field(_ field: CSVField, _ buffer: UnsafeBufferPointer<UInt8>) {
        var i = field.start
        while i < field.end {
            let b = buffer[i]
            escaped(b)
            i += b == UInt8(ascii: "\"") && field.hasDoubledQuotes && i + 1 < field.end && buffer[i + 1] == b ? 2 : 1
        }
    }

    mutating func optionalField(_ field: CSVField?, _ buffer: UnsafeBufferPointer<UInt8>) {
        if let field { self.field(field, buffer) } else { null() }
    }

    /// One byte of a JSON string's content, JSON-escaped and then COPY-escaped.
    private mutating func jsonByte(_ b: UInt8) {
        switch b {
        case UInt8(ascii: "\""): bytes.append(contentsOf: [92, 92, 34])  // \" -> \\"
        case 92: bytes.append(contentsOf: [92, 92, 92, 92])  // \\ -> \\\\
        case 0..<32:
            let hex: [UInt8] = Array("0123456789abcdef".utf8)
            bytes.append(contentsOf: [92, 92, UInt8(ascii: "u"), 48, 48, hex[Int(b >> 4)], hex[Int(b & 15)]])
        default: bytes.append(b)
        }
    }

    mutating func jsonString(_ utf8: [UInt8]) {
        bytes.append(34)
        for b in utf8 { jsonByte(b) }
        bytes.append(34)
    }

    mutating func jsonString(field: CSVField, _ buffer: UnsafeBufferPointer<UInt8>) {
        bytes.append(34)
        var i = field.start
        while i < field.end {
            let b = buffer[i]
            jsonByte(b)
            i += b == UInt8(ascii: "\"") && field.hasDoubledQuotes && i + 1 < field.end && buffer[i + 1] == b ? 2 : 1
        }
        bytes.append(34)
    }
}
