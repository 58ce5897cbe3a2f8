import Foundation
import Hummingbird
import SMSCore
import SMSWeb

/// `POST /auth/login`, `POST /auth/logout`, `GET /me`.
struct AuthController {
    let identity: IdentityStore
    let tenants: TenantStore
    let throttle: LoginThrottle
    let secureCookies: Bool

    struct LoginRequest: Decodable {
        let email: String
        let password: String
    }

    struct TenantRole: Encodable {
        let id: String
        let name: String
        let role: Role
    }

    struct MeResponse: Encodable {
        let user: User?
        let apiKey: APIKeyInfo?
        let tenants: [TenantRole]
    }

    struct APIKeyInfo: Encodable {
        let id: String
        let prefix: String
        let tenantId: String
    }

    func addRoutes(to router: Router<AppRequestContext>) {
        router.post("auth/login") { request, context in try await login(request, context: context) }
        router.post("auth/logout") { request, context in try await logout(request, context: context) }
        router.get("me") { request, context in try await me(request, context: context) }
    }

    func login(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let body = try await request.decodeJSON(as: LoginRequest.self, context: context)
        let user: User
        let token: String
        switch try await throttle.login(
            identity: identity, email: body.email, password: body.password, ip: context.remoteIP, userAgent: request.headers[.userAgent])
        {
        case .throttled(let wait):
            throw APIError(
                .tooManyRequests, code: "too_many_attempts", message: "too many failed logins; try again in \(wait) s",
                headers: [.retryAfter: String(wait)])
        case .invalidCredentials:
            throw APIError(.unauthorized, code: "invalid_credentials", message: "wrong email or password")
        case .loggedIn(let loggedIn, let issued):
            (user, token) = (loggedIn, issued)
        }
        let memberships = try await identity.memberships(userID: user.id)
        let me = MeResponse(
            user: user, apiKey: nil, tenants: memberships.map { TenantRole(id: $0.tenantId, name: $0.tenantName, role: $0.role) })
        return try JSONResponse(
            status: .ok, body: me,
            headers: [.setCookie: SessionCookie.set(token, maxAge: identity.policy.absolute, secure: secureCookies)]
        ).response(from: request, context: context)
    }

    func logout(_ request: Request, context: AppRequestContext) async throws -> Response {
        if let token = SessionCookie.value(in: request.headers) { try await identity.logout(sessionToken: token) }
        return Response(status: .noContent, headers: [.setCookie: SessionCookie.clear(secure: secureCookies)])
    }

    func me(_ request: Request, context: AppRequestContext) async throws -> MeResponse {
        let principal = try context.requirePrincipal()
        switch principal.kind {
        case .user(let email, let isPlatformAdmin):
            let visible = isPlatformAdmin ? try await tenants.listAll() : try await tenants.list(ids: Array(principal.roles.keys))
            let user = try await identity.findUser(email: email)
            return MeResponse(
                user: user, apiKey: nil,
                tenants: visible.map { TenantRole(id: $0.id, name: $0.name, role: principal.role(in: $0.id) ?? .viewer) })
        case .apiKey(let tenantID, let prefix):
            let visible = try await tenants.list(ids: [tenantID])
            return MeResponse(
                user: nil, apiKey: APIKeyInfo(id: principal.id, prefix: prefix, tenantId: tenantID),
                tenants: visible.map { TenantRole(id: $0.id, name: $0.name, role: principal.role(in: $0.id) ?? .viewer) })
        }
    }
}
