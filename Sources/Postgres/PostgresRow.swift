import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A value that can be read from a column in PostgreSQL's text output format.
public protocol PostgresDecodable: Sendable {
    init(postgresText: String) throws
}

struct PostgresDecodingFailure: Error {
    let type: String
    init(_ type: String) { self.type = type }
}

extension String: PostgresDecodable {
    public init(postgresText: String) { self = postgresText }
}

/// A value whose PostgreSQL text output is what its own `init?(_:)` parses:
/// integers and floating point.
public protocol PostgresTextParsable: PostgresDecodable, LosslessStringConvertible {}

extension PostgresTextParsable {
    public init(postgresText: String) throws {
        guard let value = Self(postgresText) else { throw PostgresDecodingFailure("\(Self.self)") }
        self = value
    }
}

extension Int: PostgresTextParsable {}
extension Int64: PostgresTextParsable {}
extension Int32: PostgresTextParsable {}
extension Int16: PostgresTextParsable {}
extension Double: PostgresTextParsable {}

extension Decimal: PostgresDecodable {
    public init(postgresText: String) throws {
        guard let v = Decimal(string: postgresText, locale: Locale(identifier: "en_US_POSIX")) else {
            throw PostgresDecodingFailure("Decimal")
        }
        self = v
    }
}

extension Bool: PostgresDecodable {
    public init(postgresText: String) throws {
        switch postgresText {
        case "t", "true": self = true
        case "f", "false": self = false
        default: throw PostgresDecodingFailure("Bool")
        }
    }
}

extension UUID: PostgresDecodable {
    public init(postgresText: String) throws {
        guard let v = UUID(uuidString: postgresText) else { throw PostgresDecodingFailure("UUID") }
        self = v
    }
}

extension Date: PostgresDecodable {
    public init(postgresText: String) throws {
        guard let v = PostgresTimestamp.parse(postgresText) else { throw PostgresDecodingFailure("Date") }
        self = v
    }
}

extension Array: PostgresDecodable where Element: PostgresArrayElement {
    /// Reads a one-dimensional array literal such as `{a,"b c",NULL}`.
    /// NULL elements are refused: decode as `[String?]` is not offered on purpose,
    /// the schema keeps arrays free of NULLs.
    public init(postgresText: String) throws {
        guard let items = PostgresArrayLiteral.parse(postgresText) else {
            throw PostgresDecodingFailure("Array")
        }
        self = try items.map { item in
            guard let item else { throw PostgresDecodingFailure("Array element NULL") }
            return try Element(postgresText: item)
        }
    }
}

/// One row of a result, with values in PostgreSQL's text format.
public struct PostgresRow: Sendable {
    let columns: PostgresColumns
    let values: [String?]

    /// The value of `column`, decoded; throws when it is NULL or not a `T`.
    public func decode<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        guard let value = try decodeIfPresent(column, as: T.self) else {
            throw PostgresError(code: .decodingFailed, column: column, serverMessage: "unexpected NULL")
        }
        return value
    }

    /// The value of `column`, decoded, or `nil` when it is NULL.
    public func decodeIfPresent<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T? {
        guard let index = columns.index[column] else {
            throw PostgresError(code: .decodingFailed, column: column, serverMessage: "no such column in the result")
        }
        return try decodeIfPresent(at: index, as: T.self)
    }

    /// The value at `index`, decoded; throws when it is NULL or not a `T`.
    public func decode<T: PostgresDecodable>(at index: Int, as type: T.Type = T.self) throws -> T {
        guard let value = try decodeIfPresent(at: index, as: T.self) else {
            throw PostgresError(code: .decodingFailed, column: columns.names[index], serverMessage: "unexpected NULL")
        }
        return value
    }

    /// The value at `index`, decoded, or `nil` when it is NULL.
    public func decodeIfPresent<T: PostgresDecodable>(at index: Int, as type: T.Type = T.self) throws -> T? {
        guard let text = values[index] else { return nil }
        do {
            return try T(postgresText: text)
        } catch {
            throw PostgresError(
                code: .decodingFailed, column: columns.names[index], serverMessage: "not a \(T.self)")
        }
    }

    /// Whether the column is NULL.
    public func isNull(_ column: String) -> Bool {
        guard let index = columns.index[column] else { return true }
        return values[index] == nil
    }
}

