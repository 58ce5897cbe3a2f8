import Curl
import Foundation
import Hummingbird
import SMSCore

/// The sandbox's own controls under `/_sandbox/`. They need no Twilio auth and
/// are served only on the sandbox's address (`SANDBOX_HOST`, 127.0.0.1 by default).
///
/// - `GET /_sandbox/faults`, `POST /_sandbox/faults` (a partial JSON change,
///   see ``SandboxFaults`` for the names), `DELETE /_sandbox/faults` (back to the
///   start-up faults);
/// - `POST /_sandbox/inbound` `{"from", "to", "body", "url"?}`: a signed inbound
///   message to `url` (default `SANDBOX_INBOUND_URL`), answering with the
///   webhook's status and body;
/// - `GET /_sandbox/messages`: messages oldest first, a page at a time, as
///   `{"messages": […], "next_cursor": "…" | null}`. Query: `to` and `from`
///   (E.164; a `+` sent unescaped is read as meant), `since` (RFC 3339, with or
///   without fractional seconds: created at or after it, to the millisecond),
///   `limit` (default 100, at most 1000) and `cursor` (or `page_token`): the
///   previous page's `next_cursor`, null on the last page. Each message is
///   Twilio's JSON plus `created_at`, `updated_at` and `sent_at` in RFC 3339 with
///   milliseconds. A bad parameter answers 400 naming every bad one in `details`;
/// - `DELETE /_sandbox/messages` (forget messages and counters);
/// - `GET /_sandbox/stats`: messages by status, requests and callbacks by outcome.
extension TwilioSandbox {
    func addAdminRoutes(to admin: RouterGroup<some RequestContext>) {
        admin.get("faults") { _, _ in jsonResponse(.ok, faults.current.json) }
        admin.post("faults") { request, context in
            guard case .success(let patch) = await decode([String: JSONValue].self, from: request) else {
                return AdminError.response(.badRequest, code: "bad_request", message: "expected a JSON object of faults")
            }
            switch Result(catching: { () throws(SandboxFaults.Invalid) in try faults.apply(patch) }) {
            case .success(let applied):
                return jsonResponse(.ok, applied.json)
            case .failure(let error):
                return AdminError.response(
                    .unprocessableContent, code: "invalid", message: "\(error.field) \(error.reason)",
                    details: [["field": error.field, "reason": error.reason]])
            }
        }
        admin.delete("faults") { _, _ in
            faults.reset()
            return jsonResponse(.ok, faults.current.json)
        }
        admin.post("inbound") { request, context in
            try await inbound(request)
        }
        admin.get("messages") { request, _ in
            switch AdminMessageQuery.parse(request.uri.query ?? "") {
            case .failure(let invalid):
                return AdminError.response(.badRequest, code: "bad_request", message: "the message listing's query is invalid", details: invalid.details)
            case .success(let query):
                let page = await store.adminPage(matching: query.filter, afterSequence: query.afterSequence, limit: query.limit)
                return jsonResponse(.ok, AdminMessagePage(page))
            }
        }
        admin.delete("messages") { _, _ in
            await store.removeAll()
            counters.reset()
            return Response(status: .noContent)
        }
        admin.get("stats") { _, _ in
            let byStatus = await store.countsByStatus()
            let total = await store.count
            return jsonResponse(.ok, SandboxStats(messages: .init(total: total, byStatus: byStatus), counters: counters.snapshot))
        }
    }

    struct InboundRequest: Decodable {
        let from: String
        let to: String
        let body: String
        let url: String?
    }

    struct InboundResult: Encodable {
        let sid: String
        let url: String
        let status: Int
        let contentType: String?
        let body: String

        enum CodingKeys: String, CodingKey { case sid, url, status, contentType = "content_type", body }
    }

    func inbound(_ request: Request) async throws -> Response {
        let decoded: InboundRequest
        switch await decode(InboundRequest.self, from: request) {
        case .success(let value): decoded = value
        case .failure:
            return AdminError.response(.badRequest, code: "bad_request", message: #"expected {"from": "+…", "to": "+…", "body": "…", "url": "http…"}"#)
        }
        var problems: [[String: String]] = []
        if !isE164(decoded.from) { problems.append(["field": "from", "reason": "must be an E.164 number"]) }
        if !isE164(decoded.to) { problems.append(["field": "to", "reason": "must be an E.164 number"]) }
        let url = decoded.url ?? configuration.inboundURL
        if let url, !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
            problems.append(["field": "url", "reason": "must be an http or https URL"])
        } else if url == nil {
            problems.append(["field": "url", "reason": "is required when SANDBOX_INBOUND_URL is not set"])
        }
        guard problems.isEmpty, let url else {
            return AdminError.response(.unprocessableContent, code: "invalid", message: "the inbound message is invalid", details: problems)
        }
        do {
            let (message, response) = try await webhooks.deliverInbound(from: decoded.from, to: decoded.to, body: decoded.body, url: url)
            return jsonResponse(
                .ok,
                InboundResult(sid: message.sid, url: url, status: response.status, contentType: response.header("Content-Type"), body: response.bodyText))
        } catch is SandboxWebhooks.NotRunning {
            return AdminError.response(.serviceUnavailable, code: "not_running", message: "the sandbox's webhook service is not running")
        } catch let error as CurlError {
            return AdminError.response(.badGateway, code: "unreachable", message: "the inbound webhook could not be reached: \(error.message)")
        }
    }

    private func decode<T: Decodable>(_ type: T.Type, from request: Request) async -> Result<T, any Error> {
        var request = request
        do {
            let buffer = try await request.collectBody(upTo: 1 << 20)
            return .success(try JSONDecoder().decode(T.self, from: Data(buffer: buffer)))
        } catch {
            return .failure(error)
        }
    }
}

/// `GET /_sandbox/stats`.
struct SandboxStats: Encodable {
    struct Messages: Encodable {
        let total: Int
        let byStatus: [String: Int]

        enum CodingKeys: String, CodingKey { case total, byStatus = "by_status" }
    }

    let messages: Messages
    /// `create.accepted`, `create.invalid`, `create.magic_number`, `create.rate_limited`,
    /// `create.server_error`, `create.hung`, `request.unauthorized`, `fetch.found`,
    /// `fetch.not_found`, `list.ok`, `list.invalid`, `callback.delivered`,
    /// `callback.rejected`, `callback.retried`, `callback.failed`, `inbound.delivered`, `inbound.failed`.
    let counters: [String: Int]
}

/// The admin routes' errors, in the project's shape: `{"error": {"code", "message", "details"}}`.
enum AdminError {
    static func response(_ status: HTTPResponse.Status, code: String, message: String, details: [[String: String]] = []) -> Response {
        jsonResponse(status, ["error": ErrorBody(code: code, message: message, details: details)])
    }

    struct ErrorBody: Encodable {
        let code: String
        let message: String
        let details: [[String: String]]
    }
}
