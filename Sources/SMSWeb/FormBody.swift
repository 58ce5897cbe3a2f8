import Foundation
import Hummingbird

/// An `application/x-www-form-urlencoded` body, as plain HTML forms post it.
struct FormBody: Sendable {
    var fields: [String: String]

    subscript(_ name: String) -> String? { fields[name] }

    /// Reads at most 64 KB; the UI's forms are small.
    static func read(_ request: Request) async throws -> FormBody {
        var request = request
        let buffer = try await request.collectBody(upTo: 64 << 10)
        return parse(String(buffer: buffer))
    }

    static func parse(_ text: String) -> FormBody {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ part: Substring) -> String {
                String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            guard let name = parts.first else { continue }
            fields[decode(name)] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return FormBody(fields: fields)
    }
}
