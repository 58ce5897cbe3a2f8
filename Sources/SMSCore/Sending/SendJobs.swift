import Foundation
import Postgres

/// A job a worker has claimed: everything the gates and the send need, read
/// in the claim's own statement.
public struct ClaimedJob: Sendable {
    public var job: QueuedJob
    public var tenantID: String
    public var campaignID: String
    /// `send_jobs.claimed_by` for this claim: every later write checks it, so a
    /// consumer whose job was meanwhile reconciled away cannot send it.
    public var token: String
    public var toPhone: String
    public var fromPhone: String
    public var body: String
    public var segments: Int
    public var estimatedCents: Decimal
    public var attempts: Int
    public var maxAttempts: Int
    public var snapshot: GateSnapshot?
    /// Set instead of `snapshot` when the job must not go out any more.
    public var cancelReason: String?

    public init(
        job: QueuedJob, tenantID: String, campaignID: String, token: String, toPhone: String, fromPhone: String, body: String,
        segments: Int, estimatedCents: Decimal, attempts: Int, maxAttempts: Int, snapshot: GateSnapshot? = nil, cancelReason: String? = nil
    ) {
        self.job = job
        self.tenantID = tenantID
        self.campaignID = campaignID
        self.token = token
        self.toPhone = toPhone
        self.fromPhone = fromPhone
        self.body = body
        self.segments = segments
        self.estimatedCents = estimatedCents
        self.attempts = attempts
        self.maxAttempts = maxAttempts
        self.snapshot = snapshot
        self.cancelReason = cancelReason
    }
}

/// What the budget and warmup gates decided, with the attempt's start.
public enum Admission: Sendable, Equatable {
    case claimLost
    case deferred(Gate, until: Date)
    /// Reserved against these periods, counted against the number's warmup,
    /// and the row says an attempt started.
    case started(daily: String, monthly: String)
}

/// One job's answer from the provider, for ``SendJobs/record(_:)``.
public struct AttemptResult: Sendable {
    public enum Kind: Sendable, Equatable {
        case accepted(sid: String, providerStatus: String)
        case retry(until: Date, reason: String)
        case giveUp(reason: String)
        case rejected(code: Int, reason: String)
        case lost(reason: String)
    }

    public var job: QueuedJob
    public var tenantID: String
    public var toPhone: String
    public var kind: Kind

    public init(job: QueuedJob, tenantID: String, toPhone: String, kind: Kind) {
        self.job = job
        self.tenantID = tenantID
        self.toPhone = toPhone
        self.kind = kind
    }
}

/// What a provider report did to its job.
public struct SettleResult: Sendable, Equatable {
    /// applied, stale, ignored, unknown_status, unknown_job
    public var outcome: String
    public var jobID: String?
    /// The job's new status when the report was applied.
    public var status: JobStatus?

    /// A report that moved a job to delivered, undelivered or failed.
    public var finalStatus: JobStatus? { outcome == "applied" ? status.flatMap { JobStatus.final.contains($0) ? $0 : nil } : nil }
}

/// Which pending jobs a cancel covers.
public enum PendingScope: Sendable {
    case campaign(tenantID: String, campaignID: String)
    case contact(tenantID: String, contactID: String)
    /// The tenant's contacts with these numbers (the contact index finds them).
    case phones(tenantID: String, phones: [String])
}

/// The only writer of `send_jobs` (docs/ARCHITECTURE.md, "Who owns what").
///
/// Every write takes its allowed `from` statuses from ``JobTransition`` (or,
/// for provider reports, ``JobStatus/settled(by:)``), so the status machine
/// is stated once. Every transition takes a batch of jobs; one job is a batch
/// of one. Where a transition moves a job in Redis too, it does so after the
/// row (PostgreSQL is the truth; the queue only says what to look at next).
public struct SendJobs: Sendable {
    let postgres: PostgresClient
    public let queue: SendQueue

    public init(postgres: PostgresClient, queue: SendQueue) {
        self.postgres = postgres
        self.queue = queue
    }

