import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Redis
import SMSCore

/// Security headers on every response, and CORS for the configured origins only.
///
/// HSTS only when the public URL is https (a browser ignores it over http,
/// and sending it on a dev stack would pin localhost). The API serves no HTML,
/// so the CSP forbids everything, framing included. The admin UI (SMSWeb) sets its
/// own CSP and `Referrer-Policy: same-origin` on its responses; they are kept.
struct SecurityHeadersMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let https: Bool
    /// Lower-cased allowed origins; empty = CORS off.
    let allowedOrigins: Set<String>

    init(publicBaseURL: String, allowedOrigins: [String]) {
        https = publicBaseURL.lowercased().hasPrefix("https://")
        self.allowedOrigins = Set(allowedOrigins.map { $0.lowercased() })
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let origin = request.headers[.origin].flatMap { allowedOrigins.contains($0.lowercased()) ? $0 : nil }
        var response: Response
        if request.method == .options, let origin, request.headers[.accessControlRequestMethod] != nil {
            // A CORS preflight from an allowed origin.
            response = Response(status: .noContent)
            response.headers[.accessControlAllowMethods] = "GET, POST, PATCH, DELETE, OPTIONS"
            response.headers[.accessControlAllowHeaders] = "Authorization, Content-Type, X-Request-Id"
            response.headers[.accessControlMaxAge] = "600"
            response.headers[.accessControlAllowOrigin] = origin
            response.headers[.accessControlAllowCredentials] = "true"
        } else {
            response = try await next(request, context)
            if let origin {
                response.headers[.accessControlAllowOrigin] = origin
                response.headers[.accessControlAllowCredentials] = "true"
                response.headers[.accessControlExposeHeaders] = "X-Request-Id, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset"
            }
        }
        if !allowedOrigins.isEmpty { response.headers[.vary] = "Origin" }
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        let referrerPolicy = HTTPField.Name("Referrer-Policy")!
        if response.headers[referrerPolicy] == nil { response.headers[referrerPolicy] = "no-referrer" }
        if response.headers[.contentSecurityPolicy] == nil { response.headers[.contentSecurityPolicy] = "default-src 'none'; frame-ancestors 'none'" }
        if https { response.headers[.strictTransportSecurity] = "max-age=31536000; includeSubDomains" }
        return response
    }
}

/// Requests per minute per API key, per user for session (cookie) traffic, and
/// per IP for everything else, counted
/// in Redis so every API replica shares the budget. Answers 429 with
/// Retry-After once the window is used up, and carries `RateLimit-Limit`,
/// `RateLimit-Remaining` and `RateLimit-Reset` on every limited route.
/// Health, readiness, metrics, Twilio's signed webhooks and the UI's static
/// files (`/assets/`, one page load fetches several) are never limited.
/// If Redis does not answer, requests go through (the limit protects the
/// service; it must not take it down).
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let redis: RedisClient
    let perKey: Int
    let perIP: Int
    let logger: Logger

    static let exempt = ["/health", "/ready", "/metrics"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // Routes that take no credential ignore a wrong one.
        let path = request.uri.path
        if Self.exempt.contains(path) || path.hasPrefix("/webhooks/") || path.hasPrefix("/assets/") { return try await next(request, context) }
        return try await limit(request, context: context) { request, context in
            // A wrong bearer key is refused after it has been counted against its address.
            if let rejected = context.rejectedCredential { throw rejected }
            return try await next(request, context)
        }
    }

    private func limit(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let subject: String
        let limit: Int
        if let principal = context.principal, case .apiKey = principal.kind {
            (subject, limit) = ("key:\(principal.id)", perKey)
        } else if let principal = context.principal, context.authenticatedByCookie {
            // Per user, not per IP: an office behind one address must not lock itself out (issue 13).
            (subject, limit) = ("user:\(principal.id)", perIP)
        } else {
            (subject, limit) = ("ip:\(context.remoteIP ?? "unknown")", perIP)
        }
        guard limit > 0 else { return try await next(request, context) }
        let now = Date().timeIntervalSince1970
        let window = Int(now) / 60
        let reset = max(1, (window + 1) * 60 - Int(now))
        let key = "smscrm:ratelimit:\(subject):\(window)"
        let used: Int
        do {
            used = try await redis.pipeline([RedisCommand("INCR", key), RedisCommand("EXPIRE", key, 120)]).first?.int ?? 0
        } catch {
            logger.warning("rate limit unavailable; letting the request through", metadata: ["error": "\(error)"])
            return try await next(request, context)
        }
        var headers = HTTPFields()
        headers[HTTPField.Name("RateLimit-Limit")!] = String(limit)
        headers[HTTPField.Name("RateLimit-Remaining")!] = String(max(0, limit - used))
        headers[HTTPField.Name("RateLimit-Reset")!] = String(reset)
        guard used <= limit else {
            headers[.retryAfter] = String(reset)
            throw APIError(
                .tooManyRequests, code: "rate_limited", message: "too many requests: at most \(limit) a minute; try again in \(reset) s",
                headers: headers)
        }
        var response = try await next(request, context)
        for field in headers { response.headers[field.name] = field.value }
        return response
    }
}
