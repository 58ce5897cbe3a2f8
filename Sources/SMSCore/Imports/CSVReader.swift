/// One field of a CSV record: a byte range of the file. For a quoted field the
/// range is the text between the quotes, whose doubled quotes (`""`) still
/// need undoubling (``hasDoubledQuotes``).
public struct CSVField: Sendable, Equatable {
    public var start: Int
    public var end: Int
    public var hasDoubledQuotes: Bool

    public var isEmpty: Bool { start >= end }
    public var count: Int { end - start }
}

/// Where a record lies in the file.
public struct CSVRecordBounds: Sendable, Equatable {
    /// Offset of the record's first byte.
    public var start: Int
    /// Offset just past the record's last byte, before its line terminator.
    public var contentEnd: Int
    /// Offset of the next record (past the terminator): what a resumed import seeks to.
    public var end: Int
    /// Index of the first field with text between its closing quote and the next comma, if any.
    public var malformedField: Int?
}

/// Why a file cannot be read as CSV at all.
public enum CSVFormatError: Error, Sendable, Equatable {
    /// A quoted field that opens at `offset` is never closed.
    case unterminatedQuote(offset: Int)
}

/// An RFC 4180 reader over the raw bytes of an uploaded file.
///
/// Hand-written rather than yaslab/CSV.swift (issue 3): an interrupted import
/// resumes at the byte offset committed with its last chunk, so the reader
/// must say exactly where each record ends and must start cleanly at any such
/// offset. CSV.swift reads Unicode scalars from a stream and exposes neither,
/// and building a `String` per field is several times slower than slicing
/// bytes, which matters at a million rows. Bytes are not decoded here; the
/// import checks UTF-8 once for the whole file before any record is used.
///
/// Accepted: fields separated by commas; records ended by CRLF, LF or a lone
/// CR; fields quoted with `"` may hold commas, quotes (doubled) and line
/// breaks. A quote inside an unquoted field is kept as text. Text after a
/// closing quote (`"a"b,`) is kept too, and the record reports
/// ``CSVRecordBounds/malformedField`` so the row can be refused.
public struct CSVReader {
    private let bytes: UnsafeBufferPointer<UInt8>
    /// Offset of the next record.
    public private(set) var position: Int

    /// - Parameters:
    ///   - bytes: the whole file; must outlive the reader.
    ///   - position: where to start: 0, or an offset a previous record's `end` gave.
    public init(bytes: UnsafeBufferPointer<UInt8>, position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    public var isAtEnd: Bool { position >= bytes.count }

    /// Reads the next record's fields into `fields` (cleared first); nil at the end of the file.
    public mutating func next(into fields: inout [CSVField]) throws(CSVFormatError) -> CSVRecordBounds? {
        fields.removeAll(keepingCapacity: true)
        let count = bytes.count
        guard position < count else { return nil }
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        let start = position
        var i = position
        var malformed: Int?
        while true {
            if i < count, bytes[i] == quote {
                let open = i
                var j = i + 1
                var doubled = false
                while true {
                    while j < count, bytes[j] != quote { j += 1 }
                    guard j < count else { throw .unterminatedQuote(offset: open) }
                    if j + 1 < count, bytes[j + 1] == quote {
                        doubled = true
                        j += 2
                        continue
                    }
                    break
                }
                var field = CSVField(start: open + 1, end: j, hasDoubledQuotes: doubled)
                i = j + 1
                if i < count, bytes[i] != comma, bytes[i] != lf, bytes[i] != cr {
                    malformed = malformed ?? fields.count
                    while i < count, bytes[i] != comma, bytes[i] != lf, bytes[i] != cr { i += 1 }
                    field.end = i  // keep the stray text (the row is refused anyway)
                }
                fields.append(field)
            } else {
                let fieldStart = i
                while i < count {
                    let b = bytes[i]
                    if b == comma || b == lf || b == cr { break }
                    i += 1
                }
                fields.append(CSVField(start: fieldStart, end: i, hasDoubledQuotes: false))
            }
            if i >= count {
                position = count
                return CSVRecordBounds(start: start, contentEnd: count, end: count, malformedField: malformed)
            }
            if bytes[i] == comma {
                i += 1
                continue
            }
            let contentEnd = i
            if bytes[i] == cr, i + 1 < count, bytes[i + 1] == lf { i += 2 } else { i += 1 }
            position = i
            return CSVRecordBounds(start: start, contentEnd: contentEnd, end: i, malformedField: malformed)
        }
    }

    /// The field's bytes with doubled quotes undoubled.
    public func value(_ field: CSVField) -> [UInt8] {
        guard field.hasDoubledQuotes else { return Array(bytes[field.start..<field.end]) }
        var out: [UInt8] = []
        out.reserveCapacity(field.count)
        var i = field.start
        while i < field.end {
            out.append(bytes[i])
            i += bytes[i] == UInt8(ascii: "\"") && i + 1 < field.end && bytes[i + 1] == UInt8(ascii: "\"") ? 2 : 1
        }
        return out
    }

    /// The field as text.
    public func string(_ field: CSVField) -> String {
        if !field.hasDoubledQuotes {
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[field.start..<field.end]), as: UTF8.self)
        }
        return String(decoding: value(field), as: UTF8.self)
    }

    /// The field without leading and trailing spaces and tabs.
    public func trimmed(_ field: CSVField) -> CSVField {
        var f = field
        while f.start < f.end, bytes[f.start] == 32 || bytes[f.start] == 9 { f.start += 1 }
        while f.end > f.start, bytes[f.end - 1] == 32 || bytes[f.end - 1] == 9 { f.end -= 1 }
        return f
    }

    public subscript(offset: Int) -> UInt8 { bytes[offset] }
}

/// Checks that a file is text PostgreSQL can store: valid UTF-8 without NUL bytes.
public enum UTF8Check {
    public enum Problem: Sendable, Equatable {
        case invalid(offset: Int, byte: UInt8)
        case nul(offset: Int)
    }

    /// The first problem in `bytes`, or nil when it is all valid UTF-8 without NUL.
    public static func firstProblem(in bytes: UnsafeBufferPointer<UInt8>) -> Problem? {
        let n = bytes.count
        var i = 0
        while i < n {
            // Eight ASCII bytes at a time: the common case for contact lists.
            if i + 8 <= n {
                let word = UnsafeRawPointer(bytes.baseAddress! + i).loadUnaligned(as: UInt64.self)
                // No high bit set and no zero byte in the word.
                if word & 0x8080_8080_8080_8080 == 0, (word &- 0x0101_0101_0101_0101) & ~word & 0x8080_8080_8080_8080 == 0 {
                    i += 8
                    continue
                }
            }
            let b0 = bytes[i]
            if b0 < 0x80 {
                if b0 == 0 { return .nul(offset: i) }
                i += 1
                continue
            }
            let length: Int
            var low: UInt8 = 0x80, high: UInt8 = 0xBF  // allowed range of the second byte
            switch b0 {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; high = 0x9F  // no UTF-16 surrogates
            case 0xF0: length = 4; low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; high = 0x8F  // nothing past U+10FFFF
            default: return .invalid(offset: i, byte: b0)
            }
            // An incomplete or overlong sequence is reported at its first byte:
            // that is the byte a Latin-1 or Windows-1252 file has there (0xE9 for é).
            guard i + 1 < n, bytes[i + 1] >= low, bytes[i + 1] <= high else { return .invalid(offset: i, byte: b0) }
            for k in 2..<length {
                guard i + k < n, bytes[i + k] & 0xC0 == 0x80 else { return .invalid(offset: i, byte: b0) }
            }
            i += length
        }
        return nil
    }
}
