import Curl
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import Redis
import SMSCore

/// `POST /webhooks/twilio/status` and `POST /webhooks/twilio/inbound`.
///
/// Each request is checked against `X-Twilio-Signature` (the public URL as
/// configured plus the path and query as received; form parameters sorted, or
/// a JSON body's `bodySHA256`), stored in `webhook_events` and committed before
/// the answer, then applied. A forged request gets 403 and leaves nothing but
/// a count behind; a repeated one answers 200 and changes nothing.
struct WebhookController {
    let webhooks: TwilioWebhooks
    let redis: RedisClient
    /// Verifies the signatures (Twilio's auth token).
    let provider: any MessagingProvider
    let publicBaseURL: String
    let logger: Logger

    /// Twilio's bodies are small; anything larger is not Twilio.
    static let maxBody = 64 * 1024
    /// Hash of rejected-signature counts by route, for metrics and the runbook.
    static let rejectedKey = "smscrm:webhooks:rejected_signatures"

    func addRoutes(to router: Router<AppRequestContext>) {
        router.post("webhooks/twilio/status") { request, context in try await status(request, context: context) }
        router.post("webhooks/twilio/inbound") { request, context in try await inbound(request, context: context) }
    }

    func status(_ request: Request, context: AppRequestContext) async throws -> Response {
        let parameters = try await verified(request, context: context, route: "status")
        let token = request.headers[HTTPField.Name("I-Twilio-Idempotency-Token")!]
        let jobID = request.uri.queryParameters.get("job_id")
        // Stored and committed when this returns: from here on a failure only
        // delays the effect (the worker's duty applies it).
        let (receipt, applied) = try await webhooks.receiveAndApplyStatus(parameters: parameters, idempotencyToken: token, jobID: jobID)
        switch applied {
        case .success(let result):
            if result.outcome == "unknown_status" || result.outcome == "unknown_job" {
                logger.warning(
                    "status callback stored but not applied",
                    metadata: [
                        "outcome": "\(result.outcome)", "event_id": "\(receipt.eventID)", "request_id": "\(context.requestID)",
                        "parameters": "\(provider.redacted(parameters).sorted { $0.key < $1.key })",
                    ])
            }
        case .failure(let error):
            await webhooks.recordFailure(eventID: receipt.eventID, error: error)
            logger.error("applying a status callback failed; the worker will retry", metadata: ["event_id": "\(receipt.eventID)", "error": "\(error)"])
        }
        return Self.twiml(nil)
    }

    func inbound(_ request: Request, context: AppRequestContext) async throws -> Response {
        let parameters = try await verified(request, context: context, route: "inbound")
        let token = request.headers[HTTPField.Name("I-Twilio-Idempotency-Token")!]
        let receipt = try await webhooks.receiveInbound(parameters: parameters, idempotencyToken: token)
        do {
            let result = try await webhooks.apply(eventID: receipt.eventID)
            if result.outcome == "unroutable" {
                logger.warning("inbound message for a number no tenant owns", metadata: ["to": "\(Redact.phone(parameters["To"] ?? ""))"])
            }
            return Self.twiml(result.reply)
        } catch {
            await webhooks.recordFailure(eventID: receipt.eventID, error: error)
            logger.error("applying an inbound message failed; the worker will retry", metadata: ["event_id": "\(receipt.eventID)", "error": "\(error)"])
            return Self.twiml(nil)
        }
    }

    /// The request's parameters, if its signature is the provider's; otherwise 403.
    private func verified(_ request: Request, context: AppRequestContext, route: String) async throws -> [String: String] {
        var request = request
        let body = Array(buffer: try await request.collectBody(upTo: Self.maxBody))
        let signature = request.headers[HTTPField.Name(TwilioSignature.header)!]
        let webhook = SignedWebhook(
            url: publicBaseURL + request.uri.description, signature: signature, contentType: request.headers[.contentType], body: body)
        guard let parameters = provider.verify(webhook) else {
            _ = try? await redis.command("HINCRBY", Self.rejectedKey, route, 1)
            Counter(label: "smscrm_webhook_signature_rejected_total", dimensions: [("route", "/webhooks/twilio/\(route)")]).increment()
            logger.warning(
                "webhook signature rejected",
                metadata: [
                    "route": "\(route)", "request_id": "\(context.requestID)", "ip": "\(context.remoteIP ?? "-")",
                    "signature": "\((signature ?? "").isEmpty ? "missing" : "wrong")",
                ])
            throw APIError(.forbidden, code: "invalid_signature", message: "the X-Twilio-Signature header is missing or wrong")
        }
        // Genuine but unstorable: PostgreSQL's JSON cannot hold U+0000 (it was a 500).
        if let field = parameters.first(where: { $0.key.contains("\0") || $0.value.contains("\0") })?.key {
            throw APIError.badRequest("\(field.replacingOccurrences(of: "\0", with: "")) must not contain NUL characters", details: [field])
        }
        return parameters
    }

    static func twiml(_ message: String?) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/xml; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: TwiML.response(message: message))))
    }
}
