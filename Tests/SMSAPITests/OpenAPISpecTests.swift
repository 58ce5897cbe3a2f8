import Foundation
import Testing
import TestSupport
import Yams

/// docs/openapi.yaml read by a real YAML parser. ``OpenAPIRoutesTests`` reads it
/// by lines, which cannot see that a flow map with an unquoted comma
/// (`{type: integer, description: After a pause, sends …}`) parses as a map with
/// a stray, empty key — as `PlatformState` did.
@Suite("OpenAPI document")
struct OpenAPISpecTests {
    struct SpecError: Error, CustomStringConvertible {
        let description: String
    }

    /// The parsed document; duplicate keys are an error here too (Yams refuses them).
    static func spec() throws -> Node {
        let text = try String(contentsOfFile: TestEnvironment.packageRoot + "/docs/openapi.yaml", encoding: .utf8)
        guard let root = try Yams.compose(yaml: text) else { throw SpecError(description: "docs/openapi.yaml is empty") }
        return root
    }

    /// Every mapping entry of `node` and below, with its JSON-pointer-like path (`/components/schemas/Tenant`).
    static func entries(of node: Node, at path: String = "") -> [(path: String, value: Node)] {
        switch node {
        case .mapping(let mapping):
            mapping.flatMap { key, value in
                let here = path + "/" + (key.string ?? "?")
                return [(here, value)] + entries(of: value, at: here)
            }
        case .sequence(let sequence):
            sequence.enumerated().flatMap { index, item in entries(of: item, at: path + "/\(index)") }
        case .scalar, .alias:
            []
        }
    }

    /// The node a local reference (`#/components/schemas/Tenant`) names, if any.
    static func resolve(_ reference: String, in root: Node) -> Node? {
        guard reference.hasPrefix("#/") else { return nil }
        var node: Node? = root
        for token in reference.dropFirst(2).split(separator: "/", omittingEmptySubsequences: false) {
            let key = token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            node = node?.mapping?[key]
        }
        return node
    }

    @Test("docs/openapi.yaml is a YAML mapping with openapi, paths and components.schemas")
    func documentHasTheTopLevelParts() throws {
        let root = try Self.spec()

        #expect(root.mapping != nil)
        #expect(root["openapi"]?.string?.hasPrefix("3.") == true)
        #expect(root["paths"]?.mapping?.isEmpty == false)
        #expect(root["components"]?["schemas"]?.mapping?.isEmpty == false)
    }

    @Test("every $ref in docs/openapi.yaml points to an existing components entry")
    func everyReferenceResolves() throws {
        let root = try Self.spec()

        let references = Self.entries(of: root).filter { $0.path.hasSuffix("/$ref") }
        let broken = references.compactMap { entry -> String? in
            guard let target = entry.value.string else { return "\(entry.path) is not a string" }
            guard target.hasPrefix("#/components/"), Self.resolve(target, in: root) != nil else { return "\(entry.path): \(target)" }
            return nil
        }

        #expect(!references.isEmpty)
        #expect(broken == [])
    }

    @Test("no key in docs/openapi.yaml is left without a value, as an unquoted comma in a flow map leaves one")
    func noKeyIsEmpty() throws {
        let root = try Self.spec()

        let empty = Self.entries(of: root).filter { $0.value.null != nil }.map(\.path)

        #expect(empty == [])
    }
}
