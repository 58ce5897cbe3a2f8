import Foundation

/// Why a campaign body could not be used as a template.
///
/// Each case names what the author has to change; offsets are in characters
/// from the start of the template so an editor can point at the spot.
public enum MessageTemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The template is empty or only whitespace.
    case emptyTemplate
    /// The template is longer than ``MessageSegments/maximumBodyCharacters`` (UTF-16 code units).
    case tooLong(length: Int, maximum: Int)
    /// A `{{` is never closed by `}}` (or another `{{` opens before it closes).
    case unclosedPlaceholder(offset: Int)
    /// A `}}` appears without an opening `{{`.
    case strayClosingBraces(offset: Int)
    /// `{{ }}` or `{{ |fallback }}`: a placeholder without a name.
    case emptyPlaceholder(offset: Int)
    /// The name is not `[a-z_][a-z0-9_]*`, optionally dotted once (`attributes.some_key`).
    case malformedPlaceholder(name: String, offset: Int)
    /// The name is well formed but not one this template may use; `allowed` is sorted.
    case unknownPlaceholder(name: String, allowed: [String])

    public var description: String {
        switch self {
        case .emptyTemplate:
            "The message is empty."
        case .tooLong(let length, let maximum):
            "The message is \(length) characters long; the limit is \(maximum)."
        case .unclosedPlaceholder(let offset):
            "The placeholder opened with {{ at character \(offset) is not closed with }}."
        case .strayClosingBraces(let offset):
            "}} at character \(offset) closes no placeholder."
        case .emptyPlaceholder(let offset):
            "The placeholder at character \(offset) has no name."
        case .malformedPlaceholder(let name, let offset):
            "The placeholder {{\(name)}} at character \(offset) is not a valid name: "
                + "use lowercase letters, digits and underscores, like {{first_name}} or {{attributes.plan}}."
        case .unknownPlaceholder(let name, let allowed):
            "Unknown placeholder {{\(name)}}. Allowed: \(allowed.map { "{{\($0)}}" }.joined(separator: ", "))."
        }
    }
}

/// A campaign body with `{{ name }}` placeholders, checked once and rendered per contact.
///
/// Syntax: `{{name}}` or `{{ name }}`; `{{ name | fallback }}` renders `fallback`
/// when the contact has no value (so "Hi {{first_name|there}}" never becomes "Hi ,").
/// Names are `[a-z_][a-z0-9_]*`, or `prefix.key` with the same grammar on both sides,
/// for custom contact attributes such as `attributes.store`. A single `{` or `}` is
/// ordinary text; only the doubled forms are syntax.
public struct MessageTemplate: Sendable, Equatable {
    /// The placeholders every contact can fill: the contact columns plus any custom attribute.
    public static let standardPlaceholders: Set<String> = ["first_name", "last_name", "email", "phone", "attributes.*"]

    /// The template text as written.
    public let source: String

    /// The placeholder names in order of first use, each once.
    public let placeholders: [String]

    /// Whether any placeholder is a custom attribute (`attributes.…`).
    public var readsAttributes: Bool { placeholders.contains { $0.hasPrefix("attributes.") } }

    private let parts: [Part]

    private enum Part: Sendable, Equatable {
        case text(String)
        case placeholder(name: String, fallback: String?)
    }

