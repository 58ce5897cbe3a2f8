import Foundation
import Hummingbird
import SMSCore

/// Tenant members: admins see them, owners manage them.
struct MemberController {
    let members: MemberStore

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("tenants/:tenantId/members") { _, context in try await list(context: context) }
        router.post("tenants/:tenantId/members") { request, context in try await add(request, context: context) }
        router.patch("tenants/:tenantId/members/:userId") { request, context in try await update(request, context: context) }
        router.delete("tenants/:tenantId/members/:userId") { _, context in try await remove(context: context) }
    }

    struct MemberList: Encodable, ResponseEncodable { let items: [Member] }

    struct AddRequest: Decodable {
        let email: String
        let role: Role
    }

    struct RoleRequest: Decodable {
        let role: Role
    }

    func list(context: AppRequestContext) async throws -> MemberList {
        let access = try context.tenantAccess(minimum: .admin)
        return MemberList(items: try await members.list(tenantID: access.tenantID))
    }

    func add(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<Member> {
        let access = try context.tenantAccess(minimum: .owner)
        var request = request
        let body = try await request.decodeJSON(as: AddRequest.self, context: context)
        let member = try await mapped {
            try await members.add(
                tenantID: access.tenantID, email: body.email, role: body.role,
                audit: context.audit(tenantID: access.tenantID, action: "member.add", targetType: "user"))
        }
        return JSONResponse(status: .created, body: member)
    }

    func update(_ request: Request, context: AppRequestContext) async throws -> Member {
        let access = try context.tenantAccess(minimum: .owner)
        let userID = try context.uuidParameter("userId", resource: "member")
        var request = request
        let body = try await request.decodeJSON(as: RoleRequest.self, context: context)
        let member = try await mapped {
            try await members.update(
                tenantID: access.tenantID, userID: userID, role: body.role,
                audit: context.audit(tenantID: access.tenantID, action: "member.update", targetType: "user", targetID: userID))
        }
        guard let member else { throw APIError.notFound("member") }
        return member
    }

    func remove(context: AppRequestContext) async throws -> Response {
        let access = try context.tenantAccess(minimum: .owner)
        let userID = try context.uuidParameter("userId", resource: "member")
        let removed = try await mapped {
            try await members.remove(
                tenantID: access.tenantID, userID: userID,
                audit: context.audit(tenantID: access.tenantID, action: "member.remove", targetType: "user", targetID: userID))
        }
        guard removed else { throw APIError.notFound("member") }
        return Response(status: .noContent)
    }

    private func mapped<T>(_ work: () async throws -> T) async throws -> T {
        do {
            return try await work()
        } catch MembershipError.noSuchUser {
            throw APIError.invalid("email", "no user has this email; an operator creates users with `smscrm user create`")
        } catch MembershipError.lastOwner {
            throw APIError.conflict("a tenant needs at least one owner; make someone else owner first")
        }
    }
}

extension Member: ResponseEncodable {}
