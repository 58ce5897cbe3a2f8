import Foundation
import Hummingbird
import SMSCore

extension Request {
    /// Decodes a JSON body, answering 415 for another content type, 413 past
    /// the context's limit and 400 naming the field for malformed JSON or a
    /// wrong type.
    mutating func decodeJSON<T: Decodable>(as type: T.Type, context: AppRequestContext) async throws -> T {
        let contentType = headers[.contentType]?.lowercased() ?? ""
        guard contentType.hasPrefix("application/json") else {
            throw APIError(.unsupportedMediaType, code: "unsupported_media_type", message: "send the body as application/json")
        }
        let buffer = try await collectBody(upTo: context.maxUploadSize)
        return try Self.decode(T.self, from: Data(buffer: buffer))
    }

    /// A body that may be left out: nil when it is empty, whatever the
    /// Content-Type says (`curl -X POST` and HTTP libraries that label empty
    /// posts as forms); otherwise it must be JSON.
    mutating func decodeOptionalJSON<T: Decodable>(as type: T.Type, context: AppRequestContext) async throws -> T? {
        let buffer = try await collectBody(upTo: context.maxUploadSize)
        let data = Data(buffer: buffer)
        if data.allSatisfy({ [0x20, 0x09, 0x0A, 0x0D].contains($0) }) { return nil }
        guard (headers[.contentType]?.lowercased() ?? "").hasPrefix("application/json") else {
            throw APIError(.unsupportedMediaType, code: "unsupported_media_type", message: "send the body as application/json")
        }
        return try Self.decode(T.self, from: data)
    }

    private static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        // Strict RFC 8259 first (Foundation accepts trailing commas), and no NUL
        // in any string: PostgreSQL cannot store it and text after it was cut.
        do {
            try StrictJSON.check(Array(data))
        } catch {
            switch error {
            case .syntax(let message, let offset):
                throw APIError.badRequest("the body is not valid JSON: \(message) (byte \(offset))")
            case .nul(let field):
                throw APIError.badRequest("\(field) must not contain NUL characters (U+0000)", details: [field])
            }
        }
        do {
            return try APIJSON.decoder.decode(T.self, from: data)
        } catch let error as DecodingError {
            throw APIError.decoding(error)
        } catch let error as APIError {
            throw error
        }
    }
}

extension APIError {
    /// Turns Foundation's decoding errors into a 400 that names the field.
    static func decoding(_ error: DecodingError) -> APIError {
        func path(_ codingPath: [any CodingKey]) -> String {
            let parts = codingPath.map { key in key.intValue.map { "[\($0)]" } ?? key.stringValue.snakeCased }
            return parts.isEmpty ? "body" : parts.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .typeMismatch(let type, let context):
            let field = path(context.codingPath)
            return .badRequest("\(field) must be \(typeName(type))", details: [field])
        case .valueNotFound(let type, let context):
            let field = path(context.codingPath)
            return .badRequest("\(field) must be \(typeName(type)), not null", details: [field])
        case .keyNotFound(let key, let context):
            let field = path(context.codingPath + [key])
            return .badRequest("\(field) is required", details: [field])
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return .badRequest("the body is not valid JSON") }
            let field = path(context.codingPath)
            return .badRequest("\(field) is malformed: \(context.debugDescription)", details: [field])
        @unknown default:
            return .badRequest("the body could not be read")
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type: "an integer"
        case is Bool.Type: "true or false"
        case is Double.Type: "a number"
        default: "a \(type)".lowercased()
        }
    }
}

extension AppRequestContext {
    /// The caller, or 401.
    func requirePrincipal() throws -> Principal {
        guard let principal else { throw APIError.unauthenticated }
        return principal
    }

    /// Checks access to the `:tenantId` in the path: 404 when the caller may not
    /// see the tenant at all (so tenant ids cannot be probed), 403 when their
    /// role is too low.
    func tenantAccess(minimum: Role) throws -> (tenantID: String, principal: Principal, role: Role) {
        let principal = try requirePrincipal()
        guard let raw = parameters.get("tenantId"), let uuid = UUID(uuidString: raw) else { throw APIError.notFound("tenant") }
        let tenantID = uuid.uuidString.lowercased()
        guard let role = principal.role(in: tenantID) else { throw APIError.notFound("tenant") }
        guard role >= minimum else { throw APIError.forbidden(minimum.rawValue) }
        return (tenantID, principal, role)
    }

    /// A path id that must be a UUID; anything else cannot exist (404).
    func uuidParameter(_ name: String, resource: String) throws -> String {
        guard let raw = parameters.get(name), let uuid = UUID(uuidString: raw) else { throw APIError.notFound(resource) }
        return uuid.uuidString.lowercased()
    }

    /// An audit entry for the current caller and request.
    func audit(tenantID: String?, action: String, targetType: String? = nil, targetID: String? = nil, details: [String: String] = [:]) -> AuditEntry {
        AuditEntry(
            tenantID: tenantID, actor: principal?.auditActor ?? AuditActor(type: .system, id: nil, label: nil), action: action,
            targetType: targetType, targetID: targetID, details: details, ip: remoteIP, requestID: requestID)
    }
}

/// `?limit=` and `?cursor=` for listings.
struct PageRequest {
    var limit: Int
    var cursor: PageCursor?

    /// What a listing's rows are keyed by after their time: `uuid` for most, `integer` for the audit log and import rows.
    enum IDKind { case uuid, integer }

    init(_ request: Request, defaultLimit: Int = 50, maximum: Int = 200, ids: IDKind = .uuid) throws {
        let query = request.uri.queryParameters
        if let raw = query.get("limit") {
            guard let value = Int(raw), (1...maximum).contains(value) else {
                throw APIError.badRequest("limit must be an integer from 1 to \(maximum)", details: ["limit"])
            }
            limit = value
        } else {
            limit = defaultLimit
        }
        // An empty cursor is the first page, as if it were left out.
        if let raw = query.get("cursor"), !raw.isEmpty {
            guard let cursor = PageCursor(token: raw), (ids == .uuid) == (UUID(uuidString: cursor.id) != nil) else {
                throw APIError.badRequest("cursor is not one this API returned", details: ["cursor"])
            }
            self.cursor = cursor
        }
    }
}

/// A page as JSON: `{"items": [...], "next_cursor": "..."}`.
struct PageBody<Item: Encodable & Sendable>: Encodable {
    let items: [Item]
    let nextCursor: String?

    init(_ page: Page<Item>) {
        items = page.items
        nextCursor = page.nextCursor
    }
}

// Response bodies encode with the context's encoder (snake_case, ISO dates).
extension PageBody: ResponseGenerator, ResponseEncodable {}
extension APIKey: ResponseEncodable {}
extension Tenant: ResponseEncodable {}
extension APIKeyController.KeyList: ResponseEncodable {}
extension TenantController.TenantList: ResponseEncodable {}
extension TenantController.KillSwitchState: ResponseEncodable {}
extension AuthController.MeResponse: ResponseEncodable {}

extension KeyedDecodingContainer {
    /// nil when the key is absent, `.some(nil)` for an explicit null, else the value:
    /// lets PATCH bodies clear a field without clearing the ones they leave out.
    func decodeNullable<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T?? {
        guard contains(key) else { return nil }
        if try decodeNil(forKey: key) { return .some(nil) }
        return .some(try decode(T.self, forKey: key))
    }
}
