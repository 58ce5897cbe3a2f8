import Foundation
import Synchronization
import HTTPTypes
import Hummingbird
import NIOHTTP1
import Logging
import Postgres
import Redis
import ConnectionPool
import SMSCore

/// Gives every request an id, answers every error in the JSON error shape, and
/// puts `X-Request-Id` on every response, errors included.
struct RequestIDAndErrorMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    /// Tells a wrong method on a known path (405 with `Allow`) from an unknown path (404).
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.requestID = Self.acceptableID(request.headers[.xRequestID]) ?? UUID().uuidString.lowercased()
        context.logger[metadataKey: "request_id"] = .string(context.requestID)
        if let tenantID = Self.tenantID(inPath: request.uri.path) { context.logger[metadataKey: "tenant_id"] = .string(tenantID) }
        let started = ContinuousClock.now
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            response = Self.errorResponse(error, request: request, context: context)
            if response.status == .notFound {
                let allowed = routes.methods(for: request.uri.path)
                if !allowed.isEmpty, !allowed.contains(request.method.rawValue) {
                    response = APIError(.methodNotAllowed, code: "method_not_allowed", message: "\(request.method) is not allowed here")
                        .response(requestID: context.requestID)
                    response.headers[.allow] = allowed.sorted().joined(separator: ", ")
                }
            }
        }
        response.headers[.xRequestID] = context.requestID
        // One access line per request: the route template, never the raw path or query
        // (a search may carry a phone number).
        let elapsed = ContinuousClock.now - started
        context.logger.info(
            "request",
            metadata: [
                "method": "\(request.method)", "route": "\(context.endpointPath ?? "unmatched")", "status": "\(response.status.code)",
                "duration_ms": "\(elapsed.milliseconds)",
            ])
        return response
    }

    /// The tenant a `/tenants/{id}/…` path is about, for log lines.
    static func tenantID(inPath path: String) -> String? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        guard parts.count >= 2, parts[0] == "tenants", let uuid = UUID(uuidString: String(parts[1])) else { return nil }
        return uuid.uuidString.lowercased()
    }

    /// Keeps a caller's id when it is short and plain, so logs correlate across services.
    static func acceptableID(_ value: String?) -> String? {
        guard let value, (1...128).contains(value.count),
            value.allSatisfy({ $0.isLetter || $0.isNumber || "-_.:".contains($0) }), value.allSatisfy(\.isASCII)
        else { return nil }
        return value
    }

    static func errorResponse(_ error: any Error, request: Request, context: Context) -> Response {
        let apiError: APIError
        switch error {
        case let error as APIError:
            apiError = error
        case let error as any HTTPResponseError:
            // Hummingbird's own refusals: no route, body over the limit (NIOTooManyBytesError), wrong method.
            switch error.status {
            case .notFound:
                apiError = APIError(.notFound, code: "not_found", message: "no route for \(request.method) \(request.uri.path)")
            case .contentTooLarge:
                apiError = APIError(.contentTooLarge, code: "payload_too_large", message: "the request body is too large")
            case .methodNotAllowed:
                apiError = APIError(.methodNotAllowed, code: "method_not_allowed", message: "\(request.method) is not allowed here")
            default:
                let message = (error as? HTTPError)?.body ?? error.status.reasonPhrase
                apiError = APIError(error.status, code: "http_\(error.status.code)", message: message)
            }
        case is ConnectionPoolError, is RedisError:
            context.logger.error("dependency failure", metadata: ["error": "\(error)"])
            apiError = APIError(.serviceUnavailable, code: "unavailable", message: "a backing service is unavailable; retry shortly")
        case let error as PostgresError where error.sqlState == .checkViolation:
            apiError = APIError(
                .unprocessableContent, code: "validation_failed",
                message: "the change breaks a rule of the data: \(error.constraint ?? "a check constraint")",
                details: [error.constraint].compactMap { $0 })
        case let error as PostgresError where error.sqlState == .uniqueViolation:
            apiError = APIError(.conflict, code: "conflict", message: "that already exists", details: [error.constraint].compactMap { $0 })
        case let error as PostgresError where error.sqlState?.rawValue.hasPrefix("22") == true:
            // Class 22, data exception: a value from the request PostgreSQL cannot take
            // (out of range, bad encoding). The client's error; logged so a bug stays visible.
            context.logger.warning("data exception from the database", metadata: ["error": "\(error)"])
            apiError = APIError(.badRequest, code: "bad_request", message: "a value in the request is out of range or not valid")
        case is HTTPParserError:
            // A malformed request (a bad chunk size, a broken header) is the client's error.
            apiError = APIError(.badRequest, code: "bad_request", message: "the request is not valid HTTP")
        case let error as PostgresError where error.code == .connectionFailed || error.code == .connectionLost:
            context.logger.error("database failure", metadata: ["error": "\(error)"])
            apiError = APIError(.serviceUnavailable, code: "unavailable", message: "the database is unavailable; retry shortly")
        default:
            // PostgresError and friends describe themselves without values.
            context.logger.error("unhandled error", metadata: ["error": "\(error)", "type": "\(type(of: error))"])
            apiError = APIError(.internalServerError, code: "internal_error", message: "something went wrong; quote the request id")
        }
        return apiError.response(requestID: context.requestID)
    }
}

extension HTTPField.Name {
    static let xRequestID = HTTPField.Name("X-Request-Id")!
}

/// The router's routes as method and path template, filled once the routes
/// are added (the middleware is built before them).
final class RouteTable: Sendable {
    private let routes = Mutex<[(method: String, segments: [Substring])]>([])

    func load(_ list: [(HTTPRequest.Method, String)]) {
        routes.withLock { $0 = list.map { ($0.0.rawValue, $0.1.split(separator: "/")) } }
    }

    /// The methods the routes that fit `path` best allow: a literal segment
    /// beats a parameter, so `/dnc/bulk` is not also `/dnc/{entryId}`.
    func methods(for path: String) -> Set<String> {
        let parts = path.split(separator: "/")
        return routes.withLock { routes in
            var best = -1
            var methods: Set<String> = []
            for route in routes where route.segments.count == parts.count {
                var literals = 0
                var fits = true
                for (template, part) in zip(route.segments, parts) {
                    if template == part {
                        literals += 1
                    } else if !(template.hasPrefix("{") || template.hasPrefix(":")) {
                        fits = false
                        break
                    }
                }
                guard fits, literals >= best else { continue }
                if literals > best { (best, methods) = (literals, []) }
                methods.insert(route.method)
            }
            return methods
        }
    }
}
