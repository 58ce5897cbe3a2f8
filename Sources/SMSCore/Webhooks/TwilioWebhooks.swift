import Foundation
import Logging
import Postgres

/// What storing a verified webhook did.
public struct WebhookReceipt: Sendable, Equatable {
    public var eventID: Int64
    /// The same event (by its key) was already stored: nothing new was written.
    public var duplicate: Bool
}

/// What applying an event did, and for inbound messages the reply to send.
public struct WebhookResult: Sendable, Equatable {
    /// applied, stale, ignored, unknown_status, unknown_job, unroutable, stored, opt_out, opt_in, help
    public var outcome: String
    /// The TwiML reply text for an inbound message; nil for an empty `<Response/>`.
    public var reply: String?
    /// A status callback that moved a job to delivered, undelivered or failed: that status.
    var finalStatus: String?
    /// status or inbound, for metrics.
    var kind = ""
}

/// Twilio's status callbacks and inbound messages: stored first (one row per
/// event key in `webhook_events`, committed before the answer), then applied
/// in a transaction that marks the event processed. Applying is idempotent,
/// and events stored but never applied (the process died between the two
/// steps) are applied by the worker's ``applyPending(olderThan:)`` duty.
public struct TwilioWebhooks: Sendable {
    public struct Configuration: Sendable {
        /// Which provider codes suppress the number (30003, 30005 and 30006 once
        /// they have happened `carrierFailuresBeforeSuppression` times to it).
        public var errorPolicy: ProviderErrorPolicy

        public init(carrierFailuresBeforeSuppression: Int = 3) {
            self.errorPolicy = ProviderErrorPolicy(carrierFailuresBeforeSuppression: carrierFailuresBeforeSuppression)
        }
    }

    public let configuration: Configuration
    let postgres: PostgresClient
    let jobs: SendJobs
    let logger: Logger

    public init(configuration: Configuration = Configuration(), postgres: PostgresClient, queue: SendQueue, logger: Logger) {
        self.configuration = configuration
        self.postgres = postgres
        self.jobs = SendJobs(postgres: postgres, queue: queue)
        self.logger = logger
    }

    // MARK: Receiving

    /// Stores a verified status callback. `jobID` comes from the callback URL
    /// (`?job_id=`) when it is a UUID.
    public func receiveStatus(parameters: [String: String], idempotencyToken: String?, jobID: String?) async throws -> WebhookReceipt {
        let event = StatusEvent(parameters: parameters, idempotencyToken: idempotencyToken, jobID: jobID)
        return try await store(
            kind: "status", key: event.key, tenantID: nil, jobID: event.jobID, sid: event.sid, status: event.status, parameters: parameters)
    }

    /// The fields a status callback is stored under.
    struct StatusEvent {
        var key: String
        var sid: String?
        var status: String?
        var jobID: String?

        init(parameters: [String: String], idempotencyToken: String?, jobID: String?) {
            sid = parameters["MessageSid"] ?? parameters["SmsSid"]
            status = parameters["MessageStatus"] ?? parameters["SmsStatus"]
            // Keyed on what the signature covers, never on I-Twilio-Idempotency-Token, which
            // it does not: a replay with a new token is the same event (issue 12).
            _ = idempotencyToken
            key = "status:\(sid ?? "-"):\(status ?? "-"):\(parameters["ErrorCode"] ?? "")"
            self.jobID = jobID.flatMap { UUID(uuidString: $0) != nil ? $0.lowercased() : nil }
        }
    }