final class PostgresColumns: Sendable {
    let names: [String]
    let index: [String: Int]
    init(names: [String]) {
        self.names = names
        var index: [String: Int] = [:]
        for (i, name) in names.enumerated() where index[name] == nil { index[name] = i }
        self.index = index
    }
}

/// The rows of a statement and the number of rows it affected.
public struct PostgresRows: Sendable, RandomAccessCollection {
    public let columnNames: [String]
    public let rows: [PostgresRow]
    /// Rows inserted, updated, deleted or copied, as the command tag says.
    public let affectedRows: Int

    public var startIndex: Int { rows.startIndex }
    public var endIndex: Int { rows.endIndex }
    public subscript(position: Int) -> PostgresRow { rows[position] }
}

enum PostgresTimestamp {
    /// `2024-05-01 13:14:15.123456+00`
    static func format(_ date: Date) -> String {
        let totalMicros = (date.timeIntervalSince1970 * 1_000_000).rounded()
        var seconds = Int(floor(totalMicros / 1_000_000))
        var micros = Int(totalMicros - Double(seconds) * 1_000_000)
        if micros < 0 { micros += 1_000_000; seconds -= 1 }
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(
            format: "%04d-%02d-%02d %02d:%02d:%02d.%06d+00",
            Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
            Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), micros)
    }

    /// Parses the ISO DateStyle output of `timestamptz`, `timestamp` (as UTC) and `date`.
    static func parse(_ text: String) -> Date? {
        if text == "infinity" { return .distantFuture }
        if text == "-infinity" { return .distantPast }
        let u = Array(text.utf8)
        var i = 0
        func number(_ digits: Int) -> Int? {
            guard i + digits <= u.count else { return nil }
            var v = 0
            for k in 0..<digits {
                let c = u[i + k]
                guard c >= 48, c <= 57 else { return nil }
                v = v * 10 + Int(c - 48)
            }
            i += digits
            return v
        }
        func expect(_ c: Character) -> Bool {
            guard i < u.count, u[i] == c.asciiValue! else { return false }
            i += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2) else {
            return nil
        }
        var hour = 0, minute = 0, second = 0
        var fraction = 0.0
        var offsetSeconds = 0
        if i < u.count, u[i] == 32 || u[i] == 84 {  // ' ' or 'T'
            i += 1
            guard let h = number(2), expect(":"), let m = number(2), expect(":"), let s = number(2) else { return nil }
            (hour, minute, second) = (h, m, s)
            if i < u.count, u[i] == 46 {  // '.'
                i += 1
                var scale = 0.1
                while i < u.count, u[i] >= 48, u[i] <= 57 {
                    fraction += Double(u[i] - 48) * scale
                    scale /= 10
                    i += 1
                }
            }
            if i < u.count, u[i] == 43 || u[i] == 45 {  // '+' or '-'
                let sign = u[i] == 45 ? -1 : 1
                i += 1
                guard let oh = number(2) else { return nil }
                var om = 0, os = 0
                if expect(":") { guard let v = number(2) else { return nil }; om = v }
                if expect(":") { guard let v = number(2) else { return nil }; os = v }
                offsetSeconds = sign * (oh * 3600 + om * 60 + os)
            } else if expect("Z") {
                offsetSeconds = 0
            }
        }
        guard i == u.count else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let epoch = timegm(&parts)
        return Date(timeIntervalSince1970: Double(epoch - offsetSeconds) + fraction)
    }
}

enum PostgresArrayLiteral {
    /// Splits a one-dimensional array literal into its elements (`nil` for NULL).
    static func parse(_ text: String) -> [String?]? {
        var chars = Substring(text)
        guard chars.first == "{", chars.last == "}" else { return nil }
        chars = chars.dropFirst().dropLast()
        if chars.isEmpty { return [] }
        var items: [String?] = []
        var current = ""
        var quoted = false
        var wasQuoted = false
        var escaped = false
        for ch in chars {
            if escaped {
                current.append(ch)
                escaped = false
            } else if ch == "\\" {
                escaped = true
            } else if ch == "\"" {
                quoted.toggle()
                wasQuoted = true
            } else if ch == "," && !quoted {
                items.append(!wasQuoted && current == "NULL" ? nil : current)
                current = ""
                wasQuoted = false
            } else if ch == "{" && !quoted {
                return nil  // multi-dimensional arrays are not used
            } else {
                current.append(ch)
            }
        }
        guard !quoted, !escaped else { return nil }
        items.append(!wasQuoted && current == "NULL" ? nil : current)
        return items
    }
}
