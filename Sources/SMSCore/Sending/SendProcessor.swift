import Foundation
import Logging
import Postgres
import Redis

/// What happened to one popped job, for logs, metrics and tests.
public enum JobOutcome: Sendable, Equatable {
    /// Someone else claimed it, or it is no longer pending.
    case skipped
    /// The contact was deleted or the campaign cancelled meanwhile.
    case cancelled
    case parked
    case blocked(Gate)
    case deferred(Gate, until: Date)
    case sent(sid: String)
    case retrying(until: Date)
    case failed(code: Int)
    case dead
    case unknown
}

/// Takes one job from the queue through claim, every gate, the send and the
/// record (DESIGN.md, "The send path", steps 3–6).
///
/// PostgreSQL is the truth at every step: the claim is a conditional UPDATE, so a
/// job popped twice is sent once; the queue is settled after the row.
public struct SendProcessor: Sendable {
    public struct Configuration: Sendable {
        /// Identifies this consumer in `send_jobs.claimed_by`.
        public var workerID: String
        /// Where Twilio posts status callbacks (PUBLIC_BASE_URL).
        public var publicBaseURL: String
        /// First retry delay; doubles per attempt, with jitter.
        public var backoffBase: Duration = .seconds(2)
        public var backoffCap: Duration = .seconds(300)

        public init(workerID: String, publicBaseURL: String) {
            self.workerID = workerID
            self.publicBaseURL = publicBaseURL
        }
    }

    public let configuration: Configuration
    let postgres: PostgresClient
    let redis: RedisClient
    let queue: SendQueue
    let twilio: TwilioClient
    let budget: BudgetLedger
    let killSwitch: KillSwitch
    let logger: Logger

    public init(
        configuration: Configuration, postgres: PostgresClient, redis: RedisClient, queue: SendQueue, twilio: TwilioClient,
        logger: Logger
    ) {
        self.configuration = configuration
        self.postgres = postgres
        self.redis = redis
        self.queue = queue
        self.twilio = twilio
        self.budget = BudgetLedger(postgres: postgres)
        self.killSwitch = KillSwitch(redis: redis)
        self.logger = logger
    }

    struct Claimed: Sendable {
        var tenantID: String
        var campaignID: String
        /// `send_jobs.claimed_by` for this claim: every later write checks it, so a
        /// consumer whose job was meanwhile reconciled away cannot send it.
        var token: String
        var toPhone: String
        var fromPhone: String
        var body: String
        var segments: Int
        var estimatedCents: Decimal
        var attempts: Int
        var maxAttempts: Int
        var snapshot: GateSnapshot?
        /// Set instead of `snapshot` when the job must not go out any more.
        var cancelReason: String?
    }

    public func process(_ job: QueuedJob, now: Date = Date()) async throws -> JobOutcome {
        guard let claimed = try await claim(job) else {
            try await queue.complete(job)
            return .skipped
        }
        guard let snapshot = claimed.snapshot else {
            try await finish(job, claimed, status: "cancelled", gate: nil, reason: claimed.cancelReason ?? "cancelled")
            return .cancelled
        }
        switch ComplianceGates.evaluate(snapshot, now: now) {
        case .park:
            try await park(job, claimed)
            return .parked
        case .block(let gate, let reason):
            try await finish(job, claimed, status: "blocked", gate: gate, reason: reason)
            return .blocked(gate)
        case .deferUntil(let gate, let until):
            try await postpone(job, claimed, status: "deferred", gate: gate, until: until)
            return .deferred(gate, until: until)
        case .pass:
            break
        }
        // The kill switch once more, in Redis, atomically with registering the
        // send as in flight: a pause that answered after this point waits for it,
        // and one that answered before it parks the job here.
        let flight = KillSwitch.Flight(tenantID: claimed.tenantID, campaignID: claimed.campaignID, jobID: job.jobID)
        guard try await killSwitch.beginSend(flight, staleAfter: twilio.configuration.timeout + .seconds(10)) else {
            try await park(job, claimed)
            return .parked
        }
        do {
            let outcome = try await send(job, claimed, snapshot: snapshot, now: now)
            try await killSwitch.endSend(flight)
            return outcome
        } catch {
            try? await killSwitch.endSend(flight)
            throw error
        }
    }

