import Foundation
import Hummingbird
import SMSCore
import SMSWeb

/// Resolves the session cookie or `Authorization: Bearer` key into a principal.
///
/// It never refuses anonymous requests (routes decide what needs a login), but
/// it marks a bearer key that is wrong (the rate limiter counts it against the
/// address, then it is a 401), and refuses a state-changing request
/// authenticated by cookie whose `Origin` (or `Referer`) is neither this site
/// nor an allowed CORS origin (403): SameSite=Lax already stops most
/// cross-site posts; this closes the rest.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let identity: IdentityStore
    /// Origins (`scheme://host[:port]`, normalised) whose cookie writes are
    /// accepted: PUBLIC_BASE_URL's and the CORS allowlist's.
    let trustedOrigins: Set<String>

    init(identity: IdentityStore, publicBaseURL: String, allowedOrigins: [String]) {
        self.identity = identity
        trustedOrigins = Set(([publicBaseURL] + allowedOrigins).compactMap(Self.origin(of:)))
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let authorization = request.headers[.authorization] {
            if authorization.lowercased().hasPrefix("bearer "),
                let principal = try await identity.principal(apiKey: String(authorization.dropFirst(7)).trimmingCharacters(in: .whitespaces))
            {
                context.principal = principal
            } else {
                context.rejectedCredential = APIError(.unauthorized, code: "invalid_api_key", message: "the API key is unknown, revoked or expired")
            }
        } else if let token = SessionCookie.value(in: request.headers) {
            if let principal = try await identity.principal(sessionToken: token) {
                context.principal = principal
                context.authenticatedByCookie = true
                try checkOrigin(request)
            }
        }
        return try await next(request, context)
    }

    /// Compares parsed origins; an `Origin` or `Referer` that does not parse is
    /// refused (issue 12: `Referer: http://127.0.0.1:PORT.evil.example/x`
    /// passed because it parsed to nothing). A request with neither header
    /// (a non-browser client) is let through, as SameSite cookies do.
    private func checkOrigin(_ request: Request) throws {
        guard ![.get, .head, .options].contains(request.method) else { return }
        guard let claimed = request.headers[.origin] ?? request.headers[.referer] else { return }
        guard let origin = Self.origin(of: claimed), trustedOrigins.contains(origin) else {
            throw APIError(.forbidden, code: "csrf_rejected", message: "cross-site request refused: the Origin does not match this site")
        }
    }

    /// `scheme://host[:port]`, lower-cased, the default port left out; nil for
    /// anything that is not an absolute http(s) URL with a host and a numeric port.
    static func origin(of url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(), ["http", "https"].contains(scheme),
            let host = components.host?.lowercased(), !host.isEmpty
        else { return nil }
        // URLComponents reads "host:3000.evil.example" as a host with no port; a colon left in the host is no origin.
        guard !host.contains(":") || host.hasPrefix("[") else { return nil }
        let port = components.port.flatMap { (scheme == "http" && $0 == 80) || (scheme == "https" && $0 == 443) ? nil : $0 }
        return "\(scheme)://\(host)" + (port.map { ":\($0)" } ?? "")
    }
}