    /// Parses and checks `source`.
    ///
    /// - Parameter allowedPlaceholders: the names this template may use. An entry ending
    ///   in `.*` allows every `prefix.key`; `"attributes.*"` allows `attributes.plan`,
    ///   `attributes.store` and so on, since custom attributes vary per tenant.
    /// - Throws: the first problem found, scanning left to right (emptiness and length first).
    public init(_ source: String, allowedPlaceholders: Set<String>) throws(MessageTemplateError) {
        if source.allSatisfy(\.isWhitespace) {
            throw .emptyTemplate
        }
        // UTF-16 length, like the body limit itself: see MessageSegments.maximumBodyCharacters.
        let length = source.utf16.count
        if length > MessageSegments.maximumBodyCharacters {
            throw .tooLong(length: length, maximum: MessageSegments.maximumBodyCharacters)
        }

        var parts: [Part] = []
        var names: [String] = []
        var text = ""
        var index = source.startIndex
        func offset(of position: String.Index) -> Int { source.distance(from: source.startIndex, to: position) }

        while index < source.endIndex {
            let rest = source[index...]
            if rest.hasPrefix("}}") {
                throw .strayClosingBraces(offset: offset(of: index))
            }
            guard rest.hasPrefix("{{") else {
                text.append(source[index])
                index = source.index(after: index)
                continue
            }
            let open = index
            let contentStart = source.index(open, offsetBy: 2)
            let content = source[contentStart...]
            guard let close = content.range(of: "}}") else {
                throw .unclosedPlaceholder(offset: offset(of: open))
            }
            let inner = source[contentStart..<close.lowerBound]
            if inner.contains("{{") {
                throw .unclosedPlaceholder(offset: offset(of: open))
            }

            let (name, fallback) = Self.splitPlaceholder(inner)
            if name.isEmpty {
                throw .emptyPlaceholder(offset: offset(of: open))
            }
            guard Self.isWellFormed(name) else {
                throw .malformedPlaceholder(name: name, offset: offset(of: open))
            }
            guard Self.isAllowed(name, by: allowedPlaceholders) else {
                throw .unknownPlaceholder(name: name, allowed: allowedPlaceholders.sorted())
            }

            if !text.isEmpty {
                parts.append(.text(text))
                text = ""
            }
            parts.append(.placeholder(name: name, fallback: fallback))
            if !names.contains(name) {
                names.append(name)
            }
            index = close.upperBound
        }
        if !text.isEmpty {
            parts.append(.text(text))
        }

        self.source = source
        self.placeholders = names
        self.parts = parts
    }

    /// Fills the placeholders from `values`, keyed by placeholder name (`"attributes.plan"` included).
    ///
    /// A value that is missing, empty or only whitespace renders the placeholder's fallback,
    /// or nothing when it has none: a campaign must still go out to contacts with gaps in
    /// their data, and the fallback syntax is how authors avoid "Hi ,". Values are inserted
    /// verbatim; measure the result with ``MessageSegments/calculate(_:)``, since a value
    /// with a smart quote or emoji turns the whole message into UCS-2.
    public func render(_ values: [String: String]) -> String {
        var output = ""
        for part in parts {
            switch part {
            case .text(let text):
                output += text
            case .placeholder(let name, let fallback):
                if let value = values[name], !value.allSatisfy(\.isWhitespace) {
                    output += value
                } else {
                    output += fallback ?? ""
                }
            }
        }
        return output
    }

    /// Splits `name | fallback` at the first `|`, trimming spaces around both halves.
    ///
    /// An empty fallback (`{{first_name|}}`) means the same as none.
    private static func splitPlaceholder(_ inner: Substring) -> (name: String, fallback: String?) {
        guard let bar = inner.firstIndex(of: "|") else {
            return (trimmed(inner), nil)
        }
        let fallback = trimmed(inner[inner.index(after: bar)...])
        return (trimmed(inner[..<bar]), fallback.isEmpty ? nil : fallback)
    }

    private static func trimmed(_ text: Substring) -> String {
        text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `[a-z_][a-z0-9_]*`, optionally followed by one `.` and another such identifier.
    private static func isWellFormed(_ name: String) -> Bool {
        let pieces = name.split(separator: ".", omittingEmptySubsequences: false)
        guard pieces.count <= 2 else { return false }
        return pieces.allSatisfy { piece in
            guard let first = piece.unicodeScalars.first, first == "_" || ("a"..."z").contains(first) else {
                return false
            }
            return piece.unicodeScalars.allSatisfy { $0 == "_" || ("a"..."z").contains($0) || ("0"..."9").contains($0) }
        }
    }

    private static func isAllowed(_ name: String, by allowed: Set<String>) -> Bool {
        if allowed.contains(name) {
            return true
        }
        guard let dot = name.firstIndex(of: ".") else { return false }
        return allowed.contains(name[..<dot] + ".*")
    }
}