    /// Stores a verified status callback and applies it, in one transaction
    /// when it is new: one commit and one row written for the event, where
    /// storing and then applying took two commits, a re-read and an update
    /// (every message brings two callbacks).
    /// A duplicate, or a new event whose application fails (rolled back whole),
    /// takes the two-step path: stored and committed on its own, then applied,
    /// so an event is never lost to a failure to apply it.
    /// - Returns: the receipt, and the application's result or error. Throws
    ///   only when the event could not be stored.
    public func receiveAndApplyStatus(
        parameters: [String: String], idempotencyToken: String?, jobID: String?
    ) async throws -> (receipt: WebhookReceipt, applied: Result<WebhookResult, any Error>) {
        let event = StatusEvent(parameters: parameters, idempotencyToken: idempotencyToken, jobID: jobID)
        let policy = configuration.errorPolicy
        if let payload = try? Self.payload(parameters),
            let done = try? await jobs.transaction({ tx -> (WebhookReceipt, WebhookResult) in
                // Applied first, then stored as processed with its outcome: one row
                // version instead of an insert and an update. A duplicate finds the
                // key taken and rolls the application back with it (it waited on the
                // job's row lock, so the first one's effect is already there).
                let settlement = try tx.settle(jobID: event.jobID, report: TwilioClient.statusReport(parameters), policy: policy)
                var result = WebhookResult(outcome: settlement.outcome, reply: nil, finalStatus: settlement.finalStatus?.rawValue)
                result.kind = "status"
                guard
                    let id: Int64 = try tx.connection.query(
                        """
                        INSERT INTO webhook_events (event_key, kind, send_job_id, message_sid, message_status, payload, processed_at,
                                                    outcome, attempts)
                        VALUES ($1, 'status', $2::uuid, $3, $4, $5::jsonb, now(), $6, 1)
                        ON CONFLICT (event_key) DO NOTHING
                        RETURNING id
                        """, event.key, event.jobID, event.sid, event.status, payload, result.outcome
                    ).first?.decode(at: 0)
                else { throw DuplicateEvent() }
                return (WebhookReceipt(eventID: id, duplicate: false), result)
            })
        {
            Self.count(done.1)
            return (done.0, .success(done.1))
        }
        let receipt = try await store(
            kind: "status", key: event.key, tenantID: nil, jobID: event.jobID, sid: event.sid, status: event.status, parameters: parameters)
        do {
            return (receipt, .success(try await apply(eventID: receipt.eventID)))
        } catch {
            return (receipt, .failure(error))
        }
    }

    /// Stores a verified inbound message, routed to the tenant owning `To`.
    public func receiveInbound(parameters: [String: String], idempotencyToken: String?) async throws -> WebhookReceipt {
        let sid = parameters["MessageSid"] ?? parameters["SmsMessageSid"] ?? parameters["SmsSid"]
        // MessageSid is covered by the signature; the idempotency token is not, so a
        // replayed START with a new token was a new event and re-subscribed someone
        // who had opted out (issue 12). The token only tells apart sid-less events.
        let key = sid.map { "inbound:\($0)" } ?? idempotencyToken.map { "token:\($0)" } ?? "inbound:\(UUID().uuidString)"
        let tenantID = try await postgres.query(
            "SELECT tenant_id::text FROM sending_numbers WHERE phone_e164 = $1", parameters["To"] ?? ""
        ).first?.decode(at: 0, as: String.self)
        return try await store(kind: "inbound", key: key, tenantID: tenantID, jobID: nil, sid: sid, status: nil, parameters: parameters)
    }

    private func store(
        kind: String, key: String, tenantID: String?, jobID: String?, sid: String?, status: String?, parameters: [String: String]
    ) async throws -> WebhookReceipt {
        let inserted = try await postgres.query(Self.insertEvent, key, kind, tenantID, jobID, sid, status, try Self.payload(parameters))
        if let row = inserted.first { return WebhookReceipt(eventID: try row.decode(at: 0), duplicate: false) }
        let existing = try await postgres.query("SELECT id FROM webhook_events WHERE event_key = $1", key)
        return WebhookReceipt(eventID: try existing[0].decode(at: 0), duplicate: true)
    }

    struct DuplicateEvent: Error {}

    static let insertEvent = """
        INSERT INTO webhook_events (event_key, kind, tenant_id, send_job_id, message_sid, message_status, payload)
        VALUES ($1, $2, $3::uuid, $4::uuid, $5, $6, $7::jsonb)
        ON CONFLICT (event_key) DO NOTHING
        RETURNING id
        """

    static func payload(_ parameters: [String: String]) throws -> String {
        String(decoding: try JSONEncoder().encode(parameters), as: UTF8.self)
    }