    /// Runs `body` in one database transaction; what the transaction took out
    /// of the send path (cancelled jobs waiting in Redis's `delayed` set)
    /// leaves Redis after the commit.
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (JobTransaction) throws -> T) async throws -> T {
        let (result, leaving) = try await postgres.withTransaction { connection in
            let transaction = JobTransaction(connection: connection)
            let result = try body(transaction)
            return (result, transaction.leavingDelayed)
        }
        // A failure here leaves a cancelled job in `delayed`: when it is due it is
        // popped and the claim skips it. Only the delayed count is off meanwhile.
        try await queue.forgetDelayed(members: leaving)
        return result
    }

    // MARK: Birth

    /// A launch's new jobs, `queued`, from the launcher's staging table (filled
    /// by COPY in the same transaction), one per campaign and contact: a job
    /// that exists already is left alone (`ON CONFLICT DO NOTHING`), so a
    /// relaunch adds only new recipients. `staging` is the launcher's own
    /// temporary table name, never input.
    /// - Returns: how many jobs were created.
    public static func createLaunched(_ connection: PostgresConnection, fromStaging staging: String, tenantID: String, campaignID: String) throws -> Int {
        try connection.query(
            """
            INSERT INTO send_jobs (id, tenant_id, campaign_id, contact_id, sending_number_id, to_phone, from_phone, body,
                                   encoding, segments, estimated_cost_cents)
            SELECT id, $1::uuid, $2::uuid, contact_id, sending_number_id, to_phone, from_phone, body, encoding, segments,
                   estimated_cost_cents
            FROM \(staging)
            ON CONFLICT (contact_id, campaign_id) DO NOTHING
            """, tenantID, campaignID
        ).affectedRows
    }

    // MARK: The worker's transitions

    /// ``JobTransition/claim``: moves pending jobs to `sending` and reads what
    /// the gates need, in one statement. Jobs no longer pending are left out.
    public func claim(_ jobs: [QueuedJob], workerID: String) async throws -> [ClaimedJob] {
        guard !jobs.isEmpty else { return [] }
        let token = "\(workerID)/\(UUID().uuidString.prefix(8).lowercased())"
        let byID = Dictionary(jobs.map { ($0.jobID.lowercased(), $0) }, uniquingKeysWith: { first, _ in first })
        let rows = try await postgres.query(
            """
            WITH claimed AS (
                UPDATE send_jobs SET status = 'sending', claimed_at = now(), claimed_by = $2, updated_at = now()
                WHERE id = ANY($1::uuid[]) AND status = ANY($3::text[])
                RETURNING id, tenant_id, campaign_id, contact_id, to_phone, from_phone, body, segments, estimated_cost_cents,
                          attempts, max_attempts
            )
            SELECT j.id::text, j.tenant_id::text, j.campaign_id::text, j.to_phone, j.from_phone, j.body, j.segments,
                   j.estimated_cost_cents, j.attempts, j.max_attempts, t.id IS NOT NULL AND k.id IS NOT NULL AS context_found,
                   (SELECT paused_at IS NOT NULL FROM platform_settings LIMIT 1) AS global_paused,
                   t.paused_at IS NOT NULL AS tenant_paused, t.consent_required, t.timezone AS tenant_zone,
                   t.allow_fixed_line_or_mobile, c.number_type,
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
            """, Array(byID.keys), token, JobTransition.claim.fromNames)
        return try rows.compactMap { c in
            let id: String = try c.decode("id")
            guard let job = byID[id] else { return nil }
            var claimed = ClaimedJob(
                job: job, tenantID: try c.decode("tenant_id"), campaignID: try c.decode("campaign_id"), token: token,
                toPhone: try c.decode("to_phone"), fromPhone: try c.decode("from_phone"), body: try c.decode("body"),
                segments: try c.decode("segments"), estimatedCents: try c.decode("estimated_cost_cents"),
                attempts: try c.decode("attempts"), maxAttempts: try c.decode("max_attempts"), snapshot: nil)
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
                contactTimeZone: try c.decodeIfPresent("contact_zone"), tenantTimeZone: try c.decode("tenant_zone"), quietHours: window,
                numberType: try c.decodeIfPresent("number_type", as: String.self).flatMap(PhoneNumberType.init(rawValue:)),
                allowFixedLineOrMobile: try c.decode("allow_fixed_line_or_mobile"))
            return claimed
        }
    }

    /// ``JobTransition/admit``: gates 5 and 6 and the start of the attempt, in
    /// one transaction: the budget reservation (recorded on the row, so a crash
    /// cannot leave money held that no row accounts for), the warmup count, and
    /// the mark that an attempt started (from then on a crash leaves the job to
    /// be looked up at the provider, never re-sent blindly). A warmup refusal
    /// or a lost claim rolls the reservation and the count back with it.
    public func admit(_ claimed: ClaimedJob, at now: Date) async throws -> Admission {
        do {
            return try await postgres.withTransaction { connection in
                let decision = try BudgetLedger.reserve(connection, tenantID: claimed.tenantID, cents: claimed.estimatedCents, at: now)
                guard case .reserved(let daily, let monthly) = decision else {
                    guard case .exceeded(_, let retryAt) = decision else { throw Undo(admission: .claimLost) }
                    return .deferred(.budget, until: retryAt)
                }
                if case .capReached(_, let retryAt) = try Warmup.admit(
                    connection, tenantID: claimed.tenantID, numberID: claimed.job.numberID, segments: claimed.segments, at: now)
                {
                    throw Undo(admission: .deferred(.warmup, until: retryAt))
                }
                let started = try connection.query(
                    """
                    UPDATE send_jobs SET reserved_cents = $3, reserved_daily_period = $4::date, reserved_monthly_period = $5::date,
                        attempts = attempts + 1, last_attempt_at = clock_timestamp(), last_gate = 'passed', last_gate_at = now(),
                        updated_at = now()
                    WHERE id = $1::uuid AND status = ANY($6::text[]) AND claimed_by = $2
                    RETURNING id
                    """, claimed.job.jobID, claimed.token, claimed.estimatedCents, daily, monthly, JobTransition.admit.fromNames)
                if started.isEmpty { throw Undo(admission: .claimLost) }
                return .started(daily: daily, monthly: monthly)
            }
        } catch let undo as Undo {
            return undo.admission
        }
    }

    /// Rolls ``admit(_:at:)``'s transaction back with this outcome.
    struct Undo: Error {
        let admission: Admission
    }

    /// ``JobTransition/block`` or ``JobTransition/drop``: the claimed jobs end
    /// here (a gate refused them, or their contact or campaign is gone).
    public func finish(_ jobs: [ClaimedJob], as transition: JobTransition, gate: Gate?, reason: String) async throws {
        precondition(transition == .block || transition == .drop, "finish takes block or drop")
        guard !jobs.isEmpty else { return }
        try await postgres.query(
            """
            UPDATE send_jobs j SET status = $3, last_gate = $4, last_gate_at = now(), failure_reason = $5, updated_at = now()
            FROM unnest($1::uuid[], $2::text[]) AS v(id, token)
            WHERE j.id = v.id AND j.claimed_by = v.token AND j.status = ANY($6::text[])
            """, jobs.map(\.job.jobID), jobs.map(\.token), transition.to.rawValue, gate?.rawValue, reason, transition.fromNames)
        for claimed in jobs { try await queue.complete(claimed.job) }
    }

    /// ``JobTransition/postpone``: the claimed jobs wait out a gate; the row
    /// says until when, the job sits in `delayed`. A postponed job holds no
    /// budget reservation.
    public func postpone(_ jobs: [ClaimedJob], gate: Gate, until: Date) async throws {
        guard !jobs.isEmpty else { return }
        try await postgres.query(
            """
            UPDATE send_jobs j SET status = 'deferred', last_gate = $3, last_gate_at = now(), next_attempt_at = $4, reserved_cents = 0,
                claimed_by = NULL, updated_at = now()
            FROM unnest($1::uuid[], $2::text[]) AS v(id, token)
            WHERE j.id = v.id AND j.claimed_by = v.token AND j.status = ANY($5::text[])
            """, jobs.map(\.job.jobID), jobs.map(\.token), gate.rawValue, until, JobTransition.postpone.fromNames)
        for claimed in jobs { try await queue.delay(claimed.job, until: until) }
    }

    /// ``JobTransition/park``: a kill switch covers the claimed jobs. They
    /// leave Redis altogether (a paused million-job campaign costs nothing
    /// while it waits) and resume puts them back at the front of their lists.
    ///
    /// A job is parked only while PostgreSQL still says a scope covering it is
    /// paused, and the check takes a share lock on each scope's row: a resume
    /// either commits first (the park is refused and the job goes straight
    /// back to the front of its list, ``JobTransition/release``) or waits for
    /// the park to commit (and then its wake finds the job). Without this, a
    /// job parked while a resume was committing stayed parked until the
    /// lost-job sweep found it minutes later (issue 11, defect 5).
    /// - Returns: how many jobs were parked (the rest were given back).
    @discardableResult
    public func park(_ jobs: [ClaimedJob]) async throws -> Int {
        guard !jobs.isEmpty else { return 0 }
        let parked = Set(
            try await postgres.query(
                """
                UPDATE send_jobs j SET status = 'parked', last_gate = 'kill_switch', last_gate_at = now(), next_attempt_at = NULL,
                    claimed_by = NULL, updated_at = now()
                FROM unnest($1::uuid[], $2::text[]) AS v(id, token)
                WHERE j.id = v.id AND j.claimed_by = v.token AND j.status = ANY($3::text[])
                  AND (EXISTS (SELECT 1 FROM platform_settings p WHERE p.paused_at IS NOT NULL FOR SHARE)
                       OR EXISTS (SELECT 1 FROM tenants t WHERE t.id = j.tenant_id AND t.paused_at IS NOT NULL FOR SHARE)
                       OR EXISTS (SELECT 1 FROM campaigns k WHERE k.tenant_id = j.tenant_id AND k.id = j.campaign_id
                                  AND k.status = 'paused' FOR SHARE))
                RETURNING j.id::text
                """, jobs.map(\.job.jobID), jobs.map(\.token), JobTransition.park.fromNames
            ).map { try $0.decode(at: 0, as: String.self) })
        for claimed in jobs where parked.contains(claimed.job.jobID.lowercased()) { try await queue.complete(claimed.job) }
        let lifted = jobs.filter { !parked.contains($0.job.jobID.lowercased()) }
        if !lifted.isEmpty { try await release(lifted) }
        return parked.count
    }

    /// ``JobTransition/release``: gives claims back unused; the jobs go to the
    /// front of their lists (their lease in `active` is dropped first).
    public func release(_ jobs: [ClaimedJob]) async throws {
        guard !jobs.isEmpty else { return }
        let released = Set(
            try await postgres.query(
                """
                UPDATE send_jobs j SET status = 'queued', claimed_by = NULL, next_attempt_at = NULL, updated_at = now()
                FROM unnest($1::uuid[], $2::text[]) AS v(id, token)
                WHERE j.id = v.id AND j.claimed_by = v.token AND j.status = ANY($3::text[])
                RETURNING j.id::text
                """, jobs.map(\.job.jobID), jobs.map(\.token), JobTransition.release.fromNames
            ).map { try $0.decode(at: 0, as: String.self) })
        for claimed in jobs { try await queue.complete(claimed.job) }
        try await queue.push(inOrder: jobs.map(\.job).filter { released.contains($0.jobID.lowercased()) }, atFront: true)
    }

    /// Records the provider's answers: ``JobTransition/accept``, ``JobTransition/retry``,
    /// ``JobTransition/giveUp``, ``JobTransition/reject`` or ``JobTransition/lose``.
    /// Each also accepts `unknown` (except `lose`): a slow answer may arrive
    /// after the reconciler marked the job, and what the provider said is the
    /// better record. A job that is not sent (retry, give up, reject) gives its
    /// budget reservation back in the same transaction; a refusal whose code
    /// suppresses the number suppresses it (``Suppression``).
    public func record(_ results: [AttemptResult], suppressionPolicy: ProviderErrorPolicy) async throws {
        guard !results.isEmpty else { return }
        try await transaction { tx in
            for result in results {
                try tx.record(result, policy: suppressionPolicy)
            }
        }
        for result in results {
            switch result.kind {
            case .accepted, .rejected, .lost: try await queue.complete(result.job)
            case .retry(let until, _): try await queue.delay(result.job, until: until)
            case .giveUp: try await queue.bury(result.job)
            }
        }
    }

    // MARK: Repairs (SendRecovery)

    /// A job the repairs found, with what it held.
    public struct Held: Sendable {
        public var job: QueuedJob
        public var tenantID: String
        /// For `requeueStuck`: whether an attempt may have gone out.
        public var attempted: Bool
        public var toPhone: String
        public var fromPhone: String
        public var body: String
        public var providerSID: String?
        public var lastAttemptAt: Date?

        public init(
            job: QueuedJob, tenantID: String, attempted: Bool, toPhone: String, fromPhone: String, body: String, providerSID: String?,
            lastAttemptAt: Date?
        ) {
            self.job = job
            self.tenantID = tenantID
            self.attempted = attempted
            self.toPhone = toPhone
            self.fromPhone = fromPhone
            self.body = body
            self.providerSID = providerSID
            self.lastAttemptAt = lastAttemptAt
        }
    }

    /// Jobs left in `sending` by a worker that died: one whose attempt never
    /// started is released (its reservation given back) and goes to the front
    /// of its list; one whose request may have gone out is lost (`unknown`),
    /// for a lookup at the provider.
    public func requeueStuck(claimedBefore cutoff: Date, limit: Int) async throws -> [Held] {
        let rows = try await postgres.withTransaction { connection in
            let rows = try connection.query(
                """
                WITH stuck AS (
                    SELECT id, reserved_cents AS held, reserved_daily_period, reserved_monthly_period,
                           last_attempt_at IS NOT NULL AND last_attempt_at >= claimed_at AS attempted
                    FROM send_jobs WHERE status = ANY($3::text[]) AND claimed_at < $1
                    ORDER BY claimed_at LIMIT $2 FOR UPDATE SKIP LOCKED
                )
                UPDATE send_jobs j SET
                    status = CASE WHEN stuck.attempted THEN $4 ELSE $5 END,
                    failure_reason = CASE WHEN stuck.attempted THEN 'the worker stopped while sending; to be looked up at the provider'
                                          ELSE j.failure_reason END,
                    reserved_cents = CASE WHEN stuck.attempted THEN j.reserved_cents ELSE 0 END,
                    claimed_by = NULL, updated_at = now()
                FROM stuck WHERE j.id = stuck.id
                RETURNING j.id::text, j.tenant_id::text, j.sending_number_id::text, j.segments, stuck.attempted, j.to_phone,
                          j.from_phone, j.body, j.last_attempt_at, j.provider_sid,
                          stuck.held, stuck.reserved_daily_period::text AS daily, stuck.reserved_monthly_period::text AS monthly
                """, cutoff, limit, JobTransition.lose.fromNames, JobTransition.lose.to.rawValue, JobTransition.release.to.rawValue)
            for row in rows where !(try row.decode("attempted", as: Bool.self)) {
                try Self.giveBack(connection, row)
            }
            return rows
        }
        let held = try rows.map(Self.held)
        try await queue.push(inOrder: held.filter { !$0.attempted }.map(\.job), atFront: true)
        return held
    }

    /// Leases `unknown` jobs whose last attempt is older than `cutoff` for a
    /// lookup (`claimed_by`/`claimed_at`, no status change), so replicas do not
    /// look up the same job at once.
    public func leaseUnknown(attemptedBefore cutoff: Date, limit: Int, by workerID: String) async throws -> [Held] {
        try await postgres.query(
            """
            WITH due AS (
                SELECT id FROM send_jobs
                WHERE status = 'unknown' AND last_attempt_at < $1 AND (claimed_at IS NULL OR claimed_at < $1)
                ORDER BY last_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED
            )
            UPDATE send_jobs j SET claimed_at = now(), claimed_by = $3
            FROM due WHERE j.id = due.id
            RETURNING j.id::text, j.tenant_id::text, j.sending_number_id::text, j.segments, true AS attempted, j.to_phone,
                      j.from_phone, j.body, j.last_attempt_at, j.provider_sid
            """, cutoff, limit, "settle:\(workerID)"
        ).map(Self.held)
    }

    /// Leases `sent` jobs that have had no final report for `after`: sent
    /// before `cutoff` and not looked up since `cutoff` (`status_checked_at`),
    /// oldest first, for a lookup that settles them as their callback would
    /// have (issue 11, defect 2: a lost callback left jobs `sent` for good).
    public func leaseUnsettledSent(before cutoff: Date, limit: Int) async throws -> [Held] {
        try await postgres.query(
            """
            WITH due AS (
                SELECT id FROM send_jobs
                WHERE status = 'sent' AND sent_at < $1 AND provider_sid IS NOT NULL
                  AND (status_checked_at IS NULL OR status_checked_at < $1)
                ORDER BY sent_at LIMIT $2 FOR UPDATE SKIP LOCKED
            )
            UPDATE send_jobs j SET status_checked_at = now()
            FROM due WHERE j.id = due.id
            RETURNING j.id::text, j.tenant_id::text, j.sending_number_id::text, j.segments, true AS attempted, j.to_phone,
                      j.from_phone, j.body, j.last_attempt_at, j.provider_sid
            """, cutoff, limit
        ).map(Self.held)
    }

    /// ``JobTransition/resend``: the provider has no such message; the
    /// reservation goes back and the job to the front of its list.
    /// - Returns: whether the job was still `unknown` and is queued again.
    public func resend(_ held: Held) async throws -> Bool {
        let requeued = try await postgres.withTransaction { connection in
            let rows = try connection.query(
                """
                WITH old AS (
                    SELECT id, reserved_cents AS held, reserved_daily_period, reserved_monthly_period
                    FROM send_jobs WHERE id = $1::uuid AND status = ANY($2::text[]) FOR UPDATE
                )
                UPDATE send_jobs j SET status = 'queued', reserved_cents = 0, next_attempt_at = NULL, claimed_by = NULL,
                    failure_reason = 'the provider has no such message; sending again', updated_at = now()
                FROM old WHERE j.id = old.id
                RETURNING j.tenant_id::text, old.held, old.reserved_daily_period::text AS daily, old.reserved_monthly_period::text AS monthly
                """, held.job.jobID, JobTransition.resend.fromNames)
            guard let row = rows.first else { return false }
            try Self.giveBack(connection, row)
            return true
        }
        if requeued { try await queue.push(inOrder: [held.job], atFront: true) }
        return requeued
    }

    // MARK: Dead letters

    /// ``JobTransition/revive``: dead jobs get fresh attempts and go back to
    /// the back of their lists, oldest first; nil `jobIDs` = every dead job of
    /// the tenant. Jobs whose contact opted out meanwhile are still stopped by the gates.
    public func revive(tenantID: String, jobIDs: [String]?, audit: AuditEntry) async throws -> Int {
        let rows = try await postgres.withTransaction { connection in
            let rows = try connection.query(
                """
                UPDATE send_jobs j SET status = 'queued', attempts = 0, dead_at = NULL, failure_reason = NULL, error_code = NULL,
                    next_attempt_at = NULL, claimed_by = NULL, updated_at = now()
                WHERE tenant_id = $1::uuid AND dead_at IS NOT NULL AND status = ANY($3::text[])
                  AND ($2::uuid[] IS NULL OR id = ANY($2::uuid[]))
                RETURNING j.id::text, j.sending_number_id::text, j.segments, j.created_at
                """, tenantID, jobIDs, JobTransition.revive.fromNames)
            var audit = audit
            audit.details["jobs"] = String(rows.count)
            try AuditLog.record(audit, on: connection)
            return rows
        }
        let jobs = try rows.sorted { (try $0.decode(at: 3, as: Date.self)) < (try $1.decode(at: 3, as: Date.self)) }.map {
            QueuedJob(numberID: try $0.decode(at: 1), jobID: try $0.decode(at: 0), segments: try $0.decode(at: 2))
        }
        try await queue.removeDead(jobs)
        try await queue.push(inOrder: jobs, atFront: false)
        return jobs.count
    }

    /// Drops dead jobs from the dead list for good (they stay `failed`); nil `jobIDs` = all of the tenant's.
    public func forgetDead(tenantID: String, jobIDs: [String]?, audit: AuditEntry) async throws -> Int {
        let rows = try await postgres.withTransaction { connection in
            let rows = try connection.query(
                """
                UPDATE send_jobs SET dead_at = NULL, updated_at = now()
                WHERE tenant_id = $1::uuid AND dead_at IS NOT NULL AND ($2::uuid[] IS NULL OR id = ANY($2::uuid[]))
                RETURNING id::text, sending_number_id::text, segments
                """, tenantID, jobIDs)
            var audit = audit
            audit.details["jobs"] = String(rows.count)
            try AuditLog.record(audit, on: connection)
            return rows
        }
        try await queue.removeDead(rows.map { QueuedJob(numberID: try $0.decode(at: 1), jobID: try $0.decode(at: 0), segments: try $0.decode(at: 2)) })
        return rows.count
    }

    // MARK: Helpers

    static func held(_ row: PostgresRow) throws -> Held {
        Held(
            job: QueuedJob(numberID: try row.decode("sending_number_id"), jobID: try row.decode("id"), segments: try row.decode("segments")),
            tenantID: try row.decode("tenant_id"), attempted: try row.decode("attempted"), toPhone: try row.decode("to_phone"),
            fromPhone: try row.decode("from_phone"), body: try row.decode("body"),
            providerSID: try row.decodeIfPresent("provider_sid"),
            lastAttemptAt: try row.decodeIfPresent("last_attempt_at"))
    }

    /// Gives back the reservation a row held (columns `tenant_id`, `held`, `daily`, `monthly`).
    static func giveBack(_ connection: PostgresConnection, _ row: PostgresRow) throws {
        let held: Decimal = try row.decode("held")
        guard held > 0, let daily: String = try row.decodeIfPresent("daily"), let monthly: String = try row.decodeIfPresent("monthly") else { return }
        try BudgetLedger.release(connection, tenantID: try row.decode("tenant_id"), cents: held, dailyPeriod: daily, monthlyPeriod: monthly)
    }
}

