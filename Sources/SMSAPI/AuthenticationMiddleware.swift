import Foundation
import Hummingbird
import SMSCore
import SMSWeb

/// Resolves the session cookie or `Authorization: Bearer` key into a principal.
///
/// It never refuses anonymous requests (routes decide what needs a login), but
/// it refuses a bearer key that is wrong (401), and a state-changing request
/// authenticated by cookie whose `Origin` (or `Referer`) is another site (403):
/// SameSite=Lax already stops most cross-site posts; this closes the rest.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let identity: IdentityStore
    /// `scheme://host[:port]` of PUBLIC_BASE_URL.
    let publicOrigin: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let authorization = request.headers[.authorization] {
            guard authorization.lowercased().hasPrefix("bearer "),
                let principal = try await identity.principal(apiKey: String(authorization.dropFirst(7)).trimmingCharacters(in: .whitespaces))
            else {
                throw APIError(.unauthorized, code: "invalid_api_key", message: "the API key is unknown, revoked or expired")
            }
            context.principal = principal
        } else if let token = SessionCookie.value(in: request.headers) {
            if let principal = try await identity.principal(sessionToken: token) {
                context.principal = principal
                context.authenticatedByCookie = true
                try checkOrigin(request)
            }
        }
        return try await next(request, context)
    }

    private func checkOrigin(_ request: Request) throws {
        guard ![.get, .head, .options].contains(request.method) else { return }
        let claimed = request.headers[.origin] ?? request.headers[.referer].flatMap(Self.origin(of:))
        if let claimed, claimed.lowercased() != publicOrigin.lowercased() {
            throw APIError(.forbidden, code: "csrf_rejected", message: "cross-site request refused: the Origin does not match this site")
        }
    }

    static func origin(of url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host else {
            return nil
        }
        return "\(scheme)://\(host)" + (components.port.map { ":\($0)" } ?? "")
    }
}
