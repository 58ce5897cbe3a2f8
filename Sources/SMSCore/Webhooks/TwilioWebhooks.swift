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
        /// 30003, 30005 and 30006 suppress a number once they have happened this many times to it.
        public var carrierFailuresBeforeSuppression: Int

        public init(carrierFailuresBeforeSuppression: Int = 3) {
            self.carrierFailuresBeforeSuppression = carrierFailuresBeforeSuppression
        }
    }

    public let configuration: Configuration
    let postgres: PostgresClient
    let logger: Logger

    public init(configuration: Configuration = Configuration(), postgres: PostgresClient, logger: Logger) {
        self.configuration = configuration
        self.postgres = postgres
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
            key = idempotencyToken.map { "token:\($0)" } ?? "status:\(sid ?? "-"):\(status ?? "-"):\(parameters["ErrorCode"] ?? "")"
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
        let configuration = self.configuration
        if let payload = try? Self.payload(parameters),
            let done = try? await postgres.withTransaction({ connection -> (WebhookReceipt, WebhookResult) in
                // Applied first, then stored as processed with its outcome: one row
                // version instead of an insert and an update. A duplicate finds the
                // key taken and rolls the application back with it (it waited on the
                // job's row lock, so the first one's effect is already there).
                let applied = try Self.applyStatus(connection, parameters: parameters, jobID: event.jobID, configuration: configuration)
                var result = WebhookResult(outcome: applied.outcome, reply: nil, finalStatus: applied.finalStatus)
                result.kind = "status"
                guard
                    let id: Int64 = try connection.query(
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
        let key = idempotencyToken.map { "token:\($0)" } ?? "inbound:\(sid ?? UUID().uuidString)"
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
        let configuration = self.configuration
        let result: WebhookResult = try await postgres.withTransaction { connection in
            guard
                let event = try connection.query(
                    """
                    SELECT kind, tenant_id::text, send_job_id::text, payload::text, processed_at IS NOT NULL AS processed, outcome
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
                let applied = try Self.applyStatus(
                    connection, parameters: parameters, jobID: try event.decodeIfPresent("send_job_id"), configuration: configuration)
                result = WebhookResult(outcome: applied.outcome, reply: nil, finalStatus: applied.finalStatus)
            } else {
                result = try Self.applyInbound(connection, parameters: parameters, tenantID: tenantID)
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

    // MARK: Status callbacks

    /// Where a job stands: a callback applies only if it moves the job forward.
    /// `delivered` ranks above `undelivered`/`failed`, so a late delivery
    /// report (Twilio's last word) wins and a late `sent` never undoes either.
    static func rank(ofJobStatus status: String) -> Int {
        switch status {
        case "sent": 2
        case "undelivered", "failed": 3
        case "delivered": 4
        default: 1  // not yet known to be at Twilio: queued, sending, unknown, parked, deferred…
        }
    }

    /// The job status a Twilio message status leads to; nil for statuses that
    /// say nothing about an outbound message (receiving, received).
    static func jobStatus(forTwilio status: String) -> (status: String, rank: Int)? {
        switch status {
        case "accepted", "scheduled", "queued", "sending", "sent": ("sent", 2)
        case "undelivered": ("undelivered", 3)
        case "failed", "canceled": ("failed", 3)
        case "delivered", "read", "partially_delivered": ("delivered", 4)
        default: nil
        }
    }

    static let knownStatuses: Set<String> = [
        "accepted", "scheduled", "queued", "sending", "sent", "delivered", "undelivered", "failed", "read",
        "partially_delivered", "canceled", "receiving", "received",
    ]

    static func applyStatus(
        _ connection: PostgresConnection, parameters: [String: String], jobID: String?, configuration: Configuration
    ) throws -> (outcome: String, finalStatus: String?) {
        let sid = parameters["MessageSid"] ?? parameters["SmsSid"] ?? ""
        let twilioStatus = (parameters["MessageStatus"] ?? parameters["SmsStatus"] ?? "").lowercased()
        guard knownStatuses.contains(twilioStatus) else { return ("unknown_status", nil) }
        guard let (newStatus, newRank) = jobStatus(forTwilio: twilioStatus) else { return ("ignored", nil) }
        let columns = """
            id::text, tenant_id::text, contact_id::text, status, provider_sid, to_phone, reserved_cents, reserved_daily_period::text AS daily,
            reserved_monthly_period::text AS monthly
            """
        var job = try jobID.flatMap {
            try connection.query("SELECT \(columns) FROM send_jobs WHERE id = $1::uuid FOR UPDATE", $0).first
        }
        // A job id whose job already carries another sid is not this message's job.
        if let found = job, let recorded: String = try found.decodeIfPresent("provider_sid"), !sid.isEmpty, recorded != sid { job = nil }
        if job == nil, !sid.isEmpty {
            job = try connection.query("SELECT \(columns) FROM send_jobs WHERE provider_sid = $1 FOR UPDATE", sid).first
        }
        guard let job else { return ("unknown_job", nil) }
        let id: String = try job.decode("id")
        let tenantID: String = try job.decode("tenant_id")
        let phone: String = try job.decode("to_phone")
        let held: Decimal = try job.decode("reserved_cents")
        let daily: String? = try job.decodeIfPresent("daily")
        let monthly: String? = try job.decodeIfPresent("monthly")
        let errorCode = parameters["ErrorCode"].flatMap { Int($0) }
        var outcome = "stale"

        if newRank > rank(ofJobStatus: try job.decode("status")) {
            let reason: String? =
                newStatus == "undelivered" || newStatus == "failed"
                ? (errorCode.map(TwilioErrorCodes.reason) ?? (twilioStatus == "canceled" ? "cancelled at Twilio" : "Twilio reported \(twilioStatus)"))
                : nil
            try connection.query(
                """
                UPDATE send_jobs SET status = $2, provider_sid = COALESCE(provider_sid, NULLIF($3, '')), provider_status = $4,
                    error_code = COALESCE($5, error_code), failure_reason = CASE WHEN $6::text IS NULL THEN NULL ELSE $6 END,
                    sent_at = COALESCE(sent_at, now()),
                    delivered_at = CASE WHEN $2 = 'delivered' THEN COALESCE(delivered_at, now()) ELSE delivered_at END,
                    updated_at = now()
                WHERE id = $1::uuid
                """, id, newStatus, sid, twilioStatus, errorCode, reason)
            outcome = "applied"
            // Refused by Twilio (failed, canceled): nothing is billed, so the reservation goes back.
            if newStatus == "failed", held > 0, let daily, let monthly {
                try BudgetLedger.release(connection, tenantID: tenantID, cents: held, dailyPeriod: daily, monthlyPeriod: monthly)
                try connection.query("UPDATE send_jobs SET reserved_cents = 0 WHERE id = $1::uuid", id)
            }
        }
        // The actual price, when Twilio gives it (a negative amount in PriceUnit): the budget follows it.
        if let priceText = parameters["Price"], let price = Decimal(string: priceText), newStatus != "failed" {
            let cost = (price < 0 ? -price : price) * 100
            if let daily, let monthly, cost != held {
                try BudgetLedger.adjust(connection, tenantID: tenantID, cents: cost - held, dailyPeriod: daily, monthlyPeriod: monthly)
            }
            try connection.query(
                "UPDATE send_jobs SET cost_cents = $2, reserved_cents = $2, price_unit = $3 WHERE id = $1::uuid", id, cost, parameters["PriceUnit"])
        }
        if let code = errorCode {
            if TwilioErrorCodes.suppressAtOnce.contains(code) {
                try suppress(connection, tenantID: tenantID, phone: phone, reason: "twilio_\(code)")
            } else if TwilioErrorCodes.suppressOnRepeat.contains(code) {
                // The contact's jobs to this number (contacts are unique per tenant and
                // number); through the contact index rather than a scan of the tenant's jobs.
                let repeats: Int = try connection.query(
                    """
                    SELECT count(*) FROM send_jobs
                    WHERE contact_id = $1::uuid AND tenant_id = $2::uuid AND to_phone = $3 AND error_code = ANY($4::int[])
                    """, try job.decode("contact_id", as: String.self), tenantID, phone, Array(TwilioErrorCodes.suppressOnRepeat)
                )[0].decode(at: 0)
                if repeats >= configuration.carrierFailuresBeforeSuppression {
                    try suppress(connection, tenantID: tenantID, phone: phone, reason: "carrier_\(code)")
                }
            }
        }
        return (outcome, outcome == "applied" && newRank >= 3 ? newStatus : nil)
    }

    /// Puts a number on the tenant's do-not-contact list (source `provider`),
    /// cancels its pending jobs and audits it, once.
    static func suppress(_ connection: PostgresConnection, tenantID: String, phone: String, reason: String) throws {
        let added = try connection.query(
            """
            INSERT INTO do_not_contact (tenant_id, phone_e164, reason, source) VALUES ($1::uuid, $2, $3, 'provider')
            ON CONFLICT (tenant_id, phone_e164) DO NOTHING
            """, tenantID, phone, reason
        ).affectedRows
        guard added > 0 else { return }
        let cancelled = try cancelPending(connection, tenantID: tenantID, phone: phone, reason: "do not contact (\(reason))")
        try AuditLog.record(
            AuditEntry(
                tenantID: tenantID, actor: .system, action: "dnc.add", targetType: "do_not_contact",
                details: ["reason": reason, "phone": Redact.phone(phone), "cancelled_jobs": String(cancelled)]),
            on: connection)
    }

    /// Cancels the pending jobs to `phone` of the tenant's contact with that
    /// number. The jobs are found through the contact (the (contact, campaign)
    /// index), not by scanning the tenant's jobs for `to_phone`: 371 ms for a
    /// tenant with 1,000,000 jobs against 1 ms, and it grows with every launch.
    /// A job whose number is no contact's any more (the contact changed number
    /// after launch) is left to the worker's do-not-contact gate, which checks
    /// `to_phone` and blocks it.
    static func cancelPending(_ connection: PostgresConnection, tenantID: String, phone: String, reason: String) throws -> Int {
        try connection.query(
            """
            UPDATE send_jobs SET status = 'cancelled', failure_reason = $3, updated_at = now()
            WHERE contact_id IN (SELECT id FROM contacts WHERE tenant_id = $1::uuid AND phone_e164 = $2)
              AND tenant_id = $1::uuid AND to_phone = $2 AND status IN ('queued', 'deferred', 'parked')
            """, tenantID, phone, reason
        ).affectedRows
    }

    // MARK: Inbound messages

    static func applyInbound(_ connection: PostgresConnection, parameters: [String: String], tenantID: String?) throws -> WebhookResult {
        guard let tenantID else { return WebhookResult(outcome: "unroutable", reply: nil) }
        let from = parameters["From"] ?? ""
        let to = parameters["To"] ?? ""
        let body = parameters["Body"] ?? ""
        let sid = parameters["MessageSid"] ?? parameters["SmsMessageSid"] ?? parameters["SmsSid"] ?? ""
        let keyword = InboundKeywords.classify(body)
        let contactID = try connection.query(
            "SELECT id::text FROM contacts WHERE tenant_id = $1::uuid AND phone_e164 = $2", tenantID, from
        ).first?.decode(at: 0, as: String.self)
        if !sid.isEmpty, PhoneNumber(e164: to) != nil {
            try connection.query(
                """
                INSERT INTO inbound_messages (tenant_id, contact_id, from_phone, to_phone, body, provider_sid, keyword)
                VALUES ($1::uuid, $2::uuid, $3, $4, $5, $6, $7)
                ON CONFLICT (provider_sid) DO NOTHING
                """, tenantID, contactID, from.isEmpty ? "unknown" : from, to, body, sid, keyword?.rawValue)
        }
        let isPhone = PhoneNumber(e164: from) != nil
        switch keyword {
        case .optOut? where isPhone:
            try connection.query(
                """
                INSERT INTO do_not_contact (tenant_id, phone_e164, reason, source) VALUES ($1::uuid, $2, 'stop_keyword', 'inbound')
                ON CONFLICT (tenant_id, phone_e164) DO NOTHING
                """, tenantID, from)
            try connection.query(
                """
                UPDATE contacts SET opted_out_at = COALESCE(opted_out_at, now()), opted_out_source = COALESCE(opted_out_source, 'stop_keyword'),
                    updated_at = now()
                WHERE tenant_id = $1::uuid AND phone_e164 = $2
                """,
                tenantID, from)
            let cancelled = try cancelPending(connection, tenantID: tenantID, phone: from, reason: "the contact replied STOP")
            try AuditLog.record(
                AuditEntry(
                    tenantID: tenantID, actor: .system, action: "contact.opt_out", targetType: "contact", targetID: contactID,
                    details: ["phone": Redact.phone(from), "cancelled_jobs": String(cancelled), "source": "inbound"]),
                on: connection)
        case .optIn? where isPhone:
            // Only what the contact's own STOP (or Twilio's record of it) put there is lifted;
            // an operator's manual entry stays.
            try connection.query(
                "DELETE FROM do_not_contact WHERE tenant_id = $1::uuid AND phone_e164 = $2 AND reason IN ('stop_keyword', 'twilio_21610')",
                tenantID, from)
            try connection.query(
                "UPDATE contacts SET opted_out_at = NULL, opted_out_source = NULL, updated_at = now() WHERE tenant_id = $1::uuid AND phone_e164 = $2",
                tenantID, from)
            try AuditLog.record(
                AuditEntry(
                    tenantID: tenantID, actor: .system, action: "contact.opt_in", targetType: "contact", targetID: contactID,
                    details: ["phone": Redact.phone(from), "source": "inbound"]),
                on: connection)
        default:
            break
        }
        return WebhookResult(outcome: keyword?.rawValue ?? "stored", reply: try reply(connection, tenantID: tenantID, body: body))
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

/// TwiML for an inbound reply.
public enum TwiML {
    public static func response(message: String?) -> String {
        guard let message else { return #"<?xml version="1.0" encoding="UTF-8"?><Response/>"# }
        var escaped = ""
        for character in message {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&apos;"
            default: escaped.append(character)
            }
        }
        return #"<?xml version="1.0" encoding="UTF-8"?><Response><Message>"# + escaped + "</Message></Response>"
    }
}
