import Foundation

/// Checks a request body against RFC 8259's grammar before it is decoded,
/// and finds NUL characters, naming the field they are in.
///
/// Hand-written because Foundation's JSONDecoder accepts more than JSON
/// (`{"name":"x",}` was created; issue 12), and no package on the mirror
/// offers a strict validator for Swift on Linux. One pass, no allocation
/// beyond the key path; nesting is bounded so a deep body cannot exhaust the stack.
enum StrictJSON {
    enum Problem: Error, Equatable {
        /// Not JSON: what was wrong, at which byte.
        case syntax(String, offset: Int)
        /// A string holds U+0000 (PostgreSQL cannot store it, and text after it is
        /// silently cut): the field's path, `name` or `contacts[2].first_name`.
        case nul(field: String)
    }

    static let maxDepth = 64

    static func check(_ bytes: [UInt8]) throws(Problem) {
        var parser = Parser(bytes: bytes)
        parser.skipWhitespace()
        try parser.value(depth: 0)
        parser.skipWhitespace()
        if parser.index != bytes.count { throw .syntax("unexpected text after the JSON value", offset: parser.index) }
        if let nul = parser.nulField { throw .nul(field: nul) }
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0
        /// Keys and indexes down to the current value.
        var path: [String] = []
        /// The first field found holding a NUL.
        var nulField: String?

        init(bytes: [UInt8]) { self.bytes = bytes }

        var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipWhitespace() {
            while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
        }

        func fail(_ message: String) -> Problem { .syntax(message, offset: index) }

        mutating func value(depth: Int) throws(Problem) {
            guard depth <= StrictJSON.maxDepth else { throw fail("nested deeper than \(StrictJSON.maxDepth) levels") }
            guard let byte = current else { throw fail("the body ends where a value was expected") }
            switch byte {
            case UInt8(ascii: "{"): try object(depth: depth)
            case UInt8(ascii: "["): try array(depth: depth)
            case UInt8(ascii: "\""): _ = try string(isKey: false)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
            case UInt8(ascii: "t"): try literal("true")
            case UInt8(ascii: "f"): try literal("false")
            case UInt8(ascii: "n"): try literal("null")
            default: throw fail("unexpected character where a value was expected")
            }
        }

        mutating func object(depth: Int) throws(Problem) {
            index += 1
            skipWhitespace()
            if current == UInt8(ascii: "}") {
                index += 1
                return
            }
            while true {
                guard current == UInt8(ascii: "\"") else { throw fail("expected a quoted key") }
                let key = try string(isKey: true)
                skipWhitespace()
                guard current == UInt8(ascii: ":") else { throw fail("expected ':' after a key") }
                index += 1
                skipWhitespace()
                path.append(key)
                try value(depth: depth + 1)
                path.removeLast()
                skipWhitespace()
                switch current {
                case UInt8(ascii: ","):
                    index += 1
                    skipWhitespace()
                    if current == UInt8(ascii: "}") { throw fail("a comma before '}' (trailing commas are not JSON)") }
                case UInt8(ascii: "}"):
                    index += 1
                    return
                default:
                    throw fail("expected ',' or '}' in an object")
                }
            }
        }

        mutating func array(depth: Int) throws(Problem) {
            index += 1
            skipWhitespace()
            if current == UInt8(ascii: "]") {
                index += 1
                return
            }
            var position = 0
            while true {
                path.append("[\(position)]")
                try value(depth: depth + 1)
                path.removeLast()
                position += 1
                skipWhitespace()
                switch current {
                case UInt8(ascii: ","):
                    index += 1
                    skipWhitespace()
                    if current == UInt8(ascii: "]") { throw fail("a comma before ']' (trailing commas are not JSON)") }
                case UInt8(ascii: "]"):
                    index += 1
                    return
                default:
                    throw fail("expected ',' or ']' in an array")
                }
            }
        }

        /// A string; returns its text as written (escapes kept: it only names fields).
        mutating func string(isKey: Bool) throws(Problem) -> String {
            index += 1
            let start = index
            var hasNUL = false
            while true {
                guard let byte = current else { throw fail("a string is not closed") }
                switch byte {
                case UInt8(ascii: "\""):
                    let text = String(decoding: bytes[start..<index], as: UTF8.self)
                    index += 1
                    if hasNUL, nulField == nil { nulField = Self.name(isKey ? path + [text] : path) }
                    return text
                case UInt8(ascii: "\\"):
                    index += 1
                    guard let escaped = current else { throw fail("a string is not closed") }
                    switch escaped {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"),
                        UInt8(ascii: "r"), UInt8(ascii: "t"):
                        index += 1
                    case UInt8(ascii: "u"):
                        guard index + 4 < bytes.count, bytes[(index + 1)...(index + 4)].allSatisfy(Self.isHex) else {
                            throw fail("\\u must be followed by four hex digits")
                        }
                        if bytes[(index + 1)...(index + 4)].allSatisfy({ $0 == UInt8(ascii: "0") }) { hasNUL = true }
                        index += 5
                    default:
                        throw fail("unknown escape in a string")
                    }
                case 0x00:
                    // Not JSON either, but said as what it is, with the field.
                    hasNUL = true
                    index += 1
                case 0x01..<0x20:
                    throw fail("a control character in a string must be escaped")
                default:
                    index += 1
                }
            }
        }

        mutating func number() throws(Problem) {
            if current == UInt8(ascii: "-") { index += 1 }
            guard let first = current, Self.isDigit(first) else { throw fail("a number needs a digit") }
            index += 1
            if first != UInt8(ascii: "0") {
                while let byte = current, Self.isDigit(byte) { index += 1 }
            } else if let byte = current, Self.isDigit(byte) {
                throw fail("a number may not start with 0")
            }
            if current == UInt8(ascii: ".") {
                index += 1
                guard let byte = current, Self.isDigit(byte) else { throw fail("a digit must follow the decimal point") }
                while let byte = current, Self.isDigit(byte) { index += 1 }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                index += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
                guard let byte = current, Self.isDigit(byte) else { throw fail("an exponent needs a digit") }
                while let byte = current, Self.isDigit(byte) { index += 1 }
            }
        }

        mutating func literal(_ word: String) throws(Problem) {
            let expected = Array(word.utf8)
            guard index + expected.count <= bytes.count, Array(bytes[index..<(index + expected.count)]) == expected else {
                throw fail("unexpected word (true, false and null are the only ones)")
            }
            index += expected.count
        }

        static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
        static func isHex(_ byte: UInt8) -> Bool {
            isDigit(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte)
        }

        /// `a.b[2].c`, or `body` for the top level.
        static func name(_ path: [String]) -> String {
            guard !path.isEmpty else { return "body" }
            var name = ""
            for part in path {
                if part.hasPrefix("[") { name += part } else { name += name.isEmpty ? part : "." + part }
            }
            return name
        }
    }
}