    /// Budget, warmup, the request to Twilio and its record.
    private func send(_ job: QueuedJob, _ claimed: Claimed, snapshot: GateSnapshot, now: Date) async throws -> JobOutcome {
        let dailyPeriod: String
        let monthlyPeriod: String
        switch try await admit(job, claimed, now: now) {
        case .claimLost:
            // Reconciled away while we held it: the reconciler queued the job
            // again, so it is no longer ours. Nothing was reserved or counted.
            try await queue.complete(job)
            return .skipped
        case .deferred(let gate, let until):
            try await postpone(job, claimed, status: "deferred", gate: gate, until: until)
            return .deferred(gate, until: until)
        case .started(let daily, let monthly):
            dailyPeriod = daily
            monthlyPeriod = monthly
        }
        let release = {
            try await budget.release(tenantID: claimed.tenantID, cents: claimed.estimatedCents, dailyPeriod: dailyPeriod, monthlyPeriod: monthlyPeriod)
        }
        try await countRate(tenantID: claimed.tenantID, now: now)

        let validity = Int(ComplianceGates.windowCloses(after: now, snapshot: snapshot).timeIntervalSince(now))
        let outcome = await twilio.send(
            OutboundMessage(
                to: claimed.toPhone, from: claimed.fromPhone, body: claimed.body,
                statusCallback: "\(configuration.publicBaseURL)/webhooks/twilio/status?job_id=\(job.jobID)",
                validityPeriod: max(60, validity)))
        // Each record below also accepts `unknown`: a slow answer may arrive after
        // the reconciler marked the job, and what Twilio said is the better record.
        switch outcome {
        case .accepted(let sid, let status):
            try await postgres.query(
                """
                UPDATE send_jobs SET status = 'sent', provider_sid = $2, provider_status = $3, sent_at = now(), updated_at = now()
                WHERE id = $1::uuid AND status IN ('sending', 'unknown') AND provider_sid IS NULL
                """, job.jobID, sid, status)
            try await queue.complete(job)
            return .sent(sid: sid)
        case .retryable(let reason, let hint):
            try await release()
            if claimed.attempts + 1 >= claimed.maxAttempts {
                try await postgres.query(
                    """
                    UPDATE send_jobs SET status = 'failed', failure_reason = $2, reserved_cents = 0, dead_at = now(), updated_at = now()
                    WHERE id = $1::uuid AND status IN ('sending', 'unknown')
                    """, job.jobID, "gave up after \(claimed.attempts + 1) attempts: \(reason)")
                try await queue.bury(job)
                return .dead
            }
            let until = now.addingTimeInterval(backoff(attempt: claimed.attempts + 1, hint: hint))
            try await postgres.query(
                """
                UPDATE send_jobs SET status = 'queued', next_attempt_at = $2, failure_reason = $3, reserved_cents = 0,
                    claimed_by = NULL, updated_at = now()
                WHERE id = $1::uuid AND status IN ('sending', 'unknown')
                """, job.jobID, until, reason)
            try await queue.delay(job, until: until)
            return .retrying(until: until)
        case .rejected(let code, let message):
            try await release()
            try await postgres.withTransaction { connection in
                try connection.query(
                    """
                    UPDATE send_jobs SET status = 'failed', error_code = $2, failure_reason = $3, reserved_cents = 0, updated_at = now()
                    WHERE id = $1::uuid AND status IN ('sending', 'unknown')
                    """, job.jobID, code, "Twilio \(code): \(message)")
                // 21610: the recipient replied STOP to this sender at Twilio; never try again.
                if [21610, 21211, 21614].contains(code) {
                    try connection.query(
                        """
                        INSERT INTO do_not_contact (tenant_id, phone_e164, reason, source) VALUES ($1::uuid, $2, $3, 'provider')
                        ON CONFLICT (tenant_id, phone_e164) DO NOTHING
                        """, claimed.tenantID, claimed.toPhone, "twilio_\(code)")
                }
            }
            try await queue.complete(job)
            return .failed(code: code)
        case .ambiguous(let reason):
            // Never re-sent blindly: the status callback or a lookup settles it
            // (SendReconciler.settleUnknown); the reservation stays until then.
            try await postgres.query(
                "UPDATE send_jobs SET status = 'unknown', failure_reason = $2, updated_at = now() WHERE id = $1::uuid AND status = 'sending'",
                job.jobID, reason)
            try await queue.complete(job)
            return .unknown
        }
    }

    /// What the budget and warmup gates decided, with the attempt's start.
    enum Admission {
        case claimLost
        case deferred(Gate, until: Date)
        /// Reserved against these periods, counted against the number's warmup,
        /// and the row says an attempt started.
        case started(daily: String, monthly: String)
    }

