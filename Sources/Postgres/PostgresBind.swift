import Foundation

/// One bound parameter of a `PQexecParams` call: its bytes, format and type.
///
/// Values are always sent out of band, never spliced into the SQL text, so a
/// value can contain quotes, `;`, `--` or `$1` and stays a plain value.
public struct PostgresBind: Sendable, Equatable {
    /// Wire format of ``bytes``.
    public enum Format: Int32, Sendable { case text = 0, binary = 1 }

    /// `nil` is SQL NULL.
    public var bytes: [UInt8]?
    public var format: Format
    /// The parameter's type OID; 0 lets the server infer it from the statement.
    public var oid: UInt32

    public init(bytes: [UInt8]?, format: Format = .text, oid: UInt32 = 0) {
        self.bytes = bytes
        self.format = format
        self.oid = oid
    }

    public init(text: String, oid: UInt32 = 0) {
        self.init(bytes: Array(text.utf8), format: .text, oid: oid)
    }

    /// SQL NULL of an inferred type.
    public static let null = PostgresBind(bytes: nil)
}

/// A Swift value that can be bound as a query parameter.
public protocol PostgresEncodable: Sendable {
    var postgresBind: PostgresBind { get }
}

extension PostgresBind: PostgresEncodable {
    public var postgresBind: PostgresBind { self }
}

extension String: PostgresEncodable {
    public var postgresBind: PostgresBind { PostgresBind(text: self) }
}

extension Substring: PostgresEncodable {
    public var postgresBind: PostgresBind { PostgresBind(text: String(self)) }
}

extension Int: PostgresEncodable {
    public var postgresBind: PostgresBind { PostgresBind(text: String(self)) }
}

extension Int64: PostgresEncodable {
    public var postgresBind: PostgresBind { PostgresBind(text: String(self)) }
}

extension Int32: PostgresEncodable {
    public var postgresBind: PostgresBind { PostgresBind(text: String(self)) }
}

extension Int16: PostgresEncodable {
    public var postgresBind: PostgresBind { PostgresBind(text: String(self)) }
}

extension Double: PostgresEncodable {
    public var postgresBind: PostgresBind { PostgresBind(text: "\(self)") }
}

extension Decimal: PostgresEncodable {
    public var postgresBind: PostgresBind { PostgresBind(text: "\(self)") }
}

extension Bool: PostgresEncodable {
    public var postgresBind: PostgresBind { PostgresBind(text: self ? "t" : "f") }
}

extension UUID: PostgresEncodable {
    public var postgresBind: PostgresBind { PostgresBind(text: uuidString.lowercased()) }
}

extension Date: PostgresEncodable {
    /// Bound as an ISO 8601 UTC instant with microseconds, PostgreSQL's precision.
    public var postgresBind: PostgresBind { PostgresBind(text: PostgresTimestamp.format(self)) }
}

/// Binary data, sent as `bytea` in binary format so every byte survives.
public struct PostgresBytes: PostgresEncodable, PostgresDecodable, Hashable {
    public var bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public var postgresBind: PostgresBind { PostgresBind(bytes: bytes, format: .binary, oid: 17) }

    public init(postgresText text: String) throws {
        // bytea's text output is hex: \x0a1b...
        guard text.hasPrefix("\\x") else { throw PostgresDecodingFailure("bytea") }
        var bytes: [UInt8] = []
        bytes.reserveCapacity((text.utf8.count - 2) / 2)
        var high: UInt8?
        for c in text.utf8.dropFirst(2) {
            guard let nibble = hexValue(c) else { throw PostgresDecodingFailure("bytea") }
            if let h = high {
                bytes.append(h << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        guard high == nil else { throw PostgresDecodingFailure("bytea") }
        self.bytes = bytes
    }
}

/// A `json`/`jsonb` value, kept as its text.
public struct PostgresJSON: PostgresEncodable, PostgresDecodable, Hashable {
    public var text: String
    public init(text: String) { self.text = text }
    /// Encodes `value` with `JSONEncoder`.
    public init(encoding value: some Encodable) throws {
        self.text = String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
    }
    public func decode<T: Decodable>(as type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(text.utf8))
    }
    public var postgresBind: PostgresBind { PostgresBind(text: text, oid: 3802) }
    public init(postgresText text: String) { self.text = text }
}

extension Array: PostgresEncodable where Element: PostgresArrayElement {
    /// A one-dimensional array literal, every element quoted and escaped.
    public var postgresBind: PostgresBind {
        var out = "{"
        for (i, element) in enumerated() {
            if i > 0 { out += "," }
            if let text = element.postgresArrayText {
                out += "\""
                for ch in text {
                    if ch == "\"" || ch == "\\" { out.append("\\") }
                    out.append(ch)
                }
                out += "\""
            } else {
                out += "NULL"
            }
        }
        out += "}"
        return PostgresBind(text: out)
    }
}

/// An element type of a bindable and decodable one-dimensional array.
public protocol PostgresArrayElement: Sendable {
    var postgresArrayText: String? { get }
    init(postgresText: String) throws
}

extension String: PostgresArrayElement {
    public var postgresArrayText: String? { self }
}

extension UUID: PostgresArrayElement {
    public var postgresArrayText: String? { uuidString.lowercased() }
}

extension Int: PostgresArrayElement {
    public var postgresArrayText: String? { String(self) }
}

extension Date: PostgresArrayElement {
    public var postgresArrayText: String? { PostgresTimestamp.format(self) }
}

/// NULL elements, for batches where some rows have no value (`$1::text[]` with gaps).
extension Optional: PostgresArrayElement where Wrapped: PostgresArrayElement {
    public var postgresArrayText: String? { self?.postgresArrayText }
    public init(postgresText: String) throws { self = try Wrapped(postgresText: postgresText) }
}

extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    public var postgresBind: PostgresBind { self?.postgresBind ?? .null }
}

func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
    default: nil
    }
}