    static func markProcessed(_ connection: PostgresConnection, eventID: Int64, outcome: String) throws {
        try connection.query(
            "UPDATE webhook_events SET processed_at = now(), outcome = $2, attempts = attempts + 1, last_error = NULL WHERE id = $1",
            eventID, outcome)
    }

    static func count(_ result: WebhookResult) {
        if !result.kind.isEmpty { Telemetry.webhookApplied(kind: result.kind, outcome: result.outcome) }
        if let status = result.finalStatus { Telemetry.messageOutcome(status) }
    }

    // MARK: Applying

    /// Applies a stored event, once: an event already processed is not
    /// applied again (an inbound one still gets its reply computed).
    public func apply(eventID: Int64) async throws -> WebhookResult {
        let policy = configuration.errorPolicy
        let result: WebhookResult = try await jobs.transaction { tx in
            let connection = tx.connection
            guard
                let event = try connection.query(
                    """
                    SELECT kind, tenant_id::text, send_job_id::text, payload::text, processed_at IS NOT NULL AS processed, outcome,
                           received_at
                    FROM webhook_events WHERE id = $1 FOR UPDATE
                    """, eventID
                ).first
            else { return WebhookResult(outcome: "missing", reply: nil) }
            let parameters = try JSONDecoder().decode([String: String].self, from: Data(try event.decode("payload", as: String.self).utf8))
            let tenantID: String? = try event.decodeIfPresent("tenant_id")
            let kind: String = try event.decode("kind")
            if try event.decode("processed", as: Bool.self) {
                let outcome: String = try event.decodeIfPresent("outcome") ?? "applied"
                let reply = kind == "inbound" ? try Self.reply(connection, tenantID: tenantID, body: parameters["Body"] ?? "") : nil
                return WebhookResult(outcome: outcome, reply: reply)
            }
            var result: WebhookResult
            if kind == "status" {
                let settlement = try tx.settle(jobID: try event.decodeIfPresent("send_job_id"), report: TwilioClient.statusReport(parameters), policy: policy)
                result = WebhookResult(outcome: settlement.outcome, reply: nil, finalStatus: settlement.finalStatus?.rawValue)
            } else {
                result = try Self.applyInbound(tx, parameters: parameters, tenantID: tenantID, receivedAt: try event.decode("received_at"))
            }
            result.kind = kind
            try Self.markProcessed(connection, eventID: eventID, outcome: result.outcome)
            return result
        }
        Self.count(result)
        return result
    }

    /// Records a failed application, so the duty's retries are visible.
    public func recordFailure(eventID: Int64, error: any Error) async {
        _ = try? await postgres.query(
            "UPDATE webhook_events SET attempts = attempts + 1, last_error = $2 WHERE id = $1", eventID, String(describing: error).prefix(500).description)
    }

    /// The worker duty: applies events stored at least `olderThan` ago and
    /// never applied (the API applies at once; this catches what a crash or a
    /// database error left behind).
    @discardableResult
    public func applyPending(olderThan: Duration = .seconds(10), limit: Int = 500) async throws -> Int {
        let ids = try await postgres.query(
            """
            SELECT id FROM webhook_events WHERE processed_at IS NULL AND received_at < now() - $1::interval
            ORDER BY received_at LIMIT $2
            """, "\(olderThan.components.seconds) seconds", limit
        ).map { try $0.decode(at: 0, as: Int64.self) }
        var applied = 0
        for id in ids {
            do {
                _ = try await apply(eventID: id)
                applied += 1
            } catch {
                await recordFailure(eventID: id, error: error)
                logger.error("applying a stored webhook failed", metadata: ["event_id": "\(id)", "error": "\(error)"])
            }
        }
        return applied
    }

    /// Seconds the oldest unapplied event has waited (0 when none): the runbook's < 30 s lag target.
    public func lagSeconds() async throws -> Double {
        try await postgres.query(
            "SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(received_at)), 0)::float8 FROM webhook_events WHERE processed_at IS NULL"
        )[0].decode(at: 0)
    }

    // MARK: Inbound messages

