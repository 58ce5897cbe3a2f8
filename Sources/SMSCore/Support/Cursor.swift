import Foundation
import Postgres

/// An opaque pagination cursor: the sort key of the last row a page returned.
///
/// Listings order by (`created_at`, `id`) and continue strictly after the
/// cursor, so rows added while a client pages never shift or repeat a page.
public struct PageCursor: Sendable, Equatable {
    public var createdAt: Date
    public var id: String

    public init(createdAt: Date, id: String) {
        self.createdAt = createdAt
        self.id = id
    }

    /// `microseconds_id`, URL-safe as it is. Plain rather than encoded so the
    /// spec can state exactly which cursors exist (docs/openapi.yaml's
    /// `cursor` pattern): any text matching it is a valid place to continue from.
    public var token: String {
        let micros = Int64((createdAt.timeIntervalSince1970 * 1_000_000).rounded())
        return "\(micros)_\(id)"
    }

    /// Parses a token from ``token`` (or the base64url `microseconds:id` form
    /// earlier versions gave out); nil for anything else.
    public init?(token: String) {
        var text = token
        var separator: Character = "_"
        if !token.contains("_") || token.hasPrefix("_") {
            var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            while base64.count % 4 != 0 { base64 += "=" }
            guard let data = Data(base64Encoded: base64), let decoded = String(data: data, encoding: .utf8) else { return nil }
            text = decoded
            separator = ":"
        }
        guard let mark = text.firstIndex(of: separator), let micros = Int64(text[..<mark]), abs(micros) < 10_000_000_000_000_000
        else { return nil }
        let id = String(text[text.index(after: mark)...])
        guard UUID(uuidString: id) != nil || (Int(id) != nil && !id.hasPrefix("+")) else { return nil }
        self.createdAt = Date(timeIntervalSince1970: Double(micros) / 1_000_000)
        self.id = UUID(uuidString: id).map { $0.uuidString.lowercased() } ?? id
    }
}

/// One page of a listing and where the next one starts.
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    /// nil on the last page.
    public var nextCursor: String?

    public init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }
}

/// A row listed in (`created_at`, `id`) order, so its page cursor derives from it.
public protocol KeysetPaged: Sendable {
    var createdAt: Date { get }
    var id: String { get }
}

extension Page where Item: KeysetPaged {
    /// A page from a query that fetched `limit + 1` rows: the extra row only
    /// says that another page exists, and the cursor comes from the last item kept.
    init(rows: PostgresRows, limit: Int, decode: (PostgresRow) throws -> Item) rethrows {
        let items = try rows.prefix(limit).map(decode)
        let next = rows.count > limit ? items.last.map { PageCursor(createdAt: $0.createdAt, id: $0.id).token } : nil
        self.init(items: items, nextCursor: next)
    }
}
