/// The whole-file checks an import makes once, before any row is imported:
/// encoding, the header row and the number of data rows. A failure here fails
/// the import with a message that says what to fix, and nothing is imported.
public enum ImportFileCheck {
    /// What a readable file looks like.
    public struct Summary: Sendable, Equatable {
        public var columnMap: ImportColumnMap
        /// Data records that are not blank.
        public var totalRows: Int
    }

    public static func inspect(_ bytes: UnsafeBufferPointer<UInt8>, defaultCountry: String) -> Result<Summary, ImportFileError> {
        let saveAsUTF8 = "save it as \"CSV UTF-8\" and upload it again"
        if bytes.count >= 2, (bytes[0] == 0xFF && bytes[1] == 0xFE) || (bytes[0] == 0xFE && bytes[1] == 0xFF) {
            return .failure(.init("the file is UTF-16 text, not UTF-8; \(saveAsUTF8)"))
        }
        let bomLength = bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0
        if let problem = UTF8Check.firstProblem(in: bytes) {
            switch problem {
            case .invalid(let offset, let byte):
                let hex = String(byte, radix: 16, uppercase: true)
                return .failure(
                    .init(
                        "the file is not valid UTF-8: byte 0x\(hex.count == 1 ? "0" + hex : hex) at byte offset \(offset) "
                            + "(\(place(of: offset, in: bytes, from: bomLength))) is not UTF-8 text; \(saveAsUTF8)"))
            case .nul(let offset):
                return .failure(
                    .init(
                        "the file has a NUL byte at byte offset \(offset) (\(place(of: offset, in: bytes, from: bomLength))): "
                            + "it looks like a spreadsheet or UTF-16 file rather than CSV text; \(saveAsUTF8)"))
            }
        }

        var reader = CSVReader(bytes: bytes, position: bomLength)
        var fields: [CSVField] = []
        var headers: [String] = []
        do {
            // The header is the first record that is not blank.
            while let _ = try reader.next(into: &fields) {
                if !isBlank(fields, reader) {
                    headers = fields.map { reader.string(reader.trimmed($0)) }
                    break
                }
            }
        } catch {
            return .failure(unterminated(error, row: nil))
        }
        if headers.isEmpty { return .failure(.init("the file is empty")) }
        let dataOffset = reader.position
        let map: ImportColumnMap
        switch ImportColumnMap.make(headers: headers, dataOffset: dataOffset, defaultCountry: defaultCountry) {
        case .success(let made): map = made
        case .failure(let error): return .failure(error)
        }

        var rows = 0
        var record = 0
        do {
            while let _ = try reader.next(into: &fields) {
                record += 1
                if !isBlank(fields, reader) { rows += 1 }
            }
        } catch {
            return .failure(unterminated(error, row: record + 1))
        }
        if rows == 0 { return .failure(.init("the file has a header row but no data rows")) }
        return .success(Summary(columnMap: map, totalRows: rows))
    }

    /// A record is blank when every field is empty or spaces: spreadsheets
    /// export empty rows as `,,,`. Blank records are skipped, not counted.
    static func isBlank(_ fields: [CSVField], _ reader: CSVReader) -> Bool {
        fields.allSatisfy { reader.trimmed($0).isEmpty }
    }

    /// "the header row" or "data row N" for the record holding `offset`.
    private static func place(of offset: Int, in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> String {
        var reader = CSVReader(bytes: bytes, position: start)
        var fields: [CSVField] = []
        var headerSeen = false
        var dataRow = 0
        while let bounds = try? reader.next(into: &fields) {
            if headerSeen { dataRow += 1 }
            if bounds.end > offset || reader.isAtEnd { return headerSeen ? "data row \(dataRow)" : "in the header row" }
            if !headerSeen, !isBlank(fields, reader) { headerSeen = true }
        }
        return headerSeen ? "after data row \(dataRow)" : "in the header row"
    }

    private static func unterminated(_ error: CSVFormatError, row: Int?) -> ImportFileError {
        switch error {
        case .unterminatedQuote(let offset):
            let place = row.map { "data row \($0)" } ?? "the header row"
            return .init(
                "a quoted field that opens at byte offset \(offset) (\(place)) is never closed; "
                    + "check that quotes inside fields are doubled (\"\")")
        }
    }
}