    /// `receivedAt`: when the event was stored; a START applied late (by the
    /// worker's duty) does not undo an opt-out recorded after it arrived.
    static func applyInbound(_ tx: JobTransaction, parameters: [String: String], tenantID: String?, receivedAt: Date) throws -> WebhookResult {
        guard let tenantID else { return WebhookResult(outcome: "unroutable", reply: nil) }
        let connection = tx.connection
        let text = TwilioClient.inboundText(parameters)
        let (from, to, body, sid) = (text.from, text.to, text.body, text.sid ?? "")
        let keyword = InboundKeywords.classify(body)
        let contactID = try connection.query(
            "SELECT id::text FROM contacts WHERE tenant_id = $1::uuid AND phone_e164 = $2", tenantID, from
        ).first?.decode(at: 0, as: String.self)
        var inboundID: String?
        if !sid.isEmpty, PhoneNumber(e164: to) != nil {
            inboundID = try connection.query(
                """
                INSERT INTO inbound_messages (tenant_id, contact_id, from_phone, to_phone, body, provider_sid, keyword)
                VALUES ($1::uuid, $2::uuid, $3, $4, $5, $6, $7)
                ON CONFLICT (provider_sid) DO NOTHING
                RETURNING id::text
                """, tenantID, contactID, from.isEmpty ? "unknown" : from, to, body, sid, keyword?.rawValue
            ).first?.decode(at: 0)
        }
        let isPhone = PhoneNumber(e164: from) != nil
        switch keyword {
        case .optOut? where isPhone:
            try Suppression.add(
                tx, tenantID: tenantID, phones: [from], reason: "stop_keyword", source: .inbound, createdBy: nil,
                audit: AuditEntry(
                    tenantID: tenantID, actor: .system, action: "contact.opt_out", targetType: "contact", targetID: contactID,
                    details: ["source": "inbound"]))
        case .optIn? where isPhone:
            try Suppression.optIn(
                tx, tenantID: tenantID, phone: from, receivedAt: receivedAt,
                audit: AuditEntry(
                    tenantID: tenantID, actor: .system, action: "contact.opt_in", targetType: "contact", targetID: contactID,
                    details: ["source": "inbound"]))
        default:
            break
        }
        let answer = try reply(connection, tenantID: tenantID, body: body)
        // The automatic reply is a message too: the contact's conversation shows it.
        if let answer, let inboundID, let keyword {
            try connection.query(
                """
                INSERT INTO auto_replies (tenant_id, contact_id, inbound_message_id, to_phone, from_phone, body, keyword)
                VALUES ($1::uuid, $2::uuid, $3::uuid, $4, $5, $6, $7)
                ON CONFLICT (inbound_message_id) DO NOTHING
                """, tenantID, contactID, inboundID, from, to, answer, keyword.rawValue)
        }
        return WebhookResult(outcome: keyword?.rawValue ?? "stored", reply: answer)
    }

    /// The reply to a keyword: the tenant's own text or a standard one; none
    /// for STOP and START when Twilio's Advanced Opt-Out already answers them,
    /// and none for ordinary messages.
    static func reply(_ connection: PostgresConnection, tenantID: String?, body: String) throws -> String? {
        guard let tenantID, let keyword = InboundKeywords.classify(body),
            let tenant = try connection.query(
                "SELECT name, help_text, opt_out_reply, opt_in_reply, advanced_opt_out FROM tenants WHERE id = $1::uuid", tenantID
            ).first
        else { return nil }
        let name: String = try tenant.decode("name")
        let advanced: Bool = try tenant.decode("advanced_opt_out")
        switch keyword {
        case .optOut:
            if advanced { return nil }
            return try tenant.decodeIfPresent("opt_out_reply")
                ?? "\(name): you are unsubscribed and will receive no more messages. Reply START to resubscribe."
        case .optIn:
            if advanced { return nil }
            return try tenant.decodeIfPresent("opt_in_reply") ?? "\(name): you are subscribed again. Reply STOP to unsubscribe."
        case .help:
            return try tenant.decodeIfPresent("help_text") ?? "\(name): reply STOP to unsubscribe."
        }
    }
}