/// The writes to `send_jobs` that happen inside another change's transaction
/// (a STOP, a do-not-contact entry, a cancelled campaign, a deleted contact, a
/// provider report), through ``SendJobs/transaction(_:)``.
public final class JobTransaction {
    public let connection: PostgresConnection
    /// Queue members (`number|job|segments`) of cancelled jobs that may be
    /// waiting in Redis's `delayed` set; removed after the commit.
    var leavingDelayed: [String] = []

    init(connection: PostgresConnection) { self.connection = connection }

    /// ``JobTransition/cancel``: the scope's pending jobs will never go out.
    /// - Returns: how many were cancelled.
    @discardableResult
    public func cancelPending(_ scope: PendingScope, reason: String) throws -> Int {
        let filter: String
        let binds: [any PostgresEncodable]
        switch scope {
        case .campaign(let tenantID, let campaignID):
            filter = "tenant_id = $3::uuid AND campaign_id = $4::uuid"
            binds = [tenantID, campaignID]
        case .contact(let tenantID, let contactID):
            filter = "tenant_id = $3::uuid AND contact_id = $4::uuid"
            binds = [tenantID, contactID]
        case .phones(let tenantID, let phones):
            // Through the contacts with these numbers (the (contact, campaign)
            // index), not a scan of the tenant's jobs for `to_phone`: 371 ms for a
            // tenant with 1,000,000 jobs against 1 ms, and it grows with every
            // launch. A job whose number is no contact's any more (the contact
            // changed number after launch) meets the worker's do-not-contact gate,
            // which checks `to_phone` and blocks it.
            filter = """
                contact_id IN (SELECT id FROM contacts WHERE tenant_id = $3::uuid AND phone_e164 = ANY($4::text[]))
                AND tenant_id = $3::uuid AND to_phone = ANY($4::text[])
                """
            binds = [tenantID, phones]
        }
        // One row back however many jobs: the count, and the queue members of
        // those that may sit in `delayed` (deferred, or queued after a backoff).
        let row = try connection.query(
            """
            WITH cancelled AS (
                UPDATE send_jobs SET status = 'cancelled', failure_reason = $2, updated_at = now()
                WHERE status = ANY($1::text[]) AND \(filter)
                RETURNING id, sending_number_id, segments, next_attempt_at
            )
            SELECT count(*) AS cancelled,
                   COALESCE(array_agg(sending_number_id::text || '|' || id::text || '|' || segments)
                            FILTER (WHERE next_attempt_at IS NOT NULL), '{}') AS delayed
            FROM cancelled
            """, ([JobTransition.cancel.fromNames, reason] + binds).map(\.postgresBind))[0]
        leavingDelayed += try row.decode("delayed", as: [String].self)
        return try row.decode("cancelled")
    }

