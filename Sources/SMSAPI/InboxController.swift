import Foundation
import Hummingbird
import Postgres
import SMSCore

/// `GET /tenants/{id}/inbox`: the tenant's inbound messages, oldest first,
/// keyset-paginated (viewer and up).
struct InboxController {
    let postgres: PostgresClient

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("tenants/:tenantId/inbox") { request, context in try await list(request, context: context) }
    }

    func list(_ request: Request, context: AppRequestContext) async throws -> PageBody<InboundMessage> {
        let access = try context.tenantAccess(minimum: .viewer)
        let page = try PageRequest(request)
        return PageBody(try await InboundMessage.list(postgres, tenantID: access.tenantID, cursor: page.cursor, limit: page.limit))
    }
}

extension InboundMessage: ResponseEncodable {}
