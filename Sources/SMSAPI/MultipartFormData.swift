import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A `multipart/form-data` body (RFC 7578), split into parts without copying them.
struct MultipartFormData {
    struct Part {
        var name: String
        var filename: String?
        var contentType: String?
        /// The part's body within the parsed bytes.
        var body: Range<Int>
    }

    struct Malformed: Error {
        let reason: String
    }

    var parts: [Part]

    /// The `boundary` parameter of a `multipart/form-data` content type.
    static func boundary(fromContentType contentType: String) -> String? {
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, pair[0].lowercased() == "boundary" else { continue }
            var value = pair[1]
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            return (1...70).contains(value.utf8.count) ? value : nil
        }
        return nil
    }

    init(parsing bytes: [UInt8], boundary: String) throws(Malformed) {
        let delimiter = Array("--\(boundary)".utf8)
        let crlfDelimiter = [13, 10] + delimiter
        // The first delimiter may be preceded by a preamble; later ones follow a CRLF.
        guard var cursor = Self.find(delimiter, in: bytes, from: 0) else { throw Malformed(reason: "no boundary found") }
        cursor += delimiter.count
        var parts: [Part] = []
        while true {
            // "--" after a delimiter ends the body; otherwise a CRLF starts the part's headers.
            if cursor + 1 < bytes.count, bytes[cursor] == 45, bytes[cursor + 1] == 45 { break }
            while cursor < bytes.count, bytes[cursor] == 32 || bytes[cursor] == 9 { cursor += 1 }  // transport padding
            guard cursor + 1 < bytes.count, bytes[cursor] == 13, bytes[cursor + 1] == 10 else {
                throw Malformed(reason: "a boundary is not followed by a line break")
            }
            cursor += 2
            // From the boundary line's own CRLF, so a part without headers is found too.
            guard let headersEnd = Self.find([13, 10, 13, 10], in: bytes, from: cursor - 2) else {
                throw Malformed(reason: "a part's headers never end")
            }
            let headerText = String(decoding: bytes[cursor..<max(cursor, headersEnd)], as: UTF8.self)
            let bodyStart = headersEnd + 4
            guard let bodyEnd = Self.find(crlfDelimiter, in: bytes, from: bodyStart - 2) else {
                throw Malformed(reason: "the closing boundary is missing")
            }
            var part = Part(name: "", filename: nil, contentType: nil, body: bodyStart..<max(bodyStart, bodyEnd))
            for line in headerText.components(separatedBy: "\r\n") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
                let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                if name == "content-disposition" {
                    let parameters = Self.parameters(of: value)
                    part.name = parameters["name"] ?? ""
                    part.filename = parameters["filename"]
                } else if name == "content-type" {
                    part.contentType = value
                }
            }
            guard !part.name.isEmpty else { throw Malformed(reason: "a part has no Content-Disposition name") }
            parts.append(part)
            cursor = bodyEnd + crlfDelimiter.count
        }
        self.parts = parts
    }

    func part(named name: String) -> Part? { parts.first { $0.name == name } }

    /// `form-data; name="file"; filename="a.csv"` → ["name": "file", "filename": "a.csv"].
    static func parameters(of value: String) -> [String: String] {
        var result: [String: String] = [:]
        var scalars = Substring(value)
        // Skip the disposition type.
        guard let semicolon = scalars.firstIndex(of: ";") else { return result }
        scalars = scalars[scalars.index(after: semicolon)...]
        while !scalars.isEmpty {
            scalars = scalars.drop { $0 == " " || $0 == "\t" || $0 == ";" }
            guard let equals = scalars.firstIndex(of: "=") else { break }
            let key = scalars[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            scalars = scalars[scalars.index(after: equals)...]
            var text = ""
            if scalars.first == "\"" {
                scalars = scalars.dropFirst()
                var escaped = false
                while let ch = scalars.first {
                    scalars = scalars.dropFirst()
                    if escaped {
                        text.append(ch)
                        escaped = false
                    } else if ch == "\\" {
                        escaped = true
                    } else if ch == "\"" {
                        break
                    } else {
                        text.append(ch)
                    }
                }
            } else {
                let end = scalars.firstIndex(of: ";") ?? scalars.endIndex
                text = scalars[..<end].trimmingCharacters(in: .whitespaces)
                scalars = scalars[end...]
            }
            if result[key] == nil { result[key] = text }
        }
        return result
    }

    /// Offset of the first occurrence of `needle` at or after `start`; memchr
    /// finds candidates, so a 50 MB part is scanned at memory speed.
    static func find(_ needle: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard let first = needle.first, start >= 0 else { return nil }
        return bytes.withUnsafeBufferPointer { buffer -> Int? in
            guard let base = buffer.baseAddress else { return nil }
            var i = start
            while i + needle.count <= buffer.count {
                guard let hit = memchr(base + i, Int32(first), buffer.count - i - needle.count + 1) else { return nil }
                let offset = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                if memcmp(base + offset, needle, needle.count) == 0 { return offset }
                i = offset + 1
            }
            return nil
        }
    }
}