    /// Gates 5 and 6 and the start of the attempt, in one transaction: the
    /// budget reservation (recorded on the row, so a crash cannot leave money
    /// held that no row accounts for), the warmup count, and the mark that an
    /// attempt started (from then on a crash leaves the job to be looked up
    /// at Twilio, never re-sent blindly). A warmup refusal or a lost claim rolls
    /// the reservation and the count back with it. One commit where this took
    /// three.
    private func admit(_ job: QueuedJob, _ claimed: Claimed, now: Date) async throws -> Admission {
        do {
            return try await postgres.withTransaction { connection in
                let decision = try BudgetLedger.reserve(connection, tenantID: claimed.tenantID, cents: claimed.estimatedCents, at: now)
                guard case .reserved(let daily, let monthly) = decision else {
                    guard case .exceeded(_, let retryAt) = decision else { throw Undo(admission: .claimLost) }
                    return .deferred(.budget, until: retryAt)
                }
                if case .capReached(_, let retryAt) = try Warmup.admit(
                    connection, tenantID: claimed.tenantID, numberID: job.numberID, segments: claimed.segments, at: now)
                {
                    throw Undo(admission: .deferred(.warmup, until: retryAt))
                }
                let started = try connection.query(
                    """
                    UPDATE send_jobs SET reserved_cents = $3, reserved_daily_period = $4::date, reserved_monthly_period = $5::date,
                        attempts = attempts + 1, last_attempt_at = clock_timestamp(), last_gate = 'passed', last_gate_at = now(),
                        updated_at = now()
                    WHERE id = $1::uuid AND status = 'sending' AND claimed_by = $2
                    RETURNING id
                    """, job.jobID, claimed.token, claimed.estimatedCents, daily, monthly)
                if started.isEmpty { throw Undo(admission: .claimLost) }
                return .started(daily: daily, monthly: monthly)
            }
        } catch let undo as Undo {
            return undo.admission
        }
    }

    /// Rolls ``admit(_:_:now:)``'s transaction back with this outcome.
    struct Undo: Error {
        let admission: Admission
    }

    /// Exponential backoff with full jitter, or Twilio's Retry-After when longer.
    func backoff(attempt: Int, hint: Duration?) -> TimeInterval {
        let base = Double(configuration.backoffBase.components.seconds)
        let cap = Double(configuration.backoffCap.components.seconds)
        let ceiling = min(cap, base * pow(2, Double(max(0, attempt - 1))))
        let jittered = Double.random(in: ceiling / 2...ceiling)
        return max(jittered, Double(hint?.components.seconds ?? 0))
    }

