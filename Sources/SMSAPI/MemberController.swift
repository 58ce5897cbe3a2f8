import Foundation
import Hummingbird
import SMSCore

/// Tenant members: admins see them, owners manage them. A new member is
/// invited: `POST …/members` answers the same whatever the email, and the
/// person joins by accepting the invitation while logged in as that email.
struct MemberController {
    let members: MemberStore

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("tenants/:tenantId/members") { _, context in try await list(context: context) }
        router.post("tenants/:tenantId/members") { request, context in try await invite(request, context: context) }
        router.get("tenants/:tenantId/invitations") { _, context in try await invitations(context: context) }
        router.delete("tenants/:tenantId/invitations/:invitationId") { _, context in try await revoke(context: context) }
        router.post("invitations/:token/accept") { _, context in try await accept(context: context) }
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

    struct InvitationCreated: Encodable {
        let invitation: Invitation
        /// Shown once: the person accepts with `POST /invitations/{token}/accept` while logged in as the email.
        let token: String
        let acceptPath: String
    }

    struct InvitationList: Encodable, ResponseEncodable { let items: [Invitation] }

    func invite(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<InvitationCreated> {
        let access = try context.tenantAccess(minimum: .owner)
        var request = request
        let body = try await request.decodeJSON(as: AddRequest.self, context: context)
        let email = body.email.trimmingCharacters(in: .whitespaces)
        guard (3...254).contains(email.count), email.filter({ $0 == "@" }).count == 1, !email.hasPrefix("@"), !email.hasSuffix("@"),
            !email.contains(where: \.isWhitespace)
        else { throw APIError.invalid("email", "is not an email address") }
        let (invitation, token) = try await members.invite(
            tenantID: access.tenantID, email: email, role: body.role, invitedBy: context.principal?.auditActor.label,
            audit: context.audit(tenantID: access.tenantID, action: "member.invite"))
        return JSONResponse(
            status: .accepted, body: InvitationCreated(invitation: invitation, token: token, acceptPath: "/invitations/\(token)/accept"))
    }

    func invitations(context: AppRequestContext) async throws -> InvitationList {
        let access = try context.tenantAccess(minimum: .admin)
        return InvitationList(items: try await members.pendingInvitations(tenantID: access.tenantID))
    }

    func revoke(context: AppRequestContext) async throws -> Response {
        let access = try context.tenantAccess(minimum: .owner)
        let id = try context.uuidParameter("invitationId", resource: "invitation")
        guard
            try await members.revokeInvitation(
                tenantID: access.tenantID, id: id,
                audit: context.audit(tenantID: access.tenantID, action: "member.invitation_revoke", targetType: "invitation", targetID: id))
        else { throw APIError.notFound("invitation") }
        return Response(status: .noContent)
    }

    /// Only a person (a session, not an API key) can accept, as the invited email.
    func accept(context: AppRequestContext) async throws -> Member {
        let principal = try context.requirePrincipal()
        guard case .user(let email, _) = principal.kind else {
            throw APIError(.forbidden, code: "forbidden", message: "an invitation is accepted by the invited person, logged in")
        }
        let token = context.parameters.get("token") ?? ""
        guard token.count <= 100, let member = try await members.accept(token: token, userID: principal.id, email: email) else {
            throw APIError.notFound("invitation")
        }
        return member
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
        } catch MembershipError.lastOwner {
            throw APIError.conflict("a tenant needs at least one owner; make someone else owner first")
        }
    }
}

extension Member: ResponseEncodable {}