    /// Writes one provider answer (see ``SendJobs/record(_:suppressionPolicy:)``).
    func record(_ result: AttemptResult, policy: ProviderErrorPolicy) throws {
        let id = result.job.jobID
        switch result.kind {
        case .accepted(let sid, let providerStatus):
            try connection.query(
                """
                UPDATE send_jobs SET status = 'sent', provider_sid = $2, provider_status = $3, sent_at = now(), updated_at = now()
                WHERE id = $1::uuid AND status = ANY($4::text[]) AND provider_sid IS NULL
                """, id, sid, providerStatus, JobTransition.accept.fromNames)
        case .retry(let until, let reason):
            try notSent(
                id, transition: .retry,
                set: "next_attempt_at = $3, failure_reason = $4, claimed_by = NULL", until, reason)
        case .giveUp(let reason):
            try notSent(id, transition: .giveUp, set: "failure_reason = $3, dead_at = now()", reason)
        case .lost(let reason):
            try connection.query(
                "UPDATE send_jobs SET status = 'unknown', failure_reason = $2, updated_at = now() WHERE id = $1::uuid AND status = ANY($3::text[])",
                id, reason, JobTransition.lose.fromNames)
        case .rejected(let code, let reason):
            try notSent(id, transition: .reject, set: "error_code = $3, failure_reason = $4", code, reason)
            if policy.effect(of: code) == .suppressAtOnce {
                try Suppression.add(
                    self, tenantID: result.tenantID, phones: [result.toPhone], reason: "twilio_\(code)", source: .provider,
                    createdBy: nil, audit: AuditEntry(tenantID: result.tenantID, actor: .system, action: "dnc.add", targetType: "do_not_contact"))
            }
        }
    }