    /// Moves the job to `sending` if it is still pending, and reads everything
    /// the gates need, in one statement.
    func claim(_ job: QueuedJob) async throws -> Claimed? {
        let token = "\(configuration.workerID)/\(UUID().uuidString.prefix(8).lowercased())"
        let rows = try await postgres.query(
            """
            WITH claimed AS (
                UPDATE send_jobs SET status = 'sending', claimed_at = now(), claimed_by = $2, updated_at = now()
                WHERE id = $1::uuid AND status IN ('queued', 'deferred', 'parked')
                RETURNING tenant_id, campaign_id, contact_id, to_phone, from_phone, body, segments, estimated_cost_cents,
                          attempts, max_attempts
            )
            SELECT j.tenant_id::text, j.campaign_id::text, j.to_phone, j.from_phone, j.body, j.segments, j.estimated_cost_cents,
                   j.attempts, j.max_attempts, t.id IS NOT NULL AND k.id IS NOT NULL AS context_found,
                   (SELECT paused_at IS NOT NULL FROM platform_settings LIMIT 1) AS global_paused,
                   t.paused_at IS NOT NULL AS tenant_paused, t.consent_required, t.timezone AS tenant_zone,
                   t.quiet_hours_start AS t_start, t.quiet_hours_end AS t_end,
                   k.status = 'paused' AS campaign_paused, k.status = 'cancelled' AS campaign_cancelled,
                   k.quiet_hours_start AS k_start, k.quiet_hours_end AS k_end,
                   c.opted_out_at IS NOT NULL AS opted_out, c.consent_at IS NOT NULL AS has_consent, c.timezone AS contact_zone,
                   c.id IS NOT NULL AS contact_exists,
                   EXISTS (SELECT 1 FROM do_not_contact d WHERE d.tenant_id = j.tenant_id AND d.phone_e164 = j.to_phone) AS dnc
            FROM claimed j
            LEFT JOIN tenants t ON t.id = j.tenant_id
            LEFT JOIN campaigns k ON k.tenant_id = j.tenant_id AND k.id = j.campaign_id
            LEFT JOIN contacts c ON c.tenant_id = j.tenant_id AND c.id = j.contact_id
            """, job.jobID, token)
        guard let c = rows.first else { return nil }
        var claimed = Claimed(
            tenantID: try c.decode("tenant_id"), campaignID: try c.decode("campaign_id"), token: token, toPhone: try c.decode("to_phone"),
            fromPhone: try c.decode("from_phone"), body: try c.decode("body"), segments: try c.decode("segments"),
            estimatedCents: try c.decode("estimated_cost_cents"), attempts: try c.decode("attempts"), maxAttempts: try c.decode("max_attempts"),
            snapshot: nil)
        guard try c.decode("context_found", as: Bool.self) else { return claimed }
        if !(try c.decode("contact_exists", as: Bool.self)) {
            claimed.cancelReason = "contact deleted"
            return claimed
        }
        if try c.decode("campaign_cancelled", as: Bool.self) {
            claimed.cancelReason = "campaign cancelled"
            return claimed
        }
        let window: QuietHours
        if let start = try c.decodeIfPresent("k_start", as: Int.self), let end = try c.decodeIfPresent("k_end", as: Int.self) {
            window = QuietHours(start: start, end: end)
        } else {
            window = QuietHours(start: try c.decode("t_start"), end: try c.decode("t_end"))
        }
        claimed.snapshot = GateSnapshot(
            globalPaused: try c.decodeIfPresent("global_paused") ?? false, tenantPaused: try c.decode("tenant_paused"),
            campaignPaused: try c.decode("campaign_paused"), onDoNotContact: try c.decode("dnc"), optedOut: try c.decode("opted_out"),
            consentRequired: try c.decode("consent_required"), hasConsent: try c.decode("has_consent"), recipient: claimed.toPhone,
            contactTimeZone: try c.decodeIfPresent("contact_zone"), tenantTimeZone: try c.decode("tenant_zone"), quietHours: window)
        return claimed
    }

    private func finish(_ job: QueuedJob, _ claimed: Claimed, status: String, gate: Gate?, reason: String) async throws {
        try await postgres.query(
            """
            UPDATE send_jobs SET status = $3, last_gate = $4, last_gate_at = now(), failure_reason = $5, updated_at = now()
            WHERE id = $1::uuid AND status = 'sending' AND claimed_by = $2
            """, job.jobID, claimed.token, status, gate?.rawValue, reason)
        try await queue.complete(job)
    }

    /// Waits out a gate: the row says until when, the job sits in `delayed`.
    /// A postponed job holds no budget reservation.
    private func postpone(_ job: QueuedJob, _ claimed: Claimed, status: String, gate: Gate, until: Date) async throws {
        try await postgres.query(
            """
            UPDATE send_jobs SET status = $3, last_gate = $4, last_gate_at = now(), next_attempt_at = $5, reserved_cents = 0,
                claimed_by = NULL, updated_at = now()
            WHERE id = $1::uuid AND status = 'sending' AND claimed_by = $2
            """, job.jobID, claimed.token, status, gate.rawValue, until)
        try await queue.delay(job, until: until)
    }

    /// Kill switch: the job leaves Redis altogether (a paused million-job
    /// campaign costs nothing while it waits) and the resume puts parked jobs
    /// back at the front of their lists, in order (`SendRecovery.wakeParked`).
    private func park(_ job: QueuedJob, _ claimed: Claimed) async throws {
        try await postgres.query(
            """
            UPDATE send_jobs SET status = 'parked', last_gate = 'kill_switch', last_gate_at = now(), next_attempt_at = NULL,
                claimed_by = NULL, updated_at = now()
            WHERE id = $1::uuid AND status = 'sending' AND claimed_by = $2
            """, job.jobID, claimed.token)
        try await queue.complete(job)
    }

    /// The runbook's per-tenant counter: `rate:tenant:{id}:{epoch minute}`.
    private func countRate(tenantID: String, now: Date) async throws {
        let key = "rate:tenant:\(tenantID):\(Int(now.timeIntervalSince1970) / 60)"
        _ = try await redis.pipeline([RedisCommand("INCR", key), RedisCommand("EXPIRE", key, 180)])
    }
}
