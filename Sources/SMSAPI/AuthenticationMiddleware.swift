import Foundation
import Hummingbird
import SMSCore

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

/// The `session_id` cookie.
enum SessionCookie {
    static let name = "session_id"

    static func value(in headers: HTTPFields) -> String? {
        for header in headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if parts.count == 2, parts[0] == name, !parts[1].isEmpty { return parts[1] }
            }
        }
        return nil
    }

    /// HttpOnly and SameSite=Lax always; Secure when the site is served over https.
    static func set(_ token: String, maxAge: Duration, secure: Bool) -> String {
        "\(name)=\(token); Path=/; Max-Age=\(maxAge.components.seconds); HttpOnly; SameSite=Lax" + (secure ? "; Secure" : "")
    }

    static func clear(secure: Bool) -> String {
        "\(name)=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax" + (secure ? "; Secure" : "")
    }
}
