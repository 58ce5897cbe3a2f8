import Foundation
import Hummingbird
import Postgres
import SMSCore

/// API keys of a tenant (admin and up). The secret is in the creation response only.
struct APIKeyController {
    let identity: IdentityStore

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("tenants/:tenantId/api-keys") { _, context in try await list(context: context) }
        router.post("tenants/:tenantId/api-keys") { request, context in try await create(request, context: context) }
        router.delete("tenants/:tenantId/api-keys/:keyId") { _, context in try await revoke(context: context) }
    }

    struct KeyList: Encodable { let items: [APIKey] }

    struct CreateRequest: Decodable {
        let name: String
        let role: Role
    }

    struct Created: Encodable {
        let apiKey: APIKey
        /// Shown once; only its hash is stored.
        let secret: String
    }

    func list(context: AppRequestContext) async throws -> KeyList {
        let access = try context.tenantAccess(minimum: .admin)
        return KeyList(items: try await identity.listAPIKeys(tenantID: access.tenantID))
    }

    func create(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<Created> {
        let access = try context.tenantAccess(minimum: .admin)
        var request = request
        let body = try await request.decodeJSON(as: CreateRequest.self, context: context)
        let name = body.name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...100).contains(name.count) else { throw APIError.invalid("name", "1 to 100 characters") }
        // Nobody hands out more power than they hold.
        guard body.role <= access.role else { throw APIError.forbidden(body.role.rawValue) }
        let createdBy: String? = if case .user = access.principal.kind { access.principal.id } else { nil }
        let (key, secret) = try await identity.createAPIKey(
            tenantID: access.tenantID, name: name, role: body.role, createdBy: createdBy,
            audit: context.audit(
                tenantID: access.tenantID, action: "api_key.create", targetType: "api_key",
                details: ["name": name, "role": body.role.rawValue]))
        return JSONResponse(status: .created, body: Created(apiKey: key, secret: secret))
    }

    func revoke(context: AppRequestContext) async throws -> APIKey {
        let access = try context.tenantAccess(minimum: .admin)
        let keyID = try context.uuidParameter("keyId", resource: "API key")
        guard
            let key = try await identity.revokeAPIKey(
                tenantID: access.tenantID, keyID: keyID,
                audit: context.audit(tenantID: access.tenantID, action: "api_key.revoke", targetType: "api_key", targetID: keyID))
        else { throw APIError.notFound("API key") }
        return key
    }
}

/// `GET /tenants/{id}/audit`, newest first, paginated.
struct AuditController {
    let postgres: PostgresClient

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("tenants/:tenantId/audit") { request, context in
            let access = try context.tenantAccess(minimum: .viewer)
            let page = try PageRequest(request, ids: .integer)
            return PageBody(try await AuditLog.list(tenantID: access.tenantID, cursor: page.cursor, limit: page.limit, postgres: postgres))
        }
    }
}
