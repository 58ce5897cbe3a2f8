import Foundation
import Hummingbird

/// An error the API answers with the shape docs/openapi.yaml calls `Error`:
/// `{"error": {"code", "message", "details", "request_id"}}`.
public struct APIError: Error, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var details: [String]
    /// Extra response headers, e.g. Retry-After.
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, code: String, message: String, details: [String] = [], headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers
    }

    public static func notFound(_ what: String) -> APIError {
        APIError(.notFound, code: "not_found", message: "\(what) not found")
    }
    public static let unauthenticated = APIError(
        .unauthorized, code: "unauthenticated", message: "log in or send an API key as Authorization: Bearer …")
    public static func forbidden(_ needed: String) -> APIError {
        APIError(.forbidden, code: "forbidden", message: "this needs the \(needed) role or higher")
    }
    public static func badRequest(_ message: String, details: [String] = []) -> APIError {
        APIError(.badRequest, code: "bad_request", message: message, details: details)
    }
    public static func invalid(_ field: String, _ reason: String) -> APIError {
        APIError(.unprocessableContent, code: "validation_failed", message: "\(field): \(reason)", details: [field])
    }
    public static func conflict(_ message: String) -> APIError {
        APIError(.conflict, code: "conflict", message: message)
    }
}

struct ErrorBody: Encodable {
    struct Payload: Encodable {
        let code: String
        let message: String
        let details: [String]
        let requestId: String
    }
    let error: Payload
}

extension APIError {
    func response(requestID: String) -> Response {
        let body = ErrorBody(error: .init(code: code, message: message, details: details, requestId: requestID))
        let data = (try? APIJSON.encoder.encode(body)) ?? Data(#"{"error":{"code":"internal_error"}}"#.utf8)
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// A JSON response with an explicit status, encoded with the API's conventions.
struct JSONResponse<Body: Encodable>: ResponseGenerator {
    let status: HTTPResponse.Status
    let body: Body
    var headers: HTTPFields = [:]

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(
            status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: try APIJSON.encoder.encode(body))))
    }
}
