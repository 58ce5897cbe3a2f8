import Foundation
import Hummingbird

/// The error body every route answers with: `{"error": {"code", "message", "details"}}`.
struct APIErrorBody: Encodable {
    struct Payload: Encodable {
        let code: String
        let message: String
        let details: [String]
    }
    let error: Payload
}

/// A JSON response with an explicit status.
struct JSONResponse<Body: Encodable>: ResponseGenerator {
    let status: HTTPResponse.Status
    let body: Body

    init(status: HTTPResponse.Status, body: Body) throws {
        self.status = status
        self.body = body
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = try JSONEncoder().encode(body)
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