    /// A transition after which nothing was sent: the reservation goes back in
    /// the same statement's transaction. `set` names extra columns from `$3` on.
    private func notSent(_ id: String, transition: JobTransition, set: String, _ values: any PostgresEncodable...) throws {
        let rows = try connection.query(
            """
            WITH old AS (
                SELECT id, reserved_cents AS held, reserved_daily_period, reserved_monthly_period
                FROM send_jobs WHERE id = $1::uuid AND status = ANY($2::text[]) FOR UPDATE
            )
            UPDATE send_jobs j SET status = '\(transition.to.rawValue)', reserved_cents = 0, \(set), updated_at = now()
            FROM old WHERE j.id = old.id
            RETURNING j.tenant_id::text, old.held, old.reserved_daily_period::text AS daily, old.reserved_monthly_period::text AS monthly
            """, ([id, transition.fromNames] + values).map(\.postgresBind))
        if let row = rows.first { try SendJobs.giveBack(connection, row) }
    }

    /// Applies a provider report (a status callback or a lookup) to its job:
    /// found by `jobID` when it has no other sid, else by the report's sid.
    /// The status only moves forward (``JobStatus/settled(by:)``); `failed`
    /// gives the reservation back (nothing is billed), a price replaces the
    /// estimate, and an error code may suppress the number (``ProviderErrorPolicy``).
    public func settle(jobID: String?, report: ProviderReport, policy: ProviderErrorPolicy) throws -> SettleResult {
        guard let reported = report.status else { return SettleResult(outcome: report.isKnownStatus ? "ignored" : "unknown_status") }
        let sid = report.sid ?? ""
        let columns = """
            id::text, tenant_id::text, contact_id::text, status, provider_sid, to_phone, reserved_cents AS held,
            reserved_daily_period::text AS daily, reserved_monthly_period::text AS monthly
            """
        var job = try jobID.flatMap {
            try connection.query("SELECT \(columns) FROM send_jobs WHERE id = $1::uuid FOR UPDATE", $0).first
        }
        // A job id whose job already carries another sid is not this message's job.
        if let found = job, let recorded: String = try found.decodeIfPresent("provider_sid"), !sid.isEmpty, recorded != sid { job = nil }
        if job == nil, !sid.isEmpty {
            job = try connection.query("SELECT \(columns) FROM send_jobs WHERE provider_sid = $1 FOR UPDATE", sid).first
        }
        guard let job else { return SettleResult(outcome: "unknown_job") }
        let id: String = try job.decode("id")
        let tenantID: String = try job.decode("tenant_id")
        let phone: String = try job.decode("to_phone")
        let held: Decimal = try job.decode("held")
        let daily: String? = try job.decodeIfPresent("daily")
        let monthly: String? = try job.decodeIfPresent("monthly")
        let current = JobStatus(rawValue: try job.decode("status")) ?? .unknown
        var settlement = SettleResult(outcome: "stale", jobID: id, status: current)

        if let next = current.settled(by: reported) {
            let reason: String? =
                next == .undelivered || next == .failed
                ? (report.errorCode.map(ProviderErrorPolicy.reason)
                    ?? (report.rawStatus == "canceled" ? "cancelled at the provider" : "the provider reported \(report.rawStatus)"))
                : nil
            try connection.query(
                """
                UPDATE send_jobs SET status = $2, provider_sid = COALESCE(provider_sid, NULLIF($3, '')), provider_status = $4,
                    error_code = COALESCE($5, error_code), failure_reason = $6,
                    sent_at = COALESCE(sent_at, last_attempt_at, now()),
                    delivered_at = CASE WHEN $2 = 'delivered' THEN COALESCE(delivered_at, now()) ELSE delivered_at END,
                    claimed_by = NULL, updated_at = now()
                WHERE id = $1::uuid
                """, id, next.rawValue, sid, report.rawStatus, report.errorCode, reason)
            settlement = SettleResult(outcome: "applied", jobID: id, status: next)
            // Refused by the provider (failed, canceled): nothing is billed, so the reservation goes back.
            if next == .failed, held > 0, let daily, let monthly {
                try BudgetLedger.release(connection, tenantID: tenantID, cents: held, dailyPeriod: daily, monthlyPeriod: monthly)
                try connection.query("UPDATE send_jobs SET reserved_cents = 0 WHERE id = $1::uuid", id)
            }
        }
        // The actual price, when the provider gives it: the budget follows it.
        if let cost = report.priceCents, reported != .failed {
            if let daily, let monthly, cost != held {
                try BudgetLedger.adjust(connection, tenantID: tenantID, cents: cost - held, dailyPeriod: daily, monthlyPeriod: monthly)
            }
            try connection.query(
                "UPDATE send_jobs SET cost_cents = $2, reserved_cents = $2, price_unit = $3 WHERE id = $1::uuid", id, cost, report.priceUnit)
        }
        if let code = report.errorCode {
            switch policy.effect(of: code) {
            case .suppressAtOnce:
                try Suppression.add(
                    self, tenantID: tenantID, phones: [phone], reason: "twilio_\(code)", source: .provider, createdBy: nil,
                    audit: AuditEntry(tenantID: tenantID, actor: .system, action: "dnc.add", targetType: "do_not_contact"))
            case .suppressOnRepeat:
                // The contact's jobs to this number (contacts are unique per tenant and
                // number); through the contact index rather than a scan of the tenant's jobs.
                let repeats: Int = try connection.query(
                    """
                    SELECT count(*) FROM send_jobs
                    WHERE contact_id = $1::uuid AND tenant_id = $2::uuid AND to_phone = $3 AND error_code = ANY($4::int[])
                    """, try job.decode("contact_id", as: String.self), tenantID, phone, policy.codes(.suppressOnRepeat)
                )[0].decode(at: 0)
                if repeats >= policy.carrierFailuresBeforeSuppression {
                    try Suppression.add(
                        self, tenantID: tenantID, phones: [phone], reason: "carrier_\(code)", source: .provider, createdBy: nil,
                        audit: AuditEntry(tenantID: tenantID, actor: .system, action: "dnc.add", targetType: "do_not_contact"))
                }
            case .failJobOnly:
                break
            }
        }
        return settlement
    }
}
